package flowtest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"time"
)

// Flow is one flow to encode. The zero value encodes as zeros everywhere;
// set at least the addresses, the protocol and the times.
type Flow struct {
	// Src and Dst are the endpoints. NetFlow v5 carries IPv4 only.
	Src, Dst netip.Addr
	// SrcPort and DstPort are the transport ports.
	SrcPort, DstPort uint16
	// Proto is the IP protocol number.
	Proto uint8
	// Bytes and Packets are the flow's counters.
	Bytes, Packets uint64
	// Start and End are the absolute times of the first and last packet.
	Start, End time.Time
	// TCPFlags is the cumulative OR of the TCP flags.
	TCPFlags uint8
	// ICMPType and ICMPCode are encoded per format: NetFlow v5 puts
	// type<<8|code in the destination port of ICMP (protocol 1) flows;
	// templates carry them in IE 32/139 (type<<8|code) or IE 176-179.
	ICMPType, ICMPCode uint8
	// SamplerID is written to field 48 (FLOW_SAMPLER_ID) when the template
	// has it.
	SamplerID uint8
	// SamplingInterval is written to field 34 (SAMPLING_INTERVAL) when the
	// template has it.
	SamplingInterval uint32
	// Extra holds raw values for any other field of the template (and
	// overrides the fields above). A fixed-length value must have exactly
	// the field's length; a missing one is written as zeros (variable
	// length: empty).
	Extra map[FieldKey][]byte
}

// FieldKey names a field type: an Information Element number and, for
// enterprise-specific IPFIX fields, the Private Enterprise Number (0 for
// IANA fields and for NetFlow v9).
type FieldKey struct {
	Type uint16
	PEN  uint32
}

// Variable is the Length of an IPFIX field of variable length.
const Variable = 0xFFFF

// Field is one template field: a type, its length in bytes ([Variable] for
// variable length, IPFIX only) and the Private Enterprise Number of an
// enterprise-specific IPFIX field (0 otherwise; NetFlow v9 ignores it).
type Field struct {
	Type, Length uint16
	PEN          uint32
}

// Key returns the FieldKey of f.
func (f Field) Key() FieldKey { return FieldKey{Type: f.Type, PEN: f.PEN} }

// Template is a template record: the layout of the data records of the
// data sets that carry its ID (256 to 65535). A Template with no fields
// encodes as an IPFIX template withdrawal.
type Template struct {
	ID     uint16
	Fields []Field
}

// OptionsTemplate is an options template record. For NetFlow v9 the scope
// field types are the scope types of RFC 3954 (1 System, 2 Interface,
// 3 Line Card, 4 Cache, 5 Template); for IPFIX they are Information
// Elements.
type OptionsTemplate struct {
	ID              uint16
	Scopes, Options []Field
}

// V9Template returns the NetFlow v9 template that most exporters send for
// IPv4 (or, with ipv6, IPv6) flows: IN_BYTES(1,8) IN_PKTS(2,8)
// PROTOCOL(4,1) TCP_FLAGS(6,1) L4_SRC_PORT(7,2) IPV4_SRC_ADDR(8,4) or
// IPV6_SRC_ADDR(27,16) L4_DST_PORT(11,2) IPV4_DST_ADDR(12,4) or
// IPV6_DST_ADDR(28,16) LAST_SWITCHED(21,4) FIRST_SWITCHED(22,4).
func V9Template(id uint16, ipv6 bool) Template {
	src, dst := Field{Type: 8, Length: 4}, Field{Type: 12, Length: 4}
	if ipv6 {
		src, dst = Field{Type: 27, Length: 16}, Field{Type: 28, Length: 16}
	}
	return Template{ID: id, Fields: []Field{
		{Type: 1, Length: 8},
		{Type: 2, Length: 8},
		{Type: 4, Length: 1},
		{Type: 6, Length: 1},
		{Type: 7, Length: 2},
		src,
		{Type: 11, Length: 2},
		dst,
		{Type: 21, Length: 4},
		{Type: 22, Length: 4},
	}}
}

// IPFIXTemplate returns a typical IPFIX template for IPv4 (or, with ipv6,
// IPv6) flows: octetDeltaCount(1,8) packetDeltaCount(2,8)
// protocolIdentifier(4,1) tcpControlBits(6,2) sourceTransportPort(7,2)
// sourceIPv4Address(8,4) or sourceIPv6Address(27,16)
// destinationTransportPort(11,2) destinationIPv4Address(12,4) or
// destinationIPv6Address(28,16) flowStartMilliseconds(152,8)
// flowEndMilliseconds(153,8).
func IPFIXTemplate(id uint16, ipv6 bool) Template {
	src, dst := Field{Type: 8, Length: 4}, Field{Type: 12, Length: 4}
	if ipv6 {
		src, dst = Field{Type: 27, Length: 16}, Field{Type: 28, Length: 16}
	}
	return Template{ID: id, Fields: []Field{
		{Type: 1, Length: 8},
		{Type: 2, Length: 8},
		{Type: 4, Length: 1},
		{Type: 6, Length: 2},
		{Type: 7, Length: 2},
		src,
		{Type: 11, Length: 2},
		dst,
		{Type: 152, Length: 8},
		{Type: 153, Length: 8},
	}}
}

