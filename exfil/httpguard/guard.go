package httpguard

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/maphash"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exfilscore/exfilscore/internal/communityid"
	"github.com/exfilscore/exfilscore/internal/uniq"
	"github.com/exfilscore/exfilscore/severity"
)

// ErrContained is returned by the writes (serving) or body reads (egress)
// of a transfer that containment cut, and by the reads and writes of a cut
// hijacked connection.
var ErrContained = errors.New("httpguard: transfer cut by containment")

// Guard is net/http middleware that scores the bytes each principal moves
// across the trust boundary, per window, on the severity ladder of the flow
// path, sends alerts to a sink and, optionally, contains principals that
// reach a chosen severity. Build it with New and wrap handlers with Handler
// (or Middleware).
//
// A Guard is safe for concurrent use: its request path takes one of 64
// shard locks (by principal) and the lock of the request's aggregate, never
// a global lock. It must not be copied. It starts no goroutine: windows
// close when a request, Advance or Run finds them past their end, and Flush
// reports every open window (shutdown).
type Guard struct {
	_    noCopy
	cfg  config
	cid  communityid.Hasher
	seed maphash.Seed

	cur    atomic.Pointer[gen]
	rotMu  sync.Mutex // serialises window closes and Flush
	sinkMu sync.Mutex // one Sink call at a time
	pool   sync.Pool  // *txHijack

	ctr [nShards]shardCounters

	refused, cut, contained, hijacked, exemptPassed atomic.Uint64
	untracked, untrackedBytes                       atomic.Uint64
	badRemote, badForwarded                         atomic.Uint64
	alerts, early, scored, belowMin, windows        atomic.Uint64
	bySeverity                                      [5]atomic.Uint64
}

// shardCounters are the hot counters of one shard, on their own cache line.
type shardCounters struct {
	requests, out, in atomic.Uint64
	_                 [40]byte
}

type noCopy struct{}

func (*noCopy) Lock()   {}
func (*noCopy) Unlock() {}

