//go:build !linux

package testrun

import "errors"

// onOneCPU needs Linux's CPU affinity; elsewhere there is no kernel to
// run programs in anyway (the interpreter runs them: --engine vm).
func onOneCPU(run func()) (int, error) {
	return -1, errors.New("running on one CPU needs Linux")
}
