package window

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"
	"unsafe"
)

var t0 = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)

type collected struct {
	mu   sync.Mutex
	aggs []*Aggregate
	// calls holds the window start of each onClose call.
	calls []time.Time
}

func (c *collected) onClose(a []*Aggregate) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.aggs = append(c.aggs, a...)
	c.calls = append(c.calls, a[0].WindowStart)
}

func key(src, dst string, port uint16) Key {
	return Key{Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), DstPort: port, Proto: 6}
}

func obs(k Key, end time.Time, up, down uint64, h uint64) *Obs {
	return &Obs{Key: k, End: end, Start: end.Add(-time.Second), Upload: up, Download: down, FlowHash: h}
}

func newAgg(t *testing.T, c *collected, opts ...Option) *Aggregator {
	t.Helper()
	a, err := New(c.onClose, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestBoundaryBelongsToLaterWindow(t *testing.T) {
	var c collected
	a := newAgg(t, &c)
	k := key("10.0.0.1", "198.51.100.1", 443)
	a.Add(obs(k, t0.Add(15*time.Minute-time.Nanosecond), 1, 0, 1)) // last ns of [02:00, 02:15)
	a.Add(obs(k, t0.Add(15*time.Minute), 2, 0, 2))                 // exactly 02:15 → [02:15, 02:30)
	a.Flush()
	if len(c.aggs) != 2 {
		t.Fatalf("got %d aggregates, want 2", len(c.aggs))
	}
	if !c.aggs[0].WindowStart.Equal(t0) || c.aggs[0].Upload != 1 {
		t.Errorf("first = %v up %d", c.aggs[0].WindowStart, c.aggs[0].Upload)
	}
	if !c.aggs[1].WindowStart.Equal(t0.Add(15*time.Minute)) || c.aggs[1].Upload != 2 {
		t.Errorf("second = %v up %d", c.aggs[1].WindowStart, c.aggs[1].Upload)
	}
	if !c.aggs[1].WindowEnd.Equal(t0.Add(30 * time.Minute)) {
		t.Errorf("window end %v", c.aggs[1].WindowEnd)
	}
}

func TestWindowsAlignToEpochAndPreEpoch(t *testing.T) {
	var c collected
	a := newAgg(t, &c, WithSize(time.Hour))
	k := key("10.0.0.1", "198.51.100.1", 443)
	a.Add(obs(k, time.Date(1969, 12, 31, 23, 30, 0, 0, time.UTC), 1, 0, 1))
	a.Add(obs(k, time.Date(2026, 1, 1, 5, 59, 59, 0, time.UTC), 1, 0, 1))
	a.Flush()
	want := []time.Time{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC)}
	for i, w := range want {
		if !c.aggs[i].WindowStart.Equal(w) {
			t.Errorf("agg %d start %v want %v", i, c.aggs[i].WindowStart, w)
		}
	}
}

func TestWatermarkLatenessAndLate(t *testing.T) {
	var c collected
	a := newAgg(t, &c) // 15m windows, 2m lateness
	k := key("10.0.0.1", "198.51.100.1", 443)
	a.Add(obs(k, t0.Add(5*time.Minute), 10, 0, 1))
	// 02:16:59: watermark - lateness = 02:14:59 < 02:15: window still open.
	a.Add(obs(k, t0.Add(16*time.Minute+59*time.Second), 1, 0, 2))
	if len(c.aggs) != 0 {
		t.Fatalf("window closed too early")
	}
	// A record late by 1m59s within lateness still counts.
	if !a.Add(obs(k, t0.Add(14*time.Minute), 5, 0, 3)) {
		t.Fatal("record within lateness rejected")
	}
	// 02:17:00: 02:15 reached, the first window closes.
	a.Add(obs(k, t0.Add(17*time.Minute), 1, 0, 4))
	if len(c.aggs) != 1 || c.aggs[0].Upload != 15 || c.aggs[0].FlowCount != 2 {
		t.Fatalf("after watermark: %+v", c.aggs)
	}
	// Now a record for the closed window is late and counted.
	if a.Add(obs(k, t0.Add(14*time.Minute+59*time.Second), 100, 0, 5)) {
		t.Fatal("late record accepted")
	}
	st := a.Stats()
	if st.Late != 1 || st.Records != 4 || st.Open != 1 || st.Closed != 1 {
		t.Errorf("stats %+v", st)
	}
	a.Flush()
	if len(c.aggs) != 2 || c.aggs[1].Upload != 2 {
		t.Fatalf("after flush: %d aggs", len(c.aggs))
	}
	// After Flush everything is closed: any record is late.
	if a.Add(obs(k, t0.Add(time.Hour), 1, 0, 6)) || a.Stats().Late != 2 {
		t.Error("record after flush accepted")
	}
}

func TestAdvanceWallClock(t *testing.T) {
	var c collected
	a := newAgg(t, &c)
	k := key("10.0.0.1", "198.51.100.1", 443)
	a.Add(obs(k, t0.Add(time.Minute), 1, 0, 1))
	a.Advance(t0.Add(16 * time.Minute)) // 02:14 < 02:15
	if len(c.aggs) != 0 {
		t.Fatal("closed before lateness elapsed")
	}
	a.Advance(t0.Add(17 * time.Minute))
	if len(c.aggs) != 1 {
		t.Fatal("wall clock did not close the window")
	}
	if !a.Watermark().Equal(t0.Add(17 * time.Minute)) {
		t.Errorf("watermark %v", a.Watermark())
	}
}

func TestCloseCallbackPerWindowSorted(t *testing.T) {
	var c collected
	a := newAgg(t, &c)
	for i := range 3 {
		for j := 3; j > 0; j-- {
			k := key("10.0.0."+string(rune('0'+j)), "198.51.100.1", 443)
			a.Add(obs(k, t0.Add(time.Duration(i)*15*time.Minute+time.Minute), 1, 0, uint64(j)))
		}
	}
	a.Flush()
	if len(c.calls) != 3 {
		t.Fatalf("onClose called %d times, want one per window (3)", len(c.calls))
	}
	for i := 1; i < len(c.aggs); i++ {
		if compareAggregates(c.aggs[i-1], c.aggs[i]) >= 0 {
			t.Fatalf("aggregates not sorted at %d", i)
		}
	}
}

func TestAggregateFields(t *testing.T) {
	var c collected
	a := newAgg(t, &c)
	k := key("10.0.0.1", "198.51.100.1", 443)
	a.Add(&Obs{Key: k, Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute), Upload: 100, Download: 10, PktsUp: 3, PktsDown: 2, FlowHash: 7, SrcPort: 40000, DstPort: 443})
	a.Add(&Obs{Key: k, Start: t0.Add(30 * time.Second), End: t0.Add(3 * time.Minute), Upload: 900, Download: 5, PktsUp: 9, PktsDown: 1, FlowHash: 8, SrcPort: 40001, DstPort: 443})
	a.Add(&Obs{Key: k, End: t0.Add(4 * time.Minute), Upload: 0, Download: 50, FlowHash: 7, SrcPort: 40000, DstPort: 443})
	a.Flush()
	g := c.aggs[0]
	if g.FlowCount != 3 || g.Unique.Count() != 2 || g.Upload != 1000 || g.Download != 65 || g.PktsUp != 12 || g.PktsDown != 3 {
		t.Errorf("counts %+v", g)
	}
	if !g.FirstSeen.Equal(t0.Add(30*time.Second)) || !g.LastSeen.Equal(t0.Add(4*time.Minute)) {
		t.Errorf("first/last %v %v", g.FirstSeen, g.LastSeen)
	}
	if g.LargestBytes != 905 || g.LargestSrcPort != 40001 {
		t.Errorf("largest %d port %d", g.LargestBytes, g.LargestSrcPort)
	}
}

