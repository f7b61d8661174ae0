// Package window aggregates directed flow observations into event-time
// tumbling windows.
//
// An Aggregator files each Obs under the window that contains its end time
// (windows are aligned to the Unix epoch in UTC; a record ending exactly on
// a boundary belongs to the later window) and under its Key. The watermark
// is the newest end time seen (or a later wall-clock time given to Advance);
// a window closes once the watermark minus the allowed lateness reaches its
// end, and its aggregates are handed to the close callback. An Obs for a
// window that is already closed is counted as late and not aggregated.
//
// Aggregator is safe for concurrent use: Add takes one of a power-of-two
// number of shard locks chosen by the key's hash, never a global lock, and
// does not allocate for a key it has already seen in the window. Aggregates
// are mergeable (see Aggregate.Merge).
package window

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exfilscore/exfilscore/internal/uniq"
)

// Defaults for New.
const (
	DefaultSize     = 15 * time.Minute
	DefaultLateness = 2 * time.Minute
)

// Key identifies an aggregate within a window: the internal initiator
// (Src), the external responder (Dst) and its port, the IP protocol and the
// application protocol when known. Key is comparable and immutable.
type Key struct {
	Src, Dst netip.Addr
	DstPort  uint16
	Proto    uint8
	AppProto string
}

// Obs is one flow record seen from the conversation's point of view:
// Upload counts client→server bytes, Download server→client bytes.
type Obs struct {
	Key Key
	// End is the record's end time; it chooses the window.
	End time.Time
	// Start is the record's start time (for first_seen); may be zero.
	Start            time.Time
	Upload, Download uint64
	PktsUp, PktsDown uint64
	// FlowHash identifies the normalised 5-tuple (client ip/port, server
	// ip/port, proto) for the unique-flow count.
	FlowHash uint64
	// SrcPort and DstPort are the ports of this flow as the Community ID
	// wants them (client port, server port; ICMP type, code).
	SrcPort, DstPort uint16
}

// Aggregate is the per-key, per-window summary. It is a plain value owned
// by whoever holds it; it is not safe for concurrent use.
type Aggregate struct {
	Key                    Key
	WindowStart, WindowEnd time.Time
	FlowCount              uint64
	Unique                 uniq.Counter
	Upload, Download       uint64
	PktsUp, PktsDown       uint64
	FirstSeen, LastSeen    time.Time
	// Largest describes the largest single flow record (by bytes in both
	// directions); its ports identify it for the Community ID.
	LargestBytes   uint64
	LargestSrcPort uint16
	LargestDstPort uint16
	// Mark belongs to the caller of AddMarked (exfil keeps the highest
	// severity it has already reported early); the aggregator only stores
	// it, and Merge keeps the larger.
	Mark uint8
}

// add folds one observation into a.
func (a *Aggregate) add(o *Obs) {
	a.FlowCount++
	a.Unique.Add(o.FlowHash)
	a.Upload += o.Upload
	a.Download += o.Download
	a.PktsUp += o.PktsUp
	a.PktsDown += o.PktsDown
	start := o.Start
	if start.IsZero() || start.After(o.End) {
		start = o.End
	}
	if a.FirstSeen.IsZero() || start.Before(a.FirstSeen) {
		a.FirstSeen = start
	}
	if o.End.After(a.LastSeen) {
		a.LastSeen = o.End
	}
	if b := o.Upload + o.Download; b > a.LargestBytes || a.FlowCount == 1 {
		a.LargestBytes, a.LargestSrcPort, a.LargestDstPort = b, o.SrcPort, o.DstPort
	}
}

// ErrMismatch is returned by Merge when the aggregates are not of the same
// key and window.
var ErrMismatch = errors.New("window: merge of aggregates of different key or window")

