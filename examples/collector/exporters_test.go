package main

// Tests of the live UDP listener against real exporters: softflowd and
// pmacct (pmacctd's nfprobe and sfprobe plugins) read a capture generated
// here and export it over loopback to the collector; nfcapd/nfdump, when
// installed, collect the same softflowd export as a peer. Each exporter
// that is not installed is skipped with a message (.ci/run installs the
// Debian packages softflowd, pmacct and nfdump when it can).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// TCP flag bits.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpPSH = 0x08
	tcpACK = 0x10
)

// fcsLen is what sFlow v5 counts on top of the captured Ethernet frame:
// frame_length "includes FCS octets" (sflow_version_5.txt,
// sampled_header), and pmacct's sfprobe adds the 4 bytes pcap leaves out.
const fcsLen = 4

// direction is what was generated one way of a conversation.
type direction struct {
	bytes  uint64 // IP bytes (IP header included), as NetFlow/IPFIX count them
	pkts   uint64
	frames uint64 // Ethernet frame bytes + FCS, as sFlow counts them
	flags  uint8  // cumulative TCP flags
	maxLen uint64 // largest frame + FCS
	first  time.Time
	last   time.Time
}

func (d *direction) add(at time.Time, frameLen int, flags uint8) {
	d.bytes += uint64(frameLen - 14)
	d.pkts++
	d.frames += uint64(frameLen + fcsLen)
	d.maxLen = max(d.maxLen, uint64(frameLen+fcsLen))
	d.flags |= flags
	if d.first.IsZero() {
		d.first = at
	}
	d.last = at
}

// trafficConv is one connection of the generated capture: the client
// (internal) talks to the server (external, in a TEST-NET range).
type trafficConv struct {
	name           string
	client, server netip.AddrPort
	proto          uint8
	// upPayload and downPayload are the application bytes each way, sent
	// in segments of at most seg bytes.
	upPayload, downPayload int
	seg                    int
	filler                 bool // background traffic, not asserted

	up, down direction // filled by writeTraffic
}

// first and last are the times of the conversation's first and last
// packets (the client sends the first).
func (c *trafficConv) first() time.Time { return c.up.first }

func (c *trafficConv) last() time.Time {
	if c.down.last.After(c.up.last) {
		return c.down.last
	}
	return c.up.last
}

// trafficConversations returns the conversations of the generated
// capture: an upload-heavy HTTPS session (3 MB up, 1 MB down), a download,
// a UDP exchange, an IPv6 upload, and filler traffic between two internal
// hosts at the end, which pushes pmacct's last partly filled sFlow
// datagram out (it does not flush it at the end of a capture).
func trafficConversations() []*trafficConv {
	return []*trafficConv{
		{name: "upload", client: netip.MustParseAddrPort("10.10.0.5:50001"), server: netip.MustParseAddrPort("198.51.100.10:443"),
			proto: 6, upPayload: 3 * mb, downPayload: 1 * mb, seg: 1400},
		{name: "download", client: netip.MustParseAddrPort("10.10.0.6:50002"), server: netip.MustParseAddrPort("203.0.113.20:80"),
			proto: 6, upPayload: 2100, downPayload: 2 * mb, seg: 1400},
		{name: "udp", client: netip.MustParseAddrPort("10.10.0.7:51820"), server: netip.MustParseAddrPort("192.0.2.77:4500"),
			proto: 17, upPayload: 300 * 1200, downPayload: 40 * 1000, seg: 1200},
		{name: "ipv6", client: netip.MustParseAddrPort("[fd00:10::5]:50003"), server: netip.MustParseAddrPort("[2001:db8::10]:443"),
			proto: 6, upPayload: 200 * 1000, downPayload: 20 * 1000, seg: 1000},
		{name: "filler", client: netip.MustParseAddrPort("10.99.0.1:9"), server: netip.MustParseAddrPort("10.99.0.2:9"),
			proto: 17, upPayload: 400 * 18, seg: 18, filler: true},
	}
}

