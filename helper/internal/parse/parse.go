// Package parse reads the helper declarations of libbpf's bpf_helper_defs.h,
// lines of the form
//
//	static long (*bpf_map_update_elem)(void *map, ...) = (void *) 2;
package parse

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Helper is one parsed declaration.
type Helper struct {
	Name  string
	ID    int32
	Proto string
}

var decl = regexp.MustCompile(`^static (.*?)\(\*(bpf_\w+)\)\((.*)\) = \(void \*\) (\d+);$`)

// Header parses the header text and returns the helpers ordered by number.
func Header(src []byte) ([]Helper, error) {
	var out []Helper
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		m := decl.FindStringSubmatch(strings.TrimSpace(sc.Text()))
		if m == nil {
			continue
		}
		id, err := strconv.ParseInt(m[4], 10, 32)
		if err != nil {
			return nil, err
		}
		ret := strings.TrimSpace(m[1])
		sep := " "
		if strings.HasSuffix(ret, "*") {
			sep = ""
		}
		out = append(out, Helper{Name: m[2], ID: int32(id), Proto: ret + sep + m[2] + "(" + m[3] + ")"})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no helper declarations found")
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}
