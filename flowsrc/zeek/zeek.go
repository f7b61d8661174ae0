package zeek

import (
	"bytes"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
)

// MaxNameLen is the longest name (server name, host, user agent, query,
// ...) a record or the Joiner keeps; longer values are cut and counted in
// Stats.Truncated.
const MaxNameLen = 1024

// Parser turns Zeek log lines, handed to it one at a time in file order,
// into flow records. It reads conn.log lines into records and ssl.log,
// http.log and dns.log lines into its Joiner (and passive-DNS map), in
// both of Zeek's formats: TSV with its header (a line at a time, so the
// header state carries from line to line) and JSON lines; the two may
// even alternate.
//
// A Parser is not safe for concurrent use, except Stats, which may be
// called from any goroutine.
type Parser struct {
	cfg    config
	hdr    tsvHeader
	vals   [numFields]value
	have   fieldSet
	buf    []byte // decoded text of the field last read
	js     jsonScanner
	rec    flowsrc.Record
	intern map[string]string

	// The first bad field of the current line.
	failID  fieldID
	failWhy string
	failRaw []byte

	lines, headers, blank, records    atomic.Uint64
	ssl, http, dns, other, malformed  atomic.Uint64
	joined, resolved, observed, trunc atomic.Uint64

	mu         sync.Mutex // guards errs and otherPaths
	errs       []LineError
	otherPaths []string
}

// tsvHeader is the state of the current TSV header block.
type tsvHeader struct {
	sep, setSep, empty, unset []byte
	path                      logPath
	pathName                  []byte
	cols                      []fieldID
	fields                    fieldSet
	haveFields                bool
}

func (h *tsvHeader) reset(sep []byte) {
	h.sep = append(h.sep[:0], sep...)
	h.setSep = append(h.setSep[:0], ',')
	h.empty = append(h.empty[:0], "(empty)"...)
	h.unset = append(h.unset[:0], '-')
	h.path, h.pathName = pathUnknown, h.pathName[:0]
	h.cols, h.fields, h.haveFields = h.cols[:0], 0, false
}

// NewParser returns a Parser configured by opts (WithJoiner, WithPDNS,
// WithPath, WithSensor, WithMaxErrors).
func NewParser(opts ...Option) *Parser {
	p := &Parser{cfg: newConfig(opts), intern: make(map[string]string)}
	p.hdr.reset([]byte{'\t'})
	return p
}

// Line parses one line (with or without its line ending) and calls emit
// for the record it yields, if any: a conn.log entry yields one record, a
// header, an application log entry or a bad line none. lineNo is the
// line's number, used only in error reports. The *Record passed to emit is
// only valid during the call; copy the value to keep it. emit may be nil
// (to feed application logs only). Line does not retain line.
//
// Bad lines are counted in Stats, never fatal: Line never fails and never
// panics.
func (p *Parser) Line(line []byte, lineNo int64, emit func(*flowsrc.Record)) {
	p.lines.Add(1)
	for n := len(line); n > 0 && (line[n-1] == '\n' || line[n-1] == '\r'); n = len(line) {
		line = line[:n-1]
	}
	i := 0
	for i < len(line) && isSpace(line[i]) {
		i++
	}
	switch {
	case i == len(line):
		p.blank.Add(1)
	case line[0] == '#':
		p.header(line, lineNo)
	case line[i] == '{':
		p.jsonLine(line[i:], lineNo, emit)
		p.release()
	default:
		p.tsvLine(line, lineNo, emit)
		p.release()
	}
}

// release drops the parser's references into the line.
func (p *Parser) release() {
	for s := p.have; s != 0; s &= s - 1 {
		p.vals[bits.TrailingZeros64(uint64(s))] = value{}
	}
	p.have, p.failRaw = 0, nil
	p.js.b = nil
}

// Joiner returns the parser's Joiner (the one given with WithJoiner, or
// its own).
func (p *Parser) Joiner() *Joiner { return p.cfg.joiner }

