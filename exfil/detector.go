package exfil

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/internal/communityid"
	"github.com/exfilscore/exfilscore/internal/radix"
	"github.com/exfilscore/exfilscore/internal/uniq"
	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
	"github.com/exfilscore/exfilscore/window"
)

// Detector turns flow records into exfiltration alerts: it orients each
// record (initiator rule), keeps the conversations an internal host opened
// towards an external one, aggregates them per window and key, scores each
// closed aggregate and hands the alerts to the sink.
//
// A Detector is safe for concurrent use: any number of goroutines may call
// Observe at once. A goroutine that feeds many records should own a Writer
// (NewWriter) instead: it aggregates with no lock and no shared cache line
// per record. Final alerts reach the sink from the goroutine whose call
// closed the window, one window at a time; early alerts (see
// WithEarlyAlerts) from the Observe call that crossed the rung. The sink is
// never called concurrently.
type Detector struct {
	cfg    config
	eng    *window.Engine
	cid    communityid.Hasher
	sinkMu sync.Mutex // one Sink call at a time
	names  *nameTables

	// pool serves Observe: writers partitioned by source address, each
	// behind its own mutex, so that a key always meets the same writer.
	pool []lockedWriter

	// scratch is onClose's working memory, kept from one closed window to
	// the next (the engine delivers one window at a time).
	scratch closeScratch

	records, invalid, notOutbound, internalDest atomic.Uint64
	scored, belowMin, alerts, early             atomic.Uint64
	bySeverity                                  [5]atomic.Uint64
}

type lockedWriter struct {
	mu sync.Mutex
	w  *Writer
	_  [40]byte
}

// ErrNoSink is returned by New without WithSink.
var ErrNoSink = errors.New("exfil: no alert sink (use WithSink)")

// New builds a Detector.
func New(opts ...Option) (*Detector, error) {
	c := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if c.sink == nil {
		return nil, ErrNoSink
	}
	d := &Detector{cfg: c, cid: communityid.New(c.cidSeed)}
	eng, err := window.NewEngineStream(d.onClose, window.WithSize(c.size), window.WithLateness(c.lateness), window.WithMaxQueued(c.backlog))
	if err != nil {
		return nil, err
	}
	d.eng = eng
	d.names = newNameTables(c.nameCap)
	d.pool = make([]lockedWriter, c.shards)
	for i := range d.pool {
		d.pool[i].w = d.NewWriter()
	}
	return d, nil
}

// Observe feeds one flow record. It reports whether the record was
// aggregated; a record that is invalid, not an outbound conversation of an
// internal host, or late is counted in Stats instead. Observe is safe for
// concurrent use: it hands the record to one of a fixed set of Writers
// (WithShards), chosen by the record's addresses, under that Writer's lock.
func (d *Detector) Observe(r *flowsrc.Record) bool {
	lw := &d.pool[poolIndex(r.Src, r.Dst, len(d.pool))]
	lw.mu.Lock()
	ok := lw.w.Observe(r)
	lw.mu.Unlock()
	return ok
}

// poolIndex spreads records over n writers by their unordered address
// pair, so that both directions of a conversation meet the same writer.
func poolIndex(a, b netip.Addr, n int) int {
	if n == 1 {
		return 0
	}
	x, y := a.As16(), b.As16()
	var h uint64
	for i := 0; i < 16; i += 8 {
		h += binary.LittleEndian.Uint64(x[i:]) ^ binary.LittleEndian.Uint64(y[i:])
	}
	h *= 0x9e3779b97f4a7c15
	return int((h >> 32) * uint64(n) >> 32)
}

// Writer feeds a Detector from one goroutine: the records it observes are
// aggregated in the goroutine's private partials (window.Writer), with no
// lock, no atomic read-modify-write and no allocation per record. A Writer
// is not safe for concurrent use.
//
// An idle Writer holds back the close of the windows it has records in:
// call Sync when the goroutine has nothing to add for a while (a socket
// read timeout, a ticker) and Close when it stops. Early alerts are judged
// on the records of the key that went through this Writer; the final alert
// scores the merge of every Writer's records.
type Writer struct {
	d       *Detector
	w       *window.Writer
	snap    window.Snapshot
	obs     window.Obs
	markFn  func(*window.Aggregate) uint8 // w.mark, bound once; nil without early alerts
	nameHit bool                          // the record being added has a name on an IOC list

	// ObserveBatch's run of prepared observations and their records.
	run  [window.PrefetchRun]window.Obs
	recs [window.PrefetchRun]*flowsrc.Record

	records, invalid, notOutbound, internalDest uint64
	left                                        int
}

