package window

import (
	"context"
	"errors"
	"math"
	"math/bits"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/exfilscore/exfilscore/internal/prefetch"
)

// Engine is the lock-free windowed aggregator: the same windows, keys,
// watermark, lateness and close callback as Aggregator, with per-goroutine
// private partials instead of shared locked maps. Each ingest goroutine owns
// a Writer (NewWriter) and adds to it with no lock, no atomic read-modify-
// write and no allocation in steady state; the partials of a window are
// merged into exact aggregates when the window closes.
//
// # Close protocol
//
// The engine publishes one atomic boundary, closed: every window ending at
// or before it is closed. A Writer reads it (a plain load of a cache line
// that changes once per window) at every Add. When it sees a new value it
// hands its partials of the windows now closed to the engine (under the
// engine's mutex: once per window per writer, never per record). Each
// Writer also publishes, in an atomic on its own cache line, the start of
// the oldest window it holds a partial of (minOpen); it stores it before it
// re-reads closed whenever it opens a partial, and the engine stores closed
// before it reads minOpen, so (both being sequentially consistent) either
// the writer sees the close and treats the record as late, or the engine
// sees the partial and waits for it. A closed window is merged and handed
// to the close callback once no registered Writer's minOpen is at or
// before its start; windows are delivered in order, one call per window,
// never concurrently.
//
// A Writer that holds a partial of a closed window hands it over at its
// next Add, Sync or Close. An idle Writer therefore delays the close of the
// windows it holds: its owner must call Sync when it has no record to add
// (a socket read timeout, a ticker) and Close when it stops.
//
// # Watermark
//
// Each Writer keeps the newest end time it accepted. When that time passes
// the next close threshold (the end of the oldest open window plus the
// lateness) the Writer advances closed itself; otherwise it publishes its
// watermark every 1024 records and at Sync, so Watermark and Stats may lag
// a Writer by that much. A follower (NewFollower) never advances closed:
// a caller whose records reach their Writers through queues reads them in
// order, compares each end time with NextClose and, once the Writers have
// added what came before, calls AdvanceTo (exfil.Lanes does), so that a
// lagging queue does not make its records late.
//
// # Memory and unique flows
//
// A partial keeps an IPv4 address as its own 32-bit value, interns other
// addresses (IPv6) into 32-bit ids and application protocols into 8-bit
// ids, so a key is 12 bytes; a key's totals and its unique-flow slot are
// one 56-byte entry (bytes each way in 40 bits, packets in 24, the flow
// count in 22, last seen and the first-to-last duration in 82 bits of
// nanoseconds, shared by the window size: durations up to 73 minutes with
// 15-minute windows). A key whose totals outgrow any of these (over 1 TiB
// or 2^24 packets one way, 2^22 records, a flow that started over 73
// minutes before its last end, such as a Zeek connection of hours) moves
// once, exactly, to a full-precision side slice (72 bytes more for that
// key). Its index slot is 4 bytes, tagged
// with 6 bits of the key's hash so that a lookup loads one entry; the
// index is at most 13/16 full and grows by half: 61 to 63.5 bytes a key
// in all from 10^5 to 10^7 keys (62.1 at 10^6, 63.4 just after the index
// grows).
//
// unique_flows is kept as 32-bit fingerprints of FlowHash: a key's first
// fingerprint in its entry's unique-flow slot, its second to 1024th in a set of
// (entry, fingerprint) pairs (one 8-byte word a slot, at most 7/8 full),
// and from then on in a HyperLogLog sketch of its own, which a busy key's
// records update in cache instead of a random slot of the window-sized
// set (32 hashes at a time, so that the register misses overlap: the
// aggregator +15-25% on one goroutine on Zipf keys). All three merge by union, so the aggregates of keys split across
// Writers are as exact as the others; the fingerprints are exact up to
// collisions within one key (probability 2^-32 per pair of its flows). At
// close they feed each Aggregate's uniq.Counter, widened again by a mixer:
// the same count as the reference Aggregator's in its exact range (up to
// 64 flows), an estimate of the same set beyond it. An early snapshot of
// a sketched key first adds its fingerprints from the set to its sketch
// (one pass over the set, once per key and window).
//
// When a window closes, each partial's entries are permuted in place into
// key order, so the walks of Closed read memory in order.
//
// AddBatch (and Prefetch, for a caller that adds one at a time) reads the
// index slots, entries and flow-set slots of a run of observations before
// adding them, so that their cache misses overlap: on a window of 10^6
// keys, most of an Add is waiting for memory.
//
// Keys that cannot be interned (an address with a zone, a 256th distinct
// application protocol or a 67,108,863rd key in one Writer's window) are
// rejected and counted in EngineStats.Rejected.
//
// Engine's methods are safe for concurrent use; a Writer is not (one
// goroutine owns it).
type Engine struct {
	_        noCopy
	size     int64
	lateness int64
	onClose  func([]*Aggregate)
	onStream func(*Closed)

	_      [64]byte
	closed atomic.Int64 // every window ending at or before this is closed
	_      [56]byte

	mu       sync.Mutex // writers, pending, free, totals: rare events only
	writers  []*Writer
	pending  map[int64][]*partial
	free     []*partial
	advWM    int64
	records  uint64 // of closed writers
	late     uint64
	rejected uint64
	emitMu   sync.Mutex // serialises merging and onClose
	closedN  atomic.Uint64

	delivering atomic.Bool   // Deliver is running
	wake       chan struct{} // Writers wake Deliver
	maxQueued  int           // WithMaxQueued
	taken      *sync.Cond    // on mu: a complete window was taken for delivery, or Deliver stopped

}

