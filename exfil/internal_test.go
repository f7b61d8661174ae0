package exfil

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/exfilscore/exfilscore/internal/uniq"
)

// TestBlastRadius checks blastRadius against a map of sets on random
// IPv4 and IPv6 destinations, repeated pairs and sources in runs.
func TestBlastRadius(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	dsts := make([]netip.Addr, 60)
	for i := range dsts {
		if i%3 == 0 {
			dsts[i] = netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(i)})
		} else {
			dsts[i] = netip.AddrFrom4([4]byte{198, 51, byte(i), byte(r.IntN(256))})
		}
	}
	var b blastRadius
	want := map[netip.Addr]map[int]bool{}
	for run := range 500 {
		for range 1 + r.IntN(6) {
			d := dsts[r.IntN(len(dsts))]
			b.add(d, run)
			if want[d] == nil {
				want[d] = map[int]bool{}
			}
			want[d][run] = true
		}
	}
	b.count()
	for _, d := range dsts {
		if got := b.of(d); got != len(want[d]) {
			t.Errorf("%v: %d sources, want %d", d, got, len(want[d]))
		}
	}
	if got := b.of(netip.MustParseAddr("203.0.113.1")); got != 0 {
		t.Errorf("unseen destination: %d sources", got)
	}
}

func TestIsServicePort(t *testing.T) {
	for p := range 1 << 16 {
		want := p != 0 && (p < 1024 || servicePorts[uint16(p)])
		if got := isServicePort(uint16(p)); got != want {
			t.Fatalf("isServicePort(%d) = %v, want %v", p, got, want)
		}
	}
}

// TestFlowHashV4 checks that IPv4 flows hash as the 37 bytes of their
// IPv4-mapped 5-tuple (the IPv6 path), so that counters built before the
// IPv4 shortcut merge with new ones.
func TestFlowHashV4(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for range 10000 {
		var c4, s4 [4]byte
		for i := range 4 {
			c4[i], s4[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		c, s := netip.AddrFrom4(c4), netip.AddrFrom4(s4)
		cp, sp, proto := uint16(r.Uint32()), uint16(r.Uint32()), uint8(r.Uint32())
		if got, want := flowHash(c, s, cp, sp, proto), flowHashBytes(c, s, cp, sp, proto); got != want {
			t.Fatalf("flowHash(%v, %v, %d, %d, %d) = %#x, want %#x", c, s, cp, sp, proto, got, want)
		}
	}
}

// flowHashBytes is flowHash without the IPv4 shortcut.
func flowHashBytes(c, s netip.Addr, cp, sp uint16, proto uint8) uint64 {
	var b [37]byte
	c16, s16 := c.As16(), s.As16()
	copy(b[:], c16[:])
	copy(b[16:], s16[:])
	b[32], b[33], b[34], b[35], b[36] = byte(cp>>8), byte(cp), byte(sp>>8), byte(sp), proto
	return uniq.Hash64(b[:])
}

// BenchmarkFlowHash hashes IPv4 5-tuples with flowHash and with the
// bytes it stands for.
func BenchmarkFlowHash(b *testing.B) {
	c, s := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("198.51.100.7")
	var sink uint64
	for _, impl := range []struct {
		name string
		f    func(c, s netip.Addr, cp, sp uint16, proto uint8) uint64
	}{{"shortcut", flowHash}, {"bytes", flowHashBytes}} {
		b.Run(impl.name, func(b *testing.B) {
			cp := uint16(0)
			for b.Loop() {
				cp++
				sink += impl.f(c, s, cp, 443, 6)
			}
		})
	}
	_ = sink
}
