package geo

import (
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
)

// Cache geometry: cacheShards shards (a power of two), each an array of
// cacheWays-way buckets. An address maps to one bucket; a hit reads one
// bucket's tags and one slot, no map and no pointer chasing.
const (
	cacheShardBits = 5
	cacheShards    = 1 << cacheShardBits
	cacheWays      = 4
)

// addrCache is a bounded, sharded, set-associative address → answer
// cache, negative answers included. Within a bucket, eviction is CLOCK
// (second chance): a hit sets the slot's reference bit under the shard's
// read lock; an insertion into a full bucket takes the first slot, from
// the bucket's hand, whose bit is clear, clearing bits as it passes. Safe
// for concurrent use.
type addrCache struct {
	shards [cacheShards]cacheShard
}

type cacheShard struct {
	mu        sync.RWMutex
	buckets   []cacheBucket
	mask      uint64 // len(buckets) - 1
	hits      atomic.Uint64
	misses    atomic.Uint64
	evictions atomic.Uint64
	entries   atomic.Int64
	_         [64]byte // keep neighbouring shards' locks on separate cache lines
}

type cacheBucket struct {
	tags  [cacheWays]uint32 // hash tag | 1; 0 marks a free slot
	ref   atomic.Uint32     // reference bits, one per way
	hand  uint32
	slots [cacheWays]cacheSlot
}

type cacheSlot struct {
	addr  netip.Addr
	info  Info
	found bool
}

// newAddrCache returns a cache of about capacity entries (rounded up to a
// power of two per shard).
func newAddrCache(capacity int) *addrCache {
	c := &addrCache{}
	perShard := max((capacity+cacheShards*cacheWays-1)/(cacheShards*cacheWays), 1)
	n := 1 << bits.Len(uint(perShard-1)) // buckets per shard, a power of two
	for i := range c.shards {
		c.shards[i].buckets = make([]cacheBucket, n)
		c.shards[i].mask = uint64(n - 1)
	}
	return c
}

// hash mixes the 16-byte form of a (zone-less) address.
func hash(a netip.Addr) uint64 {
	b := a.As16()
	var hi, lo uint64
	for i := range 8 {
		hi = hi<<8 | uint64(b[i])
		lo = lo<<8 | uint64(b[8+i])
	}
	h := (hi*0x9e3779b97f4a7c15 ^ lo) * 0xbf58476d1ce4e5b9
	return h ^ h>>31
}

// locate returns a's shard, bucket and tag: the top bits pick the shard,
// the low bits the bucket, the middle bits make the tag.
func (c *addrCache) locate(a netip.Addr) (*cacheShard, *cacheBucket, uint32) {
	h := hash(a)
	s := &c.shards[h>>(64-cacheShardBits)]
	return s, &s.buckets[h&s.mask], uint32(h>>24) | 1
}

// get returns the cached answer for a; hit is false when a is not cached.
func (c *addrCache) get(a netip.Addr) (info Info, found, hit bool) {
	s, bk, tag := c.locate(a)
	s.mu.RLock()
	for w := range cacheWays {
		if bk.tags[w] == tag && bk.slots[w].addr == a {
			sl := &bk.slots[w]
			info, found, hit = sl.info, sl.found, true
			if bit := uint32(1) << w; bk.ref.Load()&bit == 0 {
				bk.ref.Or(bit)
			}
			break
		}
	}
	s.mu.RUnlock()
	if hit {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
	return info, found, hit
}

// put caches the answer for a.
func (c *addrCache) put(a netip.Addr, info Info, found bool) {
	s, bk, tag := c.locate(a)
	s.mu.Lock()
	defer s.mu.Unlock()
	free := -1
	for w := range cacheWays {
		switch {
		case bk.tags[w] == tag && bk.slots[w].addr == a: // another goroutine was first
			bk.slots[w].info, bk.slots[w].found = info, found
			return
		case bk.tags[w] == 0 && free < 0:
			free = w
		}
	}
	if free >= 0 {
		s.entries.Add(1)
	} else {
		ref := bk.ref.Load()
		for {
			w := int(bk.hand % cacheWays)
			bk.hand++
			if bit := uint32(1) << w; ref&bit != 0 {
				ref &^= bit
				continue
			}
			free = w
			break
		}
		bk.ref.Store(ref)
		s.evictions.Add(1)
	}
	bk.tags[free] = tag
	bk.slots[free] = cacheSlot{addr: a, info: info, found: found}
}

// stats adds the cache's counters and size to st.
func (c *addrCache) stats(st *Stats) {
	for i := range c.shards {
		s := &c.shards[i]
		st.CacheHits += s.hits.Load()
		st.CacheMisses += s.misses.Load()
		st.CacheEvictions += s.evictions.Load()
		st.CacheEntries += int(s.entries.Load())
	}
}

// capacity is the number of entries the cache can hold.
func (c *addrCache) capacity() int {
	return cacheShards * len(c.shards[0].buckets) * cacheWays
}
