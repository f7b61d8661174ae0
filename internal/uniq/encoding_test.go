package uniq

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

var (
	_ encoding.BinaryMarshaler   = (*Counter)(nil)
	_ encoding.BinaryAppender    = (*Counter)(nil)
	_ encoding.BinaryUnmarshaler = (*Counter)(nil)
)

// counterOf returns a counter fed n pseudo-random hashes.
func counterOf(seed uint64, n int) *Counter {
	c := new(Counter)
	for _, h := range randHashes(seed, n) {
		c.Add(h)
	}
	return c
}

// nonZero counts the non-zero registers of a sketch.
func nonZero(c *Counter) int {
	k := 0
	for _, r := range c.regs {
		if r != 0 {
			k++
		}
	}
	if fast := c.regs.nonZero(); fast != k {
		panic(fmt.Sprintf("registers.nonZero() = %d, counted %d", fast, k))
	}
	return k
}

func TestEncodingRoundTrip(t *testing.T) {
	tests := []struct {
		n    int
		kind byte
	}{
		{0, kindExact}, {1, kindExact}, {8, kindExact}, {9, kindExact}, {64, kindExact},
		{65, kindSparse}, {3000, kindSparse}, {7000, kindDense}, {200000, kindDense},
	}
	for _, tt := range tests {
		c := counterOf(uint64(tt.n), tt.n)
		b, err := c.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != encVersion || b[1] != tt.kind {
			t.Errorf("n=%d: header % x, want version %d kind %d", tt.n, b[:2], encVersion, tt.kind)
		}
		var wantLen int
		switch tt.kind {
		case kindExact:
			wantLen = 3 + 8*tt.n
		case kindSparse:
			wantLen = 5 + 3*nonZero(c)
		case kindDense:
			wantLen = 3 + numRegs
		}
		if len(b) != wantLen {
			t.Errorf("n=%d: encoded length %d, want %d", tt.n, len(b), wantLen)
		}
		// Decode into a fresh counter and into one holding other state.
		for _, d := range []*Counter{new(Counter), counterOf(99, 5), counterOf(99, 40), counterOf(99, 9000)} {
			if err := d.UnmarshalBinary(b); err != nil {
				t.Fatalf("n=%d: UnmarshalBinary: %v", tt.n, err)
			}
			if d.Count() != c.Count() || d.Exact() != c.Exact() {
				t.Errorf("n=%d: decoded Count() = %d (exact %v), want %d (exact %v)", tt.n, d.Count(), d.Exact(), c.Count(), c.Exact())
			}
			if b2, _ := d.MarshalBinary(); !bytes.Equal(b2, b) {
				t.Errorf("n=%d: re-encoding differs", tt.n)
			}
			// The decoded counter keeps working: adding more values gives
			// the same as adding them to the original.
			more := randHashes(7, 100)
			orig := counterOf(uint64(tt.n), tt.n)
			for _, h := range more {
				d.Add(h)
				orig.Add(h)
			}
			x, _ := d.MarshalBinary()
			y, _ := orig.MarshalBinary()
			if !bytes.Equal(x, y) {
				t.Errorf("n=%d: decoded counter diverges after more Adds", tt.n)
			}
		}
	}
}

func TestEncodingSparseBoundary(t *testing.T) {
	// Feed values until the sketch has exactly maxSparse and then
	// maxSparse+1 non-zero registers: the form switches from sparse to
	// dense there, and both round-trip.
	var c Counter
	for _, h := range randHashes(5, ExactLimit+1) {
		c.Add(h)
	}
	r := randHashes(6, 20000)
	k := nonZero(&c)
	for _, want := range []int{maxSparse, maxSparse + 1} {
		for k < want {
			if c.regs[r[0]>>rankBits] == 0 {
				k++
			}
			c.Add(r[0])
			r = r[1:]
		}
		if nonZero(&c) != want {
			t.Fatalf("skipped past %d non-zero registers", want)
		}
		b, _ := c.MarshalBinary()
		wantKind := byte(kindSparse)
		if want > maxSparse {
			wantKind = kindDense
		}
		if b[1] != wantKind {
			t.Errorf("%d non-zero registers: kind %d, want %d", want, b[1], wantKind)
		}
		var d Counter
		if err := d.UnmarshalBinary(b); err != nil {
			t.Fatalf("%d non-zero registers: %v", want, err)
		}
		if *d.regs != *c.regs {
			t.Errorf("%d non-zero registers: registers differ after round trip", want)
		}
	}
}

