package ioc

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// benchSet returns a deterministic Set of about n indicators: 50% IPv4
// addresses, 10% IPv6 addresses, 15% IPv4 prefixes of lengths 8 to 32, 5%
// IPv6 prefixes and 20% domains.
func benchSet(n int) *Set {
	r := rand.New(rand.NewPCG(1, 2))
	inds := make([]Indicator, 0, n)
	for i := range n {
		var v string
		switch p := i % 20; {
		case p < 10:
			v = netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())}).String()
		case p < 12:
			v = fmt.Sprintf("2001:db8:%x::%x", r.IntN(1<<16), r.Uint32())
		case p < 15:
			a := netip.AddrFrom4([4]byte{byte(r.IntN(224)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
			v = netip.PrefixFrom(a, 8+r.IntN(25)).Masked().String()
		case p < 16:
			v = fmt.Sprintf("2001:db8:%x::/%d", r.IntN(1<<16), 32+r.IntN(33))
		default:
			v = fmt.Sprintf("d%d.evil.example", i)
		}
		inds = append(inds, Indicator{Value: v})
	}
	return NewSet("bench", inds)
}

func BenchmarkLookupAddr(b *testing.B) {
	s := benchSet(100_000)
	var hitIP, hitCIDR netip.Addr
	for ind := range s.All() {
		switch {
		case ind.Kind == KindIP && !hitIP.IsValid():
			hitIP = netip.MustParseAddr(ind.Value)
		case ind.Kind == KindCIDR && !hitCIDR.IsValid():
			p := netip.MustParsePrefix(ind.Value)
			if p.Addr().Is4() && p.Bits() >= 16 {
				hitCIDR = p.Addr().Next()
			}
		}
	}
	for _, bc := range []struct {
		name string
		addr netip.Addr
	}{
		{"exact", hitIP},
		{"cidr", hitCIDR},
		{"miss-v4", netip.MustParseAddr("240.0.0.1")},
		{"miss-v6", netip.MustParseAddr("2001:db9::1")},
		{"v4-mapped", netip.AddrFrom16(hitIP.As16())},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, ok := s.LookupAddr(bc.addr); ok != (bc.name != "miss-v4" && bc.name != "miss-v6") {
				b.Fatalf("LookupAddr(%s) = %v", bc.addr, ok)
			}
			b.ReportAllocs()
			for b.Loop() {
				s.LookupAddr(bc.addr)
			}
		})
	}
}

func BenchmarkLookupDomain(b *testing.B) {
	s := benchSet(100_000)
	for _, bc := range []struct {
		name, query string
		hit         bool
	}{
		{"exact", "d16.evil.example", true},
		{"subdomain", "a.b.c.d16.evil.example", true},
		{"upper-case", "WWW.D16.Evil.Example.", true},
		{"miss", "www.benign.example.org", false},
		{"miss-deep", "a.b.c.d.e.f.g.h.i.j.benign.example", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			if _, ok := s.LookupDomain(bc.query); ok != bc.hit {
				b.Fatalf("LookupDomain(%q) = %v", bc.query, ok)
			}
			b.ReportAllocs()
			for b.Loop() {
				s.LookupDomain(bc.query)
			}
		})
	}
}

// nullProvider answers nothing; the benchmark measures the cache alone.
type nullProvider struct{}

func (nullProvider) Name() string { return "null" }
func (nullProvider) QueryAddr(context.Context, netip.Addr) ([]Match, error) {
	return []Match{{Indicator: "x", Type: "ip"}}, nil
}
func (nullProvider) QueryDomain(context.Context, string) ([]Match, error) { return nil, nil }

// BenchmarkCacheHit measures a Cache lookup answered from memory, from
// one and from all goroutines.
func BenchmarkCacheHit(b *testing.B) {
	c, err := NewCache(nullProvider{}, WithCacheWait(time.Second))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	addrs := make([]netip.Addr, 1024)
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		c.LookupAddr(addrs[i])
	}
	b.Run("serial", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			c.LookupAddrAt(addrs[i&1023], t0)
			i++
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				c.LookupAddrAt(addrs[i&1023], t0)
				i++
			}
		})
	})
}
