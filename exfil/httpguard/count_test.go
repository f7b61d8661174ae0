package httpguard_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil/httpguard"
)

// fixedHeaders sets the fields net/http would otherwise add itself, so that
// the guard's count is the exact wire size (see the package documentation).
func fixedHeaders(w http.ResponseWriter, contentLength int) {
	h := w.Header()
	h.Set("Date", "Mon, 02 Mar 2026 10:00:00 GMT")
	h.Set("Content-Type", "application/octet-stream")
	if contentLength >= 0 {
		h.Set("Content-Length", strconv.Itoa(contentLength))
	}
}

func payload(n int, seed uint64) []byte {
	var s [32]byte
	s[0] = byte(seed)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// checkWire asserts the serving guard counted exactly the wire's bytes:
// upload = written, download = read, minus what the test knows net/http
// added on its own (extraWritten).
func checkWire(t *testing.T, g *httpguard.Guard, ws *wireServer, extraWritten int64) {
	t.Helper()
	st := g.Stats()
	if got, want := int64(st.UploadBytes), ws.wire.written.Load()-extraWritten; got != want {
		t.Errorf("upload (response bytes) = %d, want %d (wire %d - %d added by net/http)", got, want, ws.wire.written.Load(), extraWritten)
	}
	if got, want := int64(st.DownloadBytes), ws.wire.read.Load(); got != want {
		t.Errorf("download (request bytes) = %d, want %d (wire)", got, want)
	}
}

func TestCountContentLength(t *testing.T) {
	g, _ := newGuard(t)
	data := payload(300_000, 1)
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixedHeaders(w, len(data))
		w.Write(data[:1000])
		io.Copy(w, bytes.NewReader(data[1000:])) // bytes.Reader.WriteTo -> Write
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET /file?x=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: wire-test/1\r\nAccept: */*\r\n\r\n")
	_, body, _ := readResponse(t, c, "GET")
	ws.wait(t)
	if !bytes.Equal(body, data) {
		t.Fatal("body differs")
	}
	checkWire(t, g, ws, 0)
}

func TestCountChunked(t *testing.T) {
	g, _ := newGuard(t)
	data := payload(100_000, 2)
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixedHeaders(w, -1)
		for i := 0; i < len(data); i += 7000 {
			w.Write(data[i:min(i+7000, len(data))])
			w.(http.Flusher).Flush()
		}
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: example.test\r\n\r\n")
	raw, body, resp := readResponse(t, c, "GET")
	ws.wait(t)
	if !bytes.Equal(body, data) || resp.TransferEncoding[0] != "chunked" {
		t.Fatalf("body differs or not chunked: %v", resp.TransferEncoding)
	}
	// What net/http added: the Transfer-Encoding line and the chunk framing.
	headEnd := bytes.Index(raw, []byte("\r\n\r\n")) + 4
	framing := len(raw) - headEnd - len(data)
	checkWire(t, g, ws, int64(len("Transfer-Encoding: chunked\r\n")+framing))
}

func TestCountCompressedInTransit(t *testing.T) {
	g, _ := newGuard(t)
	plain := bytes.Repeat([]byte("exfiltrate me please "), 20000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain)
	zw.Close()
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixedHeaders(w, gz.Len())
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(gz.Bytes())
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET /big.txt HTTP/1.1\r\nHost: example.test\r\nAccept-Encoding: gzip\r\n\r\n")
	_, body, _ := readResponse(t, c, "GET")
	ws.wait(t)
	if !bytes.Equal(body, gz.Bytes()) {
		t.Fatal("compressed body differs")
	}
	checkWire(t, g, ws, 0)
	if st := g.Stats(); st.UploadBytes > uint64(gz.Len())+1000 {
		t.Errorf("counted %d bytes: the uncompressed size (%d), not the wire's", st.UploadBytes, len(plain))
	}
}

// A compressing handler inside the guard: the guard counts what leaves,
// compressed.
func TestCountGzipHandlerInside(t *testing.T) {
	g, _ := newGuard(t)
	plain := []byte(fmt.Sprintf("%x", payload(100_000, 9))) // compresses to about half: chunked
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixedHeaders(w, -1)
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		zw.Write(plain)
		zw.Close()
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
	raw, body, _ := readResponse(t, c, "GET")
	ws.wait(t)
	headEnd := bytes.Index(raw, []byte("\r\n\r\n")) + 4
	framing := len(raw) - headEnd - len(body)
	checkWire(t, g, ws, int64(len("Transfer-Encoding: chunked\r\n")+framing))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(zr); !bytes.Equal(got, plain) {
		t.Fatal("gzip body differs")
	}
}

// A streamed response is counted as it goes: while the handler waits in
// the middle, the guard has counted what it sent and raised the early
// alert.
func TestCountStreamedAsItGoes(t *testing.T) {
	g, sink := newGuard(t)
	first := payload(3<<20, 3)
	sent, release := make(chan struct{}), make(chan struct{})
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixedHeaders(w, 2*len(first))
		w.Write(first)
		w.(http.Flusher).Flush()
		close(sent)
		<-release
		w.Write(first)
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET /stream HTTP/1.1\r\nHost: example.test\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, len(first))); err != nil {
		t.Fatal(err)
	}
	<-sent
	if st := g.Stats(); st.UploadBytes < uint64(len(first)) {
		t.Errorf("mid-stream: counted %d, want >= %d", st.UploadBytes, len(first))
	}
	if early := sink.stage("early"); len(early) != 1 || early[0].Severity.String() != "low" {
		t.Errorf("mid-stream: early alerts %v, want one low", early)
	}
	close(release)
	io.Copy(io.Discard, resp.Body)
	ws.wait(t)
	checkWire(t, g, ws, 0)
}

// An aborted download: the guard counts what net/http accepted from the
// handler, which is at least what the client received.
func TestCountAborted(t *testing.T) {
	g, _ := newGuard(t)
	chunk := payload(64<<10, 4)
	var accepted int64
	var writeErr error
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixedHeaders(w, 1<<30)
		for {
			n, err := w.Write(chunk)
			accepted += int64(n)
			if err != nil {
				writeErr = err
				return
			}
		}
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET /huge HTTP/1.1\r\nHost: example.test\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadFull(resp.Body, make([]byte, 1<<20))
	c.Close()
	ws.wait(t)
	if writeErr == nil {
		t.Fatal("handler saw no write error")
	}
	head := responseHead(t, http.StatusOK, http.Header{"Date": {"Mon, 02 Mar 2026 10:00:00 GMT"},
		"Content-Type": {"application/octet-stream"}, "Content-Length": {strconv.Itoa(1 << 30)}})
	st := g.Stats()
	if want := uint64(head) + uint64(accepted); st.UploadBytes != want {
		t.Errorf("upload = %d, want head %d + accepted %d = %d", st.UploadBytes, head, accepted, want)
	}
	if st.UploadBytes < uint64(got) || st.UploadBytes > uint64(ws.wire.written.Load())+uint64(len(chunk)) {
		t.Errorf("upload %d outside [received %d, wire %d + one write]", st.UploadBytes, got, ws.wire.written.Load())
	}
}

// responseHead renders a status line and header block as net/http does.
func responseHead(t testing.TB, code int, h http.Header) int {
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.1 %03d %s\r\n", code, http.StatusText(code))
	if err := h.Write(&b); err != nil {
		t.Fatal(err)
	}
	b.WriteString("\r\n")
	return b.Len()
}

func TestCountHEAD(t *testing.T) {
	g, _ := newGuard(t)
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fixedHeaders(w, 5000)
		w.Write(make([]byte, 5000)) // net/http discards it for HEAD
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "HEAD /file HTTP/1.1\r\nHost: example.test\r\n\r\n")
	readResponse(t, c, "HEAD")
	ws.wait(t)
	checkWire(t, g, ws, 0)
}

func TestCount100Continue(t *testing.T) {
	g, _ := newGuard(t)
	upload := payload(200_000, 5)
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		msg := "got " + strconv.FormatInt(n, 10)
		fixedHeaders(w, len(msg))
		io.WriteString(w, msg)
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "PUT /upload HTTP/1.1\r\nHost: example.test\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", len(upload))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("interim response %q, %v", line, err)
	}
	if l, _ := br.ReadString('\n'); l != "\r\n" {
		t.Fatalf("interim response end %q", l)
	}
	c.Write(upload)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	ws.wait(t)
	if string(body) != "got 200000" {
		t.Fatalf("body %q", body)
	}
	checkWire(t, g, ws, 0)
}

func TestCount103EarlyHints(t *testing.T) {
	g, _ := newGuard(t)
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Add("Link", "</app.js>; rel=preload; as=script")
		w.WriteHeader(http.StatusEarlyHints)
		fixedHeaders(w, 2)
		w.Write([]byte("ok"))
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: example.test\r\n\r\n")
	br := bufio.NewReader(c)
	var hints []string
	resp, err := http.ReadResponse(br, nil)
	for ; err == nil && resp.StatusCode == http.StatusEarlyHints; resp, err = http.ReadResponse(br, nil) {
		hints = append(hints, strings.Join(resp.Header["Link"], ", "))
	}
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(resp.Body)
	if len(hints) != 2 {
		t.Errorf("early hints %q", hints)
	}
	ws.wait(t)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	checkWire(t, g, ws, 0)
}

// A websocket-like echo over a hijacked connection is counted both ways,
// including bytes the client sent ahead of the upgrade response.
func TestCountHijackedEcho(t *testing.T) {
	g, _ := newGuard(t)
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(http.Hijacker); !ok {
			t.Error("the guard's writer hides http.Hijacker on HTTP/1")
			return
		}
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		buf := make([]byte, 1000)
		for {
			n, err := brw.Read(buf)
			if n > 0 {
				if _, werr := conn.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}))
	c := ws.dial(t)
	msg := payload(50_000, 6)
	// The first message travels with the upgrade request: net/http's reader
	// may buffer part of it.
	fmt.Fprintf(c, "GET /echo HTTP/1.1\r\nHost: example.test\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n%s", msg[:300])
	br := bufio.NewReader(c)
	line, _ := br.ReadString('\n')
	if !strings.HasPrefix(line, "HTTP/1.1 101") {
		t.Fatalf("status line %q", line)
	}
	for l := ""; l != "\r\n"; l, _ = br.ReadString('\n') {
	}
	go func() {
		c.Write(msg[300:])
		c.(interface{ CloseWrite() error }).CloseWrite()
	}()
	echo, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	ws.wait(t)
	if !bytes.Equal(echo, msg) {
		t.Fatalf("echo of %d bytes, want %d", len(echo), len(msg))
	}
	checkWire(t, g, ws, 0)
	if st := g.Stats(); st.Hijacked != 1 {
		t.Errorf("hijacked = %d", st.Hijacked)
	}
}

// http.FileServer copies files with ReadFrom (sendfile): counted exactly,
// apart from the Date field net/http adds.
func TestCountFileServerReadFrom(t *testing.T) {
	g, _ := newGuard(t)
	dir := t.TempDir()
	data := payload(1<<20+12345, 7)
	if err := os.WriteFile(filepath.Join(dir, "export.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	readFrom := false
	fs := http.FileServer(http.Dir(dir))
	ws := newWireServer(t, g, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, readFrom = w.(io.ReaderFrom)
		fs.ServeHTTP(w, r)
	}))
	c := ws.dial(t)
	fmt.Fprintf(c, "GET /export.bin HTTP/1.1\r\nHost: example.test\r\n\r\n")
	_, body, _ := readResponse(t, c, "GET")
	ws.wait(t)
	if !readFrom || !bytes.Equal(body, data) {
		t.Fatalf("ReaderFrom %v, body equal %v", readFrom, bytes.Equal(body, data))
	}
	checkWire(t, g, ws, int64(len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n")))
}

// Egress: a reverse proxy behind the guard; the request (head and a
// gzip-encoded body, counted compressed) is the upload.
func TestCountEgressProxy(t *testing.T) {
	backend := newPlainServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fixedHeaders(w, -1)
		fmt.Fprintf(w, "stored %d bytes", n)
	}))
	g, sink := newGuard(t, httpguard.WithMode(httpguard.Egress),
		httpguard.WithDestination(func(*http.Request) string { return backend.Listener.Addr().String() }))
	proxy := httputil.NewSingleHostReverseProxy(mustURL(t, backend.URL))
	ws := newWireServer(t, g, proxy)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression) // random bytes would not shrink anyway
	zw.Write(payload(3<<20, 8))
	zw.Close()
	c := ws.dial(t)
	fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: proxy.test\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n", gz.Len())
	c.Write(gz.Bytes())
	raw, body, _ := readResponse(t, c, "POST")
	ws.wait(t)
	if string(body) != fmt.Sprintf("stored %d bytes", gz.Len()) {
		t.Fatalf("body %q", body)
	}
	st := g.Stats()
	if got, want := int64(st.UploadBytes), ws.wire.read.Load(); got != want {
		t.Errorf("upload (request bytes) = %d, want %d", got, want)
	}
	// The proxy copies the backend's head, minus hop-by-hop fields, and
	// net/http frames the body it streams.
	if got := int64(st.DownloadBytes); got > int64(len(raw)) || got < int64(len(raw))-200 {
		t.Errorf("download = %d, wire %d", got, len(raw))
	}
	g.Flush()
	finals := sink.stage("final")
	if len(finals) != 1 {
		t.Fatalf("%d final alerts", len(finals))
	}
	a := finals[0]
	if a.SrcIP.String() != "127.0.0.1" || a.DestIP.String() != "127.0.0.1" || a.HTTP.Mode != "egress" ||
		a.HTTP.Method != "POST" || a.TotalUploadBytes != st.UploadBytes || a.Severity.String() != "low" {
		t.Errorf("alert %+v %+v", a, a.HTTP)
	}
}

func TestWriterInterfaces(t *testing.T) {
	var flushErr, deadlineErr error
	var isFlusher, isHijacker, isReaderFrom bool
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, isFlusher = w.(http.Flusher)
		_, isHijacker = w.(http.Hijacker)
		_, isReaderFrom = w.(io.ReaderFrom)
		rc := http.NewResponseController(w)
		flushErr = rc.Flush()
		deadlineErr = rc.SetWriteDeadline(time.Now().Add(time.Minute))
	})
	// A recorder flushes, cannot hijack and has no deadlines.
	g, _ := newGuard(t)
	g.Handler(inner).ServeHTTP(httptestRecorder(), mustRequest(t, "GET", "/"))
	if !isFlusher || isHijacker || !isReaderFrom || flushErr != nil || !errors.Is(deadlineErr, http.ErrNotSupported) {
		t.Errorf("recorder: flusher %v hijacker %v readerfrom %v flush %v deadline %v",
			isFlusher, isHijacker, isReaderFrom, flushErr, deadlineErr)
	}
	// A server connection does it all.
	g2, _ := newGuard(t)
	ws := newWireServer(t, g2, inner)
	resp, err := http.Get(ws.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ws.wait(t)
	if !isFlusher || !isHijacker || flushErr != nil || deadlineErr != nil {
		t.Errorf("server: flusher %v hijacker %v flush %v deadline %v", isFlusher, isHijacker, flushErr, deadlineErr)
	}
}

// unwrapOnly is an outer middleware's writer that hides Hijack but unwraps.
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

// A hijack found through Unwrap still goes through the guard, so its bytes
// are counted.
func TestHijackThroughUnwrap(t *testing.T) {
	g, _ := newGuard(t)
	guarded := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		conn.Write(make([]byte, 1000))
	}))
	srv := newPlainServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		guarded.ServeHTTP(unwrapOnly{w}, r)
	}))
	resp, err := http.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for g.Stats().UploadBytes < 1000 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if st := g.Stats(); st.UploadBytes != 1000 || st.Hijacked != 1 {
		t.Errorf("upload %d, hijacked %d: want the 1000 bytes written on the hijacked connection", st.UploadBytes, st.Hijacked)
	}
}
