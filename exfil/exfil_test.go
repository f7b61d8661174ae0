package exfil_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/geo"
	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
)

var t0 = time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)

const mb = 1 << 20

func rec(src string, sport uint16, dst string, dport uint16, bytes uint64, end time.Time) flowsrc.Record {
	return flowsrc.Record{
		Start: end.Add(-10 * time.Second), End: end,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
		SrcPort: sport, DstPort: dport, Proto: 6,
		BytesToServer: bytes, PktsToServer: bytes/1400 + 1, SamplingRate: 1,
	}
}

type alerts struct {
	mu sync.Mutex
	a  []*exfil.Alert
}

func (s *alerts) Alert(a *exfil.Alert) { s.mu.Lock(); s.a = append(s.a, a); s.mu.Unlock() }

func newDetector(t *testing.T, opts ...exfil.Option) (*exfil.Detector, *alerts) {
	t.Helper()
	s := &alerts{}
	d, err := exfil.New(append([]exfil.Option{exfil.WithSink(s)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return d, s
}

// conv feeds both directions of one connection.
func conv(d *exfil.Detector, client string, cport uint16, server string, sport uint16, up, down uint64, end time.Time) {
	r := rec(client, cport, server, sport, up, end)
	d.Observe(&r)
	r = rec(server, sport, client, cport, down, end)
	d.Observe(&r)
}

func TestOrient(t *testing.T) {
	cases := []struct {
		name         string
		r            flowsrc.Record
		client       string
		rule         exfil.InitiatorRule
		up, download uint64
	}{
		{"service port dst", rec("10.0.0.1", 50000, "198.51.100.1", 443, 100, t0), "10.0.0.1", exfil.RuleServicePort, 100, 0},
		{"service port src: reply", rec("198.51.100.1", 443, "10.0.0.1", 50000, 100, t0), "10.0.0.1", exfil.RuleServicePort, 0, 100},
		{"registered port 3306", rec("198.51.100.1", 3306, "10.0.0.1", 40000, 7, t0), "10.0.0.1", exfil.RuleServicePort, 0, 7},
		{"both service: lower is server", rec("10.0.0.1", 8080, "198.51.100.1", 443, 5, t0), "10.0.0.1", exfil.RuleLowerPort, 5, 0},
		{"neither: lower is server", rec("198.51.100.1", 40000, "10.0.0.1", 50000, 5, t0), "10.0.0.1", exfil.RuleLowerPort, 0, 5},
		{"equal ports: dst is server", rec("198.51.100.1", 40000, "10.0.0.1", 40000, 5, t0), "198.51.100.1", exfil.RuleLowerPort, 5, 0},
	}
	syn := rec("198.51.100.1", 443, "10.0.0.1", 50000, 60, t0) // odd ports, but SYN alone says src opened it
	syn.TCPFlags = 0x02
	cases = append(cases, struct {
		name         string
		r            flowsrc.Record
		client       string
		rule         exfil.InitiatorRule
		up, download uint64
	}{"syn alone", syn, "198.51.100.1", exfil.RuleSYN, 60, 0})
	src := rec("198.51.100.1", 443, "10.0.0.1", 50000, 60, t0)
	src.Initiator = flowsrc.InitiatorDst
	src.BytesToClient = 9
	cases = append(cases, struct {
		name         string
		r            flowsrc.Record
		client       string
		rule         exfil.InitiatorRule
		up, download uint64
	}{"source knows", src, "10.0.0.1", exfil.RuleSource, 9, 60})
	for _, c := range cases {
		got := exfil.Orient(&c.r)
		if got.Client.String() != c.client || got.Rule != c.rule || got.Upload != c.up || got.Download != c.download {
			t.Errorf("%s: client %v rule %v up %d down %d; want %s %v %d %d", c.name, got.Client, got.Rule, got.Upload, got.Download, c.client, c.rule, c.up, c.download)
		}
	}
	// ACK present with SYN: cumulative flags do not decide.
	both := rec("198.51.100.1", 443, "10.0.0.1", 50000, 60, t0)
	both.TCPFlags = 0x12
	if got := exfil.Orient(&both); got.Rule != exfil.RuleServicePort || got.Client.String() != "10.0.0.1" {
		t.Errorf("SYN+ACK decided by %v", got.Rule)
	}
	// ICMP echo reply comes from the server.
	reply := rec("198.51.100.1", 0, "10.0.0.1", 0, 64, t0)
	reply.Proto, reply.HasICMP, reply.ICMPType = 1, true, 0
	if got := exfil.Orient(&reply); got.Client.String() != "10.0.0.1" || got.Rule != exfil.RuleICMP || got.Download != 64 {
		t.Errorf("icmp echo reply: %+v", got)
	}
}

func TestHomeNet(t *testing.T) {
	h := exfil.DefaultHomeNet()
	for a, want := range map[string]bool{"10.1.2.3": true, "172.31.255.255": true, "172.32.0.1": false, "192.168.0.1": true, "8.8.8.8": false, "::ffff:10.0.0.1": true, "fd00::1": false} {
		if got := h.Internal(netip.MustParseAddr(a)); got != want {
			t.Errorf("default Internal(%s) = %v", a, got)
		}
	}
	h, err := exfil.ParseHomeNet("fd00::/8, 100.64.0.0/10")
	if err != nil {
		t.Fatal(err)
	}
	if !h.Internal(netip.MustParseAddr("fd12::1")) || !h.Internal(netip.MustParseAddr("100.64.1.1")) || h.Internal(netip.MustParseAddr("10.0.0.1")) {
		t.Error("custom home net must replace the default")
	}
	for _, bad := range []string{"", "10.0.0.0/33", "nope", " , "} {
		if _, err := exfil.ParseHomeNet(bad); err == nil {
			t.Errorf("ParseHomeNet(%q) accepted", bad)
		}
	}
	o := exfil.NewHomeNet([]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, []netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")})
	if o.External(netip.MustParseAddr("198.51.100.9")) || !o.External(netip.MustParseAddr("203.0.113.1")) {
		t.Error("owned external-facing range treated as external")
	}
}

// TestHomeNetFiltersRecords: the detector aggregates a record only when
// its client is internal and its server neither internal nor owned, for
// IPv4, IPv4-mapped IPv6 and IPv6, through Observe and ObserveBatch. It
// fails when the per-record test forgets the owned prefixes, or takes a
// mapped address for something else.
func TestHomeNetFiltersRecords(t *testing.T) {
	home := exfil.NewHomeNet(
		[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/48")},
		[]netip.Prefix{netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:ff::/48")})
	cases := []struct {
		src, dst string
		want     string // "aggregated", "internal dest" or "not outbound"
	}{
		{"10.0.0.5", "203.0.113.9", "aggregated"},
		{"10.0.0.5", "198.51.100.7", "internal dest"}, // owned
		{"10.0.0.5", "10.9.9.9", "internal dest"},
		{"192.0.2.1", "203.0.113.9", "not outbound"},
		{"192.0.2.1", "198.51.100.7", "not outbound"},
		{"::ffff:10.0.0.5", "::ffff:198.51.100.7", "internal dest"},
		{"::ffff:10.0.0.5", "::ffff:203.0.113.9", "aggregated"},
		{"::ffff:192.0.2.1", "203.0.113.9", "not outbound"},
		{"2001:db8::5", "2001:db8:ff::7", "internal dest"},
		{"2001:db8::5", "2606:4700::1", "aggregated"},
		{"2001:db8::5", "198.51.100.7", "internal dest"},
		{"2001:db8::5", "203.0.113.9", "aggregated"},
		{"10.0.0.5", "2001:db8::9", "internal dest"},
	}
	for _, batch := range []bool{false, true} {
		for _, c := range cases {
			d, _ := newDetector(t, exfil.WithHomeNet(home))
			r := rec(c.src, 50000, c.dst, 443, 1000, t0)
			if batch {
				w := d.NewWriter()
				w.ObserveBatch([]flowsrc.Record{r})
				w.Close()
			} else {
				d.Observe(&r)
			}
			st := d.Stats()
			got := map[[3]uint64]string{{1, 0, 0}: "aggregated", {0, 1, 0}: "internal dest", {0, 0, 1}: "not outbound"}[[3]uint64{st.Aggregated, st.InternalDest, st.NotOutbound}]
			if got != c.want {
				t.Errorf("batch=%v, %s -> %s: aggregated %d, internal dest %d, not outbound %d; want %s",
					batch, c.src, c.dst, st.Aggregated, st.InternalDest, st.NotOutbound, c.want)
			}
		}
	}
}

func TestCriticalUploadBothDirectionsOneAggregate(t *testing.T) {
	d, s := newDetector(t)
	for i := range 4 {
		conv(d, "10.0.0.5", uint16(50000+i), "198.51.100.7", 443, 30*mb, 1*mb, t0.Add(time.Duration(i)*time.Minute))
	}
	d.Flush()
	if len(s.a) != 1 {
		t.Fatalf("%d alerts, want 1", len(s.a))
	}
	a := s.a[0]
	if a.Severity != severity.Critical || a.FlowCount != 8 || a.UniqueFlows != 4 || a.TotalUploadBytes != 120*mb ||
		a.TotalDownloadBytes != 4*mb || a.UploadMB != 120 || a.UploadRatio != 30 || a.DestPort != 443 || a.Proto != "TCP" {
		t.Errorf("alert %+v", a)
	}
	if a.Confidence <= 0 || a.Confidence >= 0.99 || len(a.Reasons) == 0 {
		t.Errorf("confidence %v reasons %v", a.Confidence, a.Reasons)
	}
	if !strings.HasPrefix(a.CommunityID, "1:") {
		t.Errorf("community id %q", a.CommunityID)
	}
	if !a.WindowStart.Equal(t0) || !a.WindowEnd.Equal(t0.Add(15*time.Minute)) {
		t.Errorf("window %v..%v", a.WindowStart, a.WindowEnd)
	}
}

func TestInboundToInternalServerNeverAlerts(t *testing.T) {
	d, s := newDetector(t)
	// An external client uploads 500 MB to an internal HTTPS server and gets
	// almost nothing back: upload by the external side, never an alert.
	conv(d, "198.51.100.9", 40000, "10.0.0.10", 443, 500*mb, 10, t0)
	// And the server's large responses to an external client: the
	// server's bytes are download for the external client.
	conv(d, "198.51.100.9", 40001, "10.0.0.10", 443, 10, 900*mb, t0)
	d.Flush()
	if len(s.a) != 0 {
		t.Fatalf("inbound conversation alerted: %+v", s.a[0])
	}
	if st := d.Stats(); st.NotOutbound != 4 {
		t.Errorf("not_outbound = %d, want 4", st.NotOutbound)
	}
}

func TestIPv6ULAWithCustomHomeNet(t *testing.T) {
	h, _ := exfil.ParseHomeNet("fd00::/8")
	d, s := newDetector(t, exfil.WithHomeNet(h))
	conv(d, "fd00::5", 50000, "2001:db8::7", 443, 12*mb, 1*mb, t0)
	conv(d, "fd00::5", 50001, "fd00::9", 443, 500*mb, 0, t0) // internal to internal
	conv(d, "10.0.0.5", 50002, "2001:db8::7", 443, 500*mb, 0, t0)
	d.Flush()
	if len(s.a) != 1 || s.a[0].SrcIP.String() != "fd00::5" || s.a[0].Severity != severity.High {
		t.Fatalf("alerts %+v", s.a)
	}
}

func TestIOCMatchIsCriticalAt099(t *testing.T) {
	set, err := ioc.ParseList(strings.NewReader("203.0.113.0/24\n"), "test-feed")
	if err != nil {
		t.Fatal(err)
	}
	d, s := newDetector(t, exfil.WithIOC(set), exfil.WithGeo(geo.NewTable(map[netip.Prefix]geo.Info{
		netip.MustParsePrefix("203.0.113.0/24"): {Country: "NL", ASN: 64511, Org: "Doc Net"},
	})))
	conv(d, "10.0.0.66", 50000, "203.0.113.66", 8443, 1000, 5000, t0)
	conv(d, "10.0.0.67", 50000, "198.51.100.1", 443, 1000, 5000, t0) // below low, no IOC
	d.Flush()
	if len(s.a) != 1 {
		t.Fatalf("%d alerts", len(s.a))
	}
	a := s.a[0]
	if a.Severity != severity.Critical || a.Confidence != 0.99 || a.MaliciousIOCs != 1 || a.IOCsChecked != 1 ||
		len(a.C2.Matches) != 1 || a.C2.Matches[0].MatchedOn != "dest_ip" || a.C2.Matches[0].Feed != "test-feed" {
		t.Errorf("alert %+v", a)
	}
	if a.DestCountry != "NL" || a.DestASN != 64511 || a.DestOrg != "Doc Net" {
		t.Errorf("geo %q %d %q", a.DestCountry, a.DestASN, a.DestOrg)
	}
}

func TestMinSeverityAndBlastRadius(t *testing.T) {
	d, s := newDetector(t, exfil.WithMinSeverity(severity.Medium))
	conv(d, "10.0.0.1", 50000, "198.51.100.1", 443, 2*mb, 10, t0)  // low: dropped
	conv(d, "10.0.0.2", 50000, "198.51.100.1", 443, 20*mb, 10, t0) // high
	conv(d, "10.0.0.3", 50000, "198.51.100.1", 443, 1, 10, t0)     // no alert, but uploads
	d.Flush()
	if len(s.a) != 1 || s.a[0].Severity != severity.High {
		t.Fatalf("alerts %+v", s.a)
	}
	if s.a[0].BlastRadius != 3 {
		t.Errorf("blast radius %d, want 3", s.a[0].BlastRadius)
	}
	if st := d.Stats(); st.BelowMin != 1 || st.Alerts != 1 || st.BySeverity["high"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestAlertJSONFieldNames(t *testing.T) {
	var buf bytes.Buffer
	sink := exfil.NewJSONLines(&buf)
	d, err := exfil.New(exfil.WithSink(sink))
	if err != nil {
		t.Fatal(err)
	}
	conv(d, "10.0.0.5", 50000, "198.51.100.7", 22, 3*mb, 0, t0)
	d.Flush()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("output %q", buf.String())
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"alert_type", "severity", "confidence", "src_ip", "dest_ip", "dest_port", "proto", "app_proto",
		"window_start", "window_end", "flow_count", "unique_flows", "total_upload_bytes", "total_download_bytes",
		"upload_mb", "download_mb", "upload_ratio", "iocs_checked", "malicious_iocs", "c2", "community_id", "reasons"} {
		if _, ok := m[f]; !ok {
			t.Errorf("field %q missing", f)
		}
	}
	if m["window_start"] != "2026-11-02T02:00:00Z" || m["window_end"] != "2026-11-02T02:15:00Z" {
		t.Errorf("window bounds %v %v", m["window_start"], m["window_end"])
	}
	if m["upload_ratio"] != 999.99 || m["severity"] != "low" || m["alert_type"] != "data_exfiltration" {
		t.Errorf("ratio %v severity %v", m["upload_ratio"], m["severity"])
	}
	for _, f := range []string{"dest_country", "dest_asn", "dest_org"} {
		if _, ok := m[f]; ok {
			t.Errorf("field %q present without a value", f)
		}
	}
	if c2 := m["c2"].(map[string]any); c2["matches"] == nil {
		t.Error("c2.matches must be an empty list, not null")
	}
}

func TestObserveConcurrent(t *testing.T) {
	d, s := newDetector(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				conv(d, "10.0.0.5", uint16(1024+g*500+i), "198.51.100.7", 443, 100*1024, 10, t0.Add(time.Duration(i)*time.Second))
			}
		})
	}
	wg.Wait()
	d.Flush()
	if len(s.a) != 1 {
		t.Fatalf("%d alerts", len(s.a))
	}
	if a := s.a[0]; a.FlowCount != 8000 || a.TotalUploadBytes != 4000*100*1024 {
		t.Errorf("flows %d up %d", a.FlowCount, a.TotalUploadBytes)
	}
	if u := s.a[0].UniqueFlows; u < 3920 || u > 4080 {
		t.Errorf("unique flows %d not within 2%% of 4000", u)
	}
}

func TestNewValidates(t *testing.T) {
	if _, err := exfil.New(); err == nil {
		t.Error("no sink accepted")
	}
	sink := exfil.SinkFunc(func(*exfil.Alert) {})
	bad := severity.DefaultPolicy()
	bad.Low = nil
	for _, o := range []exfil.Option{exfil.WithWindow(7 * time.Minute), exfil.WithLateness(-time.Second), exfil.WithPolicy(bad), exfil.WithMinSeverity(severity.None), exfil.WithHomeNet(exfil.HomeNet{}), exfil.WithRunBacklog(-1)} {
		if _, err := exfil.New(exfil.WithSink(sink), o); err == nil {
			t.Errorf("bad option accepted")
		}
	}
}

func TestObserveNoAllocSteadyState(t *testing.T) {
	d, _ := newDetector(t)
	r := rec("10.0.0.5", 50000, "198.51.100.7", 443, 1000, t0.Add(time.Minute))
	d.Observe(&r)
	if n := testing.AllocsPerRun(1000, func() { d.Observe(&r) }); n != 0 {
		t.Errorf("Observe allocates %v times per record for a known key", n)
	}
}

func BenchmarkObserve(b *testing.B) {
	d, err := exfil.New(exfil.WithSink(exfil.SinkFunc(func(*exfil.Alert) {})))
	if err != nil {
		b.Fatal(err)
	}
	recs := make([]flowsrc.Record, 4096)
	for i := range recs {
		recs[i] = rec("10.0.0.5", uint16(1024+i), "198.51.100.7", 443, 1000, t0.Add(time.Minute))
		recs[i].Src = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
	}
	i := 0
	for b.Loop() {
		d.Observe(&recs[i&4095])
		i++
	}
}

func TestEarlyAlertsThenFinalSameID(t *testing.T) {
	d, s := newDetector(t, exfil.WithEarlyAlerts(true))
	// Upload grows past low (1 MB at 2:1), then past critical (100 MB at 10:1).
	conv(d, "10.0.0.5", 50000, "198.51.100.7", 443, 2*mb, 10, t0)
	if len(s.a) != 1 || s.a[0].Stage != exfil.StageEarly || s.a[0].Severity != severity.Low {
		t.Fatalf("after 2 MB: %+v", s.a)
	}
	conv(d, "10.0.0.5", 50001, "198.51.100.7", 443, 1*mb, 10, t0.Add(time.Minute)) // still low: no new alert
	if len(s.a) != 1 {
		t.Fatalf("same rung alerted again: %d alerts", len(s.a))
	}
	conv(d, "10.0.0.5", 50002, "198.51.100.7", 443, 120*mb, 10, t0.Add(2*time.Minute))
	if len(s.a) != 2 || s.a[1].Stage != exfil.StageEarly || s.a[1].Severity != severity.Critical {
		t.Fatalf("after 123 MB: %+v", s.a[len(s.a)-1])
	}
	d.Flush()
	if len(s.a) != 3 {
		t.Fatalf("%d alerts", len(s.a))
	}
	fin := s.a[2]
	if fin.Stage != exfil.StageFinal || fin.Severity != severity.Critical || fin.TotalUploadBytes != 123*mb || fin.PCR == nil || fin.BlastRadius != 1 {
		t.Errorf("final %+v", fin)
	}
	if s.a[0].AlertID == "" || s.a[0].AlertID != s.a[1].AlertID || s.a[1].AlertID != fin.AlertID {
		t.Errorf("alert ids differ: %q %q %q", s.a[0].AlertID, s.a[1].AlertID, fin.AlertID)
	}
	if s.a[0].PCR != nil || s.a[0].BlastRadius != 0 {
		t.Error("early alert claims window-close context")
	}
	if st := d.Stats(); st.Early != 2 || st.Alerts != 3 {
		t.Errorf("stats %+v", st)
	}
}

func TestEarlyIOCAtFirstRecord(t *testing.T) {
	set, _ := ioc.ParseList(strings.NewReader("203.0.113.66\n"), "f")
	d, s := newDetector(t, exfil.WithEarlyAlerts(true), exfil.WithIOC(set))
	r := rec("10.0.0.66", 50000, "203.0.113.66", 8443, 100, t0)
	d.Observe(&r)
	if len(s.a) != 1 || s.a[0].Severity != severity.Critical || s.a[0].Confidence != 0.99 || s.a[0].MaliciousIOCs != 1 || s.a[0].Stage != exfil.StageEarly {
		t.Fatalf("alerts %+v", s.a)
	}
	d.Observe(&r) // no second early alert
	d.Flush()
	if len(s.a) != 2 || s.a[1].Stage != exfil.StageFinal {
		t.Fatalf("%d alerts", len(s.a))
	}
}

func TestEarlyReportedThenFinalNone(t *testing.T) {
	d, s := newDetector(t, exfil.WithEarlyAlerts(true))
	conv(d, "10.0.0.5", 50000, "198.51.100.7", 443, 2*mb, 0, t0) // low
	conv(d, "10.0.0.5", 50001, "198.51.100.7", 443, 0, 9*mb, t0) // the download catches up
	d.Flush()
	if len(s.a) != 2 || s.a[1].Stage != exfil.StageFinal || s.a[1].Severity != severity.None || s.a[1].AlertID != s.a[0].AlertID {
		t.Fatalf("alerts %+v", s.a)
	}
	// Without early alerts nothing is reported for it at all.
	d2, s2 := newDetector(t)
	conv(d2, "10.0.0.5", 50000, "198.51.100.7", 443, 2*mb, 0, t0)
	conv(d2, "10.0.0.5", 50001, "198.51.100.7", 443, 0, 9*mb, t0)
	d2.Flush()
	if len(s2.a) != 0 {
		t.Fatalf("alerts without early: %+v", s2.a)
	}
}

// serialSink fails the test if called concurrently.
type serialSink struct {
	t      *testing.T
	busy   atomic.Bool
	n      atomic.Int64
	finals atomic.Int64
}

func (s *serialSink) Alert(a *exfil.Alert) {
	if !s.busy.CompareAndSwap(false, true) {
		s.t.Error("sink called concurrently")
	}
	time.Sleep(10 * time.Microsecond)
	s.n.Add(1)
	if a.Stage == exfil.StageFinal {
		s.finals.Add(1)
	}
	s.busy.Store(false)
}

func TestEarlyConcurrentSinkSerialised(t *testing.T) {
	sink := &serialSink{t: t}
	d, err := exfil.New(exfil.WithSink(sink), exfil.WithEarlyAlerts(true))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				dst := "198.51.100." + strconv.Itoa(1+i%50)
				conv(d, "10.0.0."+strconv.Itoa(1+g), uint16(1024+i), dst, 443, 300*1024, 10, t0.Add(time.Duration(i)*time.Second))
			}
		})
	}
	wg.Wait()
	d.Flush()
	if sink.finals.Load() != 8*50 || d.Stats().Early == 0 {
		t.Errorf("finals %d early %d", sink.finals.Load(), d.Stats().Early)
	}
}

// TestWritersMatchObserve feeds the same records once through Observe and
// once through four goroutines that each own a Writer (every key split
// across them): the final alerts must be identical. The goroutines are not
// in step, so the lateness covers the whole span: no record is late.
func TestWritersMatchObserve(t *testing.T) {
	lateness := exfil.WithLateness(time.Hour)
	var recs []flowsrc.Record
	for i := range 4000 {
		src := netip.AddrFrom4([4]byte{10, 1, byte(i % 7), byte(i % 5)}).String()
		dst := "198.51.100." + strconv.Itoa(i%3)
		end := t0.Add(time.Duration(i) * 700 * time.Millisecond) // ~47 min: four windows
		up := rec(src, uint16(20000+i%900), dst, 443, uint64(i%97)*40*1024, end)
		down := rec(dst, 443, src, uint16(20000+i%900), uint64(i%13)*1024, end)
		recs = append(recs, up, down)
	}
	ref, refAlerts := newDetector(t, lateness)
	for i := range recs {
		ref.Observe(&recs[i])
	}
	ref.Flush()

	d, got := newDetector(t, lateness)
	var wg sync.WaitGroup
	for g := range 4 {
		w := d.NewWriter()
		wg.Go(func() {
			defer w.Close()
			for i := g; i < len(recs); i += 4 {
				w.Observe(&recs[i])
			}
		})
	}
	wg.Wait()
	d.Flush()

	if len(refAlerts.a) == 0 {
		t.Fatal("the reference raised no alert: the test data is too small")
	}
	key := func(a *exfil.Alert) string { return a.AlertID }
	want := map[string]*exfil.Alert{}
	for _, a := range refAlerts.a {
		want[key(a)] = a
	}
	if len(got.a) != len(want) {
		t.Fatalf("%d alerts through Writers, %d through Observe", len(got.a), len(want))
	}
	for _, a := range got.a {
		w := want[key(a)]
		if w == nil {
			t.Fatalf("unexpected alert %s %v→%v", a.AlertID, a.SrcIP, a.DestIP)
		}
		aj, _ := json.Marshal(a)
		wj, _ := json.Marshal(w)
		if !bytes.Equal(aj, wj) {
			t.Fatalf("alert differs:\n got %s\nwant %s", aj, wj)
		}
	}
	st, rst := d.Stats(), ref.Stats()
	if st.Records != rst.Records || st.Aggregated != rst.Aggregated || st.Late != 0 || st.Scored != rst.Scored || st.Alerts != rst.Alerts {
		t.Errorf("stats differ: writers %+v, observe %+v", st, rst)
	}
}

func TestWriterNoAllocSteadyState(t *testing.T) {
	d, _ := newDetector(t)
	w := d.NewWriter()
	defer w.Close()
	r := rec("10.0.0.5", 50000, "198.51.100.7", 443, 1000, t0.Add(time.Minute))
	w.Observe(&r)
	if n := testing.AllocsPerRun(1000, func() { w.Observe(&r) }); n != 0 {
		t.Errorf("Writer.Observe allocates %v times per record for a known key", n)
	}
	run := make([]flowsrc.Record, 100)
	for i := range run {
		run[i] = rec("10.0.0."+strconv.Itoa(i%7), uint16(50000+i), "198.51.100.7", 443, 1000, t0.Add(time.Minute))
	}
	w.ObserveBatch(run)
	if n := testing.AllocsPerRun(100, func() { w.ObserveBatch(run) }); n != 0 {
		t.Errorf("Writer.ObserveBatch allocates %v times per run of known keys", n)
	}
}

// TestDomainIOCOnSensorNames: a sensor record whose SNI is a subdomain of
// a domain indicator makes its aggregate critical, early and final, with
// the match on "sni"; the names seen for the destination are on the alert.
func TestDomainIOCOnSensorNames(t *testing.T) {
	set, err := ioc.ParseList(strings.NewReader("evil.example\n"), "domains")
	if err != nil {
		t.Fatal(err)
	}
	d, s := newDetector(t, exfil.WithIOC(set), exfil.WithEarlyAlerts(true))
	r := rec("10.0.0.8", 50100, "192.0.2.44", 443, 2000, t0)
	r.Initiator = flowsrc.InitiatorSrc
	r.BytesToClient = 9000
	r.AppProto = "tls"
	r.SNI = "cdn.Evil.Example"
	d.Observe(&r)
	other := rec("10.0.0.9", 50200, "192.0.2.45", 443, 2000, t0)
	other.SNI = "notevil.example"
	other.HTTPHost = "notevil.example:8080"
	d.Observe(&other)
	d.Flush()
	if len(s.a) != 2 {
		t.Fatalf("%d alerts, want an early and a final one", len(s.a))
	}
	for _, a := range s.a {
		if a.DestIP.String() != "192.0.2.44" || a.Severity != severity.Critical || a.MaliciousIOCs != 1 ||
			a.C2.Matches[0].MatchedOn != "sni" || a.C2.Matches[0].Indicator != "evil.example" || a.IOCsChecked != 2 {
			t.Errorf("%s alert %+v", a.Stage, a)
		}
		if a.DestNames == nil || len(a.DestNames.SNI) != 1 || a.DestNames.SNI[0] != "cdn.evil.example" {
			t.Errorf("%s alert names %+v", a.Stage, a.DestNames)
		}
	}
	if s.a[0].Stage != exfil.StageEarly || s.a[1].Stage != exfil.StageFinal || s.a[0].AlertID != s.a[1].AlertID {
		t.Errorf("stages %s/%s ids %s/%s", s.a[0].Stage, s.a[1].Stage, s.a[0].AlertID, s.a[1].AlertID)
	}
}

// TestStatsFromSink: a sink may read the detector's counters while it is
// being handed alerts (the window is being scored under the writers'
// locks): no deadlock.
func TestStatsFromSink(t *testing.T) {
	var d *exfil.Detector
	var got []exfil.Stats
	d, err := exfil.New(exfil.WithSink(exfil.SinkFunc(func(*exfil.Alert) { got = append(got, d.Stats()) })), exfil.WithEarlyAlerts(true))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		conv(d, "10.0.0.5", 50000, "198.51.100.7", 443, 20*mb, 1000, t0)
		conv(d, "10.0.0.6", 50001, "198.51.100.8", 443, 20*mb, 1000, t0.Add(20*time.Minute)) // closes the first window
		d.Flush()
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("deadlock: Stats called from the sink never returned")
	}
	if len(got) < 3 {
		t.Fatalf("%d alerts", len(got))
	}
	if last := got[len(got)-1]; last.Records != 4 {
		t.Errorf("last Stats from the sink: %+v", last)
	}
}