// NewEngine returns an Engine that calls onClose with the aggregates of
// each closed window, sorted by key, one window at a time in window order,
// never concurrently, from the goroutine whose Add, Sync, Close, Advance or
// Flush completed the window. onClose owns the slice and the aggregates.
// It accepts the options of New (WithShards is ignored).
func NewEngine(onClose func([]*Aggregate), opts ...Option) (*Engine, error) {
	c := config{size: DefaultSize, lateness: DefaultLateness, shards: 64}
	for _, o := range opts {
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if onClose == nil {
		return nil, errors.New("window: nil close callback")
	}
	e := &Engine{size: int64(c.size), lateness: int64(c.lateness), onClose: onClose,
		pending: make(map[int64][]*partial), advWM: minInt64, wake: make(chan struct{}, 1), maxQueued: c.maxQueued}
	e.taken = sync.NewCond(&e.mu)
	e.closed.Store(minInt64)
	return e, nil
}

// NewEngineStream is NewEngine for large windows: onClose receives each
// closed window as a Closed, whose aggregates are read in place from the
// Writers' partials one at a time, instead of a slice of Aggregates that
// would cost some 300 bytes per key (more for keys with many flows) at the
// very moment the next window fills. Same ordering and concurrency
// guarantees as NewEngine.
func NewEngineStream(onClose func(*Closed), opts ...Option) (*Engine, error) {
	if onClose == nil {
		return nil, errors.New("window: nil close callback")
	}
	e, err := NewEngine(func([]*Aggregate) {}, opts...)
	if err != nil {
		return nil, err
	}
	e.onClose, e.onStream = nil, onClose
	return e, nil
}

// Size is the window length.
func (e *Engine) Size() time.Duration { return time.Duration(e.size) }

func floorWin(t, size int64) int64 {
	s := t - t%size
	if t%size < 0 {
		s -= size
	}
	return s
}

// Writer adds observations to an Engine from one goroutine. It is not safe
// for concurrent use: give each ingest goroutine its own (the collector
// routes each exporter to one Writer, so a conversation's early marks see
// all its records). A Writer must be closed when no longer used.
type Writer struct {
	_        noCopy
	e        *Engine
	size     int64
	lateness int64

	seen    int64 // the closed boundary this Writer has acted on
	trigger int64 // an accepted end time >= trigger advances closed
	follow  bool  // NewFollower: never advances closed
	maxEnd  int64
	wins    []*partial
	last    *partial
	records uint64
	late    uint64
	reject  uint64
	pubLeft int
	done    bool
	view    Aggregate // scratch for AddMarked's mark func

	// What the last Prefetch found: the entry (id+1, 0 if none) of
	// pfObs[i] in the partial pfPart of window pfStart. AddMarked takes
	// an entry from here after checking its key against the observation.
	// For an IPv4 key it hashed and did not find, pfKH[i] is the key's
	// hash with its low bit set (0: not hashed), for AddMarked's insert.
	pfObs   *Obs
	pfN     int
	pfPart  *partial
	pfStart int64
	pfIDs   [PrefetchRun]uint32
	pfKH    [PrefetchRun]uint64

	_       [64]byte
	minOpen atomic.Int64 // oldest window start held, MaxInt64 if none
	pubRec  atomic.Uint64
	pubLate atomic.Uint64
	pubRej  atomic.Uint64
	pubOpen atomic.Int64
	pubWM   atomic.Int64
	_       [16]byte
}

const publishEvery = 1024

// NewWriter registers and returns a new Writer.
func (e *Engine) NewWriter() *Writer { return e.newWriter(false) }

// NewFollower registers and returns a Writer whose records never advance
// the watermark: its windows close when the caller says so, through
// AdvanceTo (or Advance, Flush, another Writer). It is for records that
// travel to the Writer through a queue: the goroutine that reads them in
// order advances the watermark once every record read before has been
// added, so that a Writer whose queue lags behind another's does not
// find its windows closed (its records late) only because they were
// queued.
func (e *Engine) NewFollower() *Writer { return e.newWriter(true) }

func (e *Engine) newWriter(follow bool) *Writer {
	w := &Writer{e: e, size: e.size, lateness: e.lateness, seen: math.MinInt64, trigger: math.MinInt64,
		maxEnd: minInt64, pubLeft: publishEvery, follow: follow}
	w.minOpen.Store(math.MaxInt64)
	w.pubWM.Store(minInt64)
	e.mu.Lock()
	e.writers = append(e.writers, w)
	w.seen = e.closed.Load()
	w.setTrigger()
	e.mu.Unlock()
	return w
}

func (w *Writer) setTrigger() {
	switch {
	case w.follow:
		w.trigger = math.MaxInt64
	case w.seen == minInt64:
		w.trigger = minInt64
	case w.seen > math.MaxInt64-w.size-w.lateness:
		w.trigger = math.MaxInt64
	default:
		w.trigger = w.seen + w.size + w.lateness
	}
}

// Add aggregates o. It reports false when o's window is already closed or o
// has no end time (counted as late), or when o's key cannot be interned (an
// address with a zone, or more than 255 distinct application protocols in
// one Writer's window; counted as rejected).
func (w *Writer) Add(o *Obs) bool {
	ok, _ := w.AddMarked(o, nil, nil)
	return ok
}

// AddMarked is Add followed, when mark is not nil, by mark(view) where view
// holds the key's running totals in this Writer's partial (the records of
// the key added through other Writers are not in it; view.Unique is
// empty). When mark returns more than the partial's Mark the value is
// stored, snap (if not nil) receives the totals with UniqueFlows exact for
// this partial, and marked is true. mark must not keep view.
func (w *Writer) AddMarked(o *Obs, mark func(*Aggregate) uint8, snap *Snapshot) (accepted, marked bool) {
	if w.done {
		panic("window: Add on a closed Writer")
	}
	if o.End.IsZero() {
		w.late++
		return false, false
	}
	end := o.End.UnixNano()
	if c := w.e.closed.Load(); c != w.seen {
		w.handover(c)
	}
	win := floorWin(end, w.size)
	if win+w.size <= w.seen {
		w.late++
		return false, false
	}
	p := w.last
	if p == nil || p.start != win {
		if p = w.partialFor(win); p == nil {
			w.late++
			return false, false
		}
	}
	pp := uint32(o.Key.DstPort)<<8 | uint32(o.Key.Proto)
	var id uint32
	var e *entry
	var ok4 bool
	h, kh := w.prefetched(o, p)
	if h != 0 && h-1 < p.ents.n && o.Key.Src.Is4() && o.Key.Dst.Is4() {
		// The entry Prefetch found, if it holds this key (keys are unique
		// in a partial): no hashing, no index probe.
		e = p.ents.at(h - 1)
		s4, d4 := o.Key.Src.As4(), o.Key.Dst.As4()
		app, _, ok3 := p.appID(o.Key.AppProto)
		if ok3 && e.src == be32(s4[:]) && e.dst == be32(d4[:]) && e.k2 == pp<<8|uint32(app) && e.addrFlags() == 0 {
			id, ok4 = h-1, true
		}
	}
	if !ok4 && kh != 0 && h == 0 && o.Key.Src.Is4() && o.Key.Dst.Is4() {
		// A key Prefetch hashed and did not find (it may have been added
		// since, by an earlier observation of the run): its hash is known.
		s4, d4 := o.Key.Src.As4(), o.Key.Dst.As4()
		if app, _, ok3 := p.appID(o.Key.AppProto); ok3 {
			id, e, ok4 = p.lookup(kh, be32(s4[:]), be32(d4[:]), pp<<8|uint32(app), 0)
		}
	}
	if !ok4 {
		src, sid, hs, ok1 := p.ref(o.Key.Src)
		dst, did, hd, ok2 := p.ref(o.Key.Dst)
		app, ah, ok3 := p.appID(o.Key.AppProto)
		if ok1 && ok2 && ok3 {
			id, e, ok4 = p.lookup(keyHash(hs, hd, pp, ah), src, dst, pp<<8|uint32(app), addrFlags(sid, did))
		}
	}
	if !ok4 {
		w.reject++
		return false, false
	}
	first := startOf(o, end)
	p.update(id, e, o, first, end)
	p.addFlowTo(id, e, o.FlowHash)
	if mark != nil {
		marked = w.mark(p, id, e, o, mark, snap)
	}
	w.records++
	if end > w.maxEnd {
		w.maxEnd = end
		if end >= w.trigger {
			w.advance(end)
		}
	}
	if w.pubLeft--; w.pubLeft == 0 {
		w.publish()
	}
	return true, marked
}

// AddBatch adds obs in order, exactly as one Add per observation would,
// and returns the number accepted. It is faster than those Adds on large
// windows: before adding a run of observations it reads the key index
// slots of all of them, then the entries and flow-set slots those lead
// to, so that their cache misses overlap instead of following one
// another.
func (w *Writer) AddBatch(obs []Obs) int {
	n := 0
	for len(obs) > 0 {
		b := obs[:min(len(obs), PrefetchRun)]
		w.Prefetch(b)
		for i := range b {
			if w.Add(&b[i]) {
				n++
			}
		}
		obs = obs[len(b):]
	}
	return n
}

// PrefetchRun is the number of observations Prefetch reads ahead at most:
// enough for the misses of a run to overlap, few enough that what it
// reads is still in cache when the run is added.
const PrefetchRun = 32

// Prefetch asks the processor to load (and changes nothing) the parts of
// the Writer's current partial that adding obs will touch: for at most
// PrefetchRun observations whose key is IPv4 and whose window is the one
// the Writer added to last, their key index slots (all at once, with
// package prefetch), then the entries and flow-set slots those lead to.
// On amd64 both steps issue prefetch instructions, which do not wait for
// memory; the run's misses overlap one another and the adds that follow.
// (It does not read a sketched entry's registers: that would wait for
// the entry's line at once, and a busy key's registers are in cache
// anyway; end to end 4-7% faster without.) A caller that adds
// observations one by one (AddMarked) calls it on the next few first;
// AddBatch does.
func (w *Writer) Prefetch(obs []Obs) {
	p := w.last
	w.pfN = 0
	if w.done || p == nil || len(p.flows) == 0 || len(obs) == 0 {
		return
	}
	obs = obs[:min(len(obs), PrefetchRun)]
	var khs [PrefetchRun]uint64
	var fps [PrefetchRun]uint32
	ids := &w.pfIDs // entry id+1, 0 when not found
	clear(ids[:len(obs)])
	khOut := &w.pfKH
	clear(khOut[:len(obs)])
	var lines [3 * PrefetchRun]unsafe.Pointer
	t := &p.keyIdx
	n := 0
	for i := range obs {
		o := &obs[i]
		khs[i] = 0
		if !o.Key.Src.Is4() || !o.Key.Dst.Is4() || o.End.IsZero() || floorWin(o.End.UnixNano(), w.size) != p.start {
			continue
		}
		var ah uint64
		switch o.Key.AppProto {
		case "":
			ah = p.appHash[0]
		case p.lastApp:
			ah = p.appHash[p.lastID]
		default:
			continue
		}
		s4, d4 := o.Key.Src.As4(), o.Key.Dst.As4()
		kh := keyHash(hash4(be32(s4[:])), hash4(be32(d4[:])), uint32(o.Key.DstPort)<<8|uint32(o.Key.Proto), ah)
		khs[i], fps[i] = kh|1, flowPrint(o.FlowHash) // |1: never 0
		lines[n] = unsafe.Pointer(&t.slots[t.home(kh)])
		n++
	}
	prefetch.Lines(lines[:n])
	n = 0
	fmask := uint64(len(p.flows) - 1)
	fshift := 64 - uint(bits.TrailingZeros(uint(len(p.flows))))
	for i, kh := range khs[:len(obs)] {
		if kh == 0 {
			continue
		}
		tag := slotTag(kh)
		for j := t.home(kh); ; j = t.next(j) {
			s := t.slots[j]
			if s == 0 {
				break
			}
			if s&^slotIDMask == tag {
				id := s&slotIDMask - 1
				if id < p.ents.n {
					// An entry straddles two lines in 6 of 8 positions.
					e := unsafe.Pointer(p.ents.at(id))
					lines[n] = e
					lines[n+1] = unsafe.Add(e, unsafe.Sizeof(entry{})-1)
					lines[n+2] = unsafe.Pointer(&p.flows[mix(uint64(id+1)<<32|uint64(fps[i]))>>fshift&fmask])
					n += 3
					ids[i] = id + 1
				}
				break
			}
		}
		if ids[i] == 0 {
			khOut[i] = kh
		}
	}
	prefetch.Lines(lines[:n])
	w.pfObs, w.pfN, w.pfPart, w.pfStart = &obs[0], len(obs), p, p.start
}

// prefetched returns the entry (id+1) the last Prefetch found for o in p,
// or 0: when o is not one of the observations it read, or p is not the
// partial it read them in.
func (w *Writer) prefetched(o *Obs, p *partial) (id uint32, kh uint64) {
	if w.pfN == 0 || p != w.pfPart || p.start != w.pfStart {
		return 0, 0
	}
	const size = unsafe.Sizeof(Obs{})
	d := uintptr(unsafe.Pointer(o)) - uintptr(unsafe.Pointer(w.pfObs))
	if i := d / size; d%size == 0 && i < uintptr(w.pfN) {
		return w.pfIDs[i], w.pfKH[i]
	}
	return 0, 0
}

func (w *Writer) mark(p *partial, id uint32, e *entry, o *Obs, mark func(*Aggregate) uint8, snap *Snapshot) bool {
	a := p.toAcc(e)
	v := &w.view
	v.Key = o.Key
	v.WindowStart, v.WindowEnd = time.Unix(0, p.start).UTC(), time.Unix(0, p.start+w.size).UTC()
	a.fill(v)
	m := mark(v)
	if m <= a.mark {
		return false
	}
	if e.wide() {
		p.wides[e.wideIdx()].mark = m
	}
	e.setMark(m)
	if snap != nil {
		snap.copyFrom(v)
		snap.Mark = m
		snap.UniqueFlows = p.unique(id, e)
	}
	return true
}

// advance moves the engine's closed boundary for an accepted end time.
func (w *Writer) advance(end int64) {
	w.pubWM.Store(w.maxEnd)
	w.e.closeTo(floorWin(end-w.lateness, w.size))
	if c := w.e.closed.Load(); c != w.seen {
		w.handover(c)
	}
}

// partialFor returns the partial of window win, opening one if needed, or
// nil when the window closed meanwhile.
func (w *Writer) partialFor(win int64) *partial {
	for _, p := range w.wins {
		if p.start == win {
			w.last = p
			return p
		}
	}
	e := w.e
	e.mu.Lock()
	var p *partial
	if n := len(e.free); n > 0 {
		p, e.free = e.free[n-1], e.free[:n-1]
	}
	e.mu.Unlock()
	if p == nil {
		p = newPartial(e.size)
	}
	p.reset(win)
	w.wins = append(w.wins, p)
	w.minOpen.Store(w.oldest()) // before re-reading closed: see Engine
	if c := e.closed.Load(); c != w.seen {
		w.handover(c)
	}
	if win+w.size <= w.seen {
		return nil
	}
	w.last = p
	return p
}

func (w *Writer) oldest() int64 {
	m := int64(math.MaxInt64)
	for _, p := range w.wins {
		m = min(m, p.start)
	}
	return m
}

// handover gives the engine the partials of the windows closed at c (all
// of them when the Writer is done) and delivers what is complete.
func (w *Writer) handover(c int64) {
	w.seen = c
	w.setTrigger()
	e := w.e
	e.mu.Lock()
	keep := w.wins[:0]
	for _, p := range w.wins {
		if p.start+w.size <= c || w.done {
			e.hand(p)
		} else {
			keep = append(keep, p)
		}
	}
	clear(w.wins[len(keep):])
	w.wins = keep
	w.last = nil
	w.publishLocked()
	w.minOpen.Store(w.oldest())
	e.mu.Unlock()
	e.writerDrain()
}

// hand files p as pending (or frees it when empty). e.mu is held.
func (e *Engine) hand(p *partial) {
	if p.ents.n == 0 {
		e.free = append(e.free, p)
		return
	}
	e.pending[p.start] = append(e.pending[p.start], p)
}

func (w *Writer) publish() {
	w.pubLeft = publishEvery
	w.pubRec.Store(w.records)
	w.pubLate.Store(w.late)
	w.pubRej.Store(w.reject)
	w.pubWM.Store(w.maxEnd)
	var n int64
	for _, p := range w.wins {
		n += int64(p.ents.n)
	}
	w.pubOpen.Store(n)
}

func (w *Writer) publishLocked() { w.publish() }

// Publish makes the Writer's counters and watermark visible to Stats and
// Watermark now, without handing anything over (Sync does both). Like
// every Writer method it must be called by the Writer's owner.
func (w *Writer) Publish() {
	if !w.done {
		w.publish()
	}
}

// Sync hands over the partials of closed windows and publishes the
// Writer's counters and watermark. Call it when the Writer is idle.
func (w *Writer) Sync() {
	if w.done {
		return
	}
	if c := w.e.closed.Load(); c != w.seen {
		w.handover(c)
	}
	w.publish()
	w.e.writerDrain()
}

// Close hands every partial over (open windows are merged when they
// close), folds the Writer's counters into the engine's and unregisters it.
// The Writer must not be used afterwards; Close is idempotent.
func (w *Writer) Close() {
	if w.done {
		return
	}
	w.done = true
	w.pfObs, w.pfN, w.pfPart = nil, 0, nil // hold neither the caller's observations nor a partial
	w.handover(w.e.closed.Load())
	e := w.e
	e.mu.Lock()
	e.records += w.records
	e.late += w.late
	e.rejected += w.reject
	e.advWM = max(e.advWM, w.maxEnd)
	e.writers = slices.DeleteFunc(e.writers, func(x *Writer) bool { return x == w })
	e.mu.Unlock()
	e.writerDrain()
}

// writerDrain delivers complete windows from a Writer's goroutine, or,
// while Deliver runs, wakes it instead.
func (e *Engine) writerDrain() {
	if e.delivering.Load() {
		select {
		case e.wake <- struct{}{}:
		default:
		}
		if e.maxQueued == 0 {
			return
		}
		e.mu.Lock()
		for e.delivering.Load() && e.readyCountLocked() > e.maxQueued {
			e.taken.Wait()
		}
		e.mu.Unlock()
		if e.delivering.Load() {
			return
		}
	}
	e.drain(false)
}

// readyCountLocked returns how many pending windows are complete (closed
// and held by no registered Writer).
func (e *Engine) readyCountLocked() int {
	c := e.closed.Load()
	n := 0
	for s := range e.pending {
		if s+e.size > c {
			continue
		}
		ready := true
		for _, w := range e.writers {
			if w.minOpen.Load() <= s {
				ready = false
				break
			}
		}
		if ready {
			n++
		}
	}
	return n
}

// Deliver delivers closed windows from the calling goroutine until ctx is
// done: while it runs, Writers hand their closed partials over and go on
// adding, instead of merging and calling the close callback themselves, so
// that scoring a closed window overlaps with aggregating the next. At
// most one Deliver may run at a time. Advance and Flush still deliver
// from their caller. When ctx is done Deliver delivers what is complete
// and returns.
func (e *Engine) Deliver(ctx context.Context) {
	if !e.delivering.CompareAndSwap(false, true) {
		panic("window: Deliver called twice at once")
	}
	defer func() {
		e.mu.Lock()
		e.delivering.Store(false)
		e.taken.Broadcast() // Writers waiting for Deliver deliver themselves
		e.mu.Unlock()
		e.drain(true)
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
			e.drain(true)
		}
	}
}

