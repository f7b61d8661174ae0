package benchmarks

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc"
)

// scoreWindow is the length of the window BenchmarkScoring closes: the
// detector's default.
const scoreWindow = 15 * time.Minute

// firstWindow decodes c (one pass) and returns its records that end in
// the first window, [c.base, c.base+scoreWindow), copied out of the
// decoder's run.
func firstWindow(tb testing.TB, c *capture) []flowsrc.Record {
	dec := flowsrc.NewDatagramDecoder()
	end := c.base.Add(scoreWindow)
	var out []flowsrc.Record
	emit := func(rs []flowsrc.Record) {
		for i := range rs {
			if rs[i].End.Before(end) {
				out = append(out, rs[i])
			}
		}
	}
	for blk := range c.blocks() {
		for i := range blockDatagrams {
			if err := dec.DecodeRuns(exporterAddr(0), benchBase, c.datagram(blk, i, 0), emit); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return out
}

// scorer is one Detector that BenchmarkScoring feeds the same window
// again and again, a window later each time, as a long capture would,
// through one Writer or several: Writer w gets blocks w, w+p, w+2p, ...
// of the window's records, as goroutine w of BenchmarkEndToEnd does, so
// that keys are split between the Writers as they are there.
type scorer struct {
	det    *exfil.Detector
	ws     []*exfil.Writer
	recs   []flowsrc.Record // the next window's records
	end    time.Time        // the next window's end
	alerts uint64
}

func newScorer(tb testing.TB, recs []flowsrc.Record, start time.Time, writers int) *scorer {
	// The scorer shifts its records' times: its own copy.
	s := &scorer{recs: slices.Clone(recs), end: start.Add(scoreWindow)}
	det, err := exfil.New(exfil.WithSink(exfil.SinkFunc(func(*exfil.Alert) { s.alerts++ })))
	if err != nil {
		tb.Fatal(err)
	}
	s.det = det
	for range writers {
		s.ws = append(s.ws, det.NewWriter())
	}
	return s
}

// timer is the part of *testing.B that scorer.next uses.
type timer interface {
	StopTimer()
	StartTimer()
}

// next aggregates the next window's records (untimed: b's timer is
// stopped), then closes the window and scores it (timed).
func (s *scorer) next(b timer) {
	b.StopTimer()
	for k, i := 0, 0; i < len(s.recs); k, i = k+1, i+blockRecords {
		s.ws[k%len(s.ws)].ObserveBatch(s.recs[i:min(i+blockRecords, len(s.recs))])
	}
	for i := range s.recs {
		r := &s.recs[i]
		r.Start, r.End = r.Start.Add(scoreWindow), r.End.Add(scoreWindow)
	}
	// Past the window's end and the detector's default lateness.
	now := s.end.Add(2*time.Minute + time.Second)
	s.end = s.end.Add(scoreWindow)
	b.StartTimer()
	s.det.Advance(now)
	for _, w := range s.ws {
		w.Sync()
	}
}

// BenchmarkScoring measures what closing one window costs the goroutine
// that scores it: the first 15-minute window of BenchmarkEndToEnd's
// capture is decoded once, then aggregated (untimed) into one Detector on
// every iteration, a window later each time, and closed and scored
// (timed: Detector.Advance past the window's end, then Writer.Sync: the
// Writer hands the window over, which puts the
// window's keys in order, sums each source's volumes and each
// destination's sources, and builds an alert for every aggregate that
// reports one, into a sink that counts them). In BenchmarkEndToEnd this
// work runs on a goroutine of its own (Detector.Run) beside the ones that
// add records, and competes with them for the two cores: ns/key is its
// time per aggregate scored, ns/record its time per record of the
// window, and alerts/key the share of aggregates that raise an alert.
//
// With writers=2 the records go through two Writers a block at a time,
// as with two goroutines in BenchmarkEndToEnd: most keys are then split
// between the two, and closing the window merges them.
func BenchmarkScoring(b *testing.B) {
	c := benchCapture(b, 1)
	recs := firstWindow(b, c)
	if len(recs) == 0 {
		b.Fatal("no record in the capture's first window")
	}
	for _, writers := range []int{1, 2} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s := newScorer(b, recs, c.base, writers)
			s.next(b) // the first window allocates what the others reuse
			b.ResetTimer()
			keys0, alerts0 := s.det.Stats().Scored, s.alerts
			for range b.N {
				s.next(b)
			}
			b.StopTimer()
			keys, alerts := s.det.Stats().Scored-keys0, s.alerts-alerts0
			el := b.Elapsed()
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(float64(el.Nanoseconds())/float64(keys), "ns/key")
			b.ReportMetric(float64(el.Nanoseconds())/float64(b.N*len(recs)), "ns/record")
			b.ReportMetric(float64(alerts)/float64(keys), "alerts/key")
		})
	}
}