// TestLanesMatchObserve: the records of two producing goroutines spread
// over three lanes give the alerts Observe gives, early ones included.
func TestLanesMatchObserve(t *testing.T) {
	var recs []flowsrc.Record
	for i := range 4000 {
		src := netip.AddrFrom4([4]byte{10, 1, byte(i % 7), byte(i % 5)}).String()
		dst := "198.51.100." + strconv.Itoa(i%3)
		end := t0.Add(time.Duration(i) * 700 * time.Millisecond)
		recs = append(recs, rec(src, uint16(20000+i%900), dst, 443, uint64(i%97)*40*1024, end),
			rec(dst, 443, src, uint16(20000+i%900), uint64(i%13)*1024, end))
	}
	opts := []exfil.Option{exfil.WithLateness(time.Hour), exfil.WithEarlyAlerts(true)}
	ref, want := newDetector(t, opts...)
	for i := range recs {
		ref.Observe(&recs[i])
	}
	ref.Flush()

	d, got := newDetector(t, opts...)
	lanes := d.NewLanes(3)
	var wg sync.WaitGroup
	for g := range 2 {
		p := lanes.Producer()
		wg.Go(func() {
			for i := g * len(recs) / 2; i < (g+1)*len(recs)/2; i++ {
				p.Observe(&recs[i])
			}
			p.Flush()
		})
	}
	wg.Wait()
	lanes.Close()
	lanes.Close() // idempotent
	d.Flush()

	index := func(as []*exfil.Alert) map[string]string {
		m := map[string]string{}
		for _, a := range as {
			if a.Stage == exfil.StageFinal {
				b, _ := json.Marshal(a)
				m[a.AlertID] = string(b)
			}
		}
		return m
	}
	w, g := index(want.a), index(got.a)
	if len(w) == 0 || len(w) != len(g) {
		t.Fatalf("%d final alerts through lanes, %d through Observe", len(g), len(w))
	}
	for id, a := range w {
		if g[id] != a {
			t.Fatalf("alert %s:\n got %s\nwant %s", id, g[id], a)
		}
	}
	if st := d.Stats(); st.Records != uint64(len(recs)) || st.Late != 0 || st.Early == 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestObserveBatchMatchesObserve: ObserveBatch in runs of any length gives
// the alerts, early and final, in the order and with the bytes of one
// Observe per record, names and domain IOCs included.
func TestObserveBatchMatchesObserve(t *testing.T) {
	set, err := ioc.ParseList(strings.NewReader("evil.example\n198.51.100.7\n"), "mixed")
	if err != nil {
		t.Fatal(err)
	}
	var recs []flowsrc.Record
	for i := range 6000 {
		src := netip.AddrFrom4([4]byte{10, 1, byte(i % 11), byte(i % 5)}).String()
		dst := "198.51.100." + strconv.Itoa(i%9)
		end := t0.Add(time.Duration(i) * 500 * time.Millisecond) // 50 min: four windows
		up := rec(src, uint16(20000+i%700), dst, 443, uint64(i%97)*60*1024, end)
		switch i % 50 {
		case 0:
			up.SNI = "cdn.evil.example"
		case 1:
			up.SNI = "www.example.org"
		}
		down := rec(dst, 443, src, uint16(20000+i%700), uint64(i%13)*1024, end)
		if i%7 == 0 {
			down.Src = netip.Addr{} // invalid: counted, not aggregated
		}
		recs = append(recs, up, down)
	}
	opts := []exfil.Option{exfil.WithIOC(set), exfil.WithEarlyAlerts(true), exfil.WithLateness(time.Hour)}
	ref, want := inOrder(t, recs, opts...)

	d, got := newDetector(t, opts...)
	w := d.NewWriter()
	r := rand.New(rand.NewPCG(5, 5))
	for rest := recs; len(rest) > 0; {
		n := min(len(rest), r.IntN(100))
		w.ObserveBatch(rest[:n])
		rest = rest[n:]
	}
	w.Close()
	d.Flush()

	if len(want.a) < 10 {
		t.Fatalf("the reference raised %d alerts: the test data is too small", len(want.a))
	}
	early := 0
	for _, a := range want.a {
		if a.Stage == "early" {
			early++
		}
	}
	if early == 0 {
		t.Fatal("no early alert in the reference")
	}
	if len(got.a) != len(want.a) {
		t.Fatalf("%d alerts through ObserveBatch, %d through Observe", len(got.a), len(want.a))
	}
	for i := range got.a {
		aj, _ := json.Marshal(got.a[i])
		wj, _ := json.Marshal(want.a[i])
		if !bytes.Equal(aj, wj) {
			t.Fatalf("alert %d differs:\n got %s\nwant %s", i, aj, wj)
		}
	}
	if st, rst := d.Stats(), ref.Stats(); !reflect.DeepEqual(st, rst) {
		t.Errorf("stats differ: batch %+v, observe %+v", st, rst)
	}
}

// TestRunBacklogSameAlerts: scoring on a goroutine of its own (Run), with
// a backlog of one closed window, gives the alerts of scoring inline, over
// a stream that closes many windows.
func TestRunBacklogSameAlerts(t *testing.T) {
	type result struct {
		id       string
		up, down uint64
		flows    uint64
		sev      severity.Level
	}
	run := func(withRun bool) []result {
		var mu sync.Mutex
		var got []result
		sink := exfil.SinkFunc(func(a *exfil.Alert) {
			mu.Lock()
			got = append(got, result{a.AlertID, a.TotalUploadBytes, a.TotalDownloadBytes, a.FlowCount, a.Severity})
			mu.Unlock()
		})
		opts := []exfil.Option{exfil.WithSink(sink)}
		if withRun {
			opts = append(opts, exfil.WithRunBacklog(1))
		}
		d, err := exfil.New(opts...)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		if withRun {
			go func() { d.Run(ctx); close(ran) }()
		} else {
			close(ran)
		}
		w := d.NewWriter()
		for i := range 20000 {
			src := fmt.Sprintf("10.0.%d.%d", i%7, i%50)
			r := rec(src, uint16(1024+i%5000), "198.51.100.7", 443, uint64(1+i%97)*64*1024, t0.Add(time.Duration(i)*500*time.Millisecond))
			w.Observe(&r)
		}
		w.Close()
		cancel()
		<-ran
		d.Flush()
		mu.Lock()
		defer mu.Unlock()
		slices.SortFunc(got, func(a, b result) int { return strings.Compare(a.id, b.id) })
		return got
	}
	inline, scored := run(false), run(true)
	if len(inline) < 10 {
		t.Fatalf("%d alerts: the stream covers too little", len(inline))
	}
	if !slices.Equal(inline, scored) {
		t.Errorf("Run with a backlog of 1 gives %d alerts, inline %d, or they differ", len(scored), len(inline))
	}
}

// TestIdleLaneHandsOverAdvancedWindow: a window that Advance closes while
// an idle lane holds it is scored without another record reaching that
// lane (it syncs every laneIdle while idle).
func TestIdleLaneHandsOverAdvancedWindow(t *testing.T) {
	d, s := newDetector(t)
	l := d.NewLanes(1)
	p := l.Producer()
	r := rec("10.0.0.1", 40000, "198.51.100.7", 443, 5<<30, t0)
	p.Observe(&r)
	p.Flush()
	time.Sleep(600 * time.Millisecond) // the lane's first idle Sync has run
	d.Advance(t0.Add(time.Hour))
	n := 0
	for deadline := time.Now().Add(5 * time.Second); n == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		s.mu.Lock()
		n = len(s.a)
		s.mu.Unlock()
	}
	l.Close()
	d.Flush()
	if n == 0 {
		t.Errorf("no alert while the lane idled after Advance (%d after Close)", len(s.a))
	}
}