// publishEvery is how many records a Writer counts before it adds its
// counters to the Detector's.
const publishEvery = 1024

// NewWriter returns a Writer for one goroutine.
func (d *Detector) NewWriter() *Writer { return d.newWriter(d.eng.NewWriter()) }

func (d *Detector) newWriter(ww *window.Writer) *Writer {
	w := &Writer{d: d, w: ww, left: publishEvery}
	if d.cfg.early {
		w.markFn = w.mark
	}
	return w
}

// Observe feeds one flow record, like Detector.Observe.
func (w *Writer) Observe(r *flowsrc.Record) bool {
	if !w.prepare(r, &w.obs) {
		return false
	}
	return w.add(&w.obs, r)
}

// ObserveBatch feeds the records of rs in order, exactly as one Observe
// per record would, and returns how many were aggregated. It is faster on
// busy windows: the window's tables are read ahead for a run of records
// (window.Writer.Prefetch) before they are added, so that their cache
// misses overlap. A decoder that emits a datagram's records at once
// should use it.
func (w *Writer) ObserveBatch(rs []flowsrc.Record) int {
	n := 0
	for len(rs) > 0 {
		k := 0
		for len(rs) > 0 && k < len(w.run) {
			if w.prepare(&rs[0], &w.run[k]) {
				w.recs[k] = &rs[0]
				k++
			}
			rs = rs[1:]
		}
		w.w.Prefetch(w.run[:k])
		for i := range k {
			if w.add(&w.run[i], w.recs[i]) {
				n++
			}
		}
	}
	clear(w.recs[:])
	return n
}

// prepare counts r and, when it is an outbound conversation, fills o with
// its observation.
func (w *Writer) prepare(r *flowsrc.Record, o *window.Obs) bool {
	d := w.d
	w.records++
	if w.left--; w.left == 0 {
		w.publish()
	}
	if !r.IsValid() {
		w.invalid++
		return false
	}
	// Orient, written out: the observation is filled field by field, with
	// no Conversation in between.
	rev, _ := decideReversed(r)
	client, server := r.Src.Unmap(), r.Dst.Unmap()
	cport, sport := r.SrcPort, r.DstPort
	up, down, pu, pd := r.BytesToServer, r.BytesToClient, r.PktsToServer, r.PktsToClient
	if rev {
		client, server, cport, sport = server, client, sport, cport
		up, down, pu, pd = down, up, pd, pu
	}
	// HomeNet's IPv4 tests written out: its methods are too large to
	// inline, and every record asks two of them.
	home := &d.cfg.home
	var internal, external bool
	if client.Is4() && server.Is4() {
		s4 := addr4(server)
		internal = home.internal4v(addr4(client))
		external = !home.internal4v(s4) && !home.owned4v(s4)
	} else {
		internal, external = home.Internal(client), home.External(server)
	}
	if !internal {
		w.notOutbound++
		return false
	}
	if !external {
		w.internalDest++
		return false
	}
	// Field by field: a composite literal is built on the stack with
	// 8-byte stores and copied in 16-byte loads, which cannot be forwarded
	// from them and wait for the stores to retire (the copy was 6-7% of
	// decode and prepare in the profile).
	o.Key.Src, o.Key.Dst = client, server
	o.Key.DstPort, o.Key.Proto, o.Key.AppProto = sport, r.Proto, r.AppProto
	o.Start, o.End = r.Start, r.End
	o.Upload, o.Download, o.PktsUp, o.PktsDown = up, down, pu, pd
	o.SrcPort, o.DstPort = cport, sport
	if r.HasICMP {
		typ := r.ICMPType
		if rev {
			if req, ok := icmpReply(r.Proto, typ); ok {
				typ = req
			}
		}
		o.Key.DstPort = 0
		o.SrcPort, o.DstPort = uint16(typ), uint16(r.ICMPCode)
	}
	o.FlowHash = flowHash(client, server, o.SrcPort, o.DstPort, r.Proto)
	return true
}

