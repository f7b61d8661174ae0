package window

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/internal/uniq"
)

// near returns a value at or around limit: limit itself, one either side,
// or something well below it.
func near(r *rand.Rand, limit uint64) uint64 {
	switch r.IntN(5) {
	case 0:
		return limit
	case 1:
		return limit + 1
	case 2:
		return limit - 1
	case 3:
		return r.Uint64N(limit/64 + 1)
	}
	return r.Uint64N(limit + 2)
}

// TestEntryMatchesAcc adds random observations, their values drawn around
// every compact field's limit, to the entries of one partial and checks
// after each add that the entry reads back exactly as a full-precision acc
// fed the same observations, and that it is compact exactly while its
// totals fit.
func TestEntryMatchesAcc(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 11))
	const size = int64(15 * time.Minute)
	start := t0.UnixNano()
	ts := splitFor(size)
	maxLast, maxDur := uint64(ts.maxLast), uint64(ts.maxDur)
	var wides, compact int
	for key := range 3000 {
		p := newPartial(size)
		p.reset(start)
		id, e, ok := p.lookup(mix(uint64(key)), uint32(key), 1, 443<<16|6<<8, 0)
		if !ok {
			t.Fatal("lookup failed")
		}
		var want acc
		for i := range 1 + r.IntN(6) {
			o := &Obs{SrcPort: uint16(r.IntN(65536)), DstPort: 443}
			// Small values mostly, so that keys stay compact for a few
			// records; one field at a time near its limit.
			o.Upload, o.Download = r.Uint64N(1<<20), r.Uint64N(1<<20)
			o.PktsUp, o.PktsDown = r.Uint64N(100), r.Uint64N(100)
			end := start + r.Int64N(size)
			first := end - r.Int64N(int64(time.Minute))
			switch r.IntN(8) {
			case 0:
				o.Upload = near(r, maxBytes/2)
			case 1:
				o.Download = near(r, maxBytes/2)
			case 2:
				o.PktsUp = near(r, maxPkts/2)
			case 3:
				o.PktsDown = near(r, maxPkts/2)
			case 4:
				first = end - int64(near(r, maxDur/2))
			case 5:
				first = start + int64(maxLast) - int64(near(r, maxDur)) // may start before the window
			case 6:
				o.Upload = near(r, math.MaxUint64/2) // far beyond any compact field
			}
			if first > end {
				first = end
			}
			p.update(id, e, o, first, end)
			want.add(o, first, end)
			got := p.toAcc(e)
			if got != want {
				t.Fatalf("key %d add %d: entry %+v, want %+v", key, i, got, want)
			}
			fit := ts.fits(start, want.flows, want.up, want.down, want.pktsUp, want.pktsDown, want.largest, want.first, want.last)
			if e.wide() == fit && !e.wide() {
				t.Fatalf("key %d add %d: compact entry for totals that do not fit: %+v", key, i, want)
			}
			if e.wide() {
				wides++
			} else {
				compact++
			}
		}
	}
	if wides < 1000 || compact < 1000 {
		t.Errorf("%d wide and %d compact reads: the stream misses one path", wides, compact)
	}
}

// TestEntryStoreRoundTrip: store then toAcc gives back the totals exactly,
// compact when they fit, wide (with the mark kept) when not; a compact
// entry that exactly reaches each limit stays compact. For every window
// size the times' split allows.
func TestEntryStoreRoundTrip(t *testing.T) {
	start := t0.UnixNano()
	base := acc{flows: 3, up: 10, down: 20, pktsUp: 1, pktsDown: 2, largest: 25,
		first: start - 5, last: start + 9, lsport: 1234, ldport: 443, mark: 3}
	for _, size := range []time.Duration{time.Second, 5 * time.Minute, 15 * time.Minute, time.Hour, 24 * time.Hour} {
		ts := splitFor(int64(size))
		for _, tc := range []struct {
			name string
			set  func(a *acc)
			fit  bool
		}{
			{"base", func(a *acc) {}, true},
			{"flows at limit", func(a *acc) { a.flows = maxFlows }, true},
			{"flows over", func(a *acc) { a.flows = maxFlows + 1 }, false},
			{"up at limit", func(a *acc) { a.up = maxBytes }, true},
			{"up over", func(a *acc) { a.up = maxBytes + 1 }, false},
			{"down over", func(a *acc) { a.down = maxBytes + 1 }, false},
			{"largest at limit", func(a *acc) { a.largest = maxBytes }, true},
			{"largest over", func(a *acc) { a.largest = maxBytes + 1 }, false},
			{"packets up at limit", func(a *acc) { a.pktsUp = maxPkts }, true},
			{"packets up over", func(a *acc) { a.pktsUp = maxPkts + 1 }, false},
			{"packets down over", func(a *acc) { a.pktsDown = maxPkts + 1 }, false},
			{"last at the window's end", func(a *acc) { a.last = start + int64(size) - 1; a.first = a.last - 7 }, true},
			{"last at limit", func(a *acc) { a.last = start + ts.maxLast; a.first = a.last }, true},
			{"last over", func(a *acc) { a.last = start + ts.maxLast + 1; a.first = a.last }, false},
			{"last before the window", func(a *acc) { a.last = start - 1; a.first = a.last }, false},
			{"duration at limit", func(a *acc) { a.first = a.last - ts.maxDur }, true},
			{"duration over", func(a *acc) { a.first = a.last - ts.maxDur - 1 }, false},
			{"first long ago", func(a *acc) { a.first = math.MinInt64 }, false},
			{"first after last", func(a *acc) { a.first = a.last + 1 }, false},
			{"ports and mark", func(a *acc) { a.lsport, a.ldport, a.mark = 65535, 65535, 255 }, true},
		} {
			t.Run(fmt.Sprint(size, "/", tc.name), func(t *testing.T) {
				p := newPartial(int64(size))
				p.reset(start)
				_, e, _ := p.lookup(1, 1, 2, 3, 0)
				e.setFlag(flagOne)
				a := base
				tc.set(&a)
				p.store(e, &a)
				if got := p.toAcc(e); got != a {
					t.Errorf("read back %+v, want %+v", got, a)
				}
				if e.wide() == tc.fit {
					t.Errorf("wide %v, want %v", e.wide(), !tc.fit)
				}
				if e.flags()&flagOne == 0 || e.mark() != a.mark {
					t.Errorf("flags %#x mark %d: store lost them", e.flags(), e.mark())
				}
			})
		}
	}
}

