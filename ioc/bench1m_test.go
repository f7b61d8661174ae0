package ioc

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// The 1M benchmarks: a deterministic set of 10^6 mixed indicators and
// streams of queries that hit or miss it.
//
//	go test -run '^$' -bench 'Lookup1M|Load1M' -benchtime 2s ./ioc

const (
	bench1MSize    = 1_000_000
	bench1MQueries = 1 << 14 // per stream; a benchmark cycles through one
)

// bench1M is the shared 1M data: built once, it takes seconds.
// A collection after the build keeps its garbage from weighing on the
// first benchmark.
var bench1M = sync.OnceValue(func() *bench1MData {
	d := newBench1M(bench1MSize)
	runtime.GC()
	return d
})

type bench1MData struct {
	inds    []Indicator
	set     *Set
	addrs   map[string][]netip.Addr // query streams by name
	domains map[string][]string
}

// rand1MV4 returns a random public-looking IPv4 address.
func rand1MV4(r *rand.Rand) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
}

// rand1MV6 returns a random global unicast IPv6 address (2000::/3).
func rand1MV6(r *rand.Rand) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] = 0x20 | b[0]&0x1f
	return netip.AddrFrom16(b)
}

// bench1MBits draws an IPv4 prefix length as blocklists have them: mostly
// /24 and longer, few shorter than /20.
func bench1MBits(r *rand.Rand) int {
	switch x := r.IntN(100); {
	case x < 2:
		return 16
	case x < 5:
		return 18
	case x < 10:
		return 20
	case x < 20:
		return 22
	case x < 70:
		return 24
	default:
		return 25 + r.IntN(7)
	}
}