// Merge folds b into a, giving the aggregate of the union of their records.
// Both must have the same key and window.
func (a *Aggregate) Merge(b *Aggregate) error {
	if a.Key != b.Key || !a.WindowStart.Equal(b.WindowStart) || !a.WindowEnd.Equal(b.WindowEnd) {
		return fmt.Errorf("%w: %v@%v vs %v@%v", ErrMismatch, a.Key, a.WindowStart, b.Key, b.WindowStart)
	}
	if b.FlowCount == 0 {
		return nil
	}
	a.Mark = max(a.Mark, b.Mark)
	if a.FlowCount == 0 || b.LargestBytes > a.LargestBytes {
		a.LargestBytes, a.LargestSrcPort, a.LargestDstPort = b.LargestBytes, b.LargestSrcPort, b.LargestDstPort
	}
	a.FlowCount += b.FlowCount
	a.Unique.Merge(&b.Unique)
	a.Upload += b.Upload
	a.Download += b.Download
	a.PktsUp += b.PktsUp
	a.PktsDown += b.PktsDown
	if a.FirstSeen.IsZero() || (!b.FirstSeen.IsZero() && b.FirstSeen.Before(a.FirstSeen)) {
		a.FirstSeen = b.FirstSeen
	}
	if b.LastSeen.After(a.LastSeen) {
		a.LastSeen = b.LastSeen
	}
	return nil
}

// Stats are the aggregator's counters.
type Stats struct {
	// Records is the number of observations aggregated.
	Records uint64
	// Late counts observations for windows already closed (not aggregated).
	Late uint64
	// Open is the number of aggregates in open windows.
	Open int
	// Closed is the number of aggregates handed to the close callback.
	Closed uint64
}

// Option configures New.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	size, lateness time.Duration
	shards         int
	maxQueued      int
}

// WithSize sets the window length (default 15m). It must be at least one
// second and divide 24h evenly, so that windows align with days in UTC.
// An Engine's compact per-key entry shares 82 bits between last seen
// (within the window) and the key's duration, last − first seen: up to 73
// minutes with 15-minute windows, 18 with hourly ones, 34 s with daily
// ones. A key whose flows span longer moves to the full-precision path
// (exact, 72 bytes more for that key).
func WithSize(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Second || (24*time.Hour)%d != 0 {
			return fmt.Errorf("window: size %v must be >= 1s and divide 24h evenly", d)
		}
		c.size = d
		return nil
	})
}

// WithLateness sets how long after its end a window waits for late records
// (default 2m). It must not be negative.
func WithLateness(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 0 {
			return fmt.Errorf("window: lateness %v must not be negative", d)
		}
		c.lateness = d
		return nil
	})
}

// WithMaxQueued bounds the closed windows an Engine holds for Deliver:
// while Deliver runs, a Writer that hands a closed partial over waits
// while more than n complete windows wait to be delivered. A replay,
// whose records come as fast as they are read, then never gets more than
// n windows ahead of scoring, however slow scoring is. The default, 0,
// never makes a Writer wait, for live sources that must keep reading.
// Ignored by New.
func WithMaxQueued(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 0 {
			return fmt.Errorf("window: max queued windows %d must not be negative", n)
		}
		c.maxQueued = n
		return nil
	})
}

// WithShards sets the number of lock shards (rounded up to a power of two;
// default 64).
func WithShards(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 || n > 1<<16 {
			return fmt.Errorf("window: shards %d out of range 1..65536", n)
		}
		c.shards = n
		return nil
	})
}

type wkey struct {
	win int64 // window start, ns since epoch
	Key
}

type shard struct {
	mu sync.Mutex
	m  map[wkey]*Aggregate
	_  [48]byte // pad to 64 bytes: neighbouring shard locks on separate cache lines
}

