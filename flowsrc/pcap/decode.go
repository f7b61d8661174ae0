package pcap

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// skipReason says why a frame is not returned.
type skipReason uint8

const (
	skipNone skipReason = iota
	skipLink
	skipNonIP
	skipShort
	skipMalformed
)

// Link types (LINKTYPE_* values as written in files).
const (
	linkNull     = 0
	linkEthernet = 1
	linkRawBSD   = 12 // DLT_RAW on most BSDs, raw IP
	linkRawOBSD  = 14 // DLT_RAW on OpenBSD, raw IP
	linkRaw      = 101
	linkLoop     = 108
	linkSLL      = 113
	linkIPv4     = 228
	linkIPv6     = 229
	linkSLL2     = 276
)

// EtherTypes.
const (
	etherIPv4   = 0x0800
	etherIPv6   = 0x86dd
	etherVLAN   = 0x8100
	etherQinQ   = 0x88a8
	etherQinQ1  = 0x9100
	etherQinQ2  = 0x9200
	etherPPPoE  = 0x8864
	etherMPLS   = 0x8847
	etherMPLSMC = 0x8848
)

// IP protocol numbers.
const (
	protoHopByHop = 0
	protoICMP     = 1
	protoTCP      = 6
	protoUDP      = 17
	protoRouting  = 43
	protoFragment = 44
	protoAH       = 51
	protoICMPv6   = 58
	protoDstOpts  = 60
	protoSCTP     = 132
	protoMobility = 135
	protoUDPLite  = 136
	protoHIP      = 139
	protoShim6    = 140
	protoExp1     = 253
	protoExp2     = 254
)

var be = binary.BigEndian

// decodeLink decodes a frame of the given link type into p, whose frame
// fields (Time, Frame, Length, Truncated) are already set.
func decodeLink(p *Packet, link uint32, b []byte) skipReason {
	switch link {
	case linkEthernet:
		if len(b) < 14 {
			return skipShort
		}
		return decodeEtherType(p, be.Uint16(b[12:]), b[14:])
	case linkRaw, linkRawBSD, linkRawOBSD:
		return decodeIP(p, b)
	case linkIPv4:
		return decodeIPv4(p, b)
	case linkIPv6:
		return decodeIPv6(p, b)
	case linkNull, linkLoop:
		if len(b) < 4 {
			return skipShort
		}
		// The family is in the byte order of the capturing host (always
		// big-endian for loop); families fit in 16 bits, so a value with
		// high bits set is in the other byte order.
		family := be.Uint32(b)
		if family > 0xffff {
			family = bits.ReverseBytes32(family)
		}
		switch family {
		case 2: // AF_INET everywhere
			return decodeIPv4(p, b[4:])
		case 10, 23, 24, 28, 30: // AF_INET6: Linux, Windows, Net/OpenBSD, FreeBSD, Darwin
			return decodeIPv6(p, b[4:])
		}
		return skipNonIP
	case linkSLL:
		if len(b) < 16 {
			return skipShort
		}
		return decodeEtherType(p, be.Uint16(b[14:]), b[16:])
	case linkSLL2:
		if len(b) < 20 {
			return skipShort
		}
		return decodeEtherType(p, be.Uint16(b), b[20:])
	}
	return skipLink
}

// decodeEtherType decodes the payload b of an Ethernet-style frame with
// EtherType et, going through VLAN tags, LLC/SNAP, PPPoE and MPLS.
// Every step consumes bytes of b, so the loop ends.
func decodeEtherType(p *Packet, et uint16, b []byte) skipReason {
	for {
		switch et {
		case etherIPv4:
			return decodeIPv4(p, b)
		case etherIPv6:
			return decodeIPv6(p, b)
		case etherVLAN, etherQinQ, etherQinQ1, etherQinQ2:
			if len(b) < 4 {
				return skipShort
			}
			et, b = be.Uint16(b[2:]), b[4:]
		case etherPPPoE:
			// version/type, code, session id, length, then the PPP
			// protocol: 0x0021 IPv4, 0x0057 IPv6.
			if len(b) < 8 {
				return skipShort
			}
			switch be.Uint16(b[6:]) {
			case 0x0021:
				return decodeIPv4(p, b[8:])
			case 0x0057:
				return decodeIPv6(p, b[8:])
			}
			return skipNonIP
		case etherMPLS, etherMPLSMC:
			for {
				if len(b) < 4 {
					return skipShort
				}
				bottom := b[2]&1 != 0
				b = b[4:]
				if bottom {
					break
				}
			}
			// No protocol field after the label stack: guess from the
			// IP version nibble.
			if len(b) > 0 && b[0]>>4 == 4 {
				return decodeIPv4(p, b)
			}
			if len(b) > 0 && b[0]>>4 == 6 {
				return decodeIPv6(p, b)
			}
			return skipNonIP
		default:
			// An 802.3 length field, then LLC; only SNAP with an
			// EtherType OUI (00-00-00) carries IP.
			if et > 1500 || len(b) < 8 || b[0] != 0xaa || b[1] != 0xaa || b[2] != 0x03 || b[3] != 0 || b[4] != 0 || b[5] != 0 {
				return skipNonIP
			}
			et, b = be.Uint16(b[6:]), b[8:]
		}
	}
}

