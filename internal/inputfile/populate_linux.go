package inputfile

import "syscall"

// populateMin is the size from which a buffer's pages are faulted in by one
// madvise call before the file is read into it (see populate).
const populateMin = 1 << 20

// madvPopulateWrite is MADV_POPULATE_WRITE (Linux 5.14).
const madvPopulateWrite = 23

// populate faults in the pages of a fresh buffer b all at once, before
// the file is read into it. Reading a large file into fresh memory
// otherwise takes one page fault per 4 KiB page as the kernel copies into
// it: 1,347 for a 5.5 MB vmlinux BTF file, each a trap into the kernel and
// out (about 3 µs each on the machine of docs/perf.md, in a VM). One
// madvise call allocates the same pages without the traps. A kernel that
// does not know the advice refuses it (EINVAL), and the read then faults
// the pages in as before: the call only changes how fast the read is.
func populate(b []byte) {
	if len(b) >= populateMin {
		syscall.Madvise(b, madvPopulateWrite)
	}
}
