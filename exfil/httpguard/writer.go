package httpguard

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// tx is the state of one request and the http.ResponseWriter the wrapped
// handler sees. It is pooled: nothing may keep it after the request ends
// (net/http forbids using a ResponseWriter after ServeHTTP returns). Bytes
// that may flow later, through the request body or a hijacked connection,
// are counted by objects of their own (body, hconn).
type tx struct {
	g    *Guard
	w    http.ResponseWriter
	ref  ref
	si   int
	body *body
	ev   evidence
	t0   stamp // the request's arrival
	now0 int64 // and in ns: heads are placed at this time

	reqOut      bool // request bytes leave (egress)
	cuttable    bool // containment may cut this exchange
	head        bool // HEAD: net/http eats the body
	wroteHeader bool
	hijacked    bool
	cutDone     bool // a write was refused: the response is cut

	reqBytes, respBytes uint64
	lr                  io.LimitedReader
}

// txHijack is a tx whose ResponseWriter is an http.Hijacker: the handler
// gets it when the server's writer (or one it unwraps to) is one, as for
// HTTP/1, so that w.(http.Hijacker) answers as it would without the guard.
type txHijack struct{ tx }

// Header returns the wrapped writer's header map.
func (t *tx) Header() http.Header { return t.w.Header() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (t *tx) Unwrap() http.ResponseWriter { return t.w }

// countResp accounts n response bytes at time now.
func (t *tx) countResp(n uint64, now int64) {
	out, in := n, uint64(0)
	if t.reqOut {
		out, in = 0, n
	}
	t.g.account(&t.ref, t.si, now, out, in, nil)
}

// countHeader accounts the final response head.
func (t *tx) countHeader(code int) {
	t.wroteHeader = true
	if t.body != nil {
		t.body.respStarted.Store(true)
	}
	n := responseHeadSize(code, t.w.Header())
	t.respBytes += n
	t.countResp(n, t.now0)
}

// WriteHeader writes and counts a response head; 1xx heads (103 Early
// Hints, an explicit 100 Continue) are counted each time.
func (t *tx) WriteHeader(code int) {
	t.w.WriteHeader(code)
	if t.wroteHeader || t.hijacked {
		return // net/http ignores it too
	}
	if code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols {
		if code == http.StatusContinue && t.body != nil {
			t.body.respStarted.Store(true) // no automatic 100 Continue after this one
		}
		n := responseHeadSize(code, t.w.Header())
		t.respBytes += n
		t.countResp(n, t.now0)
		return
	}
	t.countHeader(code)
}

// beforeBody refuses a response write once containment cut the exchange.
func (t *tx) beforeBody() error {
	if t.cutDone {
		return ErrContained
	}
	if t.cuttable && !t.reqOut && t.g.isBlocked(t.ref.a.Load()) {
		t.cutDone = true
		t.g.cutTransfer(&t.ref, "response")
		return ErrContained
	}
	if !t.wroteHeader && !t.hijacked {
		t.countHeader(http.StatusOK)
	}
	return nil
}

// afterBody accounts n body bytes net/http accepted.
func (t *tx) afterBody(n int) {
	if n > 0 && !t.head {
		t.respBytes += uint64(n)
		t.countResp(uint64(n), t.g.since(&t.t0))
	}
}

// Write counts p as it goes to the wrapped writer. Once containment cut
// the response it writes nothing and returns ErrContained.
func (t *tx) Write(p []byte) (int, error) {
	if err := t.beforeBody(); err != nil {
		return 0, err
	}
	n, err := t.w.Write(p)
	t.afterBody(n)
	return n, err
}

// WriteString is Write for a string, without a copy when the wrapped
// writer has WriteString.
func (t *tx) WriteString(s string) (int, error) {
	if err := t.beforeBody(); err != nil {
		return 0, err
	}
	n, err := io.WriteString(t.w, s)
	t.afterBody(n)
	return n, err
}

// FlushError flushes the wrapped writer (http.ResponseController
// conventions: http.ErrNotSupported when it cannot).
func (t *tx) FlushError() error {
	err := http.NewResponseController(t.w).Flush()
	if err == nil && !t.wroteHeader && !t.hijacked {
		t.countHeader(http.StatusOK) // a flush writes the head
	}
	return err
}

// Flush implements http.Flusher.
func (t *tx) Flush() { _ = t.FlushError() }

// readFromStep is how much ReadFrom hands the wrapped writer's ReadFrom at
// a time: sendfile and splice keep working, and counting, early alerts and
// containment act at this granularity.
const readFromStep = 256 << 10

// ReadFrom copies src to the response, through the wrapped writer's
// ReadFrom (sendfile from files) in steps of 256 KiB, counting each.
func (t *tx) ReadFrom(src io.Reader) (int64, error) {
	rf, ok := t.w.(io.ReaderFrom)
	if !ok {
		return t.copyFrom(src)
	}
	var total int64
	for {
		if t.cutDone {
			return total, ErrContained
		}
		if t.cuttable && !t.reqOut && t.g.isBlocked(t.ref.a.Load()) {
			t.cutDone = true
			t.g.cutTransfer(&t.ref, "response")
			return total, ErrContained
		}
		t.lr = io.LimitedReader{R: src, N: readFromStep}
		n, err := rf.ReadFrom(&t.lr)
		left := t.lr.N
		t.lr = io.LimitedReader{}
		if n > 0 && !t.wroteHeader && !t.hijacked {
			t.countHeader(http.StatusOK)
		}
		total += n
		t.afterBody(int(n))
		if err != nil || left > 0 {
			return total, err
		}
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// copyFrom is ReadFrom through Write, for writers without ReadFrom.
func (t *tx) copyFrom(src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	var total int64
	for {
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := t.Write(buf[:nr])
			total += int64(nw)
			if werr != nil {
				return total, werr
			}
			if nw < nr {
				return total, io.ErrShortWrite
			}
		}
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, rerr
		}
	}
}

// Hijack takes over the connection (websockets, CONNECT tunnels). The
// connection and the buffered reader and writer it returns count every
// byte both ways, for as long as they are used, even after the handler
// returns; containment closes the connection when it cuts it.
func (th *txHijack) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	t := &th.tx
	conn, brw, err := http.NewResponseController(t.w).Hijack()
	if err != nil {
		return nil, nil, err
	}
	t.hijacked = true
	t.g.hijacked.Add(1)
	hc := &hconn{Conn: conn, g: t.g, si: t.si, t0: t.t0, readOut: t.reqOut, cuttable: t.cuttable}
	hc.ref.a.Store(t.ref.a.Load())
	hc.ref.conn = t.ref.conn
	rw := bufio.NewReadWriter(bufio.NewReader(&hreader{r: brw.Reader, c: hc}), bufio.NewWriter(hc))
	return hc, rw, nil
}

