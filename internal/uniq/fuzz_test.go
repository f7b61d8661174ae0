package uniq

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func FuzzUnmarshalBinary(f *testing.F) {
	for _, n := range []int{0, 1, 8, 9, 64, 65, 500, 10000} {
		b, _ := counterOf(uint64(n), n).MarshalBinary()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add([]byte{1, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 1, 14, 1, 0, 0x41, 0, 0})
	f.Add([]byte{1, 2, 14})
	f.Add([]byte{2, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var c Counter
		if err := c.UnmarshalBinary(data); err != nil {
			if c.Exact() != true || c.Count() != 0 {
				t.Fatalf("failed UnmarshalBinary changed an empty counter")
			}
			return
		}
		// A valid encoding is canonical: it re-encodes to the same bytes.
		b, err := c.MarshalBinary()
		if err != nil || !bytes.Equal(b, data) {
			t.Fatalf("re-encoding = %x, %v; want the input %x", b, err, data)
		}
		if c.Exact() != (data[1] == kindExact) {
			t.Fatalf("Exact() = %v for kind %d", c.Exact(), data[1])
		}
		n := c.Count()
		if c.Exact() && n > ExactLimit || !c.Exact() && n <= ExactLimit {
			t.Fatalf("Count() = %d, Exact() = %v", n, c.Exact())
		}
		// The decoded counter behaves: merging it into one fed its
		// contents' complement and adding values does not panic, and
		// merging it into an empty counter copies it.
		var cp Counter
		cp.Merge(&c)
		if b2, _ := cp.MarshalBinary(); !bytes.Equal(b2, data) {
			t.Fatalf("copy by Merge differs")
		}
		other := counterOf(1, 70)
		other.Merge(&c)
		c.Add(12345)
		_ = c.Count()
	})
}

// FuzzMerge checks, for arbitrary inputs split between two counters, that
// their merge equals the counter fed everything, and agrees with the
// reference set.
func FuzzMerge(f *testing.F) {
	f.Add([]byte{}, uint8(0), uint16(0))
	f.Add(bytes.Repeat([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 3), uint8(1), uint16(0))
	f.Add(bytes.Repeat([]byte{0xff}, 8*70), uint8(33), uint16(100))
	f.Add(make([]byte, 8*130), uint8(200), uint16(3000))
	f.Fuzz(func(t *testing.T, data []byte, split uint8, extra uint16) {
		// Hashes come from data (8 bytes each, so duplicates and chosen
		// values are reachable) followed by extra generated ones (so the
		// sketch phase is reached without huge inputs).
		var hs []uint64
		for len(data) >= 8 {
			hs = append(hs, binary.LittleEndian.Uint64(data))
			data = data[8:]
		}
		hs = append(hs, randHashes(uint64(len(hs)), int(extra%4096))...)
		var a, b, all Counter
		r := ref{}
		for i, h := range hs {
			if (i+int(split))%3 == 0 || i < int(split)%8 {
				a.Add(h)
			} else {
				b.Add(h)
			}
			if i%5 == 0 { // some values in both
				a.Add(h)
				b.Add(h)
			}
			all.Add(h)
			r.add(h)
		}
		merged := &a
		if split&1 == 0 {
			a.Merge(&b)
		} else {
			b.Merge(&a)
			merged = &b
		}
		check(t, merged, r)
		got, _ := merged.MarshalBinary()
		want, _ := all.MarshalBinary()
		if !bytes.Equal(got, want) {
			t.Fatalf("merge differs from the counter fed everything")
		}
	})
}