// writeTraffic writes the packets of cs to a pcap file, conversation after
// conversation from base, one packet per millisecond: a TCP conversation
// opens with SYN, SYN/ACK, ACK, interleaves the two directions' segments
// in proportion to their volumes (PSH/ACK) and closes with FIN/ACK both
// ways and an ACK. It fills in each conversation's counters.
func writeTraffic(t *testing.T, dir string, base time.Time, cs []*trafficConv) string {
	t.Helper()
	path := filepath.Join(dir, "traffic.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := flowtest.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	at := base
	for _, c := range cs {
		send := func(up bool, flags uint8, payload int) {
			t.Helper()
			fl := flowtest.Flow{Src: c.client.Addr(), Dst: c.server.Addr(), SrcPort: c.client.Port(), DstPort: c.server.Port(), Proto: c.proto, TCPFlags: flags}
			d := &c.up
			if !up {
				fl.Src, fl.Dst, fl.SrcPort, fl.DstPort = fl.Dst, fl.Src, fl.DstPort, fl.SrcPort
				d = &c.down
			}
			frame := append(flowtest.Packet(fl, payload, 0), make([]byte, payload)...)
			if err := w.WriteFrame(at, frame); err != nil {
				t.Fatal(err)
			}
			d.add(at, len(frame), flags)
			at = at.Add(time.Millisecond)
		}
		if c.proto == 6 {
			send(true, tcpSYN, 0)
			send(false, tcpSYN|tcpACK, 0)
			send(true, tcpACK, 0)
		}
		flags := uint8(0)
		if c.proto == 6 {
			flags = tcpPSH | tcpACK
		}
		up, down := c.upPayload, c.downPayload
		for up > 0 || down > 0 {
			if up > 0 && (down == 0 || up*c.downPayload >= down*c.upPayload) {
				n := min(up, c.seg)
				send(true, flags, n)
				up -= n
			} else {
				n := min(down, c.seg)
				send(false, flags, n)
				down -= n
			}
		}
		if c.proto == 6 {
			send(true, tcpFIN|tcpACK, 0)
			send(false, tcpFIN|tcpACK, 0)
			send(true, tcpACK, 0)
		}
		at = at.Add(time.Second)
	}
	return path
}

// ladder is SPEC §4's default severity ladder, written out again here so
// that the test does not trust the severity package: evaluated from the
// top, thresholds inclusive, upload >= ratio × download in integers.
func ladder(up, down uint64) string {
	rungs := []struct {
		level string
		rules [][2]uint64 // {ratio, min upload}
	}{
		{"critical", [][2]uint64{{10, 100 * mb}}},
		{"high", [][2]uint64{{5, 10 * mb}, {2, 100 * mb}}},
		{"medium", [][2]uint64{{2, 10 * mb}}},
		{"low", [][2]uint64{{2, 1 * mb}}},
	}
	for _, r := range rungs {
		for _, rule := range r.rules {
			if up >= rule[1] && up >= rule[0]*down {
				return r.level
			}
		}
	}
	return ""
}

// findTool returns the path of an exporter binary: on PATH, else in the
// sbin directories Debian installs daemons to (not on a user's PATH).
func findTool(name string) (string, error) {
	p, err := exec.LookPath(name)
	if err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/usr/local/sbin", "/sbin"} {
		if p := filepath.Join(dir, name); isExecutable(p) {
			return p, nil
		}
	}
	return "", err
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

// liveCollector is the collector's run in a goroutine, listening on two
// loopback ports chosen by the kernel.
type liveCollector struct {
	nf, sf   string // the -listen and -sflow addresses
	out, err syncBuffer
	cancel   context.CancelFunc
	done     chan struct{} // closed when run returns
	code     int
	// kernelDrops is what the kernel dropped on the two sockets before
	// the collector read it (-1: unknown, not Linux).
	kernelDrops int64
}

var (
	listeningRE = regexp.MustCompile(`listening addr=(\S+)`)
	summaryRE   = regexp.MustCompile(`msg="collector done" datagrams=(\d+) records=(\d+) dropped=(\d+)`)
)

// startCollector starts the collector with args after -listen and -sflow
// and waits until both sockets are bound. The caller must call stop.
func startCollector(args ...string) (*liveCollector, error) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &liveCollector{cancel: cancel, done: make(chan struct{})}
	args = append([]string{"-listen", "127.0.0.1:0", "-sflow", "127.0.0.1:0"}, args...)
	go func() {
		defer close(c.done)
		c.code = run(ctx, args, &c.out, &c.err)
	}()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		// The -listen socket is opened (and logged) before the -sflow one.
		if m := listeningRE.FindAllStringSubmatch(c.err.String(), -1); len(m) == 2 {
			c.nf, c.sf = m[0][1], m[1][1]
			return c, nil
		}
	}
	c.stop()
	return nil, fmt.Errorf("collector did not start:\n%s", c.err.String())
}

// stop waits until stdout has been quiet for a moment (the records of the
// datagrams already received are written), cancels the collector (which
// drains its sockets and flushes every window, as on SIGTERM) and returns
// its stdout.
func (c *liveCollector) stop() (string, error) {
	n, since := -1, time.Now()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if l := len(c.out.String()); l != n {
			n, since = l, time.Now()
		} else if time.Since(since) > 250*time.Millisecond {
			break
		}
	}
	c.kernelDrops = udpDrops(c.nf, c.sf)
	c.cancel()
	select {
	case <-c.done:
	case <-time.After(10 * time.Second):
		return "", errors.New("collector did not stop")
	}
	if c.code != 0 {
		return "", fmt.Errorf("collector exit %d:\n%s", c.code, c.err.String())
	}
	return c.out.String(), nil
}

// udpDrops sums the kernel's drop counters (/proc/net/udp, Linux) of the
// UDP sockets bound to addrs: datagrams that arrived while the socket's
// receive buffer was full. It returns -1 when they cannot be read.
func udpDrops(addrs ...string) int64 {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return -1
	}
	want := map[string]bool{}
	for _, a := range addrs {
		ap, err := netip.ParseAddrPort(a)
		if err != nil || !ap.Addr().Is4() {
			return -1
		}
		ip := ap.Addr().As4()
		// /proc/net/udp prints the address as a little-endian word.
		want[fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port())] = true
	}
	var drops int64
	found := 0
	for _, l := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(l)
		if len(f) < 13 || !want[f[1]] {
			continue
		}
		n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			return -1
		}
		drops += n
		found++
	}
	if found != len(addrs) {
		return -1
	}
	return drops
}

