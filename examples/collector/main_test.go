package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

const mb = 1 << 20

var base = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// syncBuffer is a bytes.Buffer safe for the collector's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type alert struct {
	AlertID            string  `json:"alert_id"`
	Stage              string  `json:"stage"`
	Severity           string  `json:"severity"`
	Confidence         float64 `json:"confidence"`
	SrcIP              string  `json:"src_ip"`
	DestIP             string  `json:"dest_ip"`
	DestPort           uint16  `json:"dest_port"`
	TotalUploadBytes   uint64  `json:"total_upload_bytes"`
	TotalDownloadBytes uint64  `json:"total_download_bytes"`
	UploadRatio        float64 `json:"upload_ratio"`
	MaliciousIOCs      int     `json:"malicious_iocs"`
}

// parseLines decodes every stdout line as JSON: stdout must hold nothing
// else.
func parseLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var res []T
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("stdout line is not JSON: %q: %v", sc.Text(), err)
		}
		res = append(res, v)
	}
	return res
}

// both returns the two unidirectional records of one TCP connection.
func both(client, server string, cport, sport uint16, up, down uint64, end time.Time) []flowtest.Flow {
	c, s := netip.MustParseAddr(client), netip.MustParseAddr(server)
	start := end.Add(-30 * time.Second)
	return []flowtest.Flow{
		{Src: c, Dst: s, SrcPort: cport, DstPort: sport, Proto: 6, Bytes: up, Packets: up/1400 + 1, Start: start, End: end, TCPFlags: 0x1b},
		{Src: s, Dst: c, SrcPort: sport, DstPort: cport, Proto: 6, Bytes: down, Packets: down/1400 + 1, Start: start, End: end, TCPFlags: 0x1b},
	}
}

// ladderCase is one conversation of the replay capture and the severity
// the SPEC ladder gives it ("" = no alert).
type ladderCase struct {
	client, server string
	port           uint16
	up, down       uint64
	want           string
}