// randInPrefix returns a random address inside p.
func randInPrefix(r *rand.Rand, p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		if r.IntN(2) == 1 {
			b[i/8] |= 0x80 >> (i % 8)
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// newBench1M builds n indicators: 50% IPv4 addresses, 10% IPv6
// addresses, 15% IPv4 prefixes (/16 to /31, mostly /24 and longer), 5%
// IPv6 prefixes (/32 to /64, random in 2000::/3) and 20% domains of two to
// four labels, and query streams of hits and misses for each family.
func newBench1M(n int) *bench1MData {
	r := rand.New(rand.NewPCG(5, 8))
	d := &bench1MData{inds: make([]Indicator, 0, n), addrs: map[string][]netip.Addr{}, domains: map[string][]string{}}
	var ip4, ip6 []netip.Addr
	var pfx4, pfx6 []netip.Prefix
	var names []string
	for i := range n {
		switch s := i % 20; {
		case s < 10:
			a := rand1MV4(r)
			ip4 = append(ip4, a)
			d.inds = append(d.inds, Indicator{Value: a.String(), Kind: KindIP})
		case s < 12:
			a := rand1MV6(r)
			ip6 = append(ip6, a)
			d.inds = append(d.inds, Indicator{Value: a.String(), Kind: KindIP})
		case s < 15:
			p := netip.PrefixFrom(rand1MV4(r), bench1MBits(r)).Masked()
			pfx4 = append(pfx4, p)
			d.inds = append(d.inds, Indicator{Value: p.String(), Kind: KindCIDR})
		case s < 16:
			p := netip.PrefixFrom(rand1MV6(r), 32+r.IntN(33)).Masked()
			pfx6 = append(pfx6, p)
			d.inds = append(d.inds, Indicator{Value: p.String(), Kind: KindCIDR})
		default:
			var name string
			switch r.IntN(3) {
			case 0:
				name = fmt.Sprintf("x%x.example", r.Uint32())
			case 1:
				name = fmt.Sprintf("c%d.x%x.example", i, r.Uint32()&0xffff)
			default:
				name = fmt.Sprintf("a%x.b%x.c%d.test", r.Uint32()&0xff, r.Uint32()&0xfff, i)
			}
			names = append(names, name)
			d.inds = append(d.inds, Indicator{Value: name, Kind: KindDomain})
		}
	}
	d.set = NewSet("bench", d.inds)
	pick := func(k int, f func() netip.Addr, hit bool) []netip.Addr {
		out := make([]netip.Addr, 0, k)
		for len(out) < k {
			a := f()
			if _, ok := d.set.LookupAddr(a); ok == hit {
				out = append(out, a)
			}
		}
		return out
	}
	q := bench1MQueries
	d.addrs["v4-hit-ip"] = pick(q, func() netip.Addr { return ip4[r.IntN(len(ip4))] }, true)
	d.addrs["v4-hit-cidr"] = pick(q, func() netip.Addr { return randInPrefix(r, pfx4[r.IntN(len(pfx4))]) }, true)
	d.addrs["v4-miss"] = pick(q, func() netip.Addr { return rand1MV4(r) }, false)
	d.addrs["v6-hit-ip"] = pick(q, func() netip.Addr { return ip6[r.IntN(len(ip6))] }, true)
	d.addrs["v6-hit-cidr"] = pick(q, func() netip.Addr { return randInPrefix(r, pfx6[r.IntN(len(pfx6))]) }, true)
	d.addrs["v6-miss"] = pick(q, func() netip.Addr { return rand1MV6(r) }, false)
	pickName := func(k int, f func() string, hit bool) []string {
		out := make([]string, 0, k)
		for len(out) < k {
			n := f()
			if _, ok := d.set.LookupDomain(n); ok == hit {
				out = append(out, n)
			}
		}
		return out
	}
	d.domains["domain-hit"] = pickName(q, func() string { return names[r.IntN(len(names))] }, true)
	d.domains["domain-hit-sub"] = pickName(q, func() string { return "www.cdn." + names[r.IntN(len(names))] }, true)
	d.domains["domain-miss"] = pickName(q, func() string {
		return fmt.Sprintf("www.y%x.benign%d.example.org", r.Uint32(), r.IntN(1000))
	}, false)
	return d
}

// BenchmarkLookup1M measures lookups in a set of 10^6 mixed indicators,
// cycling through 16384 distinct queries per case.
func BenchmarkLookup1M(b *testing.B) {
	d := bench1M()
	for _, name := range []string{"v4-hit-ip", "v4-hit-cidr", "v4-miss", "v6-hit-ip", "v6-hit-cidr", "v6-miss"} {
		qs := d.addrs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i, hits := 0, 0
			for b.Loop() {
				if _, ok := d.set.LookupAddr(qs[i&(len(qs)-1)]); ok {
					hits++
				}
				i++
			}
			b.ReportMetric(float64(hits)/float64(i), "hits/op")
		})
	}
	for _, name := range []string{"domain-hit", "domain-hit-sub", "domain-miss"} {
		qs := d.domains[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i, hits := 0, 0
			for b.Loop() {
				if _, ok := d.set.LookupDomain(qs[i&(len(qs)-1)]); ok {
					hits++
				}
				i++
			}
			b.ReportMetric(float64(hits)/float64(i), "hits/op")
		})
	}
}

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkLoad1M measures building the 1M set from indicators (NewSet),
// from the text of a plain list (ParseList) and from a CSV feed
// (ParseCSV), and the live heap the set holds (heap-bytes, measured once,
// the input excluded: for NewSet, the value strings are the caller's).
func BenchmarkLoad1M(b *testing.B) {
	d := bench1M()
	var list strings.Builder
	for _, ind := range d.inds {
		list.WriteString(ind.Value)
		list.WriteByte('\n')
	}
	text := list.String()
	b.Run("NewSet", func(b *testing.B) {
		before := heapInUse()
		s := NewSet("bench", d.inds)
		heap := float64(heapInUse() - before)
		runtime.KeepAlive(s)
		for b.Loop() {
			s = NewSet("bench", d.inds)
		}
		// After the loop: b.Loop's timer reset deletes reported metrics.
		b.ReportMetric(heap, "heap-bytes")
		b.ReportMetric(heap/float64(s.Len()), "heap-bytes/indicator")
	})
	// The set of a parsed feed owns the text of its values too.
	b.Run("ParseList", func(b *testing.B) {
		before := heapInUse()
		s, err := ParseList(strings.NewReader(text), "bench")
		heap := float64(heapInUse() - before)
		if err != nil || s.Len() != d.set.Len() {
			b.Fatalf("ParseList: %d indicators, %v", s.Len(), err)
		}
		for b.Loop() {
			if s, err = ParseList(strings.NewReader(text), "bench"); err != nil {
				b.Fatal(err)
			}
		}
		runtime.KeepAlive(s)
		b.ReportMetric(heap, "heap-bytes")
		b.ReportMetric(heap/float64(s.Len()), "heap-bytes/indicator")
	})
	// A CSV feed with evidence columns, as abuse.ch publishes them.
	var csvText strings.Builder
	csvText.WriteString("indicator,type,malware,confidence,first_seen\n")
	for i, ind := range d.inds {
		fmt.Fprintf(&csvText, "%s,%s,family%d,%d,2024-01-01 00:00:00\n", ind.Value, ind.Kind, i%50, 50+i%50)
	}
	csvData := csvText.String()
	b.Run("ParseCSV", func(b *testing.B) {
		before := heapInUse()
		s, err := ParseCSV(strings.NewReader(csvData), "bench")
		heap := float64(heapInUse() - before)
		if err != nil || s.Len() != d.set.Len() {
			b.Fatalf("ParseCSV: %d indicators, %v", s.Len(), err)
		}
		for b.Loop() {
			if s, err = ParseCSV(strings.NewReader(csvData), "bench"); err != nil {
				b.Fatal(err)
			}
		}
		runtime.KeepAlive(s)
		b.ReportMetric(heap, "heap-bytes")
		b.ReportMetric(heap/float64(s.Len()), "heap-bytes/indicator")
	})
}

// BenchmarkLookup1MAt measures lookups at a time in a 1M set where every
// indicator has a validity period (the chains and checks of a STIX feed).
func BenchmarkLookup1MAt(b *testing.B) {
	d := bench1M()
	timed := make([]Indicator, len(d.inds))
	from := t0
	for i, ind := range d.inds {
		ind.ValidFrom, ind.ValidUntil = from, from.Add(365*24*time.Hour)
		timed[i] = ind
	}
	s := NewSet("timed", timed)
	at := t1
	for _, name := range []string{"v4-hit-ip", "v4-miss", "v6-miss"} {
		qs := d.addrs[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				s.LookupAddrAt(qs[i&(len(qs)-1)], at)
				i++
			}
		})
	}
	qs := d.domains["domain-hit-sub"]
	b.Run("domain-hit-sub", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			s.LookupDomainAt(qs[i&(len(qs)-1)], at)
			i++
		}
	})
}
