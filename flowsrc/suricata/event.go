package suricata

// field names one value this package reads from an EVE line.
type field uint8

const (
	fEventType field = iota
	fFlowID
	fSrcIP
	fDestIP
	fSrcPort
	fDestPort
	fProto
	fAppProto
	fCommunityID
	fICMPType
	fICMPCode
	fFlow
	fFlowStart
	fFlowEnd
	fBytesToServer
	fBytesToClient
	fPktsToServer
	fPktsToClient
	fTCP
	fTCPFlags
	fTLS
	fTLSSNI
	fTLSJA3
	fTLSJA3Hash
	fTLSJA4
	fHTTP
	fHTTPHost
	fHTTPUserAgent
	fHTTPMethod
	fHTTPContentType
	fDNS
	fDNSType
	fDNSRRName
	fDNSRRType
	fDNSRData
	fDNSAnswers
	fDNSGrouped
	fDNSQueries
	numFields
)

// fieldNames are the dotted EVE names used in LineError.Field.
var fieldNames = [numFields]string{
	fEventType:       "event_type",
	fFlowID:          "flow_id",
	fSrcIP:           "src_ip",
	fDestIP:          "dest_ip",
	fSrcPort:         "src_port",
	fDestPort:        "dest_port",
	fProto:           "proto",
	fAppProto:        "app_proto",
	fCommunityID:     "community_id",
	fICMPType:        "icmp_type",
	fICMPCode:        "icmp_code",
	fFlow:            "flow",
	fFlowStart:       "flow.start",
	fFlowEnd:         "flow.end",
	fBytesToServer:   "flow.bytes_toserver",
	fBytesToClient:   "flow.bytes_toclient",
	fPktsToServer:    "flow.pkts_toserver",
	fPktsToClient:    "flow.pkts_toclient",
	fTCP:             "tcp",
	fTCPFlags:        "tcp.tcp_flags",
	fTLS:             "tls",
	fTLSSNI:          "tls.sni",
	fTLSJA3:          "tls.ja3",
	fTLSJA3Hash:      "tls.ja3.hash",
	fTLSJA4:          "tls.ja4",
	fHTTP:            "http",
	fHTTPHost:        "http.hostname",
	fHTTPUserAgent:   "http.http_user_agent",
	fHTTPMethod:      "http.http_method",
	fHTTPContentType: "http.http_content_type",
	fDNS:             "dns",
	fDNSType:         "dns.type",
	fDNSRRName:       "dns.rrname",
	fDNSRRType:       "dns.rrtype",
	fDNSRData:        "dns.rdata",
	fDNSAnswers:      "dns.answers",
	fDNSGrouped:      "dns.grouped",
	fDNSQueries:      "dns.queries",
}

func (f field) String() string { return fieldNames[f] }

func bit(fs ...field) uint64 {
	var m uint64
	for _, f := range fs {
		m |= 1 << f
	}
	return m
}

// Masks of the fields each nested object holds (cleared when the object
// is read again: a repeated key replaces the whole value, as in
// encoding/json) and of the fields each event type reads (a wrong type in
// one of them makes the line malformed).
var (
	flowObjMask = bit(fFlowStart, fFlowEnd, fBytesToServer, fBytesToClient, fPktsToServer, fPktsToClient)
	tcpObjMask  = bit(fTCPFlags)
	ja3ObjMask  = bit(fTLSJA3Hash)
	tlsObjMask  = bit(fTLSSNI, fTLSJA3, fTLSJA4) | ja3ObjMask
	httpObjMask = bit(fHTTPHost, fHTTPUserAgent, fHTTPMethod, fHTTPContentType)
	dnsObjMask  = bit(fDNSType, fDNSRRName, fDNSRRType, fDNSRData, fDNSAnswers, fDNSGrouped, fDNSQueries)

	flowReads = bit(fEventType, fFlowID, fSrcIP, fDestIP, fSrcPort, fDestPort, fProto, fAppProto,
		fCommunityID, fICMPType, fICMPCode, fFlow, fTCP) | flowObjMask | tcpObjMask
	tlsReads  = bit(fEventType, fFlowID, fTLS) | tlsObjMask
	httpReads = bit(fEventType, fFlowID, fHTTP) | httpObjMask
	dnsReads  = bit(fEventType, fFlowID, fDNS) | dnsObjMask
)

