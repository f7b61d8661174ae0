package httpguard

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/maphash"
	"log/slog"
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/internal/communityid"
	"github.com/exfilscore/exfilscore/internal/uniq"
	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
)

// nShards is the number of lock shards of a window's state (a power of
// two; principals are spread over them by hash).
const nShards = 64

// aggKey identifies an aggregate within a window: the principal, the
// internal side (src), the external side (dst address and/or host name,
// port) and the IP protocol.
type aggKey struct {
	p     pkey
	src   netip.Addr
	dst   netip.Addr
	host  string
	port  uint16
	proto uint8
}

// compareKeys orders aggregates for deterministic final alerts.
func compareKeys(a, b *aggKey) int {
	if c := cmp.Compare(a.p.name, b.p.name); c != 0 {
		return c
	}
	if c := a.p.addr.Compare(b.p.addr); c != 0 {
		return c
	}
	if c := a.src.Compare(b.src); c != 0 {
		return c
	}
	if c := a.dst.Compare(b.dst); c != 0 {
		return c
	}
	if c := cmp.Compare(a.host, b.host); c != 0 {
		return c
	}
	if c := cmp.Compare(a.port, b.port); c != 0 {
		return c
	}
	return cmp.Compare(a.proto, b.proto)
}

// destString names the external side of k for logs and Block.
func (k *aggKey) destString() string {
	if k.host != "" {
		return k.host
	}
	if !k.dst.IsValid() {
		return ""
	}
	return k.dst.String()
}

// gen is the state of one window: every aggregate and principal seen in
// it, sharded by principal. A window's containment lives and dies with it.
type gen struct {
	start, end int64 // ns since the epoch
	n          atomic.Int64
	shards     [nShards]gshard
}

type gshard struct {
	mu     sync.Mutex
	closed bool // the window was closed: look up the current one
	aggs   map[aggKey]*agg
	prins  map[pkey]*pstate
	_      [32]byte
}

// pstate is a principal in one window.
type pstate struct {
	key pkey
	// blocked is the severity at which the principal was contained
	// (ScopePrincipal), 0 when it is not.
	blocked atomic.Uint32
}

// evidence describes one request for HTTPEvidence and the Community ID.
type evidence struct {
	method, host, path, ua string
	out                    uint64
	client, server         netip.AddrPort // the request's connection
	cidOK                  bool           // the connection is the alert's flow (serving, not forwarded)
}

// agg is one aggregate: a principal's traffic with one destination in one
// window.
type agg struct {
	key   aggKey
	si    int // shard index
	g     *gen
	p     *pstate
	allow bool // exempt from containment
	// blocked is the severity at which the aggregate was contained (the
	// principal's, or its own under ScopeDestination), 0 when it is not.
	blocked atomic.Uint32

	mu       sync.Mutex
	closed   bool
	segment  uint32 // Flush count: a flushed aggregate reports anew under a new alert_id
	up, down uint64
	requests uint64
	conns    uniq.Counter
	first    int64
	last     int64
	mark     severity.Level // highest level reported early
	refused  uint64
	cut      uint64
	top      evidence
	topSet   bool
	topOut   atomic.Uint64 // top.out, read without the lock by finish
}

// isBlocked reports whether a request of a's may not proceed: a is not
// exempt and is contained, itself or through its principal.
func (g *Guard) isBlocked(a *agg) bool {
	if a == nil || a.allow || g.cfg.block == severity.None {
		return false
	}
	return a.blocked.Load() != 0 || (g.cfg.scope == ScopePrincipal && a.p.blocked.Load() != 0)
}

// blockLevel returns the severity a was contained at.
func (g *Guard) blockLevel(a *agg) severity.Level {
	if l := a.blocked.Load(); l != 0 {
		return severity.Level(l)
	}
	return severity.Level(a.p.blocked.Load())
}

// ref is a handle on the aggregate of an exchange (a request, its body, a
// hijacked connection). It follows the aggregate into the next window when
// bytes arrive after the one it was opened in closed. Safe for concurrent
// use.
type ref struct {
	a    atomic.Pointer[agg]
	conn uint64 // the exchange's connection, for unique_flows
}

