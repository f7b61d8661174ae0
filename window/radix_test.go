package window

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	for _, n := range []int{0, 1, 2, 3, 100, 5000} {
		for _, shape := range []string{"random", "shared bytes", "equal src"} {
			ks := make([]sortKey, n)
			for i := range ks {
				k := sortKey{src: r.Uint64N(1 << 34), dst: r.Uint64N(1 << 34), lo: r.Uint32(), id: uint32(i)}
				switch shape {
				case "shared bytes":
					k.src = 1<<32 | 10<<24 | r.Uint64N(1<<12)
					k.dst = 1<<32 | 198<<24 | r.Uint64N(200)
					k.lo = 443<<16 | 6<<8
				case "equal src":
					k.src = 7
				}
				ks[i] = k
			}
			want := slices.Clone(ks)
			slices.SortFunc(want, func(x, y sortKey) int {
				if c := compareSortKeys(x, y); c != 0 {
					return c
				}
				return cmp.Compare(x.id, y.id) // ties: LSD radix is stable, ids ascend
			})
			if got := radixSort(ks, make([]sortKey, n)); !slices.Equal(got, want) {
				t.Errorf("n=%d %s: radixSort differs from a comparison sort", n, shape)
			}
		}
	}
}

func compareSortKeys(x, y sortKey) int {
	if c := cmp.Compare(x.src, y.src); c != 0 {
		return c
	}
	if c := cmp.Compare(x.dst, y.dst); c != 0 {
		return c
	}
	return cmp.Compare(x.lo, y.lo)
}

// BenchmarkSortKeys sorts the sort keys of the benchmark population (1M
// IPv4 keys, see benchKey) in random order, with radixSort and with the
// comparison sort it replaced.
func BenchmarkSortKeys(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	src := make([]sortKey, benchKeys)
	for i, ki := range r.Perm(benchKeys) {
		k := benchKey(ki)
		s, d := k.Src.As4(), k.Dst.As4()
		src[i] = sortKey{src: 1<<32 | uint64(s[0])<<24 | uint64(s[1])<<16 | uint64(s[2])<<8 | uint64(s[3]),
			dst: 1<<32 | uint64(d[0])<<24 | uint64(d[1])<<16 | uint64(d[2])<<8 | uint64(d[3]),
			lo:  uint32(k.DstPort)<<16 | uint32(k.Proto)<<8 | uint32(len(k.AppProto)), id: uint32(i)}
	}
	ks, buf := make([]sortKey, len(src)), make([]sortKey, len(src))
	for _, impl := range []string{"radix", "slices"} {
		b.Run(impl, func(b *testing.B) {
			for b.Loop() {
				copy(ks, src)
				if impl == "radix" {
					radixSort(ks, buf)
				} else {
					slices.SortFunc(ks, compareSortKeys)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(src)), "ns/key")
		})
	}
}
