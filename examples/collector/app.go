package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/exfilscore/exfilscore/geo"
	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
)

// app wires one decoder to either a Detector (alerts) or a record dump.
//
// With a Detector, the goroutines that read and decode (one per socket, or
// the replay) hand their records to exfil.Lanes, one lane per CPU, each
// owning an exfil.Writer: decoding stays in order per exporter, and
// aggregation uses every core without a lock per record. A capture
// replayed on fewer than lanesFrom CPUs is aggregated by its reader
// instead (see start).
type app struct {
	o     options
	log   *slog.Logger
	dec   *flowsrc.DatagramDecoder
	det   *exfil.Detector
	sink  *exfil.JSONLines
	dump  *flowsrc.RecordWriter
	lanes int
	names *pdns.Map // passive DNS shared by the sensor sources
	geo   *geo.MMDB // nil without -geoip
	feeds []*ioc.Watcher
}

// source is how one reading goroutine passes records on: emit per record,
// flush at the end of a datagram (live) or of the input, done when it
// stops.
type source struct {
	emit  func(*flowsrc.Record)
	runs  func([]flowsrc.Record) // when not nil, takes the decoder's runs (DecodeRuns)
	flush func()
}

// lanesFrom is the number of lanes (CPUs, or -lanes) from which a
// replayed capture is spread over lanes. Below it the reader aggregates on its own Writer, decoded
// runs read ahead (ObserveBatch): on two CPUs the reader and the scoring
// goroutine already take both, and handing records to lanes costs more
// than it spreads (the 10^7-record replay: 2.51-2.58 s on the reader's
// Writer, 2.70-2.75 s through two lanes; BenchmarkEndToEnd's exfilscore
// and exfilscore-lanes show the same).
const lanesFrom = 4

