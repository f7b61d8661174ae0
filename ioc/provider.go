package ioc

import (
	"context"
	"errors"
	"hash/maphash"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Provider answers indicator queries from a source that may be slow or
// fail, such as a remote threat-intelligence service. It is not called on
// the hot path directly: wrap it in a [Cache], which is a Matcher.
//
// Implementations must be safe for concurrent use and should return soon
// after ctx is done.
type Provider interface {
	// Name names the provider; it becomes Match.Feed when a match leaves
	// Feed empty.
	Name() string
	// QueryAddr returns the indicators matching addr (an exact IP or a
	// prefix containing it), the most specific first; none is not an
	// error. addr is unmapped and has no zone.
	QueryAddr(ctx context.Context, addr netip.Addr) ([]Match, error)
	// QueryDomain returns the indicators matching name or one of its
	// parent domains, the longest first. name is canonical: lower-case,
	// internationalised labels in their xn-- form, no trailing dot.
	QueryDomain(ctx context.Context, name string) ([]Match, error)
}

// CacheOption configures a Cache.
type CacheOption interface{ applyCache(*cacheConfig) error }

type cacheOptionFunc func(*cacheConfig) error

func (f cacheOptionFunc) applyCache(c *cacheConfig) error { return f(c) }

type cacheConfig struct {
	ttl, negTTL, errTTL time.Duration
	size, negSize       int
	workers, queue      int
	timeout, wait       time.Duration
	clock               func() time.Time
}

// Cache defaults.
const (
	DefaultCacheTTL         = time.Hour
	DefaultCacheNegativeTTL = 10 * time.Minute
	DefaultCacheErrorTTL    = 30 * time.Second
	DefaultCacheSize        = 1 << 16
	DefaultCacheWorkers     = 4
	DefaultCacheQueue       = 1024
	DefaultCacheTimeout     = 5 * time.Second
)

// WithCacheTTL sets how long an answer with matches is kept (default
// DefaultCacheTTL) and how long an answer without (default
// DefaultCacheNegativeTTL).
func WithCacheTTL(positive, negative time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) error {
		if positive <= 0 || negative <= 0 {
			return errors.New("ioc: cache TTLs must be positive")
		}
		c.ttl, c.negTTL = positive, negative
		return nil
	})
}

// WithCacheErrorTTL sets how long a query that failed is not retried; the
// key counts as a miss meanwhile (default DefaultCacheErrorTTL).
func WithCacheErrorTTL(d time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) error {
		if d <= 0 {
			return errors.New("ioc: cache error TTL must be positive")
		}
		c.errTTL = d
		return nil
	})
}

// WithCacheSize bounds the number of keys kept with matches and without
// (default DefaultCacheSize each); the oldest entry goes first. Separate
// bounds keep a flood of never-seen names from evicting the hits.
func WithCacheSize(positive, negative int) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) error {
		if positive <= 0 || negative <= 0 {
			return errors.New("ioc: cache sizes must be positive")
		}
		c.size, c.negSize = positive, negative
		return nil
	})
}

// WithCacheWorkers sets the number of goroutines querying the provider
// (default DefaultCacheWorkers) and the length of the queue of keys
// waiting for one (default DefaultCacheQueue); a key that finds the queue
// full is dropped (counted) and asked again at a later lookup.
func WithCacheWorkers(workers, queue int) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) error {
		if workers <= 0 || queue <= 0 {
			return errors.New("ioc: cache workers and queue must be positive")
		}
		c.workers, c.queue = workers, queue
		return nil
	})
}

// WithCacheTimeout bounds each provider query (default
// DefaultCacheTimeout).
func WithCacheTimeout(d time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) error {
		if d <= 0 {
			return errors.New("ioc: cache timeout must be positive")
		}
		c.timeout = d
		return nil
	})
}