// outbound reports whether r is a valid outbound conversation that
// prepare hands to the window and the window can file (an address with a
// zone is rejected there): the records that move a Writer's watermark.
func (d *Detector) outbound(r *flowsrc.Record) bool {
	if !r.IsValid() || r.Src.Zone() != "" || r.Dst.Zone() != "" {
		return false
	}
	client, server := r.Src.Unmap(), r.Dst.Unmap()
	if rev, _ := decideReversed(r); rev {
		client, server = server, client
	}
	return d.cfg.home.Internal(client) && d.cfg.home.External(server)
}

// add records the names of r (prepared into o), checks them against the
// IOC lists when early alerts are on, aggregates o and raises its early
// alert.
func (w *Writer) add(o *window.Obs, r *flowsrc.Record) bool {
	d := w.d
	if hasNames(r) {
		d.names.observe(o.Key.Dst, r)
		w.nameHit = w.markFn != nil && len(d.cfg.iocs) > 0 && recordDomainHit(d.cfg.iocs, r)
	}
	if w.markFn == nil {
		return w.w.Add(o)
	}
	ok, marked := w.w.AddMarked(o, w.markFn, &w.snap)
	w.nameHit = false
	if marked {
		d.emitEarly(&w.snap)
	}
	return ok
}

// publish adds the Writer's counters to the Detector's.
func (w *Writer) publish() {
	d := w.d
	w.left = publishEvery
	for _, c := range [...]struct {
		n *uint64
		a *atomic.Uint64
	}{{&w.records, &d.records}, {&w.invalid, &d.invalid}, {&w.notOutbound, &d.notOutbound}, {&w.internalDest, &d.internalDest}} {
		if *c.n != 0 {
			c.a.Add(*c.n)
			*c.n = 0
		}
	}
}

// Sync publishes the Writer's counters and hands over its partials of
// closed windows so that they can be scored. Call it when the Writer is
// idle.
func (w *Writer) Sync() {
	w.publish()
	w.w.Sync()
}

// Close syncs the Writer and retires it: its open windows are scored when
// they close. The Writer must not be used afterwards; Close is idempotent.
func (w *Writer) Close() {
	w.publish()
	w.w.Close()
}

// Aggregate marks (window.Aggregate.Mark): the low bits hold the highest
// level already reported early, markIOC that the destination matched an
// IOC at the key's first record.
const (
	markLevel = 0x07
	markIOC   = 0x10
)

// mark runs after every record added with early alerts on: it checks a
// new key's destination address, and every record's names, against the
// IOC matchers and returns a larger mark when the aggregate reached a rung
// not yet reported.
func (w *Writer) mark(a *window.Aggregate) uint8 {
	d := w.d
	m := a.Mark
	if w.nameHit {
		m |= markIOC
	}
	if a.FlowCount == 1 && len(d.cfg.iocs) > 0 {
		if _, hit := d.cfg.iocs.LookupAddrAt(a.Key.Dst, a.LastSeen); hit {
			m |= markIOC
		}
	}
	level, _ := severity.Evaluate(&d.cfg.policy, a.Upload, a.Download)
	if m&markIOC != 0 {
		level = severity.Critical
	}
	if level >= d.cfg.minLevel && uint8(level) > m&markLevel {
		m = m&^markLevel | uint8(level)
	}
	return m
}

// emitEarly sends the early alert of a running aggregate that just crossed
// a rung.
func (d *Detector) emitEarly(s *window.Snapshot) {
	names := d.names.lookup(s.Key.Dst)
	matches, checked := d.iocMatches(s.Key.Dst, names, s.LastSeen)
	al := d.buildAlert(s, StageEarly, matches, checked, nil)
	al.DestNames = names
	d.early.Add(1)
	d.send(al)
	d.flushSink()
}

func (d *Detector) send(al *Alert) {
	d.alerts.Add(1)
	d.bySeverity[al.Severity].Add(1)
	d.sinkMu.Lock()
	defer d.sinkMu.Unlock()
	d.cfg.sink.Alert(al)
}

