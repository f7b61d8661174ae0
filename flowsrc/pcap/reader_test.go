package pcap

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var cmpOpts = []cmp.Option{cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty()}

// readAll reads every packet of data, copying each one.
func readAll(t testing.TB, data []byte) ([]Packet, Stats, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, Stats{}, err
	}
	var out []Packet
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out, r.Stats(), nil
		}
		if err != nil {
			return out, r.Stats(), err
		}
		c := *p
		c.Payload = slices.Clone(p.Payload)
		out = append(out, c)
	}
}

var t0 = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

// pkt is an expected packet for frame 1 captured at t0.
func pkt(src, dst string, proto uint8, sp, dp uint16, payload string) Packet {
	return Packet{
		Time: t0, Frame: 1,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst),
		Proto: proto, SrcPort: sp, DstPort: dp, Payload: []byte(payload),
	}
}

func with(p Packet, f func(*Packet)) Packet { f(&p); return p }

func TestLinkTypes(t *testing.T) {
	v4 := ipv4UDP("192.0.2.1", "192.0.2.2", 5000, 2055, []byte("nf"))
	v6 := ipv6("2001:db8::1", "2001:db8::2", protoUDP, udpHdr(6343, 6343, []byte("sflow")))
	want4 := pkt("192.0.2.1", "192.0.2.2", protoUDP, 5000, 2055, "nf")
	want6 := pkt("2001:db8::1", "2001:db8::2", protoUDP, 6343, 6343, "sflow")
	pppoe := func(proto uint16, p []byte) []byte {
		return append(bo.AppendUint16([]byte{0x11, 0, 0, 1}, uint16(len(p)+2)), append(bo.AppendUint16(nil, proto), p...)...)
	}
	tests := []struct {
		name  string
		link  uint32
		frame []byte
		want  *Packet // nil: skipped
		skip  Stats   // the skip counter expected when want is nil
	}{
		{"ethernet ipv4 padded", linkEthernet, ether(etherIPv4, v4), &want4, Stats{}},
		{"ethernet ipv6", linkEthernet, ether(etherIPv6, v6), &want6, Stats{}},
		{"ethernet 802.1Q", linkEthernet, ether(etherIPv4, v4, etherVLAN), &want4, Stats{}},
		{"ethernet 802.1ad+802.1Q", linkEthernet, ether(etherIPv6, v6, etherQinQ, etherVLAN), &want6, Stats{}},
		{"ethernet 3 tags", linkEthernet, ether(etherIPv4, v4, etherQinQ1, etherQinQ, etherVLAN), &want4, Stats{}},
		{"ethernet arp", linkEthernet, ether(0x0806, make([]byte, 28)), nil, Stats{NonIP: 1}},
		{"ethernet vlan arp", linkEthernet, ether(0x0806, make([]byte, 28), etherVLAN), nil, Stats{NonIP: 1}},
		{"ethernet llc snap ipv4", linkEthernet, ether(uint16(8+len(v4)), cat([]byte{0xaa, 0xaa, 3, 0, 0, 0, 8, 0}, v4)), &want4, Stats{}},
		{"ethernet llc stp", linkEthernet, ether(38, cat([]byte{0x42, 0x42, 3}, make([]byte, 35))), nil, Stats{NonIP: 1}},
		{"ethernet pppoe ipv6", linkEthernet, ether(etherPPPoE, pppoe(0x0057, v6)), &want6, Stats{}},
		{"ethernet pppoe ipv4", linkEthernet, ether(etherPPPoE, pppoe(0x0021, v4)), &want4, Stats{}},
		{"ethernet pppoe lcp", linkEthernet, ether(etherPPPoE, pppoe(0xc021, make([]byte, 10))), nil, Stats{NonIP: 1}},
		{"ethernet mpls 2 labels", linkEthernet, ether(etherMPLS, cat([]byte{0, 1, 0, 64, 0, 2, 1, 64}, v4)), &want4, Stats{}},
		{"ethernet mpls ipv6", linkEthernet, ether(etherMPLS, cat([]byte{0, 2, 1, 64}, v6)), &want6, Stats{}},
		{"ethernet mpls pseudowire", linkEthernet, ether(etherMPLS, cat([]byte{0, 2, 1, 64}, make([]byte, 30))), nil, Stats{NonIP: 1}},
		{"ethernet mpls no bottom", linkEthernet, ether(etherMPLS, []byte{0, 2, 0, 64})[:18], nil, Stats{Short: 1}},
		{"ethernet short", linkEthernet, macs, nil, Stats{Short: 1}},
		{"ethernet vlan short", linkEthernet, cat(macs, []byte{0x81, 0, 0}), nil, Stats{Short: 1}},
		{"sll ipv4", linkSLL, sll(etherIPv4, v4), &want4, Stats{}},
		{"sll vlan ipv6", linkSLL, sll(etherVLAN, cat([]byte{0, 100, 0x86, 0xdd}, v6)), &want6, Stats{}},
		{"sll short", linkSLL, sll(etherIPv4, nil)[:15], nil, Stats{Short: 1}},
		{"sll2 ipv6", linkSLL2, sll2(etherIPv6, v6), &want6, Stats{}},
		{"sll2 ipv4", linkSLL2, sll2(etherIPv4, v4), &want4, Stats{}},
		{"sll2 short", linkSLL2, sll2(etherIPv4, nil)[:19], nil, Stats{Short: 1}},
		{"raw ipv4", linkRaw, v4, &want4, Stats{}},
		{"raw ipv6", linkRaw, v6, &want6, Stats{}},
		{"raw 12", linkRawBSD, v4, &want4, Stats{}},
		{"raw 14", linkRawOBSD, v6, &want6, Stats{}},
		{"raw empty", linkRaw, nil, nil, Stats{Short: 1}},
		{"raw version 5", linkRaw, []byte{0x50, 1, 2}, nil, Stats{NonIP: 1}},
		{"null le inet", linkNull, null(binary.LittleEndian, 2, v4), &want4, Stats{}},
		{"null be inet", linkNull, null(binary.BigEndian, 2, v4), &want4, Stats{}},
		{"null le inet6 bsd", linkNull, null(binary.LittleEndian, 24, v6), &want6, Stats{}},
		{"null be inet6 freebsd", linkNull, null(binary.BigEndian, 28, v6), &want6, Stats{}},
		{"null le inet6 darwin", linkNull, null(binary.LittleEndian, 30, v6), &want6, Stats{}},
		{"null le inet6 windows", linkNull, null(binary.LittleEndian, 23, v6), &want6, Stats{}},
		{"null other family", linkNull, null(binary.LittleEndian, 7, v4), nil, Stats{NonIP: 1}},
		{"null short", linkNull, []byte{2, 0}, nil, Stats{Short: 1}},
		{"loop", linkLoop, null(binary.BigEndian, 2, v4), &want4, Stats{}},
		{"ipv4 link", linkIPv4, v4, &want4, Stats{}},
		{"ipv6 link", linkIPv6, v6, &want6, Stats{}},
		{"ipv4 link carrying ipv6", linkIPv4, v6, nil, Stats{Malformed: 1}},
		{"ipv6 link carrying ipv4", linkIPv6, cat(v4, make([]byte, 20)), nil, Stats{Malformed: 1}},
		{"802.11 unsupported", 105, make([]byte, 40), nil, Stats{UnsupportedLink: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st, err := readAll(t, pcapFile(binary.LittleEndian, 0xa1b2c3d4, tt.link, rec{t: t0, data: tt.frame}))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("got %+v, want frame skipped", got[0])
				}
				want := tt.skip
				want.Frames, want.Skipped = 1, 1
				if st != want {
					t.Errorf("stats = %+v, want %+v", st, want)
				}
				return
			}
			want := *tt.want
			want.Length = len(tt.frame)
			if len(got) != 1 {
				t.Fatalf("got %d packets, want 1; stats %+v", len(got), st)
			}
			if d := cmp.Diff(want, got[0], cmpOpts...); d != "" {
				t.Errorf("packet (-want +got):\n%s", d)
			}
			if st != (Stats{Frames: 1, Packets: 1}) {
				t.Errorf("stats = %+v", st)
			}
		})
	}
}