// New builds a Guard. WithSink is required.
func New(opts ...Option) (*Guard, error) {
	c := defaultConfig()
	for _, o := range opts {
		if o == nil {
			return nil, errors.New("httpguard: nil option")
		}
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if c.sink == nil {
		return nil, ErrNoSink
	}
	g := &Guard{cfg: c, cid: communityid.New(c.cidSeed), seed: maphash.MakeSeed()}
	g.pool.New = func() any { return new(txHijack) }
	g.cur.Store(g.newGen(g.now()))
	return g, nil
}

// Mode returns the guard's direction.
func (g *Guard) Mode() Mode { return g.cfg.mode }

// Handler wraps next: every request through it is counted, scored and,
// with WithBlock, subject to containment.
func (g *Guard) Handler(next http.Handler) http.Handler { return &handler{g: g, next: next} }

// Middleware returns Handler as the func(http.Handler) http.Handler that
// routers' Use methods take.
func (g *Guard) Middleware() func(http.Handler) http.Handler { return g.Handler }

type handler struct {
	g    *Guard
	next http.Handler
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.g.serve(h.next, w, r) }

// serve is the request path.
func (g *Guard) serve(next http.Handler, w http.ResponseWriter, r *http.Request) {
	c := &g.cfg
	th := g.pool.Get().(*txHijack)
	t := &th.tx
	t.g, t.w, t.head = g, w, r.Method == http.MethodHead
	st0, now := g.stampNow()
	t.t0, t.now0 = st0, now

	// Who and where.
	peer, peerPort, ok := parseRemote(r.RemoteAddr)
	if !ok {
		g.badRemote.Add(1)
	}
	client, forwarded, bad := c.clientAddr(r, peer)
	if bad {
		g.badForwarded.Add(1)
	}
	var k aggKey
	if c.principalFn != nil {
		k.p.name = c.principalFn(r)
	}
	if k.p.name == "" {
		k.p.addr = client
	}
	k.proto = 6
	if r.ProtoMajor == 3 {
		k.proto = 17
	}
	local := localAddr(r)
	ev := &t.ev
	*ev = evidence{method: r.Method, ua: firstValue(r.Header["User-Agent"]),
		client: netip.AddrPortFrom(peer, peerPort), server: local}
	if r.URL != nil {
		ev.path = pathPrefix(r.URL.Path, c.pathDepth)
	}
	if c.mode == Serving {
		k.src, k.dst = local.Addr(), client
		ev.host = r.Host
		ev.cidOK = ok && !forwarded && local.IsValid()
	} else {
		ev.host, k.host, k.dst, k.port = c.destination(r)
		k.src = client
		t.reqOut = true
	}

	// Count the request head, find out whether it is refused.
	si := g.shardOf(&k.p)
	t.si = si
	g.ctr[si].requests.Add(1)
	a := g.lookup(&k, si, now)
	if a == nil {
		g.untracked.Add(1)
	}
	t.ref.a.Store(a)
	t.reqBytes = requestHeadSize(r)
	out, in := t.reqBytes, uint64(0)
	if !t.reqOut {
		out, in = 0, t.reqBytes
	}
	t.ref.conn = connHash(ev.client, ev.server)
	st := start{ev: ev}
	blocked := g.account(&t.ref, si, now, out, in, &st)
	if a = t.ref.a.Load(); a != nil && a.allow && c.block != severity.None && g.blockLevelOf(a) >= c.block {
		g.exemptPassed.Add(1)
	}
	t.cuttable = c.block != severity.None && a != nil && !a.allow

	var rw http.ResponseWriter = t
	if canHijack(w) {
		rw = th
	}
	returned := false
	defer g.end(th, r, &returned)
	if blocked {
		g.refuse(t, rw, r, now)
	} else {
		if r.Body != nil && r.Body != http.NoBody {
			b := &body{rc: r.Body, g: g, si: si, t0: st0, reqOut: t.reqOut, cuttable: t.cuttable, expect: expectsContinue(r)}
			b.ref.a.Store(t.ref.a.Load())
			b.ref.conn = t.ref.conn
			t.body = b
			r.Body = b
		}
		next.ServeHTTP(rw, r)
	}
	returned = true
}

// canHijack reports whether w, or a writer it unwraps to, is an
// http.Hijacker: then the handler gets a writer that hijacks through the
// guard, never past it (http.ResponseController would find the inner one
// through Unwrap).
func canHijack(w http.ResponseWriter) bool {
	for {
		if _, ok := w.(http.Hijacker); ok {
			return true
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
}

// blockLevelOf is the level a's bytes reached, for the exempt counter.
func (g *Guard) blockLevelOf(a *agg) severity.Level {
	a.mu.Lock()
	up, down := a.up, a.down
	a.mu.Unlock()
	l, _ := severity.Evaluate(&g.cfg.policy, up, down)
	return l
}

// end closes the books of a request (also when its handler panicked) and
// aborts a response that containment cut.
func (g *Guard) end(th *txHijack, r *http.Request, returned *bool) {
	t := &th.tx
	if b := t.body; b != nil {
		r.Body = b.rc
		t.reqBytes += b.n.Load()
		if b.continued.Load() {
			t.respBytes += uint64(continueSize)
		}
	}
	if *returned && !t.wroteHeader && !t.hijacked && !t.cutDone {
		t.countHeader(http.StatusOK) // net/http writes it when the handler returns
	}
	t.ev.out = t.respBytes
	if t.reqOut {
		t.ev.out = t.reqBytes
	}
	g.finish(&t.ref, &t.ev)
	abort := *returned && t.cutDone && !t.hijacked
	*th = txHijack{}
	g.pool.Put(th)
	if abort {
		// The response was cut: abort it so that the client sees a
		// truncated transfer (HTTP/1: the connection is closed before the
		// final chunk or the promised length; HTTP/2: the stream is reset)
		// instead of a complete but short body.
		panic(http.ErrAbortHandler)
	}
}

// refuse answers a contained principal's request: Retry-After (seconds to
// the end of the window) and the block handler, or 429.
func (g *Guard) refuse(t *tx, rw http.ResponseWriter, r *http.Request, now int64) {
	t.cuttable = false // the refusal itself goes out whole
	a := t.ref.a.Load()
	secs := max((a.g.end-now+int64(time.Second)-1)/int64(time.Second), 1)
	g.refused.Add(1)
	g.note(&t.ref, true)
	level := g.blockLevel(a)
	g.cfg.logger.LogAttrs(r.Context(), slog.LevelInfo, "httpguard: request refused",
		slog.String("principal", a.key.p.String()), slog.String("destination", a.key.destString()),
		slog.String("severity", level.String()), slog.String("method", r.Method),
		slog.Int64("retry_after_s", secs))
	rw.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	if h := g.cfg.blockHandler; h != nil {
		b := Block{Principal: a.key.p.String(), Destination: a.key.destString(), Severity: level,
			Scope: g.cfg.scope, Until: time.Unix(0, a.g.end).UTC()}
		h.ServeHTTP(rw, r.WithContext(context.WithValue(r.Context(), blockKey{}, b)))
		return
	}
	h := rw.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	rw.WriteHeader(http.StatusTooManyRequests)
	io.WriteString(rw, "429 Too Many Requests\n")
}

// Block describes a refused request to the block handler
// (BlockFromContext). It is a plain, comparable value.
type Block struct {
	// Principal is the contained principal, Destination the external side
	// of the refused request's aggregate (a host or an address).
	Principal, Destination string
	// Severity is the level at which the principal was contained.
	Severity severity.Level
	// Scope is what containment refuses.
	Scope Scope
	// Until is the end of the window: the block lifts then.
	Until time.Time
}

type blockKey struct{}

// BlockFromContext returns the Block of a refused request, in the context
// of the request the block handler receives.
func BlockFromContext(ctx context.Context) (Block, bool) {
	b, ok := ctx.Value(blockKey{}).(Block)
	return b, ok
}

// firstValue returns vs[0], or "".
func firstValue(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}

// expectsContinue reports whether net/http sends an automatic 100 Continue
// at the first read of r's body (unless the response started first).
func expectsContinue(r *http.Request) bool {
	if !r.ProtoAtLeast(1, 1) || r.ContentLength == 0 {
		return false
	}
	for v := range strings.SplitSeq(firstValue(r.Header["Expect"]), ",") {
		if strings.EqualFold(strings.TrimSpace(v), "100-continue") {
			return true
		}
	}
	return false
}

// connHash identifies a connection for unique_flows.
func connHash(client, server netip.AddrPort) uint64 {
	var b [36]byte
	c, s := client.Addr().As16(), server.Addr().As16()
	copy(b[:16], c[:])
	copy(b[16:32], s[:])
	binary.BigEndian.PutUint16(b[32:], client.Port())
	binary.BigEndian.PutUint16(b[34:], server.Port())
	return uniq.Hash64(b[:])
}

// Advance tells the guard the time is now: a window that ended is closed
// and its final alerts sent, even when no request arrives. Run calls it at
// every window end.
func (g *Guard) Advance(now time.Time) { g.current(now.UnixNano()) }

// Flush sends the final alert of every open aggregate now (shutdown: call
// it after http.Server.Shutdown returns, so that no served byte goes
// unreported). The window goes on: containment stays in force until it
// ends, and bytes counted after a Flush are reported under a new alert_id
// at the next Flush or at the window's close.
func (g *Guard) Flush() {
	g.current(g.now())
	g.rotMu.Lock()
	defer g.rotMu.Unlock()
	g.report(g.cur.Load(), false)
}

// Run closes windows on time (Advance at each window end) until ctx is
// done. It reads the guard's clock and sleeps on the real one; with an
// injected clock that does not move, it polls every 100 ms. Run does not
// flush: call Flush after the server has stopped.
func (g *Guard) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		d := max(time.Duration(g.cur.Load().end-g.now()), 100*time.Millisecond)
		t.Reset(d)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			g.Advance(g.cfg.clock())
		}
	}
}

