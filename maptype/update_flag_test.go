package maptype_test

// -update is defined for every test package, so go test ./... -update works.

import _ "github.com/bpfstar/bpfstar/internal/golden"
