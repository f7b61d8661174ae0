package uniq

import (
	"math"
	"math/bits"
	"slices"
	"sync"
)

// ExactLimit is the number of distinct values a Counter counts exactly.
// The first Add of a distinct value beyond it turns the counter into a
// HyperLogLog sketch.
const ExactLimit = 64

const (
	inlineCap = 8 // exact values held inside the Counter itself

	precision = 14             // p: register index bits
	numRegs   = 1 << precision // m: number of registers
	rankBits  = 64 - precision // q: hash bits left for the rank
	maxRank   = rankBits + 1   // largest register value (51)
)

// registers is the dense HyperLogLog state: one byte per register, each
// holding the largest rank (leading zeros + 1 of the low q bits) seen for
// the hashes whose top p bits select it.
type registers [numRegs]uint8

// Counter counts distinct 64-bit hashes: exactly up to ExactLimit distinct
// values, then with a HyperLogLog estimate (precision 14, relative standard
// error about 0.8%). The zero value is an empty counter ready to use.
//
// A Counter is not safe for concurrent use and must not be copied after
// first use; see the package documentation for its memory use.
type Counter struct {
	_ [0]sync.Mutex // go vet copylocks: a copy would share ext and regs

	// Exact phase: the n distinct values, sorted ascending, are in
	// small[:n] while n <= inlineCap, else in ext[:n].
	small [inlineCap]uint64
	ext   *[ExactLimit]uint64
	// Sketch phase (dense): the registers. regs may be non-nil in the
	// exact phase too (kept by Reset for reuse); its content is then
	// meaningless and is cleared when the counter converts again.
	regs  *registers
	n     uint8
	dense bool
}

// Peek reads, and changes nothing, the state Add(h) would update first:
// the register of h when c is a sketch. A caller that adds to many
// counters at random calls it ahead of Add, so that the cache miss of
// the register overlaps with other work.
func (c *Counter) Peek(h uint64) uint8 {
	if c.dense {
		return c.regs[h>>rankBits]
	}
	return c.n
}

// AddMany counts every hash of hs, like Add for each; on a dense
// counter the register updates are independent, so their cache misses
// overlap.
func (c *Counter) AddMany(hs []uint64) {
	if !c.dense {
		for _, h := range hs {
			c.Add(h)
		}
		return
	}
	for _, h := range hs {
		c.regs.add(h)
	}
}

// Add counts the hash h. Adding a hash that was already counted changes
// nothing. Add does not allocate except the first time a counter goes
// beyond inlineCap (8) and beyond ExactLimit distinct values, and not even
// then if the memory was kept by Reset.
func (c *Counter) Add(h uint64) {
	if c.dense {
		c.regs.add(h)
		return
	}
	vals := c.values()
	i, found := slices.BinarySearch(vals, h)
	if found {
		return
	}
	switch n := int(c.n); {
	case n < inlineCap:
		copy(c.small[i+1:n+1], c.small[i:n])
		c.small[i] = h
	case n < ExactLimit:
		if n == inlineCap {
			c.spill()
		}
		copy(c.ext[i+1:n+1], c.ext[i:n])
		c.ext[i] = h
	default:
		c.toDense()
		c.regs.add(h)
		return
	}
	c.n++
}

// values returns the exact values, sorted ascending. Only meaningful in
// the exact phase.
func (c *Counter) values() []uint64 {
	if c.n <= inlineCap {
		return c.small[:c.n]
	}
	return c.ext[:c.n]
}

// spill moves the inline values to ext, allocating it if needed.
func (c *Counter) spill() {
	if c.ext == nil {
		c.ext = new([ExactLimit]uint64)
	}
	copy(c.ext[:], c.small[:c.n])
}

// toDense converts the exact phase to the sketch phase, inserting the exact
// values into cleared registers.
func (c *Counter) toDense() {
	c.clearRegs()
	for _, h := range c.values() {
		c.regs.add(h)
	}
	c.dense = true
	c.n = 0
}

// clearRegs makes c.regs an all-zero register array, reusing memory.
func (c *Counter) clearRegs() {
	if c.regs == nil {
		c.regs = new(registers)
	} else {
		clear(c.regs[:])
	}
}

// add records h in the registers: the top p bits select the register, the
// rank is the number of leading zeros of the remaining q bits plus one
// (q+1 when they are all zero).
func (r *registers) add(h uint64) {
	idx := h >> rankBits
	rank := uint8(bits.LeadingZeros64(h<<precision|1<<(precision-1))) + 1
	if rank > r[idx] {
		r[idx] = rank
	}
}

