package inputfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/bpfstar/bpfstar/internal/golden" // -update
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	ok := filepath.Join(dir, "ok.star")
	os.WriteFile(ok, []byte("x = 1\n"), 0o644)
	if data, err := Read(ok); err != nil || string(data) != "x = 1\n" {
		t.Errorf("Read(ok) = %q, %v", data, err)
	}
	fifo := filepath.Join(dir, "fifo.star")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.star")
	os.Symlink("/dev/zero", zero)
	big := filepath.Join(dir, "big.star")
	f, _ := os.Create(big)
	f.Truncate(MaxSize + 1) // sparse
	f.Close()
	for _, tc := range []struct{ path, want string }{
		{fifo, "fifo.star: is a named pipe, not a regular file"},
		{zero, "zero.star: is a character device, not a regular file"},
		{dir, ": is a directory"},
		{big, "big.star: larger than 256 MiB"},
		{filepath.Join(dir, "none.star"), "none.star: no such file or directory"},
	} {
		done := make(chan error, 1)
		go func() { _, err := Read(tc.path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("Read(%s): %v, want ...%s", tc.path, err, tc.want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Read(%s) hangs", tc.path)
		}
	}
}

// TestReadLarge: a file of populateMin bytes and more, whose buffer is
// faulted in in one call before the read (populate), reads back whole
// and unchanged, as does one just under it.
func TestReadLarge(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{populateMin - 1, populateMin, 5<<20 + 12345} {
		want := make([]byte, size)
		for i := range want {
			want[i] = byte(i*7 + i>>12)
		}
		path := filepath.Join(dir, "big.btf")
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("size %d: read %d bytes, not the file's", size, len(got))
		}
	}
}