// rmemMax is the kernel's cap on socket receive buffers (Linux), or -1.
func rmemMax() int64 {
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// runTool runs an exporter to completion with a time limit.
func runTool(dir string, argv ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == 1 && ctx.Err() == nil &&
		strings.Contains(out.String(), "probe ): Shutting down on user request") &&
		strings.Contains(out.String(), "no more plugins active") {
		// pmacctd 1.7.7 on a capture: the probe plugin finishes its export
		// and exits, and the core sometimes notices the lost plugin
		// before its own end of capture and exits 1. The export is whole.
		err = nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w\n%s", strings.Join(argv, " "), err, out.String())
	}
	return out.String(), nil
}

// exportRun is what one exporter case produced.
type exportRun struct {
	toolOut                     string
	dump                        string // -dump-flows output
	datagrams, records, dropped int    // the collector's summary
	kernelDrops                 int64  // datagrams the kernel dropped, -1 unknown
	began, ended                time.Time
	peer                        string // nfdump -o json of the same export, or ""
	peerNote                    string // why there is no peer output
	alerts                      string // alert-mode output, or ""
}

// export runs one exporter case: the exporter reads the capture and sends
// to a collector in -dump-flows mode (and to nfcapd for a peer case), then,
// for an alert case, again to a collector in alert mode. It runs in its
// own goroutine, so it reports errors instead of failing the test.
func export(ec exporterCase, tool, dir, pcap string) (res exportRun, err error) {
	col, err := startCollector("-dump-flows")
	if err != nil {
		return res, err
	}
	dst := col.nf
	if ec.format == "sflow" {
		dst = col.sf
	}
	var peer *nfcapd
	if ec.peer {
		if peer, res.peerNote, err = startNfcapd(dir); err != nil {
			col.stop()
			return res, err
		}
		if peer != nil {
			defer peer.kill()
			dst += "," + peer.addr // softflowd sends to every destination
		}
	}
	argv, err := ec.argv(tool, dir, pcap, dst)
	if err != nil {
		col.stop()
		return res, err
	}
	res.began = time.Now()
	res.toolOut, err = runTool(dir, argv...)
	if err != nil {
		col.stop()
		return res, err
	}
	if res.dump, err = col.stop(); err != nil {
		return res, err
	}
	res.ended = time.Now()
	res.kernelDrops = col.kernelDrops
	m := summaryRE.FindStringSubmatch(col.err.String())
	if m == nil {
		return res, fmt.Errorf("no summary on the collector's stderr:\n%s", col.err.String())
	}
	res.datagrams, _ = strconv.Atoi(m[1])
	res.records, _ = strconv.Atoi(m[2])
	res.dropped, _ = strconv.Atoi(m[3])
	if peer != nil {
		if res.peer, err = peer.read(dir); err != nil {
			return res, err
		}
	}
	if ec.alerts {
		col, err := startCollector("-homenet", "10.0.0.0/8,fd00::/8", "-lateness", "24h")
		if err != nil {
			return res, err
		}
		argv, err := ec.argv(tool, dir, pcap, col.nf)
		if err == nil {
			_, err = runTool(dir, argv...)
		}
		out, serr := col.stop()
		if err != nil {
			return res, err
		}
		if serr != nil {
			return res, serr
		}
		res.alerts = out
	}
	return res, nil
}

// freeUDPAddr returns a loopback UDP address that was free a moment ago,
// for a peer collector that cannot report the port it bound.
func freeUDPAddr() (string, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.LocalAddr().String(), nil
}

// nfcapd is nfdump's collector, run as a peer.
type nfcapd struct {
	addr, dir string
	cmd       *exec.Cmd
	cancel    context.CancelFunc
	exited    chan struct{}
	log       syncBuffer
}

// startNfcapd starts nfcapd on a free loopback port writing to a
// directory under dir. Without nfcapd or nfdump it returns nil and why.
func startNfcapd(dir string) (*nfcapd, string, error) {
	bin, err := findTool("nfcapd")
	if err != nil {
		return nil, fmt.Sprintf("nfcapd not installed (%v): no comparison with nfdump", err), nil
	}
	if _, err := findTool("nfdump"); err != nil {
		return nil, fmt.Sprintf("nfdump not installed (%v): no comparison with nfdump", err), nil
	}
	// The free port can be taken by another test's socket before nfcapd
	// binds it: try again on another.
	for attempt := 1; ; attempt++ {
		n, inUse, err := tryNfcapd(bin, filepath.Join(dir, fmt.Sprintf("nfcapd%d", attempt)))
		if err == nil || !inUse || attempt == 5 {
			return n, "", err
		}
	}
}

// tryNfcapd starts nfcapd on a free loopback port, writing to dir, and
// waits until it has bound the port; inUse reports that it failed because
// the port was taken meanwhile.
func tryNfcapd(bin, dir string) (n *nfcapd, inUse bool, err error) {
	addr, err := freeUDPAddr()
	if err != nil {
		return nil, false, err
	}
	host, port, _ := net.SplitHostPort(addr)
	n = &nfcapd{addr: addr, dir: dir, exited: make(chan struct{})}
	if err := os.Mkdir(n.dir, 0o755); err != nil {
		return nil, false, err
	}
	var ctx context.Context
	ctx, n.cancel = context.WithTimeout(context.Background(), 30*time.Second)
	n.cmd = exec.CommandContext(ctx, bin, "-w", n.dir, "-b", host, "-p", port, "-t", "3600")
	n.cmd.Stdout, n.cmd.Stderr = &n.log, &n.log
	if err := n.cmd.Start(); err != nil {
		n.cancel()
		return nil, false, fmt.Errorf("nfcapd: %w", err)
	}
	go func() {
		n.cmd.Wait()
		close(n.exited)
	}()
	// Ready when the port is taken and nfcapd still runs a moment later
	// (the port may be another socket's, and nfcapd then exits).
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		select {
		case <-n.exited:
			n.cancel()
			return nil, strings.Contains(n.log.String(), "already in use"), fmt.Errorf("nfcapd exited at start:\n%s", n.log.String())
		default:
		}
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			select {
			case <-n.exited:
				continue // reported above
			case <-time.After(100 * time.Millisecond):
				return n, false, nil
			}
		}
		c.Close()
		if time.Now().After(deadline) {
			n.kill()
			return nil, false, fmt.Errorf("nfcapd did not bind %s:\n%s", addr, n.log.String())
		}
	}
}

