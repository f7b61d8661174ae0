package main

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// BenchmarkEarlyAlertLatency measures, on the live collector over loopback
// UDP, the time from sending the NetFlow v9 datagram whose record crosses
// a rung to reading the early alert line on the collector's stdout. Each
// iteration uses a new key, so every datagram crosses the critical rung.
func BenchmarkEarlyAlertLatency(b *testing.B) {
	pr, pw := io.Pipe()
	var errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-sflow", "", "-lateness", "24h"}, pw, &errb)
		pw.Close()
	}()
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	re := regexp.MustCompile(`listening addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		b.Fatalf("collector did not start: %s", errb.String())
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	tpl := flowtest.V9Template(256, false)
	now := time.Now().UTC().Truncate(time.Second)
	conn.Write(flowtest.NewV9(flowtest.V9Header{ExportTime: now, Uptime: time.Hour}).Template(tpl).Bytes())
	var worst time.Duration
	i := 0
	for b.Loop() {
		i++
		src := netip.AddrFrom4([4]byte{10, 99, byte(i >> 8), byte(i)})
		f := flowtest.Flow{Src: src, Dst: netip.MustParseAddr("198.51.100.99"), SrcPort: 40000, DstPort: 443, Proto: 6,
			Bytes: 200 * mb, Packets: 150000, Start: now.Add(-time.Minute), End: now, TCPFlags: 0x1b}
		dg := flowtest.NewV9(flowtest.V9Header{ExportTime: now, Uptime: time.Hour, Sequence: uint32(i)}).Data(tpl, f).Bytes()
		start := time.Now()
		if _, err := conn.Write(dg); err != nil {
			b.Fatal(err)
		}
		for {
			l, ok := <-lines
			if !ok {
				b.Fatal("collector stopped")
			}
			if strings.Contains(l, `"stage":"early"`) && strings.Contains(l, `"src_ip":"`+src.String()+`"`) {
				break
			}
		}
		worst = max(worst, time.Since(start))
	}
	b.ReportMetric(float64(worst.Microseconds()), "worst-µs")
	cancel()
	go func() {
		for range lines { // drain the final alerts
		}
	}()
	<-done
}
