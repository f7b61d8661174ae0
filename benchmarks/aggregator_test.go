package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/window"
)

const (
	// aggStream is the length of the pre-decoded observation stream
	// (about 170 MB of window.Obs); the benchmark cycles through it.
	aggStream = 1 << 20
	// aggChunk observations make a chunk of work.
	aggChunk = 1 << 15
)

// obsKey is the aggregate key of key k: the conversation keySrc(k) →
// keyDst(k):443/TCP.
func obsKey(k uint32) window.Key {
	return window.Key{Src: keySrc(k), Dst: keyDst(k), DstPort: 443, Proto: 6}
}

// obsStream is a stream of pre-decoded, oriented observations over keys
// keys drawn Zipf(s=1.1), all in one window, so that no window closes and
// what is measured is aggregation alone. idx[i] is obs[i]'s key number:
// the pre-resolved index of the array ceiling.
type obsStream struct {
	keys int
	obs  []window.Obs
	idx  []uint32
}

// aggWindow is the window every observation falls in (UTC 00:00-00:15).
var aggWindow = benchBase

func newObsStream(n, keys int) *obsStream {
	s := &obsStream{keys: keys, obs: make([]window.Obs, n), idx: make([]uint32, n)}
	rng := rand.New(rand.NewPCG(2, 2))
	nextKey := zipfKeys(rng, keys)
	for i := range s.obs {
		k := nextKey()
		port := uint16(1024 + rng.IntN(60000))
		end := aggWindow.Add(time.Minute + time.Duration(rng.Int64N(int64(10*time.Minute))))
		up := uint64(rng.IntN(1 << 20))
		s.idx[i] = k
		s.obs[i] = window.Obs{
			Key: obsKey(k), End: end, Start: end.Add(-time.Second),
			Upload: up, Download: up / 16, PktsUp: 1 + up/1400, PktsDown: 1 + up/16/1400,
			FlowHash: mix64(uint64(k)<<16 | uint64(port)), SrcPort: port, DstPort: 443,
		}
	}
	return s
}

// mix64 is the splitmix64 finaliser: a flow hash from key and port.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// prefillObs returns the observation that opens key k's aggregate.
func prefillObs(k uint32) window.Obs {
	end := aggWindow.Add(time.Minute)
	return window.Obs{Key: obsKey(k), End: end, Start: end, Upload: 1, PktsUp: 1, FlowHash: mix64(uint64(k) << 16), SrcPort: 1024, DstPort: 443}
}

// benchObs returns the stream of BenchmarkAggregator (see benchCapture).
func benchObs(b *testing.B) *obsStream {
	if *flagKeys < 2 || *flagKeys > 1<<24 {
		b.Fatalf("bad -bench.keys %d", *flagKeys)
	}
	return newObsStream(aggStream, *flagKeys)
}

// aggregator is one implementation under BenchmarkAggregator.
type aggregator interface {
	// prefill opens the aggregate of every key.
	prefill(s *obsStream)
	// add aggregates s.obs[lo:hi]; only goroutine g calls add(g, ...).
	add(g int, s *obsStream, lo, hi int)
	// records is the number of observations aggregated, prefill included.
	records() (uint64, error)
}

// windowAgg is exfilscore's window.Aggregator, shared by every goroutine.
type windowAgg struct {
	a      *window.Aggregator
	closed []*window.Aggregate // what the close callback got (flush)
}

func newWindowAgg(int) (aggregator, error) {
	w := &windowAgg{}
	a, err := window.New(func(as []*window.Aggregate) { w.closed = append(w.closed, as...) })
	w.a = a
	return w, err
}

// flush closes the window and returns its aggregates.
func (w *windowAgg) flush() []*window.Aggregate {
	w.a.Flush()
	return w.closed
}

func (w *windowAgg) prefill(s *obsStream) {
	for k := range s.keys {
		o := prefillObs(uint32(k))
		w.a.Add(&o)
	}
}

func (w *windowAgg) add(_ int, s *obsStream, lo, hi int) {
	for i := lo; i < hi; i++ {
		w.a.Add(&s.obs[i])
	}
}

func (w *windowAgg) records() (uint64, error) {
	st := w.a.Stats()
	if st.Late != 0 {
		return st.Records, fmt.Errorf("%d late observations", st.Late)
	}
	return st.Records, nil
}

// engineAgg is exfilscore's window.Engine, the lock-free successor of
// Aggregator: one Writer (private partials) per goroutine. Every Writer
// opens every key before the timer starts, as every key reaches every
// goroutine of the benchmark: B/key is then the memory of p partials.
type engineAgg struct {
	e      *window.Engine
	w      []*window.Writer
	extra  int  // prefill observations beyond one per key
	batch  bool // add with AddBatch (prefetching) instead of Add
	byKey  bool // keys partitioned over the Writers (the stream is routed)
	closed []*window.Aggregate
}

