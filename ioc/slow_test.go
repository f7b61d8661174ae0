package ioc

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// refSet is a slow, obvious implementation of the matching rules: a linear
// scan over the indicators, for differential tests.
type refSet struct {
	inds []Indicator
}

// refValid reports whether ind is valid at t (a zero t: always).
func refValid(ind *Indicator, t time.Time) bool {
	if t.IsZero() {
		return true
	}
	return (ind.ValidFrom.IsZero() || !t.Before(ind.ValidFrom)) && (ind.ValidUntil.IsZero() || t.Before(ind.ValidUntil))
}

// refMatch is the Match of ind.
func refMatch(ind *Indicator) Match {
	return Match{
		Indicator: ind.Value, Type: ind.Kind.String(), Feed: ind.Feed,
		MalwareFamily: ind.MalwareFamily, ThreatActor: ind.ThreatActor, Confidence: ind.Confidence, ValidUntil: ind.ValidUntil,
	}
}

func (r *refSet) LookupAddr(addr netip.Addr) (Match, bool) { return r.LookupAddrAt(addr, time.Time{}) }

func (r *refSet) LookupAddrAt(addr netip.Addr, t time.Time) (Match, bool) {
	addr = addr.Unmap().WithZone("")
	for i := range r.inds {
		ind := &r.inds[i]
		if ind.Kind == KindIP && netip.MustParseAddr(ind.Value) == addr && refValid(ind, t) {
			return refMatch(ind), true
		}
	}
	best, bestBits := Match{}, -1
	for i := range r.inds {
		ind := &r.inds[i]
		if ind.Kind != KindCIDR || !refValid(ind, t) {
			continue
		}
		p := netip.MustParsePrefix(ind.Value)
		if p.Contains(addr) && p.Bits() > bestBits {
			best, bestBits = refMatch(ind), p.Bits()
		}
	}
	return best, bestBits >= 0
}

func (r *refSet) LookupDomain(name string) (Match, bool) { return r.LookupDomainAt(name, time.Time{}) }

func (r *refSet) LookupDomainAt(name string, t time.Time) (Match, bool) {
	name = strings.TrimSuffix(name, ".")
	if !isASCII(name) {
		a, err := toALabels(name)
		if err != nil {
			return Match{}, false
		}
		name = a
	}
	var b strings.Builder
	for _, c := range []byte(name) {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	name = b.String()
	best, found := Match{}, false
	for i := range r.inds {
		ind := &r.inds[i]
		if ind.Kind != KindDomain || !refValid(ind, t) {
			continue
		}
		if (name == ind.Value || strings.HasSuffix(name, "."+ind.Value)) && len(ind.Value) > len(best.Indicator) {
			best, found = refMatch(ind), true
		}
	}
	return best, found
}

// randAddr returns an address from a small space so that random indicators
// and queries meet: 10.x.y.z with few values per byte, a few IPv6 addresses
// and their IPv4-mapped forms.
func randAddr(r *rand.Rand) netip.Addr {
	v4 := netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(4) * 64), byte(r.IntN(8) * 32)})
	switch r.IntN(8) {
	case 0:
		return netip.AddrFrom16(v4.As16()) // v4-mapped
	case 1, 2:
		var a [16]byte
		a[0], a[1], a[2], a[3] = 0x20, 0x01, 0x0d, 0xb8
		a[4] = byte(r.IntN(4))
		a[15] = byte(r.IntN(4))
		return netip.AddrFrom16(a)
	}
	return v4
}

var labels = []string{"a", "b", "ev", "evil", "Evil", "EVIL", "x-y", "_s", "1", "c2", "ample", "example"}

// randName returns a random name of up to four labels from a small set, so
// that names and indicators often share suffixes. The last label of an
// indicator is never all digits, since that is not a valid domain.
func randName(r *rand.Rand, indicator bool) string {
	parts := make([]string, 1+r.IntN(4))
	for i := range parts {
		parts[i] = labels[r.IntN(len(labels))]
	}
	if last := &parts[len(parts)-1]; indicator && *last == "1" {
		*last = "z"
	}
	n := strings.Join(parts, ".")
	if r.IntN(4) == 0 {
		n += "."
	}
	return n
}