// TestTimeSplit: the last-seen field holds any offset within the window,
// and the duration takes the rest of the 82 bits.
func TestTimeSplit(t *testing.T) {
	for _, tc := range []struct {
		size time.Duration
		dur  time.Duration // the longest compact duration, at least
	}{
		{time.Second, 52 * 24 * time.Hour},
		{15 * time.Minute, 73 * time.Minute},
		{time.Hour, 18 * time.Minute},
		{24 * time.Hour, 34 * time.Second},
	} {
		ts := splitFor(int64(tc.size))
		if ts.maxLast < int64(tc.size)-1 || ts.maxLast > 2*int64(tc.size) {
			t.Errorf("%v: last seen up to %v", tc.size, time.Duration(ts.maxLast))
		}
		if int(ts.lastBits)+bits.Len64(uint64(ts.maxDur)) != timeBits || time.Duration(ts.maxDur) < tc.dur {
			t.Errorf("%v: %d bits of last seen, duration up to %v", tc.size, ts.lastBits, time.Duration(ts.maxDur))
		}
	}
}

// TestFirstSeenFarBack: a record whose start lies so far before its window
// that start − window start wraps int64 (a window in 2026 and a start in
// 1700, one in 2262 and a start in 1960) lowers first_seen exactly like
// the reference, as a key's first record and as a later one.
func TestFirstSeenFarBack(t *testing.T) {
	k := Key{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("198.51.100.1"), DstPort: 443, Proto: 6}
	for _, tc := range []struct{ end, early time.Time }{
		{t0.Add(time.Minute), time.Date(1700, 1, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2262, 1, 1, 0, 7, 0, 0, time.UTC), time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		for _, earlyFirst := range []bool{false, true} {
			obs := []*Obs{
				{Key: k, End: tc.end, Start: tc.end.Add(-time.Second), Upload: 1, FlowHash: 1},
				{Key: k, End: tc.end, Start: tc.early, Upload: 1, FlowHash: 2},
			}
			if earlyFirst {
				obs[0], obs[1] = obs[1], obs[0]
			}
			var rs, es sink
			ref, _ := New(rs.onClose)
			eng, _ := NewEngine(es.onClose)
			w := eng.NewWriter()
			for _, o := range obs {
				ref.Add(o)
				w.Add(o)
			}
			w.Close()
			ref.Flush()
			eng.Flush()
			diffAggs(t, es.aggs, rs.aggs, true)
			if len(es.aggs) != 1 || !es.aggs[0].FirstSeen.Equal(tc.early) {
				t.Errorf("end %v, early record first %v: %d aggregates", tc.end, earlyFirst, len(es.aggs))
			}
		}
	}
}

// TestPrintSet: printSet counts distinct fingerprints, 0 and colliding
// ones included, up to uniq.ExactLimit of them.
func TestPrintSet(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	// Fingerprints that share one home slot, to make runs of probes.
	var same []uint32
	for v := uint32(1); len(same) < 3*uniq.ExactLimit; v++ {
		if v*0x9e3779b1>>25 == 3 {
			same = append(same, v)
		}
	}
	for range 2000 {
		var s printSet
		want := map[uint32]bool{}
		n := r.IntN(uniq.ExactLimit + 1)
		pool := make([]uint32, 1+r.IntN(n+1))
		for i := range pool {
			switch r.IntN(4) {
			case 0:
				pool[i] = 0
			case 1:
				pool[i] = same[r.IntN(len(same))]
			default:
				pool[i] = r.Uint32()
			}
		}
		for range n {
			fp := pool[r.IntN(len(pool))]
			s.add(fp)
			want[fp] = true
		}
		if int(s.n) != len(want) {
			t.Fatalf("%d distinct of %d added: printSet counts %d", len(want), n, s.n)
		}
	}
}
