package window

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"sync"
	"testing"
	"time"
)

const (
	benchKeys    = 1 << 20
	benchRecords = 1 << 22
)

// benchKey returns key i of the benchmark population: 8192 internal
// sources, 262,144 external destinations, four ports, two application
// protocols; every i gives a distinct key.
func benchKey(i int) Key {
	s := mix(uint64(i)) % 8192
	d := i >> 2
	app := ""
	if i&4 != 0 {
		app = "tls"
	}
	return Key{
		Src:      netip.AddrFrom4([4]byte{10, 0, byte(s >> 8), byte(s)}),
		Dst:      netip.AddrFrom4([4]byte{100, byte(d >> 16), byte(d >> 8), byte(d)}),
		DstPort:  [4]uint16{443, 80, 22, 53}[i&3],
		Proto:    6,
		AppProto: app,
	}
}

var benchData struct {
	once sync.Once
	obs  []Obs
}

// benchObs returns benchRecords observations over benchKeys keys drawn
// from a Zipf distribution (s = 1.1), each one of four flows of its key,
// all in one window.
func benchObs() []Obs {
	benchData.once.Do(func() {
		r := rand.New(rand.NewPCG(1, 2))
		z := rand.NewZipf(r, 1.1, 1, benchKeys-1)
		perm := r.Perm(benchKeys) // hot keys spread over the key space
		obs := make([]Obs, benchRecords)
		for i := range obs {
			ki := perm[z.Uint64()]
			end := t0.Add(time.Minute + time.Duration(r.Int64N(int64(10*time.Minute))))
			obs[i] = Obs{Key: benchKey(ki), End: end, Start: end.Add(-time.Second),
				Upload: r.Uint64N(1 << 20), Download: r.Uint64N(1 << 16), PktsUp: 10, PktsDown: 5,
				FlowHash: mix(uint64(ki)<<2 | r.Uint64N(4)), SrcPort: uint16(r.IntN(65536)), DstPort: 443}
		}
		benchData.obs = obs
	})
	return benchData.obs
}

const benchBatch = 1 << 16

// runParallel feeds each goroutine its own stretch of obs, batch records
// per b.Loop iteration, and reports records/s.
func runParallel(b *testing.B, g int, add []func(*Obs)) {
	obs := benchObs()
	off := make([]int, g)
	for i := range off {
		off[i] = i * len(obs) / g
	}
	b.ResetTimer()
	var n int
	for b.Loop() {
		var wg sync.WaitGroup
		for i := range g {
			wg.Go(func() {
				o, f := off[i], add[i]
				for range benchBatch {
					f(&obs[o])
					if o++; o == len(obs) {
						o = 0
					}
				}
				off[i] = o
			})
		}
		wg.Wait()
		n += g * benchBatch
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/record")
}

// BenchmarkAggregate1MZipf compares the Engine with the sharded-mutex
// Aggregator on the same pre-built observations (1M keys, Zipf s = 1.1),
// steady state (every key already seen in the window).
func BenchmarkAggregate1MZipf(b *testing.B) {
	obs := benchObs()
	for _, g := range []int{1, 2} {
		b.Run(fmt.Sprintf("engine/goroutines=%d", g), func(b *testing.B) {
			e, _ := NewEngine(func([]*Aggregate) {})
			add := make([]func(*Obs), g)
			for i := range add {
				w := e.NewWriter()
				defer w.Close()
				for j := range obs { // warm: every record's key and flow known
					w.Add(&obs[j])
				}
				add[i] = func(o *Obs) { w.Add(o) }
			}
			runtime.GC()
			runParallel(b, g, add)
		})
		b.Run(fmt.Sprintf("aggregator/goroutines=%d", g), func(b *testing.B) {
			a, _ := New(func([]*Aggregate) {})
			for j := range obs {
				a.Add(&obs[j])
			}
			add := make([]func(*Obs), g)
			for i := range add {
				add[i] = func(o *Obs) { a.Add(o) }
			}
			runtime.GC()
			runParallel(b, g, add)
		})
	}
}

func heapAlloc() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// BenchmarkMemoryPerKey measures the heap per active key (HeapAlloc delta
// over 1M keys, one record each) and, for the Engine, per distinct flow
// (three more flows for every key).
func BenchmarkMemoryPerKey(b *testing.B) {
	obs := make([]Obs, benchKeys)
	for i := range obs {
		obs[i] = Obs{Key: benchKey(i), End: t0.Add(time.Minute), Upload: 1, FlowHash: uint64(i)}
	}
	b.Run("engine", func(b *testing.B) {
		for b.Loop() {
			before := heapAlloc()
			e, _ := NewEngine(func([]*Aggregate) {})
			w := e.NewWriter()
			for i := range obs {
				w.Add(&obs[i])
			}
			mid := heapAlloc()
			for f := uint64(1); f <= 3; f++ {
				for i := range obs {
					obs[i].FlowHash += f << 40
					w.Add(&obs[i])
					obs[i].FlowHash -= f << 40
				}
			}
			after := heapAlloc()
			b.ReportMetric(float64(mid-before)/benchKeys, "B/key")
			b.ReportMetric(float64(after-mid)/(3*benchKeys), "B/flow")
			runtime.KeepAlive(w)
		}
	})
	b.Run("aggregator", func(b *testing.B) {
		for b.Loop() {
			before := heapAlloc()
			a, _ := New(func([]*Aggregate) {})
			for i := range obs {
				a.Add(&obs[i])
			}
			mid := heapAlloc()
			b.ReportMetric(float64(mid-before)/benchKeys, "B/key")
			runtime.KeepAlive(a)
		}
	})
}
