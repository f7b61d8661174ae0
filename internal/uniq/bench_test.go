package uniq

import (
	"fmt"
	"strconv"
	"testing"
)

func BenchmarkAdd(b *testing.B) {
	hs := randHashes(1, 1<<16)
	b.Run("exact-inline-8", func(b *testing.B) {
		var c Counter
		for b.Loop() {
			c.Reset()
			for _, h := range hs[:inlineCap] {
				c.Add(h)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*inlineCap), "ns/add")
	})
	b.Run("exact-64", func(b *testing.B) {
		var c Counter
		for b.Loop() {
			c.Reset()
			for _, h := range hs[:ExactLimit] {
				c.Add(h)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*ExactLimit), "ns/add")
	})
	b.Run("exact-duplicate", func(b *testing.B) {
		var c Counter
		for _, h := range hs[:ExactLimit] {
			c.Add(h)
		}
		i := 0
		for b.Loop() {
			c.Add(hs[i&(ExactLimit-1)])
			i++
		}
	})
	b.Run("sketch", func(b *testing.B) {
		var c Counter
		for _, h := range hs[:1000] {
			c.Add(h)
		}
		i := 0
		for b.Loop() {
			c.Add(hs[i&(len(hs)-1)])
			i++
		}
	})
}

func BenchmarkMerge(b *testing.B) {
	cases := []struct {
		name   string
		na, nb int
	}{
		{"exact+exact", 30, 30},
		{"exact+exact-convert", 60, 60},
		{"sketch+exact", 10000, 60},
		{"exact+sketch", 60, 10000},
		{"sketch+sketch", 10000, 10000},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			a, o := counterOf(1, tc.na), counterOf(2, tc.nb)
			var c Counter
			for b.Loop() {
				c.Reset()
				c.Merge(a)
				c.Merge(o)
			}
		})
	}
}

// BenchmarkCount: a sketch of 1000 values has ~94% zero registers (the
// common case when a window closes), one of 100 000 has none.
func BenchmarkCount(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			c := counterOf(1, n)
			for b.Loop() {
				_ = c.Count()
			}
		})
	}
}

func BenchmarkMarshalBinary(b *testing.B) {
	for _, n := range []int{64, 1000, 100000} {
		c := counterOf(1, n)
		buf := make([]byte, 0, denseSize)
		b.Run("n="+strconv.Itoa(n), func(b *testing.B) {
			for b.Loop() {
				buf, _ = c.AppendBinary(buf[:0])
			}
		})
	}
}

func BenchmarkHash64(b *testing.B) {
	var buf [37]byte
	for _, n := range []int{13, 37} { // IPv4 and IPv6 5-tuples
		b.Run(strconv.Itoa(n)+"B", func(b *testing.B) {
			b.SetBytes(int64(n))
			for b.Loop() {
				buf[0]++
				_ = Hash64(buf[:n])
			}
		})
	}
}
