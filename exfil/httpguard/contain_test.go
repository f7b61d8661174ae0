package httpguard_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/severity"
)

const mib = 1 << 20

// download is a handler that writes n bytes in one Write.
func download(n int) http.Handler {
	data := make([]byte, n)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(data) })
}

// recorder is a ResponseWriter that keeps the status and header and counts
// the body without keeping it.
type recorder struct {
	Code  int
	h     http.Header
	Bytes int
}

func newRecorder() *recorder { return &recorder{h: http.Header{}} }

func (r *recorder) Header() http.Header { return r.h }
func (r *recorder) WriteHeader(code int) {
	if r.Code == 0 {
		r.Code = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(200)
	r.Bytes += len(p)
	return len(p), nil
}

// get sends a GET from addr ("ip:port") straight to h.
func get(h http.Handler, addr, target string, hdr ...string) *recorder {
	r := httptest.NewRequest("GET", target, nil)
	r.RemoteAddr = addr
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := newRecorder()
	h.ServeHTTP(w, r)
	if w.Code == 0 {
		w.Code = 200
	}
	return w
}

// logRecorder keeps log records.
type logRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func newLogger() (*slog.Logger, *logRecorder) {
	lr := &logRecorder{}
	return slog.New(&recordHandler{lr}), lr
}

type recordHandler struct{ l *logRecorder }

func (h *recordHandler) Enabled(_ context.Context, _ slog.Level) bool { return true }
func (h *recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.l.mu.Lock()
	h.l.msgs = append(h.l.msgs, r.Message)
	h.l.mu.Unlock()
	return nil
}
func (h *recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *recordHandler) WithGroup(string) slog.Handler      { return h }

func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, m := range l.msgs {
		if m == msg {
			n++
		}
	}
	return n
}

