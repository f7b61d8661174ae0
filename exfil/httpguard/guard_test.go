package httpguard_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/internal/communityid"
	"github.com/exfilscore/exfilscore/severity"
)

// The alert of a loopback download: direction from the mode, evidence, ids.
func TestAlertServingLoopback(t *testing.T) {
	clk := newClock(t0.Add(3 * time.Minute))
	g, sink := newGuard(t, httpguard.WithClock(clk.Now))
	ws := newWireServer(t, g, download(6*mib))
	var clientAddr net.Addr
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { clientAddr = i.Conn.LocalAddr() },
	})
	for i := 0; i < 2; i++ {
		req, _ := http.NewRequestWithContext(ctx, "GET", ws.URL+"/exports/2026/q1.csv?token=secret", nil)
		req.Header.Set("User-Agent", "exfil-test/2")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ws.wait(t)
		clk.Advance(time.Minute)
	}
	g.Advance(t0.Add(15 * time.Minute)) // the window closes
	alerts := sink.all()
	if len(alerts) != 3 {
		t.Fatalf("%d alerts, want early low, early high, final", len(alerts))
	}
	early, final := alerts[0], alerts[2]
	if early.Stage != "early" || early.Severity != severity.Low || alerts[1].Severity != severity.High ||
		final.Stage != "final" || final.AlertID != early.AlertID || alerts[1].AlertID != early.AlertID {
		t.Errorf("stages/ids: %s %s %s / %s %s %s", early.Stage, alerts[1].Stage, final.Stage, early.AlertID, alerts[1].AlertID, final.AlertID)
	}
	server := netip.MustParseAddrPort(ws.Listener.Addr().String())
	client := netip.MustParseAddrPort(clientAddr.String())
	wantCID := communityid.New(0).String(communityid.Flow{Src: client.Addr(), Dst: server.Addr(), Proto: 6,
		SrcPort: client.Port(), DstPort: server.Port()})
	b, _ := json.Marshal(final)
	var m map[string]any
	json.Unmarshal(b, &m)
	for k, want := range map[string]any{
		"alert_type": "data_exfiltration", "stage": "final", "severity": "high", "app_proto": "http", "proto": "TCP",
		"src_ip": "127.0.0.1", "dest_ip": "127.0.0.1", "dest_port": 0.0, "principal": "127.0.0.1",
		"flow_count": 2.0, "unique_flows": 1.0, "window_start": "2026-03-02T10:00:00Z", "window_end": "2026-03-02T10:15:00Z",
		"first_seen": "2026-03-02T10:03:00Z", "last_seen": "2026-03-02T10:04:00Z", "community_id": wantCID,
		"blast_radius": 1.0, "upload_packets": 0.0, "iocs_checked": 0.0,
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
	ev := m["http"].(map[string]any)
	for k, want := range map[string]any{"mode": "serving", "method": "GET", "host": server.String(),
		"path_prefix": "/exports/2026", "user_agent": "exfil-test/2", "blocked": 0.0, "cut": 0.0} {
		if ev[k] != want {
			t.Errorf("http.%s = %v, want %v", k, ev[k], want)
		}
	}
	if final.TotalUploadBytes < 12*mib || final.TotalDownloadBytes == 0 || final.PCR == nil || *final.PCR != 1 ||
		final.BlastRadius != 1 || len(final.Reasons) == 0 || !strings.HasPrefix(final.Rule, "high") {
		t.Errorf("final %+v", final)
	}
	if strings.Contains(string(b), "secret") {
		t.Error("the query string leaked into the alert")
	}
}

