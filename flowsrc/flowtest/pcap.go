package flowtest

import (
	"encoding/binary"
	"fmt"
	"io"
	"time"
)

// pcap file constants: the classic libpcap format, microsecond timestamps,
// link type 1 (Ethernet).
const (
	pcapMagic    = 0xA1B2C3D4
	pcapSnapLen  = 262144
	pcapEthernet = 1
)

// PcapWriter writes Ethernet frames to a classic libpcap capture file
// (little-endian, microsecond timestamps), such as the frames of
// [UDPFrame], for replay tests or for tshark.
//
// A PcapWriter is not safe for concurrent use.
type PcapWriter struct {
	w   io.Writer
	buf []byte
}

// NewPcapWriter writes the file header to w and returns a writer for the
// frames that follow.
func NewPcapWriter(w io.Writer) (*PcapWriter, error) {
	var h [24]byte
	binary.LittleEndian.PutUint32(h[0:], pcapMagic)
	binary.LittleEndian.PutUint16(h[4:], 2) // version 2.4
	binary.LittleEndian.PutUint16(h[6:], 4)
	// h[8:16]: time zone offset and accuracy, both 0.
	binary.LittleEndian.PutUint32(h[16:], pcapSnapLen)
	binary.LittleEndian.PutUint32(h[20:], pcapEthernet)
	if _, err := w.Write(h[:]); err != nil {
		return nil, fmt.Errorf("flowtest: writing pcap header: %w", err)
	}
	return &PcapWriter{w: w}, nil
}

// WriteFrame writes one frame captured at t.
func (p *PcapWriter) WriteFrame(t time.Time, frame []byte) error {
	if len(frame) > pcapSnapLen {
		return fmt.Errorf("flowtest: frame of %d bytes exceeds the pcap snapshot length %d", len(frame), pcapSnapLen)
	}
	b := p.buf[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Unix()))
	b = binary.LittleEndian.AppendUint32(b, uint32(t.Nanosecond()/1000))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = append(b, frame...)
	p.buf = b
	if _, err := p.w.Write(b); err != nil {
		return fmt.Errorf("flowtest: writing pcap frame: %w", err)
	}
	return nil
}