func newApp(o options, stdout io.Writer, log *slog.Logger, extra ...exfil.Option) (*app, error) {
	if o.cidSeed > 0xffff {
		return nil, fmt.Errorf("-community-id-seed %d out of range 0..65535", o.cidSeed)
	}
	a := &app{o: o, log: log, dec: flowsrc.NewDatagramDecoder(), lanes: cmp.Or(o.lanes, runtime.GOMAXPROCS(0)), names: pdns.New(0)}
	if o.dumpFlows {
		a.dump = flowsrc.NewRecordWriter(stdout, uint16(o.cidSeed))
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
	if o.replay != "" {
		opts = append(opts, exfil.WithRunBacklog(1))
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
	for _, spec := range o.iocs {
		w, err := loadFeed(spec, log)
		if err != nil {
			return nil, err
		}
		a.feeds = append(a.feeds, w)
		opts = append(opts, exfil.WithIOC(w))
	}
	if len(o.geoip) > 0 {
		a.geo, err = geo.OpenMMDB(o.geoip, geo.WithLogger(log))
		if err != nil {
			return nil, err
		}
		for _, db := range a.geo.Databases() {
			log.Info("GeoIP database loaded", "file", db.Path, "type", db.Type, "built", db.BuildTime)
		}
		opts = append(opts, exfil.WithGeo(a.geo))
	}
	a.det, err = exfil.New(append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// loadFeed loads an IOC feed given as FILE or FORMAT:FILE (list, csv,
// stix, misp) into a Watcher that reloads it when it changes; every load
// is logged with its indicator count and what was skipped.
func loadFeed(spec string, log *slog.Logger) (*ioc.Watcher, error) {
	format, path := ioc.SplitSpec(spec)
	w, err := ioc.NewWatcher(path, ioc.WithFormat(format), ioc.WithOnReload(func(w *ioc.Watcher, s *ioc.Set, err error) {
		if err != nil {
			log.Error("IOC feed reload failed; the previous indicators stay in use", "file", w.Path(), "err", err)
			return
		}
		logFeed(log, "IOC feed reloaded", w.Path(), s)
	}))
	if err != nil {
		return nil, fmt.Errorf("-ioc %s: %w", spec, err)
	}
	logFeed(log, "IOC feed loaded", path, w.Set())
	return w, nil
}

func logFeed(log *slog.Logger, msg, path string, s *ioc.Set) {
	log.Info(msg, "file", path, "format", s.Format().String(), "feed", s.Feed(), "indicators", s.Len())
	for _, sk := range s.Skipped() {
		log.Warn("IOC feed entries skipped", "file", path, "reason", sk.Reason, "count", sk.Count, "first", sk.First)
	}
}

// background runs what follows the configuration files while the
// collector runs: IOC feeds and GeoIP files are polled for changes, and
// SIGHUP reloads them at once. The returned function stops it.
func (a *app) background(ctx context.Context) func() {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if a.geo != nil {
		wg.Go(func() { a.geo.Run(ctx) })
	}
	for _, w := range a.feeds {
		wg.Go(func() { w.Run(ctx) })
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a.reload()
			}
		}
	})
	return func() {
		signal.Stop(hup)
		cancel()
		wg.Wait()
	}
}

// reload re-reads the files that can change under a running collector.
func (a *app) reload() {
	for _, w := range a.feeds {
		w.Reload() // logged by the watcher's reload hook
	}
	if a.geo != nil {
		if err := a.geo.Reload(); err != nil {
			a.log.Error("GeoIP reload failed; the previous databases stay in use", "err", err)
		} else {
			a.log.Info("GeoIP databases reloaded")
		}
	}
}

// start returns the sources of n reading goroutines and a stop function to
// call once they have all returned. With direct (one reader), the reader
// aggregates on a Writer of its own instead of handing its records to
// lanes.
func (a *app) start(n int, direct bool) ([]source, func()) {
	srcs := make([]source, n)
	if a.det == nil {
		for i := range srcs {
			srcs[i] = source{emit: func(r *flowsrc.Record) { a.dump.Write(r) }, flush: func() {}}
		}
		return srcs, func() {}
	}
	var closeFeed func()
	if direct && n == 1 {
		w := a.det.NewWriter()
		srcs[0] = source{emit: func(r *flowsrc.Record) { w.Observe(r) }, runs: func(rs []flowsrc.Record) { w.ObserveBatch(rs) }, flush: w.Sync}
		closeFeed = w.Close
	} else {
		f := a.det.NewLanes(a.lanes)
		for i := range srcs {
			p := f.Producer()
			srcs[i] = source{emit: p.Observe, flush: p.Flush}
		}
		closeFeed = f.Close
	}
	// Closed windows are scored on a goroutine of their own while the
	// records go on being aggregated: live, so that the sockets are read
	// on time; in a replay, so that scoring overlaps with reading, with at
	// most one closed window waiting (exfil.WithRunBacklog(1), set in
	// newApp), so that memory stays bounded however slow scoring is.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.det.Run(ctx); close(done) }()
	return srcs, func() {
		closeFeed()
		cancel()
		<-done
	}
}

// finish closes every window and logs the one-line summary.
func (a *app) finish(mode string) error {
	ds := a.dec.Stats()
	if a.det == nil {
		a.log.Info(mode+" done", "datagrams", datagrams(ds), "records", a.dump.Count(), "dropped", ds.Drops.Total())
		return a.dump.Err()
	}
	a.det.Flush()
	st := a.det.Stats()
	a.log.Info(mode+" done", "datagrams", datagrams(ds), "records", st.Records, "dropped", ds.Drops.Total(),
		"outbound", st.Aggregated, "late", st.Late, "aggregates", st.Scored, "alerts", st.Alerts, "early", st.Early,
		"critical", st.BySeverity["critical"], "high", st.BySeverity["high"],
		"medium", st.BySeverity["medium"], "low", st.BySeverity["low"])
	return a.sink.Err()
}

// runReplay replays a capture (pcap/pcapng) or a record file (Suricata
// EVE, Zeek conn.log, goflow2 protobuf), gzipped or not, detected from its
// content, in event time.
func (a *app) runReplay(path string) error {
	r, format, closeFile, err := openInput(path)
	if err != nil {
		return err
	}
	defer closeFile()
	a.log.Info("replay", "file", path, "format", format)
	if format == formatEmpty {
		a.log.Warn("replay: the file is empty", "file", path)
		return a.finish("replay")
	}
	start := time.Now()
	srcs, stop := a.start(1, format == formatPcap && a.lanes < lanesFrom)
	if format == formatPcap {
		var rs flowsrc.ReplayStats
		if srcs[0].runs != nil {
			rs, err = flowsrc.ReplayPcapRuns(r, a.dec, srcs[0].runs)
		} else {
			rs, err = flowsrc.ReplayPcap(r, a.dec, srcs[0].emit)
		}
		a.log.Debug("replay read", "packets", rs.Packets, "udp", rs.UDP, "decoded", rs.Decoded,
			"not_flow", rs.NotFlow, "errors", rs.DecodeErrors, "elapsed", time.Since(start))
	} else {
		err = a.replayRecords(r, path, format, srcs[0].emit)
	}
	srcs[0].flush()
	stop()
	if err != nil {
		return fmt.Errorf("replay %s: %w", path, err)
	}
	return a.finish("replay")
}

// serve runs the UDP listeners until ctx is done, advancing the wall clock
// when tick is set, then flushes every window.
func (a *app) serve(ctx context.Context, conns []net.PacketConn, tick bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(conns))
	srcs, stop := a.start(len(conns), false)
	var readers sync.WaitGroup
	for i, c := range conns {
		src := srcs[i]
		readers.Go(func() {
			if err := flowsrc.ServeUDP(ctx, c, a.dec, src.emit, flowsrc.OnDatagram(src.flush)); err != nil && !errors.Is(err, context.Canceled) {
				errs <- err
				cancel()
			}
			src.flush()
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
	readers.Wait()
	stop()
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
		cs, err := listenUDP(addr, a.lanes)
		if err != nil {
			for _, c := range conns {
				c.Close()
			}
			return err
		}
		for _, c := range cs {
			setReadBuffer(c, a.log)
		}
		a.log.Info("listening", "addr", cs[0].LocalAddr().String(), "sockets", len(cs))
		conns = append(conns, cs...)
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
