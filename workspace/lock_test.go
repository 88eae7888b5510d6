package workspace

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockWorkspace makes an empty workspace in a temporary directory.
func lockWorkspace(t *testing.T) *Workspace {
	t.Helper()
	root := t.TempDir()
	writeTree(t, root, map[string]string{MarkerFile: ""})
	w, err := Find(root)
	if err != nil || w == nil {
		t.Fatalf("Find: %v, %v", w, err)
	}
	return w
}

// A line of any length is read, or refused with its line number: a line
// longer than bufio.Scanner's 64 KiB once ended the read silently, and
// the next --lock dropped every entry after it.
func TestReadLockLongLine(t *testing.T) {
	w := lockWorkspace(t)
	sum := strings.Repeat("ab", 32)
	text := "# " + strings.Repeat("x", 100_000) + "\n//a:p " + sum + "\n"
	if err := os.WriteFile(w.Abs(LockFile), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	lock, err := w.ReadLock()
	if err != nil || lock["//a:p"] != sum {
		t.Fatalf("ReadLock = %v, %v; want //a:p after the long line", lock, err)
	}
	text = "//a:p " + sum + strings.Repeat("0", 100_000) + "\n"
	os.WriteFile(w.Abs(LockFile), []byte(text), 0o644)
	if _, err := w.ReadLock(); err == nil || !strings.HasPrefix(err.Error(), LockFile+":1: want LABEL SHA256") {
		t.Errorf("a long bad line: %v", err)
	}
}

// Two lock updates at once, on patterns that select different targets,
// keep both sides' entries (they once lost one side's in 45 of 150 runs).
func TestUpdateLockConcurrent(t *testing.T) {
	w := lockWorkspace(t)
	update := func(pkg string, round int) error {
		p, err := ParsePattern("//"+pkg+":all", "")
		if err != nil {
			return err
		}
		var rs []*Result
		for i := 0; i < 5; i++ {
			rs = append(rs, &Result{Target: &Target{Label: Label{pkg, fmt.Sprintf("t%d", i)}}, SHA256: fmt.Sprintf("%064x", round*10+i)})
		}
		return w.UpdateLock(rs, []Pattern{p})
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for _, pkg := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 40; round++ {
				if err := update(pkg, round); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	lock, err := w.ReadLock()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"a", "b"} {
		for i := 0; i < 5; i++ {
			if got, want := lock[fmt.Sprintf("//%s:t%d", pkg, i)], fmt.Sprintf("%064x", 39*10+i); got != want {
				t.Errorf("//%s:t%d = %q, want %q", pkg, i, got, want)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(w.Root, OutDir, "lock.flock")); err != nil {
		t.Error(err)
	}
}

// UpdateLock waits while another holds the lock on bpfstar-out/lock.flock
// (another `bpfstar build --lock`), and goes on once it is released.
func TestUpdateLockWaits(t *testing.T) {
	w := lockWorkspace(t)
	os.MkdirAll(filepath.Join(w.Root, OutDir), 0o755)
	unlock, err := lockExclusive(filepath.Join(w.Root, OutDir, "lock.flock"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		done <- w.UpdateLock([]*Result{{Target: &Target{Label: Label{"a", "p"}}, SHA256: strings.Repeat("0", 64)}}, nil)
	}()
	select {
	case err := <-done:
		t.Fatalf("UpdateLock did not wait for the lock: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if lock, err := w.ReadLock(); err != nil || len(lock) != 1 {
		t.Errorf("lock after the wait: %v, %v", lock, err)
	}
}
