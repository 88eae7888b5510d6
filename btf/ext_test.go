package btf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	cbtf "github.com/cilium/ebpf/btf"

	"github.com/bpfstar/bpfstar/internal/testenv"
	"github.com/bpfstar/bpfstar/objwriter"
)

// coreSample builds types and .BTF.ext sections with func_info, line_info
// and CO-RE records: struct s { int a; int b; } accessed as s->b, its size
// asked for, and a local type ID in a second section.
func coreSample() (*Builder, []ExtSection) {
	var b Builder
	intT := b.Int("int", 4, true)                                                                     // [1]
	st := b.Struct("s", 8, []Member{{Name: "a", Type: intT}, {Name: "b", Type: intT, BitOffset: 32}}) // [2]
	proto := b.FuncProto(intT, []Param{{Name: "p", Type: b.Ptr(st)}})                                 // [3] [4]
	f := b.Func("f", proto, FuncGlobal)                                                               // [5]
	g := b.Func("g", proto, FuncGlobal)                                                               // [6]
	file, line := b.String("p.star"), b.String("r0 = p.b")
	return &b, []ExtSection{
		{
			Name:  "xdp",
			Funcs: []FuncInfo{{InsnOff: 0, Type: f}},
			Lines: []LineInfo{{InsnOff: 0, FileNameOff: file, LineOff: line, Line: 3, Col: 5}, {InsnOff: 8, FileNameOff: file, LineOff: line, Line: 4, Col: 1}},
			CoreRelos: []CoreRelo{
				{InsnOff: 8, Type: st, Access: "0:1", Kind: CoreFieldByteOffset},
				{InsnOff: 16, Type: st, Access: "0", Kind: CoreTypeSize},
			},
		},
		{Name: "empty"},
		{
			Name:      ".text",
			Funcs:     []FuncInfo{{InsnOff: 0, Type: g}},
			CoreRelos: []CoreRelo{{InsnOff: 0, Type: intT, Access: "0", Kind: CoreTypeIDLocal}},
		},
	}
}

// .BTF.ext with CO-RE records, byte for byte: the header's core_relo part
// follows line_info and, like it, is a record size and per section its
// name, count and 16-byte bpf_core_relo records. The access strings go
// into the string table after the section names.
func TestExtCoreEncoding(t *testing.T) {
	b, ext := coreSample()
	data, extData, err := b.Finish(ext)
	if err != nil {
		t.Fatal(err)
	}
	const strs = "\x00int\x00a\x00b\x00s\x00p\x00f\x00g\x00p.star\x00r0 = p.b\x00xdp\x00empty\x00.text\x000:1\x000\x00"
	le := binary.LittleEndian
	if got := string(data[hdrLen+le.Uint32(data[16:]):]); got != strs {
		t.Fatalf("string table = %q, want %q", got, strs)
	}
	off := func(s string) uint32 { return uint32(strings.Index(strs, "\x00"+s+"\x00") + 1) }
	xdp, text := off("xdp"), off(".text")
	file, line := off("p.star"), off("r0 = p.b")

	funcs := u32s(8, xdp, 1, 0, 5, text, 1, 0, 6)
	lines := u32s(16, xdp, 2, 0, file, line, 3<<10|5, 8, file, line, 4<<10|1)
	core := u32s(16,
		xdp, 2, 8, 2, off("0:1"), 0, 16, 2, off("0"), 9,
		text, 1, 0, 1, off("0"), 6)
	header := u32s(32, 0, uint32(len(funcs)), uint32(len(funcs)), uint32(len(lines)), uint32(len(funcs)+len(lines)), uint32(len(core)))
	header = append([]byte{0x9f, 0xeb, 1, 0}, header...)
	want := bytes.Join([][]byte{header, funcs, lines, core}, nil)
	if !bytes.Equal(extData, want) {
		t.Errorf(".BTF.ext =\n%x\nwant\n%x", extData, want)
	}
	if len(core) != 4+8+2*16+8+16 {
		t.Errorf("core_relo part of %d bytes", len(core))
	}
}

