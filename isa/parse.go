package isa

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/bpfstar/bpfstar/internal/spell"
)

// This file reads instructions in the syntax [Instruction.String] prints.
// It has no grammar of its own: the forms it accepts are the printer's
// text with every field printed as a slot (the decoder's form mode, see
// text.go), made once from every opcode and every value of the fields that
// select a variant (an atomic's operation, a byte swap's width, the offset
// of signed division and of sign-extending moves). Whatever String prints,
// Parse reads back to the same bytes, because both are the same code.

// slotKind is what a slot of a form holds, and how it is written.
type slotKind byte

// The slot kinds. A register slot's lower-case kind is its 32-bit
// (w) variant.
const (
	slotDst       slotKind = 'D' // destination register, rN (wN: 'd')
	slotSrc       slotKind = 'S' // source register, rN (wN: 's')
	slotImm       slotKind = 'K' // 32-bit immediate
	slotOff       slotKind = 'O' // branch offset (16 bits) or label
	slotMemDst    slotKind = 'M' // "rN + 0x8": destination register and offset
	slotMemSrc    slotKind = 'N' // "rN - 0x8": source register and offset
	slotImm64     slotKind = 'L' // 64-bit immediate, or a symbol and addend
	slotPseudo    slotKind = 'P' // source register as a number (ld_pseudo)
	slotLow32     slotKind = 'U' // the low 32 bits of a 64-bit immediate
	slotSpaceHigh slotKind = 'A' // addr_space_cast's destination address space
	slotSpaceLow  slotKind = 'B' // addr_space_cast's source address space
	slotLongOff   slotKind = 'J' // gotol's 32-bit branch offset, or label
	slotCall      slotKind = 'C' // call number, or helper or function name
)

func regSlot(k slotKind, w bool) slotKind {
	if w {
		return k + ('a' - 'A')
	}
	return k
}

// slotMarker starts a slot mark in form text; no input may contain it.
const slotMarker = '\x00'

func slotMark(k slotKind) string { return string([]byte{slotMarker, byte(k)}) }

// field is a set of instruction fields.
type field uint8

const (
	fieldDst field = 1 << iota
	fieldSrc
	fieldOff
	fieldImm
)

// A token of instruction text.
type token struct {
	kind tokenKind
	text string
	pos  int // byte offset in the line
}

type tokenKind uint8

const (
	tokEOF   tokenKind = iota
	tokIdent           // a word: r1, goto, u32, a label
	tokNum             // a number without its sign: 0x1f, 42
	tokOp              // punctuation and operators: = += ( * s>>= ,
	tokSlot            // a slot mark, in form text only
)

// operators lists the punctuation of the syntax, longest first so that
// lexing takes the longest match.
var operators = []string{
	"s>>=", "<<=", ">>=", "s/=", "s%=", "s>=", "s<=",
	"+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "==", "!=", ">=", "<=", "s>", "s<",
	"=", "+", "-", "*", "(", ")", "[", "]", ",", "&", "<", ">",
}

// operatorsBy holds the operators by their first byte, longest first.
var operatorsBy = func() (t [256][]string) {
	for _, op := range operators {
		t[op[0]] = append(t[op[0]], op)
	}
	return t
}()

// lex splits a line into tokens. Slot marks are tokens only when slots is
// set (form text); elsewhere they are bad characters.
func lex(line string, slots bool, toks []token) ([]token, error) {
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\r':
			i++
			continue
		case slots && c == slotMarker && i+1 < len(line):
			toks = append(toks, token{tokSlot, line[i+1 : i+2], i})
			i += 2
			continue
		case c == 's' && i+1 < len(line) && strings.IndexByte("<>/%", line[i+1]) >= 0 && (i+1 == len(line) || !isWordByte(line[i+1])):
			// a signed operator: s>, s>=, s>>=, s/=, s%=, ...
		case isWordStart(c):
			j := i + 1
			for j < len(line) && isWordByte(line[j]) {
				j++
			}
			toks = append(toks, token{tokIdent, line[i:j], i})
			i = j
			continue
		case '0' <= c && c <= '9':
			j := i + 1
			for j < len(line) && isWordByte(line[j]) {
				j++
			}
			toks = append(toks, token{tokNum, line[i:j], i})
			i = j
			continue
		}
		n := 0
		for _, op := range operatorsBy[c] {
			if strings.HasPrefix(line[i:], op) {
				n = len(op)
				break
			}
		}
		if n == 0 {
			r, _ := utf8.DecodeRuneInString(line[i:])
			return toks, &SyntaxError{Offset: i, Msg: fmt.Sprintf("unexpected character %q", r)}
		}
		toks = append(toks, token{tokOp, line[i : i+n], i})
		i += n
	}
	return append(toks, token{tokEOF, "", len(line)}), nil
}