// flushSink has a Flusher sink write the alerts it holds.
func (d *Detector) flushSink() {
	if f, ok := d.cfg.sink.(Flusher); ok {
		d.sinkMu.Lock()
		defer d.sinkMu.Unlock()
		f.Flush()
	}
}

// iocMatches checks a destination address, and the names seen for it,
// against every matcher, with indicators judged valid or expired at t, the
// aggregate's last record (so a replay gives the same answer on any day).
func (d *Detector) iocMatches(dst netip.Addr, names *DestNames, t time.Time) (matches []ioc.Match, checked int) {
	if len(d.cfg.iocs) == 0 {
		return nil, 0
	}
	matches = d.cfg.iocs.AppendAddrMatchesAt(nil, dst, t)
	for i := range matches {
		matches[i].MatchedOn = "dest_ip"
	}
	matches, n := appendNameMatches(matches, d.cfg.iocs, names, t)
	return matches, 1 + n
}

// flowHash hashes the normalised 5-tuple (client ip/port, server ip/port,
// proto): both directions of one connection give the same hash.
func flowHash(client, server netip.Addr, cport, sport uint16, proto uint8) uint64 {
	if client.Is4() && server.Is4() {
		c, s := client.As4(), server.As4()
		return uniq.Hash64V4Tuple(binary.BigEndian.Uint32(c[:]), binary.BigEndian.Uint32(s[:]), cport, sport, proto)
	}
	var b [37]byte
	c16, s16 := client.As16(), server.As16()
	copy(b[0:16], c16[:])
	copy(b[16:32], s16[:])
	b[32], b[33] = byte(cport>>8), byte(cport)
	b[34], b[35] = byte(sport>>8), byte(sport)
	b[36] = proto
	return uniq.Hash64(b[:])
}

// Run scores closed windows from the calling goroutine until ctx is done
// (window.Engine.Deliver): while it runs, the goroutines that feed records
// hand closed windows over and go on aggregating instead of scoring them
// themselves, so scoring overlaps with ingestion (WithRunBacklog bounds
// how many closed windows may wait). Optional: without Run, the goroutine
// whose record closes a window scores it. Flush after Run returns.
func (d *Detector) Run(ctx context.Context) { d.eng.Deliver(ctx) }

// Advance tells the detector the time is now (live mode): windows whose
// end plus the allowed lateness has passed are closed and scored even when
// no record arrives. Windows held by a Writer of the caller's are scored
// at that Writer's next Observe, Sync or Close.
func (d *Detector) Advance(now time.Time) {
	d.eng.Advance(now)
	d.syncPool()
}

// Flush closes and scores every open window (end of a replay, shutdown).
// Close the caller's Writers first: a window a live Writer still holds is
// scored at its next Sync or Close. Flush, Advance and Observe must not be
// called from a Sink (Stats may).
func (d *Detector) Flush() {
	d.eng.Flush()
	d.syncPool()
}

// syncPool syncs Observe's writers so that they hand closed windows over.
func (d *Detector) syncPool() {
	for i := range d.pool {
		lw := &d.pool[i]
		lw.mu.Lock()
		lw.w.Sync()
		lw.mu.Unlock()
	}
}

// Stats are a Detector's counters.
type Stats struct {
	// Records is every record given to Observe.
	Records uint64 `json:"records"`
	// Invalid records lack an address or end time.
	Invalid uint64 `json:"invalid"`
	// NotOutbound records are conversations not opened by an internal host.
	NotOutbound uint64 `json:"not_outbound"`
	// InternalDest records go to an internal or owned destination.
	InternalDest uint64 `json:"internal_dest"`
	// Aggregated records reached a window; Late ones arrived after theirs
	// closed.
	Aggregated uint64 `json:"aggregated"`
	Late       uint64 `json:"late_records"`
	// Rejected records had a key the aggregator cannot hold (an address
	// with a zone, or a 256th application protocol in one Writer's window).
	Rejected uint64 `json:"rejected_records"`
	// Open aggregates are in windows not yet closed; Scored ones were
	// closed and scored.
	Open   int    `json:"open_aggregates"`
	Scored uint64 `json:"scored_aggregates"`
	// BelowMin aggregates reached a rung below the minimum severity.
	BelowMin uint64 `json:"below_min_severity"`
	// Alerts is the number of alerts sent (early and final), by severity in
	// BySeverity; Early counts the early ones.
	Alerts     uint64            `json:"alerts"`
	Early      uint64            `json:"early_alerts"`
	BySeverity map[string]uint64 `json:"by_severity"`
}

