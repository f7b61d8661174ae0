package main

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
	"github.com/exfilscore/exfilscore/ioc"
)

// demoFeed is the demo's IOC list, parsed by the same parser as -ioc files.
const demoFeed = `# exfilscore demo feed
203.0.113.66        # known exfiltration drop
evil.example
`

// demoStart is the scripted quarter hour (a night, so the backup looks
// sanctioned).
var demoStart = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)

// conversation is one scripted conversation: flows client→server of up
// bytes and server→client of down bytes, spread over the quarter hour.
type conversation struct {
	client, server string
	sport          uint16
	flows          int
	up, down       uint64
}

var demoScript = []conversation{
	// A nightly backup over SSH: sanctioned-looking, still critical by
	// volume and ratio (allowlisting it is the analyst's call).
	{"10.20.0.5", "203.0.113.10", 22, 6, 2400 << 20, 12 << 20},
	// A critical upload to an unknown host.
	{"10.20.0.23", "198.51.100.77", 443, 3, 150 << 20, 2 << 20},
	// A medium one: 24 MB up, 9 MB down.
	{"10.20.0.40", "192.0.2.200", 443, 4, 24 << 20, 9 << 20},
	// A low one: IMAPS with 3 MB up.
	{"10.20.0.50", "203.0.113.50", 993, 2, 3 << 20, 1 << 20},
	// A small upload to an address on the IOC list: critical at 0.99.
	{"10.20.0.66", "203.0.113.66", 8443, 2, 300 << 10, 20 << 10},
	// Benign downloads.
	{"10.20.0.80", "198.51.100.20", 443, 5, 400 << 10, 250 << 20},
	{"10.20.0.81", "192.0.2.30", 80, 3, 1 << 20, 30 << 20},
	// Inbound: an external client uploading to an internal web server never
	// alerts.
	{"203.0.113.99", "10.20.0.10", 443, 4, 50 << 20, 500 << 20},
}

// demoDatagrams renders the script as NetFlow v9 datagrams: one template,
// then data flowsets of both directions of every flow.
func demoDatagrams() (dgrams [][]byte, records int) {
	tpl := flowtest.V9Template(260, false)
	hdr := func(seq uint32, at time.Time) flowtest.V9Header {
		return flowtest.V9Header{ExportTime: at, Uptime: 72*time.Hour + at.Sub(demoStart), Sequence: seq, SourceID: 1}
	}
	seq := uint32(0)
	dgrams = append(dgrams, flowtest.NewV9(hdr(seq, demoStart)).Template(tpl).Bytes())
	for ci, c := range demoScript {
		cl, sv := netip.MustParseAddr(c.client), netip.MustParseAddr(c.server)
		var flows []flowtest.Flow
		for i := range c.flows {
			end := demoStart.Add(time.Duration(ci*90+i*100+30) * time.Second)
			start := end.Add(-40 * time.Second)
			cport := uint16(50000 + 13*ci + i)
			up, down := c.up/uint64(c.flows), c.down/uint64(c.flows)
			flows = append(flows,
				flowtest.Flow{Src: cl, Dst: sv, SrcPort: cport, DstPort: c.sport, Proto: 6,
					Bytes: up, Packets: up/1400 + 1, Start: start, End: end, TCPFlags: 0x1b},
				flowtest.Flow{Src: sv, Dst: cl, SrcPort: c.sport, DstPort: cport, Proto: 6,
					Bytes: down, Packets: down/1400 + 1, Start: start, End: end, TCPFlags: 0x1b})
		}
		seq++
		at := flows[len(flows)-1].End.Add(time.Second)
		dgrams = append(dgrams, flowtest.NewV9(hdr(seq, at)).Data(tpl, flows...).Bytes())
		records += len(flows)
	}
	return dgrams, records
}

// demoIOC is the demo's IOC feed.
func demoIOC() (exfil.Option, error) {
	feed, err := ioc.ParseList(strings.NewReader(demoFeed), "demo-feed")
	if err != nil {
		return nil, err
	}
	return exfil.WithIOC(feed), nil
}

// runDemo starts the collector on a loopback UDP port, sends the scripted
// quarter hour to it from an in-process exporter, then closes every window.
func (a *app) runDemo(ctx context.Context) error {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	dgrams, records := demoDatagrams()
	a.log.Info("demo: exporter sending NetFlow v9", "to", conn.LocalAddr().String(),
		"datagrams", len(dgrams), "records", records, "window_start", demoStart.Format(time.RFC3339))
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.serve(ctx, []net.PacketConn{conn}, false) }()
	go func() {
		defer cancel()
		out, err := net.Dial("udp", conn.LocalAddr().String())
		if err != nil {
			a.log.Error("demo: exporter", "err", err)
			return
		}
		defer out.Close()
		for _, d := range dgrams {
			if _, err := out.Write(d); err != nil {
				a.log.Error("demo: exporter", "err", err)
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
		deadline := time.Now().Add(5 * time.Second)
		for datagrams(a.dec.Stats()) < uint64(len(dgrams)) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	return <-done
}