func isWordStart(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '.'
}

// isWordByte reports whether c continues a word: '#' may, for the label
// names starlib's local() makes ("skip#3").
func isWordByte(c byte) bool {
	return isWordStart(c) || '0' <= c && c <= '9' || c == '#'
}

// SyntaxError reports instruction text that Parse cannot read.
type SyntaxError struct {
	Offset int // the byte offset in the text of the token at fault
	Msg    string
}

func (e *SyntaxError) Error() string { return e.Msg }

// A form is one shape of instruction text: the printer's text with slots,
// and the instruction it stands for with the slots' fields zero.
type form struct {
	toks []token
	base Instruction
	text string // the form with slots spelled out, for errors and tests
}

// formTable holds every form, grouped by how a line starts (see key).
type formTable struct {
	forms  []*form
	byKey  map[formKey][]*form
	starts []string // the words an instruction can start with, for did-you-mean
}

var forms = sync.OnceValue(makeForms)

// selectors are the values of the fields that choose between variants of
// one opcode; every opcode is printed with each of them, in form mode.
var (
	selectorOffs = []int16{0, 1, 8, 16, 32}
	selectorImms = []int64{0, 16, 32, 64,
		int64(AtomicAdd), int64(AtomicOr), int64(AtomicAnd), int64(AtomicXor),
		int64(AtomicAdd | AtomicFetch), int64(AtomicOr | AtomicFetch), int64(AtomicAnd | AtomicFetch),
		int64(AtomicXor | AtomicFetch), int64(AtomicXchg), int64(AtomicCmpXchg)}
)

func makeForms() *formTable {
	t := &formTable{byKey: make(map[formKey][]*form)}
	seen := make(map[string]*form)
	starts := make(map[string]bool)
	for op := range 256 {
		for _, noALU32 := range []bool{false, true} {
			for _, src := range []Register{0, 1} {
				for _, off := range selectorOffs {
					for _, imm := range selectorImms {
						d := &decoder{op: Opcode(op), dst: 1, src: src, off: off, imm: int32(imm), form: true, noALU32: noALU32}
						d.canon.Op = Opcode(op)
						text := d.text(imm)
						if text == "" || d.bad {
							continue
						}
						base := d.canon
						if d.used&fieldDst != 0 {
							base.Dst = 0
						}
						if d.used&fieldSrc != 0 {
							base.Src = 0
						}
						if d.used&fieldOff != 0 {
							base.Off = 0
						}
						if d.used&fieldImm != 0 {
							base.Imm = 0
						}
						if f, ok := seen[text]; ok {
							if f.base != base {
								panic(fmt.Sprintf("isa: form %q stands for both %+v and %+v", f.text, f.base, base))
							}
							continue
						}
						toks, err := lex(text, true, nil)
						if err != nil {
							panic(fmt.Sprintf("isa: form %q: %v", text, err))
						}
						for i := range toks {
							if toks[i].kind == tokIdent {
								toks[i].pos = formWord
							}
						}
						f := &form{toks: toks, base: base, text: spellSlots(text)}
						seen[text] = f
						t.forms = append(t.forms, f)
						for _, k := range formKeys(toks) {
							t.byKey[k] = append(t.byKey[k], f)
						}
						if toks[0].kind == tokIdent {
							starts[toks[0].text] = true
						}
					}
				}
			}
		}
	}
	for s := range starts {
		t.starts = append(t.starts, s)
	}
	slices.Sort(t.starts)
	return t
}