// TestMergeEqualsUnion splits a random stream in two, aggregates each half
// separately and checks that merging the partials gives the aggregate of
// the whole stream.
func TestMergeEqualsUnion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []Key{key("10.0.0.1", "198.51.100.1", 443), key("10.0.0.2", "198.51.100.2", 22), key("10.0.0.3", "2001:db8::1", 443)}
	var all, half1, half2 collected
	// Lateness above the stream's span: no record is late in any of them.
	aAll, a1, a2 := newAgg(t, &all, WithLateness(time.Hour)), newAgg(t, &half1, WithLateness(time.Hour)), newAgg(t, &half2, WithLateness(time.Hour))
	for range 5000 {
		o := obs(keys[rng.IntN(len(keys))], t0.Add(time.Duration(rng.IntN(45*60))*time.Second),
			rng.Uint64N(1<<20), rng.Uint64N(1<<20), rng.Uint64N(300)) // >64 distinct: sketch phase
		o.SrcPort = uint16(rng.IntN(65536))
		aAll.Add(o)
		if rng.IntN(2) == 0 {
			a1.Add(o)
		} else {
			a2.Add(o)
		}
	}
	for _, a := range []*Aggregator{aAll, a1, a2} {
		a.Flush()
	}
	idx := func(c *collected) map[wkey]*Aggregate {
		m := map[wkey]*Aggregate{}
		for _, g := range c.aggs {
			m[wkey{g.WindowStart.UnixNano(), g.Key}] = g
		}
		return m
	}
	m1, m2 := idx(&half1), idx(&half2)
	for _, want := range all.aggs {
		k := wkey{want.WindowStart.UnixNano(), want.Key}
		got := &Aggregate{Key: want.Key, WindowStart: want.WindowStart, WindowEnd: want.WindowEnd}
		for _, p := range []*Aggregate{m1[k], m2[k]} {
			if p != nil {
				if err := got.Merge(p); err != nil {
					t.Fatal(err)
				}
			}
		}
		if got.FlowCount != want.FlowCount || got.Upload != want.Upload || got.Download != want.Download ||
			got.Unique.Count() != want.Unique.Count() || !got.FirstSeen.Equal(want.FirstSeen) ||
			!got.LastSeen.Equal(want.LastSeen) || got.LargestBytes != want.LargestBytes {
			t.Errorf("merge(%v) = flows %d up %d uniq %d; want %d %d %d", k.Key, got.FlowCount, got.Upload,
				got.Unique.Count(), want.FlowCount, want.Upload, want.Unique.Count())
		}
	}
	var x Aggregate
	y := Aggregate{Key: keys[0]}
	if err := x.Merge(&y); err == nil {
		t.Error("merge of different keys succeeded")
	}
}