// writeCapture writes a pcap holding NetFlow v5, v9, IPFIX and sFlow
// datagrams from four exporters on unusual ports, and returns the cases
// they carry.
func writeCapture(t *testing.T) (string, []ladderCase) {
	t.Helper()
	v5 := []ladderCase{
		{"10.1.0.1", "198.51.100.1", 443, 1 * mb, mb / 2, "low"}, // exactly 1 MB, exactly 2:1
		{"10.1.0.2", "198.51.100.2", 443, 1*mb - 1, mb / 4, ""},  // one byte under 1 MB
		{"10.1.0.3", "198.51.100.3", 443, 4 * mb, 2*mb + 1, ""},  // just below 2:1
		{"10.1.0.4", "198.51.100.4", 443, 5 * mb, 0, "low"},      // download 0: ratio 999.99
		{"198.51.100.9", "10.1.0.10", 443, 900 * mb, 1, ""},      // inbound to an internal server
		{"10.1.0.5", "10.1.0.6", 445, 900 * mb, 1, ""},           // internal to internal
	}
	v9 := []ladderCase{
		{"10.2.0.1", "198.51.100.21", 22, 100 * mb, 10 * mb, "critical"}, // exactly 10:1 and 100 MB
		{"10.2.0.2", "198.51.100.22", 22, 100*mb - 1, 10 * mb, "high"},   // 10:1 just under 100 MB
		{"10.2.0.3", "198.51.100.23", 443, 100 * mb, 40 * mb, "high"},    // 2.5:1 with 100 MB
		{"10.2.0.4", "198.51.100.24", 443, 10 * mb, 4 * mb, "medium"},    // 2.5:1 with 10 MB
	}
	ipfix := []ladderCase{
		{"10.3.0.1", "198.51.100.31", 8443, 10 * mb, 2 * mb, "high"}, // exactly 5:1 and 10 MB
		{"10.3.0.2", "198.51.100.32", 443, 1 * mb, 300 * mb, ""},     // download
	}
	path := filepath.Join(t.TempDir(), "mixed.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := flowtest.NewPcapWriter(f)
	if err != nil {
		t.Fatal(err)
	}
	collector := netip.MustParseAddrPort("192.0.2.1:9999")
	write := func(exp string, at time.Time, payload []byte) {
		t.Helper()
		if err := w.WriteFrame(at, flowtest.UDPFrame(netip.MustParseAddrPort(exp), collector, payload)); err != nil {
			t.Fatal(err)
		}
	}
	flows := func(cs []ladderCase, first int) []flowtest.Flow {
		var fl []flowtest.Flow
		for i, c := range cs {
			fl = append(fl, both(c.client, c.server, uint16(40000+first+i), c.port, c.up, c.down, base.Add(time.Duration(first+i)*time.Minute))...)
		}
		return fl
	}
	at := base.Add(14 * time.Minute)
	write("192.0.2.5:5000", at, flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: at, Uptime: 48 * time.Hour}, flows(v5, 0)))
	tpl := flowtest.V9Template(300, false)
	write("192.0.2.9:5000", at, flowtest.NewV9(flowtest.V9Header{ExportTime: at, Uptime: time.Hour, SourceID: 7}).Template(tpl).Data(tpl, flows(v9, 6)...).Bytes())
	itpl := flowtest.IPFIXTemplate(400, false)
	write("192.0.2.10:5000", at, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: at, DomainID: 3}).Template(itpl).Data(itpl, flows(ipfix, 10)...).Bytes())

	// sFlow: 20 sampled 1514-byte frames at 1 in 1000 from 10.4.0.1 to
	// port 443: 30,280,000 bytes up, nothing down → ratio 999.99, ≥ 10 MB.
	var samples []flowtest.SFlowSample
	for i := range 20 {
		fl := flowtest.Flow{Src: netip.MustParseAddr("10.4.0.1"), Dst: netip.MustParseAddr("198.51.100.41"), SrcPort: 45000, DstPort: 443, Proto: 6, TCPFlags: 0x18}
		samples = append(samples, flowtest.SFlowSample{Sequence: uint32(i + 1), SamplingRate: 1000, SamplePool: uint32(1000 * (i + 1)), Input: 1, Output: 2,
			Frame: flowtest.Packet(fl, 1460, 0), FrameLength: 1514})
	}
	write("192.0.2.11:6000", at, flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: netip.MustParseAddr("192.0.2.11"), Sequence: 1, Uptime: time.Hour}, samples))
	// Noise: a UDP packet that is not a flow export.
	write("192.0.2.12:53", at, []byte("not a flow datagram at all"))

	cases := append(append(v5, v9...), ipfix...)
	cases = append(cases, ladderCase{"10.4.0.1", "198.51.100.41", 443, 20 * 1514 * 1000, 0, "high"})
	return path, cases
}

func TestReplayFollowsTheLadder(t *testing.T) {
	path, cases := writeCapture(t)
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	got := map[string]alert{}
	for _, a := range parseLines[alert](t, out.String()) {
		got[a.SrcIP+">"+a.DestIP] = a
	}
	for _, c := range cases {
		a, ok := got[c.client+">"+c.server]
		switch {
		case c.want == "" && ok:
			t.Errorf("%s→%s: unexpected %s alert", c.client, c.server, a.Severity)
		case c.want != "" && !ok:
			t.Errorf("%s→%s: no alert, want %s", c.client, c.server, c.want)
		case ok && (a.Severity != c.want || a.TotalUploadBytes != c.up || a.TotalDownloadBytes != c.down || a.DestPort != c.port):
			t.Errorf("%s→%s: %s up %d down %d port %d; want %s %d %d %d", c.client, c.server, a.Severity,
				a.TotalUploadBytes, a.TotalDownloadBytes, a.DestPort, c.want, c.up, c.down, c.port)
		}
	}
	if a := got["10.1.0.4>198.51.100.4"]; a.UploadRatio != 999.99 {
		t.Errorf("ratio with no download = %v, want 999.99", a.UploadRatio)
	}
	if !strings.Contains(errb.String(), "replay done") {
		t.Errorf("no summary on stderr:\n%s", errb.String())
	}
}