// slotNames spell the slots in error messages and in Forms.
var slotNames = map[slotKind]string{
	'D': "rD", 'd': "wD", 'S': "rS", 's': "wS", 'K': "IMM", 'O': "OFF",
	'M': "rD + OFF", 'N': "rS + OFF", 'L': "IMM64", 'P': "SRC", 'U': "IMM32",
	'A': "AS", 'B': "AS", 'J': "OFF32", 'C': "IMM",
}

func spellSlots(text string) string {
	var b strings.Builder
	for i := 0; i < len(text); i++ {
		if text[i] == slotMarker {
			i++
			b.WriteString(slotNames[slotKind(text[i])])
			continue
		}
		b.WriteByte(text[i])
	}
	return b.String()
}

// Forms returns every instruction form Parse reads, with its fields
// spelled as placeholders, one per line, in opcode order: "rD = *(u32 *)(rS
// + OFF)" and so on. It is the reference of the syntax, derived from the
// printer.
func Forms() []string {
	t := forms()
	out := make([]string, len(t.forms))
	for i, f := range t.forms {
		out[i] = f.text
	}
	return out
}

// formKey is the key forms are found under: the classes of the first two
// tokens of a line (see firstClass and secondClass) and, after "=" or a
// register, of the third (see thirdClass), which splits the large groups
// ("r1 = ...", "if r1 ...").
type formKey struct{ first, second, third string }

// formKeys are the keys of a form. A number slot is found under a sign
// too: "goto -0x1", "r1 = -0x1".
func formKeys(toks []token) []formKey {
	var keys []formKey
	first := firstClass(toks[0])
	for _, second := range slotClasses(toks[1], secondClass(toks[1])) {
		if !splitByThird(second) {
			keys = append(keys, formKey{first, second, ""})
			continue
		}
		for _, third := range slotClasses(toks[2], thirdClass(toks[2])) {
			keys = append(keys, formKey{first, second, third})
		}
	}
	return keys
}

// slotClasses returns class, and the signs a number slot may start with.
func slotClasses(t token, class string) []string {
	if class == "#" && t.kind == tokSlot {
		return []string{"#", "+", "-"}
	}
	return []string{class}
}

func splitByThird(second string) bool { return second == "=" || second == "r" || second == "w" }

// lineKeys returns the keys of a line of input (of at least three
// tokens): one, or two when the third token is a word, which may be a
// word of the syntax ("le16", "atomic_fetch_add") or a name (under "#").
func lineKeys(toks []token) (formKey, formKey, bool) {
	k := formKey{firstClass(toks[0]), secondClass(toks[1]), ""}
	if !splitByThird(k.second) {
		return k, k, false
	}
	t := toks[2]
	k.third = thirdClass(t)
	if t.kind == tokIdent && k.third == "#" {
		word := k
		word.third = t.text
		return word, k, true
	}
	return k, k, false
}

// thirdClass is "r" or "w" for a register, the operator for an operator,
// the word for a word of a form, and "#" for anything that can fill a
// number slot (a number, a name, the end of the line).
func thirdClass(t token) string {
	if c := regClass(t); c != "" {
		return c
	}
	switch {
	case t.kind == tokOp:
		return t.text
	case t.kind == tokIdent && t.pos == formWord:
		return t.text
	}
	return "#"
}

// formWord marks the words of form text, in place of a position.
const formWord = -1 << 30

// firstClass is "r" or "w" for a register (slot or name), else the token.
func firstClass(t token) string {
	if c := regClass(t); c != "" {
		return c
	}
	return t.text
}

// secondClass is "r" or "w" for a register, the operator for an operator,
// and "#" for anything that can fill a number slot: a number, a name, the
// end of the line.
func secondClass(t token) string {
	if c := regClass(t); c != "" {
		return c
	}
	if t.kind == tokOp {
		return t.text
	}
	return "#"
}

