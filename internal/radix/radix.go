// Package radix sorts unsigned integers with a least-significant-digit
// radix sort that skips the bytes every value shares.
//
// Values built from a few fields (an address and a small id, a port and a
// protocol) share most of their bytes; each byte that is not the same in
// every value costs one linear pass, so such values sort in a few passes
// instead of n log n comparisons.
package radix

// Uint64s sorts xs in increasing order, using buf (at least len(xs)
// long) as scratch, and returns the sorted slice: xs or buf[:len(xs)].
func Uint64s(xs, buf []uint64) []uint64 {
	if len(xs) < 2 {
		return xs
	}
	buf = buf[:len(xs)]
	var count [8][256]uint32
	for _, x := range xs {
		for d := range 8 {
			count[d][uint8(x>>(8*d))]++
		}
	}
	n := uint32(len(xs))
	for d := range 8 {
		c := &count[d]
		shift := uint(8 * d)
		if c[uint8(xs[0]>>shift)] == n {
			continue // every value has this byte
		}
		var sum uint32
		for b := range c {
			c[b], sum = sum, sum+c[b]
		}
		for _, x := range xs {
			b := uint8(x >> shift)
			buf[c[b]] = x
			c[b]++
		}
		xs, buf = buf, xs
	}
	return xs
}
