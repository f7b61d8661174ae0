package ioc

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func FuzzParseList(f *testing.F) {
	for _, seed := range []string{
		"",
		"# comment\n\n192.0.2.1\n",
		"\ufeff10.0.0.0/8\r\nEvil.Example.\r\n",
		"2001:db8::/32 # trailing\n::ffff:192.0.2.0/120\n::ffff:0:0/96\n",
		"192.0.2.77/24\nlocalhost\n_dmarc.x-y.example\n",
		"300.1.1.1\nhttps://evil.example/\n*.evil.example\nfe80::1%eth0\n",
		"a..b\n.\n..\n1.2.3\n[::1]\n1.2.3.4:80\n",
		"0.0.0.0/0\n::/0\n192.0.2.1/32\n2001:db8::1/128\n",
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		s, err := ParseList(strings.NewReader(list), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrBadIndicator) {
				t.Fatalf("error %v (%T) is not a bad-indicator *ParseError", err, err)
			}
			if pe.Line < 1 || pe.Line > strings.Count(list, "\n")+1 || pe.More < 0 || !strings.HasPrefix(err.Error(), "ioc: feed \"fuzz\" line ") {
				t.Fatalf("implausible ParseError %+v: %v", pe, err)
			}
			return
		}
		ref := &refSet{}
		var inds []Indicator
		for ind := range s.All() {
			ref.inds = append(ref.inds, ind)
			inds = append(inds, Indicator{Value: ind.Value, Kind: ind.Kind})
		}
		if n := NewSet("fuzz", inds).Len(); n != s.Len() {
			t.Fatalf("NewSet of the canonical indicators has %d, want %d", n, s.Len())
		}
		for _, ind := range ref.inds {
			// Canonical values are fixed points of canonicalisation.
			if c, err := canonicalize(Indicator{Value: ind.Value}); err != nil || c.Value != ind.Value || c.Kind != ind.Kind {
				t.Fatalf("canonicalize(%q) = %+v, %v; want itself, %v", ind.Value, c, err, ind.Kind)
			}
			if ind.Feed != "fuzz" || ind.Line < 1 {
				t.Fatalf("indicator %+v: bad feed or line", ind)
			}
			// Every indicator matches itself, agreeing with the reference.
			switch ind.Kind {
			case KindIP:
				a := netip.MustParseAddr(ind.Value)
				m, ok := s.LookupAddr(a)
				if !ok || m.Indicator != ind.Value || m.Type != "ip" {
					t.Fatalf("LookupAddr(%s) = %+v, %v; want itself", a, m, ok)
				}
			case KindCIDR:
				p := netip.MustParsePrefix(ind.Value)
				for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
					m, ok := s.LookupAddr(a)
					want, _ := ref.LookupAddr(a)
					// An IPv6 prefix does not match the IPv4-mapped
					// addresses it covers: they are looked up as IPv4.
					if m != want || !ok && !a.Is4In6() {
						t.Fatalf("LookupAddr(%s) = %+v, %v; want %+v", a, m, ok, want)
					}
					if m.Type == "cidr" && netip.MustParsePrefix(m.Indicator).Bits() < p.Bits() {
						t.Fatalf("LookupAddr(%s) = %+v, shorter than %s", a, m, p)
					}
				}
			case KindDomain:
				for _, q := range []string{ind.Value, strings.ToUpper(ind.Value) + ".", "x." + ind.Value, "x" + ind.Value} {
					m, ok := s.LookupDomain(q)
					want, wok := ref.LookupDomain(q)
					if m != want || ok != wok {
						t.Fatalf("LookupDomain(%q) = %+v, %v; want %+v, %v", q, m, ok, want, wok)
					}
				}
				if m, ok := s.LookupDomain(ind.Value); !ok || m.Indicator != ind.Value {
					t.Fatalf("LookupDomain(%q) = %+v, %v; want itself", ind.Value, m, ok)
				}
			default:
				t.Fatalf("indicator %+v has an invalid kind", ind)
			}
		}
	})
}

// lastAddr returns the last address of the masked prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzLookup compares lookups of arbitrary queries (untrusted SNI, host
// names and addresses) with the reference implementation.
func FuzzLookup(f *testing.F) {
	list := "192.0.2.0/24\n192.0.2.1\n2001:db8::/32\n::ffff:198.51.100.0/120\nevil.example\nc2.other.example\nbad\n"
	for _, q := range []string{
		"evil.example", "A.EVIL.EXAMPLE.", "notevil.example", "x.c2.other.example", "other.example",
		"very.bad", "192.0.2.9", "::ffff:192.0.2.1", "2001:db8::1%eth0", "198.51.100.7", "", ".", "..",
		"a..evil.example", "evil.example..", "\u212Aevil.example", strings.Repeat("a.", 130) + "bad",
	} {
		f.Add(list, q)
	}
	f.Fuzz(func(t *testing.T, list, query string) {
		s, err := ParseList(strings.NewReader(list), "fuzz")
		if err != nil {
			return
		}
		ref := &refSet{}
		for ind := range s.All() {
			ref.inds = append(ref.inds, ind)
		}
		m, ok := s.LookupDomain(query)
		want, wok := ref.LookupDomain(query)
		if len(strings.TrimSuffix(query, ".")) > maxDomainLen {
			want, wok = Match{}, false // too long to be a domain name
		}
		if m != want || ok != wok {
			t.Fatalf("LookupDomain(%q) = %+v, %v; want %+v, %v", query, m, ok, want, wok)
		}
		if a, err := netip.ParseAddr(query); err == nil {
			m, ok := s.LookupAddr(a)
			want, wok := ref.LookupAddr(a)
			if m != want || ok != wok {
				t.Fatalf("LookupAddr(%s) = %+v, %v; want %+v, %v", a, m, ok, want, wok)
			}
		}
	})
}