func TestReplayEarlyFlag(t *testing.T) {
	path, cases := writeCapture(t)
	want := 0
	for _, c := range cases {
		if c.want != "" {
			want++
		}
	}
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", path, "-early"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	stages := map[string]int{}
	final := map[string]string{}
	for _, a := range parseLines[alert](t, out.String()) {
		stages[a.Stage]++
		if a.Stage == "final" {
			final[a.AlertID] = a.Severity
		}
	}
	// The conversations the ladder flags end with a final alert; a
	// conversation whose upload record came before its download record
	// crossed a rung early and is closed by a final "none".
	flagged := 0
	for _, sev := range final {
		if sev != "none" {
			flagged++
		}
	}
	if stages["early"] == 0 || flagged != want {
		t.Fatalf("stages %v, %d flagged finals", stages, flagged)
	}
	for _, a := range parseLines[alert](t, out.String()) {
		if _, ok := final[a.AlertID]; a.Stage == "early" && !ok {
			t.Errorf("early alert %s without a final", a.AlertID)
		}
	}
}

func TestReplayDumpFlows(t *testing.T) {
	path, _ := writeCapture(t)
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", path, "-dump-flows"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	type rec struct {
		Start, End    time.Time
		SrcIP         string `json:"src_ip"`
		Exporter      string `json:"exporter"`
		BytesToServer uint64 `json:"bytes_toserver"`
		PktsToServer  uint64 `json:"pkts_toserver"`
		SamplingRate  uint32 `json:"sampling_rate"`
		CommunityID   string `json:"community_id"`
	}
	recs := parseLines[rec](t, out.String())
	// 6+4+2 two-record conversations and 20 sFlow samples.
	if len(recs) != 2*12+20 {
		t.Fatalf("%d records, want 44", len(recs))
	}
	for _, r := range recs {
		if r.CommunityID == "" || r.End.IsZero() || r.Exporter == "" {
			t.Errorf("incomplete record %+v", r)
		}
		if r.Exporter == "192.0.2.11" && (r.SamplingRate != 1000 || r.BytesToServer != 1514000 || r.PktsToServer != 1000) {
			t.Errorf("sFlow sample not scaled: %+v", r)
		}
	}
}

func TestDemo(t *testing.T) {
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-demo"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	want := map[string]string{
		"203.0.113.10": "critical", "198.51.100.77": "critical", "192.0.2.200": "medium",
		"203.0.113.50": "low", "203.0.113.66": "critical",
	}
	var as []alert
	ids := map[string]bool{}
	for _, a := range parseLines[alert](t, out.String()) {
		switch a.Stage {
		case "final":
			as = append(as, a)
		case "early": // live mode: early alerts are on by default
			ids[a.AlertID] = true
		default:
			t.Errorf("stage %q", a.Stage)
		}
	}
	if len(as) != len(want) || len(ids) != len(want) {
		t.Fatalf("%d final alerts for %d early ids, want %d:\n%s", len(as), len(ids), len(want), out.String())
	}
	for _, a := range as {
		if !ids[a.AlertID] {
			t.Errorf("final alert %s has no early alert", a.AlertID)
		}
		if want[a.DestIP] != a.Severity {
			t.Errorf("%s: %s, want %s", a.DestIP, a.Severity, want[a.DestIP])
		}
		if a.DestIP == "203.0.113.66" && (a.Confidence != 0.99 || a.MaliciousIOCs != 1) {
			t.Errorf("IOC alert %+v", a)
		}
	}
	if n := strings.Count(strings.TrimSpace(errb.String()), "\n") + 1; n != 2 {
		t.Errorf("stderr should hold the exporter line and the summary, got %d lines:\n%s", n, errb.String())
	}
}