// Aggregator is the windowed aggregator. Create it with New; it must not be
// copied. Safe for concurrent use.
type Aggregator struct {
	_        noCopy
	size     int64
	lateness int64
	mask     uint64
	shards   []shard
	onClose  func([]*Aggregate)

	watermark atomic.Int64 // newest end time seen, ns
	closed    atomic.Int64 // every window ending at or before this is closed, ns
	records   atomic.Uint64
	late      atomic.Uint64
	closedN   atomic.Uint64
	closeMu   sync.Mutex
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// New returns an Aggregator that calls onClose, from the goroutine whose Add,
// Advance or Flush closed them, with the aggregates of each closed window,
// sorted by window then key. onClose owns the slice and the aggregates.
// Calls to onClose are serialised.
func New(onClose func([]*Aggregate), opts ...Option) (*Aggregator, error) {
	c := config{size: DefaultSize, lateness: DefaultLateness, shards: 64}
	for _, o := range opts {
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if onClose == nil {
		return nil, errors.New("window: nil close callback")
	}
	n := 1
	for n < c.shards {
		n <<= 1
	}
	a := &Aggregator{
		size:     int64(c.size),
		lateness: int64(c.lateness),
		mask:     uint64(n - 1),
		shards:   make([]shard, n),
		onClose:  onClose,
	}
	for i := range a.shards {
		a.shards[i].m = make(map[wkey]*Aggregate)
	}
	a.watermark.Store(minInt64)
	a.closed.Store(minInt64)
	return a, nil
}

const minInt64 = -1 << 63

// Size is the window length.
func (a *Aggregator) Size() time.Duration { return time.Duration(a.size) }

// windowStart returns the start of the window containing t (ns), flooring
// towards minus infinity.
func (a *Aggregator) windowStart(t int64) int64 {
	s := t - t%a.size
	if t%a.size < 0 {
		s -= a.size
	}
	return s
}

// Add aggregates o. It reports false when o's window is already closed (the
// observation is counted as late) or o has no end time.
func (a *Aggregator) Add(o *Obs) bool {
	ok, _ := a.AddMarked(o, nil, nil)
	return ok
}

// Snapshot is a copy of an aggregate's running state, taken by AddMarked.
type Snapshot struct {
	Key                    Key
	WindowStart, WindowEnd time.Time
	FlowCount, UniqueFlows uint64
	Upload, Download       uint64
	PktsUp, PktsDown       uint64
	FirstSeen, LastSeen    time.Time
	LargestSrcPort         uint16
	LargestDstPort         uint16
	Mark                   uint8
}

// Snapshot returns a copy of a's state (UniqueFlows is the sketch's
// count).
func (a *Aggregate) Snapshot() Snapshot {
	var s Snapshot
	s.copyFrom(a)
	return s
}

func (s *Snapshot) copyFrom(a *Aggregate) {
	*s = Snapshot{
		Key: a.Key, WindowStart: a.WindowStart, WindowEnd: a.WindowEnd,
		FlowCount: a.FlowCount, UniqueFlows: a.Unique.Count(),
		Upload: a.Upload, Download: a.Download, PktsUp: a.PktsUp, PktsDown: a.PktsDown,
		FirstSeen: a.FirstSeen, LastSeen: a.LastSeen,
		LargestSrcPort: a.LargestSrcPort, LargestDstPort: a.LargestDstPort, Mark: a.Mark,
	}
}

// AddMarked aggregates o like Add and then, when mark is not nil, calls
// mark with the updated aggregate under its shard lock (mark must be quick
// and must not keep the pointer or call back into the Aggregator). When
// mark returns a value above the aggregate's Mark, the value is stored and
// the aggregate copied into snap, and marked is true: this is how a caller
// acts the moment a running aggregate crosses a threshold, without a
// second lookup and without allocating.
func (a *Aggregator) AddMarked(o *Obs, mark func(*Aggregate) uint8, snap *Snapshot) (accepted, marked bool) {
	if o.End.IsZero() {
		a.late.Add(1)
		return false, false
	}
	end := o.End.UnixNano()
	win := a.windowStart(end)
	if win+a.size <= a.closed.Load() {
		a.late.Add(1)
		return false, false
	}
	k := wkey{win: win, Key: o.Key}
	s := &a.shards[hashKey(&o.Key, win)&a.mask]
	s.mu.Lock()
	// Re-check under the shard lock: a close sets a.closed before it sweeps
	// this shard, so either we see it here or the sweep sees our aggregate.
	if win+a.size <= a.closed.Load() {
		s.mu.Unlock()
		a.late.Add(1)
		return false, false
	}
	ag := s.m[k]
	if ag == nil {
		ag = &Aggregate{Key: o.Key, WindowStart: time.Unix(0, win).UTC(), WindowEnd: time.Unix(0, win+a.size).UTC()}
		s.m[k] = ag
	}
	ag.add(o)
	if mark != nil {
		if m := mark(ag); m > ag.Mark {
			ag.Mark = m
			marked = true
			if snap != nil {
				snap.copyFrom(ag)
			}
		}
	}
	s.mu.Unlock()
	a.records.Add(1)
	a.advance(end)
	return true, marked
}

// Advance moves the watermark to now if now is later (live mode: the wall
// clock closes windows when no record arrives) and closes the windows it
// passes.
func (a *Aggregator) Advance(now time.Time) { a.advance(now.UnixNano()) }

func (a *Aggregator) advance(t int64) {
	for {
		w := a.watermark.Load()
		if t <= w {
			break
		}
		if a.watermark.CompareAndSwap(w, t) {
			break
		}
	}
	w := a.watermark.Load()
	if w == minInt64 {
		return
	}
	// Every window whose end is <= w - lateness can close.
	boundary := a.windowStart(w - a.lateness)
	if boundary > a.closed.Load() {
		a.closeThrough(boundary)
	}
}

// Flush closes every open window, whatever the watermark (end of a replay,
// shutdown).
func (a *Aggregator) Flush() { a.closeThrough(1<<63 - 1) }

// closeThrough closes every window ending at or before boundary.
func (a *Aggregator) closeThrough(boundary int64) {
	a.closeMu.Lock()
	defer a.closeMu.Unlock()
	if boundary <= a.closed.Load() {
		return
	}
	a.closed.Store(boundary)
	var out []*Aggregate
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		for k, ag := range s.m {
			if k.win+a.size <= boundary {
				out = append(out, ag)
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
	if len(out) == 0 {
		return
	}
	slices.SortFunc(out, compareAggregates)
	a.closedN.Add(uint64(len(out)))
	// Hand over one window at a time.
	for len(out) > 0 {
		n := 1
		for n < len(out) && out[n].WindowStart.Equal(out[0].WindowStart) {
			n++
		}
		a.onClose(out[:n:n])
		out = out[n:]
	}
}

func compareAggregates(x, y *Aggregate) int {
	if c := x.WindowStart.Compare(y.WindowStart); c != 0 {
		return c
	}
	return CompareKeys(&x.Key, &y.Key)
}

// CompareKeys orders keys by source, destination, port, protocol and
// application protocol.
func CompareKeys(x, y *Key) int {
	if c := x.Src.Compare(y.Src); c != 0 {
		return c
	}
	if c := x.Dst.Compare(y.Dst); c != 0 {
		return c
	}
	if c := cmp.Compare(x.DstPort, y.DstPort); c != 0 {
		return c
	}
	if c := cmp.Compare(x.Proto, y.Proto); c != 0 {
		return c
	}
	return cmp.Compare(x.AppProto, y.AppProto)
}

// Stats returns a snapshot of the counters.
func (a *Aggregator) Stats() Stats {
	st := Stats{Records: a.records.Load(), Late: a.late.Load(), Closed: a.closedN.Load()}
	for i := range a.shards {
		s := &a.shards[i]
		s.mu.Lock()
		st.Open += len(s.m)
		s.mu.Unlock()
	}
	return st
}

// Watermark returns the newest time seen (zero time before any).
func (a *Aggregator) Watermark() time.Time {
	w := a.watermark.Load()
	if w == minInt64 {
		return time.Time{}
	}
	return time.Unix(0, w).UTC()
}

// hashKey mixes the key's fields into a shard selector without allocating.
func hashKey(k *Key, win int64) uint64 {
	s16, d16 := k.Src.As16(), k.Dst.As16()
	h := uint64(win) ^ 0x9e3779b97f4a7c15
	h = mix(h ^ le64(s16[0:8]))
	h = mix(h ^ le64(s16[8:16]))
	h = mix(h ^ le64(d16[0:8]))
	h = mix(h ^ le64(d16[8:16]))
	h = mix(h ^ uint64(k.DstPort)<<8 ^ uint64(k.Proto))
	for i := 0; i < len(k.AppProto); i++ {
		h = (h ^ uint64(k.AppProto[i])) * 0x100000001b3
	}
	return mix(h)
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