func (e *Engine) closeTo(boundary int64) {
	e.mu.Lock()
	if boundary > e.closed.Load() {
		e.closed.Store(boundary)
	}
	e.mu.Unlock()
}

// NextClose returns the earliest record end time that would close a
// window now: closed advances when the watermark reaches it.
func (e *Engine) NextClose() time.Time {
	c := e.closed.Load()
	switch {
	case c == minInt64:
		return time.Time{} // nothing seen: any record sets the watermark
	case c > math.MaxInt64-e.size-e.lateness:
		return time.Unix(0, math.MaxInt64).UTC()
	}
	return time.Unix(0, c+e.size+e.lateness).UTC()
}

// AdvanceTo moves the watermark to t, the end time of a record read in
// order, exactly as a Writer's accepted record ending at t would (see
// NewFollower): the windows it passes close, and the caller's goroutine
// merges and delivers them only when Deliver is not running and no other
// delivery is, like a Writer's.
func (e *Engine) AdvanceTo(t time.Time) {
	if t.IsZero() {
		return
	}
	end := t.UnixNano()
	e.mu.Lock()
	e.advWM = max(e.advWM, end)
	e.mu.Unlock()
	e.closeTo(floorWin(end-e.lateness, e.size))
	e.writerDrain()
}

// Advance moves the watermark to now if now is later (live mode) and
// closes the windows it passes. Windows held by an idle Writer are
// delivered when it syncs.
func (e *Engine) Advance(now time.Time) {
	t := now.UnixNano()
	e.mu.Lock()
	e.advWM = max(e.advWM, t)
	e.mu.Unlock()
	e.closeTo(floorWin(t-e.lateness, e.size))
	e.drain(true)
}