// Stats returns a snapshot of the parser's counters. Safe to call
// concurrently with Line.
func (p *Parser) Stats() Stats {
	s := Stats{
		Lines: p.lines.Load(), Headers: p.headers.Load(), Blank: p.blank.Load(),
		Records: p.records.Load(), SSL: p.ssl.Load(), HTTP: p.http.Load(), DNS: p.dns.Load(),
		OtherPath: p.other.Load(), Malformed: p.malformed.Load(),
		Joined: p.joined.Load(), Resolved: p.resolved.Load(), Observed: p.observed.Load(),
		Truncated: p.trunc.Load(),
	}
	p.mu.Lock()
	s.Errors = append([]LineError(nil), p.errs...)
	s.OtherPaths = append([]string(nil), p.otherPaths...)
	p.mu.Unlock()
	return s
}

// report counts a bad line and keeps its description if there is room.
func (p *Parser) report(lineNo int64, path string, kind error, detail string) {
	p.malformed.Add(1)
	p.mu.Lock()
	if len(p.errs) < p.cfg.maxErrors {
		p.errs = append(p.errs, LineError{Line: lineNo, Path: path, Err: kind, Detail: detail})
	}
	p.mu.Unlock()
}

// countOther counts a data line of a log this package does not read.
func (p *Parser) countOther(name []byte) {
	p.other.Add(1)
	if len(name) == 0 {
		name = []byte("(unknown)")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.otherPaths) >= maxOtherPaths {
		return
	}
	for _, s := range p.otherPaths {
		if s == string(name) {
			return
		}
	}
	p.otherPaths = append(p.otherPaths, string(name))
}

// quote quotes at most 64 bytes of b for an error message.
func quote(b []byte) string {
	if len(b) > 64 {
		return strconv.Quote(string(b[:64])) + "..."
	}
	return strconv.Quote(string(b))
}

// ---- TSV ----

// header handles a line starting with '#'.
func (p *Parser) header(line []byte, lineNo int64) {
	name, rest := line, []byte(nil)
	for i, c := range line {
		if c == ' ' || c == '\t' || bytes.HasPrefix(line[i:], p.hdr.sep) {
			name, rest = line[:i], line[i:]
			if c == ' ' || c == '\t' {
				rest = rest[1:]
			} else {
				rest = rest[len(p.hdr.sep):]
			}
			break
		}
	}
	switch string(name) {
	case "#separator":
		sep := appendUnescape(nil, bytes.TrimLeft(rest, " \t"))
		if len(sep) == 0 {
			p.report(lineNo, "", ErrMalformed, "empty #separator")
			return
		}
		p.hdr.reset(sep)
	case "#set_separator":
		if v := appendUnescape(p.hdr.setSep[:0], rest); len(v) > 0 {
			p.hdr.setSep = v
		} else {
			p.report(lineNo, "", ErrMalformed, "empty #set_separator")
			return
		}
	case "#empty_field":
		p.hdr.empty = appendUnescape(p.hdr.empty[:0], rest)
	case "#unset_field":
		p.hdr.unset = appendUnescape(p.hdr.unset[:0], rest)
	case "#path":
		p.hdr.pathName = appendUnescape(p.hdr.pathName[:0], rest)
		p.hdr.path = pathOf(p.hdr.pathName)
	case "#fields":
		p.hdr.cols, p.hdr.fields = p.hdr.cols[:0], 0
		for {
			f, i := rest, bytes.Index(rest, p.hdr.sep)
			if i >= 0 {
				f = rest[:i]
			}
			id := lookupField(f)
			p.hdr.cols = append(p.hdr.cols, id)
			p.hdr.fields |= 1 << id
			if i < 0 {
				break
			}
			rest = rest[i+len(p.hdr.sep):]
		}
		p.hdr.haveFields = true
	}
	// #types, #open, #close and comments need nothing.
	p.headers.Add(1)
}