// WithCacheWait lets a lookup that misses the cache wait up to d for the
// provider's answer. The default, 0, never waits: the first lookup of a
// key reports no match and queues the query, later lookups get the
// answer. A wait makes the first lookup right at the price of blocking
// the caller.
func WithCacheWait(d time.Duration) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) error {
		if d < 0 {
			return errors.New("ioc: cache wait must not be negative")
		}
		c.wait = d
		return nil
	})
}

// WithCacheClock sets the clock the cache ages its entries by (default
// time.Now). The validity of the matches is judged at the time the lookup
// gives, not by this clock.
func WithCacheClock(now func() time.Time) CacheOption {
	return cacheOptionFunc(func(c *cacheConfig) error {
		if now == nil {
			return errors.New("ioc: nil clock")
		}
		c.clock = now
		return nil
	})
}

// cacheShards is the number of shards of each key space (a power of two).
const cacheShards = 16

// Cache is a Matcher in front of a slow Provider. A lookup is answered
// from memory: a cached answer (with or without matches) while its TTL
// runs, otherwise no match while the key is queued for the provider's
// worker goroutines (see WithCacheWait); an expired answer with matches is
// still served while it is refreshed. Lookups therefore never wait on the
// provider, and the number of keys kept is bounded (WithCacheSize).
//
// Matches whose ValidUntil has passed at the lookup's time are not
// reported. A Cache is safe for concurrent use. It starts its worker
// goroutines in NewCache; Close stops them.
type Cache struct {
	p     Provider
	cfg   cacheConfig
	seed  maphash.Seed
	addrs [cacheShards]cacheShard[netip.Addr]
	names [cacheShards]cacheShard[string]
	queue chan cacheRequest

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	hits, negHits, misses, stale atomic.Uint64
	queries, errs, dropped       atomic.Uint64
}

var (
	_ Matcher      = (*Cache)(nil)
	_ TimedMatcher = (*Cache)(nil)
)

// cacheRequest is a key waiting for the provider: an address or a name.
type cacheRequest struct {
	addr netip.Addr
	name string
}

type cacheEntry struct {
	matches []Match
	expires int64 // clock nanoseconds
	gen     uint64
}

type ringSlot[K comparable] struct {
	key K
	gen uint64
}

// ring is a FIFO of keys with a fixed capacity, for eviction.
type ring[K comparable] struct {
	slots []ringSlot[K]
	head  int
	n     int
}

// push appends a slot and returns the one it pushed out, if the ring was
// full.
func (r *ring[K]) push(s ringSlot[K]) (ringSlot[K], bool) {
	if r.n == len(r.slots) {
		old := r.slots[r.head]
		r.slots[r.head] = s
		r.head = (r.head + 1) % len(r.slots)
		return old, true
	}
	r.slots[(r.head+r.n)%len(r.slots)] = s
	r.n++
	return ringSlot[K]{}, false
}

type cacheShard[K comparable] struct {
	mu       sync.RWMutex
	m        map[K]*cacheEntry
	pos, neg ring[K]
	inflight map[K]chan struct{}
	gen      uint64
	npos     int
}

func (sh *cacheShard[K]) init(pos, neg int) {
	sh.m = make(map[K]*cacheEntry)
	sh.inflight = make(map[K]chan struct{})
	sh.pos.slots = make([]ringSlot[K], pos)
	sh.neg.slots = make([]ringSlot[K], neg)
}

// NewCache returns a Cache in front of p and starts its workers.
func NewCache(p Provider, opts ...CacheOption) (*Cache, error) {
	if p == nil {
		return nil, errors.New("ioc: nil provider")
	}
	cfg := cacheConfig{
		ttl: DefaultCacheTTL, negTTL: DefaultCacheNegativeTTL, errTTL: DefaultCacheErrorTTL,
		size: DefaultCacheSize, negSize: DefaultCacheSize,
		workers: DefaultCacheWorkers, queue: DefaultCacheQueue,
		timeout: DefaultCacheTimeout, clock: time.Now,
	}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.applyCache(&cfg); err != nil {
			return nil, err
		}
	}
	c := &Cache{p: p, cfg: cfg, seed: maphash.MakeSeed(), queue: make(chan cacheRequest, cfg.queue)}
	pos, neg := max(1, cfg.size/cacheShards), max(1, cfg.negSize/cacheShards)
	for i := range cacheShards {
		c.addrs[i].init(pos, neg)
		c.names[i].init(pos, neg)
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.wg.Add(cfg.workers)
	for range cfg.workers {
		go c.work()
	}
	return c, nil
}