// read stops nfcapd with SIGTERM (it then writes its current file) and
// returns what nfdump reads back from its files, as JSON.
func (n *nfcapd) read(dir string) (string, error) {
	n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(10 * time.Second):
		n.kill()
		return "", fmt.Errorf("nfcapd did not stop:\n%s", n.log.String())
	}
	bin, err := findTool("nfdump")
	if err != nil {
		return "", err
	}
	return runTool(dir, bin, "-R", n.dir, "-o", "json")
}

// kill ends nfcapd if it still runs.
func (n *nfcapd) kill() {
	n.cancel()
	<-n.exited
}

type dumpRecord struct {
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	SrcIP         string    `json:"src_ip"`
	SrcPort       uint16    `json:"src_port"`
	DestIP        string    `json:"dest_ip"`
	DestPort      uint16    `json:"dest_port"`
	Proto         uint8     `json:"proto"`
	BytesToServer uint64    `json:"bytes_toserver"`
	BytesToClient uint64    `json:"bytes_toclient"`
	PktsToServer  uint64    `json:"pkts_toserver"`
	PktsToClient  uint64    `json:"pkts_toclient"`
	Exporter      string    `json:"exporter"`
	SamplingRate  uint32    `json:"sampling_rate"`
	TCPFlags      uint8     `json:"tcp_flags"`
	CommunityID   string    `json:"community_id"`
}

type tuple struct {
	src, dst         netip.Addr
	srcPort, dstPort uint16
	proto            uint8
}

func (r *dumpRecord) tuple() tuple {
	return tuple{netip.MustParseAddr(r.SrcIP), netip.MustParseAddr(r.DestIP), r.SrcPort, r.DestPort, r.Proto}
}

// exporterCase is one exporter configuration.
type exporterCase struct {
	name   string
	tool   string
	format string // "v5", "v9", "ipfix", "sflow"
	// rate is the sampling rate the exporter announces: 1 is exact
	// counting; softflowd's periodic sampling (-s) is checked on the
	// totals, pmacct's random sFlow sampling statistically.
	rate   uint32
	biflow bool // IPFIX biflow (RFC 5103): one record per conversation
	alerts bool // also run the alert mode on this export
	peer   bool // also send the export to nfcapd and compare
	// argv returns the command line exporting pcap to the collector
	// addresses dsts (comma-separated for softflowd), writing any
	// configuration file to dir.
	argv func(tool, dir, pcap, dsts string) ([]string, error)
}

func softflowd(args ...string) func(tool, dir, pcap, dsts string) ([]string, error) {
	return func(tool, dir, pcap, dsts string) ([]string, error) {
		// -r: read the capture, expire every flow at its end and exit; -d:
		// stay in the foreground. No -c: with -r softflowd needs no control
		// socket (1.1.0 blocks on accept() when given one). -p: keep its
		// pidfile unlink away from /var/run.
		return append([]string{tool, "-r", pcap, "-n", dsts, "-d", "-p", filepath.Join(dir, "softflowd.pid")}, args...), nil
	}
}

func pmacctd(plugin string, lines ...string) func(tool, dir, pcap, dsts string) ([]string, error) {
	return func(tool, dir, pcap, dsts string) ([]string, error) {
		conf := []string{"daemonize: false", "pcap_savefile: " + pcap, "plugins: " + plugin}
		if plugin == "nfprobe" {
			conf = append(conf, "aggregate: src_host, dst_host, src_port, dst_port, proto, tos", "nfprobe_receiver: "+dsts)
		} else {
			conf = append(conf, "sfprobe_receiver: "+dsts, "sfprobe_agentip: 127.0.0.1")
		}
		path := filepath.Join(dir, "pmacctd.conf")
		err := os.WriteFile(path, []byte(strings.Join(append(conf, lines...), "\n")+"\n"), 0o644)
		return []string{tool, "-f", path}, err
	}
}

