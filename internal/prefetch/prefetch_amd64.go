package prefetch

import "unsafe"

// lines issues PREFETCHT0 for each of the n pointers at ps.
//
//go:noescape
func lines(ps *unsafe.Pointer, n int)
