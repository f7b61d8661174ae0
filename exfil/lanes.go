package exfil

import (
	"math"
	"sync"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// Lanes feed a Detector on several cores from goroutines that must keep
// their own order (a decoder reads an exporter's datagrams in order, for
// its templates): each producing goroutine hands its records to a
// Producer, which spreads them by their unordered address pair over n
// lanes, each a goroutine that owns a Writer. Both directions of a
// conversation, and every record of an aggregate, meet the same Writer:
// no key is split between Writers (no duplicated memory, no merge at
// close), and early alerts see the whole running aggregate.
//
// Records travel in batches: per record a Producer pays one copy, per
// batch one channel send. A lane that gets nothing for a quarter second
// syncs its Writer, so that the windows it holds close on time.
//
// Windows close in the order the Producer reads its records, not in the
// order the lanes happen to add them: the lanes' Writers never advance
// the watermark themselves (window.Engine.NewFollower). When a Producer
// reads an outbound record that would close a window, it first waits
// until every lane has added the records it sent before (once per window,
// not per record), then advances the watermark to that record's end. A
// lane whose queue lags behind another's therefore never finds its
// records late because of the queue: a single producer's records are
// aggregated, and counted late, exactly as one Writer fed in order would
// (several producers are as independent as several Writers).
//
// NewLanes starts the lane goroutines; Close stops them. Lanes is safe
// for concurrent use; a Producer is not (one per producing goroutine).
type Lanes struct {
	d     *Detector
	lanes []*lane
	free  chan *batch
	wg    sync.WaitGroup
	once  sync.Once
}

// batchSize is how many records a batch holds: big enough to amortise the
// channel send (~100 ns) over the records, small enough to stay in cache.
const batchSize = 256

type batch struct {
	n    int
	recs [batchSize]flowsrc.Record
}

type lane struct {
	ch chan msg
	w  *Writer
}

// msg is what a lane receives: a batch of records, or a barrier (done)
// that it marks once it has added the batches sent before it.
type msg struct {
	b    *batch
	done *sync.WaitGroup
}

// laneIdle is how long a lane waits for records before it syncs, and how
// often an idle lane syncs again.
const laneIdle = 250 * time.Millisecond

// NewLanes starts n lanes (n < 1 means 1) feeding d.
func (d *Detector) NewLanes(n int) *Lanes {
	n = max(n, 1)
	l := &Lanes{d: d, free: make(chan *batch, 8*n+8)}
	for range n {
		ln := &lane{ch: make(chan msg, 8), w: d.newWriter(d.eng.NewFollower())}
		l.lanes = append(l.lanes, ln)
		l.wg.Go(func() { l.run(ln) })
	}
	return l
}

func (l *Lanes) run(ln *lane) {
	defer ln.w.Close()
	idle := time.NewTimer(laneIdle)
	defer idle.Stop()
	for {
		var m msg
		var ok bool
		select {
		case m, ok = <-ln.ch:
		case <-idle.C:
			// Idle: hand over the windows the watermark closed (records of
			// other lanes, or Advance) every laneIdle, so that an idle lane
			// never holds a closed window back.
			ln.w.Sync()
			idle.Reset(laneIdle)
			continue
		}
		if !ok {
			return // closed
		}
		if m.done != nil {
			m.done.Done()
			continue
		}
		b := m.b
		ln.w.ObserveBatch(b.recs[:b.n])
		b.n = 0
		select {
		case l.free <- b:
		default:
		}
		idle.Reset(laneIdle)
	}
}

// Producer is one goroutine's way into Lanes: the batches it fills.
type Producer struct {
	l       *Lanes
	cur     []*batch // per lane
	trigger int64    // a record ending at or after it may close a window
	lanes   sync.WaitGroup
}

// Producer returns a Producer for one goroutine.
func (l *Lanes) Producer() *Producer {
	p := &Producer{l: l, cur: make([]*batch, len(l.lanes))}
	p.setTrigger()
	return p
}

func (p *Producer) setTrigger() {
	if t := p.l.d.eng.NextClose(); t.IsZero() {
		p.trigger = math.MinInt64
	} else {
		p.trigger = t.UnixNano()
	}
}

// Observe queues a copy of r on its lane; it reaches the Detector when
// its batch is full or at Flush.
func (p *Producer) Observe(r *flowsrc.Record) {
	if r.End.UnixNano() >= p.trigger {
		p.advance(r)
	}
	i := poolIndex(r.Src, r.Dst, len(p.cur))
	b := p.cur[i]
	if b == nil {
		b = p.l.get()
		p.cur[i] = b
	}
	b.recs[b.n] = *r
	if b.n++; b.n == batchSize {
		p.l.lanes[i].ch <- msg{b: b}
		p.cur[i] = nil
	}
}

// advance runs before r is queued when r ends at or after the trigger:
// if r is an outbound record that closes a window (the only records that
// move a Writer's watermark), it waits until the lanes have added every
// record sent before r, then advances the watermark to r's end.
func (p *Producer) advance(r *flowsrc.Record) {
	p.setTrigger() // another Producer, or Advance, may have closed it
	if r.End.UnixNano() < p.trigger || !p.l.d.outbound(r) {
		return
	}
	p.Flush()
	p.lanes.Add(len(p.l.lanes))
	for _, ln := range p.l.lanes {
		ln.ch <- msg{done: &p.lanes}
	}
	p.lanes.Wait()
	p.l.d.eng.AdvanceTo(r.End)
	p.setTrigger()
}

func (l *Lanes) get() *batch {
	select {
	case b := <-l.free:
		return b
	default:
		return new(batch)
	}
}

// Flush sends every partly filled batch: call it when the producer has no
// more records for now (the end of a datagram from a live socket, of a
// file) so that they are aggregated, and early alerts raised, at once.
func (p *Producer) Flush() {
	for i, b := range p.cur {
		if b != nil && b.n > 0 {
			p.l.lanes[i].ch <- msg{b: b}
			p.cur[i] = nil
		}
	}
}

// Close stops the lanes once they have aggregated every batch sent and
// closes their Writers (their open windows are scored when they close,
// e.g. at the Detector's Flush). Every Producer must have flushed and
// stopped. Close is idempotent.
func (l *Lanes) Close() {
	l.once.Do(func() {
		for _, ln := range l.lanes {
			close(ln.ch)
		}
		l.wg.Wait()
	})
}