// answer is one element of dns.answers.
type answer struct {
	rrname, rrtype, rdata span
	has                   uint8 // hasRRName | hasRRType | hasRData
}

const (
	hasRRName = 1 << iota
	hasRRType
	hasRData
)

// event holds what the scan of one line found. Strings are spans into the
// line; has and bad are bit sets over field: present with the expected
// type, and present with a wrong type or out of range.
type event struct {
	has, bad uint64
	str      [numFields]span
	num      [numFields]uint64

	answers     []answer
	groupedA    []span
	groupedAAAA []span
	query       span // dns.queries[0].rrname
	hasQuery    bool
}

func (e *event) reset() {
	e.has, e.bad = 0, 0
	e.answers = e.answers[:0]
	e.groupedA = e.groupedA[:0]
	e.groupedAAAA = e.groupedAAAA[:0]
	e.hasQuery = false
}

func (e *event) ok(f field) bool { return e.has&(1<<f) != 0 }

func (e *event) set(f field)   { e.has |= 1 << f; e.bad &^= 1 << f }
func (e *event) wrong(f field) { e.has &^= 1 << f; e.bad |= 1 << f }
func (e *event) clear(m uint64) {
	e.has &^= m
	e.bad &^= m
}

// firstBad returns the lowest field of mask that had a wrong type.
func (e *event) firstBad(mask uint64) (field, bool) {
	m := e.bad & mask
	if m == 0 {
		return 0, false
	}
	for f := field(0); f < numFields; f++ {
		if m&(1<<f) != 0 {
			return f, true
		}
	}
	return 0, false
}

// readStr reads a string value into f: null clears it, another type marks
// it wrong.
func (p *Parser) readStr(f field) bool {
	sc := &p.sc
	switch sc.peek() {
	case '"':
		sp, ok := sc.str()
		if ok {
			p.ev.str[f] = sp
			p.ev.set(f)
		}
		return ok
	case 'n':
		p.ev.clear(1 << f)
		return sc.lit("null")
	}
	p.ev.wrong(f)
	return sc.skip()
}

// readUint reads an unsigned integer no larger than max into f.
func (p *Parser) readUint(f field, max uint64) bool {
	sc := &p.sc
	c := sc.peek()
	if c == '-' || '0' <= c && c <= '9' {
		t, ok := sc.num()
		if !ok {
			return false
		}
		if v, ok := parseUint(t); ok && v <= max {
			p.ev.num[f] = v
			p.ev.set(f)
		} else {
			p.ev.wrong(f)
		}
		return true
	}
	if c == 'n' {
		p.ev.clear(1 << f)
		return sc.lit("null")
	}
	p.ev.wrong(f)
	return sc.skip()
}

// enter starts reading a nested object into group f whose fields are in
// mask: it returns isObj true with the '{' consumed, or false after
// consuming a null (which clears the group) or a value of another type
// (which marks it wrong).
func (p *Parser) enter(f field, mask uint64) (isObj, ok bool) {
	sc := &p.sc
	p.ev.clear(mask | 1<<f)
	switch sc.peek() {
	case '{':
		p.ev.set(f)
		return true, sc.open('{')
	case 'n':
		return false, sc.lit("null")
	}
	p.ev.wrong(f)
	return false, sc.skip()
}

// object reads the nested object of group f (its fields in mask; see
// enter), handing each member's key to member, which reads or skips the
// value and reports false on a malformed one.
func (p *Parser) object(f field, mask uint64, member func(key []byte) bool) bool {
	isObj, ok := p.enter(f, mask)
	if !isObj || !ok {
		return ok
	}
	sc := &p.sc
	for first := true; ; first = false {
		key, end, ok := sc.member(first)
		if !ok || end {
			return ok
		}
		if !member(sc.bytes(key)) {
			return false
		}
	}
}