func regClass(t token) string {
	switch t.kind {
	case tokSlot:
		switch slotKind(t.text[0]) {
		case slotDst, slotSrc:
			return "r"
		case slotDst + 'a' - 'A', slotSrc + 'a' - 'A':
			return "w"
		}
	case tokIdent:
		if _, w, ok := register(t.text); ok {
			if w {
				return "w"
			}
			return "r"
		}
	}
	return ""
}

// register reads a register name, r0-r11 or w0-w11 (LLVM knows an r11 the
// kernel does not; Validate rejects it).
func register(s string) (Register, bool, bool) {
	if len(s) < 2 || len(s) > 3 || (s[0] != 'r' && s[0] != 'w') {
		return 0, false, false
	}
	n, err := strconv.Atoi(s[1:])
	if err != nil || n > maxLLVMRegister || s[1] == '0' && len(s) > 2 {
		return 0, false, false
	}
	return Register(n), s[0] == 'w', true
}

// Parsed is an instruction read from text, with the name written where
// the printer puts a number, if any.
type Parsed struct {
	Insn Instruction
	// Name is the name written for a branch offset (a label), a 64-bit
	// immediate (a map or global, plus Addend) or a call number (a helper
	// or a function). The field it replaces is zero in Insn.
	Name   string
	Addend int64
	// NameOffset is the byte offset of Name in the text.
	NameOffset int
}

// Parse reads one instruction in the syntax that [Instruction.String]
// (and llvm-objdump-19 -d --mcpu=v4) prints, such as
//
//	r2 = *(u32 *)(r1 + 0x4c)
//	if r2 > r3 goto +0x2
//	lock *(u64 *)(r0 + 0x0) += r1
//
// Every text String prints parses back to an instruction with the bytes
// of the canonical form of the one printed (String's quirks included: the
// fields LLVM does not decode come back zero). Beyond what String
// prints, Parse accepts:
//
//   - what LLVM prints without the alu32 feature (llvm-objdump-19 without
//     --mcpu=v3 or v4): the 64-bit register in 8-, 16- and 32-bit loads
//     and stores, "r2 = *(u32 *)(r1 + 0x4)", "*(u8 *)(r10 - 0x1) = r1";
//   - spaces and tabs anywhere between tokens, or none where tokens do
//     not run together ("r1=*(u32*)(r2+4)");
//   - decimal numbers as well as hexadecimal ones, and any value of the
//     field's range (an unsigned 32-bit immediate up to 0xffffffff);
//   - objdump's jump annotation after a branch offset ("goto +0x1
//     <LBB0_2>"), which is ignored;
//   - a name in place of a number in three places, returned in
//     [Parsed.Name]: a branch offset (a label: "goto out"), a 64-bit
//     immediate (a symbol, with an optional addend: "r1 = counts ll",
//     "r1 = data + 8 ll") and a call number (a helper or function:
//     "call bpf_map_lookup_elem").
//
// Errors are *SyntaxError values naming the offending token.
func Parse(text string) (Parsed, error) {
	var buf [24]token
	toks, err := lex(text, false, buf[:0])
	if err != nil {
		return Parsed{}, err
	}
	if toks[0].kind == tokEOF {
		return Parsed{}, &SyntaxError{Msg: "expected an instruction"}
	}
	t := forms()
	if len(toks) < 2 {
		return Parsed{}, &SyntaxError{Msg: "expected an instruction"}
	}
	if len(toks) < 3 {
		toks = append(toks, toks[len(toks)-1])
	}
	k1, k2, two := lineKeys(toks)
	cands := t.byKey[k1]
	if two {
		cands = append(cands[:len(cands):len(cands)], t.byKey[k2]...)
	}
	best := none
	for _, f := range cands {
		p, fail := f.match(toks)
		if !fail.failed() {
			return p, nil
		}
		if fail.at > best.at || fail.at == best.at && fail.msg != "" && best.msg == "" {
			best = fail
		}
	}
	if !best.failed() {
		return Parsed{}, t.unknownStart(toks)
	}
	tok := toks[best.at]
	if best.msg != "" {
		return Parsed{}, &SyntaxError{Offset: tok.pos, Msg: best.msg}
	}
	// Say what every form that got as far wanted.
	var wants []string
	for _, f := range cands {
		if _, fail := f.match(toks); fail.at == best.at {
			wants = append(wants, fail.wanted())
		}
	}
	return Parsed{}, &SyntaxError{Offset: tok.pos, Msg: fmt.Sprintf("unexpected %s, expected %s", describe(tok), listWants(wants))}
}

