package ioc

import (
	"context"
	"errors"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeProvider answers from a map, counting queries; gate, when set,
// holds every query until it is closed or the context is done.
type fakeProvider struct {
	mu      sync.Mutex
	answers map[string][]Match
	fail    map[string]bool
	gate    chan struct{}
	queries atomic.Int64
	asked   chan string // receives each key asked, if not nil
}

func (f *fakeProvider) Name() string { return "remote" }

func (f *fakeProvider) answer(ctx context.Context, key string) ([]Match, error) {
	f.queries.Add(1)
	if f.asked != nil {
		f.asked <- key
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail[key] {
		return nil, errors.New("service unavailable")
	}
	return f.answers[key], nil
}

func (f *fakeProvider) QueryAddr(ctx context.Context, a netip.Addr) ([]Match, error) {
	return f.answer(ctx, a.String())
}

func (f *fakeProvider) QueryDomain(ctx context.Context, name string) ([]Match, error) {
	return f.answer(ctx, name)
}

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time       { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) add(d time.Duration)  { c.ns.Add(int64(d)) }
func newFakeClock(t time.Time) *fakeClock { c := &fakeClock{}; c.ns.Store(t.UnixNano()); return c }
func waitCache(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCache(t *testing.T) {
	p := &fakeProvider{answers: map[string][]Match{
		"192.0.2.1":    {{Indicator: "192.0.2.0/24", Type: "cidr", MalwareFamily: "X", MatchedOn: "junk"}},
		"evil.example": {{Indicator: "evil.example", Type: "domain", Feed: "vendor-feed", ValidUntil: t1}},
	}, fail: map[string]bool{"192.0.2.66": true}}
	clock := newFakeClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	c, err := NewCache(p, WithCacheTTL(time.Hour, time.Minute), WithCacheErrorTTL(10*time.Second), WithCacheClock(clock.now))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a := netip.MustParseAddr("192.0.2.1")

	// The first lookup misses and queues the query.
	if _, ok := c.LookupAddrAt(a, t0); ok {
		t.Error("first lookup matched before the provider answered")
	}
	waitCache(t, func() bool { return c.Len() == 1 })
	m, ok := c.LookupAddrAt(netip.MustParseAddr("::ffff:192.0.2.1"), t0)
	if want := (Match{Indicator: "192.0.2.0/24", Type: "cidr", Feed: "remote", MalwareFamily: "X"}); !ok || m != want {
		t.Errorf("cached lookup = %+v, %v; want %+v", m, ok, want)
	}
	// Domains are canonicalised; validity is judged at the lookup's time.
	c.LookupDomainAt("WWW.Evil.Example.", t0) // asks for www.evil.example
	c.LookupDomainAt("Evil.Example.", t0)
	waitCache(t, func() bool { return c.Len() == 2 })
	if m, ok := c.LookupDomainAt("evil.example", t0); !ok || m.Feed != "vendor-feed" {
		t.Errorf("LookupDomainAt = %+v, %v", m, ok)
	}
	if _, ok := c.LookupDomainAt("evil.example", t1); ok {
		t.Error("match reported at its ValidUntil")
	}
	if _, ok := c.LookupDomain("evil.example"); !ok {
		t.Error("LookupDomain (the clock's time, before ValidUntil) did not match")
	}
	if _, ok := c.LookupDomainAt("evil.example", time.Time{}); !ok {
		t.Error("LookupDomainAt(zero time) did not match")
	}
	waitCache(t, func() bool { return c.Stats().Queries == 3 })
	if _, ok := c.LookupDomain("bad..name"); ok || p.queries.Load() != 3 {
		t.Errorf("an invalid name was queried: %d queries", p.queries.Load())
	}

	// Negative caching: a miss is asked once per negative TTL.
	b := netip.MustParseAddr("198.51.100.1")
	c.LookupAddr(b)
	waitCache(t, func() bool { return c.Stats().Queries == 4 })
	waitCache(t, func() bool { _, ok := c.LookupAddr(b); return !ok && c.Stats().NegativeHits >= 1 })
	for range 10 {
		c.LookupAddr(b)
	}
	if q := p.queries.Load(); q != 4 {
		t.Errorf("%d queries, want 4: the negative answer was not cached", q)
	}
	clock.add(2 * time.Minute) // the negative entry expires
	c.LookupAddr(b)
	waitCache(t, func() bool { return p.queries.Load() == 5 })

	// Errors are cached for the error TTL.
	e := netip.MustParseAddr("192.0.2.66")
	c.LookupAddr(e)
	waitCache(t, func() bool { return c.Stats().Errors == 1 })
	// Until the error is answered from the cache, the worker may not have
	// stored it yet (it counts the error first), and an entry stored after
	// the clock moves below would expire 10 s after the new time.
	neg := c.Stats().NegativeHits
	waitCache(t, func() bool {
		_, ok := c.LookupAddr(e)
		return !ok && c.Stats().NegativeHits > neg && p.queries.Load() == 6
	})
	clock.add(11 * time.Second)
	c.LookupAddr(e)
	waitCache(t, func() bool { return c.Stats().Errors == 2 })

	// An expired positive entry is served while it is refreshed.
	clock.add(2 * time.Hour)
	p.mu.Lock()
	p.answers["192.0.2.1"] = []Match{{Indicator: "192.0.2.1", Type: "ip"}}
	p.mu.Unlock()
	if m, ok := c.LookupAddr(a); !ok || m.Indicator != "192.0.2.0/24" {
		t.Errorf("stale lookup = %+v, %v; want the old answer", m, ok)
	}
	waitCache(t, func() bool { m, _ := c.LookupAddr(a); return m.Indicator == "192.0.2.1" })
	st := c.Stats()
	if st.Stale < 1 || st.Hits < 3 || st.Misses < 4 || st.Dropped != 0 {
		t.Errorf("Stats = %+v", st)
	}
	if c.Name() != "remote" {
		t.Errorf("Name() = %q", c.Name())
	}
}

// TestCacheNeverWaits checks that lookups return at once while the
// provider hangs, that the queue bounds the work, and that Close cancels
// the queries in flight.
func TestCacheNeverWaits(t *testing.T) {
	p := &fakeProvider{gate: make(chan struct{}), answers: map[string][]Match{}}
	c, err := NewCache(p, WithCacheWorkers(2, 4))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 100 {
		c.LookupAddr(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
		c.LookupAddr(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})) // in flight: not queued twice
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("200 lookups took %v with a hung provider", d)
	}
	st := c.Stats()
	// 4 to 6 keys are taken (a queue of 4, 2 workers); each of the two
	// lookups of every other key finds the queue full.
	if st.Dropped < 2*(100-6) || st.Dropped > 2*(100-4) {
		t.Errorf("Dropped = %d, want 188 to 192 (2 workers, queue of 4)", st.Dropped)
	}
	done := make(chan struct{})
	go func() { c.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not cancel the hung queries")
	}
}

func TestCacheWait(t *testing.T) {
	p := &fakeProvider{answers: map[string][]Match{"192.0.2.1": {{Indicator: "192.0.2.1", Type: "ip"}}}}
	c, err := NewCache(p, WithCacheWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if m, ok := c.LookupAddr(netip.MustParseAddr("192.0.2.1")); !ok || m.Feed != "remote" {
		t.Errorf("waiting lookup = %+v, %v", m, ok)
	}
	if _, ok := c.LookupAddr(netip.MustParseAddr("192.0.2.2")); ok {
		t.Error("waiting lookup of a miss matched")
	}
	// A provider slower than the wait: no match, no block beyond it.
	p2 := &fakeProvider{gate: make(chan struct{})}
	c2, _ := NewCache(p2, WithCacheWait(10*time.Millisecond))
	start := time.Now()
	if _, ok := c2.LookupAddr(netip.MustParseAddr("192.0.2.1")); ok || time.Since(start) > 5*time.Second {
		t.Error("lookup waited past WithCacheWait")
	}
	close(p2.gate)
	c2.Close()
}

func TestCacheBounds(t *testing.T) {
	p := &fakeProvider{answers: map[string][]Match{}}
	for i := range 64 {
		a := netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})
		p.answers[a.String()] = []Match{{Indicator: a.String(), Type: "ip"}}
	}
	c, err := NewCache(p, WithCacheSize(cacheShards, 2*cacheShards), WithCacheWait(5*time.Second), WithCacheWorkers(1, 1024))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 64 {
		c.LookupAddr(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)})) // hits: positive entries
		c.LookupAddr(netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})) // misses: negative entries
		c.LookupDomain(string(rune('a'+i%26)) + "x.example")      // misses
	}
	// One positive entry per shard at most.
	if n := c.Len(); n > cacheShards || n == 0 {
		t.Errorf("Len() = %d, want 1 to %d", n, cacheShards)
	}
	total := 0
	for i := range cacheShards {
		for _, sh := range []*cacheShard[netip.Addr]{&c.addrs[i]} {
			sh.mu.RLock()
			total += len(sh.m)
			if len(sh.m) > 3 {
				t.Errorf("shard %d holds %d addresses, want at most 1 positive + 2 negative", i, len(sh.m))
			}
			sh.mu.RUnlock()
		}
	}
	if total == 0 {
		t.Error("nothing cached")
	}
}