// now reads the clock.
func (g *Guard) now() int64 { return g.cfg.clock().UnixNano() }

// stamp is a clock reading that later readings of the same exchange start
// from: with the real clock, wall time at the stamp plus monotonic time
// since (one monotonic read, half the cost of time.Now); with an injected
// clock, a call to it.
type stamp struct{ t time.Time }

func (g *Guard) stampNow() (stamp, int64) {
	t := g.cfg.clock()
	return stamp{t}, t.UnixNano()
}

// since returns the time now, in ns since the epoch.
func (g *Guard) since(s *stamp) int64 {
	if g.cfg.realClock {
		return s.t.UnixNano() + int64(time.Since(s.t))
	}
	return g.now()
}

// windowStart floors t to its window.
func (g *Guard) windowStart(t int64) int64 {
	size := int64(g.cfg.size)
	s := t - t%size
	if t%size < 0 {
		s -= size
	}
	return s
}

func (g *Guard) newGen(now int64) *gen {
	s := g.windowStart(now)
	return &gen{start: s, end: s + int64(g.cfg.size)}
}

// current returns the window containing now, closing the previous one when
// now has passed its end.
func (g *Guard) current(now int64) *gen {
	if gn := g.cur.Load(); now < gn.end {
		return gn
	}
	g.rotMu.Lock()
	defer g.rotMu.Unlock()
	gn := g.cur.Load()
	if now < gn.end {
		return gn
	}
	ng := g.newGen(now)
	g.cur.Store(ng)
	g.report(gn, true)
	return ng
}

// shardOf picks the shard of principal p.
func (g *Guard) shardOf(p *pkey) int {
	var h uint64
	if p.name != "" {
		h = maphash.String(g.seed, p.name)
	} else {
		b := p.addr.As16()
		h = (binary.LittleEndian.Uint64(b[:8]) ^ binary.LittleEndian.Uint64(b[8:])*0x9e3779b97f4a7c15)
		h ^= h >> 29
		h *= 0xbf58476d1ce4e5b9
		h ^= h >> 32
	}
	return int(h & (nShards - 1))
}

// lookup returns the aggregate of k in the window of now, creating it; nil
// when the window holds the maximum number of aggregates.
func (g *Guard) lookup(k *aggKey, si int, now int64) *agg {
	for {
		gn := g.current(now)
		sh := &gn.shards[si]
		sh.mu.Lock()
		if sh.closed { // closed under us: the next window is already current
			sh.mu.Unlock()
			continue
		}
		a := sh.aggs[*k]
		if a == nil {
			if gn.n.Load() >= int64(g.cfg.maxAggs) {
				sh.mu.Unlock()
				return nil
			}
			gn.n.Add(1)
			p := sh.prins[k.p]
			if p == nil {
				if sh.prins == nil {
					sh.prins = make(map[pkey]*pstate)
					sh.aggs = make(map[aggKey]*agg)
				}
				p = &pstate{key: k.p}
				sh.prins[k.p] = p
			}
			a = &agg{key: *k, si: si, g: gn, p: p, allow: g.allowed(k)}
			sh.aggs[*k] = a
		}
		sh.mu.Unlock()
		return a
	}
}

// allowed reports whether k is exempt from containment.
func (g *Guard) allowed(k *aggKey) bool {
	c := &g.cfg
	if k.p.name != "" && c.allowNames[k.p.name] {
		return true
	}
	client := k.dst
	if c.mode == Egress {
		client = k.src
		if inPrefixes(c.allowNets, k.dst) {
			return true
		}
	}
	return inPrefixes(c.allowNets, client)
}

// start describes a new request to account.
type start struct {
	ev *evidence
}

