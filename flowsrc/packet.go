package flowsrc

import (
	"encoding/binary"
	"net/netip"
)

// sFlow sampled header protocols (sflow_version_5.txt, header_protocol).
const (
	headerEthernet = 1
	headerIPv4     = 11
	headerIPv6     = 12
)

// EtherTypes walked by parseSampledHeader.
const (
	etherIPv4  = 0x0800
	etherIPv6  = 0x86dd
	etherVLAN  = 0x8100
	etherQinQ  = 0x88a8
	etherQinQ2 = 0x9100
	etherMPLS  = 0x8847
	etherMPLSm = 0x8848
)

// parseSampledHeader parses the first bytes of a sampled packet (Ethernet
// with any number of 802.1Q/802.1ad tags and MPLS labels, or bare IPv4/IPv6)
// into r's addresses, protocol, ports, TCP flags and ICMP type/code. It does
// not allocate. Tunnels (VXLAN, GRE) are not entered: the outer header is
// the flow. It reports false when no IP header is found.
func parseSampledHeader(proto uint32, b []byte, r *Record) bool {
	switch proto {
	case headerIPv4, headerIPv6:
		return parseIP(b, r)
	case headerEthernet:
		return parseEthernet(b, r, 2)
	}
	return false
}

// parseEthernet walks an Ethernet frame to its IP header. depth bounds
// Ethernet-over-MPLS nesting (pseudowires with a control word).
func parseEthernet(b []byte, r *Record, depth int) bool {
	if len(b) < 14 {
		return false
	}
	et := binary.BigEndian.Uint16(b[12:])
	b = b[14:]
	for range 8 {
		switch et {
		case etherVLAN, etherQinQ, etherQinQ2:
			if len(b) < 4 {
				return false
			}
			et = binary.BigEndian.Uint16(b[2:])
			b = b[4:]
			continue
		case etherMPLS, etherMPLSm:
			for range 16 {
				if len(b) < 4 {
					return false
				}
				bos := b[2]&1 == 1
				b = b[4:]
				if bos {
					break
				}
			}
			if len(b) > 0 && b[0]>>4 == 0 && depth > 0 {
				// pseudowire control word, then the customer's Ethernet
				// frame (RFC 4448)
				if len(b) < 4 {
					return false
				}
				return parseEthernet(b[4:], r, depth-1)
			}
			return parseIP(b, r)
		case etherIPv4, etherIPv6:
			return parseIP(b, r)
		}
		return false
	}
	return false
}

// parseIP parses an IPv4 or IPv6 header (by its version nibble) and the
// transport header after it when present.
func parseIP(b []byte, r *Record) bool {
	if len(b) < 1 {
		return false
	}
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return false
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 {
			return false
		}
		r.Src = netip.AddrFrom4([4]byte(b[12:16]))
		r.Dst = netip.AddrFrom4([4]byte(b[16:20]))
		r.Proto = b[9]
		fragOff := binary.BigEndian.Uint16(b[6:]) & 0x1fff
		if fragOff != 0 || len(b) < ihl {
			transport(r, r.Proto, nil)
			return true
		}
		transport(r, r.Proto, b[ihl:])
		return true
	case 6:
		if len(b) < 40 {
			return false
		}
		r.Src = netip.AddrFrom16([16]byte(b[8:24])).Unmap()
		r.Dst = netip.AddrFrom16([16]byte(b[24:40])).Unmap()
		next := b[6]
		b = b[40:]
		for range 8 {
			switch next {
			case 0, 43, 60: // hop-by-hop, routing, destination options
				if len(b) < 8 {
					r.Proto = next
					transport(r, next, nil)
					return true
				}
				l := (int(b[1]) + 1) * 8
				next = b[0]
				if len(b) < l {
					b = nil
				} else {
					b = b[l:]
				}
				continue
			case 44: // fragment
				if len(b) < 8 {
					b = nil
					break
				}
				next = b[0]
				if binary.BigEndian.Uint16(b[2:])&0xfff8 != 0 {
					b = nil // not the first fragment: no transport header
				} else {
					b = b[8:]
				}
				continue
			case 51: // authentication header
				if len(b) < 8 {
					b = nil
					continue
				}
				l := (int(b[1]) + 2) * 4
				next = b[0]
				if len(b) < l {
					b = nil
				} else {
					b = b[l:]
				}
				continue
			}
			break
		}
		r.Proto = next
		transport(r, next, b)
		return true
	}
	return false
}

// transport reads ports, TCP flags or ICMP type/code. b is nil when the
// transport header is absent (non-first fragment, truncated sample).
func transport(r *Record, proto uint8, b []byte) {
	switch proto {
	case 6:
		if len(b) >= 14 {
			r.SrcPort = binary.BigEndian.Uint16(b)
			r.DstPort = binary.BigEndian.Uint16(b[2:])
			r.TCPFlags = b[13]
		}
	case 17, 132, 136: // UDP, SCTP, UDP-Lite
		if len(b) >= 4 {
			r.SrcPort = binary.BigEndian.Uint16(b)
			r.DstPort = binary.BigEndian.Uint16(b[2:])
		}
	case 1, 58:
		r.HasICMP = true
		if len(b) >= 2 {
			r.ICMPType, r.ICMPCode = b[0], b[1]
		}
	}
}