// Stats returns a snapshot of the counters. The counters of Observe's
// writers are published first (those busy at that instant, and the
// caller's own Writers, add theirs every 1024 records and at Sync and
// Close). Stats never scores a window and may be called from a Sink.
func (d *Detector) Stats() Stats {
	for i := range d.pool {
		lw := &d.pool[i]
		if lw.mu.TryLock() {
			lw.w.publish()
			lw.w.w.Publish()
			lw.mu.Unlock()
		}
	}
	ws := d.eng.Stats()
	st := Stats{
		Records:      d.records.Load(),
		Invalid:      d.invalid.Load(),
		NotOutbound:  d.notOutbound.Load(),
		InternalDest: d.internalDest.Load(),
		Aggregated:   ws.Records,
		Late:         ws.Late,
		Rejected:     ws.Rejected,
		Open:         ws.Open,
		Scored:       d.scored.Load(),
		BelowMin:     d.belowMin.Load(),
		Alerts:       d.alerts.Load(),
		Early:        d.early.Load(),
		BySeverity:   map[string]uint64{},
	}
	for l := severity.Low; l <= severity.Critical; l++ {
		st.BySeverity[l.String()] = d.bySeverity[l].Load()
	}
	return st
}

// hostTotals is a source host's outbound volume in one window.
type hostTotals struct{ up, down uint64 }

// blastRadius counts, for each destination of a window, the distinct
// internal sources that uploaded to it. Sources are numbered by their run
// in key order (the aggregates of one source are consecutive), so a pair
// is a destination and a number; IPv4 destinations, the common case, are
// packed with it into one word and sorted as integers.
type blastRadius struct {
	pairs4 []uint64 // dst << 32 | source run
	tmp4   []uint64 // the radix sort's other buffer
	pairs6 []dstRun
	by4    []dstCount4 // sorted by dst
	by6    []dstCount6 // sorted by dst
}

// closeScratch is what onClose builds for one window, kept for the next:
// a window's temporaries are as large as the window (some 40 bytes a key),
// and allocating them afresh for each window cost a third of the bytes
// the end-to-end benchmark allocated, churn that slowed the goroutines
// adding records as well.
type closeScratch struct {
	hosts   []hostTotals // one per source, in key order (sources are runs)
	blast   blastRadius
	reports []report
}

// reset empties s for the next window. A buffer far larger than the
// last window needed is dropped, so that one burst window does not pin
// its memory for good.
func (s *closeScratch) reset() {
	b := &s.blast
	s.hosts = reuse(s.hosts, len(s.hosts))
	clear(s.reports) // drop the names and matches they point to
	s.reports = reuse(s.reports, len(s.reports))
	b.tmp4 = reuse(b.tmp4, len(b.pairs4))
	b.pairs4 = reuse(b.pairs4, len(b.pairs4))
	clear(b.pairs6)
	b.pairs6 = reuse(b.pairs6, len(b.pairs6))
	b.by4 = reuse(b.by4, len(b.by4))
	clear(b.by6)
	b.by6 = reuse(b.by6, len(b.by6))
}

// reuse returns xs emptied for reuse, or nil when its capacity is more
// than four times what was last used of it (and more than 4096).
func reuse[T any](xs []T, used int) []T {
	if c := cap(xs); c > 4096 && c > 4*used {
		return nil
	}
	return xs[:0]
}

type dstRun struct {
	dst netip.Addr
	run uint32
}

type dstCount4 struct{ dst, n uint32 }

type dstCount6 struct {
	dst netip.Addr
	n   int
}

