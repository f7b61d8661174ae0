package window_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/exfilscore/exfilscore/window"
)

// Records are filed under the window containing their end time; a record
// ending exactly on a boundary opens the next window. Flush closes every
// window at the end of the input.
func ExampleAggregator() {
	agg, err := window.New(func(aggs []*window.Aggregate) {
		for _, a := range aggs {
			fmt.Printf("%s-%s %v→%v:%d flows=%d up=%d down=%d\n", a.WindowStart.Format("15:04"), a.WindowEnd.Format("15:04"),
				a.Key.Src, a.Key.Dst, a.Key.DstPort, a.FlowCount, a.Upload, a.Download)
		}
	})
	if err != nil {
		panic(err)
	}
	k := window.Key{Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("198.51.100.7"), DstPort: 443, Proto: 6}
	t := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	agg.Add(&window.Obs{Key: k, End: t.Add(14 * time.Minute), Upload: 4000, Download: 100, FlowHash: 1})
	agg.Add(&window.Obs{Key: k, End: t.Add(15 * time.Minute), Upload: 500, FlowHash: 2})
	agg.Add(&window.Obs{Key: k, End: t.Add(16 * time.Minute), Upload: 700, Download: 50, FlowHash: 2})
	agg.Flush()
	fmt.Println("late:", agg.Stats().Late)
	// Output:
	// 02:00-02:15 10.0.0.5→198.51.100.7:443 flows=1 up=4000 down=100
	// 02:15-02:30 10.0.0.5→198.51.100.7:443 flows=2 up=1200 down=50
	// late: 0
}