// top reads the line's top-level object.
func (p *Parser) top() bool {
	sc := &p.sc
	if sc.peek() != '{' {
		if sc.i >= len(sc.b) {
			return sc.fail("unexpected end of line")
		}
		return sc.fail("line is not a JSON object")
	}
	if !sc.open('{') {
		return false
	}
	const maxU64 = 1<<64 - 1
	for first := true; ; first = false {
		key, end, ok := sc.member(first)
		if !ok {
			return false
		}
		if end {
			break
		}
		switch string(sc.bytes(key)) {
		case "event_type":
			ok = p.readStr(fEventType)
		case "flow_id":
			ok = p.readUint(fFlowID, maxU64)
		case "src_ip":
			ok = p.readStr(fSrcIP)
		case "dest_ip":
			ok = p.readStr(fDestIP)
		case "src_port":
			ok = p.readUint(fSrcPort, 0xffff)
		case "dest_port":
			ok = p.readUint(fDestPort, 0xffff)
		case "proto":
			ok = p.readStr(fProto)
		case "app_proto":
			ok = p.readStr(fAppProto)
		case "community_id":
			ok = p.readStr(fCommunityID)
		case "icmp_type":
			ok = p.readUint(fICMPType, 0xff)
		case "icmp_code":
			ok = p.readUint(fICMPCode, 0xff)
		case "flow":
			ok = p.flowObj()
		case "tcp":
			ok = p.tcpObj()
		case "tls":
			ok = p.tlsObj()
		case "http":
			ok = p.httpObj()
		case "dns":
			ok = p.dnsObj()
		default:
			ok = sc.skip()
		}
		if !ok {
			return false
		}
	}
	sc.ws()
	if sc.i != len(sc.b) {
		return sc.fail("data after the JSON object")
	}
	return true
}

func (p *Parser) flowObj() bool {
	const maxU64 = 1<<64 - 1
	return p.object(fFlow, flowObjMask, func(k []byte) bool {
		switch string(k) {
		case "start":
			return p.readStr(fFlowStart)
		case "end":
			return p.readStr(fFlowEnd)
		case "bytes_toserver":
			return p.readUint(fBytesToServer, maxU64)
		case "bytes_toclient":
			return p.readUint(fBytesToClient, maxU64)
		case "pkts_toserver":
			return p.readUint(fPktsToServer, maxU64)
		case "pkts_toclient":
			return p.readUint(fPktsToClient, maxU64)
		}
		return p.sc.skip()
	})
}

func (p *Parser) tcpObj() bool {
	return p.object(fTCP, tcpObjMask, func(k []byte) bool {
		if string(k) == "tcp_flags" {
			return p.readStr(fTCPFlags)
		}
		return p.sc.skip()
	})
}

func (p *Parser) tlsObj() bool {
	return p.object(fTLS, tlsObjMask, func(k []byte) bool {
		switch string(k) {
		case "sni":
			return p.readStr(fTLSSNI)
		case "ja4":
			return p.readStr(fTLSJA4)
		case "ja3":
			return p.ja3Obj()
		}
		return p.sc.skip()
	})
}

func (p *Parser) ja3Obj() bool {
	return p.object(fTLSJA3, ja3ObjMask, func(k []byte) bool {
		if string(k) == "hash" {
			return p.readStr(fTLSJA3Hash)
		}
		return p.sc.skip()
	})
}

func (p *Parser) httpObj() bool {
	return p.object(fHTTP, httpObjMask, func(k []byte) bool {
		switch string(k) {
		case "hostname":
			return p.readStr(fHTTPHost)
		case "http_user_agent":
			return p.readStr(fHTTPUserAgent)
		case "http_method":
			return p.readStr(fHTTPMethod)
		case "http_content_type":
			return p.readStr(fHTTPContentType)
		}
		return p.sc.skip()
	})
}

func (p *Parser) dnsObj() bool {
	e := &p.ev
	e.answers = e.answers[:0]
	e.groupedA = e.groupedA[:0]
	e.groupedAAAA = e.groupedAAAA[:0]
	e.hasQuery = false
	return p.object(fDNS, dnsObjMask, func(k []byte) bool {
		switch string(k) {
		case "type":
			return p.readStr(fDNSType)
		case "rrname":
			return p.readStr(fDNSRRName)
		case "rrtype":
			return p.readStr(fDNSRRType)
		case "rdata":
			return p.readStr(fDNSRData)
		case "answers":
			return p.answersArr()
		case "grouped":
			return p.groupedObj()
		case "queries":
			return p.queriesArr()
		}
		return p.sc.skip()
	})
}

// array starts reading an array value into f, like enter.
func (p *Parser) array(f field) (isArr, ok bool) {
	sc := &p.sc
	p.ev.clear(1 << f)
	switch sc.peek() {
	case '[':
		p.ev.set(f)
		return true, sc.open('[')
	case 'n':
		return false, sc.lit("null")
	}
	p.ev.wrong(f)
	return false, sc.skip()
}

