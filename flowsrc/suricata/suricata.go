package suricata

import (
	"net/netip"
	"strconv"
	"sync"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
)

// Interner sizes: few distinct values are expected in the small one
// (app_proto, HTTP method and content type), many in the big one.
const (
	smallIntern = 256
	bigIntern   = 16384
)

// maxParseLine is the longest line Line reads: spans hold 32-bit offsets.
const maxParseLine = 1<<31 - 1

// Parser turns EVE lines into flow records, one line at a time: flow
// events become records, tls, http and dns events feed the names joined
// to them, and every other line is counted. It keeps the join state, so
// the lines of one EVE stream must go through one Parser, in order.
//
// A Parser is not safe for concurrent use, except Stats, which may be
// called from any goroutine.
type Parser struct {
	_ [0]sync.Mutex // uncopyable (go vet copylocks)

	cfg     config
	sc      scanner
	ev      event
	c       counters
	other   otherTypes
	pending pendingMap
	recent  recentSet
	small   interner
	big     interner
	addrs   []netip.Addr // scratch: parsed DNS answer addresses
	rec     flowsrc.Record
}

// NewParser returns a Parser configured by opts (WithPDNS, WithSensor,
// WithPendingCapacity; WithMaxLineSize only matters to a Reader).
func NewParser(opts ...Option) *Parser {
	return newParser(newConfig(opts))
}

func newParser(cfg config) *Parser {
	p := &Parser{
		cfg:    cfg,
		other:  otherTypes{idx: make(map[string]int)},
		recent: newRecentSet(cfg.pending),
		small:  newInterner(smallIntern),
		big:    newInterner(bigIntern),
	}
	p.pending = newPendingMap(cfg.pending, &p.c.evicted, &p.c.pending)
	return p
}

// PDNS returns the passive-DNS map the parser learns into and names flows
// from (the one given with WithPDNS, or its private one).
func (p *Parser) PDNS() *pdns.Map { return p.cfg.pdns }

// Stats returns a snapshot of the parser's counters. It is safe to call
// concurrently with Line.
func (p *Parser) Stats() Stats { return p.c.snapshot() }

// Line parses one EVE line (with or without its trailing newline). When
// the line is a flow event, emit is called once with its record; the
// *Record is only valid during the call (copy the value to keep it). lineNo
// is the line's number in its file, used in errors and Stats.
//
// Line returns nil for every line it could read, whatever its event type,
// and a *LineError (wrapping ErrMalformed) for a malformed line, which is
// also counted in Stats (a line of 2 GiB or more is malformed,
// ReasonTooLong). It never panics, whatever the input.
func (p *Parser) Line(line []byte, lineNo int64, emit func(*flowsrc.Record)) error {
	ok, err := p.parse(line, lineNo, &p.rec)
	if ok && emit != nil {
		emit(&p.rec)
	}
	return err
}

// parse reads one line into rec, reporting whether it was a flow event
// that made a record.
func (p *Parser) parse(line []byte, lineNo int64, rec *flowsrc.Record) (bool, error) {
	if len(line) > maxParseLine {
		return false, p.tooLong(lineNo, len(line))
	}
	p.c.lines.Add(1)
	if isBlank(line) {
		p.c.blank.Add(1)
		return false, nil
	}
	p.sc.reset(line)
	p.ev.reset()
	if !p.top() {
		return false, p.fail(&LineError{Line: lineNo, Reason: ReasonSyntax, Detail: p.sc.err, Offset: p.sc.errAt})
	}
	e := &p.ev
	if !e.ok(fEventType) {
		if e.bad&(1<<fEventType) != 0 {
			return false, p.fail(&LineError{Line: lineNo, Field: fEventType.String(), Reason: ReasonType})
		}
		return false, p.fail(&LineError{Line: lineNo, Reason: ReasonNoEvent})
	}
	switch string(p.sc.bytes(e.str[fEventType])) {
	case "flow":
		return p.flow(lineNo, rec)
	case "tls":
		return false, p.tls(lineNo)
	case "http":
		return false, p.http(lineNo)
	case "dns":
		return false, p.dns(lineNo)
	}
	p.other.count(&p.c, p.sc.bytes(e.str[fEventType]))
	return false, nil
}

func isBlank(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
		default:
			return false
		}
	}
	return true
}

// tooLong counts a line the Reader did not read, n bytes long.
func (p *Parser) tooLong(lineNo int64, n int) error {
	p.c.lines.Add(1)
	p.ev.reset()
	return p.fail(&LineError{Line: lineNo, Reason: ReasonTooLong, Value: strconv.Itoa(n)})
}

