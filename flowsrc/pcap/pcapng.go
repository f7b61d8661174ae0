package pcap

import (
	"fmt"
	"io"
	"math/bits"
	"time"
)

// pcapng block types.
const (
	blockSHB = 0x0a0d0d0a // section header
	blockIDB = 1          // interface description
	blockOPB = 2          // obsolete packet block
	blockSPB = 3          // simple packet
	blockEPB = 6          // enhanced packet
)

// pcapng interface description options.
const (
	optEnd      = 0
	optTSResol  = 9
	optTSOffset = 14
)

// iface is what a pcapng interface description block says about the
// frames of one interface.
type iface struct {
	link    uint32
	snapLen uint32
	pow2    bool  // if_tsresol is a power of 2, not of 10
	exp     uint8 // timestamp unit is 10^-exp or 2^-exp seconds
	offset  int64 // if_tsoffset, seconds
}

var pow10 = [20]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// time converts a timestamp in the interface's units to UTC, truncating
// resolutions finer than a nanosecond.
func (f *iface) time(ts uint64) time.Time {
	var sec, ns uint64
	k := uint(f.exp)
	switch {
	case f.pow2 && k == 0:
		sec = ts
	case f.pow2 && k < 64:
		sec = ts >> k
		hi, lo := bits.Mul64(ts&(1<<k-1), 1e9)
		ns = hi<<(64-k) | lo>>k
	case f.pow2:
		hi, _ := bits.Mul64(ts, 1e9)
		ns = hi >> (k - 64)
	case k <= 9:
		sec, ns = ts/pow10[k], ts%pow10[k]*pow10[9-k]
	case k <= 19:
		sec, ns = ts/pow10[k], ts%pow10[k]/pow10[k-9]
	case k <= 28:
		ns = ts / pow10[k-9]
	}
	return time.Unix(f.offset+int64(sec), int64(ns)).UTC()
}

// nextPcapng reads one block; it reports whether r.pkt holds a packet.
func (r *Reader) nextPcapng() (bool, error) {
	start := r.off
	h, err := r.readN(8)
	if err != nil {
		if err == io.EOF {
			return false, io.EOF
		}
		return false, r.errAt(start, "block header", err)
	}
	var hdr [8]byte
	copy(hdr[:], h)
	typ := r.u32(hdr[:])
	if typ == blockSHB {
		return false, r.readSHB(start, hdr)
	}
	length := r.u32(hdr[4:])
	if length < 12 || length%4 != 0 {
		return false, r.errAt(start, fmt.Sprintf("block type %#x length %d", typ, length), ErrMalformed)
	}
	if length > maxBlock {
		return false, r.errAt(start, fmt.Sprintf("block type %#x length %d over %d", typ, length, maxBlock), ErrTooLarge)
	}
	body, err := r.readN(int(length) - 8)
	if err != nil {
		return false, r.errAt(start, fmt.Sprintf("block type %#x body (%d bytes)", typ, length), unexpected(err))
	}
	if trailer := r.u32(body[len(body)-4:]); trailer != length {
		return false, r.errAt(start, fmt.Sprintf("block type %#x trailing length %d, leading %d", typ, trailer, length), ErrMalformed)
	}
	body = body[:len(body)-4]
	switch typ {
	case blockIDB:
		return false, r.readIDB(start, body)
	case blockEPB:
		return r.readEPB(body), nil
	case blockSPB:
		return r.readSPB(body), nil
	case blockOPB:
		return r.readOPB(body), nil
	}
	return false, nil // other blocks carry no packets
}