func exporterCases() []exporterCase {
	return []exporterCase{
		{name: "softflowd-v5", tool: "softflowd", format: "v5", rate: 1, argv: softflowd("-v", "5")},
		{name: "softflowd-v9", tool: "softflowd", format: "v9", rate: 1, alerts: true, peer: true, argv: softflowd("-v", "9")},
		{name: "softflowd-ipfix", tool: "softflowd", format: "ipfix", rate: 1, argv: softflowd("-v", "10")},
		{name: "softflowd-ipfix-ms", tool: "softflowd", format: "ipfix", rate: 1, argv: softflowd("-v", "10", "-A", "milli")},
		{name: "softflowd-ipfix-biflow", tool: "softflowd", format: "ipfix", rate: 1, biflow: true, alerts: true, peer: true, argv: softflowd("-v", "10", "-b")},
		{name: "softflowd-v5-sampled", tool: "softflowd", format: "v5", rate: 4, argv: softflowd("-v", "5", "-s", "4")},
		{name: "softflowd-v9-sampled", tool: "softflowd", format: "v9", rate: 4, argv: softflowd("-v", "9", "-s", "4")},
		{name: "softflowd-ipfix-sampled", tool: "softflowd", format: "ipfix", rate: 4, argv: softflowd("-v", "10", "-s", "4")},
		{name: "pmacct-nfprobe-v5", tool: "pmacctd", format: "v5", rate: 1, argv: pmacctd("nfprobe", "nfprobe_version: 5")},
		{name: "pmacct-nfprobe-v9", tool: "pmacctd", format: "v9", rate: 1, argv: pmacctd("nfprobe", "nfprobe_version: 9")},
		{name: "pmacct-nfprobe-ipfix", tool: "pmacctd", format: "ipfix", rate: 1, argv: pmacctd("nfprobe", "nfprobe_version: 10")},
		{name: "pmacct-sfprobe", tool: "pmacctd", format: "sflow", rate: 1, argv: pmacctd("sfprobe", "sampling_rate: 1")},
		{name: "pmacct-sfprobe-sampled", tool: "pmacctd", format: "sflow", rate: 10, argv: pmacctd("sfprobe", "sampling_rate: 10")},
	}
}

// TestRealExporters runs each installed exporter on a generated capture
// towards the live collector and checks the decoded records against what
// was generated: per conversation and direction, bytes, packets and TCP
// flags (exactly when unsampled), addresses, ports, protocol, exporter,
// sampling rate, Community ID and times; the alerts of the upload-heavy
// conversation against the SPEC ladder; and, with nfdump installed, the
// per-flow counters against nfdump's.
func TestRealExporters(t *testing.T) {
	if testing.Short() {
		t.Skip("runs external exporters: skipped with -short")
	}
	dir := t.TempDir()
	// The capture lies in the previous 15-minute window, a few minutes in
	// the past, like traffic an exporter is catching up on.
	base := time.Now().UTC().Truncate(15 * time.Minute).Add(-14 * time.Minute)
	convs := trafficConversations()
	pcap := writeTraffic(t, dir, base, convs)
	for _, c := range convs {
		t.Logf("generated %-8s %s→%s proto %d: up %d B / %d pkts, down %d B / %d pkts, %s..%s", c.name, c.client, c.server, c.proto,
			c.up.bytes, c.up.pkts, c.down.bytes, c.down.pkts, c.first().Format(time.RFC3339Nano), c.last().Format(time.RFC3339Nano))
	}

	// The exporters run all at once (pmacctd sleeps about 4 s of its 4.5
	// s on a capture, whatever its size); the subtests then check them.
	type result struct {
		run exportRun
		err error
	}
	cases := exporterCases()
	results := make([]chan result, len(cases))
	tools := make([]string, len(cases))
	missing := make([]error, len(cases))
	for i, ec := range cases {
		results[i] = make(chan result, 1)
		if tools[i], missing[i] = findTool(ec.tool); missing[i] != nil {
			continue
		}
		sub := filepath.Join(dir, ec.name)
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		go func() {
			run, err := export(ec, tools[i], sub, pcap)
			results[i] <- result{run, err}
		}()
	}
	for i, ec := range cases {
		t.Run(ec.name, func(t *testing.T) {
			if missing[i] != nil {
				t.Skipf("%s not installed: %v (Debian: apt-get install softflowd pmacct nfdump)", ec.tool, missing[i])
			}
			var res result
			select {
			case res = <-results[i]:
			case <-time.After(60 * time.Second):
				t.Fatal("exporter run did not finish")
			}
			if res.err != nil {
				t.Fatal(res.err)
			}
			r := res.run
			recs := parseLines[dumpRecord](t, r.dump)
			t.Logf("%s: %d datagrams, %d records, %d dropped by the decoder, %d by the kernel; exporter said: %s",
				ec.name, r.datagrams, r.records, r.dropped, r.kernelDrops, exporterSummary(r.toolOut))
			if r.kernelDrops > 0 {
				// The export came faster than the collector read it and
				// overflowed the socket buffer. The collector asks for
				// readBuffer bytes; a kernel that caps buffers lower cannot
				// hold pmacct's burst, which is this machine's limit.
				if m := rmemMax(); m >= 0 && m < readBuffer {
					t.Skipf("the kernel dropped %d datagrams: net.core.rmem_max = %d caps the collector's %d-byte receive buffer (sysctl -w net.core.rmem_max=%d)",
						r.kernelDrops, m, readBuffer, readBuffer)
				}
				t.Fatalf("the kernel dropped %d datagrams although the receive buffer may reach %d bytes: the collector reads too slowly", r.kernelDrops, readBuffer)
			}
			if r.dropped != 0 || r.records != len(recs) || len(recs) == 0 {
				t.Errorf("collector: %d records decoded, %d dropped, %d printed", r.records, r.dropped, len(recs))
			}
			checkRecords(t, ec, convs, recs, r.began, r.ended)
			switch {
			case r.peerNote != "":
				t.Log(r.peerNote)
			case ec.peer:
				comparePeer(t, r.peer, recs)
			}
			if ec.alerts {
				checkAlerts(t, ec, r.alerts, convs)
			}
		})
	}
}