// Flush closes every window. Aggregates of Writers that are closed (or
// synced after Flush) are delivered before Flush returns; windows still
// held by another Writer are delivered at its next Add, Sync or Close.
func (e *Engine) Flush() {
	e.closeTo(math.MaxInt64)
	e.drain(true)
}

// drain delivers every complete window in order. With wait it waits for a
// delivery in progress; without, it leaves the work to that delivery,
// which re-checks after it finishes.
func (e *Engine) drain(wait bool) {
	for {
		if wait {
			e.emitMu.Lock()
		} else if !e.emitMu.TryLock() {
			return
		}
		for {
			e.mu.Lock()
			start, parts := e.nextReadyLocked()
			e.mu.Unlock()
			if parts == nil {
				break
			}
			e.emit(start, parts)
		}
		e.emitMu.Unlock()
		e.mu.Lock()
		_, more := e.readyLocked()
		e.mu.Unlock()
		if !more {
			return
		}
	}
}

// readyLocked returns the oldest pending window that is closed and held by
// no registered Writer.
func (e *Engine) readyLocked() (int64, bool) {
	if len(e.pending) == 0 {
		return 0, false
	}
	start := int64(math.MaxInt64)
	for s := range e.pending {
		start = min(start, s)
	}
	if start+e.size > e.closed.Load() {
		return 0, false
	}
	for _, w := range e.writers {
		if w.minOpen.Load() <= start {
			return 0, false
		}
	}
	return start, true
}

