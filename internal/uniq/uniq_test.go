package uniq

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"unsafe"
)

// ref is the slow, obvious reference: a set of hashes, from which the
// exact count and the HyperLogLog registers are computed directly.
type ref map[uint64]struct{}

func (r ref) add(hs ...uint64) {
	for _, h := range hs {
		r[h] = struct{}{}
	}
}

// sorted returns the set's values in ascending order.
func (r ref) sorted() []uint64 {
	out := make([]uint64, 0, len(r))
	for h := range r {
		out = append(out, h)
	}
	slices.Sort(out)
	return out
}

// registers computes the registers bit by bit: the index is the top 14
// bits, the rank is one more than the number of zero bits that follow
// them, counted from the most significant, capped at 51.
func (r ref) registers() *registers {
	var regs registers
	for h := range r {
		idx := h >> 50
		rank := uint8(1)
		for bit := 49; bit >= 0 && h&(1<<bit) == 0; bit-- {
			rank++
		}
		regs[idx] = max(regs[idx], rank)
	}
	return &regs
}

// check compares c with the reference set r.
func check(t *testing.T, c *Counter, r ref) {
	t.Helper()
	if len(r) <= ExactLimit {
		if !c.Exact() || c.Count() != uint64(len(r)) {
			t.Fatalf("Exact() = %v, Count() = %d; want exact %d", c.Exact(), c.Count(), len(r))
		}
		if got, want := c.values(), r.sorted(); !slices.Equal(got, want) {
			t.Fatalf("exact values = %x, want %x", got, want)
		}
		return
	}
	if c.Exact() {
		t.Fatalf("Exact() = true with %d distinct values", len(r))
	}
	if want := r.registers(); *c.regs != *want {
		for i := range c.regs {
			if c.regs[i] != want[i] {
				t.Fatalf("register %d = %d, want %d", i, c.regs[i], want[i])
			}
		}
	}
}

// randHashes returns n pseudo-random hashes from a fixed seed.
func randHashes(seed uint64, n int) []uint64 {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

func TestAddMatchesReference(t *testing.T) {
	// Edge hashes: zero, all ones, and values whose rank is extreme.
	edges := []uint64{0, math.MaxUint64, 1, 1 << 50, 1<<50 - 1, 1 << 49, 0xffff_c000_0000_0000}
	for _, n := range []int{0, 1, 7, 8, 9, 63, 64, 65, 66, 200, 20000} {
		hs := randHashes(uint64(n), n)
		if n >= len(edges) {
			copy(hs, edges)
		}
		var c Counter
		r := ref{}
		for i, h := range hs {
			c.Add(h)
			r.add(h)
			if i%3 == 0 { // duplicates count once
				c.Add(hs[i/2])
			}
		}
		check(t, &c, r)
	}
}

func TestAddEachStep(t *testing.T) {
	// Check the state after every Add across both phase changes, with the
	// values arriving in descending, ascending and random order.
	hs := randHashes(7, 80)
	orders := map[string][]uint64{
		"random":     hs,
		"ascending":  slices.Sorted(slices.Values(hs)),
		"descending": slices.Sorted(slices.Values(hs)),
	}
	slices.Reverse(orders["descending"])
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			var c Counter
			r := ref{}
			for _, h := range order {
				c.Add(h)
				r.add(h)
				check(t, &c, r)
			}
		})
	}
}

func TestAddIdempotent(t *testing.T) {
	for _, n := range []int{1, 8, 40, 64, 65, 3000, 100000} {
		hs := randHashes(uint64(n)+100, n)
		var c Counter
		for _, h := range hs {
			c.Add(h)
		}
		before, _ := c.MarshalBinary()
		for _, h := range hs[:min(n, 500)] {
			c.Add(h)
		}
		after, _ := c.MarshalBinary()
		if !bytes.Equal(before, after) {
			t.Errorf("n=%d: re-adding counted values changed the counter", n)
		}
	}
}