// TestLiveFlushOnShutdown listens on loopback, receives a v9 export and
// checks that cancelling (what SIGINT/SIGTERM do) closes and reports the
// open window.
func TestLiveFlushOnShutdown(t *testing.T) {
	var out, errb syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-sflow", "", "-lateness", "24h"}, &out, &errb)
	}()
	re := regexp.MustCompile(`listening addr=(\S+)`)
	var addr string
	for deadline := time.Now().Add(5 * time.Second); addr == "" && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if m := re.FindStringSubmatch(errb.String()); m != nil {
			addr = m[1]
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("collector did not start:\n%s", errb.String())
	}
	conn, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	now := time.Now().UTC().Truncate(time.Second)
	tpl := flowtest.V9Template(256, false)
	dg := flowtest.NewV9(flowtest.V9Header{ExportTime: now, Uptime: time.Hour}).Template(tpl).
		Data(tpl, both("10.9.0.1", "198.51.100.99", 40000, 443, 200*mb, 1*mb, now.Add(-time.Second))...).Bytes()
	if _, err := conn.Write(dg); err != nil {
		t.Fatal(err)
	}
	// Shut down at once: datagrams already in the socket buffer are
	// drained before the windows are flushed.
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d:\n%s", code, errb.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("collector did not stop")
	}
	as := parseLines[alert](t, out.String())
	// Live mode: the early alert came when the upload record crossed the
	// critical rung, the final one at shutdown with both directions.
	if len(as) != 2 || as[0].Stage != "early" || as[0].Severity != "critical" || as[0].TotalDownloadBytes != 0 ||
		as[1].Stage != "final" || as[1].Severity != "critical" || as[1].TotalUploadBytes != 200*mb || as[1].TotalDownloadBytes != 1*mb ||
		as[0].AlertID != as[1].AlertID {
		t.Fatalf("alerts after shutdown: %+v\nstderr:\n%s", as, errb.String())
	}
}

func TestBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-homenet", "10.0.0.0/33"}, {"-min-severity", "urgent"}, {"-window", "7m"},
		{"-ioc", "/nonexistent/feed.txt"}, {"-policy", "/nonexistent/policy.json"}, {"-community-id-seed", "70000"}, {"stray"},
	} {
		var out, errb syncBuffer
		if code := run(context.Background(), args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
		if out.String() != "" {
			t.Errorf("%v: stdout not empty", args)
		}
	}
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", "/nonexistent.pcap"}, &out, &errb); code != 1 {
		t.Errorf("missing replay file: exit %d, want 1", code)
	}
}

// TestReplayLanesOrReader: a capture replayed by its reader's own Writer
// (-lanes 1, below lanesFrom) and spread over four lanes gives the same
// alert lines, and the same counts.
func TestReplayLanesOrReader(t *testing.T) {
	path, _ := writeCapture(t)
	var outs [2]string
	var sums [2]string
	for i, lanes := range []string{"1", "4"} {
		var out, errb syncBuffer
		if code := run(context.Background(), []string{"-replay", path, "-lanes", lanes}, &out, &errb); code != 0 {
			t.Fatalf("-lanes %s: exit %d; stderr:\n%s", lanes, code, errb.String())
		}
		outs[i] = out.String()
		_, sum, ok := strings.Cut(errb.String(), "replay done")
		if !ok {
			t.Fatalf("-lanes %s: no summary:\n%s", lanes, errb.String())
		}
		sums[i] = sum
	}
	if outs[0] == "" || outs[0] != outs[1] {
		t.Errorf("alerts differ:\n-lanes 1:\n%s\n-lanes 4:\n%s", outs[0], outs[1])
	}
	if sums[0] != sums[1] {
		t.Errorf("summaries differ:\n%s\n%s", sums[0], sums[1])
	}
	var errb syncBuffer
	if code := run(context.Background(), []string{"-lanes", "-1"}, io.Discard, &errb); code == 0 || !strings.Contains(errb.String(), "-lanes -1") {
		t.Errorf("-lanes -1: exit %d, %q", code, errb.String())
	}
}
