package starlib

// asm(text, **values): instructions written as text
//
// asm() reads instructions in the syntax llvm-objdump-19 and `bpfstar
// disasm` print, one per line, and returns them as a list of insn values
// and labels, the same values the insn module makes. The syntax of an
// instruction is isa's (isa.Parse, whose forms are derived from its
// printer); this file only adds what a text of many lines needs: comments,
// `name:` labels, `{name}` substitution, the meaning of names (labels,
// helpers, functions, maps, globals) and the position of every line in the
// .star file, so that an instruction made here and an error found here
// name the line and column inside the string literal.

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"go.starlark.net/starlark"
	"go.starlark.net/syntax"

	"github.com/bpfstar/bpfstar/asm"
	"github.com/bpfstar/bpfstar/helper"
	"github.com/bpfstar/bpfstar/isa"
)

// asmText is the builtin asm(text, **values).
func (u *unit) asmText(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
	if len(args) != 1 {
		return nil, errorf(b, "got %d positional arguments, want 1: the text (the keyword arguments are the values of its {names})", len(args))
	}
	text, ok := starlark.AsString(args[0])
	if !ok {
		return nil, errorf(b, "for parameter text: got %s, want string", args[0].Type())
	}
	values := make(map[string]starlark.Value, len(kwargs))
	for _, kv := range kwargs {
		values[string(kv[0].(starlark.String))] = kv[1]
	}
	call := thread.CallFrame(1).Pos
	src := u.Sources[call.Filename()].Text
	a := &asmReader{u: u, thread: thread, b: b, values: values, call: call, file: call.Filename()}
	if ls, ok := u.lineStart(call.Filename(), src, call.Line); ok {
		if off, ok := literalAt(src, ls, call.Col, text); ok {
			a.literal = true
			a.line = call.Line + int32(bytes.Count(src[ls:off], []byte("\n")))
			a.col = 1 + int32(utf8.RuneCount(src[ls+bytes.LastIndexByte(src[ls:off], '\n')+1:off]))
		}
	}
	// The text is read in one step: it costs steps by its size, and its
	// values must fit in the memory budget.
	lines := strings.Count(text, "\n") + 1
	charge(thread, len(text))
	if err := reserve(thread, lines*asmLineBytes); err != nil {
		return nil, errorf(b, "%v", err)
	}
	out := make([]starlark.Value, 0, lines)
	insns, labels := 0, 0
	for rest, n := text, 0; ; n++ {
		line, more, found := strings.Cut(rest, "\n")
		a.cur, a.n = line, n
		v, err := a.readLine()
		if err != nil {
			return nil, err
		}
		if v != nil {
			if _, ok := v.(*Label); ok {
				labels++
			} else {
				insns++
			}
			if insns > asm.MaxInstructions || labels > asm.MaxInstructions {
				return nil, a.errorAt(0, "the text holds more than %d instructions or labels, the most a program may hold", asm.MaxInstructions)
			}
			out = append(out, v)
		}
		if !found {
			break
		}
		rest = more
	}
	return starlark.NewList(out), nil
}

// asmLineBytes is about the memory a line of text takes once read: its
// instruction value, position and metadata (see docs/perf.md).
const asmLineBytes = 128

// asmReader reads the lines of one asm() call.
type asmReader struct {
	u      *unit
	thread *starlark.Thread
	b      *starlark.Builtin
	values map[string]starlark.Value
	call   syntax.Position // the call's position (its opening parenthesis)
	file   string          // the call's file
	// When literal is set, the text is the contents of the string literal
	// whose first character is at line, col in the .star file.
	literal   bool
	line, col int32
	// The line being read: its text and number (from 0).
	cur string
	n   int
}

// literalAt finds the string literal that is the first argument of the
// call whose opening parenthesis is at call, and reports whether its
// contents are text character for character (a literal without escapes,
// or a raw one): then every offset in text is an offset in the file. A
// text made otherwise (a variable, a concatenation, % formatting) is not
// found, and errors name the call and the line of the text.
func literalAt(src []byte, lineStart int, col int32, text string) (int, bool) {
	i, ok := columnOffset(src, lineStart, col)
	if !ok || i >= len(src) || src[i] != '(' {
		return 0, false
	}
	i++
	// Skip blanks and comments up to the argument.
	for i < len(src) {
		switch c := src[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			continue
		}
		break
	}
	raw := false
	if i < len(src) && (src[i] == 'r' || src[i] == 'R') {
		raw = true
		i++
	}
	if i >= len(src) || (src[i] != '"' && src[i] != '\'') {
		return 0, false
	}
	quote := string(src[i : i+1])
	if i+3 <= len(src) && string(src[i:i+3]) == strings.Repeat(quote, 3) {
		quote = strings.Repeat(quote, 3)
	}
	start := i + len(quote)
	if len(src)-start < len(text) || string(src[start:start+len(text)]) != text {
		return 0, false
	}
	rest := src[start+len(text):]
	if !strings.HasPrefix(string(rest[:min(len(rest), len(quote))]), quote) {
		return 0, false
	}
	if !raw && strings.ContainsRune(text, '\\') {
		return 0, false
	}
	return start, true
}