func TestContainRetryAfterUntilWindowEnd(t *testing.T) {
	clk := newClock(t0.Add(100 * time.Second))
	logger, logs := newLogger()
	g, sink := newGuard(t, httpguard.WithClock(clk.Now), httpguard.WithBlock(severity.Medium), httpguard.WithLogger(logger))
	h := g.Handler(download(4 * mib))
	const alice, bob = "203.0.113.5:40000", "203.0.113.6:40000"

	for i := 0; i < 3; i++ { // 4, 8, 12 MiB: the third reaches high (10 MB at 5:1)
		if w := get(h, alice, "/export"); w.Code != 200 || w.Bytes != 4*mib {
			t.Fatalf("download %d: %d, %d bytes", i, w.Code, w.Bytes)
		}
	}
	w := get(h, alice, "/export")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "800" {
		t.Fatalf("contained: %d Retry-After %q, want 429 800", w.Code, w.Header().Get("Retry-After"))
	}
	if w := get(h, bob, "/export"); w.Code != 200 || w.Bytes != 4*mib {
		t.Fatalf("another client: %d", w.Code)
	}
	clk.Advance(700 * time.Second)
	if w := get(h, alice, "/other"); w.Code != 429 || w.Header().Get("Retry-After") != "100" {
		t.Fatalf("later in the window: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	clk.Set(t0.Add(15*time.Minute - time.Nanosecond))
	if w := get(h, alice, "/"); w.Code != 429 || w.Header().Get("Retry-After") != "1" {
		t.Fatalf("last instant of the window: %d Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	clk.Set(t0.Add(15 * time.Minute))
	if w := get(h, alice, "/export"); w.Code != 200 {
		t.Fatalf("next window: %d", w.Code)
	}
	st := g.Stats()
	if st.Refused != 3 || st.Contained != 1 || st.Cut != 0 || st.Windows != 1 {
		t.Errorf("stats %+v", st)
	}
	if logs.count("httpguard: request refused") != 3 || logs.count("httpguard: contained") != 1 {
		t.Errorf("logs %v", logs.msgs)
	}
	// The closed window's final alert for alice says so.
	var final []string
	for _, a := range sink.stage("final") {
		final = append(final, fmt.Sprintf("%s %s contained=%v blocked=%d", a.Principal, a.Severity, a.HTTP.Contained, a.HTTP.Blocked))
	}
	want := []string{"203.0.113.5 high contained=true blocked=3", "203.0.113.6 low contained=false blocked=0"}
	if strings.Join(final, "; ") != strings.Join(want, "; ") {
		t.Errorf("final alerts\n got %q\nwant %q", final, want)
	}
}

func TestContainAllowlisted(t *testing.T) {
	clk := newClock(t0)
	g, sink := newGuard(t, httpguard.WithClock(clk.Now), httpguard.WithBlock(severity.Low),
		httpguard.WithAllowlist([]netip.Prefix{netip.MustParsePrefix("198.51.100.0/24")}, []string{"backup-job"}),
		httpguard.WithPrincipal(func(r *http.Request) string { return r.Header.Get("X-Api-Key") }))
	h := g.Handler(download(8 * mib))
	for i := 0; i < 20; i++ {
		if w := get(h, "198.51.100.9:5000", "/"); w.Code != 200 || w.Bytes != 8*mib {
			t.Fatalf("allowlisted address, download %d: %d", i, w.Code)
		}
		if w := get(h, "203.0.113.9:5000", "/", "X-Api-Key", "backup-job"); w.Code != 200 {
			t.Fatalf("allowlisted principal, download %d: %d", i, w.Code)
		}
	}
	if w := get(h, "203.0.113.9:5000", "/", "X-Api-Key", "mallory"); w.Code != 200 {
		t.Fatalf("first download: %d", w.Code)
	}
	if w := get(h, "203.0.113.9:5000", "/", "X-Api-Key", "mallory"); w.Code != 429 {
		t.Fatalf("non-allowlisted principal after 8 MiB: %d", w.Code)
	}
	st := g.Stats()
	if st.Refused != 1 || st.ExemptPassed != 38 {
		t.Errorf("refused %d exempt_passed %d", st.Refused, st.ExemptPassed)
	}
	g.Flush()
	for _, a := range sink.stage("final") {
		if a.HTTP.Allowlisted != (a.Principal != "mallory") || (a.HTTP.Contained && a.HTTP.Allowlisted) {
			t.Errorf("%s: allowlisted %v contained %v", a.Principal, a.HTTP.Allowlisted, a.HTTP.Contained)
		}
	}
}

// Serving: a response that crosses the block severity is cut mid-stream:
// the client sees a truncated body, the next request a 429.
func TestContainCutMidStream(t *testing.T) {
	g, sink := newGuard(t, httpguard.WithBlock(severity.Low))
	chunk := make([]byte, 256<<10)
	var writeErr error
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < 64; i++ { // 16 MiB if nothing stops it
			if _, err := w.Write(chunk); err != nil {
				writeErr = err
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	resp, err := http.Get(ws.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	ws.wait(t)
	if err == nil || n >= 16*mib {
		t.Fatalf("read %d bytes, err %v: want a truncated body", n, err)
	}
	if n < mib || n > mib+2*int64(len(chunk)) {
		t.Errorf("cut after %d bytes, want about 1 MiB", n)
	}
	if !errors.Is(writeErr, httpguard.ErrContained) {
		t.Errorf("handler's write error %v", writeErr)
	}
	resp, err = http.Get(ws.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ws.wait(t)
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("after the cut: %d", resp.StatusCode)
	}
	if st := g.Stats(); st.Cut != 1 || st.Refused != 1 {
		t.Errorf("cut %d refused %d", st.Cut, st.Refused)
	}
	g.Flush()
	if f := sink.stage("final"); len(f) != 1 || f[0].HTTP.Cut != 1 || f[0].HTTP.Blocked != 1 || !f[0].HTTP.Contained {
		t.Errorf("final alert %+v", f)
	}
}

// Without a server, the cut is an http.ErrAbortHandler panic from the
// guard's frame after the handler returned.
func TestContainCutPanicsAbortHandler(t *testing.T) {
	g, _ := newGuard(t, httpguard.WithBlock(severity.Low))
	returned := false
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { returned = true }()
		for i := 0; i < 10; i++ {
			if _, err := w.Write(make([]byte, mib)); err != nil {
				return
			}
		}
	}))
	defer func() {
		if v := recover(); v != http.ErrAbortHandler || !returned {
			t.Errorf("panic %v, handler returned %v", v, returned)
		}
	}()
	get(h, "203.0.113.5:1", "/")
	t.Error("no abort")
}

// A handler that finishes its response just as it crosses the level is not
// aborted.
func TestContainCompleteResponseNotAborted(t *testing.T) {
	g, _ := newGuard(t, httpguard.WithBlock(severity.Low))
	h := g.Handler(download(2 * mib))
	if w := get(h, "203.0.113.5:1", "/"); w.Code != 200 || w.Bytes != 2*mib {
		t.Fatalf("%d %d", w.Code, w.Bytes)
	}
	if w := get(h, "203.0.113.5:1", "/"); w.Code != 429 {
		t.Fatalf("%d", w.Code)
	}
}

// Egress: ScopeDestination refuses a principal towards the destination it
// exfiltrated to, not elsewhere; the upload that crosses is cut.
func TestContainEgressScopeDestination(t *testing.T) {
	g, sink := newGuard(t, httpguard.WithMode(httpguard.Egress), httpguard.WithBlock(severity.Low),
		httpguard.WithBlockScope(httpguard.ScopeDestination))
	var readErr error
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readErr = io.Copy(io.Discard, r.Body)
		w.Write([]byte("ok"))
	}))
	post := func(target string, n int) *recorder {
		r := httptest.NewRequest("POST", target, bytes.NewReader(make([]byte, n)))
		r.RemoteAddr = "10.1.2.3:5555"
		w := newRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := post("http://drop.example/upload", 3*mib); w.Code != 200 || !errors.Is(readErr, httpguard.ErrContained) {
		t.Fatalf("crossing upload: %d, read error %v", w.Code, readErr)
	}
	if w := post("http://drop.example/again", 10); w.Code != 429 {
		t.Fatalf("same destination: %d", w.Code)
	}
	if w := post("http://api.example/ok", 10); w.Code != 200 || readErr != nil {
		t.Fatalf("other destination: %d %v", w.Code, readErr)
	}
	g.Flush()
	f := sink.stage("final")
	if len(f) != 1 || f[0].HTTP.Host != "drop.example" || f[0].DestNames.HTTPHost[0] != "drop.example" ||
		f[0].DestPort != 80 || f[0].HTTP.Cut != 1 || f[0].SrcIP.String() != "10.1.2.3" || f[0].TotalUploadBytes > 2*mib {
		t.Fatalf("final alerts %+v", f)
	}
}

func TestContainBlockHandler(t *testing.T) {
	clk := newClock(t0.Add(time.Minute))
	var got httpguard.Block
	g, _ := newGuard(t, httpguard.WithClock(clk.Now), httpguard.WithBlock(severity.Low),
		httpguard.WithBlockHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got, _ = httpguard.BlockFromContext(r.Context())
			w.WriteHeader(http.StatusForbidden)
		})))
	h := g.Handler(download(2 * mib))
	get(h, "203.0.113.5:1", "/")
	w := get(h, "203.0.113.5:1", "/")
	if w.Code != 403 || w.Header().Get("Retry-After") != "840" {
		t.Fatalf("%d %q", w.Code, w.Header().Get("Retry-After"))
	}
	want := httpguard.Block{Principal: "203.0.113.5", Destination: "203.0.113.5", Severity: severity.Low,
		Scope: httpguard.ScopePrincipal, Until: t0.Add(15 * time.Minute)}
	if got != want {
		t.Errorf("block %+v, want %+v", got, want)
	}
}