func (b *blastRadius) add(dst netip.Addr, run int) {
	if dst.Is4() {
		a := dst.As4()
		b.pairs4 = append(b.pairs4, uint64(binary.BigEndian.Uint32(a[:]))<<32|uint64(uint32(run)))
		return
	}
	b.pairs6 = append(b.pairs6, dstRun{dst, uint32(run)})
}

// count turns the pairs into the per-destination counts.
func (b *blastRadius) count() {
	if cap(b.tmp4) < len(b.pairs4) {
		b.tmp4 = make([]uint64, len(b.pairs4))
	}
	sorted := radix.Uint64s(b.pairs4, b.tmp4[:len(b.pairs4)])
	for i, p := range sorted {
		switch {
		case i == 0 || p>>32 != sorted[i-1]>>32:
			b.by4 = append(b.by4, dstCount4{uint32(p >> 32), 1})
		case p != sorted[i-1]:
			b.by4[len(b.by4)-1].n++
		}
	}
	slices.SortFunc(b.pairs6, func(x, y dstRun) int {
		if c := x.dst.Compare(y.dst); c != 0 {
			return c
		}
		return cmp.Compare(x.run, y.run)
	})
	for i, p := range b.pairs6 {
		switch {
		case i == 0 || p.dst != b.pairs6[i-1].dst:
			b.by6 = append(b.by6, dstCount6{p.dst, 1})
		case p.run != b.pairs6[i-1].run:
			b.by6[len(b.by6)-1].n++
		}
	}
}

// of returns the number of sources that uploaded to dst.
func (b *blastRadius) of(dst netip.Addr) int {
	if dst.Is4() {
		a := dst.As4()
		v := binary.BigEndian.Uint32(a[:])
		if i, ok := slices.BinarySearchFunc(b.by4, v, func(c dstCount4, v uint32) int { return cmp.Compare(c.dst, v) }); ok {
			return int(b.by4[i].n)
		}
		return 0
	}
	if i, ok := slices.BinarySearchFunc(b.by6, dst, func(c dstCount6, d netip.Addr) int { return c.dst.Compare(d) }); ok {
		return b.by6[i].n
	}
	return 0
}

// onClose scores the aggregates of one closed window. One pass over them
// sums each source's volumes, counts each destination's uploading
// sources, grades every aggregate and checks its destination against the
// IOC lists; then the aggregates to report, most often a small share of
// the window, are filled again with their unique flows (Closed.At) and
// alerted on, in key order.
func (d *Detector) onClose(c *window.Closed) {
	sc := &d.scratch
	sc.reset()
	hosts, blast, reports := sc.hosts, &sc.blast, sc.reports
	var prev netip.Addr
	var scored, belowMin uint64
	for a := range c.Totals() {
		if len(hosts) == 0 || a.Key.Src != prev {
			hosts = append(hosts, hostTotals{})
			prev = a.Key.Src
		}
		run := len(hosts) - 1
		h := &hosts[run]
		h.up += a.Upload
		h.down += a.Download
		if a.Upload > 0 {
			blast.add(a.Key.Dst, run)
		}
		scored++
		level, _ := severity.Evaluate(&d.cfg.policy, a.Upload, a.Download)
		r := report{run: run}
		// Names are looked up for IOC matching, else only for an alert.
		if len(d.cfg.iocs) > 0 {
			r.names = d.names.lookup(a.Key.Dst)
			r.matches, r.checked = d.iocMatches(a.Key.Dst, r.names, a.LastSeen)
		}
		// An aggregate reported early always gets its final alert, so that
		// a consumer upserting by alert_id sees how it ended.
		reported := a.Mark&markLevel != 0
		if len(r.matches) == 0 && !reported {
			if level == severity.None {
				continue
			}
			if level < d.cfg.minLevel {
				belowMin++
				continue
			}
		}
		r.ref = c.Ref()
		reports = append(reports, r)
	}
	sc.hosts, sc.reports = hosts, reports
	d.scored.Add(scored)
	d.belowMin.Add(belowMin)
	blast.count()
	var snap window.Snapshot
	for i := range reports {
		r := &reports[i]
		// The snapshot straight from the window: most keys' unique flows
		// are counted without building their counter.
		c.SnapshotAt(r.ref, &snap)
		names := r.names
		if len(d.cfg.iocs) == 0 {
			names = d.names.lookup(snap.Key.Dst)
		}
		ctx := windowContext{pcr: pcr(hosts[r.run].up, hosts[r.run].down), blast: blast.of(snap.Key.Dst)}
		al := d.buildAlert(&snap, StageFinal, r.matches, r.checked, &ctx)
		al.DestNames = names
		d.send(al)
	}
	d.flushSink()
}

