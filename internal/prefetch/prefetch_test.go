package prefetch

import (
	"testing"
	"unsafe"
)

// TestLinesChangesNothing prefetches every word of a slice, and nil
// pointers, and checks that nothing changed and nothing faulted.
func TestLinesChangesNothing(t *testing.T) {
	data := make([]uint64, 4096)
	for i := range data {
		data[i] = uint64(i) * 0x9e3779b97f4a7c15
	}
	ps := make([]unsafe.Pointer, 0, len(data)+2)
	ps = append(ps, nil)
	for i := range data {
		ps = append(ps, unsafe.Pointer(&data[i]))
	}
	ps = append(ps, nil)
	Lines(ps)
	Lines(nil)
	Lines(ps[:0])
	for i, v := range data {
		if v != uint64(i)*0x9e3779b97f4a7c15 {
			t.Fatalf("data[%d] = %#x after Lines", i, v)
		}
	}
}

// BenchmarkTwoLevel follows random keys through a big index to a big
// table of 64-byte records, as a hash table with separate entries does
// (the index slot's value says which record to read) and then does some
// arithmetic per key, as an aggregator's update does: one key at a time,
// and in runs of 32 whose index slots, then records, are prefetched first.
// Without the prefetch, the arithmetic fills the processor's out-of-order
// window and the next keys' misses wait for it.
func BenchmarkTwoLevel(b *testing.B) {
	const n = 1 << 22 // 16 MiB of index, 256 MiB of records
	type record struct{ v [8]uint64 }
	index := make([]uint32, n)
	recs := make([]record, n)
	x := uint64(88172645463325252)
	next := func() uint32 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return uint32(x % n)
	}
	for i := range index {
		index[i] = next()
	}
	keys := make([]uint32, 1<<16)
	for i := range keys {
		keys[i] = next()
	}

	work := func(r *record) {
		h := r.v[0]
		for range 24 {
			h = (h ^ h>>29) * 0xbf58476d1ce4e5b9
		}
		r.v[0], r.v[7] = h, r.v[7]+1
	}
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			for _, k := range keys {
				work(&recs[index[k]])
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
	})
	b.Run("prefetched", func(b *testing.B) {
		var ps [32]unsafe.Pointer
		for b.Loop() {
			for k := 0; k < len(keys); k += len(ps) {
				run := keys[k : k+len(ps)]
				for i, k := range run {
					ps[i] = unsafe.Pointer(&index[k])
				}
				Lines(ps[:])
				for i, k := range run {
					ps[i] = unsafe.Pointer(&recs[index[k]])
				}
				Lines(ps[:])
				for _, k := range run {
					work(&recs[index[k]])
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(keys)), "ns/key")
	})

}