func TestMergeEqualsUnion(t *testing.T) {
	// a and b are built from pools of distinct values: onlyA, onlyB, both.
	tests := []struct {
		name               string
		onlyA, onlyB, both int
	}{
		{"empty+empty", 0, 0, 0},
		{"empty+inline", 0, 5, 0},
		{"inline+empty", 5, 0, 0},
		{"inline+inline", 3, 4, 1},
		{"inline+inline=8", 4, 4, 0},
		{"inline+inline=9", 4, 5, 0},
		{"inline+ext", 2, 30, 3},
		{"ext+ext", 20, 20, 10},
		{"ext+ext=64", 30, 30, 4},
		{"ext+ext=65", 30, 31, 4},
		{"exact+exact=128", 64, 64, 0},
		{"identical exact", 0, 0, 64},
		{"empty+sketch", 0, 100, 0},
		{"sketch+empty", 100, 0, 0},
		{"inline+sketch", 3, 200, 2},
		{"sketch+inline", 200, 3, 2},
		{"ext+sketch", 40, 1000, 10},
		{"sketch+ext", 1000, 40, 10},
		{"sketch+sketch sparse", 1000, 1000, 500},
		{"sketch+sketch dense", 50000, 30000, 20000},
		{"identical sketch", 0, 0, 10000},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := randHashes(uint64(1000+i), tt.onlyA+tt.onlyB+tt.both)
			onlyA, onlyB, both := hs[:tt.onlyA], hs[tt.onlyA:tt.onlyA+tt.onlyB], hs[tt.onlyA+tt.onlyB:]
			var a, b, union Counter
			r := ref{}
			for _, h := range slices.Concat(onlyA, both) {
				a.Add(h)
			}
			for _, h := range slices.Concat(both, onlyB) {
				b.Add(h)
			}
			for _, h := range hs {
				union.Add(h)
				r.add(h)
			}
			bBefore, _ := b.MarshalBinary()
			a.Merge(&b)
			check(t, &a, r)
			if a.Count() != union.Count() || a.Exact() != union.Exact() {
				t.Errorf("merged Count() = %d (exact %v), fed union %d (exact %v)", a.Count(), a.Exact(), union.Count(), union.Exact())
			}
			got, _ := a.MarshalBinary()
			want, _ := union.MarshalBinary()
			if !bytes.Equal(got, want) {
				t.Errorf("merged counter encodes differently from the counter fed the union")
			}
			if bAfter, _ := b.MarshalBinary(); !bytes.Equal(bBefore, bAfter) {
				t.Errorf("Merge changed its argument")
			}
			// Merging again, or merging a counter into itself, changes nothing.
			a.Merge(&b)
			a.Merge(&a)
			if again, _ := a.MarshalBinary(); !bytes.Equal(again, want) {
				t.Errorf("Merge is not idempotent")
			}
		})
	}
}

