package window

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
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
	var wides, compact int
	for key := range 3000 {
		p := newPartial()
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
				first = end - int64(near(r, maxOff/2))
			case 5:
				first = start + maxOff - int64(near(r, maxOff)) // may start before the window
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
			fo, lo := want.first-start, want.last-start
			fit := fits(want.flows, want.up, want.down, want.pktsUp, want.pktsDown, want.largest, fo, lo)
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
// entry that exactly reaches each limit stays compact.
func TestEntryStoreRoundTrip(t *testing.T) {
	start := t0.UnixNano()
	base := acc{flows: 3, up: 10, down: 20, pktsUp: 1, pktsDown: 2, largest: 25,
		first: start - 5, last: start + 9, lsport: 1234, ldport: 443, mark: 3}
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
		{"last at limit", func(a *acc) { a.last = start + maxOff; a.first = a.last }, true},
		{"last over", func(a *acc) { a.last = start + maxOff + 1; a.first = a.last }, false},
		{"last before the window", func(a *acc) { a.last = start - 1; a.first = a.last }, false},
		{"duration at limit", func(a *acc) { a.first = a.last - maxOff }, true},
		{"duration over", func(a *acc) { a.first = a.last - maxOff - 1 }, false},
		{"first long ago", func(a *acc) { a.first = math.MinInt64 }, false},
		{"ports and mark", func(a *acc) { a.lsport, a.ldport, a.mark = 65535, 65535, 255 }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPartial()
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
