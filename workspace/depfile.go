package workspace

import (
	"strings"
)

// Depfile returns a Make-style dependency file saying that target depends
// on deps, as `gcc -MD -MP` writes them: one rule for the target, then an
// empty rule for each dependency, so that Make does not fail when a loaded
// file is deleted. Make and Ninja (deps = gcc) read it.
func Depfile(target string, deps []string) []byte {
	var b strings.Builder
	b.WriteString(escapeMake(target))
	b.WriteString(":")
	for _, d := range deps {
		b.WriteString(" \\\n  ")
		b.WriteString(escapeMake(d))
	}
	b.WriteString("\n")
	for _, d := range deps[min(1, len(deps)):] {
		b.WriteString("\n")
		b.WriteString(escapeMake(d))
		b.WriteString(":\n")
	}
	return []byte(b.String())
}

// escapeMake escapes a file name for a Make rule the way GCC does: spaces
// and # with a backslash (doubling the backslashes before a space), $ as
// $$.
func escapeMake(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case ' ', '\t':
			for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
				b.WriteByte('\\')
			}
			b.WriteByte('\\')
			b.WriteByte(c)
		case '#':
			b.WriteString("\\#")
		case '$':
			b.WriteString("$$")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
