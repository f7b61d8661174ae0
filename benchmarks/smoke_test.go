package benchmarks

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/window"
)

// The tests run every benchmark body (the same crews, pipelines,
// aggregators and lookups) on tiny data, and check what the benchmarks
// take on trust: that both pipelines decode every record of the capture
// with the same byte counts, that several goroutines make no record
// late, and that the three aggregators agree key by key.

func TestCrew(t *testing.T) {
	for _, p := range []int{1, 2, 3} {
		for _, lag := range []int{0, 1} {
			var mu sync.Mutex
			seen := make([][]int, p)
			var c *crew
			c = newCrew(p, lag, 5, func(g, k int) {
				if lag > 0 {
					for h := range c.done {
						if n := c.done[h].n.Load(); h != g && n < int64(k/p-lag) {
							t.Errorf("p=%d lag=%d: goroutine %d started chunk %d with goroutine %d at %d chunks", p, lag, g, k, h, n)
						}
					}
				}
				mu.Lock()
				seen[g] = append(seen[g], k)
				mu.Unlock()
			})
			if n := c.runAll(); n != 5*p {
				t.Errorf("p=%d lag=%d: %d chunks done, want %d", p, lag, n, 5*p)
			}
			for g, ks := range seen {
				var want []int
				for k := g; k < 5*p; k += p {
					want = append(want, k)
				}
				if !slices.Equal(ks, want) {
					t.Errorf("p=%d lag=%d: goroutine %d did chunks %v, want %v", p, lag, g, ks, want)
				}
			}
		}
	}
	// Without a limit, halt stops the goroutines and counts their chunks.
	var n atomic.Int64
	c := newCrew(2, 0, 0, func(int, int) { n.Add(1) })
	for j := range 3 {
		c.step(j)
	}
	if got := c.halt(); got < 3 || int64(got) != n.Load() {
		t.Errorf("halt: %d chunks, %d done", got, n.Load())
	}
}

// TestCapture checks the generated capture: whole blocks, templates at
// block starts, and passes shifted by the span.
func TestCapture(t *testing.T) {
	c, err := newCapture(blockRecords+1, 100, benchBase, 2*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if c.records != 2*blockRecords || c.blocks() != 2 || len(c.offs) != 2*blockDatagrams+1 {
		t.Fatalf("capture of %d records in %d blocks (%d datagrams), want 2 blocks of %d", c.records, c.blocks(), len(c.offs)-1, blockRecords)
	}
	for i := range blockDatagrams {
		dg := c.datagram(1, i, 0)
		// The first flowset ID is 0 (template) only in a block's first datagram.
		if tpl := dg[20] == 0 && dg[21] == 0; tpl != (i == 0) {
			t.Errorf("datagram %d of block 1: template flowset %v", i, tpl)
		}
	}
	s0 := c.secs[5]
	if got := c.datagram(0, 5, 3); uint32(got[8])<<24|uint32(got[9])<<16|uint32(got[10])<<8|uint32(got[11]) != s0+3*120 {
		t.Errorf("pass 3 did not shift the export time by 3 spans")
	}
	// Event time grows steadily through a pass, however many records.
	const n = 100_000_000
	for _, i := range []int{0, 1, n / 3, n / 2, n - 1} {
		want := benchBase.Add(time.Duration(float64(time.Hour) * float64(i) / n))
		if got := recordTime(benchBase, time.Hour, i, n); got.Sub(want).Abs() > time.Microsecond {
			t.Errorf("recordTime(record %d of %d) = %v, want %v", i, n, got, want)
		}
	}
	if _, err := newCapture(10, 1, benchBase, time.Minute); err == nil {
		t.Error("newCapture with 1 key: no error")
	}
}

func TestEndToEndSmoke(t *testing.T) {
	// Blocks of 15 s of event time, starting at 00:14:30 so that the
	// window 00:00-00:15 closes during the third pass, while the goroutines
	// are still feeding records.
	c, err := newCapture(4*blockRecords, 1000, benchBase.Add(14*time.Minute+30*time.Second), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const passes = 3
	for _, impl := range pipelines {
		for _, p := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/goroutines=%d", impl.name, p), func(t *testing.T) {
				pl, err := impl.new(p)
				if err != nil {
					t.Fatal(err)
				}
				cr := newCrew(p, e2eLag, passes*c.blocks()/p, func(g, k int) { feedBlock(c, pl, g, k) })
				cr.runAll()
				var early uint64
				if x, ok := pl.(*exfilPipeline); ok {
					// Closed windows are scored on Run's goroutine:
					// give it a moment.
					for deadline := time.Now().Add(5 * time.Second); x.alerts.Load() == 0 && time.Now().Before(deadline); {
						time.Sleep(time.Millisecond)
					}
					early = x.alerts.Load()
				}
				res := pl.finish()
				if res.err != nil {
					t.Fatal(res.err)
				}
				if res.records != passes*uint64(c.records) || res.bytes != passes*c.bytes {
					t.Errorf("%d records, %d bytes; want %d, %d", res.records, res.bytes, passes*c.records, passes*c.bytes)
				}
				if res.late != 0 {
					t.Errorf("%d late records", res.late)
				}
				if impl.name == "exfilscore" && (early == 0 || res.alerts <= early) {
					t.Errorf("%d alerts before the flush, %d after: want some of each", early, res.alerts)
				}
			})
		}
	}
}

