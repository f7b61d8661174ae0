package flowtest

import (
	"encoding/binary"
	"time"
)

// V5Header is the header of a NetFlow v5 datagram.
type V5Header struct {
	// ExportTime is the exporter's clock when it sent the datagram
	// (unix_secs and unix_nsecs).
	ExportTime time.Time
	// Uptime is the exporter's sysUptime at ExportTime.
	Uptime time.Duration
	// Sequence is the flow_sequence: the number of flows sent before this
	// datagram.
	Sequence uint32
	// EngineType and EngineID identify the flow-switching engine.
	EngineType, EngineID uint8
	// SamplingInterval is the raw 16-bit field: the sampling mode in the
	// top 2 bits, the interval in the low 14 bits.
	SamplingInterval uint16
}

// V5HeaderLen and V5RecordLen are the sizes of the NetFlow v5 header and
// flow record; V5MaxRecords is the largest count exporters send.
const (
	V5HeaderLen  = 24
	V5RecordLen  = 48
	V5MaxRecords = 30
)

// AppendV5 appends a NetFlow v5 datagram with h and one record per flow to
// b and returns the extended buffer. The format carries IPv4 only: an
// address of another family is written as 0.0.0.0. Counters keep their low
// 32 bits. First and Last are sysUptime milliseconds, Uptime - (ExportTime -
// Start), modulo 2^32. For ICMP (protocol 1) flows the destination port is
// ICMPType<<8 | ICMPCode, as Cisco exporters do. Next hop, interfaces, ToS,
// AS numbers and masks are zero. AppendV5 does not enforce the
// 30-record limit of real exporters ([V5MaxRecords]).
func AppendV5(b []byte, h V5Header, flows []Flow) []byte {
	b = binary.BigEndian.AppendUint16(b, 5)
	b = binary.BigEndian.AppendUint16(b, uint16(len(flows)))
	b = binary.BigEndian.AppendUint32(b, uint32(h.Uptime.Milliseconds()))
	b = binary.BigEndian.AppendUint32(b, uint32(h.ExportTime.Unix()))
	b = binary.BigEndian.AppendUint32(b, uint32(h.ExportTime.Nanosecond()))
	b = binary.BigEndian.AppendUint32(b, h.Sequence)
	b = append(b, h.EngineType, h.EngineID)
	b = binary.BigEndian.AppendUint16(b, h.SamplingInterval)
	up := h.Uptime.Milliseconds()
	for i := range flows {
		f := &flows[i]
		b = appendAddr(b, Field{Type: 8, Length: 4}, f)
		b = appendAddr(b, Field{Type: 12, Length: 4}, f)
		b = append(b, 0, 0, 0, 0) // nexthop
		b = append(b, 0, 0, 0, 0) // input, output
		b = binary.BigEndian.AppendUint32(b, uint32(f.Packets))
		b = binary.BigEndian.AppendUint32(b, uint32(f.Bytes))
		b = binary.BigEndian.AppendUint32(b, uint32(up-h.ExportTime.Sub(f.Start).Milliseconds()))
		b = binary.BigEndian.AppendUint32(b, uint32(up-h.ExportTime.Sub(f.End).Milliseconds()))
		b = binary.BigEndian.AppendUint16(b, f.SrcPort)
		dport := f.DstPort
		if f.Proto == 1 {
			dport = uint16(f.ICMPType)<<8 | uint16(f.ICMPCode)
		}
		b = binary.BigEndian.AppendUint16(b, dport)
		b = append(b, 0, f.TCPFlags, f.Proto, 0) // pad1, tcp_flags, prot, tos
		b = append(b, 0, 0, 0, 0)                // src_as, dst_as
		b = append(b, 0, 0, 0, 0)                // src_mask, dst_mask, pad2
	}
	return b
}