// account adds out bytes (leaving) and in bytes (arriving) to r's aggregate
// at time now, and for a new request (st not nil) counts the request. It
// raises early alerts and contains the principal when a rung is reached,
// and reports whether r's aggregate is contained afterwards.
func (g *Guard) account(r *ref, si int, now int64, out, in uint64, st *start) (blocked bool) {
	sc := &g.ctr[si]
	if out != 0 {
		sc.out.Add(out)
	}
	if in != 0 {
		sc.in.Add(in)
	}
	carried := false
	for {
		a := r.a.Load()
		if a == nil {
			g.untrackedBytes.Add(out + in)
			return false
		}
		a.mu.Lock()
		if a.closed || now >= a.g.end {
			// The window closed under a transfer in progress: it goes on in
			// the next one, where it counts as a request too (as a flow
			// exporter's active timeout splits a long flow into records).
			a.mu.Unlock()
			r.a.CompareAndSwap(a, g.lookup(&a.key, a.si, now))
			carried = st == nil
			continue
		}
		a.up += out
		a.down += in
		if now < a.g.start { // a clock read just before the window turned
			now = a.g.start
		}
		if st != nil {
			a.requests++
			a.conns.Add(r.conn)
			if !a.topSet {
				a.top, a.topSet = *st.ev, true
			}
		} else if carried {
			a.requests++
			a.conns.Add(r.conn)
		}
		if a.first == 0 || now < a.first {
			a.first = now
		}
		a.last = max(a.last, now)
		level, _ := severity.Evaluate(&g.cfg.policy, a.up, a.down)
		contained, up, down := false, a.up, a.down
		if g.cfg.block != severity.None && level >= g.cfg.block && !a.allow && a.blocked.Load() == 0 {
			a.blocked.Store(uint32(level))
			if g.cfg.scope == ScopePrincipal {
				a.p.blocked.CompareAndSwap(0, uint32(level))
			}
			contained = true
		}
		var early *snapshot
		if g.cfg.early && level > a.mark && level >= g.cfg.minLevel {
			a.mark = level
			s := a.snapshot()
			early = &s
		}
		a.mu.Unlock()
		if contained {
			g.contained.Add(1)
			g.cfg.logger.LogAttrs(context.Background(), slog.LevelWarn, "httpguard: contained",
				slog.String("principal", a.key.p.String()), slog.String("destination", a.key.destString()),
				slog.String("severity", level.String()), slog.String("scope", scopeName(g.cfg.scope)),
				slog.Time("until", time.Unix(0, a.g.end).UTC()),
				slog.Uint64("upload_bytes", up), slog.Uint64("download_bytes", down))
		}
		if early != nil {
			g.early.Add(1)
			g.send(g.buildAlert(early, exfil.StageEarly))
		}
		return g.isBlocked(a)
	}
}

func scopeName(s Scope) string {
	if s == ScopeDestination {
		return "principal+destination"
	}
	return "principal"
}

// finish records a finished request's evidence: the request that moved the
// most bytes out describes the aggregate.
func (g *Guard) finish(r *ref, ev *evidence) {
	a := r.a.Load()
	if a == nil {
		return
	}
	if ev.out <= a.topOut.Load() {
		return // the common case: not the aggregate's biggest request
	}
	a.mu.Lock()
	if !a.closed && ev.out > a.top.out {
		a.top, a.topSet = *ev, true
		a.topOut.Store(ev.out)
	}
	a.mu.Unlock()
}

// note counts a refused request (refused) or a cut transfer in r's
// aggregate.
func (g *Guard) note(r *ref, refused bool) {
	a := r.a.Load()
	if a == nil {
		return
	}
	a.mu.Lock()
	if refused {
		a.refused++
	} else {
		a.cut++
	}
	a.mu.Unlock()
}

// snapshot is a copy of an aggregate's state, taken under its lock.
type snapshot struct {
	key              aggKey
	start, end       int64
	segment          uint32
	up, down         uint64
	requests, unique uint64
	first, last      int64
	mark             severity.Level
	refused, cut     uint64
	contained, allow bool
	top              evidence
	blastRadius      int
	pcr              float64
	hasWindowContext bool
}

func (a *agg) snapshot() snapshot {
	return snapshot{
		key: a.key, start: a.g.start, end: a.g.end, segment: a.segment,
		up: a.up, down: a.down, requests: a.requests, unique: a.conns.Count(),
		first: a.first, last: a.last, mark: a.mark, refused: a.refused, cut: a.cut,
		contained: a.blocked.Load() != 0 || a.p.blocked.Load() != 0, allow: a.allow,
		top: a.top,
	}
}