// fail counts a malformed line and returns its error.
func (p *Parser) fail(e *LineError) error {
	if e.EventType == "" && p.ev.ok(fEventType) {
		e.EventType = quoteValue(p.sc.bytes(p.ev.str[fEventType]))
	}
	p.c.malformed.Add(1)
	p.c.addSample(e)
	return e
}

// fieldErr reports field f of the current line as malformed.
func (p *Parser) fieldErr(lineNo int64, f field, reason string, value []byte) error {
	e := &LineError{Line: lineNo, Field: f.String(), Reason: reason}
	if reason == ReasonValue {
		e.Value = quoteValue(value)
	}
	return p.fail(e)
}

// checkTypes reports the first field of mask that had a wrong type.
func (p *Parser) checkTypes(lineNo int64, mask uint64) error {
	if f, bad := p.ev.firstBad(mask); bad {
		return p.fieldErr(lineNo, f, ReasonType, nil)
	}
	return nil
}

// flowRequired are the fields every flow event must have.
var flowRequired = [...]field{fSrcIP, fDestIP, fProto, fFlow, fFlowStart, fFlowEnd,
	fBytesToServer, fBytesToClient, fPktsToServer, fPktsToClient}

// flow builds the record of a flow event.
func (p *Parser) flow(lineNo int64, rec *flowsrc.Record) (bool, error) {
	e := &p.ev
	sc := &p.sc
	if err := p.checkTypes(lineNo, flowReads); err != nil {
		return false, err
	}
	for _, f := range flowRequired {
		if !e.ok(f) {
			return false, p.fieldErr(lineNo, f, ReasonMissing, nil)
		}
	}
	src, ok := parseAddr(sc.bytes(e.str[fSrcIP]))
	if !ok {
		return false, p.fieldErr(lineNo, fSrcIP, ReasonValue, sc.bytes(e.str[fSrcIP]))
	}
	dst, ok := parseAddr(sc.bytes(e.str[fDestIP]))
	if !ok {
		return false, p.fieldErr(lineNo, fDestIP, ReasonValue, sc.bytes(e.str[fDestIP]))
	}
	proto, ok := parseProto(sc.bytes(e.str[fProto]))
	if !ok {
		return false, p.fieldErr(lineNo, fProto, ReasonValue, sc.bytes(e.str[fProto]))
	}
	start, ok := parseTime(sc.bytes(e.str[fFlowStart]))
	if !ok {
		return false, p.fieldErr(lineNo, fFlowStart, ReasonValue, sc.bytes(e.str[fFlowStart]))
	}
	end, ok := parseTime(sc.bytes(e.str[fFlowEnd]))
	if !ok {
		return false, p.fieldErr(lineNo, fFlowEnd, ReasonValue, sc.bytes(e.str[fFlowEnd]))
	}
	if end.Before(start) {
		return false, p.fieldErr(lineNo, fFlowEnd, ReasonEndsEarly, nil)
	}
	icmp := proto == 1 || proto == 58
	var sport, dport uint16
	if !icmp {
		ported := proto == 6 || proto == 17 || proto == 132
		for _, f := range [2]field{fSrcPort, fDestPort} {
			if !e.ok(f) && ported {
				return false, p.fieldErr(lineNo, f, ReasonMissing, nil)
			}
		}
		sport, dport = uint16(e.num[fSrcPort]), uint16(e.num[fDestPort])
		if !e.ok(fSrcPort) {
			sport = 0
		}
		if !e.ok(fDestPort) {
			dport = 0
		}
	}
	var flags uint8
	if e.ok(fTCPFlags) {
		b := sc.bytes(e.str[fTCPFlags])
		if flags, ok = parseHexByte(b); !ok {
			return false, p.fieldErr(lineNo, fTCPFlags, ReasonValue, b)
		}
	}

	*rec = flowsrc.Record{
		Start:         start,
		End:           end,
		Src:           src,
		Dst:           dst,
		SrcPort:       sport,
		DstPort:       dport,
		Proto:         proto,
		BytesToServer: e.num[fBytesToServer],
		BytesToClient: e.num[fBytesToClient],
		PktsToServer:  e.num[fPktsToServer],
		PktsToClient:  e.num[fPktsToClient],
		SamplingRate:  1,
		TCPFlags:      flags,
		Initiator:     flowsrc.InitiatorSrc,
		Exporter:      p.cfg.sensor,
	}
	if icmp && e.ok(fICMPType) {
		rec.HasICMP = true
		rec.ICMPType = uint8(e.num[fICMPType])
		if e.ok(fICMPCode) {
			rec.ICMPCode = uint8(e.num[fICMPCode])
		}
	}
	if e.ok(fAppProto) {
		rec.AppProto = p.small.get(sc.bytes(e.str[fAppProto]))
	}
	if e.ok(fCommunityID) {
		rec.SensorCommunityID = string(sc.bytes(e.str[fCommunityID]))
	}
	var n names
	if e.ok(fFlowID) {
		id := e.num[fFlowID]
		rec.SensorFlowID = strconv.FormatUint(id, 10)
		n, _ = p.pending.take(id)
		p.recent.add(id)
	}
	if n.app() {
		p.c.joined.Add(1)
		rec.SNI, rec.JA3, rec.JA4 = n.sni, n.ja3, n.ja4
		rec.HTTPHost, rec.UserAgent = n.host, n.ua
		rec.HTTPMethod, rec.HTTPContentType = n.method, n.ctype
	}
	if name, ok := p.cfg.pdns.Lookup(dst); ok {
		rec.DNSName = name
		p.c.dnsNamed.Add(1)
	} else if n.query != "" {
		rec.DNSName = pdns.Normalize(n.query)
		p.c.dnsQueryNamed.Add(1)
	}
	p.c.records.Add(1)
	return true, nil
}