// exporterSummary picks the exporter's own account of what it sent.
func exporterSummary(out string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "Flows exported:") { // softflowd
			return strings.TrimSpace(l)
		}
	}
	return "(no summary)"
}

// carried reports whether a format carries c: NetFlow v5 has no IPv6.
func carried(format string, c *trafficConv) bool {
	return format != "v5" || c.client.Addr().Is4()
}

// sums is what the records say about one conversation.
type sums struct {
	up, down               direction
	upSeen, downSeen       bool // a record's flags told that direction's flags
	records                int
	upRecords, downRecords int
	start, end             time.Time     // earliest start, latest end
	upSpan, downSpan       time.Duration // the longest record of each direction
	communityIDs           map[string]bool
	badRate, badExporter   int
	startAfterEnd          int
	early, late            int // sFlow records stamped outside the run
}

// timeTolerance is how far before the first and after the last packet a
// record's times may fall. The uptime arithmetic of NetFlow v5 and of
// IPFIX sysUpTime fields truncates to the millisecond on both sides; a
// NetFlow v9 header carries whole seconds (RFC 3954), so its times may
// come out up to a second early, and one more millisecond: softflowd -v 9
// -s 4 once put both conversations of a run exactly 1.003 s early (the
// export second, and the packet, boot and export times each truncated to
// the millisecond).
func timeTolerance(format string) (early, late time.Duration) {
	if format == "v9" {
		return time.Second + 3*time.Millisecond, 2 * time.Millisecond
	}
	return 2 * time.Millisecond, 2 * time.Millisecond
}

// checkRecords checks the records of one export against the generated
// conversations.
func checkRecords(t *testing.T, ec exporterCase, convs []*trafficConv, recs []dumpRecord, began, ended time.Time) {
	t.Helper()
	byTuple := map[tuple]*trafficConv{}
	for _, c := range convs {
		byTuple[tuple{c.client.Addr(), c.server.Addr(), c.client.Port(), c.server.Port(), c.proto}] = c
		byTuple[tuple{c.server.Addr(), c.client.Addr(), c.server.Port(), c.client.Port(), c.proto}] = c
	}
	early, late := timeTolerance(ec.format)
	got := map[*trafficConv]*sums{}
	var totalPkts uint64
	for i := range recs {
		r := &recs[i]
		c, ok := byTuple[r.tuple()]
		if !ok {
			t.Errorf("record for a conversation that was never generated: %+v", *r)
			continue
		}
		s := got[c]
		if s == nil {
			s = &sums{communityIDs: map[string]bool{}}
			got[c] = s
		}
		s.records++
		s.communityIDs[r.CommunityID] = true
		if r.Exporter != "127.0.0.1" {
			s.badExporter++
		}
		if r.SamplingRate != ec.rate {
			s.badRate++
		}
		if r.Start.After(r.End) {
			s.startAfterEnd++
		}
		// Orient the record: its source is the client or the server.
		upB, upP, downB, downP := r.BytesToServer, r.PktsToServer, r.BytesToClient, r.PktsToClient
		fwd := netip.MustParseAddr(r.SrcIP) == c.client.Addr() && r.SrcPort == c.client.Port()
		if !fwd {
			upB, upP, downB, downP = downB, downP, upB, upP
		}
		// A record's TCP flags are its source's (a biflow's reverse
		// flags are not read).
		if fwd {
			s.up.flags, s.upSeen = s.up.flags|r.TCPFlags, true
		} else {
			s.down.flags, s.downSeen = s.down.flags|r.TCPFlags, true
		}
		s.up.bytes += upB
		s.up.pkts += upP
		s.down.bytes += downB
		s.down.pkts += downP
		totalPkts += r.PktsToServer + r.PktsToClient
		if upP > 0 {
			s.upRecords++
			s.upSpan = max(s.upSpan, r.End.Sub(r.Start))
		}
		if downP > 0 {
			s.downRecords++
			s.downSpan = max(s.downSpan, r.End.Sub(r.Start))
		}
		if s.start.IsZero() || r.Start.Before(s.start) {
			s.start = r.Start
		}
		if r.End.After(s.end) {
			s.end = r.End
		}
		if ec.format == "sflow" {
			if r.Start.Before(began) {
				s.early++
			}
			if r.End.After(ended) {
				s.late++
			}
		}
	}

	var generated uint64 // packets of the conversations the format carries
	for _, c := range convs {
		if carried(ec.format, c) {
			generated += c.up.pkts + c.down.pkts
		}
	}
	for _, c := range convs {
		s := got[c]
		if !carried(ec.format, c) {
			if s != nil {
				t.Errorf("%s: %d records for a conversation the format cannot carry", c.name, s.records)
			}
			continue
		}
		if s == nil {
			if c.filler || ec.rate > 1 && c.up.pkts+c.down.pkts < 50*uint64(ec.rate) {
				continue // small enough to be missed by sampling
			}
			t.Errorf("%s: no record", c.name)
			continue
		}
		if s.badExporter > 0 || s.badRate > 0 || s.startAfterEnd > 0 {
			t.Errorf("%s: %d records with another exporter than 127.0.0.1, %d with a sampling rate other than %d, %d with start after end",
				c.name, s.badExporter, s.badRate, ec.rate, s.startAfterEnd)
		}
		if len(s.communityIDs) != 1 || s.communityIDs[""] {
			t.Errorf("%s: Community IDs %v, want one for both directions", c.name, s.communityIDs)
		}
		if c.filler {
			continue
		}
		t.Logf("%s: %d records: up %d B / %d pkts, down %d B / %d pkts, %s..%s", c.name, s.records,
			s.up.bytes, s.up.pkts, s.down.bytes, s.down.pkts, s.start.Format(time.RFC3339Nano), s.end.Format(time.RFC3339Nano))
		checkCounters(t, ec, c, s)

		// Times. sFlow samples carry none: they are stamped on arrival.
		switch {
		case ec.format == "sflow":
			if s.early > 0 || s.late > 0 {
				t.Errorf("%s: %d sFlow records stamped before the exporter started (%v), %d after the collector stopped (%v)",
					c.name, s.early, began, s.late, ended)
			}
		default:
			if s.start.Before(c.first().Add(-early)) || s.end.After(c.last().Add(late)) {
				t.Errorf("%s: records span %v..%v, outside the capture's %v..%v (tolerance -%v/+%v)",
					c.name, s.start, s.end, c.first(), c.last(), early, late)
			}
			// Each direction's record covers its packets (softflowd and
			// pmacct give both directions the conversation's times).
			for _, d := range []struct {
				name string
				span time.Duration
				pk   *direction
			}{{"upload", s.upSpan, &c.up}, {"download", s.downSpan, &c.down}} {
				if need := d.pk.last.Sub(d.pk.first) - early - late; ec.rate == 1 && d.span < need {
					t.Errorf("%s: the longest %s record spans %v, its packets %v", c.name, d.name, d.span, d.pk.last.Sub(d.pk.first))
				}
			}
		}
	}
	// softflowd's periodic sampling takes every rate-th packet of the
	// whole capture: which conversation a sample lands in aliases with the
	// traffic's own pattern, but the scaled total is the packet count to
	// within one period.
	if ec.rate > 1 && ec.format != "sflow" {
		if d := int64(totalPkts) - int64(generated); d <= -int64(ec.rate) || d >= int64(ec.rate) {
			t.Errorf("sampled 1 in %d: %d packets in all records, %d generated", ec.rate, totalPkts, generated)
		}
	}
}