// columnOffset returns the byte offset of a 1-based column (in runes, as
// Starlark counts them) of the line that starts at offset i of src.
func columnOffset(src []byte, i int, col int32) (int, bool) {
	for c := int32(1); c < col; c++ {
		if i >= len(src) || src[i] == '\n' {
			return 0, false
		}
		_, n := utf8.DecodeRune(src[i:])
		i += n
	}
	return i, true
}

// lineStart returns the offset in src, the text of file, of the start of
// line (from 1). The offsets of a file's lines are found once, on the
// first asm() call in it: a macro may call asm() many times.
func (u *unit) lineStart(file string, src []byte, line int32) (int, bool) {
	starts, ok := u.lineStarts[file]
	if !ok {
		starts = []int{0}
		for i, c := range src {
			if c == '\n' {
				starts = append(starts, i+1)
			}
		}
		if u.lineStarts == nil {
			u.lineStarts = make(map[string][]int)
		}
		u.lineStarts[file] = starts
	}
	if line < 1 || int(line) > len(starts) {
		return 0, false
	}
	return starts[line-1], true
}

// pos returns the position in the file of byte off of the line being
// read.
func (a *asmReader) pos(off int) syntax.Position {
	if !a.literal {
		return a.call
	}
	col := int32(1)
	if a.n == 0 {
		col = a.col
	}
	col += int32(utf8.RuneCountInString(a.cur[:min(off, len(a.cur))]))
	return syntax.MakePosition(&a.file, a.line+int32(a.n), col)
}

// errorAt returns an error at byte off of the line being read.
func (a *asmReader) errorAt(off int, format string, args ...any) error {
	msg := a.b.Name() + ": " + fmt.Sprintf(format, args...)
	if !a.literal {
		msg = fmt.Sprintf("%s: line %d of the text: %s", a.b.Name(), a.n+1, fmt.Sprintf(format, args...))
	}
	return &asm.Error{Pos: toPos(a.pos(off)), Msg: msg}
}

// readLine reads the line a.cur: an instruction, a label, or nothing (a
// blank or comment line).
func (a *asmReader) readLine() (starlark.Value, error) {
	code := a.cur
	if i := commentStart(code); i >= 0 {
		code = code[:i]
	}
	// Substitute {name}; offs maps offsets in the result back to code.
	line, offs, err := a.substitute(code)
	if err != nil {
		return nil, err
	}
	at := func(i int) int { // the offset in a.cur of byte i of line
		if offs == nil {
			return i
		}
		if i >= len(offs) {
			return len(code)
		}
		return offs[i]
	}
	trimmed := strings.TrimLeft(line, " \t\r")
	if strings.TrimRight(trimmed, " \t\r") == "" {
		return nil, nil
	}
	first := len(line) - len(trimmed)
	if strings.HasPrefix(trimmed, "Disassembly of section ") || strings.Contains(trimmed, ":\tfile format ") {
		return nil, a.errorAt(at(first), "a heading of an llvm-objdump listing: paste each function's lines (from its <name>: heading) into an asm() of its own, in section() or function()")
	}
	if relocationLine(trimmed) {
		return nil, a.errorAt(at(first), "a relocation line of llvm-objdump -r: put the symbol in the instruction instead (r1 = counts ll, call f)")
	}
	if n := objdumpPrefix(trimmed); n > 0 {
		// A whole line of an llvm-objdump listing: read its text, blanking
		// the index and bytes so that offsets in line stay those of code.
		first += n
		line = strings.Repeat(" ", first) + line[first:]
		trimmed = line[first:]
	}
	pos := a.pos(at(first))
	if name, ok := labelLine(trimmed); ok {
		if !isIdent(name) && !a.u.locals[name] {
			return nil, a.errorAt(at(first), "label name %q is not an identifier ([A-Za-z_][A-Za-z0-9_.]*)", name)
		}
		p := toPos(pos)
		a.u.traceLabel(a.thread, name, p, true)
		return a.u.alloc.newLabel(name, p), nil
	}
	p, err := isa.Parse(line)
	if err != nil {
		se := err.(*isa.SyntaxError)
		return nil, a.errorAt(at(se.Offset), "%s", se.Msg)
	}
	ins := p.Insn
	var target string
	var ref *asm.Ref
	if p.Name != "" {
		target, ref, err = a.resolve(&ins, p, func(format string, args ...any) error {
			return a.errorAt(at(p.NameOffset), format, args...)
		})
		if err != nil {
			return nil, err
		}
	} else if isCall(ins) {
		if ins.Imm == -1 {
			return nil, a.errorAt(at(first), "call -0x1 is how llvm-objdump prints a BPF-to-BPF call its object relocates: write the function's name (call NAME)")
		}
		if _, ok := helper.ByID(int32(ins.Imm)); !ok {
			return nil, a.errorAt(at(first), "unknown helper number %d (a BPF function is called by name: call NAME)", ins.Imm)
		}
	}
	if err := ins.Validate(); err != nil {
		return nil, a.errorAt(at(first), "%v", err)
	}
	if target != "" && a.u.alloc.trace != nil {
		a.u.alloc.trace(a.thread, target, toPos(pos))
	}
	return a.u.alloc.newInsn(ins, target, ref, pos), nil
}