// reset starts a new segment after a Flush; containment is kept.
func (a *agg) reset() {
	a.segment++
	a.up, a.down, a.requests = 0, 0, 0
	a.conns.Reset()
	a.first, a.last = 0, 0
	a.mark = severity.None
	a.refused, a.cut = 0, 0
	a.top, a.topSet = evidence{}, false
	a.topOut.Store(0)
}

// report sends the final alerts of window gn: at its close (final: every
// aggregate is closed and the window dropped) or at a Flush (the
// aggregates are reset and the window goes on).
func (g *Guard) report(gn *gen, final bool) {
	var aggs []*agg
	for i := range gn.shards {
		sh := &gn.shards[i]
		sh.mu.Lock()
		if final {
			sh.closed = true
		}
		for _, a := range sh.aggs {
			aggs = append(aggs, a)
		}
		sh.mu.Unlock()
	}
	snaps := make([]snapshot, 0, len(aggs))
	for _, a := range aggs {
		a.mu.Lock()
		if final {
			a.closed = true
		}
		s := a.snapshot()
		if !final {
			a.reset()
		}
		a.mu.Unlock()
		if s.requests == 0 && s.up == 0 && s.down == 0 {
			continue // idle since the last Flush
		}
		snaps = append(snaps, s)
	}
	if final {
		g.windows.Add(1)
	}
	if len(snaps) == 0 {
		return
	}
	slices.SortFunc(snaps, func(x, y snapshot) int { return compareKeys(&x.key, &y.key) })

	// Window context: each principal's totals (PCR) and each destination's
	// distinct uploading principals (blast radius).
	type totals struct{ up, down uint64 }
	type dest struct {
		dst  netip.Addr
		host string
		port uint16
	}
	type uploader struct {
		d dest
		p pkey
	}
	byPrincipal := make(map[pkey]totals)
	uploaders := make(map[uploader]bool)
	blast := make(map[dest]int)
	for i := range snaps {
		s := &snaps[i]
		t := byPrincipal[s.key.p]
		t.up += s.up
		t.down += s.down
		byPrincipal[s.key.p] = t
		if s.up > 0 {
			u := uploader{dest{s.key.dst, s.key.host, s.key.port}, s.key.p}
			if !uploaders[u] {
				uploaders[u] = true
				blast[u.d]++
			}
		}
	}
	for i := range snaps {
		s := &snaps[i]
		g.scored.Add(1)
		level, _ := severity.Evaluate(&g.cfg.policy, s.up, s.down)
		// An aggregate reported early, or contained, always gets its final
		// alert, so that a consumer upserting by alert_id sees the outcome.
		if s.mark == severity.None && !s.contained && s.refused == 0 && s.cut == 0 {
			if level == severity.None {
				continue
			}
			if level < g.cfg.minLevel {
				g.belowMin.Add(1)
				continue
			}
		}
		t := byPrincipal[s.key.p]
		s.pcr = pcr(t.up, t.down)
		s.blastRadius = blast[dest{s.key.dst, s.key.host, s.key.port}]
		s.hasWindowContext = true
		g.send(g.buildAlert(s, exfil.StageFinal))
	}
}

// pcr is the producer-consumer ratio (up − down) / (up + down) to two
// decimals; 0 when there is no traffic.
func pcr(up, down uint64) float64 {
	if up+down == 0 {
		return 0
	}
	v := (float64(up) - float64(down)) / (float64(up) + float64(down))
	return math.Round(v*100) / 100
}