// blockPath is the log of the current TSV block: its #path, else the
// configured one, else recognised from its #fields.
func (p *Parser) blockPath() (logPath, []byte) {
	switch {
	case p.hdr.path != pathUnknown:
		return p.hdr.path, p.hdr.pathName
	case p.cfg.path != pathUnknown:
		return p.cfg.path, p.cfg.pathName
	}
	return inferPath(p.hdr.fields), nil
}

// tsvLine handles a TSV data line.
func (p *Parser) tsvLine(line []byte, lineNo int64, emit func(*flowsrc.Record)) {
	if !p.hdr.haveFields {
		p.report(lineNo, "", ErrNoHeader, "")
		return
	}
	path, name := p.blockPath()
	if path == pathOther || path == pathUnknown {
		p.countOther(name)
		return
	}
	p.have = 0
	cols, sep := p.hdr.cols, p.hdr.sep
	n := 0
	for rest := line; ; n++ {
		f, i := rest, -1
		if len(sep) == 1 {
			i = bytes.IndexByte(rest, sep[0])
		} else {
			i = bytes.Index(rest, sep)
		}
		if i >= 0 {
			f = rest[:i]
		}
		if n < len(cols) {
			if id := cols[n]; id != fNone {
				v := &p.vals[id]
				switch {
				case bytes.Equal(f, p.hdr.unset):
					*v = value{b: f, kind: kUnset}
				case bytes.Equal(f, p.hdr.empty):
					*v = value{b: f, kind: kEmpty}
				default:
					*v = value{b: f, kind: kText, esc: bytes.IndexByte(f, '\\') >= 0}
				}
				p.have |= 1 << id
			}
		}
		if i < 0 {
			break
		}
		rest = rest[i+len(sep):]
	}
	if n+1 != len(cols) {
		p.report(lineNo, path.String(), ErrMalformed, fmt.Sprintf("%d fields, #fields names %d", n+1, len(cols)))
		return
	}
	p.entry(path, lineNo, emit)
}

// ---- JSON ----

func (p *Parser) jsonLine(line []byte, lineNo int64, emit func(*flowsrc.Record)) {
	p.have = 0
	err := p.js.begin(line)
	for err == nil {
		var key, v value
		var done bool
		key, v, done, err = p.js.next()
		if err != nil || done {
			break
		}
		k := key.b
		if key.esc {
			p.buf = appendJSONUnquote(p.buf[:0], k)
			k = p.buf
		}
		if id := lookupField(k); id != fNone {
			p.vals[id] = v
			p.have |= 1 << id
		}
	}
	if err != nil {
		p.report(lineNo, "", ErrMalformed, fmt.Sprintf("%v at byte %d", err, min(p.js.i, len(line))+1))
		return
	}
	path, name := p.cfg.path, p.cfg.pathName
	if p.have.has(fPath) {
		if v := &p.vals[fPath]; v.kind != kString {
			p.report(lineNo, "", ErrMalformed, "field \"_path\": not a string: "+quote(v.b))
			return
		}
		name, _ = p.text(fPath)
		path = pathOf(name)
	}
	if path == pathUnknown {
		path = inferPath(p.have)
	}
	if path == pathOther || path == pathUnknown {
		p.countOther(name)
		return
	}
	p.entry(path, lineNo, emit)
}

// ---- field access ----

// bad records the first bad field of the line.
func (p *Parser) bad(id fieldID, why string) {
	if p.failWhy == "" {
		p.failID, p.failWhy, p.failRaw = id, why, p.vals[id].b
	}
}

