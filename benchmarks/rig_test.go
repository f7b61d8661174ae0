package benchmarks

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// crew runs chunks of work on p goroutines. Goroutine g does chunks g,
// g+p, g+2p, ... in order. The calling goroutine is goroutine 0 and does
// one chunk per step, under b.Loop; the others, started by newCrew, run
// freely from the first step until halt, without waiting for each other,
// except that with lag > 0 no goroutine starts its j-th chunk before
// every other one has done j-lag of its own. That bound is what keeps the
// event time of several exporters within (lag+1)×p chunks of each other,
// as it is for real exporters sending at the same time; the aggregator
// and IOC benchmarks need no bound (lag 0).
//
// A waiting goroutine polls a few times, then blocks until another
// goroutine finishes a chunk (or the crew halts). It first polled and
// then yielded its P at every poll (runtime.Gosched), which keeps it
// runnable: the pipelines under test run goroutines of their own
// (exfilscore closes windows on one, as the collector does), so three
// goroutines share the two cores, and the waiting one kept a P polling
// that the other two needed. In the CPU profile of exfilscore on two
// goroutines the yields took 6% of the samples; blocking instead, 8
// pairs of processes: exfilscore +7% (median, 1.01-1.21 per pair),
// goflow2, which has no goroutine of its own, unchanged (median 1.00).
type crew struct {
	p, lag  int
	limit   int // chunks per goroutine; 0: until halt
	work    func(g, k int)
	done    []progress      // chunks done, per goroutine
	wake    []chan struct{} // per goroutine: a chunk was done, or halt
	started atomic.Bool
	stopped atomic.Bool
	wg      sync.WaitGroup
}

// progress is a counter on a cache line of its own.
type progress struct {
	n atomic.Int64
	_ [56]byte
}

// spinPolls is how many times a waiting goroutine polls before it
// blocks.
const spinPolls = 64

func newCrew(p, lag, limit int, work func(g, k int)) *crew {
	if p < 1 || lag < 0 || limit < 0 {
		panic("benchmarks: bad crew")
	}
	c := &crew{p: p, lag: lag, limit: limit, work: work, done: make([]progress, p), wake: make([]chan struct{}, p)}
	for g := range c.wake {
		c.wake[g] = make(chan struct{}, 1)
	}
	for g := 1; g < p; g++ {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			for j := 0; c.limit == 0 || j < c.limit; j++ {
				if !c.wait(g, j) {
					return
				}
				c.work(g, j*p+g)
				c.finished(g)
			}
		}()
	}
	return c
}

// wait returns when goroutine g may start its j-th chunk, or false when
// the crew is halted first.
func (c *crew) wait(g, j int) bool {
	ready := func() bool {
		if !c.started.Load() {
			return false
		}
		if c.lag == 0 || j <= c.lag {
			return true
		}
		for h := range c.done {
			if h != g && c.done[h].n.Load() < int64(j-c.lag) {
				return false
			}
		}
		return true
	}
	for i := 0; !ready(); i++ {
		if c.stopped.Load() {
			return false
		}
		if i > spinPolls {
			<-c.wake[g]
		}
	}
	return !c.stopped.Load()
}

// finished counts goroutine g's chunk done and wakes the goroutines that
// wait for it.
func (c *crew) finished(g int) {
	c.done[g].n.Add(1)
	c.signal()
}

func (c *crew) signal() {
	for _, w := range c.wake {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// step does goroutine 0's j-th chunk; the first step starts the others.
func (c *crew) step(j int) {
	if j == 0 {
		c.started.Store(true)
		c.signal()
	}
	c.wait(0, j)
	c.work(0, j*c.p)
	c.finished(0)
}

// chunks returns the number of chunks done so far.
func (c *crew) chunks() int {
	n := int64(0)
	for i := range c.done {
		n += c.done[i].n.Load()
	}
	return int(n)
}

// halt stops the goroutines after their current chunk, waits for them and
// returns the number of chunks done. With a limit, it first lets every
// goroutine do its limit.
func (c *crew) halt() int {
	if c.limit == 0 {
		c.stopped.Store(true)
		c.signal()
	}
	c.wg.Wait()
	c.stopped.Store(true)
	return c.chunks()
}

// runAll has every goroutine do its limit of chunks (tests) and returns
// the number of chunks done.
func (c *crew) runAll() int {
	for j := range c.limit {
		c.step(j)
	}
	return c.halt()
}

// loop runs steps under b.Loop, halts the crew and reports per-item
// metrics: an item is what a chunk holds perChunk of (a record, a
// lookup). b.N counts goroutine 0's chunks, so ns/op is suppressed in
// favour of ns/<item> (wall time per item, all goroutines together),
// <item>s/s, allocs/<item> and B/<item> (bytes allocated), counting the
// chunks done by the time the timer stopped. On Linux it also reports
// cpus-others: how many CPUs other processes kept busy meanwhile, 0 on an
// idle machine (see cpuOthers). It returns the number of chunks done in
// all, for the caller's checks.
func (c *crew) loop(b *testing.B, perChunk int, item string) int {
	var m0, m1 runtime.MemStats
	cpu0, t0 := takeCPUSnapshot(), time.Now()
	runtime.ReadMemStats(&m0)
	j := 0
	for b.Loop() {
		c.step(j)
		j++
	}
	timed := c.chunks()
	runtime.ReadMemStats(&m1)
	if others, ok := cpuOthers(cpu0, takeCPUSnapshot(), time.Since(t0)); ok {
		b.ReportMetric(others, "cpus-others")
	}
	total := c.halt()
	items := float64(timed) * float64(perChunk)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/items, "ns/"+item)
	b.ReportMetric(items/b.Elapsed().Seconds(), item+"s/s")
	b.ReportMetric(float64(m1.Mallocs-m0.Mallocs)/items, "allocs/"+item)
	b.ReportMetric(float64(m1.TotalAlloc-m0.TotalAlloc)/items, "B/"+item)
	return total
}