// checkCounters compares one conversation's counters with the generated
// ones: exactly when every packet is counted, within five standard
// deviations for random 1-in-N sFlow sampling.
func checkCounters(t *testing.T, ec exporterCase, c *trafficConv, s *sums) {
	t.Helper()
	for _, d := range []struct {
		name      string
		want, got *direction
		records   int
		flagsSeen bool
	}{{"up", &c.up, &s.up, s.upRecords, s.upSeen}, {"down", &c.down, &s.down, s.downRecords, s.downSeen}} {
		wantBytes := d.want.bytes
		if ec.format == "sflow" {
			wantBytes = d.want.frames
		}
		switch {
		case ec.rate == 1:
			if d.got.bytes != wantBytes || d.got.pkts != d.want.pkts {
				t.Errorf("%s %s: %d bytes / %d packets, generated %d / %d", c.name, d.name, d.got.bytes, d.got.pkts, wantBytes, d.want.pkts)
			}
			if d.flagsSeen && d.got.flags != d.want.flags {
				t.Errorf("%s %s: TCP flags %#x, generated %#x", c.name, d.name, d.got.flags, d.want.flags)
			}
			if ec.format != "sflow" && d.records != 1 {
				t.Errorf("%s %s: in %d records, want 1", c.name, d.name, d.records)
			}
		case ec.format == "sflow" && d.want.pkts >= 100:
			// A count-based estimate n̂ = N·k with k ~ Binomial(n, 1/N)
			// has standard deviation sqrt(n·(N-1)); bytes at most that
			// many frames of the largest size.
			sd := math.Sqrt(float64(d.want.pkts) * float64(ec.rate-1))
			if diff := math.Abs(float64(d.got.pkts) - float64(d.want.pkts)); diff > 5*sd {
				t.Errorf("%s %s: %d packets estimated from 1-in-%d samples, %d generated (more than 5 sd = %.0f off)", c.name, d.name, d.got.pkts, ec.rate, d.want.pkts, 5*sd)
			}
			if diff := math.Abs(float64(d.got.bytes) - float64(wantBytes)); diff > 5*sd*float64(d.want.maxLen) {
				t.Errorf("%s %s: %d bytes estimated, %d generated (more than %.0f off)", c.name, d.name, d.got.bytes, wantBytes, 5*sd*float64(d.want.maxLen))
			}
		}
	}
}

// checkAlerts runs the exporter again towards the collector in alert mode
// and checks every alert against the SPEC ladder applied to the generated
// volumes.

