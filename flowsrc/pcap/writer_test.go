package pcap

// A tiny pcap/pcapng writer and frame builders, for tests only.

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"net/netip"
	"time"
)

// order is a byte order that can append.
type order interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// rec is one record to write: the captured frame and its original length
// (0 means len(data)).
type rec struct {
	t    time.Time
	data []byte
	orig int
}

// pcapFile writes a classic pcap file. magic selects the variant:
// 0xa1b2c3d4 (µs), 0xa1b23c4d (ns) or 0xa1b2cd34 (modified, µs).
func pcapFile(o order, magic uint32, link uint32, recs ...rec) []byte {
	b := o.AppendUint32(nil, magic)
	b = o.AppendUint16(b, 2)
	b = o.AppendUint16(b, 4)
	b = o.AppendUint32(b, 0)     // thiszone
	b = o.AppendUint32(b, 0)     // sigfigs
	b = o.AppendUint32(b, 65535) // snaplen
	b = o.AppendUint32(b, link)
	for _, r := range recs {
		orig := r.orig
		if orig == 0 {
			orig = len(r.data)
		}
		frac := uint32(r.t.Nanosecond())
		if magic != 0xa1b23c4d {
			frac /= 1000
		}
		b = o.AppendUint32(b, uint32(r.t.Unix()))
		b = o.AppendUint32(b, frac)
		b = o.AppendUint32(b, uint32(len(r.data)))
		b = o.AppendUint32(b, uint32(orig))
		if magic == 0xa1b2cd34 {
			b = append(b, 1, 0, 0, 0, 0, 8, 0, 0) // ifindex, protocol, pkt_type, pad
		}
		b = append(b, r.data...)
	}
	return b
}