// unknownStart explains a line whose first two tokens start no form.
func (t *formTable) unknownStart(toks []token) error {
	first := toks[0]
	if first.kind == tokIdent {
		if _, _, ok := register(first.text); ok {
			return &SyntaxError{Offset: toks[1].pos, Msg: fmt.Sprintf("unexpected %s after a register, expected an assignment or an operation such as = or +=", describe(toks[1]))}
		}
		if slices.Contains(t.starts, first.text) {
			return &SyntaxError{Offset: toks[1].pos, Msg: fmt.Sprintf("unexpected %s after %q", describe(toks[1]), first.text)}
		}
		if len(first.text) > 1 && (first.text[0] == 'r' || first.text[0] == 'w') && strings.Trim(first.text[1:], "0123456789") == "" {
			return &SyntaxError{Offset: first.pos, Msg: fmt.Sprintf("no register %s (r0-r10, w0-w10)", first.text)}
		}
		msg := fmt.Sprintf("unknown instruction %q", first.text)
		if s := nearestWord(first.text, t.starts); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return &SyntaxError{Offset: first.pos, Msg: msg}
	}
	if first.text == "*" || first.text == "if" {
		return &SyntaxError{Offset: toks[1].pos, Msg: fmt.Sprintf("unexpected %s", describe(toks[1]))}
	}
	return &SyntaxError{Offset: first.pos, Msg: fmt.Sprintf("unexpected %s at the start of an instruction", describe(first))}
}

