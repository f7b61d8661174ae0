package flowsrc

import "encoding/binary"

// Format is the export protocol of a datagram.
type Format uint8

// The formats DatagramDecoder understands. FormatUnknown is the zero value.
const (
	FormatUnknown Format = iota
	FormatNetFlowV5
	FormatNetFlowV9
	FormatIPFIX
	FormatSFlow
)

// String returns "netflow-v5", "netflow-v9", "ipfix", "sflow-v5" or
// "unknown".
func (f Format) String() string {
	switch f {
	case FormatNetFlowV5:
		return "netflow-v5"
	case FormatNetFlowV9:
		return "netflow-v9"
	case FormatIPFIX:
		return "ipfix"
	case FormatSFlow:
		return "sflow-v5"
	}
	return "unknown"
}

// SniffFormat tells the format of an export datagram from its first bytes:
// a big-endian uint16 version 5, 9 or 10 (NetFlow v5, v9, IPFIX), or a
// big-endian uint32 version 5 followed by an sFlow agent address type of 1
// (IPv4) or 2 (IPv6). It looks at no more than 8 bytes and does not
// validate the rest of the datagram.
func SniffFormat(b []byte) (Format, bool) {
	if len(b) < 2 {
		return FormatUnknown, false
	}
	switch binary.BigEndian.Uint16(b) {
	case 5:
		return FormatNetFlowV5, true
	case 9:
		return FormatNetFlowV9, true
	case 10:
		return FormatIPFIX, true
	case 0:
		if len(b) < 8 || binary.BigEndian.Uint32(b) != 5 {
			return FormatUnknown, false
		}
		if t := binary.BigEndian.Uint32(b[4:]); t == 1 || t == 2 {
			return FormatSFlow, true
		}
	}
	return FormatUnknown, false
}
