package starlib

import (
	"errors"
	"math/big"
	"sort"
	"testing"

	"github.com/bpfstar/bpfstar/internal/fuzzbytes"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/btf"
	"github.com/bpfstar/bpfstar/btffile"
	"github.com/bpfstar/bpfstar/internal/btftest"
	"github.com/bpfstar/bpfstar/link"
)

// FuzzBuiltins calls every builtin (the insn module's and the top-level
// ones) with arguments made from the fuzzer's bytes: ints of every size,
// strings, None, bools, floats, lists, tuples, dicts, registers, insns,
// labels and map, global and function handles, positional or by keyword.
// No call may panic, and every insn a call returns must be valid. The seed
// corpus is in testdata/fuzz/FuzzBuiltins.
func FuzzBuiltins(f *testing.F) {
	f.Add([]byte{0, 2, 1, 2, 3})
	f.Add([]byte{5, 3, 20, 1, 7, 9})
	f.Add([]byte{40, 4, 30, 31, 32, 33, 0x80})
	names, _ := fuzzBuiltins(newUnit("fuzz.star", "fuzz.star", nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := &fuzzReader{fuzzbytes.Reader{Data: data}}
		for calls := 0; !r.Done() && calls < 64; calls++ {
			i := int(r.Next()) % len(names)
			u := newUnit("fuzz.star", "fuzz.star", nil)
			predeclared := u.predeclared()
			_, builtins := fuzzBuiltins(u)
			vals := fuzzValues(u)
			n := int(r.Next()) % 7
			args := make(starlark.Tuple, 0, n)
			var kwargs []starlark.Tuple
			for j := 0; j < n; j++ {
				v := r.value(vals)
				if b := r.Next(); b < 24 {
					kwargs = append(kwargs, starlark.Tuple{starlark.String(fuzzKeywords[int(b)%len(fuzzKeywords)]), v})
				} else {
					args = append(args, v)
				}
			}
			// Call from Starlark code, as a program file does, so that the
			// builtin sees a caller frame.
			thread := &starlark.Thread{Name: "fuzz"}
			thread.SetMaxExecutionSteps(100000)
			predeclared["f"] = builtins[names[i]]
			predeclared["args"] = args
			kw := starlark.NewDict(len(kwargs))
			for _, p := range kwargs {
				kw.SetKey(p[0], p[1])
			}
			predeclared["kwargs"] = kw
			g, err := starlark.ExecFileOptions(FileOptions(), thread, "fuzz.star", "x = f(*args, **kwargs)\n", predeclared)
			if err != nil {
				var ee *starlark.EvalError
				if !errors.As(err, &ee) {
					t.Fatalf("%s%v: %v", names[i], args, err)
				}
				continue
			}
			if in, ok := g["x"].(*Insn); ok && !in.inst().Raw && in.label() == "" && in.ref().Kind == asm.RefNone {
				if err := in.inst().Validate(); err != nil {
					t.Fatalf("%s%v kw %v returned an invalid insn %v: %v", names[i], args, kwargs, in, err)
				}
			}
		}
	})
}

var fuzzKeywords = []string{"dst", "src", "imm", "off", "op", "size", "target", "bits", "fetch", "helper", "code", "name", "symbol", "insns", "text", "msg", "type", "key_size", "value_size", "max_entries", "flags", "value", "global", "map", "function", "program", "data", "ctx", "maps", "want_retval", "want_data", "want_maps", "want_ctx", "repeat", "payload", "dst_port", "proto", "t", "path", "stack", "weak", "nope"}

// fuzzBuiltins returns every builtin bound to u, by name, and their names
// sorted.
func fuzzBuiltins(u *unit) ([]string, map[string]starlark.Value) {
	m := map[string]starlark.Value{}
	pre := u.predeclared()
	for name, v := range pre {
		if _, ok := v.(*starlark.Builtin); ok {
			m[name] = v
		}
	}
	for _, mod := range []string{"insn", "core"} {
		mm := pre[mod].(*module)
		for _, name := range mm.AttrNames() {
			v, _ := mm.Attr(name)
			m[mod+"."+name] = v
		}
	}
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, m
}