// parseHexByte parses tcp.tcp_flags: one or more hex digits, at most 0xff.
func parseHexByte(b []byte) (uint8, bool) {
	if len(b) == 0 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		d, ok := hexVal(c)
		if !ok {
			return 0, false
		}
		v = v<<4 | d
		if v > 0xff {
			return 0, false
		}
	}
	return uint8(v), true
}

// name returns the string of a name field, or "" (counted) when it is
// longer than MaxNameLen.
func (p *Parser) name(in *interner, sp span) string {
	b := p.sc.bytes(sp)
	if len(b) > MaxNameLen {
		p.c.longNames.Add(1)
		return ""
	}
	return in.get(b)
}

// join keeps n for the current line's flow_id until its flow event.
func (p *Parser) join(n *names) {
	e := &p.ev
	if !e.ok(fFlowID) {
		p.c.noFlowID.Add(1)
		return
	}
	id := e.num[fFlowID]
	if p.recent.has(id) {
		p.c.late.Add(1)
		return
	}
	p.pending.add(id, n)
}

// tls reads the names of a tls event.
func (p *Parser) tls(lineNo int64) error {
	if err := p.checkTypes(lineNo, tlsReads); err != nil {
		return err
	}
	p.c.tls.Add(1)
	e := &p.ev
	var n names
	if e.ok(fTLSSNI) {
		n.sni = p.name(&p.big, e.str[fTLSSNI])
	}
	if e.ok(fTLSJA3Hash) {
		n.ja3 = p.name(&p.big, e.str[fTLSJA3Hash])
	}
	if e.ok(fTLSJA4) {
		n.ja4 = p.name(&p.big, e.str[fTLSJA4])
	}
	if n.app() {
		p.join(&n)
	}
	return nil
}

// http reads the names of an http event.
func (p *Parser) http(lineNo int64) error {
	if err := p.checkTypes(lineNo, httpReads); err != nil {
		return err
	}
	p.c.http.Add(1)
	e := &p.ev
	var n names
	if e.ok(fHTTPHost) {
		n.host = p.name(&p.big, e.str[fHTTPHost])
	}
	if e.ok(fHTTPUserAgent) {
		n.ua = p.name(&p.big, e.str[fHTTPUserAgent])
	}
	if e.ok(fHTTPMethod) {
		n.method = p.name(&p.small, e.str[fHTTPMethod])
	}
	if e.ok(fHTTPContentType) {
		n.ctype = p.name(&p.small, e.str[fHTTPContentType])
	}
	if n.app() {
		p.join(&n)
	}
	return nil
}