// randIndicators returns n random indicator values of every kind, not
// canonical (mixed case, trailing dots, v4-mapped forms, host bits set).
func randIndicators(r *rand.Rand, n int) []string {
	vals := make([]string, n)
	for i := range vals {
		switch r.IntN(3) {
		case 0:
			vals[i] = randAddr(r).String()
		case 1:
			a := randAddr(r)
			bits := r.IntN(a.BitLen() + 1)
			if a.Is4In6() {
				bits = 96 + r.IntN(33)
			}
			vals[i] = netip.PrefixFrom(a, bits).String() // host bits may be set
		default:
			vals[i] = randName(r, true)
		}
	}
	return vals
}

func TestDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	hits := map[string]int{} // by Match.Type, "" for misses
	for round := range 200 {
		vals := randIndicators(r, r.IntN(40))
		var list strings.Builder
		inds := make([]Indicator, len(vals))
		for i, v := range vals {
			fmt.Fprintf(&list, "%s # %d\n", v, i)
			inds[i] = Indicator{Value: v}
		}
		s, err := ParseList(strings.NewReader(list.String()), "f")
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		// The reference works from the Set's own indicators, so this
		// compares the matching, not the canonicalisation.
		ref := &refSet{}
		for ind := range s.All() {
			ref.inds = append(ref.inds, ind)
		}
		fromNew := NewSet("f", inds)
		if fromNew.Len() != s.Len() {
			t.Fatalf("round %d: NewSet has %d indicators, ParseList %d", round, fromNew.Len(), s.Len())
		}
		for range 100 {
			a := randAddr(r)
			if r.IntN(10) == 0 && a.Is6() && !a.Is4In6() {
				a = a.WithZone("eth0")
			}
			want, wok := ref.LookupAddr(a)
			got, ok := s.LookupAddr(a)
			if got != want || ok != wok {
				t.Fatalf("round %d: LookupAddr(%s) = %+v, %v, want %+v, %v\nlist:\n%s", round, a, got, ok, want, wok, list.String())
			}
			hits[got.Type]++
			if got2, ok2 := fromNew.LookupAddr(a); got2.Indicator != got.Indicator || ok2 != ok {
				t.Fatalf("round %d: NewSet LookupAddr(%s) = %+v, ParseList %+v", round, a, got2, got)
			}
			name := randName(r, false)
			want, wok = ref.LookupDomain(name)
			got, ok = s.LookupDomain(name)
			if got != want || ok != wok {
				t.Fatalf("round %d: LookupDomain(%q) = %+v, %v, want %+v, %v\nlist:\n%s", round, name, got, ok, want, wok, list.String())
			}
			hits[got.Type]++
			if got2, ok2 := fromNew.LookupDomain(name); got2.Indicator != got.Indicator || ok2 != ok {
				t.Fatalf("round %d: NewSet LookupDomain(%q) = %+v, ParseList %+v", round, name, got2, got)
			}
		}
	}
	// The random data must exercise every outcome.
	for _, typ := range []string{"", "ip", "cidr", "domain"} {
		if hits[typ] < 100 {
			t.Errorf("only %d lookups gave type %q: %v", hits[typ], typ, hits)
		}
	}
	t.Logf("outcomes: %v", hits)
}

// TestReference checks the reference itself on hand-picked cases, so that
// the differential test does not compare two wrong implementations.
func TestReference(t *testing.T) {
	ref := &refSet{inds: []Indicator{
		{Value: "10.0.0.0/8", Kind: KindCIDR},
		{Value: "10.1.0.0/16", Kind: KindCIDR},
		{Value: "10.1.2.3", Kind: KindIP},
		{Value: "evil.example", Kind: KindDomain},
		{Value: "a.evil.example", Kind: KindDomain},
	}}
	for addr, want := range map[string]string{"10.1.2.3": "10.1.2.3", "::ffff:10.1.2.4": "10.1.0.0/16", "10.2.0.0": "10.0.0.0/8", "11.0.0.0": ""} {
		if m, _ := ref.LookupAddr(netip.MustParseAddr(addr)); m.Indicator != want {
			t.Errorf("ref.LookupAddr(%s) = %q, want %q", addr, m.Indicator, want)
		}
	}
	for name, want := range map[string]string{"x.A.Evil.Example.": "a.evil.example", "b.evil.example": "evil.example", "notevil.example": ""} {
		if m, _ := ref.LookupDomain(name); m.Indicator != want {
			t.Errorf("ref.LookupDomain(%s) = %q, want %q", name, m.Indicator, want)
		}
	}
}