func TestIPDecoding(t *testing.T) {
	const a4, b4, a6, b6 = "10.0.0.1", "10.0.0.2", "fe80::1", "2001:db8::2"
	udp := udpHdr(1000, 2000, []byte("data"))
	v6udp := func(exts ...[]byte) []byte { return cat(append(exts, udp)...) }
	tests := []struct {
		name  string
		frame []byte
		orig  int
		want  *Packet
		skip  Stats
	}{
		{"ipv4 options", ipv4(a4, b4, protoUDP, 0, []byte{1, 1, 1, 0, 0x94, 4, 0, 0}, udp), 0,
			ptr(pkt(a4, b4, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv4 max options", ipv4(a4, b4, protoUDP, 0, make([]byte, 40), udp), 0,
			ptr(pkt(a4, b4, protoUDP, 1000, 2000, "data")), Stats{}},
		{"udp length bounds payload", cat(ipv4(a4, b4, protoUDP, 0, nil, cat(udpHdr(1, 2, []byte("ab"))[:4], []byte{0, 10, 0, 0}, []byte("abcdef")))), 0,
			ptr(pkt(a4, b4, protoUDP, 1, 2, "ab")), Stats{}},
		{"udp length over ip length", ipv4(a4, b4, protoUDP, 0, nil, cat([]byte{0, 1, 0, 2, 0, 99, 0, 0}, []byte("xyz"))), 0,
			ptr(with(pkt(a4, b4, protoUDP, 1, 2, "xyz"), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"udp length under 8", ipv4(a4, b4, protoUDP, 0, nil, cat([]byte{0, 1, 0, 2, 0, 3, 0, 0}, []byte("xyz"))), 0,
			ptr(pkt(a4, b4, protoUDP, 1, 2, "xyz")), Stats{}},
		{"udp-lite", ipv4(a4, b4, protoUDPLite, 0, nil, cat([]byte{0, 1, 0, 2, 0, 8, 0, 0}, []byte("xyz"))), 0,
			ptr(pkt(a4, b4, protoUDPLite, 1, 2, "xyz")), Stats{}},
		{"udp header cut", ipv4(a4, b4, protoUDP, 0, nil, []byte{0, 1, 0, 2, 0}), 0,
			ptr(with(pkt(a4, b4, protoUDP, 1, 2, ""), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"udp header cut before ports", ipv4(a4, b4, protoUDP, 0, nil, []byte{0, 1, 0}), 0,
			ptr(with(pkt(a4, b4, protoUDP, 0, 0, ""), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"tcp", ipv4(a4, b4, protoTCP, 0, nil, tcpHdr(443, 5555, nil, []byte("hello"))), 0,
			ptr(pkt(a4, b4, protoTCP, 443, 5555, "hello")), Stats{}},
		{"tcp options", ipv4(a4, b4, protoTCP, 0, nil, tcpHdr(443, 5555, make([]byte, 12), []byte("hello"))), 0,
			ptr(pkt(a4, b4, protoTCP, 443, 5555, "hello")), Stats{}},
		{"tcp bad data offset", ipv4(a4, b4, protoTCP, 0, nil, with2(tcpHdr(1, 2, nil, []byte("x")), 12, 0x30)), 0,
			ptr(pkt(a4, b4, protoTCP, 1, 2, "")), Stats{}},
		{"tcp data offset past end", ipv4(a4, b4, protoTCP, 0, nil, with2(tcpHdr(1, 2, nil, []byte("x")), 12, 0xf0)), 0,
			ptr(with(pkt(a4, b4, protoTCP, 1, 2, ""), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"sctp", ipv4(a4, b4, protoSCTP, 0, nil, sctpHdr(7, 7, []byte("chunk"))), 0,
			ptr(pkt(a4, b4, protoSCTP, 7, 7, "chunk")), Stats{}},
		{"icmp", ipv4(a4, b4, protoICMP, 0, nil, icmpHdr(8, 0, []byte("ping"))), 0,
			ptr(with(pkt(a4, b4, protoICMP, 0, 0, "ping"), func(p *Packet) { p.ICMPType = 8 })), Stats{}},
		{"icmp error keeps outer header", ipv4(a4, b4, protoICMP, 0, nil, icmpHdr(3, 3, ipv4UDP(b4, a4, 53, 53, nil))), 0,
			ptr(with(pkt(a4, b4, protoICMP, 0, 0, string(ipv4UDP(b4, a4, 53, 53, nil))), func(p *Packet) { p.ICMPType, p.ICMPCode = 3, 3 })), Stats{}},
		{"icmp short", ipv4(a4, b4, protoICMP, 0, nil, []byte{11, 1, 0}), 0,
			ptr(with(pkt(a4, b4, protoICMP, 0, 0, ""), func(p *Packet) { p.ICMPType, p.ICMPCode, p.Truncated = 11, 1, true })), Stats{}},
		{"icmp very short", ipv4(a4, b4, protoICMP, 0, nil, []byte{11}), 0,
			ptr(with(pkt(a4, b4, protoICMP, 0, 0, ""), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"gre payload", ipv4(a4, b4, 47, 0, nil, []byte{0, 0, 8, 0, 0x45}), 0,
			ptr(pkt(a4, b4, 47, 0, 0, "\x00\x00\x08\x00\x45")), Stats{}},
		{"ipv4 non-first fragment", ipv4(a4, b4, protoUDP, 185, nil, []byte("more data")), 0,
			ptr(with(pkt(a4, b4, protoUDP, 0, 0, ""), func(p *Packet) { p.Fragment = true })), Stats{}},
		{"ipv4 first fragment", ipv4(a4, b4, protoUDP, 0x2000, nil, cat([]byte{0, 1, 0, 2, 5, 0xdc, 0, 0}, []byte("part"))), 0,
			ptr(with(pkt(a4, b4, protoUDP, 1, 2, "part"), func(p *Packet) { p.FirstFragment = true })), Stats{}},
		{"ipv4 dont fragment", ipv4(a4, b4, protoUDP, 0x4000, nil, udp), 0,
			ptr(pkt(a4, b4, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv4 total length over frame", ipv4(a4, b4, protoUDP, 0, nil, udp)[:30], 0,
			ptr(with(pkt(a4, b4, protoUDP, 1000, 2000, "da"), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"ipv4 total length 0", with2(with2(ipv4(a4, b4, protoUDP, 0, nil, udp), 2, 0), 3, 0), 0,
			ptr(pkt(a4, b4, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv4 snaplen cut", ipv4(a4, b4, protoUDP, 0, nil, udpHdr(1, 2, make([]byte, 100)))[:34], 128,
			ptr(with(pkt(a4, b4, protoUDP, 1, 2, "\x00\x00\x00\x00\x00\x00"), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"ipv4 header cut", ipv4(a4, b4, protoUDP, 0, nil, udp)[:19], 50, nil, Stats{Short: 1}},
		{"ipv4 options cut", ipv4(a4, b4, protoUDP, 0, make([]byte, 8), udp)[:24], 50, nil, Stats{Short: 1}},
		{"ipv4 ihl 4", with2(ipv4(a4, b4, protoUDP, 0, nil, udp), 0, 0x44), 0, nil, Stats{Malformed: 1}},
		{"ipv4 total length under ihl", with2(with2(ipv4(a4, b4, protoUDP, 0, nil, udp), 2, 0), 3, 19), 0, nil, Stats{Malformed: 1}},
		{"ipv6 udp", ipv6(a6, b6, protoUDP, udp), 0, ptr(pkt(a6, b6, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv6 trailing bytes", cat(ipv6(a6, b6, protoUDP, udp), []byte("pad")), 0, ptr(pkt(a6, b6, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv6 hop-by-hop routing dstopts", ipv6(a6, b6, protoHopByHop, v6udp(ext6(protoRouting, 1), ext6(protoDstOpts, 3), ext6(protoUDP, 2))), 0,
			ptr(pkt(a6, b6, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv6 ah", ipv6(a6, b6, protoAH, v6udp([]byte{protoUDP, 4, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})), 0,
			ptr(pkt(a6, b6, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv6 mobility hip shim6 exp", ipv6(a6, b6, protoMobility, v6udp(ext6(protoHIP, 1), ext6(protoShim6, 1), ext6(protoExp1, 1), ext6(protoExp2, 1), ext6(protoUDP, 1))), 0,
			ptr(pkt(a6, b6, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv6 first fragment", ipv6(a6, b6, protoFragment, v6udp(frag6(protoUDP, 0, true))), 0,
			ptr(with(pkt(a6, b6, protoUDP, 1000, 2000, "data"), func(p *Packet) { p.FirstFragment = true })), Stats{}},
		{"ipv6 atomic fragment", ipv6(a6, b6, protoFragment, v6udp(frag6(protoUDP, 0, false))), 0,
			ptr(pkt(a6, b6, protoUDP, 1000, 2000, "data")), Stats{}},
		{"ipv6 non-first fragment", ipv6(a6, b6, protoHopByHop, v6udp(ext6(protoFragment, 1), frag6(protoUDP, 100, false))), 0,
			ptr(with(pkt(a6, b6, protoUDP, 0, 0, ""), func(p *Packet) { p.Fragment = true })), Stats{}},
		{"ipv6 nested fragment headers", ipv6(a6, b6, protoFragment, v6udp(frag6(protoFragment, 0, true), frag6(protoUDP, 8, true))), 0,
			ptr(with(pkt(a6, b6, protoUDP, 0, 0, ""), func(p *Packet) { p.Fragment = true })), Stats{}},
		{"ipv6 no next header", ipv6(a6, b6, 59, []byte("junk")), 0, ptr(pkt(a6, b6, 59, 0, 0, "junk")), Stats{}},
		{"ipv6 icmpv6", ipv6(a6, b6, protoICMPv6, icmpHdr(135, 0, []byte("ns"))), 0,
			ptr(with(pkt(a6, b6, protoICMPv6, 0, 0, "ns"), func(p *Packet) { p.ICMPType = 135 })), Stats{}},
		{"ipv6 ext header past end", ipv6(a6, b6, protoHopByHop, ext6(protoUDP, 4)[:20]), 0,
			ptr(with(pkt(a6, b6, protoHopByHop, 0, 0, ""), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"ipv6 ext header 1 byte", ipv6(a6, b6, protoRouting, []byte{17}), 0,
			ptr(with(pkt(a6, b6, protoRouting, 0, 0, ""), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"ipv6 payload length over frame", ipv6(a6, b6, protoUDP, udp)[:50], 60,
			ptr(with(pkt(a6, b6, protoUDP, 1000, 2000, "da"), func(p *Packet) { p.Truncated = true })), Stats{}},
		{"ipv6 jumbo length 0", with2(with2(cat(ipv6(a6, b6, protoHopByHop, cat(ext6(protoUDP, 1), []byte{0, 1, 0, 2, 0, 0, 0, 0}, []byte("big")))), 4, 0), 5, 0), 0,
			ptr(pkt(a6, b6, protoUDP, 1, 2, "big")), Stats{}},
		{"ipv6 header cut", ipv6(a6, b6, protoUDP, udp)[:39], 60, nil, Stats{Short: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st, err := readAll(t, pcapFile(binary.BigEndian, 0xa1b2c3d4, linkRaw, rec{t: t0, data: tt.frame, orig: tt.orig}))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == nil {
				if len(got) != 0 {
					t.Fatalf("got %+v, want frame skipped", got[0])
				}
				want := tt.skip
				want.Frames, want.Skipped = 1, 1
				if st != want {
					t.Errorf("stats = %+v, want %+v", st, want)
				}
				return
			}
			want := *tt.want
			want.Length = max(tt.orig, len(tt.frame))
			if tt.orig > len(tt.frame) {
				want.Truncated = true
			}
			if len(got) != 1 {
				t.Fatalf("got %d packets, want 1; stats %+v", len(got), st)
			}
			if d := cmp.Diff(want, got[0], cmpOpts...); d != "" {
				t.Errorf("packet (-want +got):\n%s", d)
			}
			wantSt := Stats{Frames: 1, Packets: 1}
			if want.Truncated {
				wantSt.Truncated = 1
			}
			if want.Fragment {
				wantSt.Fragments = 1
			}
			if st != wantSt {
				t.Errorf("stats = %+v, want %+v", st, wantSt)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// with2 returns a copy of b with b[i] = v.
func with2(b []byte, i int, v byte) []byte {
	b = slices.Clone(b)
	b[i] = v
	return b
}