// Close stops the workers, cancelling the queries in flight, and waits for
// them. Lookups after Close are answered from the cache only.
func (c *Cache) Close() error {
	c.cancel()
	c.wg.Wait()
	return nil
}

// Name returns the provider's name.
func (c *Cache) Name() string { return c.p.Name() }

func (c *Cache) work() {
	defer c.wg.Done()
	for {
		select {
		case <-c.ctx.Done():
			return
		case req := <-c.queue:
			c.query(req)
		}
	}
}

// query asks the provider about one key and caches the answer.
func (c *Cache) query(req cacheRequest) {
	ctx, cancel := context.WithTimeout(c.ctx, c.cfg.timeout)
	defer cancel()
	c.queries.Add(1)
	var matches []Match
	var err error
	if req.name != "" {
		matches, err = c.p.QueryDomain(ctx, req.name)
	} else {
		matches, err = c.p.QueryAddr(ctx, req.addr)
	}
	ttl := c.cfg.ttl
	switch {
	case err != nil:
		c.errs.Add(1)
		matches, ttl = nil, c.cfg.errTTL
	case len(matches) == 0:
		matches, ttl = nil, c.cfg.negTTL
	default:
		matches = append([]Match(nil), matches...)
		for i := range matches {
			if matches[i].Feed == "" {
				matches[i].Feed = c.p.Name()
			}
			matches[i].MatchedOn = ""
		}
	}
	expires := c.cfg.clock().Add(ttl).UnixNano()
	if req.name != "" {
		c.names[c.nameShard(req.name)].store(req.name, matches, expires)
	} else {
		c.addrs[c.addrShard(req.addr)].store(req.addr, matches, expires)
	}
}

// store caches an answer, evicting the oldest entry of its kind when full,
// and wakes the lookups waiting for it.
func (sh *cacheShard[K]) store(k K, matches []Match, expires int64) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.gen++
	if old, ok := sh.m[k]; ok && len(old.matches) > 0 {
		sh.npos--
	}
	sh.m[k] = &cacheEntry{matches: matches, expires: expires, gen: sh.gen}
	r := &sh.neg
	if len(matches) > 0 {
		r = &sh.pos
		sh.npos++
	}
	if out, full := r.push(ringSlot[K]{key: k, gen: sh.gen}); full {
		if e, ok := sh.m[out.key]; ok && e.gen == out.gen {
			if len(e.matches) > 0 {
				sh.npos--
			}
			delete(sh.m, out.key)
		}
	}
	if ch, ok := sh.inflight[k]; ok {
		close(ch)
		delete(sh.inflight, k)
	}
}

func (c *Cache) addrShard(a netip.Addr) int {
	return int(maphash.Comparable(c.seed, a) & (cacheShards - 1))
}

func (c *Cache) nameShard(n string) int {
	return int(maphash.String(c.seed, n) & (cacheShards - 1))
}

// validAt returns the first match valid at t.
func validAt(ms []Match, t time.Time) (Match, bool) {
	for _, m := range ms {
		if t.IsZero() || m.ValidUntil.IsZero() || t.Before(m.ValidUntil) {
			return m, true
		}
	}
	return Match{}, false
}