// BigEndian returns the n low-order bytes of v, big-endian (zero-extended
// when n > 8): a convenient way to build values for [Flow.Extra] and
// options data records.
func BigEndian(v uint64, n int) []byte {
	return appendUint(make([]byte, 0, n), v, n)
}

// ntpEpochOffset is the number of seconds from 1900-01-01 (the NTP era 0
// epoch used by the IPFIX dateTimeMicroseconds/Nanoseconds types) to the
// Unix epoch.
const ntpEpochOffset = 2208988800

// encoder holds what a data record needs besides the flow: the reference
// times of the message.
type encoder struct {
	export time.Time // export time as the header carries it (whole seconds)
	boot   time.Time // sysUpTime 0 (v9) or systemInitTime (IPFIX)
}

// appendRecord appends the data record of f laid out by fields.
func (e *encoder) appendRecord(b []byte, fields []Field, f *Flow) []byte {
	for _, fd := range fields {
		b = e.appendField(b, fd, f)
	}
	return b
}

func (e *encoder) appendField(b []byte, fd Field, f *Flow) []byte {
	if f.Extra != nil {
		if v, ok := f.Extra[fd.Key()]; ok {
			return appendRaw(b, fd, v)
		}
	}
	if fd.PEN == 0 {
		switch fd.Type {
		case 8, 12, 27, 28:
			return appendAddr(b, fd, f)
		}
		if v, n, ok := e.known(fd.Type, f); ok {
			if fd.Length == Variable {
				b = appendVarLen(b, n)
			} else {
				n = int(fd.Length)
			}
			return appendUint(b, v, n)
		}
	}
	return appendRaw(b, fd, nil)
}

// known returns the value and natural size of the IANA field typ taken from
// f, or ok false when the Flow has nothing for it.
func (e *encoder) known(typ uint16, f *Flow) (v uint64, n int, ok bool) {
	switch typ {
	case 1, 85:
		return f.Bytes, 8, true
	case 2, 86:
		return f.Packets, 8, true
	case 4:
		return uint64(f.Proto), 1, true
	case 6:
		return uint64(f.TCPFlags), 2, true
	case 7:
		return uint64(f.SrcPort), 2, true
	case 11:
		return uint64(f.DstPort), 2, true
	case 32, 139:
		return uint64(f.ICMPType)<<8 | uint64(f.ICMPCode), 2, true
	case 176, 178:
		return uint64(f.ICMPType), 1, true
	case 177, 179:
		return uint64(f.ICMPCode), 1, true
	case 34:
		return uint64(f.SamplingInterval), 4, true
	case 48:
		return uint64(f.SamplerID), 1, true
	case 21:
		return uint64(f.End.Sub(e.boot).Milliseconds()), 4, true
	case 22:
		return uint64(f.Start.Sub(e.boot).Milliseconds()), 4, true
	case 150:
		return uint64(f.Start.Unix()), 4, true
	case 151:
		return uint64(f.End.Unix()), 4, true
	case 152:
		return uint64(f.Start.UnixMilli()), 8, true
	case 153:
		return uint64(f.End.UnixMilli()), 8, true
	case 154:
		return ntpMicro(f.Start), 8, true
	case 155:
		return ntpMicro(f.End), 8, true
	case 156:
		return ntpNano(f.Start), 8, true
	case 157:
		return ntpNano(f.End), 8, true
	case 158:
		return uint64(e.export.Sub(f.Start).Microseconds()), 4, true
	case 159:
		return uint64(e.export.Sub(f.End).Microseconds()), 4, true
	case 160:
		return uint64(e.boot.UnixMilli()), 8, true
	}
	return 0, 0, false
}

// ntpNano encodes t in the 64-bit NTP timestamp format of IPFIX
// dateTimeNanoseconds (RFC 7011 section 6.1.10): seconds since 1900 in the
// high 32 bits, the binary fraction of a second in the low 32 bits. The
// fraction is rounded up, so that decoders that truncate and decoders that
// round both get the nanosecond back.
func ntpNano(t time.Time) uint64 {
	frac := (uint64(t.Nanosecond())<<32 + 999_999_999) / 1_000_000_000
	return uint64(uint32(t.Unix()+ntpEpochOffset))<<32 | frac
}

