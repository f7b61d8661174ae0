package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"
)

func fuzzSeeds() [][]byte {
	recs := []rec{
		{t: t0, data: ether(etherIPv4, frameA, etherVLAN)},
		{t: t0, data: ether(etherIPv6, ipv6("2001:db8::1", "2001:db8::2", protoHopByHop, cat(ext6(protoFragment, 1), frag6(protoUDP, 0, true), udpHdr(1, 2, []byte("x")))))},
		{t: t0, data: ether(0x0806, nil)},
		{t: t0, data: ether(etherIPv4, frameA)[:30], orig: 60},
	}
	w := &ngWriter{}
	w.shb(binary.LittleEndian)
	w.idb(linkEthernet, 0)
	w.idb(linkRaw, 100, w.opt(optTSResol, []byte{0x80 | 20}), w.opt(optTSOffset, make([]byte, 8)))
	w.epb(0, 1, recs[0].data, 0)
	w.epb(1, 1<<40, frameA, 0)
	w.shb(binary.BigEndian)
	w.idb(linkSLL2, 0)
	w.spb(sll2(etherIPv4, frameA), 50)
	w.opb(0, 5, sll2(etherIPv6, ipv6("::1", "::2", protoTCP, tcpHdr(1, 2, nil, []byte("y")))))
	return [][]byte{
		pcapFile(binary.LittleEndian, 0xa1b2c3d4, linkEthernet, recs...),
		pcapFile(binary.BigEndian, 0xa1b23c4d, linkEthernet, recs...),
		pcapFile(binary.LittleEndian, 0xa1b2cd34, linkNull, rec{t: t0, data: null(binary.LittleEndian, 2, frameA)}),
		pcapFile(binary.BigEndian, 0xa1b2c3d4, linkSLL, rec{t: t0, data: sll(etherIPv4, frameA)}),
		w.b,
		gzipped(w.b),
		[]byte("garbage"),
		nil,
	}
}

// FuzzReader reads arbitrary bytes as a capture: no panic, no endless
// loop, errors are ParseErrors, and the counts and packets are coherent.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("NewReader error %v is not a *ParseError", err)
			}
			return
		}
		// gzip can expand the input; cap the work.
		for range 100_000 {
			p, err := r.Next()
			st := r.Stats()
			if st.Frames != st.Packets+st.Skipped || st.Skipped != st.UnsupportedLink+st.NonIP+st.Short+st.Malformed {
				t.Fatalf("incoherent stats %+v", st)
			}
			if err != nil {
				var pe *ParseError
				if err != io.EOF && !errors.As(err, &pe) {
					t.Fatalf("Next error %v is not io.EOF or a *ParseError", err)
				}
				if _, err2 := r.Next(); err2 != err {
					t.Fatalf("error not sticky: %v then %v", err, err2)
				}
				return
			}
			checkPacket(t, p)
			if p.Frame != st.Frames {
				t.Fatalf("packet frame %d, stats %d", p.Frame, st.Frames)
			}
		}
	})
}

func checkPacket(t *testing.T, p *Packet) {
	t.Helper()
	if !p.Src.IsValid() || !p.Dst.IsValid() || p.Src.Is4() != p.Dst.Is4() {
		t.Fatalf("bad addresses %v %v", p.Src, p.Dst)
	}
	if p.Fragment && (p.SrcPort != 0 || p.DstPort != 0 || p.Payload != nil || p.FirstFragment) {
		t.Fatalf("non-first fragment with transport fields: %+v", p)
	}
	if (p.ICMPType != 0 || p.ICMPCode != 0) && p.Proto != protoICMP && p.Proto != protoICMPv6 {
		t.Fatalf("ICMP fields for protocol %d", p.Proto)
	}
	if p.Time.Location() != time.UTC && !p.Time.IsZero() {
		t.Fatalf("time %v not UTC", p.Time)
	}
}

// FuzzDecodeLink decodes arbitrary frames of every supported link type.
func FuzzDecodeLink(f *testing.F) {
	f.Add(uint16(linkEthernet), ether(etherIPv4, frameA, etherQinQ, etherVLAN))
	f.Add(uint16(linkEthernet), ether(etherMPLS, cat([]byte{0, 1, 1, 64}, frameA)))
	f.Add(uint16(linkRaw), ipv6("::1", "::2", protoHopByHop, cat(ext6(protoAH, 1), []byte{protoUDP, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, udpHdr(1, 2, nil))))
	f.Add(uint16(linkNull), null(binary.BigEndian, 30, ipv6("::1", "::2", protoICMPv6, icmpHdr(1, 4, nil))))
	f.Add(uint16(linkSLL), sll(etherIPv4, ipv4("1.2.3.4", "5.6.7.8", protoSCTP, 0, make([]byte, 4), sctpHdr(1, 2, nil))))
	f.Add(uint16(linkSLL2), sll2(etherIPv4, ipv4("1.2.3.4", "5.6.7.8", protoTCP, 0, nil, tcpHdr(1, 2, nil, nil))))
	f.Fuzz(func(t *testing.T, link uint16, frame []byte) {
		var p Packet
		reason := decodeLink(&p, uint32(link), frame)
		if reason != skipNone {
			if p.Payload != nil {
				t.Fatalf("skipped frame (reason %d) with a payload", reason)
			}
			return
		}
		checkPacket(t, &p)
		if len(p.Payload) > len(frame) {
			t.Fatalf("payload of %d bytes from a %d-byte frame", len(p.Payload), len(frame))
		}
		if len(p.Payload) > 0 && !bytes.Contains(frame, p.Payload) {
			t.Fatal("payload is not part of the frame")
		}
	})
}