// TestConcurrentIngest runs several goroutines over overlapping keys and
// windows (run with -race) and checks that no byte is lost or counted
// twice: aggregated + late accounts for every record.
func TestConcurrentIngest(t *testing.T) {
	var c collected
	a := newAgg(t, &c, WithShards(8))
	const G, N = 8, 4000
	var wg sync.WaitGroup
	for g := range G {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for i := range N {
				k := key("10.0.0.1", "198.51.100."+string(rune('1'+rng.IntN(5))), 443)
				// Time moves forward with some jitter, crossing windows.
				at := t0.Add(time.Duration(i)*time.Second + time.Duration(rng.IntN(180))*time.Second)
				a.Add(obs(k, at, 1, 0, uint64(i)))
			}
		})
	}
	wg.Wait()
	a.Flush()
	st := a.Stats()
	var sum uint64
	for _, g := range c.aggs {
		sum += g.Upload
	}
	if st.Records+st.Late != G*N || sum != st.Records {
		t.Errorf("records %d + late %d != %d, or bytes %d != records", st.Records, st.Late, G*N, sum)
	}
	seen := map[wkey]bool{}
	for _, g := range c.aggs {
		k := wkey{g.WindowStart.UnixNano(), g.Key}
		if seen[k] {
			t.Fatalf("aggregate %v emitted twice", k)
		}
		seen[k] = true
	}
}

func TestOptionsValidate(t *testing.T) {
	f := func([]*Aggregate) {}
	for _, o := range []Option{WithSize(7 * time.Minute), WithSize(0), WithLateness(-1), WithShards(0)} {
		if _, err := New(f, o); err == nil {
			t.Errorf("option accepted")
		}
	}
	if _, err := New(nil); err == nil {
		t.Error("nil callback accepted")
	}
}

func TestAddNoAllocSteadyState(t *testing.T) {
	a := newAgg(t, &collected{})
	k := key("10.0.0.1", "198.51.100.1", 443)
	o := obs(k, t0.Add(time.Minute), 1, 1, 1)
	a.Add(o)
	if n := testing.AllocsPerRun(1000, func() { a.Add(o) }); n != 0 {
		t.Errorf("Add allocates %v times per call for a known key", n)
	}
}

func BenchmarkAddKnownKeys(b *testing.B) {
	a, _ := New(func([]*Aggregate) {})
	var os []*Obs
	for i := range 1024 {
		k := Key{Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Dst: netip.MustParseAddr("198.51.100.1"), DstPort: 443, Proto: 6}
		os = append(os, obs(k, t0.Add(time.Minute), 100, 10, uint64(i)))
	}
	i := 0
	for b.Loop() {
		a.Add(os[i&1023])
		i++
	}
}

func TestShardIsOneCacheLine(t *testing.T) {
	if s := unsafe.Sizeof(shard{}); s != 64 {
		t.Errorf("shard is %d bytes, want 64", s)
	}
}

func TestAddMarked(t *testing.T) {
	var c collected
	a := newAgg(t, &c)
	k := key("10.0.0.1", "198.51.100.1", 443)
	// Mark 1 once upload reaches 100, 2 at 1000.
	mark := func(g *Aggregate) uint8 {
		switch {
		case g.Upload >= 1000:
			return 2
		case g.Upload >= 100:
			return 1
		}
		return 0
	}
	var snap Snapshot
	steps := []struct {
		up     uint64
		marked bool
		mark   uint8
	}{{50, false, 0}, {50, true, 1}, {500, false, 1}, {400, true, 2}, {1, false, 2}}
	for i, st := range steps {
		snap = Snapshot{}
		ok, marked := a.AddMarked(obs(k, t0.Add(time.Minute), st.up, 0, uint64(i)), mark, &snap)
		if !ok || marked != st.marked {
			t.Fatalf("step %d: accepted %v marked %v", i, ok, marked)
		}
		if marked && (snap.Mark != st.mark || snap.FlowCount != uint64(i+1) || snap.Key != k || snap.UniqueFlows != uint64(i+1)) {
			t.Errorf("step %d: snapshot %+v", i, snap)
		}
	}
	o := obs(k, t0.Add(time.Minute), 1, 0, 1)
	if n := testing.AllocsPerRun(100, func() { a.AddMarked(o, mark, &snap) }); n != 0 {
		t.Errorf("AddMarked allocates %v", n)
	}
	a.Flush()
	if c.aggs[0].Mark != 2 {
		t.Errorf("final mark %d", c.aggs[0].Mark)
	}
}
