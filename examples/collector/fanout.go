package main

import (
	"encoding/binary"
	"net/netip"
	"sync"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc"
)

// fanout spreads the records of one decoding goroutine over lanes, each a
// goroutine that owns an exfil.Writer: decoding stays in order (templates
// are per exporter and order matters), aggregation uses every core. A
// record goes to the lane of its unordered address pair, so both
// directions of a conversation, and every record of an aggregate, meet the
// same Writer: no key is split, early alerts see the whole running
// aggregate.
//
// Records travel in batches: per record a producer pays one copy, per
// batch one channel send. Each producing goroutine has its own producer.
// A lane with nothing to do for idleSync syncs its Writer, so that the
// windows it holds close on time.
type fanout struct {
	lanes []*lane
	free  chan *batch
	wg    sync.WaitGroup
}

// batchSize is how many records a batch holds: big enough to amortise the
// channel send (~100 ns) over the records, small enough to stay in cache.
const batchSize = 256

type batch struct {
	n    int
	recs [batchSize]flowsrc.Record
}

type lane struct {
	ch chan *batch
	w  *exfil.Writer
}

// idleSync is how long a lane waits for records before it syncs.
const idleSync = 250 * time.Millisecond

// newFanout starts n lanes feeding det.
func newFanout(det *exfil.Detector, n int) *fanout {
	f := &fanout{free: make(chan *batch, 8*n+8)}
	for range n {
		l := &lane{ch: make(chan *batch, 8), w: det.NewWriter()}
		f.lanes = append(f.lanes, l)
		f.wg.Go(func() { f.run(l) })
	}
	return f
}

func (f *fanout) run(l *lane) {
	defer l.w.Close()
	idle := time.NewTimer(idleSync)
	defer idle.Stop()
	for {
		var b *batch
		select {
		case b = <-l.ch:
		case <-idle.C:
			l.w.Sync()
			b = <-l.ch // nothing more to sync until a record arrives
		}
		if b == nil {
			return // closed
		}
		for i := range b.n {
			l.w.Observe(&b.recs[i])
		}
		b.n = 0
		select {
		case f.free <- b:
		default:
		}
		idle.Reset(idleSync)
	}
}

// producer is one goroutine's side of a fanout: the batches it fills.
type producer struct {
	f   *fanout
	cur []*batch // per lane
}

func (f *fanout) producer() *producer {
	return &producer{f: f, cur: make([]*batch, len(f.lanes))}
}

// emit queues a copy of r on its lane.
func (p *producer) emit(r *flowsrc.Record) {
	i := pairIndex(r.Src, r.Dst, len(p.cur))
	b := p.cur[i]
	if b == nil {
		b = p.f.get()
		p.cur[i] = b
	}
	b.recs[b.n] = *r
	if b.n++; b.n == batchSize {
		p.f.lanes[i].ch <- b
		p.cur[i] = nil
	}
}

func (f *fanout) get() *batch {
	select {
	case b := <-f.free:
		return b
	default:
		return new(batch)
	}
}

// flush sends every partly filled batch (end of a datagram in live mode).
func (p *producer) flush() {
	for i, b := range p.cur {
		if b != nil && b.n > 0 {
			p.f.lanes[i].ch <- b
			p.cur[i] = nil
		}
	}
}

// close stops the lanes and waits until their Writers are closed. Every
// producer must have flushed and stopped.
func (f *fanout) close() {
	for _, l := range f.lanes {
		close(l.ch)
	}
	f.wg.Wait()
}

// pairIndex maps the unordered pair {a, b} to one of n lanes.
func pairIndex(a, b netip.Addr, n int) int {
	if n == 1 {
		return 0
	}
	x, y := a.As16(), b.As16()
	h := (binary.LittleEndian.Uint64(x[:8]) ^ binary.LittleEndian.Uint64(y[:8])) +
		(binary.LittleEndian.Uint64(x[8:]) ^ binary.LittleEndian.Uint64(y[8:]))
	h *= 0x9e3779b97f4a7c15
	return int((h >> 32) * uint64(n) >> 32)
}