// text returns the decoded text of a scalar field, valid until the next
// call; ok is false when the field is absent, unset or null. The empty
// marker gives empty text.
func (p *Parser) text(id fieldID) ([]byte, bool) {
	if !p.have.has(id) {
		return nil, false
	}
	v := &p.vals[id]
	switch v.kind {
	case kUnset:
		return nil, false
	case kEmpty:
		return nil, true
	case kText:
		if v.esc {
			p.buf = appendUnescape(p.buf[:0], v.b)
			return p.buf, true
		}
		return v.b, true
	case kString:
		if v.esc {
			p.buf = appendJSONUnquote(p.buf[:0], v.b)
			return p.buf, true
		}
		return v.b, true
	case kNumber, kBool:
		return v.b, true
	}
	p.bad(id, "not a single value")
	return nil, false
}

// first returns the decoded first element of a set or vector field (TSV:
// set_separator-separated; JSON: an array, or a plain string).
func (p *Parser) first(id fieldID) ([]byte, bool) {
	if !p.have.has(id) {
		return nil, false
	}
	v := &p.vals[id]
	switch v.kind {
	case kText:
		f := v.b
		if i := bytes.Index(f, p.hdr.setSep); i >= 0 {
			f = f[:i]
		}
		p.buf = appendUnescape(p.buf[:0], f)
		return p.buf, true
	case kArray:
		a := newArrayScanner(v.b)
		e, ok, err := a.next()
		if err != nil || ok && e.kind != kString {
			p.bad(id, "not an array of strings")
			return nil, false
		}
		if !ok {
			return nil, false
		}
		p.buf = appendJSONUnquote(p.buf[:0], e.b)
		return p.buf, true
	}
	return p.text(id)
}

// each calls fn with every decoded element of a set or vector field.
func (p *Parser) each(id fieldID, fn func([]byte)) {
	if !p.have.has(id) {
		return
	}
	v := &p.vals[id]
	switch v.kind {
	case kText:
		rest := v.b
		for {
			f := rest
			i := bytes.Index(rest, p.hdr.setSep)
			if i >= 0 {
				f, rest = rest[:i], rest[i+len(p.hdr.setSep):]
			}
			if v.esc {
				p.buf = appendUnescape(p.buf[:0], f)
				f = p.buf
			}
			fn(f)
			if i < 0 {
				return
			}
		}
	case kArray:
		a := newArrayScanner(v.b)
		for {
			e, ok, err := a.next()
			if err != nil || ok && e.kind != kString {
				p.bad(id, "not an array of strings")
				return
			}
			if !ok {
				return
			}
			b := e.b
			if e.esc {
				p.buf = appendJSONUnquote(p.buf[:0], b)
				b = p.buf
			}
			fn(b)
		}
	case kString:
		b, _ := p.text(id)
		fn(b)
	case kUnset, kEmpty:
	default:
		p.bad(id, "not a list")
	}
}

// count reads a Zeek count.
func (p *Parser) count(id fieldID) (uint64, bool) {
	b, ok := p.text(id)
	if !ok {
		return 0, false
	}
	n, ok := parseUint(b)
	if !ok {
		p.bad(id, "not a count")
	}
	return n, ok
}

// port reads a port (or an ICMP type or code).
func (p *Parser) port(id fieldID) uint16 {
	n, ok := p.count(id)
	if ok && n > 65535 {
		p.bad(id, "not a port")
		return 0
	}
	return uint16(n)
}

// addr reads a required address.
func (p *Parser) addr(id fieldID) netip.Addr {
	b, ok := p.text(id)
	if !ok {
		p.bad(id, "missing")
		return netip.Addr{}
	}
	a, ok := parseAddr(b)
	if !ok {
		p.bad(id, "not an address")
	}
	return a
}

// keep returns a field's text as a string of at most MaxNameLen bytes.
func (p *Parser) keep(b []byte) string {
	if len(b) > MaxNameLen {
		p.trunc.Add(1)
		b = b[:MaxNameLen]
	}
	return string(b)
}

// keepText returns the kept text of a scalar field, "" when absent.
func (p *Parser) keepText(id fieldID) string {
	if b, ok := p.text(id); ok && len(b) > 0 {
		return p.keep(b)
	}
	return ""
}

// ---- entries ----