var callOp = isa.Op(isa.ClassJMP, uint8(isa.JumpCall), isa.SrcK)

func isCall(ins isa.Instruction) bool { return ins.Op == callOp }

// resolve gives meaning to the name p has in place of a number: the label
// of a jump, the helper or function of a call, the map, global or
// function whose address a 64-bit load takes.
func (a *asmReader) resolve(ins *isa.Instruction, p isa.Parsed, fail func(string, ...any) error) (string, *asm.Ref, error) {
	switch {
	case ins.IsJump():
		if !isIdent(p.Name) && !a.u.locals[p.Name] {
			return "", nil, fail("label name %q is not an identifier", p.Name)
		}
		return p.Name, nil, nil
	case isCall(*ins):
		if h, ok := helper.Lookup(p.Name); ok {
			ins.Imm = int64(h.ID)
			return "", nil, nil
		}
		if !a.u.declaredFunction(p.Name) {
			if s := helper.Suggest(p.Name); s != "" {
				return "", nil, fail("unknown helper %q (did you mean %q?); a BPF function is called by its name once function() has declared it", p.Name, s)
			}
		}
		ins.Src, ins.Imm = isa.CallPseudo, -1
		return "", &asm.Ref{Kind: asm.RefFunc, Name: p.Name}, nil
	case ins.IsLoadImm64():
		for _, m := range a.u.Maps {
			if m.Name == p.Name {
				if p.Addend != 0 {
					return "", nil, fail("map %q takes no offset: a map's value is reached through the map_lookup_elem helper", p.Name)
				}
				return "", &asm.Ref{Kind: asm.RefMap, Name: p.Name}, nil
			}
		}
		for _, g := range a.u.Globals {
			if g.Name == p.Name {
				if p.Addend < 0 || p.Addend >= int64(g.Size) {
					return "", nil, fail("offset %d lies outside %q (%d bytes)", p.Addend, g.Name, g.Size)
				}
				return "", &asm.Ref{Kind: asm.RefGlobal, Name: p.Name, Addend: p.Addend}, nil
			}
		}
		if a.u.declaredFunction(p.Name) && p.Addend == 0 {
			return "", &asm.Ref{Kind: asm.RefFuncAddr, Name: p.Name}, nil
		}
		var names []string
		for _, m := range a.u.Maps {
			names = append(names, m.Name)
		}
		for _, g := range a.u.Globals {
			names = append(names, g.Name)
		}
		for _, f := range a.u.Functions {
			names = append(names, f.Symbol)
		}
		msg := fmt.Sprintf("unknown map, global or function %q", p.Name)
		if s := nearest(p.Name, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (declare it before the asm() call)"
		}
		return "", nil, fail("%s", msg)
	}
	return "", nil, fail("unexpected name %q", p.Name)
}

// declaredFunction reports whether function() has declared name so far.
func (u *unit) declaredFunction(name string) bool {
	for _, f := range u.Functions {
		if f.Symbol == name {
			return true
		}
	}
	return false
}

// commentStart returns the offset of the comment in a line ("#" or "//"
// to the end), or -1.
func commentStart(line string) int {
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '#':
			return i
		case '/':
			if i+1 < len(line) && line[i+1] == '/' {
				return i
			}
		}
	}
	return -1
}

// objdumpPrefix returns the length of what precedes the text in a line
// (without leading blanks) of an llvm-objdump -d listing: the
// instruction's index and a colon ("4:"), the blanks after it and, unless
// the listing was made with --no-show-raw-insn, the instruction's bytes
// ("bf 16 00 00 00 00 00 00") and the blanks after them; or 0 for a line
// that does not start so. No instruction text starts with two hex digits
// and a blank, so the bytes cannot be taken for text.
func objdumpPrefix(line string) int {
	i := 0
	for i < len(line) && '0' <= line[i] && line[i] <= '9' {
		i++
	}
	if i == 0 || i >= len(line) || line[i] != ':' {
		return 0
	}
	j := skipBlanks(line, i+1)
	if j == i+1 || j == len(line) {
		return 0
	}
	for j+2 < len(line) && isHexDigit(line[j]) && isHexDigit(line[j+1]) && (line[j+2] == ' ' || line[j+2] == '\t') {
		j = skipBlanks(line, j+2)
	}
	return j
}

