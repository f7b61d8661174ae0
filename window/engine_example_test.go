package window_test

import (
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/exfilscore/exfilscore/window"
)

// Each ingest goroutine owns a Writer; the window closes once the
// watermark passes its end plus the lateness and every Writer has handed
// its partial over.
func ExampleEngine() {
	e, _ := window.NewEngine(func(aggs []*window.Aggregate) {
		for _, a := range aggs {
			fmt.Println(a.WindowStart.Format(time.TimeOnly), a.Key.Src, a.FlowCount, a.Upload, a.Unique.Count())
		}
	})
	t0 := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	k := window.Key{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("198.51.100.7"), DstPort: 443, Proto: 6}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			w := e.NewWriter()
			defer w.Close()
			for i := range 3 {
				w.Add(&window.Obs{Key: k, End: t0.Add(time.Duration(i) * time.Minute), Upload: 100, FlowHash: uint64(g*10 + i)})
			}
		})
	}
	wg.Wait()
	e.Flush()
	// Output: 02:00:00 10.0.0.1 6 600 6
}