// readSHB reads the rest of a section header block, whose 8-byte header
// (in a byte order not known yet) is hdr.
func (r *Reader) readSHB(start int64, hdr [8]byte) error {
	bom, err := r.readN(4)
	if err != nil {
		return r.errAt(start, "section header", unexpected(err))
	}
	switch {
	case bom[0] == 0x1a && bom[1] == 0x2b && bom[2] == 0x3c && bom[3] == 0x4d:
		r.bigEndian = true
	case bom[0] == 0x4d && bom[1] == 0x3c && bom[2] == 0x2b && bom[3] == 0x1a:
		r.bigEndian = false
	default:
		return r.errAt(start, fmt.Sprintf("section header byte-order magic %#x", bom), ErrFormat)
	}
	length := r.u32(hdr[4:])
	if length < 28 || length%4 != 0 {
		return r.errAt(start, fmt.Sprintf("section header length %d", length), ErrMalformed)
	}
	if length > maxBlock {
		return r.errAt(start, fmt.Sprintf("section header length %d over %d", length, maxBlock), ErrTooLarge)
	}
	body, err := r.readN(int(length) - 12)
	if err != nil {
		return r.errAt(start, fmt.Sprintf("section header body (%d bytes)", length), unexpected(err))
	}
	if major, minor := r.u16(body), r.u16(body[2:]); major != 1 {
		return r.errAt(start, fmt.Sprintf("pcapng version %d.%d", major, minor), ErrFormat)
	}
	if trailer := r.u32(body[len(body)-4:]); trailer != length {
		return r.errAt(start, fmt.Sprintf("section header trailing length %d, leading %d", trailer, length), ErrMalformed)
	}
	r.ifaces = r.ifaces[:0] // interface ids restart in each section
	return nil
}

// readIDB records an interface description block.
func (r *Reader) readIDB(start int64, body []byte) error {
	if len(body) < 8 {
		return r.errAt(start, fmt.Sprintf("interface description of %d bytes", len(body)), ErrMalformed)
	}
	f := iface{link: uint32(r.u16(body)), snapLen: r.u32(body[4:]), exp: 6}
	opts := body[8:]
	for len(opts) >= 4 {
		code, n := r.u16(opts), int(r.u16(opts[2:]))
		if code == optEnd {
			break
		}
		if 4+n > len(opts) {
			return r.errAt(start, fmt.Sprintf("interface option %d length %d overruns its block", code, n), ErrMalformed)
		}
		v := opts[4 : 4+n]
		switch {
		case code == optTSResol && n == 1:
			f.pow2, f.exp = v[0]&0x80 != 0, v[0]&0x7f
		case code == optTSOffset && n == 8:
			f.offset = int64(r.u64(v))
		}
		opts = opts[min(len(opts), 4+(n+3)&^3):]
	}
	r.ifaces = append(r.ifaces, f)
	return nil
}

// readEPB decodes an enhanced packet block.
func (r *Reader) readEPB(body []byte) bool {
	if len(body) < 20 {
		return r.skipFrame(skipMalformed)
	}
	id := r.u32(body)
	ts := uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:]))
	return r.packetBlock(id, ts, r.u32(body[12:]), r.u32(body[16:]), body[20:])
}

// readOPB decodes an obsolete packet block.
func (r *Reader) readOPB(body []byte) bool {
	if len(body) < 20 {
		return r.skipFrame(skipMalformed)
	}
	id := uint32(r.u16(body))
	ts := uint64(r.u32(body[4:]))<<32 | uint64(r.u32(body[8:]))
	return r.packetBlock(id, ts, r.u32(body[12:]), r.u32(body[16:]), body[20:])
}

func (r *Reader) packetBlock(id uint32, ts uint64, capLen, origLen uint32, data []byte) bool {
	if uint64(id) >= uint64(len(r.ifaces)) || uint64(capLen) > uint64(len(data)) {
		return r.skipFrame(skipMalformed)
	}
	f := &r.ifaces[id]
	return r.decodeFrame(f.link, f.time(ts), data[:capLen], origLen)
}

// readSPB decodes a simple packet block: interface 0, no timestamp, the
// captured length implied by the original length and the snapshot length.
func (r *Reader) readSPB(body []byte) bool {
	if len(body) < 4 || len(r.ifaces) == 0 {
		return r.skipFrame(skipMalformed)
	}
	f := &r.ifaces[0]
	origLen := r.u32(body)
	capLen := min(origLen, uint32(len(body)-4))
	if f.snapLen != 0 {
		capLen = min(capLen, f.snapLen)
	}
	return r.decodeFrame(f.link, time.Time{}, body[4:4+capLen], origLen)
}