// TestLanesLateAsInOrder: on time-dense input (records 20 ms apart, so a
// lane's queue holds minutes of event time) spread over eight lanes, a
// record is late exactly when it would be late for one Writer fed in
// order, and the alerts are that Writer's: a lane that lags behind
// another does not find its windows closed. Every 997th record is from
// 20 minutes earlier, so some records are really late.
func TestLanesLateAsInOrder(t *testing.T) {
	var recs []flowsrc.Record
	for i := range 200_000 {
		src := netip.AddrFrom4([4]byte{10, 2, byte(i % 13), byte(i % 17)}).String()
		dst := netip.AddrFrom4([4]byte{198, 51, 100, byte(i % 29)}).String()
		end := t0.Add(time.Duration(i) * 20 * time.Millisecond)
		if i%997 == 0 {
			end = end.Add(-20 * time.Minute)
		}
		recs = append(recs, rec(src, uint16(20000+i%900), dst, 443, uint64(i%89)*30*1024, end))
	}
	opts := []exfil.Option{exfil.WithLateness(2 * time.Minute)}
	ref, want := inOrder(t, recs, opts...)

	d, got := throughLanes(t, 8, recs, opts...)

	ws, gs := ref.Stats(), d.Stats()
	if ws.Late == 0 || ws.Late == uint64(len(recs)) {
		t.Fatalf("reference: %d of %d late: the test needs some", ws.Late, len(recs))
	}
	if gs.Late != ws.Late || gs.Records != ws.Records {
		t.Errorf("lanes: %d late of %d records, in order: %d of %d", gs.Late, gs.Records, ws.Late, ws.Records)
	}
	if len(got.a) != len(want.a) {
		t.Fatalf("%d alerts through lanes, %d in order", len(got.a), len(want.a))
	}
	for i := range want.a {
		w, _ := json.Marshal(want.a[i])
		g, _ := json.Marshal(got.a[i])
		if string(w) != string(g) {
			t.Fatalf("alert %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// inOrder is the reference run: recs fed in order to one Writer of a new
// Detector, flushed.
func inOrder(t *testing.T, recs []flowsrc.Record, opts ...exfil.Option) (*exfil.Detector, *alerts) {
	t.Helper()
	d, s := newDetector(t, opts...)
	w := d.NewWriter()
	for i := range recs {
		w.Observe(&recs[i])
	}
	w.Close()
	d.Flush()
	return d, s
}

// TestLanesRejectedRecordLeavesWatermark: an outbound record the window
// rejects (an address with a zone, as Zeek and EVE logs may carry) does
// not move the watermark through lanes either, so the records after it
// are not late (found in review: 10 of 11 were).
func TestLanesRejectedRecordLeavesWatermark(t *testing.T) {
	recs := []flowsrc.Record{rec("10.0.0.1", 40000, "198.51.100.1", 443, 1000, t0.Add(time.Minute))}
	z := rec("10.0.0.2", 40001, "2001:db8::1", 443, 1000, t0.Add(5*time.Hour))
	z.Dst = z.Dst.WithZone("eth0")
	recs = append(recs, z)
	for i := range 10 {
		recs = append(recs, rec("10.0.0.1", uint16(40002+i), "198.51.100.1", 443, 1000, t0.Add(2*time.Minute)))
	}
	opts := []exfil.Option{exfil.WithLateness(2 * time.Minute)}
	ref, _ := inOrder(t, recs, opts...)
	d, _ := throughLanes(t, 2, recs, opts...)
	ws, gs := ref.Stats(), d.Stats()
	if ws.Rejected != 1 || ws.Late != 0 {
		t.Fatalf("in order: %+v", ws)
	}
	if gs.Late != ws.Late || gs.Aggregated != ws.Aggregated || gs.Rejected != ws.Rejected {
		t.Errorf("lanes: late %d, aggregated %d, rejected %d; in order %d, %d, %d", gs.Late, gs.Aggregated, gs.Rejected, ws.Late, ws.Aggregated, ws.Rejected)
	}
}

// throughLanes feeds recs through one Producer of n lanes of a new
// Detector, then closes the lanes and flushes.
func throughLanes(t *testing.T, n int, recs []flowsrc.Record, opts ...exfil.Option) (*exfil.Detector, *alerts) {
	t.Helper()
	d, s := newDetector(t, opts...)
	l := d.NewLanes(n)
	p := l.Producer()
	for i := range recs {
		p.Observe(&recs[i])
	}
	p.Flush()
	l.Close()
	d.Flush()
	return d, s
}

// TestWritersSplitKeys: records split between several Writers, a key's
// flows spread over them (some flows seen by more than one), raise the
// alerts one Writer raises, unique flows included: keys with one flow,
// a few, around the exact counting limit (64) and past the flow set's
// sketch threshold (1024).
func TestWritersSplitKeys(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 17))
	var recs []flowsrc.Record
	for k, n := range []int{1, 2, 10, 33, 63, 64, 65, 120, 1023, 1025, 2500} {
		dst := netip.AddrFrom4([4]byte{203, 0, 113, byte(k)}).String()
		for i := range n + n/3 {
			port := uint16(1024 + i%n) // the last third repeat flows
			end := t0.Add(time.Duration(r.IntN(14*60)) * time.Second)
			recs = append(recs, rec("10.0.0.5", port, dst, 443, uint64(1+r.IntN(4<<20)), end))
		}
	}
	r.Shuffle(len(recs), func(i, j int) { recs[i], recs[j] = recs[j], recs[i] })
	run := func(writers int) []*exfil.Alert {
		d, s := newDetector(t)
		ws := make([]*exfil.Writer, writers)
		for i := range ws {
			ws[i] = d.NewWriter()
		}
		for i := 0; i < len(recs); i += 7 {
			ws[i/7%writers].ObserveBatch(slices.Clone(recs[i:min(i+7, len(recs))]))
		}
		for _, w := range ws {
			w.Close()
		}
		d.Flush()
		return s.a
	}
	one := run(1)
	if len(one) == 0 {
		t.Fatal("no alert")
	}
	for _, n := range []int{2, 3} {
		if got := run(n); !reflect.DeepEqual(got, one) {
			for i := range min(len(got), len(one)) {
				if !reflect.DeepEqual(got[i], one[i]) {
					t.Fatalf("%d writers, alert %d:\n%+v\none writer:\n%+v", n, i, got[i], one[i])
				}
			}
			t.Fatalf("%d writers: %d alerts, one writer %d", n, len(got), len(one))
		}
	}
}