// nearestWord returns the word of words nearest to w by edit distance (at
// most a third of its length away), or "".
func nearestWord(w string, words []string) string {
	best, bestD := "", len(w)/3+1
	for _, c := range words {
		if d := spell.Distance(w, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func describe(t token) string {
	if t.kind == tokEOF {
		return "end of line"
	}
	return strconv.Quote(t.text)
}

func listWants(w []string) string {
	slices.Sort(w)
	w = slices.Compact(w)
	if len(w) > 8 {
		w = append(w[:8], "...")
	}
	if len(w) == 1 {
		return w[0]
	}
	return "one of " + strings.Join(w, ", ")
}

// matchFailure is why a form did not match: at token index at, it wanted
// want, or (msg) the tokens had the form's shape but a value was wrong (a
// number out of range, two registers that must be the same).
type matchFailure struct {
	at   int    // -1: no failure
	want string // what the form wanted at token at
	lit  bool   // want is the text of a token, to be quoted
	msg  string
}

// none is the absence of a failure.
var none = matchFailure{at: -1}

func (f matchFailure) failed() bool { return f.at >= 0 }

// wanted describes what the form wanted.
func (f matchFailure) wanted() string {
	if f.lit {
		return strconv.Quote(f.want)
	}
	return f.want
}

func miss(at int, want string) matchFailure { return matchFailure{at: at, want: want} }

// match matches the tokens of a line against f.
func (f *form) match(toks []token) (Parsed, matchFailure) {
	p := Parsed{Insn: f.base}
	var set field // the register fields set so far, for repeated slots
	i := 0
	for _, ft := range f.toks {
		if ft.kind == tokEOF {
			if toks[i].kind != tokEOF {
				return p, miss(i, "end of line")
			}
			return p, none
		}
		if ft.kind != tokSlot {
			if toks[i].kind == tokEOF || toks[i].text != ft.text {
				return p, matchFailure{at: i, want: ft.text, lit: true}
			}
			i++
			continue
		}
		var fail matchFailure
		i, fail = p.slot(slotKind(ft.text[0]), toks, i, &set)
		if fail.failed() {
			return p, fail
		}
	}
	return p, none
}

// slot reads the value of a slot of kind k at toks[i] into p, and returns
// the index of the token after it.
func (p *Parsed) slot(k slotKind, toks []token, i int, set *field) (int, matchFailure) {
	switch k {
	case slotDst, slotDst + 'a' - 'A', slotSrc, slotSrc + 'a' - 'A':
		w := k >= 'a'
		r, fail := readRegister(toks, i, w)
		if fail.failed() {
			return i, fail
		}
		f, reg := fieldDst, &p.Insn.Dst
		if k == slotSrc || k == slotSrc+'a'-'A' {
			f, reg = fieldSrc, &p.Insn.Src
		}
		if *set&f != 0 && *reg != r {
			return i, failAt(i, "%s must be the same register as the first operand, %s", toks[i].text, regName(*reg, w))
		}
		*set |= f
		*reg = r
		return i + 1, none
	case slotMemDst, slotMemSrc:
		r, fail := readRegister(toks, i, false)
		if fail.failed() {
			return i, fail
		}
		if k == slotMemDst {
			p.Insn.Dst, *set = r, *set|fieldDst
		} else {
			p.Insn.Src, *set = r, *set|fieldSrc
		}
		i++
		if toks[i].text != "+" && toks[i].text != "-" {
			return i, miss(i, `"+" or "-" and an offset`)
		}
		v, j, fail := readIn(toks, i, math.MinInt16, math.MaxInt16, "a signed 16-bit offset")
		if fail.failed() {
			return i, fail
		}
		p.Insn.Off = int16(v)
		return j, none
	case slotOff, slotLongOff:
		if toks[i].kind == tokIdent {
			if _, _, isReg := register(toks[i].text); !isReg {
				p.Name, p.NameOffset = toks[i].text, toks[i].pos
				return i + 1, none
			}
		}
		var v int64
		var j int
		var fail matchFailure
		if k == slotOff {
			v, j, fail = readIn(toks, i, math.MinInt16, math.MaxInt16, "a signed 16-bit jump offset (gotol takes 32 bits)")
			p.Insn.Off = int16(v)
		} else {
			v, j, fail = readIn(toks, i, math.MinInt32, math.MaxInt32, "a signed 32-bit jump offset")
			p.Insn.Imm = v
		}
		if fail.failed() {
			if fail.msg == "" {
				fail.want = "a label or an offset such as +0x2"
			}
			return i, fail
		}
		// objdump's annotation: " <LBB0_2>", " <prog+0x18>".
		if toks[j].text == "<" {
			for toks[j].kind != tokEOF && toks[j].text != ">" {
				j++
			}
			if toks[j].kind == tokEOF {
				return j, miss(j, `">"`)
			}
			j++
		}
		return j, none
	case slotImm64:
		if toks[i].kind == tokIdent {
			if _, _, isReg := register(toks[i].text); !isReg {
				p.Name, p.NameOffset = toks[i].text, toks[i].pos
				i++
				if toks[i].text == "+" || toks[i].text == "-" {
					v, j, fail := readIn(toks, i, math.MinInt32, math.MaxInt32, "a signed 32-bit addend")
					if fail.failed() {
						return i, fail
					}
					p.Addend = v
					i = j
				}
				return i, none
			}
		}
		v, j, fail := readIn(toks, i, math.MinInt64, math.MaxUint64, "a 64-bit immediate")
		if fail.failed() {
			if fail.msg == "" {
				fail.want = "a number or a map or global name"
			}
			return i, fail
		}
		p.Insn.Imm = v
		return j, none
	case slotCall:
		if toks[i].kind == tokIdent {
			if _, _, isReg := register(toks[i].text); !isReg {
				p.Name, p.NameOffset = toks[i].text, toks[i].pos
				return i + 1, none
			}
		}
		v, j, fail := readIn(toks, i, math.MinInt32, math.MaxUint32, "a 32-bit immediate")
		if fail.failed() {
			if fail.msg == "" {
				fail.want = "a helper or function name or number"
			}
			return i, fail
		}
		p.Insn.Imm = int64(int32(v))
		return j, none
	case slotImm:
		v, j, fail := readIn(toks, i, math.MinInt32, math.MaxUint32, "a 32-bit immediate")
		if fail.failed() {
			return i, fail
		}
		p.Insn.Imm = int64(int32(v))
		return j, none
	case slotLow32:
		v, j, fail := readIn(toks, i, math.MinInt32, math.MaxUint32, "32 bits")
		if fail.failed() {
			return i, fail
		}
		p.Insn.Imm = int64(uint32(v))
		return j, none
	case slotPseudo:
		v, j, fail := readIn(toks, i, 0, 15, "a source register field (0-15)")
		if fail.failed() {
			return i, fail
		}
		p.Insn.Src = Register(v)
		return j, none
	case slotSpaceHigh, slotSpaceLow:
		v, j, fail := readIn(toks, i, 0, 0xffff, "an address space (0-0xffff)")
		if fail.failed() {
			return i, fail
		}
		imm := uint32(p.Insn.Imm)
		if k == slotSpaceHigh {
			imm = imm&0xffff | uint32(v)<<16
		} else {
			imm = imm&^0xffff | uint32(v)
		}
		p.Insn.Imm = int64(int32(imm))
		return j, none
	}
	panic("isa: unknown slot kind " + string(rune(k)))
}

func regName(r Register, w bool) string {
	if w {
		return r.W()
	}
	return r.String()
}

func readRegister(toks []token, i int, w bool) (Register, matchFailure) {
	want := "a register (r0-r10)"
	if w {
		want = "a 32-bit register (w0-w10)"
	}
	if toks[i].kind != tokIdent {
		return 0, miss(i, want)
	}
	r, isW, ok := register(toks[i].text)
	if !ok || isW != w {
		return 0, miss(i, want)
	}
	return r, none
}

// number is a number as written: a magnitude and a sign.
type number struct {
	mag uint64
	neg bool
}

// in reports whether n lies in [lo, hi], hi taken as unsigned.
func (n number) in(lo int64, hi uint64) bool {
	if n.neg {
		return lo < 0 && n.mag <= uint64(-(lo+1))+1
	}
	return n.mag <= hi
}

// value returns n's bits as an int64 (an unsigned magnitude above
// MaxInt64 keeps its bits).
func (n number) value() int64 {
	if n.neg {
		return -int64(n.mag)
	}
	return int64(n.mag)
}

// readNumber reads a number with an optional sign at toks[i], and returns
// the index of the token after it.
func readNumber(toks []token, i int) (number, int, matchFailure) {
	var n number
	start := i
	if toks[i].text == "+" || toks[i].text == "-" {
		n.neg = toks[i].text == "-"
		i++
	}
	if toks[i].kind != tokNum {
		return n, start, miss(i, "a number")
	}
	u, err := strconv.ParseUint(toks[i].text, 0, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return n, start, failAt(start, "number %s does not fit in 64 bits", numberText(toks, start))
		}
		return n, start, failAt(i, "bad number %q", toks[i].text)
	}
	n.mag = u
	if n.neg && u == 0 {
		n.neg = false
	}
	return n, i + 1, none
}

// readIn reads a number that must lie in [lo, hi] (hi taken as unsigned);
// what names the field in the error.
func readIn(toks []token, i int, lo int64, hi uint64, what string) (int64, int, matchFailure) {
	n, j, fail := readNumber(toks, i)
	if fail.failed() {
		return 0, i, fail
	}
	if !n.in(lo, hi) {
		return 0, i, failAt(j-1, "%s does not fit in %s", numberText(toks, i), what)
	}
	return n.value(), j, none
}

func numberText(toks []token, i int) string {
	if toks[i].kind == tokOp {
		return toks[i].text + toks[i+1].text
	}
	return toks[i].text
}

// failAt is a failure with a message of its own: the tokens so far had the
// form's shape, but a value does not fit.
func failAt(i int, format string, args ...any) matchFailure {
	return matchFailure{at: i, msg: fmt.Sprintf(format, args...)}
}
