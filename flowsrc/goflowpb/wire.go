package goflowpb

import (
	"math"
	"net/netip"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// Protocol Buffers wire types (protobuf encoding guide, "Message
// Structure").
const (
	wireVarint  = 0
	wireFixed64 = 1
	wireBytes   = 2
	wireFixed32 = 5
)

// Field numbers of goflow2 v2's flowpb.FlowMessage (pb/flow.proto of
// github.com/netsampler/goflow2/v2, v2.0 to v2.2.6) that the mapping reads.
const (
	fieldType              = 1
	fieldSamplingRate      = 3
	fieldSrcAddr           = 6
	fieldDstAddr           = 7
	fieldBytes             = 9
	fieldPackets           = 10
	fieldSamplerAddress    = 11
	fieldProto             = 20
	fieldSrcPort           = 21
	fieldDstPort           = 22
	fieldTCPFlags          = 26
	fieldICMPType          = 31
	fieldICMPCode          = 32
	fieldObservationDomain = 70
	fieldTimeReceivedNs    = 110
	fieldTimeFlowStartNs   = 111
	fieldTimeFlowEndNs     = 112
	fieldLayerStack        = 103

	// fieldV1TimeReceived is TimeReceived (seconds) of goflow2 v1 and
	// cloudflare/goflow, whose numbering v2 abandoned: v2 never writes
	// field 2. It only serves to explain why such a message has no time.
	fieldV1TimeReceived = 2
)

// maxFieldNumber is the largest protobuf field number (2^29 - 1).
const maxFieldNumber = 1<<29 - 1

// Allowed wire types per FlowMessage field number, as a bit set
// (1<<wireType). Scalar fields are varints; bytes fields and packed
// repeated fields are length-delimited; repeated scalars may also come
// unpacked (one varint per element), which parsers must accept. Fields
// 103-105 changed between goflow2 v2 releases (104: repeated bytes, then
// packed layer_size; 105: seg_left, then repeated bytes), so both forms
// are allowed there. Numbers not in the table are unknown fields (goflow2's
// custom mappings add them): any valid wire type but groups.
var fieldWire = func() [113]uint8 {
	const v, b = 1 << wireVarint, 1 << wireBytes
	var t [113]uint8
	for _, n := range []int{1, 3, 4, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
		31, 32, 33, 34, 35, 36, 37, 38, 70, 71, 106, 110, 111, 112} {
		t[n] = v
	}
	for _, n := range []int{6, 7, 11, 12, 82, 100} {
		t[n] = b
	}
	for _, n := range []int{80, 81, 101, 102, 103, 104, 105} {
		t[n] = v | b
	}
	return t
}()

// knownField reports whether n is a FlowMessage field number and, if so,
// whether wire type wt is allowed for it.
func knownField(n uint64, wt uint8) (known, ok bool) {
	if n < uint64(len(fieldWire)) && fieldWire[n] != 0 {
		return true, fieldWire[n]&(1<<wt) != 0
	}
	return false, false
}

// uvarint decodes a protobuf varint (at most 10 bytes, the tenth at most
// 1) from the start of b. n is the number of bytes read: 0 when b ends
// inside the varint, -1 when it is overlong.
func uvarint(b []byte) (v uint64, n int) {
	for i := 0; i < len(b) && i < 10; i++ {
		c := b[i]
		if i == 9 && c > 1 {
			return 0, -1
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	if len(b) >= 10 {
		return 0, -1
	}
	return 0, 0
}

// problem is a decoding failure found by parse, turned into an *Error by
// the caller (so that the success path builds no error value).
type problem struct {
	kind  error  // ErrMalformed or ErrNotFlow
	off   int    // offset in the message of the field at fault, -1 if none
	field uint64 // its field number, 0 if none
	what  string // constant text
	val   uint64 // the offending value, when valWant
	vWant bool
}

// fields holds the FlowMessage fields the mapping reads.
type fields struct {
	samplingRate               uint64
	bytes, packets             uint64
	src, dst, sampler          []byte
	proto, srcPort, dstPort    uint64
	tcpFlags                   uint64
	icmpType, icmpCode         uint64
	hasICMP                    bool
	layers                     bool // layer_stack present: goflow2 parsed the packet
	domain                     uint64
	received, start, end       uint64
	v1Time                     bool
	srcOff, dstOff, samplerOff int
}

// parse walks the fields of one FlowMessage (without length prefix).
func parse(b []byte, f *fields) (problem, bool) {
	*f = fields{}
	for i := 0; i < len(b); {
		start := i
		tag, n := uvarint(b[i:])
		if n <= 0 {
			return problem{kind: ErrMalformed, off: start, what: "truncated or overlong field tag"}, false
		}
		i += n
		num, wt := tag>>3, uint8(tag&7)
		if num == 0 || num > maxFieldNumber {
			return problem{kind: ErrMalformed, off: start, what: "invalid field number", val: num, vWant: true}, false
		}
		if known, ok := knownField(num, wt); known && !ok {
			return problem{kind: ErrMalformed, off: start, field: num, what: "wrong wire type", val: uint64(wt), vWant: true}, false
		}
		var v uint64
		var data []byte
		switch wt {
		case wireVarint:
			v, n = uvarint(b[i:])
			if n <= 0 {
				return problem{kind: ErrMalformed, off: start, field: num, what: "truncated or overlong varint"}, false
			}
			i += n
		case wireFixed64:
			if len(b)-i < 8 {
				return problem{kind: ErrMalformed, off: start, field: num, what: "truncated fixed64"}, false
			}
			i += 8
		case wireFixed32:
			if len(b)-i < 4 {
				return problem{kind: ErrMalformed, off: start, field: num, what: "truncated fixed32"}, false
			}
			i += 4
		case wireBytes:
			l, n := uvarint(b[i:])
			if n <= 0 {
				return problem{kind: ErrMalformed, off: start, field: num, what: "truncated or overlong length"}, false
			}
			i += n
			if l > uint64(len(b)-i) {
				return problem{kind: ErrMalformed, off: start, field: num, what: "length beyond the message", val: l, vWant: true}, false
			}
			data = b[i : i+int(l)]
			i += int(l)
		default:
			// Groups (3, 4) are deprecated and never written by goflow2;
			// 6 and 7 are not wire types.
			return problem{kind: ErrMalformed, off: start, field: num, what: "unsupported wire type", val: uint64(wt), vWant: true}, false
		}
		switch num {
		case fieldSamplingRate:
			f.samplingRate = v
		case fieldBytes:
			f.bytes = v
		case fieldPackets:
			f.packets = v
		case fieldSrcAddr:
			f.src, f.srcOff = data, start
		case fieldDstAddr:
			f.dst, f.dstOff = data, start
		case fieldSamplerAddress:
			f.sampler, f.samplerOff = data, start
		case fieldProto:
			f.proto = uint64(uint32(v))
			if f.proto > math.MaxUint8 {
				return problem{kind: ErrMalformed, off: start, field: num, what: "protocol above 255", val: f.proto, vWant: true}, false
			}
		case fieldSrcPort, fieldDstPort:
			p := uint64(uint32(v))
			if p > math.MaxUint16 {
				return problem{kind: ErrMalformed, off: start, field: num, what: "port above 65535", val: p, vWant: true}, false
			}
			if num == fieldSrcPort {
				f.srcPort = p
			} else {
				f.dstPort = p
			}
		case fieldTCPFlags:
			f.tcpFlags = uint64(uint32(v))
		case fieldICMPType, fieldICMPCode:
			c := uint64(uint32(v))
			if c > math.MaxUint8 {
				return problem{kind: ErrMalformed, off: start, field: num, what: "ICMP type/code above 255", val: c, vWant: true}, false
			}
			if num == fieldICMPType {
				f.icmpType = c
			} else {
				f.icmpCode = c
			}
			f.hasICMP = true
		case fieldObservationDomain:
			f.domain = uint64(uint32(v))
		case fieldTimeReceivedNs:
			f.received = v
		case fieldTimeFlowStartNs:
			f.start = v
		case fieldTimeFlowEndNs:
			f.end = v
		case fieldV1TimeReceived:
			f.v1Time = true
		case fieldLayerStack:
			f.layers = true
		}
	}
	return problem{}, true
}

// addr converts an address field: 4 or 16 bytes (IPv4-mapped IPv6
// unmapped), or absent.
func addr(b []byte) (netip.Addr, bool) {
	switch len(b) {
	case 0:
		return netip.Addr{}, true
	case 4:
		return netip.AddrFrom4([4]byte(b)), true
	case 16:
		return netip.AddrFrom16([16]byte(b)).Unmap(), true
	}
	return netip.Addr{}, false
}

// nsTime returns a usable flow time: non-zero and within int64
// nanoseconds; anything else is absent.
func nsTime(v uint64) (int64, bool) {
	if v == 0 || v > math.MaxInt64 {
		return 0, false
	}
	return int64(v), true
}

// mulSat returns v*rate, saturating at the largest uint64.
func mulSat(v, rate uint64) uint64 {
	if v != 0 && rate > math.MaxUint64/v {
		return math.MaxUint64
	}
	return v * rate
}

// decodeBare maps one FlowMessage (no length prefix) to rec. rec is
// cleared first; on failure it is left zero.
func decodeBare(b []byte, rec *flowsrc.Record) (problem, bool) {
	*rec = flowsrc.Record{}
	var f fields
	if p, ok := parse(b, &f); !ok {
		return p, false
	}
	src, ok := addr(f.src)
	if !ok {
		return problem{kind: ErrMalformed, off: f.srcOff, field: fieldSrcAddr, what: "address length not 4 or 16", val: uint64(len(f.src)), vWant: true}, false
	}
	dst, ok := addr(f.dst)
	if !ok {
		return problem{kind: ErrMalformed, off: f.dstOff, field: fieldDstAddr, what: "address length not 4 or 16", val: uint64(len(f.dst)), vWant: true}, false
	}
	exp, ok := addr(f.sampler)
	if !ok {
		return problem{kind: ErrMalformed, off: f.samplerOff, field: fieldSamplerAddress, what: "address length not 4 or 16", val: uint64(len(f.sampler)), vWant: true}, false
	}

	// Times: the flow's own start and end, each standing in for the other,
	// else the time goflow2 received the datagram.
	start, okS := nsTime(f.start)
	end, okE := nsTime(f.end)
	switch {
	case okS && !okE:
		end = start
	case okE && !okS:
		start = end
	case !okS && !okE:
		recv, ok := nsTime(f.received)
		if !ok {
			if f.v1Time {
				return problem{kind: ErrMalformed, off: -1, what: "no time_received_ns/time_flow_*_ns: a goflow2 v1 message (field 2 TimeReceived)? only goflow2 v2 messages are read"}, false
			}
			return problem{kind: ErrMalformed, off: -1, what: "no usable time (time_flow_start_ns, time_flow_end_ns and time_received_ns absent, zero or beyond 2262)"}, false
		}
		start, end = recv, recv
	}
	if start > end {
		start = end
	}

	if !src.IsValid() || !dst.IsValid() {
		return problem{kind: ErrNotFlow, off: -1, what: "no source or destination IP address (a non-IP sample)"}, false
	}

	rate := f.samplingRate
	switch {
	case rate == 0:
		rate = 1
	case rate > math.MaxUint32:
		rate = math.MaxUint32
	}
	rec.Start = time.Unix(0, start).UTC()
	rec.End = time.Unix(0, end).UTC()
	rec.Src, rec.Dst = src, dst
	rec.Proto = uint8(f.proto)
	if f.proto == 1 || f.proto == 58 {
		switch {
		case f.hasICMP:
			rec.HasICMP = true
			rec.ICMPType, rec.ICMPCode = uint8(f.icmpType), uint8(f.icmpCode)
		case !f.layers:
			// NetFlow v5 and many v9 exporters put type<<8|code in the
			// destination port, which goflow2 passes on unchanged.
			rec.HasICMP = true
			rec.ICMPType, rec.ICMPCode = uint8(f.dstPort>>8), uint8(f.dstPort)
		}
		// Otherwise goflow2 parsed the packet itself (sFlow) and wrote no
		// type or code: type 0 code 0, or lost to the goflow2 bug that
		// drops them (up to v2.2.6): unknown, HasICMP stays false.
	} else {
		rec.SrcPort, rec.DstPort = uint16(f.srcPort), uint16(f.dstPort)
	}
	rec.BytesToServer = mulSat(f.bytes, rate)
	rec.PktsToServer = mulSat(f.packets, rate)
	rec.SamplingRate = uint32(rate)
	rec.TCPFlags = uint8(f.tcpFlags)
	rec.Exporter = exp
	rec.ObservationDomain = uint32(f.domain)
	return problem{}, true
}
