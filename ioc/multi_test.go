package ioc

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// funcMatcher is a Matcher built from a function, to test Multi with a
// non-Set element.
type funcMatcher func(string) (Match, bool)

func (f funcMatcher) LookupAddr(a netip.Addr) (Match, bool) { return f(a.String()) }
func (f funcMatcher) LookupDomain(n string) (Match, bool)   { return f(n) }
func (f funcMatcher) Len() int                              { return 1 }

func TestMulti(t *testing.T) {
	a := mustParseList(t, "a.txt", "192.0.2.0/24\nevil.example\n")
	b := mustParseList(t, "b.txt", "192.0.2.1\nc2.evil.example\n198.51.100.1\n")
	custom := funcMatcher(func(s string) (Match, bool) {
		if s == "192.0.2.1" || s == "c2.evil.example" {
			return Match{Indicator: s, Type: "custom", Feed: "custom"}, true
		}
		return Match{}, false
	})
	m := Multi{a, nil, b, (*Set)(nil), custom}

	if got, want := m.Len(), 2+3+1; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}

	addr := netip.MustParseAddr("192.0.2.1")
	got, ok := m.LookupAddr(addr)
	if want := (Match{Indicator: "192.0.2.0/24", Type: "cidr", Feed: "a.txt"}); !ok || got != want {
		t.Errorf("LookupAddr = %+v, %v, want first element's %+v", got, ok, want)
	}
	got, ok = m.LookupAddr(netip.MustParseAddr("198.51.100.1"))
	if want := (Match{Indicator: "198.51.100.1", Type: "ip", Feed: "b.txt"}); !ok || got != want {
		t.Errorf("LookupAddr = %+v, %v, want %+v", got, ok, want)
	}
	if got, ok := m.LookupAddr(netip.MustParseAddr("203.0.113.1")); ok {
		t.Errorf("LookupAddr(miss) = %+v", got)
	}

	prefix := []Match{{Indicator: "keep"}}
	all := m.AppendAddrMatches(prefix, addr)
	wantAll := []Match{
		{Indicator: "keep"},
		{Indicator: "192.0.2.0/24", Type: "cidr", Feed: "a.txt"},
		{Indicator: "192.0.2.1", Type: "ip", Feed: "b.txt"},
		{Indicator: "192.0.2.1", Type: "custom", Feed: "custom"},
	}
	if diff := cmp.Diff(wantAll, all); diff != "" {
		t.Errorf("AppendAddrMatches (-want +got):\n%s", diff)
	}

	got, ok = m.LookupDomain("C2.Evil.Example.")
	if want := (Match{Indicator: "evil.example", Type: "domain", Feed: "a.txt"}); !ok || got != want {
		t.Errorf("LookupDomain = %+v, %v, want %+v", got, ok, want)
	}
	all = m.AppendDomainMatches(nil, "c2.evil.example")
	wantAll = []Match{
		{Indicator: "evil.example", Type: "domain", Feed: "a.txt"},
		{Indicator: "c2.evil.example", Type: "domain", Feed: "b.txt"},
		{Indicator: "c2.evil.example", Type: "custom", Feed: "custom"},
	}
	if diff := cmp.Diff(wantAll, all); diff != "" {
		t.Errorf("AppendDomainMatches (-want +got):\n%s", diff)
	}
	if all := m.AppendDomainMatches(nil, "benign.example"); len(all) != 0 {
		t.Errorf("AppendDomainMatches(miss) = %+v", all)
	}

	var empty Multi
	if _, ok := empty.LookupAddr(addr); ok || empty.Len() != 0 || len(empty.AppendAddrMatches(nil, addr)) != 0 {
		t.Error("empty Multi matched")
	}
	if _, ok := empty.LookupDomain("evil.example"); ok || len(empty.AppendDomainMatches(nil, "evil.example")) != 0 {
		t.Error("empty Multi matched a domain")
	}
}

