package pdns

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"testing"
)

func TestObserveLookup(t *testing.T) {
	m := New(0)
	a := netip.MustParseAddr("192.0.2.1")
	if _, ok := m.Lookup(a); ok {
		t.Fatal("empty map found a name")
	}
	m.Observe("WWW.Example.COM.", a)
	if n, ok := m.Lookup(a); !ok || n != "www.example.com" {
		t.Fatalf("Lookup = %q, %v; want www.example.com", n, ok)
	}
	// IPv4-mapped IPv6 is the same address.
	if n, _ := m.Lookup(netip.MustParseAddr("::ffff:192.0.2.1")); n != "www.example.com" {
		t.Fatalf("mapped Lookup = %q", n)
	}
	m.Observe("cdn.example.net", a)
	m.Observe("www.example.com", a) // back to the front
	if got, want := m.Names(a), []string{"www.example.com", "cdn.example.net"}; !slices.Equal(got, want) {
		t.Fatalf("Names = %q, want %q", got, want)
	}
	for i := range 10 {
		m.Observe(fmt.Sprintf("n%d.example", i), a)
	}
	if got := m.Names(a); len(got) != MaxNames || got[0] != "n9.example" || got[3] != "n6.example" {
		t.Fatalf("Names after 10 more = %q", got)
	}
	m.Observe("", a)
	m.Observe(".", a)
	m.Observe("x.example", netip.Addr{})
	if m.Len() != 1 {
		t.Fatalf("Len = %d, want 1", m.Len())
	}
}

func TestBounded(t *testing.T) {
	const capacity = 256
	m := New(capacity)
	hot := netip.MustParseAddr("2001:db8::1")
	m.Observe("hot.example", hot)
	for i := range 100 * capacity {
		m.Observe("cold.example", netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
		if i%8 == 0 {
			m.Lookup(hot) // keeps it referenced
		}
	}
	per := (capacity + shardCount - 1) / shardCount
	if n := m.Len(); n > per*shardCount {
		t.Fatalf("Len = %d > capacity %d", n, per*shardCount)
	}
	if m.Evicted() == 0 {
		t.Fatal("no eviction counted")
	}
	if got := uint64(m.Len()) + m.Evicted(); got != 100*capacity+1 {
		t.Fatalf("held + evicted = %d, want %d", got, 100*capacity+1)
	}
	if _, ok := m.Lookup(hot); !ok {
		t.Fatal("a frequently looked-up address was evicted")
	}
}

func TestConcurrent(t *testing.T) {
	m := New(1024)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5000 {
				a := netip.AddrFrom4([4]byte{192, 0, byte(g), byte(i)})
				m.Observe(fmt.Sprintf("h%d.example", i%7), a)
				m.Lookup(a)
				m.Names(a)
			}
		})
	}
	wg.Wait()
	if m.Len() > 1024 {
		t.Fatalf("Len = %d", m.Len())
	}
}

func BenchmarkLookupHit(b *testing.B) {
	m := New(1 << 16)
	addrs := make([]netip.Addr, 1<<16)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)})
		m.Observe("x.example", addrs[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		m.Lookup(addrs[i&(1<<16-1)])
		i++
	}
}
