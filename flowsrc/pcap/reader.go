package pcap

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net/netip"
	"sync"
	"time"
)

const (
	// maxBlock bounds pcap records and pcapng blocks.
	maxBlock = 16 << 20
	// bufSize is the read buffer; records up to this size are returned
	// straight from it without a copy.
	bufSize = 1 << 17
)

// Packet is one frame decoded down to its transport header.
//
// The zero Packet has invalid addresses. Fields a frame does not carry
// stay zero: ports for protocols without ports, ICMPType and ICMPCode
// except for ICMP and ICMPv6, ports and Payload for non-first fragments.
type Packet struct {
	// Time is the capture timestamp in UTC, at the full resolution of the
	// file (microseconds or nanoseconds for pcap, the interface's
	// if_tsresol for pcapng, plus its if_tsoffset). It is the zero Time for
	// pcapng simple packet blocks, which carry no timestamp.
	Time time.Time
	// Frame is the 1-based number of the frame in the stream, counting
	// skipped frames too, as Wireshark's frame.number does.
	Frame uint64
	// Length is the frame's length on the wire (the record's original
	// length); it exceeds the captured length when the frame was cut by
	// the snapshot length.
	Length int

	// Src and Dst are the addresses of the outermost IP header.
	Src, Dst netip.Addr
	// Proto is the IP protocol of the transport payload, after any IPv6
	// extension headers (for a non-first fragment: the fragment header's
	// next header).
	Proto uint8
	// SrcPort and DstPort are set for TCP, UDP, UDP-Lite and SCTP.
	SrcPort, DstPort uint16
	// ICMPType and ICMPCode are set for ICMP (1) and ICMPv6 (58).
	ICMPType, ICMPCode uint8

	// Payload is the transport payload: after the UDP, TCP (data offset)
	// or SCTP common header, after the 8-byte ICMP header, or everything
	// after the IP headers for other protocols. It ends where the IP total
	// length (and for UDP the UDP length) says, not at the frame's end, so
	// Ethernet padding is excluded; it is shorter when the capture was
	// cut. It aliases the Reader's buffer and is valid only until the next
	// call to Next.
	Payload []byte

	// Fragment is set for a non-first IPv4 or IPv6 fragment: its ports,
	// ICMP fields and Payload are unavailable.
	Fragment bool
	// FirstFragment is set for the first fragment of a fragmented
	// datagram: its ports are valid but Payload holds only this fragment's
	// part of the datagram.
	FirstFragment bool
	// Truncated is set when the frame was captured shorter than it was on
	// the wire, or ends before the length its IP header gives: headers
	// past the end are left zero and Payload holds what is there.
	Truncated bool
}

// Stats counts what a Reader has read so far. Frames = Packets + Skipped,
// and Skipped is the sum of the four skip reasons.
type Stats struct {
	// Frames is the number of frames (pcap records, pcapng enhanced,
	// simple and obsolete packet blocks) read.
	Frames uint64
	// Packets is the number of frames returned by Next.
	Packets uint64
	// Skipped is the number of frames Next did not return.
	Skipped uint64

	// UnsupportedLink counts frames skipped because their link type is
	// not one this package decodes.
	UnsupportedLink uint64
	// NonIP counts frames skipped because the link layer carries something
	// other than IPv4 or IPv6 (ARP, LLDP, ...).
	NonIP uint64
	// Short counts frames skipped because they end (snapshot length or a
	// broken frame) before the end of the link-layer or IP header.
	Short uint64
	// Malformed counts frames skipped because a header is invalid: an IP
	// version that does not match, an IPv4 header length under 20 or over
	// the total length, a pcapng packet block that refers to an unknown
	// interface or whose captured length overruns the block.
	Malformed uint64

	// Truncated counts returned packets with Packet.Truncated set.
	Truncated uint64
	// Fragments counts returned packets with Packet.Fragment set
	// (non-first fragments, whose ports and payload are unavailable).
	Fragments uint64
}

type format uint8

const (
	formatPcap format = iota + 1
	formatPcapng
)