// ngWriter writes pcapng blocks.
type ngWriter struct {
	o order
	b []byte
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (w *ngWriter) block(typ uint32, body []byte) {
	body = pad4(append([]byte(nil), body...))
	n := uint32(len(body) + 12)
	w.b = w.o.AppendUint32(w.b, typ)
	w.b = w.o.AppendUint32(w.b, n)
	w.b = append(w.b, body...)
	w.b = w.o.AppendUint32(w.b, n)
}

// shb starts a section in byte order o.
func (w *ngWriter) shb(o order, opts ...[]byte) {
	w.o = o
	b := o.AppendUint32(nil, 0x1a2b3c4d)
	b = o.AppendUint16(b, 1)
	b = o.AppendUint16(b, 0)
	b = o.AppendUint64(b, ^uint64(0)) // section length unknown
	w.block(blockSHB, append(b, w.opts(opts...)...))
}

// opt builds one option (code, value), padded.
func (w *ngWriter) opt(code uint16, v []byte) []byte {
	b := w.o.AppendUint16(nil, code)
	b = w.o.AppendUint16(b, uint16(len(v)))
	return pad4(append(b, v...))
}

func (w *ngWriter) opts(opts ...[]byte) []byte {
	if len(opts) == 0 {
		return nil
	}
	var b []byte
	for _, o := range opts {
		b = append(b, o...)
	}
	return append(b, 0, 0, 0, 0) // opt_endofopt
}

func (w *ngWriter) idb(link uint16, snap uint32, opts ...[]byte) {
	b := w.o.AppendUint16(nil, link)
	b = w.o.AppendUint16(b, 0)
	b = w.o.AppendUint32(b, snap)
	w.block(blockIDB, append(b, w.opts(opts...)...))
}

func (w *ngWriter) epb(id uint32, ts uint64, data []byte, orig int) {
	if orig == 0 {
		orig = len(data)
	}
	b := w.o.AppendUint32(nil, id)
	b = w.o.AppendUint32(b, uint32(ts>>32))
	b = w.o.AppendUint32(b, uint32(ts))
	b = w.o.AppendUint32(b, uint32(len(data)))
	b = w.o.AppendUint32(b, uint32(orig))
	b = append(pad4(append(b, data...)), w.opt(1, []byte("comment"))...) // an option after the data
	w.block(blockEPB, append(b, 0, 0, 0, 0))
}

func (w *ngWriter) opb(id uint16, ts uint64, data []byte) {
	b := w.o.AppendUint16(nil, id)
	b = w.o.AppendUint16(b, 0) // drops
	b = w.o.AppendUint32(b, uint32(ts>>32))
	b = w.o.AppendUint32(b, uint32(ts))
	b = w.o.AppendUint32(b, uint32(len(data)))
	b = w.o.AppendUint32(b, uint32(len(data)))
	w.block(blockOPB, append(b, data...))
}

func (w *ngWriter) spb(data []byte, orig int) {
	w.block(blockSPB, append(w.o.AppendUint32(nil, uint32(orig)), data...))
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// --- frame builders ---

var bo = binary.BigEndian

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func udpHdr(sp, dp uint16, payload []byte) []byte {
	b := bo.AppendUint16(nil, sp)
	b = bo.AppendUint16(b, dp)
	b = bo.AppendUint16(b, uint16(8+len(payload)))
	b = bo.AppendUint16(b, 0)
	return append(b, payload...)
}

func tcpHdr(sp, dp uint16, opts, payload []byte) []byte {
	b := bo.AppendUint16(nil, sp)
	b = bo.AppendUint16(b, dp)
	b = append(b, 0, 0, 0, 1, 0, 0, 0, 0)    // seq, ack
	b = append(b, byte((20+len(opts))/4<<4)) // data offset
	b = append(b, 0x18, 0xff, 0xff, 0, 0, 0, 0)
	return append(append(b, opts...), payload...)
}

func sctpHdr(sp, dp uint16, payload []byte) []byte {
	b := bo.AppendUint16(nil, sp)
	b = bo.AppendUint16(b, dp)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0) // verification tag, checksum
	return append(b, payload...)
}

func icmpHdr(typ, code uint8, payload []byte) []byte {
	return append([]byte{typ, code, 0, 0, 0, 1, 0, 2}, payload...)
}

// ipv4 builds an IPv4 header (with options opts, a multiple of 4 bytes)
// followed by payload; frag is the flags+fragment offset field.
func ipv4(src, dst string, proto uint8, frag uint16, opts, payload []byte) []byte {
	hl := 20 + len(opts)
	b := []byte{0x40 | byte(hl/4), 0}
	b = bo.AppendUint16(b, uint16(hl+len(payload)))
	b = append(b, 0x12, 0x34)
	b = bo.AppendUint16(b, frag)
	b = append(b, 64, proto, 0, 0)
	b = append(b, netip.MustParseAddr(src).AsSlice()...)
	b = append(b, netip.MustParseAddr(dst).AsSlice()...)
	return append(append(b, opts...), payload...)
}

func ipv4UDP(src, dst string, sp, dp uint16, payload []byte) []byte {
	return ipv4(src, dst, protoUDP, 0, nil, udpHdr(sp, dp, payload))
}

// ipv6 builds an IPv6 header with next header nh followed by payload
// (which holds any extension headers).
func ipv6(src, dst string, nh uint8, payload []byte) []byte {
	b := []byte{0x60, 0, 0, 0}
	b = bo.AppendUint16(b, uint16(len(payload)))
	b = append(b, nh, 64)
	b = append(b, netip.MustParseAddr(src).AsSlice()...)
	b = append(b, netip.MustParseAddr(dst).AsSlice()...)
	return append(b, payload...)
}

// ext6 builds a generic IPv6 extension header (next header nh) of 8*units
// bytes.
func ext6(nh uint8, units int) []byte {
	b := make([]byte, 8*units)
	b[0], b[1] = nh, byte(units-1)
	return b
}

// frag6 builds an IPv6 fragment header.
func frag6(nh uint8, offset uint16, more bool) []byte {
	v := offset << 3
	if more {
		v |= 1
	}
	return bo.AppendUint32(bo.AppendUint16([]byte{nh, 0}, v), 0xdeadbeef)
}

var (
	macs = []byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
)

// ether builds an Ethernet frame; tags are (TPID) values each followed by
// a TCI, inserted before the final EtherType et.
func ether(et uint16, payload []byte, tpids ...uint16) []byte {
	b := append([]byte(nil), macs...)
	for _, t := range tpids {
		b = bo.AppendUint16(b, t)
		b = bo.AppendUint16(b, 100) // TCI: VLAN 100
	}
	b = bo.AppendUint16(b, et)
	b = append(b, payload...)
	for len(b) < 60 { // Ethernet padding
		b = append(b, 0)
	}
	return b
}

func sll(et uint16, payload []byte) []byte {
	b := []byte{0, 0, 0, 1, 0, 6}
	b = append(b, 0, 1, 2, 3, 4, 5, 0, 0)
	b = bo.AppendUint16(b, et)
	return append(b, payload...)
}

func sll2(et uint16, payload []byte) []byte {
	b := bo.AppendUint16(nil, et)
	b = append(b, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6)
	b = append(b, 0, 1, 2, 3, 4, 5, 0, 0)
	return append(b, payload...)
}

func null(o order, family uint32, payload []byte) []byte {
	return append(o.AppendUint32(nil, family), payload...)
}