// entry turns the fields read from a data line into a record or names.
func (p *Parser) entry(path logPath, lineNo int64, emit func(*flowsrc.Record)) {
	p.failWhy = ""
	switch path {
	case pathConn:
		p.conn(emit)
	case pathSSL:
		p.sslEntry()
	case pathHTTP:
		p.httpEntry()
	case pathDNS:
		p.dnsEntry()
	}
	if p.failWhy != "" {
		detail := fmt.Sprintf("field %q: %s", fieldNames[p.failID], p.failWhy)
		if p.have.has(p.failID) {
			detail += ": " + quote(p.failRaw)
		}
		p.report(lineNo, path.String(), ErrMalformed, detail)
		return
	}
	switch path {
	case pathConn:
		p.records.Add(1)
	case pathSSL:
		p.ssl.Add(1)
	case pathHTTP:
		p.http.Add(1)
	case pathDNS:
		p.dns.Add(1)
	}
}

// conn builds and emits the record of a conn.log entry.
func (p *Parser) conn(emit func(*flowsrc.Record)) {
	r := &p.rec
	*r = flowsrc.Record{SamplingRate: 1, Initiator: flowsrc.InitiatorSrc, Exporter: p.cfg.sensor}

	if b, ok := p.text(fTS); !ok {
		p.bad(fTS, "missing")
	} else if t, ok := parseEpoch(b); !ok {
		p.bad(fTS, "not a time")
	} else {
		r.Start, r.End = t, t
	}
	if b, ok := p.text(fDuration); ok {
		sec, nsec, _, ok := parseSeconds(b)
		if !ok || sec > maxSeconds {
			p.bad(fDuration, "not an interval")
		} else {
			r.End = r.Start.Add(time.Duration(sec)*time.Second + time.Duration(nsec))
		}
	}
	r.Src, r.Dst = p.addr(fOrigH), p.addr(fRespH)
	sport, dport := p.port(fOrigP), p.port(fRespP)

	ipProto, hasIPProto := p.count(fIPProto)
	if hasIPProto && ipProto > 255 {
		p.bad(fIPProto, "not a protocol number")
	}
	proto, _ := p.text(fProto)
	icmp := false
	switch string(proto) {
	case "tcp":
		r.Proto = 6
	case "udp":
		r.Proto = 17
	case "icmp":
		icmp = true
		switch {
		case hasIPProto && (ipProto == 1 || ipProto == 58):
			r.Proto = uint8(ipProto)
		case r.Src.Is6() && !r.Src.Is4In6():
			r.Proto = 58
		default:
			r.Proto = 1
		}
	case "unknown_transport", "":
		r.Proto = uint8(ipProto)
	default:
		if !hasIPProto {
			p.bad(fProto, "unknown protocol")
		}
		r.Proto = uint8(ipProto)
	}
	if icmp {
		// Zeek logs the ICMP type as orig_p and, as resp_p, the code of a
		// one-way message or the counterpart type of a request/reply
		// (whose code is 0).
		if sport > 255 || dport > 255 {
			p.bad(fOrigP, "not an ICMP type and code")
		}
		r.HasICMP, r.ICMPType = true, uint8(sport)
		if !icmpTwoWay(r.Proto == 58, r.ICMPType) {
			r.ICMPCode = uint8(dport)
		}
	} else {
		r.SrcPort, r.DstPort = sport, dport
	}

	if b, ok := p.text(fService); ok {
		r.AppProto = appProto(b, p.intern)
	}

	ob, okOB := p.count(fOrigBytes)
	rb, okRB := p.count(fRespBytes)
	oib, okOIB := p.count(fOrigIPBytes)
	rib, okRIB := p.count(fRespIPBytes)
	switch {
	case okOB && okRB, (okOB || okRB) && !okOIB && !okRIB:
		r.BytesToServer, r.BytesToClient, r.ByteCountSource = ob, rb, "payload"
	case okOIB || okRIB:
		r.BytesToServer, r.BytesToClient, r.ByteCountSource = oib, rib, "ip"
	}
	r.PktsToServer, _ = p.count(fOrigPkts)
	r.PktsToClient, _ = p.count(fRespPkts)

	if p.failWhy != "" {
		return
	}
	r.SensorFlowID = p.keepText(fUID)
	r.SensorCommunityID = p.keepText(fCommunityID)
	if p.failWhy != "" {
		return
	}

	if n, ok := p.cfg.joiner.Take(r.SensorFlowID); ok {
		r.SNI, r.JA3, r.JA4 = n.SNI, n.JA3, n.JA4
		r.HTTPHost, r.UserAgent, r.HTTPMethod, r.HTTPContentType = n.HTTPHost, n.UserAgent, n.HTTPMethod, n.HTTPContent
		r.DNSName = n.DNSQuery
		p.joined.Add(1)
	}
	if r.DNSName == "" && p.cfg.pdns != nil {
		if name, ok := p.cfg.pdns.Lookup(r.Dst); ok {
			r.DNSName = name
			p.resolved.Add(1)
		}
	}
	if emit != nil {
		emit(r)
	}
}

