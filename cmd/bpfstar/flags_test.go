package main

import "github.com/bpfstar/bpfstar/internal/golden"

// update rewrites the expected output of the txtar scripts (-update).
var update = golden.Update
