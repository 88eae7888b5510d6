package format

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/bpfstar/bpfstar/internal/golden" // -update
	"github.com/bpfstar/bpfstar/internal/testenv"
)

func TestSource(t *testing.T) {
	for _, tc := range []struct{ file, in, want string }{
		// Programs and libraries are formatted as .bzl files.
		{"prog.star", "x=[insn.mov64_imm(r0,1),exit()]\n", "x = [insn.mov64_imm(r0, 1), exit()]\n"},
		// BUILD.star files as BUILD files: one argument per line.
		{"BUILD.star", "bpf_object(name='p',src='p.star')\n", "bpf_object(\n    name = \"p\",\n    src = \"p.star\",\n)\n"},
	} {
		got, err := Source(tc.file, []byte(tc.in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.want {
			t.Errorf("Source(%s, %q) = %q, want %q", tc.file, tc.in, got, tc.want)
		}
	}
	if _, err := Source("bad.star", []byte("x = [1, ?]\n")); err == nil || err.Error() != "bad.star:1:9: unexpected input character '?'" {
		t.Errorf("syntax error: %v", err)
	}
}

// File rewrites in place and keeps the permissions; check only reports.
func TestFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "p.star")
	if err := os.WriteFile(p, []byte("x=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, err := File(p, true); err != nil || !changed {
		t.Fatalf("check: %v %v", changed, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "x=1\n" {
		t.Fatalf("check wrote %q", b)
	}
	if changed, err := File(p, false); err != nil || !changed {
		t.Fatalf("format: %v %v", changed, err)
	}
	b, _ := os.ReadFile(p)
	fi, _ := os.Stat(p)
	if string(b) != "x = 1\n" || fi.Mode().Perm() != 0o600 {
		t.Errorf("after format: %q %v", b, fi.Mode())
	}
	if changed, err := File(p, true); err != nil || changed {
		t.Errorf("formatted file reported as changed: %v", err)
	}
}

// Formatting never changes what a file builds: loads stay where they are
// and in their order (a library's top-level declarations run at its load),
// and string lists in programs are not sorted.
func TestSourceKeepsOrder(t *testing.T) {
	in := "m = bpf_map(\"m\", \"array\", 4, 8, 1)\n\nload(\"//lib:b.star\", \"b\")\nload(\"//lib:a.star\", \"a\")\n\nnames = [\"z\", \"a\"]\n"
	got, err := Source("prog.star", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != in {
		t.Errorf("Source reordered the file:\n%s\nwant\n%s", got, in)
	}
}

// A symbolic link stays a link: the file it points to is formatted.
func TestFileThroughSymlink(t *testing.T) {
	dir := t.TempDir()
	real, link := filepath.Join(dir, "real.star"), filepath.Join(dir, "link.star")
	if err := os.WriteFile(real, []byte("x=1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("real.star", link); err != nil {
		t.Fatal(err)
	}
	if _, err := File(link, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("link.star is no longer a symbolic link: %v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(real); string(b) != "x = 1\n" {
		t.Errorf("real.star = %q", b)
	}
}

// What is too deep to format is refused at once with its position: an
// operator chain past MaxNesting (buildifier's printer is quadratic in
// it: 40k terms took 40 s) and parentheses nested past what the Starlark
// parser takes (a million made buildifier's parser overflow its stack).
func TestTooDeep(t *testing.T) {
	for _, tc := range []struct{ src, want string }{
		{"x = " + strings.Repeat("1+", MaxNesting+5) + "1\n", "p.star:1:5: expressions and statements nested more than 2000 deep"},
		{"x = " + strings.Repeat("(", 1_000_000) + "1" + strings.Repeat(")", 1_000_000) + "\n", "p.star:1:"},
	} {
		start := time.Now()
		_, err := Source("p.star", []byte(tc.src))
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("got %v, want %s...", err, tc.want)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
	}
	// Just within the limit, it formats.
	if _, err := Source("p.star", []byte("x = "+strings.Repeat("1+", MaxNesting-5)+"1\n")); err != nil {
		t.Error(err)
	}
}

// Formatting keeps a file's owner and its other hard links.
func TestFileKeepsOwnerAndLinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "p.star")
	os.WriteFile(p, []byte("x=1\n"), 0o640)
	other := filepath.Join(dir, "other.star")
	if err := os.Link(p, other); err != nil {
		t.Fatal(err)
	}
	if changed, err := File(p, false); err != nil || !changed {
		t.Fatalf("File: %v, %v", changed, err)
	}
	if data, _ := os.ReadFile(other); string(data) != "x = 1\n" {
		t.Errorf("the other link reads %q", data)
	}
	if os.Geteuid() != 0 {
		testenv.Missing(t, "the owner part needs root, to give a file another owner")
	}
	q := filepath.Join(dir, "q.star")
	os.WriteFile(q, []byte("y=2\n"), 0o644)
	if err := os.Chown(q, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if _, err := File(q, false); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(q)
	if st := fi.Sys().(*syscall.Stat_t); st.Uid != 65534 || st.Gid != 65534 {
		t.Errorf("owner %d:%d after fmt, want 65534:65534", st.Uid, st.Gid)
	}
	if data, _ := os.ReadFile(q); string(data) != "y = 2\n" {
		t.Errorf("q.star reads %q", data)
	}
}

// Bytes literals with escapes past 0x7f, which buildifier's parser
// refuses, are formatted around and kept as written.
func TestBytesLiterals(t *testing.T) {
	src := "x=b\"\\xff\"\ny = [b\"a\",  b\"\\x80\\x00\" if True else b\"\\xfe\"]\n"
	want := "x = b\"\\xff\"\ny = [b\"a\", b\"\\x80\\x00\" if True else b\"\\xfe\"]\n"
	got, err := Source("p.star", []byte(src))
	if err != nil || string(got) != want {
		t.Errorf("got %q, %v\nwant %q", got, err, want)
	}
}
