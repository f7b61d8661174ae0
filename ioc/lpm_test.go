package ioc

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// randDeepAddr returns an address from a space where random prefixes of
// every length nest and share long paths: few distinct values per byte,
// in both families.
func randDeepAddr(r *rand.Rand) netip.Addr {
	if r.IntN(2) == 0 {
		var b [4]byte
		for i := range b {
			b[i] = byte(r.IntN(3)) << (r.IntN(2) * 7)
		}
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	for i := 2; i < 16; i++ {
		if r.IntN(3) == 0 {
			b[i] = byte(r.IntN(2)) << 7
		}
	}
	return netip.AddrFrom16(b)
}

// window returns a random validity period around the epoch base, open at
// either end or both.
func randWindow(r *rand.Rand, base time.Time) (from, until time.Time) {
	if r.IntN(3) == 0 {
		from = base.Add(time.Duration(r.IntN(10)) * time.Hour)
	}
	if r.IntN(3) == 0 {
		until = base.Add(time.Duration(1+r.IntN(10)) * time.Hour)
		if !from.IsZero() && !until.After(from) {
			until = from.Add(time.Hour)
		}
	}
	return from, until
}

// TestLPMDifferential compares LookupAddrAt and LookupDomainAt with the
// reference on random indicators of every prefix length, with evidence and
// validity periods (including several periods for one value), at random
// times.
func TestLPMDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 4))
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	outcomes := map[string]int{}
	for round := range 300 {
		var inds []Indicator
		for i := range r.IntN(60) {
			var ind Indicator
			switch r.IntN(3) {
			case 0:
				ind = Indicator{Value: randDeepAddr(r).String()}
			case 1:
				a := randDeepAddr(r)
				ind = Indicator{Value: netip.PrefixFrom(a, r.IntN(a.BitLen()+1)).Masked().String()}
			default:
				ind = Indicator{Value: randName(r, true)}
			}
			ind.ValidFrom, ind.ValidUntil = randWindow(r, base)
			ind.MalwareFamily = fmt.Sprintf("fam%d", i%3)
			ind.Confidence = r.IntN(101)
			inds = append(inds, ind)
		}
		s := NewSet("f", inds)
		ref := &refSet{}
		for ind := range s.All() {
			ref.inds = append(ref.inds, ind)
		}
		for range 200 {
			at := time.Time{}
			if r.IntN(5) != 0 {
				at = base.Add(time.Duration(r.IntN(12*60)) * time.Minute)
			}
			a := randDeepAddr(r)
			got, ok := s.LookupAddrAt(a, at)
			want, wok := ref.LookupAddrAt(a, at)
			if got != want || ok != wok {
				t.Fatalf("round %d: LookupAddrAt(%s, %v) = %+v, %v; want %+v, %v\nindicators: %+v", round, a, at, got, ok, want, wok, ref.inds)
			}
			outcomes[got.Type]++
			name := randName(r, false)
			got, ok = s.LookupDomainAt(name, at)
			want, wok = ref.LookupDomainAt(name, at)
			if got != want || ok != wok {
				t.Fatalf("round %d: LookupDomainAt(%q, %v) = %+v, %v; want %+v, %v", round, name, at, got, ok, want, wok)
			}
			outcomes[got.Type]++
		}
	}
	for _, typ := range []string{"", "ip", "cidr", "domain"} {
		if outcomes[typ] < 500 {
			t.Errorf("only %d lookups gave type %q: %v", outcomes[typ], typ, outcomes)
		}
	}
	t.Logf("outcomes: %v", outcomes)
}

// TestLPMShapes checks the trie on hand-picked shapes: a leaf beside a
// node, /0 and full-length prefixes, prefixes on every stride boundary.
func TestLPMShapes(t *testing.T) {
	var list string
	for bits := 0; bits <= 32; bits++ {
		list += netip.PrefixFrom(netip.MustParseAddr("10.255.255.255"), bits).Masked().String() + "\n"
	}
	for bits := 0; bits <= 128; bits += 7 {
		list += netip.PrefixFrom(netip.MustParseAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), bits).Masked().String() + "\n"
	}
	list += "192.0.2.128/25\n198.51.100.0/31\n2001:db8:1::/127\n"
	s := mustParseList(t, "f", list)
	ref := &refSet{}
	for ind := range s.All() {
		ref.inds = append(ref.inds, ind)
	}
	r := rand.New(rand.NewPCG(1, 1))
	for range 20000 {
		var a netip.Addr
		if r.IntN(2) == 0 {
			a = netip.AddrFrom4([4]byte{[]byte{10, 192, 198, 0}[r.IntN(4)], byte(0xff - r.IntN(2)<<r.IntN(8)), byte(0xff - r.IntN(2)<<r.IntN(8)), byte(r.Uint32())})
		} else {
			b := netip.MustParseAddr("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff").As16()
			b[r.IntN(16)] ^= 1 << r.IntN(8)
			a = netip.AddrFrom16(b)
		}
		got, ok := s.LookupAddr(a)
		want, wok := ref.LookupAddr(a)
		if got != want || ok != wok {
			t.Fatalf("LookupAddr(%s) = %+v, %v; want %+v, %v", a, got, ok, want, wok)
		}
	}
}
