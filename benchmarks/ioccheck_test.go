package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/exfilscore/exfilscore/ioc"
)

const (
	// iocIndicators is the size of the benchmark's indicator set.
	iocIndicators = 1_000_000
	// iocQueries is the length of the query stream; the benchmark cycles
	// through it.
	iocQueries = 1 << 20
	// iocHitRate is the share of queries that match an indicator: IOC
	// matches are rare in real traffic.
	iocHitRate = 0.01
	// iocChunk lookups make a chunk of work.
	iocChunk = 1 << 13
)

// iocData is an indicator set and a shuffled stream of destination
// addresses to check against it, of which hits match.
type iocData struct {
	set     *ioc.Set
	queries []netip.Addr
	hits    int
}

// randV4 returns a random unicast IPv4 address outside 0/8, 10/8 and
// 127/8.
func randV4(r *rand.Rand) netip.Addr {
	for {
		a := netip.AddrFrom4([4]byte{byte(1 + r.IntN(223)), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		if b := a.As4(); b[0] != 10 && b[0] != 127 {
			return a
		}
	}
}

// randV6 returns a random global unicast address (2000::/3).
func randV6(r *rand.Rand) netip.Addr {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[0] = 0x20 | b[0]&0x1f
	return netip.AddrFrom16(b)
}

// v4Bits draws an IPv4 prefix length the way blocklists have them: mostly
// /24 and longer, few shorter than /20.
func v4Bits(r *rand.Rand) int {
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

// newIOCData builds n indicators (60% IPv4 addresses, 5% IPv6 addresses,
// 15% IPv4 prefixes, 5% IPv6 prefixes, 15% domains) and q queries, a
// share hitRate of which match (half an exact address, half inside a
// prefix); the others are random IPv4 (90%) and IPv6 (10%) addresses
// checked to match nothing. IPv6 prefixes are /32 to /64.
func newIOCData(n, q int, hitRate float64) *iocData {
	r := rand.New(rand.NewPCG(3, 3))
	inds := make([]ioc.Indicator, 0, n)
	var exact []netip.Addr
	var prefixes []netip.Prefix
	for i := range n {
		var ind ioc.Indicator
		switch s := i % 20; {
		case s < 12:
			a := randV4(r)
			exact = append(exact, a)
			ind = ioc.Indicator{Value: a.String(), Kind: ioc.KindIP}
		case s < 13:
			ind = ioc.Indicator{Value: randV6(r).String(), Kind: ioc.KindIP}
		case s < 16:
			p := netip.PrefixFrom(randV4(r), v4Bits(r)).Masked()
			prefixes = append(prefixes, p)
			ind = ioc.Indicator{Value: p.String(), Kind: ioc.KindCIDR}
		case s < 17:
			ind = ioc.Indicator{Value: netip.PrefixFrom(randV6(r), 32+r.IntN(33)).Masked().String(), Kind: ioc.KindCIDR}
		default:
			ind = ioc.Indicator{Value: fmt.Sprintf("x%x.d%d.example", r.Uint32(), i), Kind: ioc.KindDomain}
		}
		inds = append(inds, ind)
	}
	d := &iocData{set: ioc.NewSet("bench", inds), queries: make([]netip.Addr, q)}
	for i := range d.queries {
		var a netip.Addr
		switch {
		case r.Float64() < hitRate && (len(exact) > 0 || len(prefixes) > 0):
			if len(prefixes) == 0 || (len(exact) > 0 && r.IntN(2) == 0) {
				a = exact[r.IntN(len(exact))]
			} else {
				p := prefixes[r.IntN(len(prefixes))]
				b := p.Addr().As4()
				host := r.Uint32() & (1<<(32-p.Bits()) - 1)
				for j := range 4 {
					b[j] |= byte(host >> (24 - 8*j))
				}
				a = netip.AddrFrom4(b)
			}
			d.hits++
		default:
			for {
				if r.IntN(10) == 0 {
					a = randV6(r)
				} else {
					a = randV4(r)
				}
				if _, hit := d.set.LookupAddr(a); !hit {
					break
				}
			}
		}
		d.queries[i] = a
	}
	return d
}

// lookupChunk looks up chunk k of d's queries (the stream wraps around)
// and adds the hits to hits.
func lookupChunk(d *iocData, k int, hits *uint64) {
	n := len(d.queries) / iocChunk
	lo := (k % n) * iocChunk
	for _, a := range d.queries[lo : lo+iocChunk] {
		if _, ok := d.set.LookupAddr(a); ok {
			*hits++
		}
	}
}

// BenchmarkIOCCheck measures ioc.Set.LookupAddr, the check every new key
// needs, on a set of 10^6 indicators (exact IPs, CIDRs of lengths /16 to
// /31 and IPv6 ones, domains) with 1% of the queries matching, with one and
// two goroutines sharing the set.
func BenchmarkIOCCheck(b *testing.B) {
	d := newIOCData(iocIndicators, iocQueries, iocHitRate)
	ps := goroutineCounts(b)
	for _, p := range ps {
		b.Run(fmt.Sprintf("goroutines=%d", p), func(b *testing.B) {
			hits := make([]lane, p)
			cr := newCrew(p, 0, 0, func(g, k int) { lookupChunk(d, k, &hits[g].records) })
			chunks := cr.loop(b, iocChunk, "lookup")
			var n uint64
			for i := range hits {
				n += hits[i].records
			}
			b.ReportMetric(float64(n)/float64(chunks*iocChunk), "hits/lookup")
		})
	}
}
