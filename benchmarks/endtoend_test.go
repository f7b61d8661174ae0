package benchmarks

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/netsampler/goflow2/v2/producer"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"
	goflowutils "github.com/netsampler/goflow2/v2/utils"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc"
)

// exporterAddr is the exporter of goroutine g's datagrams: every goroutine
// is its own exporter, so that template state stays per exporter.
func exporterAddr(g int) netip.Addr { return netip.AddrFrom4([4]byte{192, 0, 2, byte(10 + g)}) }

// collectorAddr is where the datagrams are sent (goflow2 wants it).
var collectorAddr = netip.MustParseAddrPort("192.0.2.1:2055")

// pipeline is one implementation under BenchmarkEndToEnd: datagrams in,
// records (and, for exfilscore, alerts) out.
type pipeline interface {
	// datagram feeds dg, sent by exporter g; only goroutine g calls it.
	datagram(g int, dg []byte)
	// finish ends the run (exfilscore: Flush) and returns the counts.
	finish() pipelineResult
}

// pipelineResult is what a pipeline saw.
type pipelineResult struct {
	records, bytes uint64 // records decoded and the sum of their byte counts
	late           uint64 // records that arrived after their window closed
	aggregates     uint64 // aggregates (key × window) scored
	alerts         uint64
	err            error // the first decode error
}

// lane is a goroutine's private counters, padded so that two lanes never
// share a cache line.
type lane struct {
	records, bytes uint64
	err            error
	_              [64]byte
}

func sumLanes(ls []lane) pipelineResult {
	var r pipelineResult
	for i := range ls {
		r.records += ls[i].records
		r.bytes += ls[i].bytes
		if r.err == nil {
			r.err = ls[i].err
		}
	}
	return r
}

// exfilPipeline is exfilscore: flowsrc.DatagramDecoder.DecodeRuns → an
// exfil.Writer per goroutine, a run of records at a time (ObserveBatch:
// the window's tables read ahead) → alerts to a sink that only counts them,
// closed windows scored on a goroutine of their own (Detector.Run), as the
// collector does. One decoder and one detector are shared by every
// goroutine.
type exfilPipeline struct {
	scoring
	dec     *flowsrc.DatagramDecoder
	lanes   []lane
	emits   []func([]flowsrc.Record)
	writers []*exfil.Writer
}

// scoring is the Detector of an exfilscore pipeline, with a sink that
// counts alerts, scoring closed windows on a goroutine of its own
// (Detector.Run) as the collector does.
type scoring struct {
	det *exfil.Detector
	// alerts is on a cache line of its own: the scoring goroutine adds to
	// it for every alert, and the fields around it are read by the
	// goroutines that decode, once per datagram.
	_       [64]byte
	alerts  atomic.Uint64
	_       [56]byte
	stop    context.CancelFunc
	stopped chan struct{}
}

func (s *scoring) start() error {
	det, err := exfil.New(exfil.WithSink(exfil.SinkFunc(func(*exfil.Alert) { s.alerts.Add(1) })))
	if err != nil {
		return err
	}
	s.det = det
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.stopped = cancel, make(chan struct{})
	go func() { det.Run(ctx); close(s.stopped) }()
	return nil
}

// done stops scoring once the writers are closed, scores the open
// windows and returns the lanes' counts with the Detector's.
func (s *scoring) done(lanes []lane) pipelineResult {
	s.stop()
	<-s.stopped
	s.det.Flush()
	r := sumLanes(lanes)
	st := s.det.Stats()
	r.late, r.aggregates, r.alerts = st.Late, st.Scored, s.alerts.Load()
	if st.Alerts != r.alerts && r.err == nil {
		r.err = fmt.Errorf("detector counted %d alerts, sink got %d", st.Alerts, r.alerts)
	}
	return r
}