// keyNumber inverts obsKey.
func keyNumber(k *window.Key) uint32 {
	b := k.Src.As4()
	return uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// sums returns the per-key counters a holds.
func sums(t *testing.T, a aggregator, keys int) []counters {
	out := make([]counters, keys)
	switch a := a.(type) {
	case *engineAgg:
		// Every Writer opened every key (unless partitioned by key): take
		// the extra openings out.
		extra := uint64(len(a.w) - 1)
		if a.byKey {
			extra = 0
		}
		o := prefillObs(0)
		for _, ag := range a.flush() {
			c := &out[keyNumber(&ag.Key)]
			c.flows, c.up, c.down, c.pktsUp, c.pktsDown = ag.FlowCount-extra, ag.Upload-extra*o.Upload, ag.Download-extra*o.Download, ag.PktsUp-extra*o.PktsUp, ag.PktsDown-extra*o.PktsDown
		}
	case *windowAgg:
		for _, ag := range a.flush() {
			c := &out[keyNumber(&ag.Key)]
			c.flows, c.up, c.down, c.pktsUp, c.pktsDown = ag.FlowCount, ag.Upload, ag.Download, ag.PktsUp, ag.PktsDown
		}
	case *mutexMap:
		for k, c := range a.m {
			out[keyNumber(&k)] = c
		}
	case *keyedArray:
		for _, l := range a.lanes {
			for i := range l {
				c := &out[i]
				c.flows += l[i].flows
				c.up += l[i].up
				c.down += l[i].down
				c.pktsUp += l[i].pktsUp
				c.pktsDown += l[i].pktsDown
			}
		}
	default:
		t.Fatalf("unknown aggregator %T", a)
	}
	return out
}

func TestAggregatorSmoke(t *testing.T) {
	const keys, chunks = 1000, 6 // the stream has 4: it wraps around
	s := newObsStream(4*aggChunk, keys)
	var want []counters
	for _, impl := range aggregators {
		for _, p := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/goroutines=%d", impl.name, p), func(t *testing.T) {
				a, perKey, err := prefillAgg(impl.new, p, s)
				if err != nil {
					t.Fatal(err)
				}
				if perKey <= 0 {
					t.Errorf("%.1f B/key", perKey)
				}
				warm := warmUp(a, s, p)
				newCrew(p, 0, chunks/p, func(g, k int) { addChunk(a, s, p, g, k) }).runAll()
				n, err := a.records()
				if err != nil {
					t.Fatal(err)
				}
				if want := uint64(keys + warm + chunks*aggChunk); n != want {
					t.Errorf("%d observations aggregated, want %d", n, want)
				}
				got := sums(t, a, keys)
				if want == nil {
					want = got
				} else if !slices.Equal(got, want) {
					t.Errorf("per-key sums differ from the first aggregator's")
				}
			})
		}
	}
}