// answersArr reads dns.answers: objects with string rrname, rrtype and
// rdata (rdata of other types, as in SOA answers, is left out).
func (p *Parser) answersArr() bool {
	e := &p.ev
	e.answers = e.answers[:0]
	isArr, ok := p.array(fDNSAnswers)
	if !isArr || !ok {
		return ok
	}
	sc := &p.sc
	for first := true; ; first = false {
		end, ok := sc.element(first)
		if !ok || end {
			return ok
		}
		if sc.peek() != '{' {
			e.wrong(fDNSAnswers)
			if !sc.skip() {
				return false
			}
			continue
		}
		if !sc.open('{') {
			return false
		}
		var a answer
		for first := true; ; first = false {
			key, end, ok := sc.member(first)
			if !ok {
				return false
			}
			if end {
				break
			}
			var bit uint8
			var dst *span
			switch string(sc.bytes(key)) {
			case "rrname":
				bit, dst = hasRRName, &a.rrname
			case "rrtype":
				bit, dst = hasRRType, &a.rrtype
			case "rdata":
				bit, dst = hasRData, &a.rdata
			default:
				if !sc.skip() {
					return false
				}
				continue
			}
			switch sc.peek() {
			case '"':
				sp, ok := sc.str()
				if !ok {
					return false
				}
				*dst = sp
				a.has |= bit
			case 'n':
				a.has &^= bit
				if !sc.lit("null") {
					return false
				}
			default:
				// Not a string: a name we cannot use (rdata of
				// non-address answers may be anything).
				a.has &^= bit
				if bit != hasRData {
					e.wrong(fDNSAnswers)
				}
				if !sc.skip() {
					return false
				}
			}
		}
		e.answers = append(e.answers, a)
	}
}

// groupedObj reads dns.grouped: the A and AAAA arrays of strings.
func (p *Parser) groupedObj() bool {
	e := &p.ev
	e.groupedA = e.groupedA[:0]
	e.groupedAAAA = e.groupedAAAA[:0]
	isObj, ok := p.enter(fDNSGrouped, 0)
	if !isObj || !ok {
		return ok
	}
	sc := &p.sc
	for first := true; ; first = false {
		key, end, ok := sc.member(first)
		if !ok || end {
			return ok
		}
		var dst *[]span
		switch string(sc.bytes(key)) {
		case "A":
			dst = &e.groupedA
		case "AAAA":
			dst = &e.groupedAAAA
		default:
			if !sc.skip() {
				return false
			}
			continue
		}
		*dst = (*dst)[:0]
		if c := sc.peek(); c != '[' {
			if c != 'n' {
				e.wrong(fDNSGrouped)
			}
			if !sc.skip() {
				return false
			}
			continue
		}
		if !sc.open('[') {
			return false
		}
		for first := true; ; first = false {
			end, ok := sc.element(first)
			if !ok {
				return false
			}
			if end {
				break
			}
			if sc.peek() != '"' {
				e.wrong(fDNSGrouped)
				if !sc.skip() {
					return false
				}
				continue
			}
			sp, ok := sc.str()
			if !ok {
				return false
			}
			*dst = append(*dst, sp)
		}
	}
}

// queriesArr reads dns.queries (EVE DNS v3) and keeps the first rrname.
func (p *Parser) queriesArr() bool {
	e := &p.ev
	e.hasQuery = false
	isArr, ok := p.array(fDNSQueries)
	if !isArr || !ok {
		return ok
	}
	sc := &p.sc
	for first, n := true, 0; ; first, n = false, n+1 {
		end, ok := sc.element(first)
		if !ok || end {
			return ok
		}
		if sc.peek() != '{' {
			e.wrong(fDNSQueries)
			if !sc.skip() {
				return false
			}
			continue
		}
		if !sc.open('{') {
			return false
		}
		for first := true; ; first = false {
			key, end, ok := sc.member(first)
			if !ok {
				return false
			}
			if end {
				break
			}
			if !sc.is(key, "rrname") {
				if !sc.skip() {
					return false
				}
				continue
			}
			switch sc.peek() {
			case '"':
				sp, ok := sc.str()
				if !ok {
					return false
				}
				if n == 0 {
					e.query, e.hasQuery = sp, true
				}
			case 'n':
				if n == 0 {
					e.hasQuery = false
				}
				if !sc.lit("null") {
					return false
				}
			default:
				e.wrong(fDNSQueries)
				if !sc.skip() {
					return false
				}
			}
		}
	}
}