// Stats are a Guard's counters: a plain value, a snapshot taken by
// Guard.Stats.
type Stats struct {
	// Requests is every request through the guard.
	Requests uint64 `json:"requests"`
	// UploadBytes and DownloadBytes are the bytes counted leaving and
	// entering the trust boundary.
	UploadBytes   uint64 `json:"upload_bytes"`
	DownloadBytes uint64 `json:"download_bytes"`
	// Contained counts containments: an aggregate reaching the block
	// severity. Refused counts requests refused (429 or the block
	// handler), Cut transfers cut mid-stream. ExemptPassed counts requests
	// of allowlisted aggregates at or above the block severity, let
	// through.
	Contained    uint64 `json:"contained"`
	Refused      uint64 `json:"refused"`
	Cut          uint64 `json:"cut"`
	ExemptPassed uint64 `json:"exempt_passed"`
	// Hijacked counts hijacked connections (websockets, CONNECT tunnels);
	// their bytes are counted both ways as they flow.
	Hijacked uint64 `json:"hijacked"`
	// Untracked requests found their window full (WithMaxAggregates): they
	// were served but not aggregated; UntrackedBytes are their bytes.
	Untracked      uint64 `json:"untracked_requests"`
	UntrackedBytes uint64 `json:"untracked_bytes"`
	// BadRemoteAddr counts requests whose RemoteAddr is not an IP address
	// (their client address is unknown); BadForwarded requests whose
	// trusted forwarding header named the client with something other
	// than an address (the proxy that wrote it stands in).
	BadRemoteAddr uint64 `json:"bad_remote_addr"`
	BadForwarded  uint64 `json:"bad_forwarded"`
	// Open is the number of aggregates in the current window; Windows the
	// number of windows closed.
	Open    int    `json:"open_aggregates"`
	Windows uint64 `json:"windows_closed"`
	// Scored aggregates were closed or flushed and scored; BelowMin of them
	// reached a rung below the minimum severity.
	Scored   uint64 `json:"scored_aggregates"`
	BelowMin uint64 `json:"below_min_severity"`
	// Alerts counts alerts sent (early and final), by severity in
	// BySeverity; Early counts the early ones.
	Alerts     uint64            `json:"alerts"`
	Early      uint64            `json:"early_alerts"`
	BySeverity map[string]uint64 `json:"by_severity"`
}

// Stats returns a snapshot of the counters.
func (g *Guard) Stats() Stats {
	s := Stats{
		Contained: g.contained.Load(), Refused: g.refused.Load(), Cut: g.cut.Load(),
		ExemptPassed: g.exemptPassed.Load(), Hijacked: g.hijacked.Load(),
		Untracked: g.untracked.Load(), UntrackedBytes: g.untrackedBytes.Load(),
		BadRemoteAddr: g.badRemote.Load(), BadForwarded: g.badForwarded.Load(),
		Open: int(g.cur.Load().n.Load()), Windows: g.windows.Load(),
		Scored: g.scored.Load(), BelowMin: g.belowMin.Load(),
		Alerts: g.alerts.Load(), Early: g.early.Load(), BySeverity: map[string]uint64{},
	}
	for i := range g.ctr {
		s.Requests += g.ctr[i].requests.Load()
		s.UploadBytes += g.ctr[i].out.Load()
		s.DownloadBytes += g.ctr[i].in.Load()
	}
	for l := severity.Low; l <= severity.Critical; l++ {
		s.BySeverity[l.String()] = g.bySeverity[l].Load()
	}
	return s
}