func newExfilPipeline(p int) (pipeline, error) {
	x := &exfilPipeline{dec: flowsrc.NewDatagramDecoder(), lanes: make([]lane, p), emits: make([]func([]flowsrc.Record), p)}
	if err := x.start(); err != nil {
		return nil, err
	}
	for g := range p {
		l := &x.lanes[g]
		w := x.det.NewWriter()
		x.writers = append(x.writers, w)
		x.emits[g] = func(rs []flowsrc.Record) {
			l.records += uint64(len(rs))
			for i := range rs {
				l.bytes += rs[i].BytesToServer
			}
			w.ObserveBatch(rs)
		}
	}
	return x, nil
}

func (x *exfilPipeline) datagram(g int, dg []byte) {
	// The arrival time is used only for datagrams without time (sFlow).
	if err := x.dec.DecodeRuns(exporterAddr(g), benchBase, dg, x.emits[g]); err != nil && x.lanes[g].err == nil {
		x.lanes[g].err = err
	}
}

func (x *exfilPipeline) finish() pipelineResult {
	for _, w := range x.writers {
		w.Close()
	}
	return x.done(x.lanes)
}

// lanesPipeline is exfilscore as the collector runs it: each goroutine
// decodes its exporter's datagrams (flowsrc.DatagramDecoder) into an
// exfil.Producer, which spreads the records by address pair over as many
// exfil.Lanes as there are goroutines, each a goroutine of its own with a
// Writer that adds a batch at a time (ObserveBatch: the window's tables
// read ahead); closed windows are scored on another goroutine
// (Detector.Run). Keys are not split between Writers.
type lanesPipeline struct {
	scoring
	dec   *flowsrc.DatagramDecoder
	ls    *exfil.Lanes
	lanes []lane
	prods []*exfil.Producer
	emits []func(*flowsrc.Record)
}

func newLanesPipeline(p int) (pipeline, error) {
	x := &lanesPipeline{dec: flowsrc.NewDatagramDecoder(), lanes: make([]lane, p), emits: make([]func(*flowsrc.Record), p)}
	if err := x.start(); err != nil {
		return nil, err
	}
	x.ls = x.det.NewLanes(p)
	for g := range p {
		l := &x.lanes[g]
		pr := x.ls.Producer()
		x.prods = append(x.prods, pr)
		x.emits[g] = func(r *flowsrc.Record) {
			l.records++
			l.bytes += r.BytesToServer
			pr.Observe(r)
		}
	}
	return x, nil
}

func (x *lanesPipeline) datagram(g int, dg []byte) {
	if err := x.dec.Decode(exporterAddr(g), benchBase, dg, x.emits[g]); err != nil && x.lanes[g].err == nil {
		x.lanes[g].err = err
	}
}

func (x *lanesPipeline) finish() pipelineResult {
	for _, pr := range x.prods {
		pr.Flush()
	}
	x.ls.Close()
	return x.done(x.lanes)
}

// goflowPipeline is goflow2 v2.2.6's own NetFlow pipe (utils.NetFlowPipe:
// per-exporter template systems, netflow.DecodeMessageNetFlow, then the
// protobuf producer's Produce, as goflow2 -produce=sample builds it) on the
// same datagrams. Its formatter only counts the messages (as exfilscore's
// sink only counts alerts); there is no transport. goflow2's binary also
// wraps the producer in Prometheus metrics and a panic guard; they are left
// out, which can only make goflow2 faster here. One pipe is shared by every
// goroutine, as goflow2 shares one between its UDP workers.
type goflowPipeline struct {
	pipe  *goflowutils.NetFlowPipe
	prod  producer.ProducerInterface
	lanes []lane
	msgs  []goflowutils.Message
}

func newGoflowPipeline(p int) (pipeline, error) {
	var cfg *protoproducer.ProducerConfig // goflow2's default when no mapping file is given
	cfgm, err := cfg.Compile()
	if err != nil {
		return nil, err
	}
	prod, err := protoproducer.CreateProtoProducer(cfgm, protoproducer.CreateSamplingSystem)
	if err != nil {
		return nil, err
	}
	x := &goflowPipeline{prod: prod, lanes: make([]lane, p), msgs: make([]goflowutils.Message, p)}
	x.pipe = goflowutils.NewNetFlowPipe(&goflowutils.PipeConfig{Format: countingFormat{x.lanes}, Producer: prod})
	for g := range p {
		x.msgs[g] = goflowutils.Message{Src: netip.AddrPortFrom(exporterAddr(g), 40000), Dst: collectorAddr, Received: benchBase}
	}
	return x, nil
}

