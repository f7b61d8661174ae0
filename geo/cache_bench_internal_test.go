package geo

import (
	"net/netip"
	"testing"
)

// BenchmarkCacheGet measures the cache's hit path alone over a working
// set that fits the cache.
//
//	go test -run '^$' -bench 'BenchmarkCacheGet' ./geo
func BenchmarkCacheGet(b *testing.B) {
	for _, n := range []int{1 << 10, 1 << 16} {
		c := newAddrCache(n)
		addrs := make([]netip.Addr, n)
		for i := range addrs {
			addrs[i] = addrN(i * 7)
			c.put(addrs[i], Info{Country: "DE", ASN: uint32(i)}, true)
		}
		// Keep those that stayed (a bucket may have overflowed).
		hot := addrs[:0]
		for _, a := range addrs {
			if _, _, hit := c.get(a); hit {
				hot = append(hot, a)
			}
		}
		for i := 0; len(hot) < n; i++ { // a power-of-two working set for the index mask
			hot = append(hot, hot[i])
		}
		addrs = hot
		b.Run(itoa(n), func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, _, hit := c.get(addrs[i&(n-1)]); !hit {
					b.Fatal("miss")
				}
				i += 7919
			}
		})
	}
}

func itoa(n int) string {
	s := ""
	for ; n > 0 || s == ""; n /= 10 {
		s = string(rune('0'+n%10)) + s
	}
	return s
}
