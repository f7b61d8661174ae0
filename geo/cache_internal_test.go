package geo

import (
	"net/netip"
	"sync"
	"testing"
)

func addrN(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
}

// TestCacheBounded: the cache never holds more than its capacity, counts
// evictions, and keeps an entry that is referenced between evictions
// (CLOCK second chance) while a stream of one-off addresses passes.
func TestCacheBounded(t *testing.T) {
	const capacity = 256
	c := newAddrCache(capacity)
	hot := netip.MustParseAddr("192.0.2.1")
	c.put(hot, Info{Country: "DE"}, true)
	for i := range 100_000 {
		if info, found, hit := c.get(hot); !hit || !found || info.Country != "DE" {
			t.Fatalf("hot entry lost after %d cold inserts", i)
		}
		a := addrN(i)
		if _, _, hit := c.get(a); hit {
			t.Fatalf("cold %s hit before insertion", a)
		}
		c.put(a, Info{ASN: uint32(i)}, i%2 == 0)
	}
	var st Stats
	c.stats(&st)
	if st.CacheEntries != c.capacity() || c.capacity() < capacity || c.capacity() > 2*capacity {
		t.Errorf("entries %d; capacity %d", st.CacheEntries, capacity)
	}
	if st.CacheEvictions < 100_000-capacity {
		t.Errorf("evictions %d", st.CacheEvictions)
	}
	if st.CacheHits != 100_000 || st.CacheMisses != 100_000 {
		t.Errorf("hits %d misses %d", st.CacheHits, st.CacheMisses)
	}
	// Recent entries are answered, with their negative flag.
	last := addrN(99_999)
	if info, found, hit := c.get(last); !hit || found || info.ASN != 99_999 {
		t.Errorf("last = %+v %v %v", info, found, hit)
	}
}

// TestCacheSpread: the hash spreads consecutive IPv4 and IPv6 addresses
// over shards and buckets (none gets more than twice its share).
func TestCacheSpread(t *testing.T) {
	c := newAddrCache(1 << 14)
	shards := map[*cacheShard]int{}
	buckets := map[*cacheBucket]int{}
	const n = 1 << 14
	for i := range n {
		for _, a := range []netip.Addr{addrN(i), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)})} {
			s, bk, _ := c.locate(a)
			shards[s]++
			buckets[bk]++
		}
	}
	nb := cacheShards * len(c.shards[0].buckets)
	if len(shards) != cacheShards || len(buckets) < nb*9/10 {
		t.Errorf("%d shards, %d of %d buckets used", len(shards), len(buckets), nb)
	}
	for s, k := range shards {
		if k > 2*2*n/cacheShards {
			t.Errorf("shard %p got %d of %d", s, k, 2*n)
		}
	}
	for _, k := range buckets {
		if k > 4*2*n/nb {
			t.Errorf("a bucket got %d of %d (%d buckets)", k, 2*n, nb)
		}
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := newAddrCache(64)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20_000 {
				a := addrN((i * (g + 1)) % 500)
				if info, found, hit := c.get(a); hit && (!found || info.ASN != uint32(a.As4()[3])) {
					t.Errorf("%s: %+v %v", a, info, found)
					return
				}
				c.put(a, Info{ASN: uint32(a.As4()[3])}, true)
			}
		}()
	}
	wg.Wait()
}