func (e *Engine) nextReadyLocked() (int64, []*partial) {
	start, ok := e.readyLocked()
	if !ok {
		return 0, nil
	}
	parts := e.pending[start]
	delete(e.pending, start)
	e.taken.Broadcast()
	return start, parts
}

// emit merges the partials of one window and calls onClose.
func (e *Engine) emit(start int64, parts []*partial) {
	if e.onStream != nil {
		c := &Closed{start: start, size: e.size, ws: time.Unix(0, start).UTC(), we: time.Unix(0, start+e.size).UTC(), count: -1}
		for _, p := range parts {
			c.parts = append(c.parts, prepare(p))
		}
		e.onStream(c)
		n := c.distinct()
		c.parts = nil
		e.recycle(parts)
		e.closedN.Add(uint64(n))
		return
	}
	slices.SortFunc(parts, func(x, y *partial) int { return int(y.ents.n) - int(x.ents.n) })
	base := parts[0]
	var out []*Aggregate
	for i, p := range parts[1:] {
		if !base.mergeFrom(p) {
			// base holds parts[1:i+1] and p's new application names only.
			out = mergeSlow(append([]*partial{base}, parts[i+1:]...), e.size)
			break
		}
	}
	if out == nil {
		out = base.aggregates(e.size)
	}
	slices.SortFunc(out, func(x, y *Aggregate) int { return CompareKeys(&x.Key, &y.Key) })
	e.recycle(parts)
	e.closedN.Add(uint64(len(out)))
	e.onClose(out)
}

