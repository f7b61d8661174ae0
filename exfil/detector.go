package exfil

import (
	"errors"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/internal/communityid"
	"github.com/exfilscore/exfilscore/internal/uniq"
	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
	"github.com/exfilscore/exfilscore/window"
)

// Detector turns flow records into exfiltration alerts: it orients each
// record (initiator rule), keeps the conversations an internal host opened
// towards an external one, aggregates them per window and key, scores each
// closed aggregate and hands the alerts to the sink.
//
// A Detector is safe for concurrent use: any number of goroutines may call
// Observe at once. Final alerts reach the sink from the goroutine whose
// call closed the window, one window at a time; early alerts (see
// WithEarlyAlerts) from the Observe call that crossed the rung. The sink is
// never called concurrently.
type Detector struct {
	cfg    config
	agg    *window.Aggregator
	cid    communityid.Hasher
	markFn func(*window.Aggregate) uint8 // d.mark, bound once
	sinkMu sync.Mutex                    // one Sink call at a time

	records, invalid, notOutbound, internalDest atomic.Uint64
	scored, belowMin, alerts, early             atomic.Uint64
	bySeverity                                  [5]atomic.Uint64
}

// ErrNoSink is returned by New without WithSink.
var ErrNoSink = errors.New("exfil: no alert sink (use WithSink)")

// New builds a Detector.
func New(opts ...Option) (*Detector, error) {
	c := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if c.sink == nil {
		return nil, ErrNoSink
	}
	d := &Detector{cfg: c, cid: communityid.New(c.cidSeed)}
	agg, err := window.New(d.onClose, window.WithSize(c.size), window.WithLateness(c.lateness), window.WithShards(c.shards))
	if err != nil {
		return nil, err
	}
	d.agg = agg
	if c.early {
		d.markFn = d.mark
	}
	return d, nil
}

// Observe feeds one flow record. It reports whether the record was
// aggregated; a record that is invalid, not an outbound conversation of an
// internal host, or late is counted in Stats instead.
func (d *Detector) Observe(r *flowsrc.Record) bool {
	d.records.Add(1)
	if !r.IsValid() {
		d.invalid.Add(1)
		return false
	}
	c := Orient(r)
	if !d.cfg.home.Internal(c.Client) {
		d.notOutbound.Add(1)
		return false
	}
	if !d.cfg.home.External(c.Server) {
		d.internalDest.Add(1)
		return false
	}
	o := window.Obs{
		Key:      window.Key{Src: c.Client, Dst: c.Server, DstPort: c.ServerPort, Proto: c.Proto, AppProto: r.AppProto},
		Start:    r.Start,
		End:      r.End,
		Upload:   c.Upload,
		Download: c.Download,
		PktsUp:   c.PktsUp,
		PktsDown: c.PktsDown,
		SrcPort:  c.ClientPort,
		DstPort:  c.ServerPort,
	}
	if r.HasICMP {
		typ := r.ICMPType
		if c.Reversed {
			if req, ok := icmpReply(r.Proto, typ); ok {
				typ = req
			}
		}
		o.Key.DstPort = 0
		o.SrcPort, o.DstPort = uint16(typ), uint16(r.ICMPCode)
	}
	o.FlowHash = flowHash(c.Client, c.Server, o.SrcPort, o.DstPort, c.Proto)
	if d.markFn == nil {
		return d.agg.Add(&o)
	}
	var snap window.Snapshot
	ok, marked := d.agg.AddMarked(&o, d.markFn, &snap)
	if marked {
		d.emitEarly(&snap)
	}
	return ok
}

// Aggregate marks (window.Aggregate.Mark): the low bits hold the highest
// level already reported early, markIOC that the destination matched an
// IOC at the key's first record.
const (
	markLevel = 0x07
	markIOC   = 0x10
)

// mark runs under the aggregate's shard lock after every record (early
// alerts on): it checks a new key against the IOC matchers and returns a
// larger mark when the aggregate reached a rung not yet reported.
func (d *Detector) mark(a *window.Aggregate) uint8 {
	m := a.Mark
	if a.FlowCount == 1 && len(d.cfg.iocs) > 0 {
		if _, hit := d.cfg.iocs.LookupAddr(a.Key.Dst); hit {
			m |= markIOC
		}
	}
	level, _ := severity.Evaluate(&d.cfg.policy, a.Upload, a.Download)
	if m&markIOC != 0 {
		level = severity.Critical
	}
	if level >= d.cfg.minLevel && uint8(level) > m&markLevel {
		m = m&^markLevel | uint8(level)
	}
	return m
}