// fuzzValues returns the values arguments are chosen from.
func fuzzValues(u *unit) []starlark.Value {
	huge, _ := new(big.Int).SetString("123456789012345678901234567890", 10)
	mapH := &MapHandle{&link.Map{Name: "m", Type: "array", TypeID: 2, KeySize: 4, ValueSize: 8, MaxEntries: 1}}
	glob := &GlobalHandle{&link.Global{Name: "g", Section: ".data", Size: 8, Align: 8, Data: make([]byte, 8)}}
	u.Maps, u.Globals = append(u.Maps, mapH.m), append(u.Globals, glob.g)
	ex := u.alloc.newInsn(exitInsn, "", nil, syntax.Position{})
	lab := &Label{asm.Label{Name: "l"}}
	vals := []starlark.Value{
		starlark.None, starlark.True, starlark.False,
		starlark.MakeInt(0), starlark.MakeInt(1), starlark.MakeInt(-1), starlark.MakeInt(2), starlark.MakeInt(4), starlark.MakeInt(8),
		starlark.MakeInt(10), starlark.MakeInt(11), starlark.MakeInt(16), starlark.MakeInt(32), starlark.MakeInt(64),
		starlark.MakeInt(255), starlark.MakeInt(256), starlark.MakeInt(4096), starlark.MakeInt(32767), starlark.MakeInt(32768),
		starlark.MakeInt(-32768), starlark.MakeInt(-32769), starlark.MakeInt(65535), starlark.MakeInt64(1 << 31), starlark.MakeInt64(-1 << 31),
		starlark.MakeInt64(1<<31 - 1), starlark.MakeInt64(1<<32 - 1), starlark.MakeInt64(1 << 32), starlark.MakeInt64(-1 << 63),
		starlark.MakeUint64(1<<64 - 1), starlark.MakeBigInt(huge), starlark.MakeBigInt(new(big.Int).Neg(huge)),
		starlark.Float(1.5), starlark.Float(-0.0),
		starlark.String(""), starlark.String("w"), starlark.String("dw"), starlark.String("b"), starlark.String("h"),
		starlark.String("add"), starlark.String("neg"), starlark.String("xchg"), starlark.String("cmpxchg"), starlark.String("jeq"), starlark.String("jset"),
		starlark.String("l"), starlark.String("xdp"), starlark.String(".text"), starlark.String("license"), starlark.String("GPL"),
		starlark.String("map_lookup_elem"), starlark.String("bpf_trace_printk"), starlark.String("array"), starlark.String("ringbuf"), starlark.String("hash"),
		starlark.String("lpm_trie"), starlark.String("sk_storage"), starlark.String("f"), starlark.String("m"), starlark.String("g"),
		starlark.String("a\x00b"), starlark.String("\xff\xfe"), starlark.String("with space"), starlark.String("1x"),
		starlark.String("r0 = 1\nexit"), starlark.String("if r1 > {imm} goto l\nl:"), starlark.String("r1 = m ll"), starlark.String("call {f}"),
		starlark.Bytes(""), starlark.Bytes("hello"), starlark.Bytes(make([]byte, 9)),
		Register(0), Register(1), Register(10),
		ex, lab, &FuncHandle{"f"}, mapH, glob,
		starlark.NewList(nil), starlark.NewList([]starlark.Value{ex}), starlark.Tuple{ex, lab},
		starlark.NewList([]starlark.Value{lab, starlark.NewList([]starlark.Value{ex})}),
		starlark.NewList([]starlark.Value{starlark.MakeInt(1)}), starlark.NewDict(0),
	}
	self := starlark.NewList([]starlark.Value{ex})
	self.Append(self)
	vals = append(vals, self)
	// Kernel types of a small BTF file, registered with the unit as
	// btf_types registers them, a local ___flavor type and paths.
	bf, err := btffile.Parse(btftest.Kernel(btftest.Options{}))
	if err != nil {
		panic(err)
	}
	kt := &BTFTypes{name: "kernel.btf", f: bf}
	u.btfFiles = map[string]*BTFTypes{kt.name: kt}
	task, _ := bf.Type("task_struct")
	pidType, _ := bf.Type("enum pid_type")
	mine := &CType{&btf.Struct{Name: "task_struct___mine", Members: []btf.Field{{Name: "tgid", Type: &btf.Int{Name: "int", Bytes: 4, Encoding: btf.IntSigned}}}}}
	return append(vals, kt, &CType{task}, &CType{pidType}, mine, &CType{&btf.FuncProto{}},
		starlark.String("tgid"), starlark.String("real_parent->tgid"), starlark.String("comm[3]"), starlark.String("comm[99]"),
		starlark.String("flags"), starlark.String("se.vruntime"), starlark.String("real_parent->real_parent->pid"),
		starlark.String("PIDTYPE_SID"), starlark.String("bpf_task_from_pid"), starlark.String("task_struct"), starlark.String("->"))
}

type fuzzReader struct{ fuzzbytes.Reader }

func (r *fuzzReader) value(vals []starlark.Value) starlark.Value {
	b := r.Next()
	if int(b) < len(vals) {
		return vals[b]
	}
	// Any int in 16 bits, or a register number out of range.
	return starlark.MakeInt(int(int8(b)) * int(r.Next()))
}