// lookupCached answers a key from shard sh, queueing a query on a miss.
func lookupCached[K comparable](c *Cache, sh *cacheShard[K], k K, req cacheRequest, t time.Time) (Match, bool) {
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	now := c.cfg.clock().UnixNano()
	if e != nil && now < e.expires {
		if len(e.matches) == 0 {
			c.negHits.Add(1)
			return Match{}, false
		}
		c.hits.Add(1)
		return validAt(e.matches, t)
	}
	ch := enqueueShard(c, sh, k, req)
	if ch != nil && c.cfg.wait > 0 {
		timer := time.NewTimer(c.cfg.wait)
		select {
		case <-ch:
			timer.Stop()
			sh.mu.RLock()
			e = sh.m[k]
			sh.mu.RUnlock()
			if e != nil && len(e.matches) > 0 {
				c.hits.Add(1)
				return validAt(e.matches, t)
			}
			c.misses.Add(1)
			return Match{}, false
		case <-timer.C:
		}
	}
	if e != nil && len(e.matches) > 0 {
		c.stale.Add(1)
		return validAt(e.matches, t) // served while refreshed
	}
	c.misses.Add(1)
	return Match{}, false
}

// enqueueShard queues a query for k unless one is in flight, and returns
// the channel closed when the answer is stored (nil if the queue was
// full).
func enqueueShard[K comparable](c *Cache, sh *cacheShard[K], k K, req cacheRequest) chan struct{} {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ch, ok := sh.inflight[k]; ok {
		return ch
	}
	select {
	case c.queue <- req:
	default:
		c.dropped.Add(1)
		return nil
	}
	ch := make(chan struct{})
	sh.inflight[k] = ch
	return ch
}

// LookupAddr is LookupAddrAt at the cache's clock's time (WithCacheClock,
// time.Now by default), as Set.LookupAddr judges validity by the wall
// clock.
func (c *Cache) LookupAddr(addr netip.Addr) (Match, bool) {
	return c.LookupAddrAt(addr, c.cfg.clock())
}

// LookupAddrAt reports the provider's first match for addr valid at t
// (a zero t: any), from the cache; see Cache.
func (c *Cache) LookupAddrAt(addr netip.Addr, t time.Time) (Match, bool) {
	if !addr.IsValid() {
		return Match{}, false
	}
	addr = addr.Unmap().WithZone("")
	return lookupCached(c, &c.addrs[c.addrShard(addr)], addr, cacheRequest{addr: addr}, t)
}

// LookupDomain is LookupDomainAt at the cache's clock's time.
func (c *Cache) LookupDomain(name string) (Match, bool) {
	return c.LookupDomainAt(name, c.cfg.clock())
}

// LookupDomainAt reports the provider's first match for name valid at t
// (a zero t: any), from the cache; see Cache. An invalid name matches
// nothing and is not queried.
func (c *Cache) LookupDomainAt(name string, t time.Time) (Match, bool) {
	n, err := canonicalDomain(name)
	if err != nil {
		return Match{}, false
	}
	return lookupCached(c, &c.names[c.nameShard(n)], n, cacheRequest{name: n}, t)
}

// Len returns the number of keys cached with matches.
func (c *Cache) Len() int {
	n := 0
	for i := range cacheShards {
		n += c.addrs[i].count() + c.names[i].count()
	}
	return n
}

func (sh *cacheShard[K]) count() int {
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.npos
}

// CacheStats are a Cache's counters.
type CacheStats struct {
	Hits         uint64 // lookups answered with the provider's matches
	NegativeHits uint64 // lookups answered by a cached "no match" (or a recent error)
	Stale        uint64 // lookups answered by an expired entry being refreshed
	Misses       uint64 // lookups not in the cache (queued)
	Queries      uint64 // provider queries
	Errors       uint64 // failed provider queries
	Dropped      uint64 // queries not queued because the queue was full
}

// Stats returns the Cache's counters.
func (c *Cache) Stats() CacheStats {
	return CacheStats{
		Hits: c.hits.Load(), NegativeHits: c.negHits.Load(), Stale: c.stale.Load(), Misses: c.misses.Load(),
		Queries: c.queries.Load(), Errors: c.errs.Load(), Dropped: c.dropped.Load(),
	}
}
