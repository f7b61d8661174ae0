package uniq

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"testing"
)

func TestHash64NoCollisions(t *testing.T) {
	// Every input of up to 2 bytes, and every single-bit change of random
	// inputs of every length up to 80 (all tail shapes and loop counts),
	// hashes differently.
	seen := make(map[uint64][]byte)
	put := func(b []byte) {
		h := Hash64(b)
		if prev, ok := seen[h]; ok {
			t.Fatalf("Hash64(%x) = Hash64(%x) = %#x", b, prev, h)
		}
		seen[h] = append([]byte(nil), b...)
	}
	put(nil)
	for i := range 256 {
		put([]byte{byte(i)})
	}
	for i := range 65536 {
		put([]byte{byte(i), byte(i >> 8)})
	}
	r := rand.New(rand.NewPCG(1, 1))
	for n := 3; n <= 80; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		put(b)
		for bit := range 8 * n {
			b[bit/8] ^= 1 << (bit % 8)
			put(b)
			b[bit/8] ^= 1 << (bit % 8)
		}
	}
	// Trailing zero bytes change the hash (the length is mixed in).
	for n := range 40 {
		put(make([]byte, n+3))
	}
}

func TestHash64Avalanche(t *testing.T) {
	// Flipping any input bit flips each output bit with probability close
	// to 1/2. A fair output bit over 400 independent samples (sd 0.025)
	// stays within [0.35, 0.65] (6 sd) with probability 1 - 2e-9, so
	// ~80k such checks pass unless the hash is biased. One-byte inputs are
	// tested exhaustively: 128 distinct pairs per input bit (sd 0.044).
	check := func(n, bit int, flips *[64]int, samples int, lo, hi float64) {
		for out, f := range flips {
			if p := float64(f) / float64(samples); p < lo || p > hi {
				t.Errorf("len %d: input bit %d flips output bit %d with rate %.2f", n, bit, out, p)
			}
		}
	}
	count := func(flips *[64]int, d uint64) {
		for d != 0 {
			flips[bits.TrailingZeros64(d)]++
			d &= d - 1
		}
	}
	for bit := range 8 {
		var flips [64]int
		for x := range 256 {
			if x&(1<<bit) == 0 {
				count(&flips, Hash64([]byte{byte(x)})^Hash64([]byte{byte(x) ^ 1<<bit}))
			}
		}
		check(1, bit, &flips, 128, 0.25, 0.75)
	}
	const samples = 400
	r := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 37} {
		b := make([]byte, n)
		for bit := range 8 * n {
			var flips [64]int
			for range samples {
				for i := range b {
					b[i] = byte(r.Uint32())
				}
				h0 := Hash64(b)
				b[bit/8] ^= 1 << (bit % 8)
				count(&flips, h0^Hash64(b))
			}
			check(n, bit, &flips, samples, 0.35, 0.65)
		}
	}
}

func TestHash64Buckets(t *testing.T) {
	// Sequential source ports of one 5-tuple spread evenly over the 2^14
	// registers: a chi-squared statistic far from its mean (m-1 = 16383,
	// standard deviation ≈ 181) reveals a biased top-14-bit distribution.
	var buf [13]byte
	var counts [numRegs]int
	const per = 16 // expected hits per register
	n := 0
	for dport := range uint16(per * numRegs / 65536) {
		for sport := range 65536 {
			counts[Hash64(fiveTuple(&buf, 0x0a000001, 0xc6336407, uint16(sport), 443+dport, 6))>>rankBits]++
			n++
		}
	}
	chi2 := 0.0
	for _, c := range counts {
		d := float64(c - per)
		chi2 += d * d / per
	}
	if chi2 < numRegs-1-6*181 || chi2 > numRegs-1+6*181 {
		t.Errorf("chi-squared of register hits = %.0f over %d hashes, want about %d", chi2, n, numRegs-1)
	}
}

func TestHash64Stable(t *testing.T) {
	// Hash64 is part of the wire contract: counters hashed in one process
	// are merged with counters from another. These values pin it; if this
	// test fails, the hash changed and encVersion must change with it.
	tests := []struct {
		in   string
		want uint64
	}{
		{"", 0x9307b49f05e873d9},
		{"a", 0x5444f0ac240cd038},
		{"exfilscore", 0x89021f3db39b1516},
		{"0123456789abcdef0123456789abcdef0123", 0xe638dfc41d27ffdb},
	}
	for _, tt := range tests {
		if got := Hash64([]byte(tt.in)); got != tt.want {
			t.Errorf("Hash64(%q) = %#016x, want %#016x", tt.in, got, tt.want)
		}
	}
}

// TestHash64V4Tuple checks the IPv4 5-tuple shortcut against Hash64 of
// the bytes it stands for.
func TestHash64V4Tuple(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for i := range 100000 {
		c, s := r.Uint32(), r.Uint32()
		cp, sp, proto := uint16(r.Uint32()), uint16(r.Uint32()), uint8(r.Uint32())
		if i < 4 { // the extremes
			c, s, cp, sp, proto = -uint32(i&1), -uint32(i>>1), -uint16(i&1), -uint16(i>>1), -uint8(i&1)
		}
		var b [37]byte
		b[10], b[11], b[26], b[27] = 0xff, 0xff, 0xff, 0xff
		binary.BigEndian.PutUint32(b[12:], c)
		binary.BigEndian.PutUint32(b[28:], s)
		binary.BigEndian.PutUint16(b[32:], cp)
		binary.BigEndian.PutUint16(b[34:], sp)
		b[36] = proto
		if got, want := Hash64V4Tuple(c, s, cp, sp, proto), Hash64(b[:]); got != want {
			t.Fatalf("Hash64V4Tuple(%#x, %#x, %d, %d, %d) = %#x, Hash64 of its bytes %#x", c, s, cp, sp, proto, got, want)
		}
	}
}