func newEngineAgg(p int) (aggregator, error) { return newEngine(p, false) }

func newEngineBatchAgg(p int) (aggregator, error) { return newEngine(p, true) }

func newEngineByKeyAgg(p int) (aggregator, error) {
	x, err := newEngine(p, true)
	if x != nil {
		x.byKey = true
	}
	return x, err
}

func newEngine(p int, batch bool) (*engineAgg, error) {
	x := &engineAgg{batch: batch}
	e, err := window.NewEngine(func(as []*window.Aggregate) { x.closed = append(x.closed, as...) })
	if err != nil {
		return nil, err
	}
	x.e = e
	for range p {
		x.w = append(x.w, e.NewWriter())
	}
	return x, nil
}

func (x *engineAgg) prefill(s *obsStream) {
	if x.byKey {
		for k := range s.keys {
			o := prefillObs(uint32(k))
			x.w[k%len(x.w)].Add(&o)
		}
		return
	}
	x.extra = (len(x.w) - 1) * s.keys
	for _, w := range x.w {
		for k := range s.keys {
			o := prefillObs(uint32(k))
			w.Add(&o)
		}
	}
}

func (x *engineAgg) add(g int, s *obsStream, lo, hi int) {
	w := x.w[g]
	if x.batch {
		w.AddBatch(s.obs[lo:hi])
		return
	}
	for i := lo; i < hi; i++ {
		w.Add(&s.obs[i])
	}
}

func (x *engineAgg) records() (uint64, error) {
	for _, w := range x.w {
		w.Sync()
	}
	st := x.e.Stats()
	if st.Late != 0 || st.Rejected != 0 {
		return st.Records, fmt.Errorf("%d late and %d rejected observations", st.Late, st.Rejected)
	}
	return st.Records - uint64(x.extra), nil
}

// flush closes the window and returns its aggregates.
func (x *engineAgg) flush() []*window.Aggregate {
	x.e.Flush()
	for _, w := range x.w {
		w.Close()
	}
	return x.closed
}

// counters are the baseline's and the ceiling's per-key sums.
type counters struct{ flows, up, down, pktsUp, pktsDown uint64 }

func (c *counters) add(o *window.Obs) {
	c.flows++
	c.up += o.Upload
	c.down += o.Download
	c.pktsUp += o.PktsUp
	c.pktsDown += o.PktsDown
}

// mutexMap is the naive baseline: one Go map from key to counters behind
// one mutex, shared by every goroutine.
type mutexMap struct {
	mu sync.Mutex
	m  map[window.Key]counters
}

func newMutexMap(int) (aggregator, error) {
	return &mutexMap{m: make(map[window.Key]counters)}, nil
}

func (m *mutexMap) prefill(s *obsStream) {
	for k := range s.keys {
		o := prefillObs(uint32(k))
		m.add1(&o)
	}
}

func (m *mutexMap) add1(o *window.Obs) {
	m.mu.Lock()
	c := m.m[o.Key]
	c.add(o)
	m.m[o.Key] = c
	m.mu.Unlock()
}

func (m *mutexMap) add(_ int, s *obsStream, lo, hi int) {
	for i := lo; i < hi; i++ {
		m.add1(&s.obs[i])
	}
}

func (m *mutexMap) records() (uint64, error) {
	var n uint64
	for _, c := range m.m {
		n += c.flows
	}
	return n, nil
}

// keyedArray is the ceiling: keys resolved to indices beforehand, one
// private array of counters per goroutine (private partials, merged at
// window close, with no merge done here), updated in place. No hashing, no
// lock, no allocation, no time handling: what is left is the memory traffic.
type keyedArray struct{ lanes [][]counters }

func newKeyedArray(p int) (aggregator, error) {
	return &keyedArray{lanes: make([][]counters, p)}, nil
}

func (a *keyedArray) prefill(s *obsStream) {
	for g := range a.lanes {
		a.lanes[g] = make([]counters, s.keys)
	}
	for k := range s.keys {
		o := prefillObs(uint32(k))
		a.lanes[0][k].add(&o)
	}
}

func (a *keyedArray) add(g int, s *obsStream, lo, hi int) {
	arr := a.lanes[g]
	for i := lo; i < hi; i++ {
		arr[s.idx[i]].add(&s.obs[i])
	}
}

func (a *keyedArray) records() (uint64, error) {
	var n uint64
	for _, l := range a.lanes {
		for i := range l {
			n += l[i].flows
		}
	}
	return n, nil
}