// Merge adds every value counted by o to c, so that c becomes the counter
// of the union of both inputs: the same exact set, or bit-identical
// registers, as a single counter fed both. o is unchanged. Merging a
// counter into itself changes nothing.
func (c *Counter) Merge(o *Counter) {
	switch {
	case o == c:
	case o.dense && c.dense:
		maxRegs(c.regs, o.regs)
	case o.dense: // c exact
		vals := c.values() // small and ext are not touched below
		if c.regs == nil {
			c.regs = new(registers)
		}
		*c.regs = *o.regs
		for _, h := range vals {
			c.regs.add(h)
		}
		c.dense = true
		c.n = 0
	case c.dense: // o exact
		for _, h := range o.values() {
			c.regs.add(h)
		}
	default:
		c.mergeExact(o.values())
	}
}

// mergeExact adds the sorted distinct values vals to the exact counter c,
// converting it when the union exceeds ExactLimit.
func (c *Counter) mergeExact(vals []uint64) {
	var buf [2 * ExactLimit]uint64
	a := c.values()
	u := buf[:0]
	for len(a) > 0 && len(vals) > 0 {
		switch {
		case a[0] < vals[0]:
			u, a = append(u, a[0]), a[1:]
		case a[0] > vals[0]:
			u, vals = append(u, vals[0]), vals[1:]
		default:
			u, a, vals = append(u, a[0]), a[1:], vals[1:]
		}
	}
	u = append(append(u, a...), vals...)
	switch {
	case len(u) <= inlineCap:
		copy(c.small[:], u)
	case len(u) <= ExactLimit:
		if c.ext == nil {
			c.ext = new([ExactLimit]uint64)
		}
		copy(c.ext[:], u)
	default:
		c.clearRegs()
		for _, h := range u {
			c.regs.add(h)
		}
		c.dense = true
		c.n = 0
		return
	}
	c.n = uint8(len(u))
}

// maxRegs sets each register of dst to the larger of itself and the same
// register of src. Registers are at most maxRank (< 0x80), so it compares
// eight at a time: for bytes a, b < 0x80, (a|0x80)-b never borrows from the
// next byte and keeps its top bit exactly when a >= b.
func maxRegs(dst, src *registers) {
	const hi = 0x8080808080808080
	for i := 0; i < numRegs; i += 8 {
		d := (*[8]uint8)(dst[i : i+8])
		s := (*[8]uint8)(src[i : i+8])
		a, b := le64(d), le64(s)
		ge := ((a | hi) - b) & hi
		mask := (ge >> 7) * 0xff
		putLE64(d, a&mask|b&^mask)
	}
}

// nonZero returns the number of non-zero registers, eight at a time: for
// a byte x < 0x80, x+0x7f has its top bit set exactly when x != 0.
func (r *registers) nonZero() int {
	const lo7, hi = 0x7f7f7f7f7f7f7f7f, 0x8080808080808080
	k := 0
	for i := 0; i < numRegs; i += 8 {
		k += bits.OnesCount64((le64((*[8]uint8)(r[i:i+8])) + lo7) & hi)
	}
	return k
}

func le64(b *[8]uint8) uint64 {
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

func putLE64(b *[8]uint8, v uint64) {
	b[0], b[1], b[2], b[3] = uint8(v), uint8(v>>8), uint8(v>>16), uint8(v>>24)
	b[4], b[5], b[6], b[7] = uint8(v>>32), uint8(v>>40), uint8(v>>48), uint8(v>>56)
}

// Count returns the number of distinct values added: exact while Exact
// reports true, else the HyperLogLog estimate (never below ExactLimit+1,
// since the counter only converts on the ExactLimit+1st distinct value).
func (c *Counter) Count() uint64 {
	if !c.dense {
		return uint64(c.n)
	}
	switch e := c.regs.estimate(); {
	case e < ExactLimit+1:
		return ExactLimit + 1
	case e >= math.MaxUint64: // every register saturated: only from decoded input
		return math.MaxUint64
	default:
		return uint64(e + 0.5)
	}
}

// Exact reports whether Count is exact, that is whether at most ExactLimit
// distinct values were added.
func (c *Counter) Exact() bool { return !c.dense }

// Reset empties the counter, keeping its allocated memory for reuse.
func (c *Counter) Reset() {
	c.n = 0
	c.dense = false
}