// relocationLine reports whether line (without leading blanks) is a
// relocation of an llvm-objdump -dr listing: "0000000000000020:
// R_BPF_64_64	counts".
func relocationLine(line string) bool {
	i := 0
	for i < len(line) && isHexDigit(line[i]) {
		i++
	}
	if i == 0 || i >= len(line) || line[i] != ':' {
		return false
	}
	return strings.HasPrefix(line[skipBlanks(line, i+1):], "R_BPF_")
}

func skipBlanks(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return i
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f'
}

// labelLine reports whether line (without leading blanks) places a label:
// "name:", or objdump's "<name>:".
func labelLine(line string) (string, bool) {
	line = strings.TrimRight(line, " \t\r")
	name, ok := strings.CutSuffix(line, ":")
	if !ok {
		return "", false
	}
	name = strings.TrimRight(name, " \t")
	// objdump's heading: "0000000000000018 <LBB0_2>:".
	if addr, n, ok := strings.Cut(name, " <"); ok && strings.Trim(addr, "0123456789abcdef") == "" {
		name = "<" + n
	}
	if n, ok := strings.CutPrefix(name, "<"); ok {
		if n, ok = strings.CutSuffix(n, ">"); ok {
			name = n
		}
	}
	return name, true
}

// substitute replaces each {name} in line by the text of values[name];
// "{{" and "}}" stand for braces. It returns the line and, when anything
// was replaced, the offset in the original line of each byte of the
// result (a value's bytes map to its opening brace).
func (a *asmReader) substitute(line string) (string, []int, error) {
	if !strings.ContainsAny(line, "{}") {
		return line, nil, nil
	}
	var b strings.Builder
	var offs []int
	emit := func(s string, from int) {
		b.WriteString(s)
		for range len(s) {
			offs = append(offs, from)
		}
	}
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '{' && i+1 < len(line) && line[i+1] == '{', c == '}' && i+1 < len(line) && line[i+1] == '}':
			emit(line[i:i+1], i)
			i++
		case c == '}':
			return "", nil, a.errorAt(i, "unmatched } (write }} for a brace)")
		case c == '{':
			j := strings.IndexByte(line[i:], '}')
			if j < 0 {
				return "", nil, a.errorAt(i, "unclosed {")
			}
			name := line[i+1 : i+j]
			text, err := a.valueText(name)
			if err != nil {
				return "", nil, a.errorAt(i, "%v", err)
			}
			emit(text, i)
			i += j
		default:
			emit(line[i:i+1], i)
		}
	}
	return b.String(), offs, nil
}

// valueText returns the text that {spec} stands for. spec is a keyword
// argument's name, with ":w" after it for the 32-bit name of a register.
func (a *asmReader) valueText(spec string) (string, error) {
	name, format, _ := strings.Cut(spec, ":")
	v, ok := a.values[name]
	if !ok {
		keys := make([]string, 0, len(a.values))
		for k := range a.values {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		msg := fmt.Sprintf("no value for {%s}", spec)
		if s := nearest(name, keys); s != "" {
			msg += fmt.Sprintf(" (did you mean {%s}?)", s)
		} else if len(keys) == 0 {
			msg += fmt.Sprintf(" (pass it as a keyword argument: asm(text, %s = ...))", name)
		}
		return "", fmt.Errorf("%s", msg)
	}
	if format != "" {
		r, ok := v.(Register)
		if format != "w" || !ok {
			return "", fmt.Errorf("{%s}: the only format is :w, the 32-bit name of a register", spec)
		}
		return isa.Register(r).W(), nil
	}
	var s string
	switch v := v.(type) {
	case starlark.Int:
		s = v.String()
	case starlark.String:
		s = string(v)
	case Register:
		s = v.String()
	case *Label:
		s = v.name()
	case *MapHandle:
		s = v.def().Name
	case *GlobalHandle:
		s = v.def().Name
	case *FuncHandle:
		s = v.name
	default:
		return "", fmt.Errorf("{%s}: got %s, want int, string, register, label, map, global or function", spec, v.Type())
	}
	if strings.ContainsAny(s, "\n{}") {
		return "", fmt.Errorf("{%s}: the value %q holds a newline or a brace: one value fills one place in one line", spec, s)
	}
	return s, nil
}
