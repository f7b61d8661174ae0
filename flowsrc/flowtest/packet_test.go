package flowtest_test

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// onesSum is a slow reference one's complement sum of 16-bit words.
func onesSum(chunks ...[]byte) uint16 {
	var all []byte
	for _, c := range chunks {
		all = append(all, c...)
	}
	if len(all)%2 == 1 {
		all = append(all, 0)
	}
	var s uint64
	for i := 0; i < len(all); i += 2 {
		s += uint64(binary.BigEndian.Uint16(all[i:]))
	}
	for s > 0xFFFF {
		s = s>>16 + s&0xFFFF
	}
	return uint16(s)
}

// parsed is what a reader of the frame finds in it.
type parsed struct {
	vlan             uint16
	src, dst         netip.Addr
	proto            uint8
	ipPayloadLen     int // from the IP header
	sport, dport     uint16
	flags            uint8
	icmpType, icmpCd uint8
	l4Len            int
	checksumOK       bool
}

// parse reads frame (headers then payload; payloadLen zero bytes are
// assumed after it when extra is set).
func parse(t *testing.T, frame []byte, extra int) parsed {
	t.Helper()
	var p parsed
	eth := binary.BigEndian.Uint16(frame[12:])
	off := 14
	if eth == 0x8100 {
		p.vlan = binary.BigEndian.Uint16(frame[14:]) & 0x0FFF
		eth = binary.BigEndian.Uint16(frame[16:])
		off = 18
	}
	var pseudo []byte
	switch eth {
	case 0x0800:
		ip := frame[off : off+20]
		if ip[0] != 0x45 || onesSum(ip) != 0xFFFF {
			t.Errorf("bad IPv4 header % x", ip)
		}
		p.ipPayloadLen = int(binary.BigEndian.Uint16(ip[2:])) - 20
		p.proto = ip[9]
		p.src, _ = netip.AddrFromSlice(ip[12:16])
		p.dst, _ = netip.AddrFromSlice(ip[16:20])
		pseudo = append(append(append([]byte{}, ip[12:20]...), 0, p.proto), byte(p.ipPayloadLen>>8), byte(p.ipPayloadLen))
		off += 20
	case 0x86DD:
		ip := frame[off : off+40]
		if ip[0]>>4 != 6 {
			t.Errorf("bad IPv6 header % x", ip)
		}
		p.ipPayloadLen = int(binary.BigEndian.Uint16(ip[4:]))
		p.proto = ip[6]
		p.src, _ = netip.AddrFromSlice(ip[8:24])
		p.dst, _ = netip.AddrFromSlice(ip[24:40])
		pseudo = append(append([]byte{}, ip[8:40]...), 0, 0, byte(p.ipPayloadLen>>8), byte(p.ipPayloadLen), 0, 0, 0, p.proto)
		off += 40
	default:
		t.Fatalf("ethertype %#x", eth)
	}
	l4 := frame[off:]
	zeros := make([]byte, extra)
	switch p.proto {
	case 6:
		p.sport, p.dport, p.flags = binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:]), l4[13]
		p.l4Len = int(l4[12]>>4) * 4
	case 17:
		p.sport, p.dport = binary.BigEndian.Uint16(l4), binary.BigEndian.Uint16(l4[2:])
		p.l4Len = 8
		if int(binary.BigEndian.Uint16(l4[4:])) != p.ipPayloadLen {
			t.Errorf("UDP length %d, IP payload %d", binary.BigEndian.Uint16(l4[4:]), p.ipPayloadLen)
		}
	case 1:
		pseudo = nil
		p.icmpType, p.icmpCd, p.l4Len = l4[0], l4[1], 8
	case 58:
		p.icmpType, p.icmpCd, p.l4Len = l4[0], l4[1], 8
	default:
		p.checksumOK = true
		return p
	}
	p.checksumOK = onesSum(pseudo, l4, zeros) == 0xFFFF
	return p
}

