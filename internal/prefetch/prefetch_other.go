//go:build !amd64

package prefetch

import "unsafe"

// sink keeps the loads of lines from being optimised away.
var sink byte

// lines loads one byte of each non-nil pointer's line.
func lines(ps *unsafe.Pointer, n int) {
	var s byte
	for _, p := range unsafe.Slice(ps, n) {
		if p != nil {
			s += *(*byte)(p)
		}
	}
	sink += s
}
