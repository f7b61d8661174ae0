package window

// sortKey is an entry's key in a form that sorts as CompareKeys: src and
// dst are sortable addresses (see prepare), lo the port, protocol and
// application rank.
type sortKey struct {
	src, dst uint64
	lo, id   uint32
}

// sortKeyDigits are the byte positions of a sortKey, least significant
// first: lo's 4 bytes, then dst's and src's low 5 (sortable addresses
// have 34 bits).
const sortKeyDigits = 4 + 5 + 5

func (k *sortKey) digit(d int) uint8 {
	switch {
	case d < 4:
		return uint8(k.lo >> (8 * d))
	case d < 9:
		return uint8(k.dst >> (8 * (d - 4)))
	}
	return uint8(k.src >> (8 * (d - 9)))
}

// radixSort sorts ks by (src, dst, lo) with a least-significant-digit
// radix sort: one pass counts every digit's bytes, then each digit whose
// bytes are not all equal costs one scatter into buf (len(ks)), so keys
// that share most of their bytes (one destination port, one address
// block) sort in a few linear passes instead of n log n comparisons. It
// returns the sorted slice, which is ks or buf.
func radixSort(ks, buf []sortKey) []sortKey {
	if len(ks) < 2 {
		return ks
	}
	var count [sortKeyDigits][256]uint32
	for i := range ks {
		k := &ks[i]
		for d := range sortKeyDigits {
			count[d][k.digit(d)]++
		}
	}
	n := uint32(len(ks))
	for d := range sortKeyDigits {
		c := &count[d]
		if c[ks[0].digit(d)] == n {
			continue // every key has this byte
		}
		var sum uint32
		for b := range c {
			c[b], sum = sum, sum+c[b]
		}
		for i := range ks {
			b := ks[i].digit(d)
			buf[c[b]] = ks[i]
			c[b]++
		}
		ks, buf = buf, ks
	}
	return ks
}
