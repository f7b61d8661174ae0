package ioc

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
)

// mustParseList parses a list or fails the test.
func mustParseList(t testing.TB, feed, list string) *Set {
	t.Helper()
	s, err := ParseList(strings.NewReader(list), feed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const lookupList = `
192.0.2.1
192.0.2.0/24
192.0.2.128/25
192.0.2.192/26
10.0.0.0/8
10.1.0.0/16
0.0.0.0/0
2001:db8::1
2001:db8::/32
2001:db8:aa::/48
::ffff:198.51.100.0/120
203.0.113.5/32
203.0.113.5
`

func TestLookupAddr(t *testing.T) {
	s := mustParseList(t, "f", lookupList)
	tests := []struct {
		addr string
		want string // matching indicator, "" for none
		typ  string
	}{
		{"192.0.2.1", "192.0.2.1", "ip"},          // exact beats any prefix
		{"192.0.2.2", "192.0.2.0/24", "cidr"},     // only the /24 contains it
		{"192.0.2.130", "192.0.2.128/25", "cidr"}, // /25 beats /24
		{"192.0.2.200", "192.0.2.192/26", "cidr"}, // /26 beats /25 and /24
		{"192.0.2.255", "192.0.2.192/26", "cidr"},
		{"10.1.2.3", "10.1.0.0/16", "cidr"},
		{"10.2.2.3", "10.0.0.0/8", "cidr"},
		{"8.8.8.8", "0.0.0.0/0", "cidr"},
		{"::ffff:192.0.2.1", "192.0.2.1", "ip"}, // v4-mapped lookups unmap
		{"::ffff:10.1.0.1", "10.1.0.0/16", "cidr"},
		{"198.51.100.77", "198.51.100.0/24", "cidr"}, // v4-mapped indicator unmapped
		{"203.0.113.5", "203.0.113.5", "ip"},         // exact IP before a /32
		{"2001:db8::1", "2001:db8::1", "ip"},
		{"2001:db8::1%eth0", "2001:db8::1", "ip"}, // zone ignored
		{"2001:db8::2", "2001:db8::/32", "cidr"},
		{"2001:db8:aa::1", "2001:db8:aa::/48", "cidr"},
		{"2001:db9::1", "", ""}, // 0.0.0.0/0 is IPv4 only
		{"::", "", ""},
	}
	for _, tt := range tests {
		got, ok := s.LookupAddr(netip.MustParseAddr(tt.addr))
		want := Match{Indicator: tt.want, Type: tt.typ, Feed: "f"}
		if tt.want == "" {
			want = Match{}
		}
		if ok != (tt.want != "") || got != want {
			t.Errorf("LookupAddr(%s) = %+v, %v, want %+v", tt.addr, got, ok, want)
		}
	}
	if m, ok := s.LookupAddr(netip.Addr{}); ok {
		t.Errorf("LookupAddr(invalid) = %+v, true", m)
	}
}

func TestLookupAddrNoDefaultRoute(t *testing.T) {
	s := mustParseList(t, "f", "10.0.0.0/8\n2001:db8::/32\n")
	for _, a := range []string{"11.0.0.1", "9.255.255.255", "2001:db9::", "::ffff:11.0.0.1", "::a00:1"} {
		if m, ok := s.LookupAddr(netip.MustParseAddr(a)); ok {
			t.Errorf("LookupAddr(%s) = %+v, want no match", a, m)
		}
	}
}

func TestLookupAddrFamilies(t *testing.T) {
	// An IPv6 prefix never matches an IPv4 address, mapped or not; an
	// IPv4 prefix matches the IPv4-mapped form of its addresses.
	s := mustParseList(t, "f", "::/0\n::ffff:0:0/95\n")
	for _, a := range []string{"192.0.2.1", "::ffff:192.0.2.1"} {
		if m, ok := s.LookupAddr(netip.MustParseAddr(a)); ok {
			t.Errorf("LookupAddr(%s) = %+v, want no match", a, m)
		}
	}
	if m, ok := s.LookupAddr(netip.MustParseAddr("2001:db8::1")); !ok || m.Indicator != "::/0" {
		t.Errorf("LookupAddr(2001:db8::1) = %+v, %v, want ::/0", m, ok)
	}
	s = mustParseList(t, "f", "::ffff:0:0/96\n")
	for _, a := range []string{"192.0.2.1", "::ffff:192.0.2.1"} {
		if m, ok := s.LookupAddr(netip.MustParseAddr(a)); !ok || m.Indicator != "0.0.0.0/0" {
			t.Errorf("LookupAddr(%s) = %+v, %v, want 0.0.0.0/0", a, m, ok)
		}
	}
}

func TestLookupDomain(t *testing.T) {
	s := mustParseList(t, "f", "evil.example\nc2.other.example\nbad\nx.y.deep.example\ndeep.example\n")
	tests := []struct {
		name, want string
	}{
		{"evil.example", "evil.example"}, // the bare domain itself
		{"a.evil.example", "evil.example"},
		{"a.b.c.evil.example", "evil.example"},
		{"EVIL.Example", "evil.example"},
		{"evil.example.", "evil.example"},
		{"WWW.EVIL.EXAMPLE.", "evil.example"},
		{"notevil.example", ""},  // not on a label boundary
		{"evil.example.com", ""}, // indicator is not a prefix
		{"evilexample", ""},
		{"example", ""},
		{"other.example", ""}, // a parent of an indicator does not match
		{"c2.other.example", "c2.other.example"},
		{"x.c2.other.example", "c2.other.example"},
		{"bad", "bad"}, // single-label indicator
		{"very.bad", "bad"},
		{"notbad", ""},
		{"z.x.y.deep.example", "x.y.deep.example"}, // longest suffix wins
		{"y.deep.example", "deep.example"},
		{"", ""},
		{".", ""},
		{"evil.example..", ""},
		{"..evil.example", "evil.example"},
		{"a..evil.example", "evil.example"},
		{".evil.example", "evil.example"},
		{strings.Repeat("a.", 150) + "evil.example", ""}, // longer than any domain
		{strings.Repeat("a.", 120) + "evil.example", "evil.example"},
		{strings.Repeat("A.", 120) + "EVIL.EXAMPLE.", "evil.example"},
		{"\u212Aevil.example", ""}, // Kelvin sign: not ASCII case folding
	}
	for _, tt := range tests {
		got, ok := s.LookupDomain(tt.name)
		want := Match{Indicator: tt.want, Type: "domain", Feed: "f"}
		if tt.want == "" {
			want = Match{}
		}
		if ok != (tt.want != "") || got != want {
			t.Errorf("LookupDomain(%q) = %+v, %v, want %+v", tt.name, got, ok, want)
		}
	}
}

func TestNilAndEmptySet(t *testing.T) {
	for _, s := range []*Set{nil, NewSet("empty", nil)} {
		if _, ok := s.LookupAddr(netip.MustParseAddr("192.0.2.1")); ok {
			t.Errorf("%v: LookupAddr matched", s)
		}
		if _, ok := s.LookupDomain("evil.example"); ok {
			t.Errorf("%v: LookupDomain matched", s)
		}
		if s.Len() != 0 {
			t.Errorf("%v: Len() = %d", s, s.Len())
		}
		for ind := range s.All() {
			t.Errorf("%v: All yielded %+v", s, ind)
		}
	}
	if NewSet("empty", nil).Feed() != "empty" || (*Set)(nil).Feed() != "" {
		t.Error("Feed() of an empty or nil set is wrong")
	}
}

func TestNewSet(t *testing.T) {
	inds := []Indicator{
		{Value: "192.0.2.1", Kind: KindIP},
		{Value: "::FFFF:192.0.2.2", Kind: KindIP, Feed: "other", Line: 7},
		{Value: "192.0.2.77/24", Kind: KindCIDR},
		{Value: "Evil.Example.", Kind: KindDomain},
		{Value: "2001:db8::/32"}, // kind inferred
		{Value: "inferred.example"},
		{Value: "192.0.2.1", Kind: KindIP},                   // duplicate
		{Value: "evil.example", Kind: KindDomain, Feed: "x"}, // duplicate
		{Value: "192.0.2.0/24", Kind: KindIP},                // wrong kind: dropped
		{Value: "192.0.2.3", Kind: KindCIDR},                 // wrong kind: dropped
		{Value: "300.1.1.1", Kind: KindDomain},               // invalid: dropped
		{Value: "fe80::1%eth0", Kind: KindIP},                // zone: dropped
		{Value: "evil.example", Kind: 42},                    // unknown kind: dropped
		{Value: "http://evil.example/"},                      // URL: dropped
		{Value: "1.2.3.4.evil.example", Kind: KindDomain},    // fine
	}
	s := NewSet("feed", inds)
	var got []string
	for ind := range s.All() {
		got = append(got, fmt.Sprintf("%s %s %s %d", ind.Value, ind.Kind, ind.Feed, ind.Line))
	}
	want := []string{
		"192.0.2.1 ip feed 0",
		"192.0.2.2 ip other 7",
		"192.0.2.0/24 cidr feed 0",
		"evil.example domain feed 0",
		"2001:db8::/32 cidr feed 0",
		"inferred.example domain feed 0",
		"1.2.3.4.evil.example domain feed 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("NewSet indicators:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if s.Len() != len(want) {
		t.Errorf("Len() = %d, want %d", s.Len(), len(want))
	}
	// The input slice is not retained.
	inds[0].Value = "changed"
	if m, ok := s.LookupAddr(netip.MustParseAddr("192.0.2.1")); !ok || m.Indicator != "192.0.2.1" {
		t.Errorf("after changing the input: LookupAddr = %+v, %v", m, ok)
	}
	if m, ok := s.LookupAddr(netip.MustParseAddr("192.0.2.2")); !ok || m.Feed != "other" {
		t.Errorf("LookupAddr(192.0.2.2) = %+v, %v, want feed \"other\"", m, ok)
	}
}

func TestLookupAllocs(t *testing.T) {
	s := benchSet(10_000)
	addrs := []netip.Addr{
		netip.MustParseAddr("192.0.2.1"),
		netip.MustParseAddr("::ffff:10.1.2.3"),
		netip.MustParseAddr("2001:db8::1%eth0"),
		netip.MustParseAddr("203.0.113.250"),
	}
	names := []string{
		"evil.example",
		"a.b.c.d.e.f.g.h.notlisted.example.",
		"WWW.D17.EVIL.EXAMPLE.",
		strings.Repeat("Ab.", 80) + "example",
	}
	var sink bool
	allocs := testing.AllocsPerRun(100, func() {
		for _, a := range addrs {
			_, ok := s.LookupAddr(a)
			sink = sink != ok
		}
		for _, n := range names {
			_, ok := s.LookupDomain(n)
			sink = sink != ok
		}
	})
	if allocs != 0 {
		t.Errorf("lookups allocate %v times per run, want 0", allocs)
	}
	_ = sink
}