// maxFreePer is how many delivered partials the engine keeps for reuse
// per Writer. A Writer opens a window while the one before closes, so in
// steady state each reuses one or two, tables and entry chunks already
// sized for a window's traffic: no regrowth, rehashing or fresh memory per
// window (end to end +5-16%, for some 50 MB more peak RSS on the 10^7
// record replay, 196 MB instead of 146). More would only hold memory after
// a burst of windows.
const maxFreePer = 2

// recycle keeps the partials of a delivered window for reuse.
func (e *Engine) recycle(parts []*partial) {
	e.mu.Lock()
	for _, p := range parts {
		if len(e.free) < maxFreePer*max(len(e.writers), 1) {
			e.free = append(e.free, p)
		}
	}
	e.mu.Unlock()
}

// mergeSlow merges partials (none merged into another) through
// Aggregates, when their application tables do not fit one partial.
func mergeSlow(parts []*partial, size int64) []*Aggregate {
	idx := make(map[Key]*Aggregate)
	var out []*Aggregate
	for _, p := range parts {
		for _, g := range p.aggregates(size) {
			if have := idx[g.Key]; have != nil {
				_ = have.Merge(g) // same key and window by construction
				continue
			}
			idx[g.Key] = g
			out = append(out, g)
		}
	}
	return out
}

