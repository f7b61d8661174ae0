package httpguard_test

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
)

// t0 is the start of a window (15-minute windows).
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func newClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Set(t time.Time)         { c.ns.Store(t.UnixNano()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// collector is a Sink keeping every alert.
type collector struct {
	mu     sync.Mutex
	alerts []*exfil.Alert
}

func (c *collector) Alert(a *exfil.Alert) {
	c.mu.Lock()
	c.alerts = append(c.alerts, a)
	c.mu.Unlock()
}

func (c *collector) all() []*exfil.Alert {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*exfil.Alert(nil), c.alerts...)
}

func (c *collector) stage(s string) []*exfil.Alert {
	var out []*exfil.Alert
	for _, a := range c.all() {
		if a.Stage == s {
			out = append(out, a)
		}
	}
	return out
}

func newGuard(t testing.TB, opts ...httpguard.Option) (*httpguard.Guard, *collector) {
	t.Helper()
	c := &collector{}
	g, err := httpguard.New(append([]httpguard.Option{httpguard.WithSink(c)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return g, c
}

// countingListener counts the bytes every accepted connection reads and
// writes: the wire, as the server sees it (HTTP/1.1 over TCP, no TLS).
type countingListener struct {
	net.Listener
	read, written atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, l: l}, nil
}

type countingConn struct {
	net.Conn
	l *countingListener
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.l.written.Add(int64(n))
	return n, err
}

// wireServer serves h behind guard g on a counting loopback listener. done
// receives once per request, after the guard finished with it (even when
// the handler was aborted).
type wireServer struct {
	*httptest.Server
	wire *countingListener
	done chan struct{}

	mu     sync.Mutex
	active map[net.Conn]bool // connections serving a request
}

func newWireServer(t testing.TB, g *httpguard.Guard, h http.Handler) *wireServer {
	t.Helper()
	ws := &wireServer{done: make(chan struct{}, 1024), active: make(map[net.Conn]bool)}
	guarded := g.Handler(h)
	ws.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ws.done <- struct{}{} }()
		guarded.ServeHTTP(w, r)
	}))
	ws.Server.Config.ConnState = func(c net.Conn, s http.ConnState) {
		ws.mu.Lock()
		ws.active[c] = s == http.StateActive
		ws.mu.Unlock()
	}
	ws.wire = &countingListener{Listener: ws.Server.Listener}
	ws.Server.Listener = ws.wire
	ws.Start()
	t.Cleanup(ws.Close)
	return ws
}

// wait waits until a request finished and net/http wrote all of its
// response (no connection is active any more).
func (ws *wireServer) wait(t testing.TB) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	select {
	case <-ws.done:
	case <-deadline:
		t.Fatal("request did not finish")
	}
	for {
		ws.mu.Lock()
		busy := 0
		for _, a := range ws.active {
			if a {
				busy++
			}
		}
		ws.mu.Unlock()
		if busy == 0 {
			return
		}
		select {
		case <-deadline:
			t.Fatal("connection still active")
		case <-time.After(time.Millisecond):
		}
	}
}

// dial opens a raw connection to the server.
func (ws *wireServer) dial(t testing.TB) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", ws.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// recordingReader keeps every byte read through it.
type recordingReader struct {
	r   io.Reader
	buf []byte
}

func (r *recordingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.buf = append(r.buf, p[:n]...)
	return n, err
}

// readResponse reads one response from br (recording the raw bytes) and its
// whole body; it returns the raw bytes consumed, the decoded body and the
// response.
func readResponse(t testing.TB, conn net.Conn, method string) (raw []byte, body []byte, resp *http.Response) {
	t.Helper()
	rec := &recordingReader{r: conn}
	br := bufio.NewReaderSize(rec, 1) // one byte at a time: nothing read ahead
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatal(err)
	}
	body, err = io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return rec.buf[:len(rec.buf)-br.Buffered()], body, resp
}

func newPlainServer(t testing.TB, h http.Handler) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// mustRequest is a server-side request from 192.0.2.1:1234 (httptest).
func mustRequest(t testing.TB, method, target string) *http.Request {
	t.Helper()
	return httptest.NewRequest(method, target, nil)
}

func httptestRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