// Reader reads packets from a pcap or pcapng stream, detected from its
// magic number; a gzip-compressed stream, detected by its magic, is
// decompressed transparently.
//
// A Reader is not safe for concurrent use, and must not be copied.
type Reader struct {
	_ [0]sync.Mutex // uncopyable (go vet copylocks)

	br  *bufio.Reader
	big []byte // buffer for records larger than br's buffer
	off int64  // offset of the next unread byte of the (decompressed) stream

	format    format
	bigEndian bool

	// pcap
	nsec   bool
	recLen int // record header length: 16, or 24 for the modified format
	link   uint32

	// pcapng: interfaces of the current section
	ifaces []iface

	pkt   Packet
	stats Stats
	err   error // sticky
}

// NewReader returns a Reader for the capture in rd, having read its file
// header (pcap) or first section header block (pcapng). It buffers rd.
// An error is a [*ParseError] wrapping [ErrFormat], [ErrMalformed],
// [ErrTooLarge], [io.ErrUnexpectedEOF] or rd's error.
func NewReader(rd io.Reader) (*Reader, error) {
	r := &Reader{br: bufio.NewReaderSize(rd, bufSize)}
	m, err := r.br.Peek(4)
	if len(m) >= 2 && m[0] == 0x1f && m[1] == 0x8b {
		gz, err := gzip.NewReader(r.br)
		if err != nil {
			return nil, r.errAt(0, "gzip header", unexpected(err))
		}
		r.br = bufio.NewReaderSize(gz, bufSize)
		m, err = r.br.Peek(4)
		if len(m) < 4 {
			return nil, r.errAt(0, "file header", unexpected(err))
		}
	} else if len(m) < 4 {
		return nil, r.errAt(0, "file header", unexpected(err))
	}
	magic := binary.BigEndian.Uint32(m)
	switch magic {
	case blockSHB:
		r.format = formatPcapng
		if _, err := r.nextPcapng(); err != nil {
			return nil, err
		}
		return r, nil
	case 0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34:
		r.bigEndian = true
	case 0xd4c3b2a1, 0x4d3cb2a1, 0x34cdb2a1:
	default:
		return nil, r.errAt(0, fmt.Sprintf("magic %#08x", magic), ErrFormat)
	}
	h, err := r.readN(24)
	if err != nil {
		return nil, r.errAt(0, "pcap file header", unexpected(err))
	}
	r.format = formatPcap
	magic = r.u32(h)
	r.nsec = magic == 0xa1b23c4d
	r.recLen = 16
	if magic == 0xa1b2cd34 {
		r.recLen = 24
	}
	if major, minor := r.u16(h[4:]), r.u16(h[6:]); major != 2 {
		return nil, r.errAt(0, fmt.Sprintf("pcap version %d.%d", major, minor), ErrFormat)
	}
	// Bits 16 and up hold FCS information; the frame's FCS, if any, lies
	// past the IP packet's end and is ignored.
	r.link = r.u32(h[20:]) & 0xffff
	return r, nil
}

// Next returns the next decoded IP packet, skipping (and counting in Stats)
// the frames it cannot decode to IP. It returns io.EOF at the end of the
// stream and a [*ParseError] if the stream is truncated or corrupt; after
// an error it keeps returning that error.
//
// The returned Packet, and the memory its Payload refers to, belong to the
// Reader and are overwritten by the next call to Next; copy what must be
// kept. Next allocates nothing once the Reader's buffer has grown to the
// largest frame (frames up to 128 KiB need no growth).
func (r *Reader) Next() (*Packet, error) {
	if r.err != nil {
		return nil, r.err
	}
	for {
		var ok bool
		var err error
		if r.format == formatPcap {
			ok, err = r.nextPcap()
		} else {
			ok, err = r.nextPcapng()
		}
		if err != nil {
			r.err = err
			return nil, err
		}
		if ok {
			return &r.pkt, nil
		}
	}
}

// Stats returns the counts so far.
func (r *Reader) Stats() Stats { return r.stats }

