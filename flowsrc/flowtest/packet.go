package flowtest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// Made-up, locally administered MAC addresses of the frames built here.
var (
	srcMAC = [6]byte{0x02, 0, 0, 0, 0, 0x01}
	dstMAC = [6]byte{0x02, 0, 0, 0, 0, 0x02}
)

// EtherType values.
const (
	etherIPv4 = 0x0800
	etherIPv6 = 0x86DD
	etherVLAN = 0x8100
)

// Packet returns the headers of a packet of flow f: Ethernet II (with an
// 802.1Q tag when vlan is not 0), IPv4 or IPv6 (after f.Src), and TCP (with
// f.TCPFlags), UDP, ICMP (protocol 1) or ICMPv6 (protocol 58, with
// f.ICMPType and f.ICMPCode) for f.Proto; other protocols get no transport
// header. The length fields count payloadLen more bytes after the
// headers, and the checksums are those of a payload of payloadLen zero
// bytes. Packet is meant for [SFlowSample.Frame].
//
// Packet panics if Src and Dst are not two valid addresses of the same
// family, or if the lengths do not fit their 16-bit fields.
func Packet(f Flow, payloadLen int, vlan uint16) []byte {
	return appendPacket(nil, &f, nil, payloadLen, vlan)
}

// UDPFrame returns an Ethernet II frame carrying payload in a UDP datagram
// from src to dst (both IPv4 or both IPv6), with correct checksums: what an
// exporter puts on the wire. It panics as [Packet] does.
func UDPFrame(src, dst netip.AddrPort, payload []byte) []byte {
	f := Flow{Src: src.Addr(), Dst: dst.Addr(), SrcPort: src.Port(), DstPort: dst.Port(), Proto: 17}
	return appendPacket(nil, &f, payload, len(payload), 0)
}

// appendPacket appends the headers of a packet of f and then payload. With a
// nil payload, the lengths and checksums are those of payloadLen zeros.
func appendPacket(b []byte, f *Flow, payload []byte, payloadLen int, vlan uint16) []byte {
	src, dst := f.Src.Unmap(), f.Dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		panic(fmt.Sprintf("flowtest: Packet: Src %v and Dst %v are not two addresses of the same family", f.Src, f.Dst))
	}
	if payloadLen < 0 {
		panic(fmt.Sprintf("flowtest: Packet: negative payload length %d", payloadLen))
	}
	v4 := src.Is4()

	var l4 []byte // transport header, checksum zero for now
	var buf [20]byte
	switch f.Proto {
	case 6:
		l4 = buf[:20]
		binary.BigEndian.PutUint16(l4[0:], f.SrcPort)
		binary.BigEndian.PutUint16(l4[2:], f.DstPort)
		binary.BigEndian.PutUint32(l4[4:], 1) // sequence number
		if f.TCPFlags&0x10 != 0 {
			binary.BigEndian.PutUint32(l4[8:], 1) // acknowledgment number
		}
		l4[12] = 5 << 4 // data offset: 5 words, no options
		l4[13] = f.TCPFlags
		binary.BigEndian.PutUint16(l4[14:], 0xFFFF) // window
	case 17:
		l4 = buf[:8]
		binary.BigEndian.PutUint16(l4[0:], f.SrcPort)
		binary.BigEndian.PutUint16(l4[2:], f.DstPort)
		binary.BigEndian.PutUint16(l4[4:], uint16(checkLen(8+payloadLen)))
	case 1, 58:
		l4 = buf[:8]
		l4[0], l4[1] = f.ICMPType, f.ICMPCode
	}
	ipPayload := checkLen(len(l4) + payloadLen)

	b = append(b, dstMAC[:]...)
	b = append(b, srcMAC[:]...)
	if vlan != 0 {
		b = binary.BigEndian.AppendUint16(b, etherVLAN)
		b = binary.BigEndian.AppendUint16(b, vlan&0x0FFF)
	}

	// Pseudo-header sum for the transport checksum (RFC 768, 793, 8200).
	var sum uint32
	if v4 {
		b = binary.BigEndian.AppendUint16(b, etherIPv4)
		ip := len(b)
		b = append(b, 0x45, 0) // version 4, IHL 5; DSCP/ECN
		b = binary.BigEndian.AppendUint16(b, uint16(checkLen(20+ipPayload)))
		b = append(b, 0, 0, 0x40, 0)     // identification; flags DF, offset 0
		b = append(b, 64, f.Proto, 0, 0) // TTL, protocol, checksum
		s4, d4 := src.As4(), dst.As4()
		b = append(b, s4[:]...)
		b = append(b, d4[:]...)
		binary.BigEndian.PutUint16(b[ip+10:], checksum(sum16(0, b[ip:])))
		sum = sum16(sum16(0, s4[:]), d4[:]) + uint32(f.Proto) + uint32(ipPayload)
	} else {
		b = binary.BigEndian.AppendUint16(b, etherIPv6)
		b = append(b, 0x60, 0, 0, 0) // version 6, traffic class, flow label
		b = binary.BigEndian.AppendUint16(b, uint16(ipPayload))
		b = append(b, f.Proto, 64) // next header, hop limit
		s16, d16 := src.As16(), dst.As16()
		b = append(b, s16[:]...)
		b = append(b, d16[:]...)
		sum = sum16(sum16(0, s16[:]), d16[:]) + uint32(f.Proto) + uint32(ipPayload)
	}
	if f.Proto == 1 {
		sum = 0 // ICMP for IPv4 has no pseudo-header
	}

	if l4 != nil {
		sum = sum16(sum16(sum, l4), payload)
		c := checksum(sum)
		switch f.Proto {
		case 6:
			binary.BigEndian.PutUint16(l4[16:], c)
		case 17:
			if c == 0 {
				c = 0xFFFF // 0 means "no checksum" in UDP
			}
			binary.BigEndian.PutUint16(l4[6:], c)
		default:
			binary.BigEndian.PutUint16(l4[2:], c)
		}
		b = append(b, l4...)
	}
	return append(b, payload...)
}

func checkLen(n int) int {
	if n > 0xFFFF {
		panic(fmt.Sprintf("flowtest: Packet: length %d does not fit 16 bits", n))
	}
	return n
}

// sum16 adds the big-endian 16-bit words of p to the one's complement sum
// s; an odd last byte is padded with a zero byte.
func sum16(s uint32, p []byte) uint32 {
	for len(p) >= 2 {
		s += uint32(p[0])<<8 | uint32(p[1])
		p = p[2:]
	}
	if len(p) == 1 {
		s += uint32(p[0]) << 8
	}
	for s>>16 != 0 {
		s = s&0xFFFF + s>>16
	}
	return s
}

// checksum folds the one's complement sum s into an Internet checksum.
func checksum(s uint32) uint16 {
	for s>>16 != 0 {
		s = s&0xFFFF + s>>16
	}
	return ^uint16(s)
}