func TestPacket(t *testing.T) {
	a4, b4 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("192.0.2.80")
	a6, b6 := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::80")
	for _, c := range []struct {
		name string
		f    flowtest.Flow
		n    int
		vlan uint16
		want parsed
	}{
		{"tcp4 vlan", flowtest.Flow{Src: a4, Dst: b4, SrcPort: 1025, DstPort: 80, Proto: 6, TCPFlags: 0x12}, 1000, 42,
			parsed{vlan: 42, src: a4, dst: b4, proto: 6, ipPayloadLen: 1020, sport: 1025, dport: 80, flags: 0x12, l4Len: 20}},
		{"tcp6", flowtest.Flow{Src: a6, Dst: b6, SrcPort: 1, DstPort: 2, Proto: 6, TCPFlags: 0x02}, 0, 0,
			parsed{src: a6, dst: b6, proto: 6, ipPayloadLen: 20, sport: 1, dport: 2, flags: 0x02, l4Len: 20}},
		{"udp4", flowtest.Flow{Src: a4, Dst: b4, SrcPort: 53, DstPort: 5353, Proto: 17}, 33, 0,
			parsed{src: a4, dst: b4, proto: 17, ipPayloadLen: 41, sport: 53, dport: 5353, l4Len: 8}},
		{"udp6 vlan", flowtest.Flow{Src: a6, Dst: b6, SrcPort: 500, DstPort: 4500, Proto: 17}, 1200, 4095,
			parsed{vlan: 4095, src: a6, dst: b6, proto: 17, ipPayloadLen: 1208, sport: 500, dport: 4500, l4Len: 8}},
		{"icmp4", flowtest.Flow{Src: a4, Dst: b4, Proto: 1, ICMPType: 8}, 56, 0,
			parsed{src: a4, dst: b4, proto: 1, ipPayloadLen: 64, icmpType: 8, l4Len: 8}},
		{"icmp6", flowtest.Flow{Src: a6, Dst: b6, Proto: 58, ICMPType: 1, ICMPCode: 4}, 7, 0,
			parsed{src: a6, dst: b6, proto: 58, ipPayloadLen: 15, icmpType: 1, icmpCd: 4, l4Len: 8}},
		{"gre4", flowtest.Flow{Src: netip.MustParseAddr("::ffff:10.0.0.1"), Dst: b4, Proto: 47}, 100, 0,
			parsed{src: a4, dst: b4, proto: 47, ipPayloadLen: 100}},
	} {
		t.Run(c.name, func(t *testing.T) {
			frame := flowtest.Packet(c.f, c.n, c.vlan)
			c.want.checksumOK = true
			if got := parse(t, frame, c.n); got != c.want {
				t.Errorf("parsed %+v\nwant   %+v", got, c.want)
			}
		})
	}
}

func TestUDPFrame(t *testing.T) {
	for _, c := range []struct{ src, dst string }{
		{"192.0.2.1:9995", "127.0.0.1:2055"},
		{"[2001:db8::1]:4739", "[::1]:4739"},
	} {
		src, dst := netip.MustParseAddrPort(c.src), netip.MustParseAddrPort(c.dst)
		payload := []byte("an odd-length payload")
		frame := flowtest.UDPFrame(src, dst, payload)
		p := parse(t, frame[:len(frame)-len(payload)], 0)
		// The checksum covers the real payload: check it over the frame.
		full := parse(t, frame, 0)
		if full.src != src.Addr() || full.dst != dst.Addr() || full.sport != src.Port() || full.dport != dst.Port() ||
			full.ipPayloadLen != 8+len(payload) || !full.checksumOK {
			t.Errorf("%s -> %s: parsed %+v", c.src, c.dst, full)
		}
		if p.checksumOK {
			t.Errorf("%s -> %s: checksum also valid without the payload", c.src, c.dst)
		}
		if string(frame[len(frame)-len(payload):]) != string(payload) {
			t.Errorf("payload not at the end of the frame")
		}
	}
}

func TestPacketPanics(t *testing.T) {
	for _, c := range []struct {
		name string
		f    flowtest.Flow
		n    int
	}{
		{"mixed families", flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("2001:db8::1")}, 0},
		{"no address", flowtest.Flow{}, 0},
		{"too long", flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), Proto: 17}, 70000},
		{"negative", flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2")}, -1},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			flowtest.Packet(c.f, c.n, 0)
		})
	}
}