// nextPcap reads one pcap record; it reports whether r.pkt holds a packet.
func (r *Reader) nextPcap() (bool, error) {
	start := r.off
	h, err := r.readN(r.recLen)
	if err != nil {
		if err == io.EOF {
			return false, io.EOF
		}
		return false, r.errAt(start, "record header", err)
	}
	sec, frac := r.u32(h), r.u32(h[4:])
	capLen, origLen := r.u32(h[8:]), r.u32(h[12:])
	if capLen > maxBlock {
		return false, r.errAt(start, fmt.Sprintf("record captured length %d over %d", capLen, maxBlock), ErrTooLarge)
	}
	data, err := r.readN(int(capLen))
	if err != nil {
		return false, r.errAt(start, fmt.Sprintf("record data (%d bytes)", capLen), unexpected(err))
	}
	ns := int64(frac)
	if !r.nsec {
		ns *= 1000
	}
	return r.decodeFrame(r.link, time.Unix(int64(sec), ns).UTC(), data, origLen), nil
}

// decodeFrame decodes one captured frame into r.pkt and updates the
// counts; it reports whether the frame is returned.
func (r *Reader) decodeFrame(link uint32, t time.Time, data []byte, origLen uint32) bool {
	r.stats.Frames++
	length := int(min(origLen, math.MaxInt32))
	p := &r.pkt
	*p = Packet{
		Time:      t,
		Frame:     r.stats.Frames,
		Length:    max(length, len(data)),
		Truncated: length > len(data),
	}
	reason := decodeLink(p, link, data)
	if reason != skipNone {
		r.countSkip(reason)
		return false
	}
	r.stats.Packets++
	if p.Truncated {
		r.stats.Truncated++
	}
	if p.Fragment {
		r.stats.Fragments++
	}
	return true
}

// skipFrame counts a frame that is skipped before decoding.
func (r *Reader) skipFrame(reason skipReason) bool {
	r.stats.Frames++
	r.countSkip(reason)
	return false
}

func (r *Reader) countSkip(reason skipReason) {
	r.stats.Skipped++
	switch reason {
	case skipLink:
		r.stats.UnsupportedLink++
	case skipNonIP:
		r.stats.NonIP++
	case skipShort:
		r.stats.Short++
	default:
		r.stats.Malformed++
	}
}

// readN returns the next n bytes of the stream, valid until the next call.
// It returns io.EOF if the stream ends before the first byte and
// io.ErrUnexpectedEOF if it ends later. Memory grows with the data that is
// actually there, not with n.
func (r *Reader) readN(n int) ([]byte, error) {
	if n <= bufSize {
		b, err := r.br.Peek(n)
		if err != nil {
			if len(b) == 0 && err == io.EOF {
				return nil, io.EOF
			}
			if len(b) < n {
				return nil, unexpected(err)
			}
		}
		_, _ = r.br.Discard(n) // cannot fail: the n bytes are buffered
		r.off += int64(n)
		return b, nil
	}
	buf := r.big[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), min(n, max(2*cap(buf), 2*bufSize)))
			copy(nb, buf)
			buf = nb
		}
		k, err := io.ReadFull(r.br, buf[len(buf):min(cap(buf), n)])
		buf = buf[:len(buf)+k]
		r.off += int64(k)
		if err != nil {
			r.big = buf
			if len(buf) == 0 && err == io.EOF {
				return nil, io.EOF
			}
			return nil, unexpected(err)
		}
	}
	r.big = buf
	return buf, nil
}

// unexpected turns io.EOF into io.ErrUnexpectedEOF, for reads that must
// not end the stream.
func unexpected(err error) error {
	if err == io.EOF || err == nil {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (r *Reader) errAt(off int64, msg string, err error) error {
	return &ParseError{Offset: off, Frame: r.stats.Frames, Msg: msg, Err: err}
}

func (r *Reader) u16(b []byte) uint16 {
	if r.bigEndian {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) u32(b []byte) uint32 {
	if r.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) u64(b []byte) uint64 {
	if r.bigEndian {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}
