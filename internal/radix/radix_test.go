package radix

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestUint64s sorts random slices of every shape (lengths 0-3000; values
// over all 64 bits, over a few bytes, all equal, with duplicates) and
// compares them with slices.Sort.
func TestUint64s(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	masks := []uint64{^uint64(0), 0xff, 0xffff_0000_0000, 0x00ff_00ff_0000_00ff, 0}
	for _, n := range []int{0, 1, 2, 3, 17, 256, 3000} {
		for _, m := range masks {
			xs := make([]uint64, n)
			for i := range xs {
				xs[i] = r.Uint64()&m | 0x1234_0000_0000_0000
			}
			want := slices.Clone(xs)
			slices.Sort(want)
			got := Uint64s(xs, make([]uint64, n))
			if !slices.Equal(got, want) {
				t.Fatalf("n=%d mask=%#x: not sorted like slices.Sort", n, m)
			}
		}
	}
}

// BenchmarkUint64s sorts 200 000 (destination << 32 | source) pairs, as
// the blast radius at window close does, with Uint64s and slices.Sort.
func BenchmarkUint64s(b *testing.B) {
	r := rand.New(rand.NewPCG(6, 6))
	src := make([]uint64, 200_000)
	for i := range src {
		src[i] = uint64(0xc6336400|r.Uint32N(1<<16))<<32 | uint64(r.Uint32N(1<<18))
	}
	xs, buf := make([]uint64, len(src)), make([]uint64, len(src))
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			Uint64s(xs, buf)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/value")
	})
	b.Run("slices.Sort", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			slices.Sort(xs)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/value")
	})
}
