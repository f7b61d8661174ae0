package flowsrc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// nfHeader is the part of a NetFlow v9 / IPFIX message header the mapping
// needs.
type nfHeader struct {
	version   uint16
	domain    uint32
	sysUptime uint32 // NetFlow v9 only, ms
	exportSec uint32 // v9 UnixSeconds, IPFIX Export Time
	hdrLen    int
}

func (h *nfHeader) exportNano() int64 { return int64(h.exportSec) * int64(time.Second) }

// decodeNetFlow decodes a NetFlow v9 or IPFIX message. The set walk is our
// own (goflow2 2.2.6 takes the v9 header count for a set count and fails
// on trailing padding, and drops the decoded records of a set whose decode
// ends in error); each set is then decoded with goflow2's set decoders.
func (c *decodeCtx) decodeNetFlow(b []byte) {
	c.dg = b
	var h nfHeader
	var body []byte
	if c.format == FormatNetFlowV9 {
		if len(b) < 20 {
			c.fail(ErrMalformed, 0, 0, nil, "NetFlow v9 header needs 20 bytes, datagram has %d", len(b))
			return
		}
		h = nfHeader{
			version:   9,
			sysUptime: binary.BigEndian.Uint32(b[4:]),
			exportSec: binary.BigEndian.Uint32(b[8:]),
			domain:    binary.BigEndian.Uint32(b[16:]),
			hdrLen:    20,
		}
		body = b[20:]
		c.domain = h.domain
	} else {
		if len(b) < 16 {
			c.fail(ErrMalformed, 0, 0, nil, "IPFIX header needs 16 bytes, datagram has %d", len(b))
			return
		}
		h = nfHeader{
			version:   10,
			exportSec: binary.BigEndian.Uint32(b[4:]),
			domain:    binary.BigEndian.Uint32(b[12:]),
			hdrLen:    16,
		}
		c.domain = h.domain
		length := int(binary.BigEndian.Uint16(b[2:]))
		switch {
		case length < 16:
			c.fail(ErrMalformed, 0, 2, nil, "IPFIX message length %d is below the header size", length)
			return
		case length > len(b):
			c.fail(ErrMalformed, 0, 2, nil, "IPFIX message length %d exceeds the datagram (%d bytes)", length, len(b))
			body = b[16:]
		default:
			body = b[16:length]
			if !allZero(b[length:]) {
				c.fail(ErrMalformed, 0, length, nil, "%d bytes after the IPFIX message (length %d)", len(b)-length, length)
			}
		}
	}

	st := c.d.state(c.exporter)
	if st == nil {
		c.fail(ErrLimit, 0, 0, nil, "exporter limit (%d) reached", c.d.cfg.maxExporters)
		return
	}
	st.mu.Lock()
	defer st.mu.Unlock()

	c.nfRecords = 0
	defer func() {
		// NetFlow v9 has no length field: a header count above the
		// records found is the only sign of a truncated datagram (when
		// nothing else was reported). A lower count is common and
		// harmless: the sets are walked by their lengths.
		if count := int(binary.BigEndian.Uint16(b[2:])); h.version == 9 && c.err == nil && count > c.nfRecords {
			c.fail(ErrMalformed, 0, 2, nil, "header count %d, %d records found: datagram truncated", count, c.nfRecords)
		}
	}()
	off := 0
	for len(body)-off >= 4 {
		id := binary.BigEndian.Uint16(body[off:])
		length := int(binary.BigEndian.Uint16(body[off+2:]))
		pos := h.hdrLen + off
		if length < 4 {
			if !allZero(body[off:]) {
				c.fail(ErrMalformed, uint32(id), pos, nil, "set length %d", length)
			}
			return // zero padding after the last set
		}
		if off+length > len(body) {
			c.fail(ErrMalformed, uint32(id), pos, nil, "set length %d exceeds the %d bytes left", length, len(body)-off)
			return
		}
		set := body[off+4 : off+length]
		off += length
		switch {
		case h.version == 9 && id == 0, h.version == 10 && id == 2:
			c.templateSet(st, &h, id, set, pos+4)
		case h.version == 9 && id == 1, h.version == 10 && id == 3:
			c.optionsTemplateSet(st, &h, id, set, pos+4)
		case id >= 256:
			c.dataSet(st, &h, id, set, pos+4)
		default:
			c.fail(ErrUnsupported, uint32(id), pos, nil, "reserved set ID %d", id)
		}
	}
	if rest := body[off:]; !allZero(rest) {
		c.fail(ErrMalformed, 0, h.hdrLen+off, nil, "%d stray bytes after the last set", len(rest))
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// templateSet splits a (non-options) template set into records, checks
// that each fits, and decodes each with goflow2's DecodeTemplateSet.
func (c *decodeCtx) templateSet(st *exporterState, h *nfHeader, setID uint16, set []byte, pos int) {
	off := 0
	for len(set)-off >= 4 {
		id := binary.BigEndian.Uint16(set[off:])
		count := int(binary.BigEndian.Uint16(set[off+2:]))
		if id == 0 && count == 0 && allZero(set[off:]) {
			return // padding
		}
		if count > c.d.cfg.maxTemplateFields {
			c.fail(ErrLimit, uint32(setID), pos+off, nil, "template %d has %d fields (limit %d)", id, count, c.d.cfg.maxTemplateFields)
			return // cannot find the next record without walking the fields; stop
		}
		end, ok := templateFieldsEnd(set, off+4, count, h.version == 10)
		if !ok {
			c.fail(ErrMalformed, uint32(setID), pos+off, nil, "template %d with %d fields overruns its set (%d bytes)", id, count, len(set))
			return
		}
		rec := set[off:end]
		recPos := pos + off
		off = end
		c.nfRecords++
		if count == 0 {
			c.withdraw(st, h, setID, id, recPos, false)
			continue
		}
		c.buf = *bytes.NewBuffer(rec)
		recs, err := netflow.DecodeTemplateSet(h.version, &c.buf)
		if err != nil || len(recs) != 1 {
			c.fail(ErrMalformed, uint32(setID), recPos, err, "template %d not decoded", id)
			continue
		}
		c.addTemplate(st, h, setID, recs[0].TemplateId, recs[0], recPos)
	}
}

// templateFieldsEnd returns the end offset of count field specifiers
// starting at off (4 bytes each, 8 with an IPFIX enterprise number).
func templateFieldsEnd(set []byte, off, count int, ipfix bool) (int, bool) {
	for range count {
		if len(set)-off < 4 {
			return off, false
		}
		typ := binary.BigEndian.Uint16(set[off:])
		off += 4
		if ipfix && typ&0x8000 != 0 {
			if len(set)-off < 4 {
				return off, false
			}
			off += 4
		}
	}
	return off, true
}

// optionsTemplateSet splits an options template set into records and
// decodes each with goflow2's NetFlow v9 / IPFIX options template decoder.
func (c *decodeCtx) optionsTemplateSet(st *exporterState, h *nfHeader, setID uint16, set []byte, pos int) {
	off := 0
	for {
		rest := set[off:]
		if len(rest) < 4 || allZero(rest) {
			return // padding (some exporters pad with non-zero bytes)
		}
		id := binary.BigEndian.Uint16(rest)
		recPos := pos + off
		var end, nfields int
		if h.version == 9 {
			if len(rest) < 6 {
				c.fail(ErrMalformed, uint32(setID), recPos, nil, "options template %d header truncated", id)
				return
			}
			scopeLen := int(binary.BigEndian.Uint16(rest[2:]))
			optLen := int(binary.BigEndian.Uint16(rest[4:]))
			nfields = scopeLen/4 + optLen/4
			if scopeLen%4 != 0 || optLen%4 != 0 || 6+scopeLen+optLen > len(rest) {
				c.fail(ErrMalformed, uint32(setID), recPos, nil, "options template %d: scope length %d, option length %d in %d bytes", id, scopeLen, optLen, len(rest))
				return
			}
			end = off + 6 + scopeLen + optLen
		} else {
			count := int(binary.BigEndian.Uint16(rest[2:]))
			if count == 0 { // withdrawal: template ID and count only
				off += 4
				c.withdraw(st, h, setID, id, recPos, true)
				continue
			}
			if len(rest) < 6 {
				c.fail(ErrMalformed, uint32(setID), recPos, nil, "options template %d header truncated", id)
				return
			}
			scopeCount := int(binary.BigEndian.Uint16(rest[4:]))
			nfields = count
			if scopeCount > count {
				c.fail(ErrMalformed, uint32(setID), recPos, nil, "options template %d: scope field count %d > field count %d", id, scopeCount, count)
				return
			}
			if count > c.d.cfg.maxTemplateFields {
				c.fail(ErrLimit, uint32(setID), recPos, nil, "options template %d has %d fields (limit %d)", id, count, c.d.cfg.maxTemplateFields)
				return
			}
			var ok bool
			end, ok = templateFieldsEnd(set, off+6, count, true)
			if !ok {
				c.fail(ErrMalformed, uint32(setID), recPos, nil, "options template %d with %d fields overruns its set", id, count)
				return
			}
		}
		if nfields > c.d.cfg.maxTemplateFields {
			c.fail(ErrLimit, uint32(setID), recPos, nil, "options template %d has %d fields (limit %d)", id, nfields, c.d.cfg.maxTemplateFields)
			off = end
			continue
		}
		c.buf = *bytes.NewBuffer(set[off:end])
		off = end
		c.nfRecords++
		if h.version == 9 {
			recs, err := netflow.DecodeNFv9OptionsTemplateSet(&c.buf)
			if err != nil || len(recs) != 1 {
				c.fail(ErrMalformed, uint32(setID), recPos, err, "options template %d not decoded", id)
				continue
			}
			c.addTemplate(st, h, setID, recs[0].TemplateId, recs[0], recPos)
		} else {
			recs, err := netflow.DecodeIPFIXOptionsTemplateSet(&c.buf)
			if err != nil || len(recs) != 1 {
				c.fail(ErrMalformed, uint32(setID), recPos, err, "options template %d not decoded", id)
				continue
			}
			c.addTemplate(st, h, setID, recs[0].TemplateId, recs[0], recPos)
		}
	}
}

func (c *decodeCtx) addTemplate(st *exporterState, h *nfHeader, setID, id uint16, t any, pos int) {
	if err := st.templates.AddTemplate(h.version, h.domain, id, t); err != nil {
		kind := ErrMalformed
		switch {
		case errors.Is(err, ErrLimit):
			kind = ErrLimit
		case errors.Is(err, ErrUnsupported):
			kind = ErrUnsupported
		}
		c.fail(kind, uint32(setID), pos, err, "template %d refused", id)
		return
	}
	c.d.stats.templates.Add(1)
}

// withdraw handles an IPFIX template withdrawal (RFC 7011 §8.1): the
// template ID, or all data/options templates of the domain when the ID is
// the set ID. NetFlow v9 has no withdrawals: a zero-field template is bad.
func (c *decodeCtx) withdraw(st *exporterState, h *nfHeader, setID, id uint16, pos int, options bool) {
	switch {
	case h.version != 10:
		c.fail(ErrMalformed, uint32(setID), pos, nil, "template %d has no fields", id)
	case id == setID:
		st.templates.removeAll(h.version, h.domain, options)
	case id >= 256:
		_, _ = st.templates.RemoveTemplate(h.version, h.domain, id)
	default:
		c.fail(ErrMalformed, uint32(setID), pos, nil, "withdrawal of template %d", id)
	}
}

// dataSet decodes a data set with its template and maps each record: with
// the compiled plan of a data template on the fast path, else through
// goflow2 (options data, and every data set on PathGoflow2).
func (c *decodeCtx) dataSet(st *exporterState, h *nfHeader, setID uint16, set []byte, pos int) {
	e := st.templates.entry(h.version, h.domain, setID)
	if e == nil {
		c.fail(ErrTemplateMissing, uint32(setID), pos-4, nil, "no template %d for domain %d", setID, h.domain)
		return
	}
	c.sysInitKnown = false // options data may have changed it
	if e.plan != nil && c.d.cfg.path == PathFast {
		if !e.plan.sampled {
			c.setRate = max(st.samplers.rate(domainKey{h.version, h.domain}, 0, false), 1)
		}
		c.fastDataSet(st, h, setID, set, pos, e.plan)
		c.setRate = 0
		return
	}
	c.goflowSets++
	c.buf = *bytes.NewBuffer(set)
	switch t := e.tpl.(type) {
	case netflow.TemplateRecord:
		recs, derr := netflow.DecodeDataSet(h.version, &c.buf, t.Fields)
		n := len(recs)
		c.nfRecords += n
		if hasVarField(t.Fields) {
			n = c.checkRecords(setID, set, pos, derr, n, func(i int, off int) (int, bool) {
				return walkRecord(set, off, t.Fields, recs[i].Values)
			})
		} else if derr != nil {
			c.fail(ErrMalformed, uint32(setID), pos, derr, "data set not decoded")
		}
		for i := range n {
			c.flowRecord(st, h, setID, pos, recs[i].Values)
		}
	case netflow.NFv9OptionsTemplateRecord:
		recs, derr := netflow.DecodeOptionsDataSet(h.version, &c.buf, t.Scopes, t.Options)
		c.nfRecords += len(recs)
		n := c.checkOptions(setID, set, pos, derr, t.Scopes, t.Options, recs)
		for i := range n {
			c.optionsRecord(st, h, setID, pos, nil, recs[i].OptionsValues)
		}
	case netflow.IPFIXOptionsTemplateRecord:
		recs, derr := netflow.DecodeOptionsDataSet(h.version, &c.buf, t.Scopes, t.Options)
		c.nfRecords += len(recs)
		n := c.checkOptions(setID, set, pos, derr, t.Scopes, t.Options, recs)
		for i := range n {
			c.optionsRecord(st, h, setID, pos, recs[i].ScopesValues, recs[i].OptionsValues)
		}
	}
}

func hasVarField(fields []netflow.Field) bool {
	for _, f := range fields {
		if f.Length == 0xffff {
			return true
		}
	}
	return false
}

// checkOptions is checkRecords for options data records.
func (c *decodeCtx) checkOptions(setID uint16, set []byte, pos int, derr error, scopes, options []netflow.Field, recs []netflow.OptionsDataRecord) int {
	if !hasVarField(scopes) && !hasVarField(options) {
		if derr != nil {
			c.fail(ErrMalformed, uint32(setID), pos, derr, "options data set not decoded")
		}
		return len(recs)
	}
	return c.checkRecords(setID, set, pos, derr, len(recs), func(i int, off int) (int, bool) {
		off, ok := walkRecord(set, off, scopes, recs[i].ScopesValues)
		if !ok {
			return off, false
		}
		return walkRecord(set, off, options, recs[i].OptionsValues)
	})
}

// checkRecords re-walks the n records goflow2 returned for a set whose
// template has variable-length fields, against the raw bytes: goflow2
// silently shortens a variable-length value that runs past the end of the
// set, and reads zero padding as records of empty values. It returns how
// many leading records are complete and counts the rest as malformed,
// unless they are all-zero padding.
func (c *decodeCtx) checkRecords(setID uint16, set []byte, pos int, derr error, n int, walk func(i, off int) (int, bool)) int {
	// zeroFrom: the set is all zero from this offset on (computed once:
	// testing each record's tail would be quadratic).
	zeroFrom := len(set)
	for zeroFrom > 0 && set[zeroFrom-1] == 0 {
		zeroFrom--
	}
	off := 0
	for i := range n {
		if off >= zeroFrom {
			return i // padding read as records
		}
		end, ok := walk(i, off)
		if !ok {
			c.fail(ErrMalformed, uint32(setID), pos+off, derr, "record %d truncated at the end of the set", i+1)
			return i
		}
		off = end
	}
	if derr != nil && off < zeroFrom {
		c.fail(ErrMalformed, uint32(setID), pos+off, derr, "set decode stopped after %d records", n)
	}
	return n
}

// walkRecord checks one decoded record against the bytes at off and
// returns the offset after it.
func walkRecord(set []byte, off int, fields []netflow.Field, vals []netflow.DataField) (int, bool) {
	if len(vals) != len(fields) {
		return off, false
	}
	for i, f := range fields {
		v, _ := vals[i].Value.([]byte)
		l := int(f.Length)
		if f.Length == 0xffff {
			if off >= len(set) {
				return off, false
			}
			l = int(set[off])
			off++
			if l == 255 {
				if len(set)-off < 2 {
					return off, false
				}
				l = int(binary.BigEndian.Uint16(set[off:]))
				off += 2
			}
		}
		if len(v) != l || len(set)-off < l {
			return off, false
		}
		off += l
	}
	return off, true
}

// optionsRecord reads sampler rates and the system init time from an
// options data record. NetFlow v9 scope fields are scope types (System,
// Interface, ...), not information elements, so only IPFIX scopes are read.
func (c *decodeCtx) optionsRecord(st *exporterState, h *nfHeader, setID uint16, pos int, scopes, options []netflow.DataField) {
	c.d.stats.options.Add(1)
	f := &c.ff
	f.reset()
	for _, vals := range [2][]netflow.DataField{scopes, options} {
		for i := range vals {
			v := &vals[i]
			if v.PenProvided {
				continue
			}
			if b, ok := v.Value.([]byte); ok {
				f.set(v.Type, b, h.version)
			}
		}
	}
	dk := domainKey{h.version, h.domain}
	if rate := f.inlineRate(); rate > 0 {
		k := samplerKey{domainKey: dk, id: f.samplerID, hasID: f.has&hSamplerID != 0}
		if err := st.samplers.set(k, rate); err != nil {
			c.fail(ErrLimit, uint32(setID), pos, err, "sampler limit (%d) reached", st.samplers.max)
		}
	}
	if f.has&hSysInit != 0 {
		st.sysInit[dk] = f.sysInit
		c.sysInitKnown = false
	}
}

// flowRecord maps one NetFlow v9/IPFIX data record decoded by goflow2 to
// c.rec and emits it.
func (c *decodeCtx) flowRecord(st *exporterState, h *nfHeader, setID uint16, pos int, vals []netflow.DataField) {
	f := &c.ff
	f.reset()
	for i := range vals {
		v := &vals[i]
		if b, ok := v.Value.([]byte); ok {
			f.setKind(dataFieldKind(v.Type, v.PenProvided, v.Pen, h.version), b)
		}
	}
	c.mapRecord(st, h, setID, pos)
}

// mapRecord maps the fields of one data record, collected in c.ff, to
// c.rec and emits it (or counts it as ErrUnsupported).
func (c *decodeCtx) mapRecord(st *exporterState, h *nfHeader, setID uint16, pos int) {
	f := &c.ff
	r := c.rec
	src, dst := f.addrs()
	if src.IsValid() && src.IsUnspecified() && dst.IsUnspecified() && f.proto == 0 &&
		f.octDelta|f.pktDelta|f.octTotal|f.pktTotal|f.octOut|f.pktOut == 0 {
		// Zero padding after the last record of a set (RFC 7011 §3.3.1
		// lets exporters pad) reads as records of zeros: not flows.
		c.npad++
		return
	}
	packet := false
	if src.IsValid() {
		// Cleared, then set field by field: a composite literal is built
		// on the stack and copied, which costs more than the rest of the
		// mapping.
		r.resetMapped()
		r.Src, r.Dst = src, dst
		r.Proto, r.TCPFlags = uint8(f.proto), uint8(f.tcpFlags)
		f.ports(r)
	} else if packet = f.packetReport(r); !packet {
		c.fail(ErrUnsupported, uint32(setID), pos, nil, "data record without source and destination addresses")
		return
	}
	r.Exporter = c.exporter
	r.ObservationDomain = h.domain

	rate := c.setRate
	if rate == 0 {
		rate = f.inlineRate()
		if rate == 0 {
			rate = st.samplers.rate(domainKey{h.version, h.domain}, f.samplerID, f.has&hSamplerID != 0)
		}
		if rate == 0 {
			rate = 1
		}
	}
	r.SamplingRate = rate
	if packet {
		r.PktsToServer = uint64(rate)
		r.BytesToServer = mulSat(f.packetSize(), rate)
	} else {
		f.counters(r, rate)
	}

	switch {
	case f.has&hBiflowDir != 0:
		switch f.biflowDir {
		case 1:
			r.Initiator = InitiatorSrc
		case 2:
			r.Initiator = InitiatorDst
		}
	case f.has&(hRevOctDelta|hRevPktDelta|hRevOctTotal|hRevPktTotal) != 0:
		// An RFC 5103 biflow without biflowDirection: the exporter made
		// the initiator the forward direction's source.
		r.Initiator = InitiatorSrc
	}

	r.Start, r.End = c.nfTimes(st, h, f)
	c.emitRecord()
}

// resetMapped clears what mapRecord may leave unset in r, a slot of the
// decoder's run: the ports and ICMP values, the reverse counters and the
// initiator. Every other value it writes for every record (times,
// addresses, protocol, flags, forward counters, exporter, domain, rate),
// and no binary decoder writes a name: the names are cleared only when
// the caller wrote one into the run. A whole-Record clear was a sixth of
// mapRecord's time.
func (r *Record) resetMapped() {
	r.SrcPort, r.DstPort, r.ICMPType, r.ICMPCode, r.HasICMP = 0, 0, 0, 0, false
	r.BytesToClient, r.PktsToClient, r.Initiator = 0, 0, InitiatorUnknown
	if len(r.AppProto)|len(r.SNI)|len(r.HTTPHost)|len(r.UserAgent)|len(r.DNSName)|len(r.JA3)|len(r.JA4)|
		len(r.HTTPMethod)|len(r.HTTPContentType)|len(r.SensorFlowID)|len(r.SensorCommunityID)|len(r.ByteCountSource) != 0 {
		r.AppProto, r.SNI, r.HTTPHost, r.UserAgent, r.DNSName, r.JA3, r.JA4 = "", "", "", "", "", "", ""
		r.HTTPMethod, r.HTTPContentType, r.SensorFlowID, r.SensorCommunityID, r.ByteCountSource = "", "", "", "", ""
	}
}

// packetReport fills r from a PSAMP packet report (a record carrying the
// sampled packet's bytes instead of flow keys): IE 315 dataLinkFrameSection
// (an Ethernet frame) or IE 313 ipHeaderPacketSection.
func (f *flowFields) packetReport(r *Record) bool {
	*r = Record{}
	if f.frameSection != nil && parseSampledHeader(headerEthernet, f.frameSection, r) {
		return true
	}
	*r = Record{}
	if f.ipSection != nil && parseIP(f.ipSection, r) {
		return true
	}
	*r = Record{}
	return false
}

// packetSize is the length of a PSAMP-reported packet: IE 312
// dataLinkFrameSize, else IE 224 ipTotalLength, else the section length.
func (f *flowFields) packetSize() uint64 {
	switch {
	case f.has&hFrameSize != 0:
		return f.frameSize
	case f.has&hIPTotalLen != 0:
		return f.ipTotalLen
	case f.frameSection != nil:
		return uint64(len(f.frameSection))
	}
	return uint64(len(f.ipSection))
}

// ports sets ports and ICMP type/code. For ICMP and ICMPv6 the ports are 0
// and the type/code come from, in order: IE 176/177 (178/179 for v6), IE
// 32 icmpTypeCodeIPv4 (139 for v6), the other family's IEs, and finally the
// destination port, where NetFlow v5 and many v9 exporters put type<<8|code.
func (f *flowFields) ports(r *Record) {
	sp, dp := f.srcPort, f.dstPort
	if f.has&hSrcPort == 0 && f.has&hSrcPortAlt != 0 {
		sp = f.srcPortAlt
	}
	if f.has&hDstPort == 0 && f.has&hDstPortAlt != 0 {
		dp = f.dstPortAlt
	}
	if f.proto != 1 && f.proto != 58 {
		r.SrcPort, r.DstPort = uint16(sp), uint16(dp)
		return
	}
	r.HasICMP = true
	v4first := f.proto == 1
	for _, v4 := range [2]bool{v4first, !v4first} {
		if v4 && f.has&(hICMPType4|hICMPCode4) != 0 {
			r.ICMPType, r.ICMPCode = uint8(f.icmpType4), uint8(f.icmpCode4)
			return
		}
		if !v4 && f.has&(hICMPType6|hICMPCode6) != 0 {
			r.ICMPType, r.ICMPCode = uint8(f.icmpType6), uint8(f.icmpCode6)
			return
		}
	}
	for _, v4 := range [2]bool{v4first, !v4first} {
		if v4 && f.has&hICMPTC4 != 0 {
			r.ICMPType, r.ICMPCode = uint8(f.icmpTC4>>8), uint8(f.icmpTC4)
			return
		}
		if !v4 && f.has&hICMPTC6 != 0 {
			r.ICMPType, r.ICMPCode = uint8(f.icmpTC6>>8), uint8(f.icmpTC6)
			return
		}
	}
	r.ICMPType, r.ICMPCode = uint8(dp>>8), uint8(dp)
}

// counters fills the byte and packet counters, multiplied by rate.
// Forward: IE 1/2 (delta), else 85/86 (total), else (v9) 23/24; reverse
// (IPFIX biflows, RFC 5103): the same IEs with PEN 29305. Cisco NSEL IE
// 231/232 (initiator/responder octets) make a bidirectional record whose
// Src is the initiator.
func (f *flowFields) counters(r *Record, rate uint32) {
	var octs, pkts uint64
	switch {
	case f.has&hOctDelta != 0:
		octs = f.octDelta
	case f.has&hOctTotal != 0:
		octs = f.octTotal
	case f.has&hOctOut != 0:
		octs = f.octOut
	}
	switch {
	case f.has&hPktDelta != 0:
		pkts = f.pktDelta
	case f.has&hPktTotal != 0:
		pkts = f.pktTotal
	case f.has&hPktOut != 0:
		pkts = f.pktOut
	}
	if f.has&(hInitOct|hRespOct) != 0 {
		r.BytesToServer = mulSat(f.initOct, rate)
		r.BytesToClient = mulSat(f.respOct, rate)
		r.Initiator = InitiatorSrc
		if f.has&(hInitPkt|hRespPkt) != 0 {
			r.PktsToServer = mulSat(f.initPkt, rate)
			r.PktsToClient = mulSat(f.respPkt, rate)
		} else {
			r.PktsToServer = mulSat(pkts, rate)
		}
		return
	}
	r.BytesToServer = mulSat(octs, rate)
	r.PktsToServer = mulSat(pkts, rate)
	// RFC 5103 biflow: the reverse counters are the Dst→Src direction.
	switch {
	case f.has&hRevOctDelta != 0:
		r.BytesToClient = mulSat(f.revOctDelta, rate)
	case f.has&hRevOctTotal != 0:
		r.BytesToClient = mulSat(f.revOctTotal, rate)
	}
	switch {
	case f.has&hRevPktDelta != 0:
		r.PktsToClient = mulSat(f.revPktDelta, rate)
	case f.has&hRevPktTotal != 0:
		r.PktsToClient = mulSat(f.revPktTotal, rate)
	}
}

// nfTimes returns the record's start and end (see the package doc for the
// order of preference).
func (c *decodeCtx) nfTimes(st *exporterState, h *nfHeader, f *flowFields) (time.Time, time.Time) {
	exportNs := h.exportNano()
	// The two common cases first, as timeRules decides them: NetFlow v9's
	// sysUptime pair, IPFIX's milliseconds pair (a fifth of decoding went
	// to the rules' chains of tests).
	const (
		startAll = hStartNs | hStartUs | hStartMs | hStartSec | hStartDelta | hStartUp
		endAll   = hEndNs | hEndUs | hEndMs | hEndSec | hEndDelta | hEndUp
	)
	switch {
	case h.version == 9 && f.has&startAll == hStartUp && f.has&endAll == hEndUp:
		return c.finishTimes(upTimeToUnixNano(exportNs, h.sysUptime, uint32(f.startUp)), upTimeToUnixNano(exportNs, h.sysUptime, uint32(f.endUp)),
			true, true, exportNs, h.exportSec != 0)
	case f.has&(hStartNs|hStartUs|hStartMs) == hStartMs && f.has&(hEndNs|hEndUs|hEndMs) == hEndMs:
		return c.finishTimes(msToNano(f.startMs), msToNano(f.endMs), true, true, exportNs, h.exportSec != 0)
	}
	return c.timeRules(st, h, f)
}

// timeRules is nfTimes for every case: each time field in its order of
// preference.
func (c *decodeCtx) timeRules(st *exporterState, h *nfHeader, f *flowFields) (time.Time, time.Time) {
	exportNs := h.exportNano()
	// IPFIX flowStart/EndSysUpTime count from systemInitTimeMilliseconds.
	var sysInitMs uint64
	haveInit := false
	if h.version == 10 && f.has&(hStartUp|hEndUp) != 0 {
		if f.has&hSysInit != 0 {
			sysInitMs, haveInit = f.sysInit, true
		} else {
			if !c.sysInitKnown {
				c.sysInit, c.haveSysInit = st.sysInit[domainKey{h.version, h.domain}]
				c.sysInitKnown = true
			}
			sysInitMs, haveInit = c.sysInit, c.haveSysInit
		}
	}
	upTime := func(t uint32) (int64, bool) {
		if h.version == 9 {
			return upTimeToUnixNano(exportNs, h.sysUptime, t), true
		}
		if !haveInit {
			return 0, false
		}
		ms := int64(sysInitMs) + int64(t)
		if h.exportSec != 0 && sysInitMs <= maxSysInitMs {
			ms = upTimeNear(ms, exportNs/1e6+int64(upTimeSkew))
		}
		return ms * int64(time.Millisecond), true
	}

	var start, end int64
	okS, okE := true, true
	switch {
	case f.has&hStartNs != 0:
		start = ntpToUnixNano(f.startNs, false)
	case f.has&hStartUs != 0:
		start = ntpToUnixNano(f.startUs, true)
	case f.has&hStartMs != 0:
		start = msToNano(f.startMs)
	case f.has&hStartSec != 0:
		start = secToNano(f.startSec)
	case f.has&hStartDelta != 0:
		start = exportNs - int64(f.startDelta&0xffffffff)*int64(time.Microsecond)
	case f.has&hStartUp != 0:
		start, okS = upTime(uint32(f.startUp))
	default:
		okS = false
	}
	switch {
	case f.has&hEndNs != 0:
		end = ntpToUnixNano(f.endNs, false)
	case f.has&hEndUs != 0:
		end = ntpToUnixNano(f.endUs, true)
	case f.has&hEndMs != 0:
		end = msToNano(f.endMs)
	case f.has&hEndSec != 0:
		end = secToNano(f.endSec)
	case f.has&hEndDelta != 0:
		end = exportNs - int64(f.endDelta&0xffffffff)*int64(time.Microsecond)
	case f.has&hEndUp != 0:
		end, okE = upTime(uint32(f.endUp))
	case f.has&hObsNs != 0:
		end = ntpToUnixNano(f.obsNs, false)
	case f.has&hObsUs != 0:
		end = ntpToUnixNano(f.obsUs, true)
	case f.has&hObsMs != 0:
		end = msToNano(f.obsMs)
	case f.has&hObsSec != 0:
		end = secToNano(f.obsSec)
	default:
		okE = false
	}
	return c.finishTimes(start, end, okS, okE, exportNs, h.exportSec != 0)
}

// finishTimes applies the fallbacks: a missing end is the start and vice
// versa; with neither, the export header time, else the arrival time. Start
// is never after End.
func (c *decodeCtx) finishTimes(start, end int64, okS, okE bool, headerNs int64, headerOK bool) (time.Time, time.Time) {
	switch {
	case okS && !okE:
		end = start
	case okE && !okS:
		start = end
	case !okS && !okE:
		if !headerOK {
			return c.received, c.received
		}
		start, end = headerNs, headerNs
	}
	if start > end {
		start = end
	}
	return time.Unix(0, start).UTC(), time.Unix(0, end).UTC()
}

// msToNano and secToNano convert absolute IPFIX times, saturating values
// beyond year 2262 instead of overflowing.
func msToNano(ms uint64) int64 {
	if ms > math.MaxInt64/uint64(time.Millisecond) {
		return math.MaxInt64
	}
	return int64(ms) * int64(time.Millisecond)
}

func secToNano(s uint64) int64 {
	if s > math.MaxInt64/uint64(time.Second) {
		return math.MaxInt64
	}
	return int64(s) * int64(time.Second)
}