func TestCacheOptions(t *testing.T) {
	p := &fakeProvider{}
	for _, o := range []CacheOption{
		WithCacheTTL(0, time.Second), WithCacheErrorTTL(0), WithCacheSize(0, 1), WithCacheWorkers(1, 0),
		WithCacheTimeout(0), WithCacheWait(-1), WithCacheClock(nil),
	} {
		if c, err := NewCache(p, o); err == nil {
			c.Close()
			t.Error("NewCache with a bad option succeeded")
		}
	}
	if _, err := NewCache(nil); err == nil {
		t.Error("NewCache(nil) succeeded")
	}
}

// TestCacheRace runs lookups, answers and evictions concurrently; with
// -race it checks the locking.
func TestCacheRace(t *testing.T) {
	p := &fakeProvider{answers: map[string][]Match{"10.0.0.1": {{Indicator: "10.0.0.1"}}}}
	c, err := NewCache(p, WithCacheSize(cacheShards, cacheShards), WithCacheTTL(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 2000 {
				c.LookupAddrAt(netip.AddrFrom4([4]byte{10, 0, byte(g), byte(i)}), t0)
				c.LookupDomain("x.example")
				_ = c.Len()
			}
		}()
	}
	wg.Wait()
	c.Close()
	_ = c.Stats()
}
