package exfil

import (
	"math/rand/v2"
	"net/netip"
	"testing"
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
