// Package vm is an interpreter for BPF programs: it runs the instructions
// of RFC 9669 (the BPF Instruction Set Architecture, up to version 4) the
// way the Linux kernel does, in pure Go, so that a program can be tested
// where no kernel can load it (macOS, unprivileged CI) and so that it can
// show what a kernel never shows: which instructions, and which lines of
// the .star file, ran.
//
// # How a program runs
//
// A program is a sequence of 8-byte slots. [Compile] decodes every slot
// once, through package isa ([isa.DecodeSlot] and [isa.Instruction.Validate]
// decide what an instruction is; this package only executes it), into a
// compact form whose jump and call targets are already absolute slot
// numbers. [Machine.Run] then executes that form in one loop with one
// switch on the opcode byte: the eleven registers live in a local array,
// and nothing is allocated per instruction.
//
// The machine follows the kernel where the ISA leaves room:
//
//   - 32-bit arithmetic zeroes the upper half of its destination.
//   - Division by zero gives 0; modulo by zero leaves the dividend (its
//     low half, zero-extended, for the 32-bit forms). Signed division of
//     the most negative number by -1 gives that number, and modulo 0.
//   - Shift amounts are masked to the operand width (63 or 31).
//   - A BPF-to-BPF call gives the callee a fresh 512-byte stack frame and
//     keeps r6 to r9 of the caller; at most 8 frames exist at once.
//   - may_goto falls through while a budget of 8388608 lasts, and jumps
//     once it is spent, as the kernel's BPF_MAX_LOOPS does; each function
//     call starts with a full budget, as each function's prologue sets it
//     in the kernel. (The x86-64 JIT of recent kernels times may_goto
//     instead: on Linux 6.18 a loop of it ran 264 million times before
//     jumping. Programs may not rely on either count.)
//   - A tail call ([HelperTailCall]) replaces the running function, keeps
//     the frame's stack, and fails (falling through) after 33 tail calls or
//     for an empty slot.
//
// # Memory is checked, never trusted
//
// Addresses are not host pointers. Every piece of memory a program may
// touch is a region: the context, the packet, each stack frame, each map
// value, each global data section. A region's address is its number in the
// upper 32 bits and the offset in the lower, so pointer arithmetic works as
// on a real machine while every load and store is checked against the
// region it lands in. An access outside every region, a write to
// read-only memory, a misaligned atomic, a read of stack bytes that were
// never written, a jump out of the program, an unknown helper or running
// past the instruction budget stops the run with an [*Error] that names
// the instruction and, when the object has BTF line information, its
// .star line. No program makes the interpreter panic (FuzzRun checks
// this).
//
// # Objects, contexts, maps and helpers
//
// [LoadObject] reads a BPF object (through package objreader) the way a
// loader does: every code section goes into one code image, so that
// BPF-to-BPF calls, callbacks and tail calls are slot numbers; 64-bit
// loads of maps, global variables and functions are relocated; BTF line
// information gives each slot its .star line. [Object.NewMachine] makes a
// machine with the object's maps (array, hash, LRU, LPM trie, per-CPU
// kinds, ring buffer, queue, stack, program array, maps of maps, device
// maps) and data sections in their initial state, and the standard
// helpers, which take what they know of the world (clock, random seed,
// CPU, pid) from [Env], so that runs are deterministic.
// [Machine.RunProgram] builds the context BPF_PROG_TEST_RUN would (xdp_md
// over a packet with the kernel's headroom, the __sk_buff of socket, tc and
// cgroup_skb programs, plain bytes for other types), runs the program and
// returns what the test run returns: return value, packet and context.
//
// CO-RE relocations keep the values the compiler computed against the
// object's own types, and a few kfuncs are modelled (see [Object]); other
// externs and kfuncs are refused, naming them. A program whose license is
// not GPL-compatible and that calls a GPL-only helper does not run
// ([ErrGPL]), as the kernel does not load it.
//
// A [Hook] sees every instruction before it runs: [TraceHook] prints
// them, [Coverage] counts them per source line ([WriteLCOV],
// [WriteText]).
//
// # What is not modelled
//
// The verifier is the kernel's job (bpfstar verify): the interpreter runs
// programs the verifier would reject and stops only where the run itself
// goes wrong. Concurrency (atomics are plain read-modify-writes, spin
// locks always succeed), real time, the kernel's own data structures
// (probe_read_kernel reads only memory given to the machine) and JIT
// differences are not modelled.
package vm
