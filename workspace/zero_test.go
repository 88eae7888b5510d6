package workspace

import (
	"os"
	"strings"
	"testing"
)

// A Workspace without a root (the zero Workspace, or the nil one Find
// returns outside a workspace) fails every method that can fail, writes
// nothing, and panics nowhere.
func TestNoRoot(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	targets := []*Target{{Label: Label{"p", "t"}, Src: "p/t.star"}}
	results := []*Result{{Target: targets[0], Output: targets[0].Label.Output()}}
	for name, w := range map[string]*Workspace{"zero": {}, "nil": nil} {
		isNoRoot := func(what string, err error) {
			t.Helper()
			if err == nil || !strings.Contains(err.Error(), "no workspace") {
				t.Errorf("%s Workspace: %s: %v, want a no-workspace error", name, what, err)
			}
		}
		_, err := w.Rel(".")
		isNoRoot("Rel", err)
		_, err = w.CwdPackage()
		isNoRoot("CwdPackage", err)
		_, _, err = w.Targets([]string{"//p:t"}, "", Options{})
		isNoRoot("Targets", err)
		rs := w.Build(targets, Options{})
		if len(rs) != 1 || rs[0].Target != targets[0] || rs[0].Output != "bpfstar-out/bin/p/t.o" {
			t.Errorf("%s Workspace: Build: %+v", name, rs)
		} else {
			isNoRoot("Build", rs[0].Err)
		}
		isNoRoot("WriteManifest", w.WriteManifest(results))
		_, err = w.ReadLock()
		isNoRoot("ReadLock", err)
		isNoRoot("UpdateLock", w.UpdateLock(results, nil))
		_, err = w.CheckLock(results, nil)
		isNoRoot("CheckLock", err)
		if got := w.Abs("a/b"); got != "a/b" {
			t.Errorf("%s Workspace: Abs(a/b) = %q, want a/b", name, got)
		}
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
		t.Errorf("a workspace without a root wrote into the current directory: %v %v", entries, err)
	}
}

// The zero values of the other types, and results without a target, make
// sensible answers rather than panics.
func TestZeroValues(t *testing.T) {
	var l Label
	if l.String() != "//:" || l.Output() != "bpfstar-out/bin/.o" {
		t.Errorf("zero Label: %q, %q", l.String(), l.Output())
	}
	var p Pattern
	if p.String() != "//:" || !p.Matches(Label{}) || p.Matches(Label{"a", "b"}) {
		t.Errorf("zero Pattern: %q matches //: %v, //a:b %v", p.String(), p.Matches(Label{}), p.Matches(Label{"a", "b"}))
	}

	results := []*Result{nil, {}, {Err: os.ErrNotExist}, {Cached: true}}
	if got, want := Summary(results), "3 targets: 1 failed ((no target)), 1 built, 1 up to date"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if got := Failed(results); len(got) != 1 || got[0] != results[2] {
		t.Errorf("Failed = %v", got)
	}
	if got, want := Summary(nil), "0 targets: 0 built, 0 up to date"; got != want {
		t.Errorf("Summary(nil) = %q, want %q", got, want)
	}

	w := &Workspace{Root: t.TempDir()}
	for _, rs := range [][]*Result{{nil}, {{}}} {
		if err := w.WriteManifest(rs); err == nil || !strings.Contains(err.Error(), "has no target") {
			t.Errorf("WriteManifest(%v): %v", rs, err)
		}
		if err := w.UpdateLock(rs, nil); err == nil || !strings.Contains(err.Error(), "has no target") {
			t.Errorf("UpdateLock(%v): %v", rs, err)
		}
		if _, err := w.CheckLock(rs, nil); err == nil || !strings.Contains(err.Error(), "has no target") {
			t.Errorf("CheckLock(%v): %v", rs, err)
		}
	}
	if lock, err := w.ReadLock(); err != nil || len(lock) != 0 {
		t.Errorf("ReadLock of an empty workspace: %v, %v", lock, err)
	}
}