// decodeIP decodes raw IP, whose version is in its first nibble.
func decodeIP(p *Packet, b []byte) skipReason {
	if len(b) == 0 {
		return skipShort
	}
	switch b[0] >> 4 {
	case 4:
		return decodeIPv4(p, b)
	case 6:
		return decodeIPv6(p, b)
	}
	return skipNonIP
}

func decodeIPv4(p *Packet, b []byte) skipReason {
	if len(b) < 20 {
		return skipShort
	}
	if b[0]>>4 != 4 {
		return skipMalformed
	}
	hlen := int(b[0]&0x0f) * 4
	if hlen < 20 {
		return skipMalformed
	}
	if len(b) < hlen {
		return skipShort
	}
	end := int(be.Uint16(b[2:]))
	switch {
	case end == 0:
		// Total length 0: segmentation offload on the capturing host;
		// the frame's end is the packet's end.
		end = len(b)
	case end < hlen:
		return skipMalformed
	case end > len(b):
		p.Truncated = true
		end = len(b)
	}
	p.Src = netip.AddrFrom4([4]byte(b[12:16]))
	p.Dst = netip.AddrFrom4([4]byte(b[16:20]))
	p.Proto = b[9]
	frag := be.Uint16(b[6:])
	if frag&0x1fff != 0 {
		p.Fragment = true
		return skipNone
	}
	p.FirstFragment = frag&0x2000 != 0
	decodeTransport(p, b[hlen:end])
	return skipNone
}

func decodeIPv6(p *Packet, b []byte) skipReason {
	if len(b) < 40 {
		return skipShort
	}
	if b[0]>>4 != 6 {
		return skipMalformed
	}
	end := 40 + int(be.Uint16(b[4:]))
	switch {
	case end == 40:
		// Payload length 0: a jumbogram or segmentation offload; the
		// frame's end is the packet's end.
		end = len(b)
	case end > len(b):
		p.Truncated = true
		end = len(b)
	}
	p.Src = netip.AddrFrom16([16]byte(b[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(b[24:40]))
	next := b[6]
	b = b[40:end]
	// Every extension header is at least 8 bytes, so the loop ends.
	for {
		var n int
		switch next {
		case protoHopByHop, protoRouting, protoDstOpts, protoMobility, protoHIP, protoShim6, protoExp1, protoExp2:
			if len(b) >= 2 {
				n = (int(b[1]) + 1) * 8
			}
		case protoAH:
			if len(b) >= 2 {
				n = (int(b[1]) + 2) * 4
			}
		case protoFragment:
			n = 8
		default:
			p.Proto = next
			decodeTransport(p, b)
			return skipNone
		}
		if n == 0 || len(b) < n {
			// The extension headers run past the end: what follows is
			// unknown.
			p.Proto = next
			p.Truncated = true
			return skipNone
		}
		if next == protoFragment {
			off := be.Uint16(b[2:]) &^ 7
			if off != 0 {
				p.Proto = b[0]
				p.Fragment, p.FirstFragment = true, false // a nested fragment header
				return skipNone
			}
			p.FirstFragment = b[3]&1 != 0
		}
		next, b = b[0], b[n:]
	}
}

// decodeTransport decodes the transport header of p.Proto in b, which
// ends where the IP header says the packet ends (or where the capture
// stops).
func decodeTransport(p *Packet, b []byte) {
	switch p.Proto {
	case protoUDP, protoUDPLite:
		if !ports(p, b, 8) {
			return
		}
		end := len(b)
		// UDP-Lite's length field is its checksum coverage; a UDP length
		// under 8 is invalid (or 0 for jumbograms): use the IP length.
		if n := int(be.Uint16(b[4:])); p.Proto == protoUDP && n >= 8 {
			if n <= len(b) {
				end = n
			} else if !p.FirstFragment {
				p.Truncated = true
			}
		}
		p.Payload = b[8:end]
	case protoTCP:
		if !ports(p, b, 20) {
			return
		}
		off := int(b[12]>>4) * 4
		if off < 20 {
			return // invalid data offset: payload unknown
		}
		if off > len(b) {
			p.Truncated = true
			return
		}
		p.Payload = b[off:]
	case protoSCTP:
		if ports(p, b, 12) {
			p.Payload = b[12:]
		}
	case protoICMP, protoICMPv6:
		if len(b) < 2 {
			p.Truncated = true
			return
		}
		p.ICMPType, p.ICMPCode = b[0], b[1]
		if len(b) < 8 {
			p.Truncated = true
			return
		}
		p.Payload = b[8:]
	default:
		p.Payload = b
	}
}

// ports sets p's ports from the first 4 bytes of b and reports whether b
// holds the full hlen-byte header; if it does not, p is marked Truncated.
func ports(p *Packet, b []byte, hlen int) bool {
	if len(b) >= 4 {
		p.SrcPort, p.DstPort = be.Uint16(b), be.Uint16(b[2:])
	}
	if len(b) < hlen {
		p.Truncated = true
		return false
	}
	return true
}