func (x *goflowPipeline) datagram(g int, dg []byte) {
	m := &x.msgs[g]
	m.Payload = dg
	if err := x.pipe.DecodeFlow(m); err != nil && x.lanes[g].err == nil {
		x.lanes[g].err = err
	}
}

func (x *goflowPipeline) finish() pipelineResult {
	x.pipe.Close()
	x.prod.Close()
	return sumLanes(x.lanes)
}

// countingFormat is a goflow2 formatter that counts each flow message
// in the lane of the exporter (sampler address) it came from.
type countingFormat struct{ lanes []lane }

func (f countingFormat) Format(data any) ([]byte, []byte, error) {
	m, ok := data.(*protoproducer.ProtoProducerMessage)
	if !ok {
		return nil, nil, fmt.Errorf("benchmarks: goflow2 produced a %T", data)
	}
	sa := m.SamplerAddress
	if len(sa) != 4 || int(sa[3])-10 < 0 || int(sa[3])-10 >= len(f.lanes) {
		return nil, nil, fmt.Errorf("benchmarks: goflow2 message from unknown sampler %v", sa)
	}
	l := &f.lanes[int(sa[3])-10]
	l.records++
	l.bytes += m.Bytes
	return nil, nil, nil
}

// pipelines are the implementations BenchmarkEndToEnd compares.
var pipelines = []struct {
	name string
	new  func(p int) (pipeline, error)
}{
	{"exfilscore", newExfilPipeline},
	{"exfilscore-lanes", newLanesPipeline},
	{"goflow2", newGoflowPipeline},
}

// feedBlock feeds chunk k, a whole block of c, to pl as exporter g: block
// k mod blocks of pass k / blocks.
func feedBlock(c *capture, pl pipeline, g, k int) {
	nb := c.blocks()
	blk, pass := k%nb, k/nb
	for i := range blockDatagrams {
		pl.datagram(g, c.datagram(blk, i, pass))
	}
}

// BenchmarkEndToEnd measures datagrams → alerts on the generated NetFlow
// v9 capture: exfilscore (decode, orient, aggregate, score, alert) next to
// goflow2's decode + produce path on the same datagrams, with one and two
// goroutines (one exporter each). A chunk of work is a block of 100
// datagrams (3000 records); see doc.go.
func BenchmarkEndToEnd(b *testing.B) {
	ps := goroutineCounts(b)
	c := benchCapture(b, slices.Max(ps))
	for _, impl := range pipelines {
		b.Run("impl="+impl.name, func(b *testing.B) {
			for _, p := range ps {
				b.Run(fmt.Sprintf("goroutines=%d", p), func(b *testing.B) {
					pl, err := impl.new(p)
					if err != nil {
						b.Fatal(err)
					}
					cr := newCrew(p, e2eLag, 0, func(g, k int) { feedBlock(c, pl, g, k) })
					chunks := cr.loop(b, blockRecords, "record")
					res := pl.finish()
					if res.err != nil {
						b.Fatal(res.err)
					}
					if want := uint64(chunks * blockRecords); res.records != want || res.late != 0 {
						b.Fatalf("%d records decoded (%d late), want %d (0 late)", res.records, res.late, want)
					}
					if res.aggregates > 0 {
						// How often a record opens a new aggregate: how
						// many IOC checks a record costs (BenchmarkIOCCheck).
						b.ReportMetric(float64(res.aggregates)/float64(res.records), "keys/record")
						// How much of the scoring builds alerts.
						b.ReportMetric(float64(res.alerts)/float64(res.aggregates), "alerts/key")
					}
				})
			}
		})
	}
}