// cutTransfer counts, notes and logs a transfer cut by containment.
func (g *Guard) cutTransfer(r *ref, what string) {
	g.cut.Add(1)
	g.note(r, false)
	if a := r.a.Load(); a != nil {
		g.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, "httpguard: transfer cut",
			slog.String("principal", a.key.p.String()), slog.String("destination", a.key.destString()),
			slog.String("transfer", what), slog.String("severity", g.blockLevel(a).String()))
	}
}

// body counts a request body as the handler reads it. It is allocated per
// request with a body (not pooled) because readers such as a reverse
// proxy's transport may still read or close it after the handler returned.
type body struct {
	rc       io.ReadCloser
	g        *Guard
	ref      ref
	si       int
	t0       stamp
	reqOut   bool
	cuttable bool
	expect   bool // reader goroutine only

	respStarted atomic.Bool // the response head went out: no automatic 100 Continue
	continued   atomic.Bool // an automatic 100 Continue was counted
	cut         atomic.Bool
	n           atomic.Uint64
}

// Read counts what it reads. In egress mode, once containment applies it
// reads nothing more and returns ErrContained.
func (b *body) Read(p []byte) (int, error) {
	if b.expect {
		b.expect = false
		if !b.respStarted.Load() { // net/http sends 100 Continue now
			b.continued.Store(true)
			b.count(uint64(continueSize), !b.reqOut)
		}
	}
	if b.cut.Load() {
		return 0, ErrContained
	}
	if b.reqOut && b.cuttable && b.g.isBlocked(b.ref.a.Load()) {
		if b.cut.CompareAndSwap(false, true) {
			b.g.cutTransfer(&b.ref, "request body")
		}
		return 0, ErrContained
	}
	n, err := b.rc.Read(p)
	if n > 0 {
		b.n.Add(uint64(n))
		b.count(uint64(n), b.reqOut)
	}
	return n, err
}

func (b *body) count(n uint64, leaving bool) {
	if leaving {
		b.g.account(&b.ref, b.si, b.g.since(&b.t0), n, 0, nil)
	} else {
		b.g.account(&b.ref, b.si, b.g.since(&b.t0), 0, n, nil)
	}
}

// Close closes the underlying body.
func (b *body) Close() error { return b.rc.Close() }

// hconn is a hijacked connection that counts its bytes: what it reads came
// from the client (leaving in egress mode), what it writes goes to the
// client (leaving in serving mode).
type hconn struct {
	net.Conn
	g        *Guard
	ref      ref
	si       int
	t0       stamp
	readOut  bool
	cuttable bool
	cut      atomic.Bool
}

// check refuses an operation on a cut connection, and cuts it when the
// operation moves bytes out and containment applies.
func (c *hconn) check(leaving bool) error {
	if c.cut.Load() {
		return ErrContained
	}
	if leaving && c.cuttable && c.g.isBlocked(c.ref.a.Load()) {
		if c.cut.CompareAndSwap(false, true) {
			c.g.cutTransfer(&c.ref, "hijacked connection")
			c.Conn.Close()
		}
		return ErrContained
	}
	return nil
}

func (c *hconn) count(n int, leaving bool) {
	if n <= 0 {
		return
	}
	if leaving {
		c.g.account(&c.ref, c.si, c.g.since(&c.t0), uint64(n), 0, nil)
	} else {
		c.g.account(&c.ref, c.si, c.g.since(&c.t0), 0, uint64(n), nil)
	}
}

// Read reads from the client, counting.
func (c *hconn) Read(p []byte) (int, error) {
	if err := c.check(c.readOut); err != nil {
		return 0, err
	}
	n, err := c.Conn.Read(p)
	c.count(n, c.readOut)
	return n, err
}

// Write writes to the client, counting.
func (c *hconn) Write(p []byte) (int, error) {
	if err := c.check(!c.readOut); err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	c.count(n, !c.readOut)
	return n, err
}

// CloseWrite half-closes the connection when it supports it (TCP), as
// tunnelling proxies do.
func (c *hconn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.New("httpguard: hijacked connection has no CloseWrite")
}

// hreader counts what the handler reads through the hijack's buffered
// reader (which may hold bytes net/http read ahead).
type hreader struct {
	r *bufio.Reader
	c *hconn
}

func (h *hreader) Read(p []byte) (int, error) {
	if err := h.c.check(h.c.readOut); err != nil {
		return 0, err
	}
	n, err := h.r.Read(p)
	h.c.count(n, h.c.readOut)
	return n, err
}