func TestMultiAllocs(t *testing.T) {
	m := Multi{mustParseList(t, "a", "192.0.2.0/24\nevil.example\n"), mustParseList(t, "b", "192.0.2.1\nEVIL.example\n")}
	addr := netip.MustParseAddr("192.0.2.1")
	dst := make([]Match, 0, 4)
	allocs := testing.AllocsPerRun(100, func() {
		dst = m.AppendAddrMatches(dst[:0], addr)
		dst = m.AppendDomainMatches(dst, "www.evil.example")
	})
	if allocs != 0 || len(dst) != 4 {
		t.Errorf("Append*Matches: %v allocs, %d matches; want 0, 4", allocs, len(dst))
	}
}

// TestConcurrentLookups runs lookups from several goroutines; with -race it
// checks that lookups only read shared state.
func TestConcurrentLookups(t *testing.T) {
	m := Multi{benchSet(2000), mustParseList(t, "b", "192.0.2.0/24\nevil.example\n")}
	addr := netip.MustParseAddr("192.0.2.7")
	done := make(chan int)
	for range 4 {
		go func() {
			n := 0
			for range 500 {
				n += len(m.AppendAddrMatches(nil, addr))
				n += len(m.AppendDomainMatches(nil, "X.Evil.Example."))
			}
			done <- n
		}()
	}
	for range 4 {
		if n := <-done; n != 1000 {
			t.Errorf("goroutine saw %d matches, want 1000", n)
		}
	}
}

func TestMultiAt(t *testing.T) {
	timed := NewSet("timed", []Indicator{
		{Value: "192.0.2.0/24", ValidUntil: t1, MalwareFamily: "old"},
		{Value: "evil.example", ValidFrom: t1},
	})
	plain := funcMatcher(func(s string) (Match, bool) {
		return Match{Indicator: s, Type: "custom", Feed: "custom"}, s == "192.0.2.1" || s == "c2.evil.example"
	})
	m := Multi{nil, timed, plain}
	a := netip.MustParseAddr("192.0.2.1")
	if got := m.AppendAddrMatchesAt(nil, a, t0); len(got) != 2 || got[0].MalwareFamily != "old" || got[1].Feed != "custom" {
		t.Errorf("AppendAddrMatchesAt(t0) = %+v", got)
	}
	if got := m.AppendAddrMatchesAt(nil, a, t2); len(got) != 1 || got[0].Feed != "custom" {
		t.Errorf("AppendAddrMatchesAt(t2) = %+v, want only the plain matcher's", got)
	}
	if got := m.AppendDomainMatchesAt(nil, "c2.evil.example", t0); len(got) != 1 || got[0].Feed != "custom" {
		t.Errorf("AppendDomainMatchesAt(t0) = %+v", got)
	}
	if got := m.AppendDomainMatchesAt(nil, "c2.evil.example", t2); len(got) != 2 || got[0].Feed != "timed" {
		t.Errorf("AppendDomainMatchesAt(t2) = %+v", got)
	}
	if mt, ok := m.LookupAddrAt(a, t0); !ok || mt.Feed != "timed" {
		t.Errorf("LookupAddrAt(t0) = %+v, %v", mt, ok)
	}
	if mt, ok := m.LookupAddrAt(a, t2); !ok || mt.Feed != "custom" {
		t.Errorf("LookupAddrAt(t2) = %+v, %v", mt, ok)
	}
	if mt, ok := m.LookupDomainAt("x.evil.example", t0); ok {
		t.Errorf("LookupDomainAt(t0) = %+v", mt)
	}
	if mt, ok := m.LookupDomainAt("x.evil.example", t2); !ok || mt.Feed != "timed" {
		t.Errorf("LookupDomainAt(t2) = %+v, %v", mt, ok)
	}
	// Nested Multis pass the time on.
	if got := (Multi{m}).AppendAddrMatchesAt(nil, a, t2); len(got) != 1 {
		t.Errorf("nested Multi = %+v", got)
	}
	dst := make([]Match, 0, 4)
	sets := Multi{timed, nil, timed} // funcMatcher allocates in a.String
	allocs := testing.AllocsPerRun(100, func() {
		dst = sets.AppendAddrMatchesAt(dst[:0], a, t0)
		dst = sets.AppendDomainMatchesAt(dst, "www.evil.example", t2)
	})
	if allocs != 0 {
		t.Errorf("Append*MatchesAt allocate %v times", allocs)
	}
}
