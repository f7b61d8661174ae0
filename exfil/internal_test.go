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

// TestHomeNetMatchesPrefixes checks Internal, Owned and External, which
// test IPv4 addresses as integers, against netip.Prefix.Contains on
// random prefixes (every length 0-32, IPv4-mapped ones too) and addresses
// (IPv4, IPv4-mapped, IPv6).
func TestHomeNetMatchesPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	addr := func() netip.Addr {
		var b [4]byte
		for i := range b {
			b[i] = byte(r.IntN(4)) // few values: prefixes match often
		}
		a := netip.AddrFrom4(b)
		switch r.IntN(5) {
		case 0:
			return netip.AddrFrom16(a.As16()) // IPv4-mapped
		case 1:
			return netip.AddrFrom16([16]byte{0xfd, 15: b[3]})
		}
		return a
	}
	prefixes := func() []netip.Prefix {
		ps := make([]netip.Prefix, r.IntN(4))
		for i := range ps {
			a := addr()
			bits := r.IntN(a.BitLen() + 1)
			ps[i], _ = a.Prefix(bits)
		}
		return ps
	}
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range ps {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for range 2000 {
		internal, owned := prefixes(), prefixes()
		h := NewHomeNet(internal, owned)
		for range 50 {
			a := addr()
			wi, wo := in(internal, a), in(owned, a)
			if h.Internal(a) != wi || h.Owned(a) != wo || h.External(a) != (!wi && !wo) {
				t.Fatalf("home net %v owned %v, %v: Internal %t Owned %t External %t, want %t %t %t",
					internal, owned, a, h.Internal(a), h.Owned(a), h.External(a), wi, wo, !wi && !wo)
			}
		}
	}
}

// BenchmarkHomeNet classifies IPv4 addresses, as every record's two
// endpoints are, against the default home net and against netip.Prefix
// containment of the same prefixes.
func BenchmarkHomeNet(b *testing.B) {
	h := DefaultHomeNet()
	addrs := make([]netip.Addr, 1024)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	var sink int
	b.Run("words", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if h.External(addrs[i&1023]) {
				sink++
			}
			i++
		}
	})
	b.Run("prefixes", func(b *testing.B) {
		i := 0
		for b.Loop() {
			a := addrs[i&1023].Unmap()
			if !contains(h.internal, a) && !contains(h.owned, a) {
				sink++
			}
			i++
		}
	})
	_ = sink
}