func TestMergeAssociative(t *testing.T) {
	// Three partial counters in different phases merge to the same counter
	// in any order and grouping.
	sizes := []int{5, 60, 3000}
	parts := make([][]uint64, len(sizes))
	for i, n := range sizes {
		parts[i] = randHashes(uint64(50+i), n)
	}
	build := func(order ...int) []byte {
		var acc Counter
		for _, i := range order {
			var p Counter
			for _, h := range parts[i] {
				p.Add(h)
			}
			acc.Merge(&p)
		}
		b, _ := acc.MarshalBinary()
		return b
	}
	want := build(0, 1, 2)
	for _, order := range [][]int{{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		if got := build(order...); !bytes.Equal(got, want) {
			t.Errorf("merge order %v gives a different counter", order)
		}
	}
}

func TestMaxRegs(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var a, b registers
	for i := range a {
		a[i], b[i] = uint8(r.IntN(maxRank+1)), uint8(r.IntN(maxRank+1))
	}
	// Force the extremes into a few lanes.
	a[0], b[0], a[1], b[1], a[2], b[2] = 0, maxRank, maxRank, 0, maxRank, maxRank
	want := a
	for i := range want {
		want[i] = max(a[i], b[i])
	}
	maxRegs(&a, &b)
	if a != want {
		t.Fatal("maxRegs differs from byte-wise max")
	}
}

func TestReset(t *testing.T) {
	for _, n := range []int{0, 5, 30, 100, 50000} {
		var c Counter
		for _, h := range randHashes(1, n) {
			c.Add(h)
		}
		c.Reset()
		if !c.Exact() || c.Count() != 0 {
			t.Fatalf("after Reset: Exact() = %v, Count() = %d", c.Exact(), c.Count())
		}
		// A reset counter reused for other values matches a fresh one in
		// every phase (stale registers and values must not leak through).
		for _, m := range []int{3, 20, 70, 5000} {
			c.Reset()
			var fresh Counter
			for _, h := range randHashes(2, m) {
				c.Add(h)
				fresh.Add(h)
			}
			got, _ := c.MarshalBinary()
			want, _ := fresh.MarshalBinary()
			if !bytes.Equal(got, want) {
				t.Errorf("n=%d then m=%d: reused counter differs from a fresh one", n, m)
			}
		}
	}
}

func TestResetThenMerge(t *testing.T) {
	// Stale registers of a reset counter must not leak into a merge with a
	// sketch or into a conversion by merge of exact sets.
	var c, big, small Counter
	for _, h := range randHashes(9, 40000) {
		c.Add(h)
	}
	for _, h := range randHashes(10, 300) {
		big.Add(h)
	}
	for _, h := range randHashes(11, 60) {
		small.Add(h)
	}
	for _, other := range []*Counter{&big, &small} {
		c.Reset()
		c.Add(42)
		var fresh Counter
		fresh.Add(42)
		c.Merge(other)
		fresh.Merge(other)
		got, _ := c.MarshalBinary()
		want, _ := fresh.MarshalBinary()
		if !bytes.Equal(got, want) {
			t.Errorf("merge into a reset counter differs from merge into a fresh one")
		}
	}
	c.Reset()
	for _, h := range randHashes(12, 40) {
		c.Add(h)
	}
	var fresh Counter
	for _, h := range randHashes(12, 40) {
		fresh.Add(h)
	}
	c.Merge(&small)
	fresh.Merge(&small)
	got, _ := c.MarshalBinary()
	want, _ := fresh.MarshalBinary()
	if !bytes.Equal(got, want) {
		t.Errorf("exact+exact conversion in a reset counter differs from a fresh one")
	}
}

func TestAllocs(t *testing.T) {
	hs := randHashes(3, 1000)
	t.Run("exact inline", func(t *testing.T) {
		var c Counter
		if a := testing.AllocsPerRun(100, func() {
			c.Reset()
			for _, h := range hs[:inlineCap] {
				c.Add(h)
			}
		}); a != 0 {
			t.Errorf("Add of %d distinct values: %v allocs, want 0", inlineCap, a)
		}
	})
	t.Run("sketch", func(t *testing.T) {
		var c Counter
		for _, h := range hs {
			c.Add(h)
		}
		if a := testing.AllocsPerRun(100, func() {
			for _, h := range hs {
				c.Add(h ^ 0x9e3779b97f4a7c15)
			}
		}); a != 0 {
			t.Errorf("Add in the sketch phase: %v allocs, want 0", a)
		}
	})
	t.Run("reuse after Reset", func(t *testing.T) {
		var c, o Counter
		for _, h := range hs {
			c.Add(h)
			o.Add(^h)
		}
		if a := testing.AllocsPerRun(20, func() {
			c.Reset()
			for _, h := range hs {
				c.Add(h)
			}
			c.Reset()
			c.Merge(&o)
		}); a != 0 {
			t.Errorf("reused counter: %v allocs, want 0", a)
		}
	})
	t.Run("Count and AppendBinary", func(t *testing.T) {
		var c Counter
		for _, h := range hs {
			c.Add(h)
		}
		buf := make([]byte, 0, denseSize)
		if a := testing.AllocsPerRun(20, func() {
			_ = c.Count()
			buf, _ = c.AppendBinary(buf[:0])
		}); a != 0 {
			t.Errorf("Count + AppendBinary: %v allocs, want 0", a)
		}
		// MarshalBinary allocates its result once.
		if raceEnabled {
			return
		}
		for _, n := range []int{0, 5, 64, 300, 100000} {
			c := counterOf(uint64(n), n)
			if a := testing.AllocsPerRun(20, func() { _, _ = c.MarshalBinary() }); a != 1 {
				t.Errorf("n=%d: MarshalBinary: %v allocs, want 1", n, a)
			}
		}
	})
}

func TestCountBounds(t *testing.T) {
	var c Counter
	c.regs, c.dense = new(registers), true
	c.regs[0] = 1 // one non-zero register: estimate ≈ 1
	if got := c.Count(); got != ExactLimit+1 {
		t.Errorf("Count() of a near-empty sketch = %d, want the floor %d", got, ExactLimit+1)
	}
	for i := range c.regs {
		c.regs[i] = maxRank
	}
	if got := c.Count(); got != math.MaxUint64 {
		t.Errorf("Count() of a saturated sketch = %d, want MaxUint64", got)
	}
}

// slowEstimate evaluates the closed form of Ertl's improved estimator
// with the series for σ and τ summed term by term.
func slowEstimate(r *registers) float64 {
	var c [maxRank + 1]float64
	for _, v := range r {
		c[v]++
	}
	const m = float64(numRegs)
	slowSigma := func(x float64) float64 {
		if x == 1 {
			return math.Inf(1)
		}
		s := x
		for k := 1; k < 64; k++ {
			s += math.Pow(x, math.Pow(2, float64(k))) * math.Pow(2, float64(k-1))
		}
		return s
	}
	slowTau := func(x float64) float64 {
		s := 1 - x
		for k := 1; k < 64; k++ {
			d := 1 - math.Pow(x, math.Pow(2, -float64(k)))
			s -= d * d * math.Pow(2, -float64(k))
		}
		return s / 3
	}
	z := m * slowSigma(c[0]/m)
	for k := 1; k <= rankBits; k++ {
		z += c[k] * math.Pow(2, -float64(k))
	}
	z += m * slowTau(1-c[maxRank]/m) * math.Pow(2, -rankBits)
	return alphaInf * m * m / z
}

func TestEstimateClosedForm(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 5))
	for _, n := range []int{65, 1000, 20000, 1000000} {
		var c Counter
		for range n {
			c.Add(r.Uint64())
		}
		got, want := c.regs.estimate(), slowEstimate(c.regs)
		if math.Abs(got-want) > 1e-9*want {
			t.Errorf("n=%d: estimate %v, closed form %v", n, got, want)
		}
	}
	// Registers near saturation exercise τ.
	var regs registers
	for i := range regs {
		regs[i] = uint8(maxRank - i%3)
	}
	if got, want := regs.estimate(), slowEstimate(&regs); math.Abs(got-want) > 1e-9*want {
		t.Errorf("near saturation: estimate %v, closed form %v", got, want)
	}
}