// routed returns s partitioned by key over p goroutines, as the
// collector's lanes partition records: chunk k of the result (see
// addChunk) holds only keys k%p ≡ key mod p, in stream order, each
// goroutine's part repeated as needed to fill its chunks (the hottest
// keys make the parts unequal). Each goroutine then holds a partial of
// its keys only, instead of every key.
func (s *obsStream) routed(p int) *obsStream {
	if p == 1 {
		return s
	}
	parts := make([][]int, p)
	for i := range s.obs {
		g := int(s.idx[i]) % p
		parts[g] = append(parts[g], i)
	}
	out := &obsStream{keys: s.keys, obs: make([]window.Obs, len(s.obs)), idx: make([]uint32, len(s.obs))}
	next := make([]int, p)
	for k := range len(s.obs) / aggChunk {
		g := k % p
		for j := k * aggChunk; j < (k+1)*aggChunk; j++ {
			i := parts[g][next[g]%len(parts[g])]
			next[g]++
			out.obs[j], out.idx[j] = s.obs[i], s.idx[i]
		}
	}
	return out
}

// aggregators are the implementations BenchmarkAggregator compares:
// engine-batch adds with Writer.AddBatch, engine-bykey too on a stream
// partitioned by key (routed).
var aggregators = []struct {
	name string
	new  func(p int) (aggregator, error)
}{
	{"engine", newEngineAgg},
	{"engine-batch", newEngineBatchAgg},
	{"engine-bykey", newEngineByKeyAgg},
	{"window", newWindowAgg},
	{"mutexmap", newMutexMap},
	{"ceiling", newKeyedArray},
}

// prefillAgg builds impl for p goroutines, opens every key of s and
// returns the live heap it took per key.
func prefillAgg(newAgg func(int) (aggregator, error), p int, s *obsStream) (aggregator, float64, error) {
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	a, err := newAgg(p)
	if err != nil {
		return nil, 0, err
	}
	a.prefill(s)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	return a, (float64(m1.HeapAlloc) - float64(m0.HeapAlloc)) / float64(s.keys), nil
}

// streamChunks is the number of chunks of s that p goroutines cycle
// through: a multiple of p, so that each chunk always goes to the same
// goroutine.
func streamChunks(s *obsStream, p int) int {
	n := len(s.obs) / aggChunk / p * p
	if n == 0 {
		panic("benchmarks: observation stream shorter than a chunk per goroutine")
	}
	return n
}

// addChunk aggregates chunk k of s for goroutine g of p (the stream wraps
// around).
func addChunk(a aggregator, s *obsStream, p, g, k int) {
	lo := k % streamChunks(s, p) * aggChunk
	a.add(g, s, lo, lo+aggChunk)
}

// warmUp runs every chunk of s once through the goroutine (Writer) that
// will get it, so that every flow of the stream has been seen, and
// returns the number of observations added. What follows is the steady
// state of an open window: updates, no new key, no new flow.
func warmUp(a aggregator, s *obsStream, p int) int {
	n := streamChunks(s, p)
	for k := range n {
		addChunk(a, s, p, k%p, k)
	}
	return n * aggChunk
}

// BenchmarkAggregator measures aggregation alone on pre-decoded
// window.Obs (-bench.keys keys, Zipf s=1.1, one window): exfilscore's
// window.Engine and window.Aggregator next to a mutex+map baseline and a
// pre-keyed array ceiling, each with one and two goroutines. Before the
// timer starts, every key is opened (B/key is the live heap that took, per
// key) and the whole stream is run through once, so that the timed loop is
// the steady state of an open window: every record updates a key and a
// flow already seen. (New keys and flows are BenchmarkEndToEnd's business:
// its windows close and start empty every 15 minutes of event time.)
func BenchmarkAggregator(b *testing.B) {
	s := benchObs(b)
	ps := goroutineCounts(b)
	for _, impl := range aggregators {
		b.Run("impl="+impl.name, func(b *testing.B) {
			for _, p := range ps {
				b.Run(fmt.Sprintf("goroutines=%d", p), func(b *testing.B) {
					s := s
					if impl.name == "engine-bykey" {
						s = s.routed(p)
					}
					a, perKey, err := prefillAgg(impl.new, p, s)
					if err != nil {
						b.Fatal(err)
					}
					warm := warmUp(a, s, p)
					cr := newCrew(p, 0, 0, func(g, k int) { addChunk(a, s, p, g, k) })
					chunks := cr.loop(b, aggChunk, "record")
					b.ReportMetric(perKey, "B/key")
					n, err := a.records()
					if err != nil {
						b.Fatal(err)
					}
					if want := uint64(s.keys + warm + chunks*aggChunk); n != want {
						b.Fatalf("%d observations aggregated, want %d", n, want)
					}
				})
			}
		})
	}
}
