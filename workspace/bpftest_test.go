package workspace

import (
	"strings"
	"testing"
)

// bpf_test declares test targets: kept apart from bpf_object's, in the
// same namespace of names.
func TestBPFTestTargets(t *testing.T) {
	decls, err := evalBuildFile("BUILD.star", []byte(`bpf_object(name = "p", src = "p.star")
bpf_test(name = "p_test", src = "p_test.star")
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(decls) != 2 || decls[0].Test || !decls[1].Test || decls[1].Src != "p_test.star" {
		t.Errorf("declared %+v", decls)
	}
	for src, want := range map[string]string{
		"bpf_object(name = \"p\", src = \"p.star\")\nbpf_test(name = \"p\", src = \"p_test.star\")\n": `BUILD.star:2:9: bpf_test: duplicate target name "p" (first declared at BUILD.star:1:11)`,
		"bpf_test(name = \"t\", src = \"BUILD.star\")\n":                                              `bpf_test "t": src "BUILD.star": want a program file`,
		"bpf_test(\"t\", \"t.star\")\n":                                                               `bpf_test: takes keyword arguments only`,
	} {
		_, err := evalBuildFile("BUILD.star", []byte(src), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want %s", src, err, want)
		}
	}
}