func TestMemory(t *testing.T) {
	// The sizes the package documentation promises (64-bit platforms).
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes documented for 64-bit platforms")
	}
	if got := unsafe.Sizeof(Counter{}); got != 88 {
		t.Errorf("sizeof(Counter) = %d, documented 88", got)
	}
	if got := unsafe.Sizeof([ExactLimit]uint64{}); got != 512 {
		t.Errorf("exact spill array = %d bytes, documented 512", got)
	}
	if got := unsafe.Sizeof(registers{}); got != 16384 {
		t.Errorf("register array = %d bytes, documented 16384", got)
	}
}

func TestPeekChangesNothing(t *testing.T) {
	var c, ref Counter
	for i := range uint64(5000) {
		h := i * 0x9e3779b97f4a7c15
		c.Peek(h)
		c.Add(h)
		ref.Add(h)
		if i%500 == 0 && c.Count() != ref.Count() {
			t.Fatalf("after %d adds: %d with Peek, %d without", i+1, c.Count(), ref.Count())
		}
	}
	before := c.Count()
	for h := range uint64(1000) {
		c.Peek(h * 0xbf58476d1ce4e5b9)
	}
	if c.Exact() || c.Count() != before {
		t.Fatalf("exact %v, count %d after Peeks, %d before", c.Exact(), c.Count(), before)
	}
}

// TestHistogram compares the word-at-a-time histogram with a plain count
// on sparse and dense registers.
func TestHistogram(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for _, fill := range []int{0, 1, 100, 3000, numRegs} {
		var regs registers
		for range fill {
			regs[r.IntN(numRegs)] = uint8(1 + r.IntN(maxRank))
		}
		var want [64]int
		for _, v := range regs {
			want[v&63]++
		}
		var got [64]int
		if regs.histogram(&got); got != want {
			t.Errorf("fill %d: histogram differs", fill)
		}
	}
}

// TestAddMany: AddMany counts like Add for each hash, in the exact phase,
// across the switch to registers and on registers (the same state: the
// same sorted values, or the same registers), with repeated hashes within
// a batch and across batches, in batches of every size up to twice
// ExactLimit, into counters that start empty or already hold values.
func TestAddMany(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 5, inlineCap, inlineCap + 1, ExactLimit - 1, ExactLimit, ExactLimit + 1, 3 * ExactLimit, 5000} {
		for _, pre := range []int{0, 3, inlineCap, ExactLimit - 2} {
			var one, many Counter
			for i := range pre {
				h := fmix(uint64(1_000_000 + i))
				one.Add(h)
				many.Add(h)
			}
			hs := make([]uint64, n)
			for i := range hs {
				// About one hash in four repeats an earlier one, or one
				// of the values the counters already hold.
				v := uint64(i) + 1
				if i > 0 && rng.IntN(4) == 0 {
					v = uint64(rng.IntN(i)) + 1
				}
				if pre > 0 && rng.IntN(8) == 0 {
					v = uint64(1_000_000 + rng.IntN(pre))
				}
				hs[i] = fmix(v)
				one.Add(hs[i])
			}
			for len(hs) > 0 {
				k := min(len(hs), 1+rng.IntN(2*ExactLimit))
				many.AddMany(hs[:k])
				hs = hs[k:]
			}
			if one.Count() != many.Count() || one.dense != many.dense ||
				(one.dense && *one.regs != *many.regs) || (!one.dense && !slices.Equal(one.values(), many.values())) {
				t.Errorf("%d hashes into %d: Add counts %d (dense %v), AddMany %d (dense %v)",
					n, pre, one.Count(), one.dense, many.Count(), many.dense)
			}
		}
	}
}