func TestUnmarshalErrors(t *testing.T) {
	exact, _ := counterOf(1, 3).MarshalBinary()
	sparse, _ := counterOf(2, 100).MarshalBinary()
	dense, _ := counterOf(3, 100000).MarshalBinary()
	mod := func(b []byte, f func(b []byte) []byte) []byte {
		return f(append([]byte(nil), b...))
	}
	// A dense encoding of a sketch with few non-zero registers.
	smallDense := make([]byte, denseSize)
	smallDense[0], smallDense[1], smallDense[2], smallDense[3] = encVersion, kindDense, precision, 1
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"version only", []byte{1}, ErrMalformed},
		{"version 0", mod(exact, func(b []byte) []byte { b[0] = 0; return b }), ErrVersion},
		{"version 2", mod(exact, func(b []byte) []byte { b[0] = 2; return b }), ErrVersion},
		{"unknown kind", mod(exact, func(b []byte) []byte { b[1] = 3; return b }), ErrMalformed},
		{"exact no count", exact[:2], ErrMalformed},
		{"exact truncated", exact[:len(exact)-1], ErrMalformed},
		{"exact trailing", append(append([]byte(nil), exact...), 0), ErrMalformed},
		{"exact too many", append([]byte{1, 0, 65}, make([]byte, 65*8)...), ErrMalformed},
		{"exact count 255", []byte{1, 0, 255}, ErrMalformed},
		{"exact unsorted", mod(exact, func(b []byte) []byte { copy(b[3:11], b[11:19]); b[11] ^= 0xff; return b }), ErrMalformed},
		{"exact duplicate", mod(exact, func(b []byte) []byte { copy(b[11:19], b[3:11]); return b }), ErrMalformed},
		{"sparse no precision", sparse[:2], ErrMalformed},
		{"sparse precision 12", mod(sparse, func(b []byte) []byte { b[2] = 12; return b }), ErrVersion},
		{"sparse no count", sparse[:4], ErrMalformed},
		{"sparse count 0", []byte{1, 1, 14, 0, 0}, ErrMalformed},
		{"sparse count too big", mod(sparse, func(b []byte) []byte {
			binary.LittleEndian.PutUint16(b[3:], maxSparse+1)
			return b
		}), ErrMalformed},
		{"sparse truncated", sparse[:len(sparse)-1], ErrMalformed},
		{"sparse trailing", append(append([]byte(nil), sparse...), 0), ErrMalformed},
		{"sparse rank 0", mod(sparse, func(b []byte) []byte { b[5] &^= 63; return b }), ErrMalformed},
		{"sparse rank 52", mod(sparse, func(b []byte) []byte { b[5] = b[5]&^63 | 52; return b }), ErrMalformed},
		{"sparse index out of range", []byte{1, 1, 14, 1, 0, 1, 0, 0x10}, ErrMalformed},
		{"sparse index repeated", mod(sparse, func(b []byte) []byte { copy(b[8:11], b[5:8]); return b }), ErrMalformed},
		{"sparse index descending", mod(sparse, func(b []byte) []byte {
			var e [3]byte
			copy(e[:], b[5:8])
			copy(b[5:8], b[8:11])
			copy(b[8:11], e[:])
			return b
		}), ErrMalformed},
		{"dense precision 16", mod(dense, func(b []byte) []byte { b[2] = 16; return b }), ErrVersion},
		{"dense truncated", dense[:len(dense)-1], ErrMalformed},
		{"dense trailing", append(append([]byte(nil), dense...), 0), ErrMalformed},
		{"dense register 52", mod(dense, func(b []byte) []byte { b[100] = 52; return b }), ErrMalformed},
		{"dense register 255", mod(dense, func(b []byte) []byte { b[len(b)-1] = 255; return b }), ErrMalformed},
		{"dense not canonical", smallDense, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, c := range []*Counter{counterOf(9, 5), counterOf(9, 50), counterOf(9, 5000)} {
				before, _ := c.MarshalBinary()
				err := c.UnmarshalBinary(tt.in)
				if !errors.Is(err, tt.want) {
					t.Fatalf("UnmarshalBinary error = %v, want %v", err, tt.want)
				}
				var de *DecodeError
				if !errors.As(err, &de) || de.Offset < 0 || de.Offset > len(tt.in) {
					t.Errorf("error %v is not a *DecodeError with an offset in the input", err)
				}
				if after, _ := c.MarshalBinary(); !bytes.Equal(before, after) {
					t.Errorf("failed UnmarshalBinary changed the counter")
				}
			}
		})
	}
}