func TestIOCSmoke(t *testing.T) {
	d := newIOCData(20_000, 2*iocChunk, 0.01)
	if d.set.Len() < 19_000 {
		t.Errorf("set of %d indicators, want about 20000", d.set.Len())
	}
	if d.hits < iocChunk/100 || d.hits > 4*iocChunk/100 {
		t.Errorf("%d hits in %d queries, want about 1%%", d.hits, len(d.queries))
	}
	v6 := 0
	for _, a := range d.queries {
		if a.Is6() {
			v6++
		}
	}
	if v6 < len(d.queries)/20 || v6 > len(d.queries)/5 {
		t.Errorf("%d IPv6 queries in %d, want about 10%%", v6, len(d.queries))
	}
	for _, p := range []int{1, 2} {
		hits := make([]lane, p)
		newCrew(p, 0, 2/p, func(g, k int) { lookupChunk(d, k, &hits[g].records) }).runAll()
		var n uint64
		for i := range hits {
			n += hits[i].records
		}
		if n != uint64(d.hits) {
			t.Errorf("goroutines=%d: %d hits, want %d", p, n, d.hits)
		}
	}
}

// TestRoutedStream checks the partition of engine-bykey's stream: chunk k
// holds only keys congruent to k mod p, and as many observations as the
// stream.
func TestRoutedStream(t *testing.T) {
	s := newObsStream(4*aggChunk, 1000)
	r := s.routed(2)
	if len(r.obs) != len(s.obs) {
		t.Fatalf("%d observations, want %d", len(r.obs), len(s.obs))
	}
	for i, k := range r.idx {
		if g := i / aggChunk % 2; int(k)%2 != g {
			t.Fatalf("observation %d (chunk of goroutine %d) has key %d", i, g, k)
		}
		if keyNumber(&r.obs[i].Key) != k {
			t.Fatalf("observation %d: key %d, index %d", i, keyNumber(&r.obs[i].Key), k)
		}
	}
}

// TestScoringSmoke runs BenchmarkScoring's scorer over a small capture:
// each window it closes must score every key of the first window's
// records, once, and raise the same alerts as the window before.
func TestScoringSmoke(t *testing.T) {
	c, err := newCapture(4*blockRecords, 500, benchBase, 30*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	recs := firstWindow(t, c)
	keys := map[[2]netip.Addr]bool{}
	for i := range recs {
		if !recs[i].End.Before(benchBase.Add(scoreWindow)) {
			t.Fatalf("record %d ends at %v, after the first window", i, recs[i].End)
		}
		keys[[2]netip.Addr{recs[i].Src, recs[i].Dst}] = true
	}
	if len(recs) == 0 || len(recs) == c.records {
		t.Fatalf("%d of %d records in the first window: want some, not all", len(recs), c.records)
	}
	// Two Writers split the keys; the window's aggregates and alerts must
	// not change.
	var lastAlerts uint64
	for _, writers := range []int{1, 2} {
		s := newScorer(t, recs, c.base, writers)
		for w := range 3 {
			k0, a0 := s.det.Stats().Scored, s.alerts
			s.next(noTimer{})
			k, a := s.det.Stats().Scored-k0, s.alerts-a0
			if k != uint64(len(keys)) {
				t.Errorf("%d writers, window %d: %d aggregates scored, want %d keys", writers, w, k, len(keys))
			}
			if a == 0 || (lastAlerts != 0 && a != lastAlerts) {
				t.Errorf("%d writers, window %d: %d alerts (the window before: %d)", writers, w, a, lastAlerts)
			}
			lastAlerts = a
		}
	}
}

// noTimer is a timer for tests.
type noTimer struct{}

func (noTimer) StopTimer()  {}
func (noTimer) StartTimer() {}
