package flowtest_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// BenchmarkV9Data encodes NetFlow v9 packets of 24 flows into a reused
// builder and buffer, as an exporter loop does.
func BenchmarkV9Data(b *testing.B) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name string
		ipv6 bool
		src  string
	}{{"ipv4", false, "10.0.0.1"}, {"ipv6", true, "2001:db8::1"}} {
		b.Run(c.name, func(b *testing.B) {
			tpl := flowtest.V9Template(256, c.ipv6)
			flows := make([]flowtest.Flow, 24)
			for i := range flows {
				flows[i] = flowtest.Flow{
					Src: netip.MustParseAddr(c.src), Dst: netip.MustParseAddr(c.src).Next(),
					SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6, Bytes: 1 << 20, Packets: 800,
					Start: now.Add(-time.Minute), End: now,
				}
			}
			h := flowtest.V9Header{ExportTime: now, Uptime: time.Hour}
			m := flowtest.NewV9(h)
			buf := make([]byte, 0, 2048)
			b.ReportAllocs()
			for b.Loop() {
				buf = m.Reset(h).Data(tpl, flows...).AppendTo(buf[:0])
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

func TestV9DataDoesNotAllocate(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tpl := flowtest.V9Template(256, false)
	f := flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Start: now, End: now}
	h := flowtest.V9Header{ExportTime: now}
	m := flowtest.NewV9(h)
	buf := m.Data(tpl, f, f).AppendTo(nil)
	allocs := testing.AllocsPerRun(100, func() {
		buf = m.Reset(h).Data(tpl, f, f).AppendTo(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("reused V9 builder: %v allocations per packet, want 0", allocs)
	}
}
