package exfil

import (
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
// NewLanes starts the lane goroutines; Close stops them. Lanes is safe
// for concurrent use; a Producer is not (one per producing goroutine).
type Lanes struct {
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
	ch chan *batch
	w  *Writer
}

// laneIdle is how long a lane waits for records before it syncs, and how
// often an idle lane syncs again.
const laneIdle = 250 * time.Millisecond

// NewLanes starts n lanes (n < 1 means 1) feeding d.
func (d *Detector) NewLanes(n int) *Lanes {
	n = max(n, 1)
	l := &Lanes{free: make(chan *batch, 8*n+8)}
	for range n {
		ln := &lane{ch: make(chan *batch, 8), w: d.NewWriter()}
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
		var b *batch
		select {
		case b = <-ln.ch:
		case <-idle.C:
			// Idle: hand over the windows the watermark closed (records of
			// other lanes, or Advance) every laneIdle, so that an idle lane
			// never holds a closed window back.
			ln.w.Sync()
			idle.Reset(laneIdle)
			continue
		}
		if b == nil {
			return // closed
		}
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
	l   *Lanes
	cur []*batch // per lane
}

// Producer returns a Producer for one goroutine.
func (l *Lanes) Producer() *Producer {
	return &Producer{l: l, cur: make([]*batch, len(l.lanes))}
}

// Observe queues a copy of r on its lane; it reaches the Detector when
// its batch is full or at Flush.
func (p *Producer) Observe(r *flowsrc.Record) {
	i := poolIndex(r.Src, r.Dst, len(p.cur))
	b := p.cur[i]
	if b == nil {
		b = p.l.get()
		p.cur[i] = b
	}
	b.recs[b.n] = *r
	if b.n++; b.n == batchSize {
		p.l.lanes[i].ch <- b
		p.cur[i] = nil
	}
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
			p.l.lanes[i].ch <- b
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