// report is an aggregate that onClose's pass found to report: where it
// is, its source's run, and its IOC check.
type report struct {
	ref     window.Ref
	run     int
	names   *DestNames // looked up for the IOC check, else nil
	matches []ioc.Match
	checked int
}

// windowContext is what only a closed window knows about an aggregate.
type windowContext struct {
	blast int
	pcr   float64
}

// buildAlert scores s and fills an Alert (wc is nil for early alerts).
func (d *Detector) buildAlert(s *window.Snapshot, stage string, matches []ioc.Match, checked int, wc *windowContext) *Alert {
	in := severity.Input{
		Upload:      s.Upload,
		Download:    s.Download,
		FlowCount:   s.FlowCount,
		UniqueFlows: s.UniqueFlows,
		IOCMatches:  len(matches),
	}
	if wc != nil {
		in.BlastRadius = wc.blast
	}
	as := severity.Assess(d.cfg.policy, in)
	// The alert ID and the Community ID share one string: one allocation.
	var idBuf [32 + 30]byte
	ids := appendAlertID(idBuf[:0], s.Key, s.WindowStart)
	n := len(ids)
	ids = d.cid.AppendBase64(ids, communityid.Flow{
		Src: s.Key.Src, Dst: s.Key.Dst, Proto: s.Key.Proto,
		SrcPort: s.LargestSrcPort, DstPort: s.LargestDstPort,
	})
	idStr := string(ids)
	// The Alert and the PCR it points to: one allocation.
	box := &struct {
		al  Alert
		pcr float64
	}{}
	al := &box.al
	*al = Alert{
		AlertID:            idStr[:n],
		Stage:              stage,
		AlertType:          AlertType,
		Severity:           as.Level,
		Confidence:         as.Confidence,
		SrcIP:              s.Key.Src,
		DestIP:             s.Key.Dst,
		DestPort:           s.Key.DstPort,
		Proto:              ProtoName(s.Key.Proto),
		AppProto:           s.Key.AppProto,
		WindowStart:        s.WindowStart,
		WindowEnd:          s.WindowEnd,
		FlowCount:          s.FlowCount,
		UniqueFlows:        s.UniqueFlows,
		TotalUploadBytes:   s.Upload,
		TotalDownloadBytes: s.Download,
		UploadMB:           severity.Megabytes(s.Upload),
		DownloadMB:         severity.Megabytes(s.Download),
		UploadRatio:        severity.UploadRatio(s.Upload, s.Download),
		IOCsChecked:        checked,
		MaliciousIOCs:      len(matches),
		C2:                 C2{Matches: matches},
		CommunityID:        idStr[n:],
		Reasons:            as.Reasons,
		Rule:               as.Rule,
		FirstSeen:          s.FirstSeen,
		LastSeen:           s.LastSeen,
		UploadPackets:      s.PktsUp,
		DownloadPackets:    s.PktsDown,
	}
	if wc != nil {
		al.BlastRadius = wc.blast
		box.pcr = wc.pcr
		al.PCR = &box.pcr
	}
	if al.C2.Matches == nil {
		al.C2.Matches = []ioc.Match{}
	}
	if d.cfg.geo != nil {
		if gi, ok := d.cfg.geo.Lookup(s.Key.Dst); ok {
			al.DestCountry, al.DestASN, al.DestOrg = gi.Country, gi.ASN, gi.Org
		}
	}
	return al
}

// pcr is the producer-consumer ratio (up − down) / (up + down) to two
// decimals; 0 when there is no traffic.
func pcr(up, down uint64) float64 {
	if up+down == 0 {
		return 0
	}
	v := (float64(up) - float64(down)) / (float64(up) + float64(down))
	return math.Round(v*100) / 100
}
