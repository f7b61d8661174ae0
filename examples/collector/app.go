package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
)

// app wires one decoder to either a Detector (alerts) or a record dump.
type app struct {
	o    options
	log  *slog.Logger
	dec  *flowsrc.DatagramDecoder
	det  *exfil.Detector
	sink *exfil.JSONLines
	dump *flowsrc.RecordWriter
	emit func(*flowsrc.Record)
}

func newApp(o options, stdout io.Writer, log *slog.Logger, extra ...exfil.Option) (*app, error) {
	if o.cidSeed > 0xffff {
		return nil, fmt.Errorf("-community-id-seed %d out of range 0..65535", o.cidSeed)
	}
	a := &app{o: o, log: log, dec: flowsrc.NewDatagramDecoder()}
	if o.dumpFlows {
		a.dump = flowsrc.NewRecordWriter(stdout, uint16(o.cidSeed))
		a.emit = func(r *flowsrc.Record) { a.dump.Write(r) }
		return a, nil
	}
	min, err := severity.ParseLevel(o.minSeverity)
	if err != nil {
		return nil, err
	}
	a.sink = exfil.NewJSONLines(stdout)
	opts := []exfil.Option{
		exfil.WithSink(a.sink), exfil.WithLogger(log), exfil.WithMinSeverity(min),
		exfil.WithWindow(o.window), exfil.WithLateness(o.lateness),
		exfil.WithCommunityIDSeed(uint16(o.cidSeed)), exfil.WithEarlyAlerts(o.early),
	}
	if o.homenet != "" {
		h, err := exfil.ParseHomeNet(o.homenet)
		if err != nil {
			return nil, err
		}
		opts = append(opts, exfil.WithHomeNet(h))
	}
	if o.policy != "" {
		p, err := loadPolicy(o.policy)
		if err != nil {
			return nil, err
		}
		opts = append(opts, exfil.WithPolicy(p))
	}
	for _, path := range o.iocs {
		set, err := ioc.LoadListFile(path)
		if err != nil {
			return nil, err
		}
		log.Info("IOC list loaded", "file", path, "indicators", set.Len())
		opts = append(opts, exfil.WithIOC(set))
	}
	a.det, err = exfil.New(append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	a.emit = func(r *flowsrc.Record) { a.det.Observe(r) }
	return a, nil
}

// finish closes every window and logs the one-line summary.
func (a *app) finish(mode string) error {
	ds := a.dec.Stats()
	if a.det == nil {
		a.log.Info(mode+" done", "datagrams", datagrams(ds), "records", ds.Records, "dropped", ds.Drops.Total())
		return a.dump.Err()
	}
	a.det.Flush()
	st := a.det.Stats()
	a.log.Info(mode+" done", "datagrams", datagrams(ds), "records", ds.Records, "dropped", ds.Drops.Total(),
		"outbound", st.Aggregated, "late", st.Late, "aggregates", st.Scored, "alerts", st.Alerts, "early", st.Early,
		"critical", st.BySeverity["critical"], "high", st.BySeverity["high"],
		"medium", st.BySeverity["medium"], "low", st.BySeverity["low"])
	return a.sink.Err()
}

func (a *app) runReplay(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	start := time.Now()
	rs, err := flowsrc.ReplayPcap(f, a.dec, a.emit)
	if err != nil {
		return fmt.Errorf("replay %s: %w", path, err)
	}
	a.log.Debug("replay read", "packets", rs.Packets, "udp", rs.UDP, "decoded", rs.Decoded,
		"not_flow", rs.NotFlow, "errors", rs.DecodeErrors, "elapsed", time.Since(start))
	return a.finish("replay")
}

// serve runs the UDP listeners until ctx is done, advancing the wall clock
// when tick is set, then flushes every window.
func (a *app) serve(ctx context.Context, conns []net.PacketConn, tick bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	for _, c := range conns {
		wg.Go(func() {
			if err := flowsrc.ServeUDP(ctx, c, a.dec, a.emit); err != nil && !errors.Is(err, context.Canceled) {
				errs <- err
				cancel()
			}
		})
	}
	if tick && a.det != nil {
		wg.Go(func() {
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-t.C:
					a.det.Advance(now)
				}
			}
		})
	}
	<-ctx.Done()
	wg.Wait()
	close(errs)
	err := <-errs
	if ferr := a.finish("collector"); err == nil {
		err = ferr
	}
	return err
}

func (a *app) runLive(ctx context.Context) error {
	var conns []net.PacketConn
	for _, addr := range []string{a.o.listen, a.o.sflow} {
		if addr == "" {
			continue
		}
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return err
		}
		setReadBuffer(c, a.log)
		a.log.Info("listening", "addr", c.LocalAddr().String())
		conns = append(conns, c)
	}
	if len(conns) == 0 {
		return errors.New("nothing to listen on: -listen and -sflow are both empty")
	}
	return a.serve(ctx, conns, true)
}

// datagrams is the number of datagrams the decoder has seen.
func datagrams(s flowsrc.DecoderStats) uint64 { return s.NetFlowV5 + s.NetFlowV9 + s.IPFIX + s.SFlow }

// loadPolicy reads and validates a severity ladder file.
func loadPolicy(path string) (severity.Policy, error) {
	f, err := os.Open(path)
	if err != nil {
		return severity.Policy{}, err
	}
	defer f.Close()
	p, err := severity.LoadPolicy(f)
	if err != nil {
		return severity.Policy{}, fmt.Errorf("policy %s: %w", path, err)
	}
	return p, nil
}

// readBuffer is the socket receive buffer the collector asks for. Exporters
// send in bursts (pmacct's sfprobe sends ~900 sFlow datagrams in a few
// milliseconds when it reads a capture; a router flushes its cache at
// once); with Linux's default of 212992 bytes (~90 datagrams) most of such
// a burst is dropped before the reader gets to it.
const readBuffer = 4 << 20

// setReadBuffer asks for readBuffer bytes of receive buffer; the kernel
// caps it at net.core.rmem_max without telling, and failures only cost
// burst tolerance, so they are logged, not fatal.
func setReadBuffer(c net.PacketConn, log *slog.Logger) {
	uc, ok := c.(*net.UDPConn)
	if !ok {
		return
	}
	if err := uc.SetReadBuffer(readBuffer); err != nil {
		log.Warn("could not enlarge the socket receive buffer", "addr", c.LocalAddr().String(), "err", err)
	}
}