// icmpTwoWay reports whether an ICMP (or ICMPv6) type is one of a
// request/reply pair, for which Zeek logs the counterpart type in resp_p.
func icmpTwoWay(v6 bool, typ uint8) bool {
	if v6 {
		switch typ {
		case 128, 129, 130, 131, 133, 134, 135, 136, 139, 140, 144, 145:
			return true
		}
		return false
	}
	switch typ {
	case 0, 8, 9, 10, 13, 14, 15, 16, 17, 18:
		return true
	}
	return false
}

// sslEntry keeps an ssl.log entry's names.
func (p *Parser) sslEntry() {
	n := Names{SNI: p.keepText(fServerName), JA3: p.keepText(fJA3), JA4: p.keepText(fJA4)}
	p.addNames(&n)
}

// httpEntry keeps an http.log entry's names.
func (p *Parser) httpEntry() {
	n := Names{HTTPHost: p.keepText(fHost), UserAgent: p.keepText(fUserAgent), HTTPMethod: p.keepText(fMethod)}
	if b, ok := p.first(fRespMIME); ok && len(b) > 0 {
		n.HTTPContent = p.keep(b)
	}
	p.addNames(&n)
}

// dnsEntry keeps a dns.log entry's query and gives its address answers to
// the passive-DNS map.
func (p *Parser) dnsEntry() {
	q, ok := p.text(fQuery)
	if !ok || len(q) == 0 {
		return
	}
	query := pdns.Normalize(p.keep(q))
	if m := p.cfg.pdns; m != nil && query != "" && p.addressQuery() {
		var addrs [8]netip.Addr
		list := addrs[:0]
		p.each(fAnswers, func(b []byte) {
			if a, ok := parseAddr(b); ok {
				list = append(list, a)
			}
		})
		if p.failWhy != "" {
			return
		}
		for _, a := range list {
			m.Observe(query, a)
		}
		p.observed.Add(uint64(len(list)))
	}
	if p.failWhy == "" {
		p.addNames(&Names{DNSQuery: query})
	}
}

// addressQuery reports whether the dns.log entry asked for addresses: its
// qtype_name is A, AAAA or * (ANY), or is not logged.
func (p *Parser) addressQuery() bool {
	b, ok := p.text(fQtypeName)
	if !ok {
		return true
	}
	switch string(b) {
	case "A", "AAAA", "*", "ANY":
		return true
	}
	return false
}

// addNames gives names to the Joiner under the entry's uid.
func (p *Parser) addNames(n *Names) {
	if p.failWhy != "" || n.IsZero() {
		return
	}
	if uid := p.keepText(fUID); uid != "" && p.failWhy == "" {
		p.cfg.joiner.Add(uid, *n)
	}
}