// EngineStats are an Engine's counters. Writers publish theirs every 1024
// records and at Sync and Close, so a running Engine's figures may lag.
type EngineStats struct {
	Stats
	// Rejected counts observations whose key could not be interned.
	Rejected uint64
	// Writers is the number of registered (not closed) Writers.
	Writers int
}

// Stats returns the counters. Open counts the entries of every open
// partial: a key split across Writers counts once per Writer.
func (e *Engine) Stats() EngineStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := EngineStats{Stats: Stats{Records: e.records, Late: e.late, Closed: e.closedN.Load()},
		Rejected: e.rejected, Writers: len(e.writers)}
	for _, w := range e.writers {
		st.Records += w.pubRec.Load()
		st.Late += w.pubLate.Load()
		st.Rejected += w.pubRej.Load()
		st.Open += int(w.pubOpen.Load())
	}
	for _, ps := range e.pending {
		for _, p := range ps {
			st.Open += int(p.ents.n)
		}
	}
	return st
}

// Watermark returns the newest end time published by the Writers or given
// to Advance (zero time before any).
func (e *Engine) Watermark() time.Time {
	e.mu.Lock()
	wm := e.advWM
	for _, w := range e.writers {
		wm = max(wm, w.pubWM.Load())
	}
	e.mu.Unlock()
	if wm == minInt64 {
		return time.Time{}
	}
	return time.Unix(0, wm).UTC()
}