// emitEarly sends the early alert of a running aggregate that just crossed
// a rung.
func (d *Detector) emitEarly(s *window.Snapshot) {
	matches, checked := d.iocMatches(s.Key.Dst)
	al := d.buildAlert(s, StageEarly, matches, checked, nil)
	d.early.Add(1)
	d.send(al)
}

func (d *Detector) send(al *Alert) {
	d.alerts.Add(1)
	d.bySeverity[al.Severity].Add(1)
	d.sinkMu.Lock()
	defer d.sinkMu.Unlock()
	d.cfg.sink.Alert(al)
}

// iocMatches checks a destination against every matcher.
func (d *Detector) iocMatches(dst netip.Addr) (matches []ioc.Match, checked int) {
	if len(d.cfg.iocs) == 0 {
		return nil, 0
	}
	matches = d.cfg.iocs.AppendAddrMatches(nil, dst)
	for i := range matches {
		matches[i].MatchedOn = "dest_ip"
	}
	return matches, 1
}

// flowHash hashes the normalised 5-tuple (client ip/port, server ip/port,
// proto): both directions of one connection give the same hash.
func flowHash(client, server netip.Addr, cport, sport uint16, proto uint8) uint64 {
	var b [37]byte
	c16, s16 := client.As16(), server.As16()
	copy(b[0:16], c16[:])
	copy(b[16:32], s16[:])
	b[32], b[33] = byte(cport>>8), byte(cport)
	b[34], b[35] = byte(sport>>8), byte(sport)
	b[36] = proto
	return uniq.Hash64(b[:])
}

// Advance tells the detector the time is now (live mode): windows whose
// end plus the allowed lateness has passed are closed and scored even when
// no record arrives.
func (d *Detector) Advance(now time.Time) { d.agg.Advance(now) }

// Flush closes and scores every open window (end of a replay, shutdown).
func (d *Detector) Flush() { d.agg.Flush() }

// Stats are a Detector's counters.
type Stats struct {
	// Records is every record given to Observe.
	Records uint64 `json:"records"`
	// Invalid records lack an address or end time.
	Invalid uint64 `json:"invalid"`
	// NotOutbound records are conversations not opened by an internal host.
	NotOutbound uint64 `json:"not_outbound"`
	// InternalDest records go to an internal or owned destination.
	InternalDest uint64 `json:"internal_dest"`
	// Aggregated records reached a window; Late ones arrived after theirs
	// closed.
	Aggregated uint64 `json:"aggregated"`
	Late       uint64 `json:"late_records"`
	// Open aggregates are in windows not yet closed; Scored ones were
	// closed and scored.
	Open   int    `json:"open_aggregates"`
	Scored uint64 `json:"scored_aggregates"`
	// BelowMin aggregates reached a rung below the minimum severity.
	BelowMin uint64 `json:"below_min_severity"`
	// Alerts is the number of alerts sent (early and final), by severity in
	// BySeverity; Early counts the early ones.
	Alerts     uint64            `json:"alerts"`
	Early      uint64            `json:"early_alerts"`
	BySeverity map[string]uint64 `json:"by_severity"`
}

// Stats returns a snapshot of the counters.
func (d *Detector) Stats() Stats {
	ws := d.agg.Stats()
	st := Stats{
		Records:      d.records.Load(),
		Invalid:      d.invalid.Load(),
		NotOutbound:  d.notOutbound.Load(),
		InternalDest: d.internalDest.Load(),
		Aggregated:   ws.Records,
		Late:         ws.Late,
		Open:         ws.Open,
		Scored:       d.scored.Load(),
		BelowMin:     d.belowMin.Load(),
		Alerts:       d.alerts.Load(),
		Early:        d.early.Load(),
		BySeverity:   map[string]uint64{},
	}
	for l := severity.Low; l <= severity.Critical; l++ {
		st.BySeverity[l.String()] = d.bySeverity[l].Load()
	}
	return st
}

// hostTotals is a source host's outbound volume in one window.
type hostTotals struct{ up, down uint64 }