// alertID is stable for an aggregate and window (and Flush segment): the
// first 16 bytes of a SHA-256 of the key, in hex.
func (g *Guard) alertID(s *snapshot) string {
	h := sha256.New()
	var b [8 + 16 + 16 + 16 + 2 + 1 + 8 + 4 + 1]byte
	copy(b[:8], "httpgrd1")
	b[8] = byte(g.cfg.mode)
	pa, src, dst := s.key.p.addr.As16(), s.key.src.As16(), s.key.dst.As16()
	i := 9
	i += copy(b[i:], pa[:])
	i += copy(b[i:], src[:])
	i += copy(b[i:], dst[:])
	binary.BigEndian.PutUint16(b[i:], s.key.port)
	i += 2
	b[i] = s.key.proto
	i++
	binary.BigEndian.PutUint64(b[i:], uint64(s.start))
	i += 8
	binary.BigEndian.PutUint32(b[i:], s.segment)
	i += 4
	h.Write(b[:i])
	var l [8]byte
	for _, str := range [...]string{s.key.p.name, s.key.host} {
		binary.BigEndian.PutUint64(l[:], uint64(len(str)))
		h.Write(l[:])
		h.Write([]byte(str))
	}
	sum := h.Sum(nil)
	return hex.EncodeToString(sum[:16])
}

// buildAlert scores s and fills an Alert.
func (g *Guard) buildAlert(s *snapshot, stage string) *exfil.Alert {
	in := severity.Input{Upload: s.up, Download: s.down, FlowCount: s.requests, UniqueFlows: s.unique}
	if s.hasWindowContext {
		in.BlastRadius = s.blastRadius
	}
	as := severity.Assess(g.cfg.policy, in)
	al := &exfil.Alert{
		AlertID:            g.alertID(s),
		Stage:              stage,
		AlertType:          exfil.AlertType,
		Severity:           as.Level,
		Confidence:         as.Confidence,
		SrcIP:              s.key.src,
		DestIP:             s.key.dst,
		DestPort:           s.key.port,
		Proto:              exfil.ProtoName(s.key.proto),
		AppProto:           "http",
		WindowStart:        time.Unix(0, s.start).UTC(),
		WindowEnd:          time.Unix(0, s.end).UTC(),
		FlowCount:          s.requests,
		UniqueFlows:        s.unique,
		TotalUploadBytes:   s.up,
		TotalDownloadBytes: s.down,
		UploadMB:           severity.Megabytes(s.up),
		DownloadMB:         severity.Megabytes(s.down),
		UploadRatio:        severity.UploadRatio(s.up, s.down),
		C2:                 exfil.C2{Matches: []ioc.Match{}},
		Reasons:            as.Reasons,
		Rule:               as.Rule,
		Principal:          s.key.p.String(),
		HTTP: &exfil.HTTPEvidence{
			Mode:        g.cfg.mode.String(),
			Method:      s.top.method,
			Host:        s.top.host,
			PathPrefix:  s.top.path,
			UserAgent:   s.top.ua,
			Blocked:     s.refused,
			Cut:         s.cut,
			Contained:   s.contained,
			Allowlisted: s.allow,
		},
	}
	if s.first != 0 {
		al.FirstSeen = time.Unix(0, s.first).UTC()
		al.LastSeen = time.Unix(0, s.last).UTC()
	}
	if s.key.host != "" {
		al.DestNames = &exfil.DestNames{HTTPHost: []string{s.key.host}}
	}
	if s.top.cidOK {
		al.CommunityID = g.cid.String(communityid.Flow{
			Src: s.top.client.Addr(), Dst: s.top.server.Addr(), Proto: s.key.proto,
			SrcPort: s.top.client.Port(), DstPort: s.top.server.Port(),
		})
	}
	if s.hasWindowContext {
		al.BlastRadius = s.blastRadius
		p := s.pcr
		al.PCR = &p
	}
	return al
}

// send hands an alert to the sink, one call at a time, and flushes a
// Flusher: the Guard sends its alerts one by one, each when it is due.
func (g *Guard) send(al *exfil.Alert) {
	g.alerts.Add(1)
	if al.Severity.IsValid() {
		g.bySeverity[al.Severity].Add(1)
	}
	g.sinkMu.Lock()
	defer g.sinkMu.Unlock()
	g.cfg.sink.Alert(al)
	if f, ok := g.cfg.sink.(exfil.Flusher); ok {
		f.Flush()
	}
}