// coreObject is an ELF object with coreSample's programs f (in xdp) and g
// (in .text), each r0 = 0; r0 = 0; exit, and its .BTF and .BTF.ext.
func coreObject(t *testing.T) []byte {
	t.Helper()
	b, ext := coreSample()
	btfData, extData, err := b.Finish(ext)
	if err != nil {
		t.Fatal(err)
	}
	obj := objwriter.New()
	movR0 := []byte{0xb7, 0, 0, 0, 0, 0, 0, 0}
	exit := []byte{0x95, 0, 0, 0, 0, 0, 0, 0}
	code := bytes.Join([][]byte{movR0, movR0, exit}, nil)
	for _, p := range []struct{ sec, sym string }{{"xdp", "f"}, {".text", "g"}} {
		if _, err := obj.AddProgram(p.sec, p.sym, code); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []struct {
		name string
		data []byte
	}{{".BTF", btfData}, {".BTF.ext", extData}} {
		if err := obj.AddSection(&objwriter.Section{Name: s.name, Type: elf.SHT_PROGBITS, Align: 4, Data: s.data}); err != nil {
			t.Fatal(err)
		}
	}
	if err := obj.SetLicense("GPL"); err != nil {
		t.Fatal(err)
	}
	elfData, err := obj.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return elfData
}

// cilium/ebpf reads the CO-RE records back from an object, with the kind,
// type and access path of each, next to the func and line records.
func TestExtCoreCilium(t *testing.T) {
	_, infos, err := cbtf.LoadSpecAndExtInfosFromReader(bytes.NewReader(coreObject(t)))
	if err != nil {
		t.Fatalf("cilium/ebpf rejects the object: %v", err)
	}
	var got []string
	for _, sec := range []string{"xdp", "empty", ".text"} {
		funcs, lines, relos := infos.Section(sec)
		for _, f := range funcs {
			got = append(got, fmt.Sprintf("%s func %s at insn %d", sec, f.Func.Name, f.Offset))
		}
		for _, l := range lines {
			got = append(got, fmt.Sprintf("%s line %s:%d:%d %q at insn %d", sec, l.Line.FileName(), l.Line.LineNumber(), l.Line.LineColumn(), l.Line.Line(), l.Offset))
		}
		for _, r := range relos {
			got = append(got, fmt.Sprintf("%s %v at insn %d", sec, r.Relo, r.Offset))
		}
	}
	want := []string{
		`xdp func f at insn 0`,
		`xdp line p.star:3:5 "r0 = p.b" at insn 0`,
		`xdp line p.star:4:1 "r0 = p.b" at insn 1`,
		`xdp CORERelocation(byte_off, Struct:"s"[0:1], local_id=2) at insn 1`,
		`xdp CORERelocation(type_size, Struct:"s"[0], local_id=2) at insn 2`,
		`.text func g at insn 0`,
		`.text CORERelocation(local_type_id, Int:"int"[0], local_id=1) at insn 0`,
	}
	if g, w := strings.Join(got, "\n"), strings.Join(want, "\n"); g != w {
		t.Errorf("cilium/ebpf reads\n%s\nwant\n%s", g, w)
	}
}

// Without CO-RE records there is no core_relo part: core_relo_len is 0
// and nothing follows line_info, as before CO-RE was supported.
// libbpf's static linker (bpftool gen object) takes the object's
// .BTF.ext apart and writes it again, and LLVM's disassembler then shows
// the line_info and CO-RE records where they belong.
func TestExtCoreLLVM(t *testing.T) {
	objdump := testenv.Tool(t, "llvm-objdump-19")
	tool := bpftool(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "in.o"), filepath.Join(dir, "out.o")
	if err := os.WriteFile(in, coreObject(t), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := exec.Command(tool, "gen", "object", out, in).CombinedOutput(); err != nil {
		t.Fatalf("bpftool gen object (libbpf's linker): %v\n%s", err, msg)
	}
	msg, err := exec.Command(objdump, "-d", "-r", "-S", "--no-show-raw-insn", out).CombinedOutput()
	if err != nil {
		t.Fatalf("llvm-objdump: %v\n%s", err, msg)
	}
	var got []string
	for _, l := range strings.Split(string(msg), "\n") {
		if l = strings.Join(strings.Fields(l), " "); l != "" && !strings.Contains(l, "file format") {
			got = append(got, l)
		}
	}
	want := `Disassembly of section xdp:
0000000000000000 <f>:
; r0 = p.b
0: r0 = 0x0
; r0 = p.b
1: r0 = 0x0
0000000000000008: CO-RE <byte_off> [2] struct s::b (0:1)
2: exit
0000000000000010: CO-RE <type_size> [2] struct s
Disassembly of section .text:
0000000000000000 <g>:
0: r0 = 0x0
0000000000000000: CO-RE <local_type_id> [1] int
1: r0 = 0x0
2: exit`
	if g := strings.Join(got, "\n"); g != want {
		t.Errorf("llvm-objdump -d -r -S after libbpf's linker:\n%s\nwant\n%s", g, want)
	}
}

func TestExtWithoutCore(t *testing.T) {
	b, ext := coreSample()
	for i := range ext {
		ext[i].CoreRelos = nil
	}
	_, extData, err := b.Finish(ext)
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	funcsLen, linesLen := le.Uint32(extData[12:]), le.Uint32(extData[20:])
	if coreOff, coreLen := le.Uint32(extData[24:]), le.Uint32(extData[28:]); coreOff != funcsLen+linesLen || coreLen != 0 {
		t.Errorf("core_relo_off, len = %d, %d; want %d, 0", coreOff, coreLen, funcsLen+linesLen)
	}
	if len(extData) != extHdrLen+int(funcsLen+linesLen) {
		t.Errorf(".BTF.ext is %d bytes, want %d", len(extData), extHdrLen+funcsLen+linesLen)
	}
	// Sections without records and no sections at all.
	var e Builder
	e.Int("int", 4, true)
	_, extData, err = e.Finish([]ExtSection{})
	if err != nil {
		t.Fatal(err)
	}
	if want := append([]byte{0x9f, 0xeb, 1, 0}, u32s(32, 0, 4, 4, 4, 8, 0, 8, 16)...); !bytes.Equal(extData, want) {
		t.Errorf("empty .BTF.ext = %x, want %x", extData, want)
	}
}

func TestCoreReloKindString(t *testing.T) {
	for k, want := range map[CoreReloKind]string{
		CoreFieldByteOffset: "FIELD_BYTE_OFFSET", CoreFieldRShiftU64: "FIELD_RSHIFT_U64",
		CoreTypeIDLocal: "TYPE_ID_LOCAL", CoreEnumvalValue: "ENUMVAL_VALUE", CoreTypeMatches: "TYPE_MATCHES",
		13: "CoreReloKind(13)",
	} {
		if got := k.String(); got != want {
			t.Errorf("CoreReloKind(%d) = %s, want %s", uint32(k), got, want)
		}
	}
	if CoreTypeMatches != 12 || CoreEnumvalValue != 11 || CoreTypeIDLocal != 6 {
		t.Error("CO-RE kinds differ from the kernel's enum bpf_core_relo_kind")
	}
}

func TestExtErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(ext []ExtSection)
		want string
	}{
		{"unaligned", func(ext []ExtSection) { ext[0].CoreRelos[0].InsnOff = 4 }, "CO-RE relocation at byte 4, not at an instruction"},
		{"empty access", func(ext []ExtSection) { ext[0].CoreRelos[0].Access = "" }, `access string ""`},
		{"bad access", func(ext []ExtSection) { ext[0].CoreRelos[0].Access = "0:a" }, `access string "0:a"`},
		{"trailing colon", func(ext []ExtSection) { ext[0].CoreRelos[0].Access = "0:" }, `access string "0:"`},
		{"kind", func(ext []ExtSection) { ext[0].CoreRelos[0].Kind = 13 }, "unknown kind 13"},
		{"type", func(ext []ExtSection) { ext[0].CoreRelos[0].Type = 7 }, "type [7] does not exist"},
		{"line", func(ext []ExtSection) { ext[0].Lines[0].Line = 1 << 22 }, "line 4194304 does not fit"},
		{"no name", func(ext []ExtSection) { ext[0].Name = "" }, "records for a section without a name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, ext := coreSample()
			tc.edit(ext)
			data, extData, err := b.Finish(ext)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Finish error = %v, want one containing %q", err, tc.want)
			}
			if data != nil || extData != nil {
				t.Error("Finish returned data with its error")
			}
		})
	}
}
