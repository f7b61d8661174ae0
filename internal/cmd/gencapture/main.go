// Command gencapture writes a pcap of generated NetFlow v9 export
// datagrams (30 records each, template every 100 datagrams) for load tests
// and benchmarks of the collector's -replay: n records over k keys
// (internal 10.x sources to 198.51.100.x:443) drawn from a Zipf
// distribution, spread evenly over one hour of event time.
//
//	go run ./internal/cmd/gencapture -n 1000000 -keys 100000 -o /tmp/big.pcap
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of flow records")
	keys := flag.Int("keys", 100_000, "number of distinct source hosts (keys)")
	zipf := flag.Float64("zipf", 1.1, "Zipf exponent s (> 1) of the key distribution")
	out := flag.String("o", "capture.pcap", "output pcap `file`")
	flag.Parse()
	if err := write(*out, *n, *keys, *zipf); err != nil {
		fmt.Fprintln(os.Stderr, "gencapture:", err)
		os.Exit(1)
	}
}

func write(path string, n, keys int, s float64) error {
	if n < 1 || keys < 2 || keys > 1<<24 || s <= 1 {
		return fmt.Errorf("need n >= 1, 2 <= keys <= 2^24, zipf > 1")
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := flowtest.NewPcapWriter(bw)
	if err != nil {
		return err
	}
	base := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	tpl := flowtest.V9Template(256, false)
	rng := rand.New(rand.NewPCG(1, 1))
	z := rand.NewZipf(rng, s, 1, uint64(keys-1))
	collector := netip.MustParseAddrPort("192.0.2.1:2055")
	exporter := netip.MustParseAddrPort("192.0.2.5:5000")
	m := flowtest.NewV9(flowtest.V9Header{})
	fl := make([]flowtest.Flow, 0, 30)
	for i, seq := 0, uint32(0); i < n; seq++ {
		at := base.Add(time.Duration(int64(i) * int64(time.Hour/time.Microsecond) / int64(n) * int64(time.Microsecond)))
		fl = fl[:0]
		for j := 0; j < 30 && i < n; j, i = j+1, i+1 {
			k := uint32(z.Uint64())
			fl = append(fl, flowtest.Flow{
				Src: netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)}), SrcPort: uint16(1024 + rng.IntN(60000)),
				Dst: netip.AddrFrom4([4]byte{198, 51, 100, byte(k % 200)}), DstPort: 443, Proto: 6,
				Bytes: uint64(rng.IntN(1 << 20)), Packets: 10, Start: at.Add(-time.Second), End: at, TCPFlags: 0x1b,
			})
		}
		m.Reset(flowtest.V9Header{ExportTime: at, Uptime: 24 * time.Hour, Sequence: seq, SourceID: 1})
		if seq%100 == 0 {
			m.Template(tpl)
		}
		m.Data(tpl, fl...)
		if err := w.WriteFrame(at, flowtest.UDPFrame(exporter, collector, m.Bytes())); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return f.Close()
}