// onClose scores the aggregates of one closed window.
func (d *Detector) onClose(aggs []*window.Aggregate) {
	// Population context over the whole window.
	sources := make(map[netip.Addr]map[netip.Addr]struct{})
	hosts := make(map[netip.Addr]hostTotals)
	for _, a := range aggs {
		h := hosts[a.Key.Src]
		h.up += a.Upload
		h.down += a.Download
		hosts[a.Key.Src] = h
		if a.Upload > 0 {
			s := sources[a.Key.Dst]
			if s == nil {
				s = make(map[netip.Addr]struct{})
				sources[a.Key.Dst] = s
			}
			s[a.Key.Src] = struct{}{}
		}
	}
	for _, a := range aggs {
		d.scored.Add(1)
		level, _ := severity.Evaluate(&d.cfg.policy, a.Upload, a.Download)
		matches, checked := d.iocMatches(a.Key.Dst)
		// An aggregate reported early always gets its final alert, so that
		// a consumer upserting by alert_id sees how it ended.
		reported := a.Mark&markLevel != 0
		if len(matches) == 0 && !reported {
			if level == severity.None {
				continue
			}
			if level < d.cfg.minLevel {
				d.belowMin.Add(1)
				continue
			}
		}
		ht := hosts[a.Key.Src]
		ctx := &windowContext{blast: len(sources[a.Key.Dst]), pcr: pcr(ht.up, ht.down)}
		snap := a.Snapshot()
		d.send(d.buildAlert(&snap, StageFinal, matches, checked, ctx))
	}
}

// windowContext is what only a closed window knows about an aggregate.
type windowContext struct {
	blast int
	pcr   float64
}

// buildAlert scores s and fills an Alert (wc is nil for early alerts).
func (d *Detector) buildAlert(s *window.Snapshot, stage string, matches []ioc.Match, checked int, wc *windowContext) *Alert {
	in := severity.Input{
		Upload:      s.Upload,
		Download:    s.Download,
		FlowCount:   s.FlowCount,
		UniqueFlows: s.UniqueFlows,
		IOCMatches:  len(matches),
	}
	if wc != nil {
		in.BlastRadius = wc.blast
	}
	as := severity.Assess(d.cfg.policy, in)
	al := &Alert{
		AlertID:            AlertID(s.Key, s.WindowStart),
		Stage:              stage,
		AlertType:          AlertType,
		Severity:           as.Level,
		Confidence:         as.Confidence,
		SrcIP:              s.Key.Src,
		DestIP:             s.Key.Dst,
		DestPort:           s.Key.DstPort,
		Proto:              ProtoName(s.Key.Proto),
		AppProto:           s.Key.AppProto,
		WindowStart:        s.WindowStart,
		WindowEnd:          s.WindowEnd,
		FlowCount:          s.FlowCount,
		UniqueFlows:        s.UniqueFlows,
		TotalUploadBytes:   s.Upload,
		TotalDownloadBytes: s.Download,
		UploadMB:           severity.Megabytes(s.Upload),
		DownloadMB:         severity.Megabytes(s.Download),
		UploadRatio:        severity.UploadRatio(s.Upload, s.Download),
		IOCsChecked:        checked,
		MaliciousIOCs:      len(matches),
		C2:                 C2{Matches: matches},
		CommunityID: d.cid.String(communityid.Flow{
			Src: s.Key.Src, Dst: s.Key.Dst, Proto: s.Key.Proto,
			SrcPort: s.LargestSrcPort, DstPort: s.LargestDstPort,
		}),
		Reasons:         as.Reasons,
		Rule:            as.Rule,
		FirstSeen:       s.FirstSeen,
		LastSeen:        s.LastSeen,
		UploadPackets:   s.PktsUp,
		DownloadPackets: s.PktsDown,
	}
	if wc != nil {
		al.BlastRadius = wc.blast
		p := wc.pcr
		al.PCR = &p
	}
	if al.C2.Matches == nil {
		al.C2.Matches = []ioc.Match{}
	}
	if d.cfg.geo != nil {
		if gi, ok := d.cfg.geo.Lookup(s.Key.Dst); ok {
			al.DestCountry, al.DestASN, al.DestOrg = gi.Country, gi.ASN, gi.Org
		}
	}
	return al
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