// ntpMicro encodes t in the format of IPFIX dateTimeMicroseconds (RFC 7011
// section 6.1.9): like ntpNano, but the fraction's 11 low bits are zero, as
// the RFC asks; it is rounded up to that grain so that decoders that
// truncate to the microsecond and decoders that round both get the
// microsecond back.
func ntpMicro(t time.Time) uint64 {
	us := uint64(t.Nanosecond() / 1000)
	frac := (us<<32 + 999_999) / 1_000_000
	frac = (frac + 0x7FF) &^ 0x7FF
	return uint64(uint32(t.Unix()+ntpEpochOffset))<<32 | frac
}

// appendAddr writes Src or Dst into an address field (types 8, 12, 27, 28).
func appendAddr(b []byte, fd Field, f *Flow) []byte {
	a := f.Src
	if fd.Type == 12 || fd.Type == 28 {
		a = f.Dst
	}
	var buf [16]byte
	var raw []byte
	if fd.Type == 8 || fd.Type == 12 {
		if a.Is4() || a.Is4In6() {
			a4 := a.Unmap().As4()
			copy(buf[:], a4[:])
		}
		raw = buf[:4]
	} else {
		if a.IsValid() {
			buf = a.As16()
		}
		raw = buf[:16]
	}
	if fd.Length == Variable {
		b = appendVarLen(b, len(raw))
		return append(b, raw...)
	}
	return appendFit(b, raw, int(fd.Length))
}

// appendFit appends the big-endian number raw in n bytes: its low-order
// bytes when n is shorter, zero-extended when n is longer.
func appendFit(b, raw []byte, n int) []byte {
	if n <= len(raw) {
		return append(b, raw[len(raw)-n:]...)
	}
	b = appendZeros(b, n-len(raw))
	return append(b, raw...)
}

// appendUint appends the n low-order bytes of v, big-endian.
func appendUint(b []byte, v uint64, n int) []byte {
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	return appendFit(b, buf[:], n)
}

func appendZeros(b []byte, n int) []byte {
	return append(b, make([]byte, n)...)
}

// appendRaw appends a raw value v for field fd (nil: zeros or empty).
func appendRaw(b []byte, fd Field, v []byte) []byte {
	if fd.Length == Variable {
		b = appendVarLen(b, len(v))
		return append(b, v...)
	}
	if len(v) == 0 {
		return appendZeros(b, int(fd.Length))
	}
	if len(v) != int(fd.Length) {
		panic(fmt.Sprintf("flowtest: value for field %d (PEN %d) is %d bytes, the template says %d", fd.Type, fd.PEN, len(v), fd.Length))
	}
	return append(b, v...)
}

// appendVarLen appends the length prefix of a variable-length IPFIX field
// (RFC 7011 section 7): one byte below 255, else 0xFF and two bytes.
func appendVarLen(b []byte, n int) []byte {
	switch {
	case n < 255:
		return append(b, byte(n))
	case n <= 0xFFFF:
		return append(b, 0xFF, byte(n>>8), byte(n))
	}
	panic(fmt.Sprintf("flowtest: variable-length value of %d bytes exceeds 65535", n))
}

// appendFieldSpecs appends (type, length) pairs; with pen, an enterprise
// field gets the enterprise bit and its PEN (IPFIX).
func appendFieldSpecs(b []byte, fields []Field, pen bool) []byte {
	for _, fd := range fields {
		if pen && fd.PEN != 0 {
			b = binary.BigEndian.AppendUint16(b, fd.Type|0x8000)
			b = binary.BigEndian.AppendUint16(b, fd.Length)
			b = binary.BigEndian.AppendUint32(b, fd.PEN)
			continue
		}
		b = binary.BigEndian.AppendUint16(b, fd.Type)
		b = binary.BigEndian.AppendUint16(b, fd.Length)
	}
	return b
}

// appendOptionsRecord appends one options data record: the scope values,
// then the option values, each taken from rec.
func appendOptionsRecord(b []byte, ot OptionsTemplate, rec map[FieldKey][]byte) []byte {
	for _, fd := range ot.Scopes {
		b = appendRaw(b, fd, rec[fd.Key()])
	}
	for _, fd := range ot.Options {
		b = appendRaw(b, fd, rec[fd.Key()])
	}
	return b
}

// beginSet appends a set header with a placeholder length and returns the
// offset of the set.
func beginSet(b []byte, id uint16) ([]byte, int) {
	start := len(b)
	b = binary.BigEndian.AppendUint16(b, id)
	return append(b, 0, 0), start
}

// endSet pads the set that starts at start to a multiple of 4 bytes when
// pad is set and writes its length.
func endSet(b []byte, start int, pad bool) []byte {
	if pad {
		for (len(b)-start)%4 != 0 {
			b = append(b, 0)
		}
	}
	n := len(b) - start
	if n > 0xFFFF {
		panic(fmt.Sprintf("flowtest: set %d is %d bytes long, more than 65535", binary.BigEndian.Uint16(b[start:]), n))
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(n))
	return b
}