func checkAlerts(t *testing.T, ec exporterCase, out string, convs []*trafficConv) {
	t.Helper()
	type fullAlert struct {
		alert
		Proto           string    `json:"proto"`
		FlowCount       uint64    `json:"flow_count"`
		UploadPackets   uint64    `json:"upload_packets"`
		DownloadPackets uint64    `json:"download_packets"`
		Rule            string    `json:"rule"`
		FirstSeen       time.Time `json:"first_seen"`
		LastSeen        time.Time `json:"last_seen"`
	}
	early, late := timeTolerance(ec.format)
	got := map[string]fullAlert{}
	for _, a := range parseLines[fullAlert](t, out) {
		got[a.SrcIP+">"+a.DestIP] = a
	}
	for _, c := range convs {
		if c.filler {
			continue // internal to internal: never scored
		}
		want := ladder(c.up.bytes, c.down.bytes)
		a, ok := got[c.client.Addr().String()+">"+c.server.Addr().String()]
		switch {
		case want == "" && ok:
			t.Errorf("alerts: %s: unexpected %s alert (up %d, down %d)", c.name, a.Severity, c.up.bytes, c.down.bytes)
		case want != "" && !ok:
			t.Errorf("alerts: %s: no alert, the ladder says %s for up %d, down %d:\n%s", c.name, want, c.up.bytes, c.down.bytes, out)
		case ok:
			records := uint64(2)
			if ec.biflow {
				records = 1
			}
			proto := map[uint8]string{6: "TCP", 17: "UDP"}[c.proto]
			if a.Severity != want || a.TotalUploadBytes != c.up.bytes || a.TotalDownloadBytes != c.down.bytes ||
				a.UploadPackets != c.up.pkts || a.DownloadPackets != c.down.pkts || a.DestPort != c.server.Port() ||
				a.Proto != proto || a.FlowCount != records ||
				a.FirstSeen.Before(c.first().Add(-early)) || a.LastSeen.After(c.last().Add(late)) {
				t.Errorf("alerts: %s: %+v; want %s, up %d B / %d pkts, down %d B / %d pkts, port %d, %s, %d records",
					c.name, a, want, c.up.bytes, c.up.pkts, c.down.bytes, c.down.pkts, c.server.Port(), proto, records)
			}
			t.Logf("alert: %s %s→%s:%d up %d down %d ratio %.2f (rule %s)", a.Severity, a.SrcIP, a.DestIP, a.DestPort,
				a.TotalUploadBytes, a.TotalDownloadBytes, a.UploadRatio, a.Rule)
		}
	}
	if len(got) != countAlerts(convs) {
		t.Errorf("alerts: %d, want %d:\n%s", len(got), countAlerts(convs), out)
	}
}

func countAlerts(convs []*trafficConv) int {
	n := 0
	for _, c := range convs {
		if !c.filler && ladder(c.up.bytes, c.down.bytes) != "" {
			n++
		}
	}
	return n
}

// nfcapd is nfdump's collector, run as a peer.

// comparePeer reads nfcapd's files back with nfdump and compares its
// per-flow counters with ours.
func comparePeer(t *testing.T, out string, recs []dumpRecord) {
	t.Helper()
	var flows []struct {
		Src4     string `json:"src4_addr"`
		Dst4     string `json:"dst4_addr"`
		Src6     string `json:"src6_addr"`
		Dst6     string `json:"dst6_addr"`
		SrcPort  uint16 `json:"src_port"`
		DstPort  uint16 `json:"dst_port"`
		Proto    uint8  `json:"proto"`
		InBytes  uint64 `json:"in_bytes"`
		InPkts   uint64 `json:"in_packets"`
		OutBytes uint64 `json:"out_bytes"`
		OutPkts  uint64 `json:"out_packets"`
	}
	if err := json.Unmarshal([]byte(out), &flows); err != nil {
		t.Fatalf("nfdump -o json: %v\n%s", err, out)
	}
	theirs, ours := map[tuple]counters{}, map[tuple]counters{}
	for _, f := range flows {
		src, dst := f.Src4+f.Src6, f.Dst4+f.Dst6
		k := tuple{netip.MustParseAddr(src), netip.MustParseAddr(dst), f.SrcPort, f.DstPort, f.Proto}
		c := theirs[k]
		theirs[k] = counters{c.bs + f.InBytes, c.ps + f.InPkts, c.bc + f.OutBytes, c.pc + f.OutPkts}
	}
	for i := range recs {
		k := recs[i].tuple()
		c := ours[k]
		ours[k] = counters{c.bs + recs[i].BytesToServer, c.ps + recs[i].PktsToServer, c.bc + recs[i].BytesToClient, c.pc + recs[i].PktsToClient}
	}
	if !maps.Equal(theirs, ours) || len(theirs) == 0 {
		t.Errorf("nfdump and the collector disagree (5-tuple: bytes/packets to server, to client):\nnfdump:\n%s\ncollector:\n%s", listCounters(theirs), listCounters(ours))
	} else {
		t.Logf("nfdump agrees on %d flows (%d records)", len(ours), len(flows))
	}
}

// counters are a flow's bytes and packets to the server and to the client.
type counters struct{ bs, ps, bc, pc uint64 }

func listCounters(m map[tuple]counters) string {
	var lines []string
	for k, c := range m {
		lines = append(lines, fmt.Sprintf("  %v:%d > %v:%d proto %d: %d/%d, %d/%d", k.src, k.srcPort, k.dst, k.dstPort, k.proto, c.bs, c.ps, c.bc, c.pc))
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}