// Flush reports every open aggregate; bytes after it report under a new
// alert_id; containment outlives the Flush.
func TestFlushSegments(t *testing.T) {
	clk := newClock(t0)
	g, sink := newGuard(t, httpguard.WithClock(clk.Now), httpguard.WithBlock(severity.Medium))
	h := g.Handler(download(6 * mib))
	get(h, "203.0.113.5:1", "/")
	get(h, "203.0.113.5:1", "/") // 12 MiB: contained
	g.Flush()
	if w := get(h, "203.0.113.5:1", "/"); w.Code != 429 {
		t.Errorf("after Flush: %d, want still contained", w.Code)
	}
	g.Flush()
	finals := sink.stage("final")
	if len(finals) != 2 || finals[0].AlertID == finals[1].AlertID || finals[1].FlowCount != 1 ||
		finals[1].HTTP.Blocked != 1 || finals[0].TotalUploadBytes < 12*mib {
		for _, a := range finals {
			t.Logf("%s %s %d %d", a.AlertID, a.Severity, a.FlowCount, a.HTTP.Blocked)
		}
		t.Fatal("want two segments with distinct ids")
	}
	g.Flush() // nothing new: nothing sent
	if n := len(sink.stage("final")); n != 2 {
		t.Errorf("idle Flush sent %d more", n-2)
	}
}

func TestRunClosesWindows(t *testing.T) {
	clk := newClock(t0)
	g, sink := newGuard(t, httpguard.WithClock(clk.Now))
	get(g.Handler(download(2*mib)), "203.0.113.5:1", "/")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Run(ctx); close(done) }()
	clk.Set(t0.Add(15 * time.Minute))
	deadline := time.Now().Add(5 * time.Second)
	for len(sink.stage("final")) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not close the window")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if st := g.Stats(); st.Windows != 1 || st.Open != 0 {
		t.Errorf("%+v", st)
	}
}

func TestMaxAggregates(t *testing.T) {
	g, _ := newGuard(t, httpguard.WithMaxAggregates(2), httpguard.WithBlock(severity.Low))
	h := g.Handler(download(2 * mib))
	for _, addr := range []string{"203.0.113.1:1", "203.0.113.2:1", "203.0.113.3:1", "203.0.113.3:1"} {
		if w := get(h, addr, "/"); w.Code != 200 {
			t.Errorf("%s: %d", addr, w.Code)
		}
	}
	st := g.Stats()
	if st.Untracked != 2 || st.UntrackedBytes < 4*mib || st.Open != 2 {
		t.Errorf("%+v", st)
	}
}

func TestBadRemoteAddr(t *testing.T) {
	g, _ := newGuard(t)
	h := g.Handler(download(10))
	for _, addr := range []string{"@", "", "not-an-ip:80", "192.0.2.1"} {
		get(h, addr, "/")
	}
	if st := g.Stats(); st.BadRemoteAddr != 3 || st.Requests != 4 {
		t.Errorf("%+v", st)
	}
}

// Through the middleware: a trusted proxy's X-Forwarded-For names the
// client; an untrusted peer's is ignored.
func TestTrustedProxyThroughGuard(t *testing.T) {
	g, sink := newGuard(t, httpguard.WithBlock(severity.Low),
		httpguard.WithTrustedProxies(httpguard.XForwardedFor, netip.MustParsePrefix("10.0.0.0/8")))
	h := g.Handler(download(2 * mib))
	get(h, "10.0.0.2:1", "/", "X-Forwarded-For", "198.51.100.1, 203.0.113.9")
	if w := get(h, "10.0.0.3:1", "/", "X-Forwarded-For", "203.0.113.9"); w.Code != 429 {
		t.Errorf("same client through another proxy: %d", w.Code)
	}
	if w := get(h, "10.0.0.2:1", "/", "X-Forwarded-For", "203.0.113.10"); w.Code != 200 {
		t.Errorf("another client through the same proxy: %d", w.Code)
	}
	if w := get(h, "192.0.2.8:1", "/", "X-Forwarded-For", "203.0.113.9"); w.Code != 200 {
		t.Errorf("untrusted peer claiming the contained address: %d", w.Code)
	}
	g.Flush()
	var got []string
	for _, a := range sink.stage("final") {
		got = append(got, a.DestIP.String()+" cid="+a.CommunityID)
	}
	want := "192.0.2.8 cid= 203.0.113.9 cid= 203.0.113.10 cid="
	if strings.Join(got, " ") != want {
		t.Errorf("final alerts %q, want %q", got, want)
	}
}