// dns reads a dns event: its query name is kept for the flow's own
// record, and the A/AAAA addresses of an answer go to the passive-DNS map.
//
// The event's formats: EVE DNS v1 writes one event per answer record with
// rrname, rrtype and rdata in the dns object; v2 writes one answer event
// with the query's rrname and the records in "answers" (detailed) and/or
// "grouped" (rdata lists by rrtype); v3 (Suricata 8) names the query in
// "queries" and calls the types "request" and "response".
func (p *Parser) dns(lineNo int64) error {
	if err := p.checkTypes(lineNo, dnsReads); err != nil {
		return err
	}
	e := &p.ev
	sc := &p.sc
	answer := e.ok(fDNSType) && (sc.is(e.str[fDNSType], "answer") || sc.is(e.str[fDNSType], "response"))

	// Check every address before using any, so a malformed line has no
	// effect.
	p.addrs = p.addrs[:0]
	if answer {
		switch {
		case len(e.answers) > 0:
			for i := range e.answers {
				a := &e.answers[i]
				want := addrType(sc, a.rrtype, a.has&hasRRType != 0)
				if want == 0 {
					continue
				}
				if a.has&hasRData == 0 {
					return p.fail(&LineError{Line: lineNo, Field: "dns.answers.rdata", Reason: ReasonMissing})
				}
				b := sc.bytes(a.rdata)
				addr, ok := parseAddr(b)
				if !ok || (want == 4) != addr.Is4() {
					return p.fail(&LineError{Line: lineNo, Field: "dns.answers.rdata", Reason: ReasonValue, Value: quoteValue(b)})
				}
				p.addrs = append(p.addrs, addr)
			}
		case len(e.groupedA) > 0 || len(e.groupedAAAA) > 0:
			for _, sp := range e.groupedA {
				b := sc.bytes(sp)
				addr, ok := parseAddr(b)
				if !ok || !addr.Is4() {
					return p.fail(&LineError{Line: lineNo, Field: "dns.grouped.A", Reason: ReasonValue, Value: quoteValue(b)})
				}
				p.addrs = append(p.addrs, addr)
			}
			for _, sp := range e.groupedAAAA {
				b := sc.bytes(sp)
				addr, ok := parseAddr(b)
				if !ok || !addr.Is6() {
					return p.fail(&LineError{Line: lineNo, Field: "dns.grouped.AAAA", Reason: ReasonValue, Value: quoteValue(b)})
				}
				p.addrs = append(p.addrs, addr)
			}
		case e.ok(fDNSRData):
			if want := addrType(sc, e.str[fDNSRRType], e.ok(fDNSRRType)); want != 0 {
				b := sc.bytes(e.str[fDNSRData])
				addr, ok := parseAddr(b)
				if !ok || (want == 4) != addr.Is4() {
					return p.fail(&LineError{Line: lineNo, Field: fDNSRData.String(), Reason: ReasonValue, Value: quoteValue(b)})
				}
				p.addrs = append(p.addrs, addr)
			}
		}
	}

	p.c.dns.Add(1)
	// The query name: v3 queries[0].rrname; else the top-level rrname,
	// except in a v1 answer record (with its own rdata), where rrname
	// names the record.
	var qname string
	switch {
	case e.hasQuery:
		qname = p.name(&p.big, e.query)
	case e.ok(fDNSRRName) && !e.ok(fDNSRData):
		qname = p.name(&p.big, e.str[fDNSRRName])
	}
	if qname != "" {
		p.join(&names{query: qname})
	}
	if len(p.addrs) == 0 {
		return nil
	}
	m := p.cfg.pdns
	switch {
	case len(e.answers) > 0:
		k := 0
		for i := range e.answers {
			a := &e.answers[i]
			if addrType(sc, a.rrtype, a.has&hasRRType != 0) == 0 {
				continue
			}
			addr := p.addrs[k]
			k++
			var own string
			if a.has&hasRRName != 0 {
				own = p.name(&p.big, a.rrname)
				m.Observe(own, addr)
			}
			if qname != "" && qname != own {
				// The query name last: it is what the client asked
				// for, and Lookup returns the most recent name.
				m.Observe(qname, addr)
			}
			p.countObserved(own != "" || qname != "")
		}
	case len(e.groupedA) > 0 || len(e.groupedAAAA) > 0:
		for _, addr := range p.addrs {
			if qname != "" {
				m.Observe(qname, addr)
			}
			p.countObserved(qname != "")
		}
	default:
		var own string
		if e.ok(fDNSRRName) {
			own = p.name(&p.big, e.str[fDNSRRName])
			m.Observe(own, p.addrs[0])
		}
		p.countObserved(own != "")
	}
	return nil
}

func (p *Parser) countObserved(named bool) {
	if named {
		p.c.dnsAnswers.Add(1)
	} else {
		p.c.dnsNoName.Add(1)
	}
}

// addrType returns 4 for an A record, 6 for AAAA, 0 for anything else.
func addrType(sc *scanner, rrtype span, has bool) int {
	switch {
	case !has:
		return 0
	case sc.is(rrtype, "A"):
		return 4
	case sc.is(rrtype, "AAAA"):
		return 6
	}
	return 0
}