// A principal named by the key function is contained wherever it comes
// from; the alert names it.
func TestContainKeyPrincipalAcrossAddresses(t *testing.T) {
	g, sink := newGuard(t, httpguard.WithBlock(severity.Medium),
		httpguard.WithPrincipal(func(r *http.Request) string { return r.Header.Get("X-Api-Key") }))
	h := g.Handler(download(6 * mib))
	get(h, "203.0.113.1:1", "/", "X-Api-Key", "k-123")
	get(h, "203.0.113.1:1", "/", "X-Api-Key", "k-123") // 12 MiB from .1: medium
	if w := get(h, "203.0.113.2:1", "/", "X-Api-Key", "k-123"); w.Code != 429 {
		t.Errorf("same key, other address: %d", w.Code)
	}
	if w := get(h, "203.0.113.1:1", "/", "X-Api-Key", "k-456"); w.Code != 200 {
		t.Errorf("other key, same address: %d", w.Code)
	}
	if w := get(h, "203.0.113.1:1", "/"); w.Code != 200 {
		t.Errorf("no key, same address: %d", w.Code)
	}
	g.Flush()
	var got []string
	for _, a := range sink.stage("final") {
		got = append(got, a.Principal+"@"+a.DestIP.String())
	}
	want := "203.0.113.1@203.0.113.1 k-123@203.0.113.1 k-123@203.0.113.2 k-456@203.0.113.1"
	if strings.Join(got, " ") != want {
		t.Errorf("final alerts %q, want %q", got, want)
	}
}

// A hijacked connection is closed when containment cuts it.
func TestContainHijackedCut(t *testing.T) {
	g, _ := newGuard(t, httpguard.WithBlock(severity.Low))
	var writeErr error
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: stream\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		for i := 0; i < 100; i++ {
			if _, err := conn.Write(make([]byte, 64<<10)); err != nil {
				writeErr = err
				return
			}
		}
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: stream\r\nConnection: Upgrade\r\n\r\n")
	n, _ := io.Copy(io.Discard, c)
	ws.wait(t)
	if !errors.Is(writeErr, httpguard.ErrContained) || n > 2*mib {
		t.Fatalf("read %d, handler error %v", n, writeErr)
	}
	if st := g.Stats(); st.Cut != 1 {
		t.Errorf("cut %d", st.Cut)
	}
}