func TestOptionErrors(t *testing.T) {
	sink := httpguard.WithSink(exfil.SinkFunc(func(*exfil.Alert) {}))
	if _, err := httpguard.New(); !errors.Is(err, httpguard.ErrNoSink) {
		t.Errorf("no sink: %v", err)
	}
	for name, o := range map[string]httpguard.Option{
		"window 7m":        httpguard.WithWindow(7 * time.Minute),
		"window 0":         httpguard.WithWindow(0),
		"policy":           httpguard.WithPolicy(severity.Policy{}),
		"min none":         httpguard.WithMinSeverity(severity.None),
		"block none":       httpguard.WithBlock(severity.None),
		"nil clock":        httpguard.WithClock(nil),
		"mode":             httpguard.WithMode(7),
		"scope":            httpguard.WithBlockScope(9),
		"proxy header":     httpguard.WithTrustedProxies(5),
		"proxy prefix":     httpguard.WithTrustedProxies(httpguard.Forwarded, netip.Prefix{}),
		"allow prefix":     httpguard.WithAllowlist([]netip.Prefix{{}}, nil),
		"allow empty name": httpguard.WithAllowlist(nil, []string{""}),
		"path depth":       httpguard.WithPathDepth(-1),
		"max aggregates":   httpguard.WithMaxAggregates(0),
		"nil option":       nil,
	} {
		if _, err := httpguard.New(sink, o); err == nil || !strings.Contains(err.Error(), "httpguard") && !errors.Is(err, severity.ErrInvalidPolicy) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if m, err := httpguard.ParseMode("egress"); err != nil || m != httpguard.Egress || m.String() != "egress" {
		t.Errorf("ParseMode: %v %v", m, err)
	}
	if _, err := httpguard.ParseMode("both"); err == nil {
		t.Error("ParseMode accepted both")
	}
}

// The guard adds nothing to a request but its counting body, and gives the
// request back as it came.
func TestRequestRestored(t *testing.T) {
	g, _ := newGuard(t)
	r := httptest.NewRequest("POST", "/", strings.NewReader("abc"))
	body := r.Body
	g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == body {
			t.Error("body not wrapped")
		}
	})).ServeHTTP(newRecorder(), r)
	if r.Body != body {
		t.Error("body not restored")
	}
}

// A download that spans a window boundary is split at it: the bytes
// written before the turn are in the closed window's final alert, the rest
// in the next window.
func TestWindowSplitsLongTransfer(t *testing.T) {
	clk := newClock(t0.Add(14 * time.Minute))
	g, sink := newGuard(t, httpguard.WithClock(clk.Now), httpguard.WithEarlyAlerts(false))
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(make([]byte, 3*mib))
		clk.Advance(2 * time.Minute) // the window ends mid-transfer
		w.Write(make([]byte, 5*mib))
	}))
	get(h, "203.0.113.5:1", "/")
	first := sink.stage("final")
	if len(first) != 1 || first[0].TotalUploadBytes < 3*mib || first[0].TotalUploadBytes > 3*mib+200 ||
		!first[0].WindowEnd.Equal(t0.Add(15*time.Minute)) {
		t.Fatalf("first window: %+v", first)
	}
	g.Flush()
	all := sink.stage("final")
	if len(all) != 2 || all[1].TotalUploadBytes != 5*mib || !all[1].WindowStart.Equal(t0.Add(15*time.Minute)) ||
		all[1].FlowCount != 1 || all[1].UniqueFlows != 1 || first[0].FlowCount != 1 {
		t.Fatalf("second window: %+v", all[1:])
	}
	if len(sink.stage("early")) != 0 {
		t.Error("early alerts with WithEarlyAlerts(false)")
	}
}
