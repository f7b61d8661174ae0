package flowtest

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// SFlowHeader is the header of an sFlow v5 datagram.
type SFlowHeader struct {
	// Agent is the agent address: IPv4 (address type 1) or IPv6 (type 2);
	// the zero Addr is written as address type 0 (unknown), which has no
	// address bytes.
	Agent netip.Addr
	// SubAgentID distinguishes the sub-agents of one agent.
	SubAgentID uint32
	// Sequence counts the datagrams the sub-agent sent before this one.
	Sequence uint32
	// Uptime is the agent's uptime, written in milliseconds.
	Uptime time.Duration
}

// SFlowSample is one flow sample (sFlow v5 flow_sample or
// flow_sample_expanded) carrying one sampled_header flow record.
type SFlowSample struct {
	// Sequence counts the flow samples of this source.
	Sequence uint32
	// SourceIDClass and SourceIDIndex are the data source: class (0
	// ifIndex, 1 VLAN, 2 physical entity, 3 logical entity) and index.
	// The compact form keeps the index's low 24 bits.
	SourceIDClass uint8
	SourceIDIndex uint32
	// SamplingRate is the 1-in-N rate, SamplePool the packets that could
	// have been sampled, Drops the samples lost for lack of resources.
	SamplingRate, SamplePool, Drops uint32
	// Input and Output are the interfaces, as the raw 32-bit field of the
	// compact form (format in the top 2 bits); in the expanded form they
	// are the interface value, with format 0.
	Input, Output uint32
	// Expanded selects flow_sample_expanded (format 3) instead of
	// flow_sample (format 1).
	Expanded bool
	// Frame is the sampled header: the first bytes of the packet, starting
	// with its Ethernet header (see [Packet]). A nil Frame gives a sample
	// without flow records.
	Frame []byte
	// FrameLength is the packet's original length on the wire; 0 means
	// len(Frame) + Stripped.
	FrameLength uint32
	// Stripped is the number of bytes removed before sampling (such as
	// the 4-byte Ethernet FCS).
	Stripped uint32
}

// sFlow structure numbers (enterprise 0).
const (
	sflowFlowSample         = 1
	sflowFlowSampleExpanded = 3
	sflowSampledHeader      = 1
	sflowProtoEthernet      = 1
)

// AppendSFlow appends an sFlow v5 datagram with h and samples to b and
// returns the extended buffer. Each sample carries one sampled_header
// record (flow data format 1) of header protocol 1 (Ethernet).
func AppendSFlow(b []byte, h SFlowHeader, samples []SFlowSample) []byte {
	b = binary.BigEndian.AppendUint32(b, 5)
	switch {
	case h.Agent.Is4():
		b = binary.BigEndian.AppendUint32(b, 1)
		a := h.Agent.As4()
		b = append(b, a[:]...)
	case h.Agent.IsValid():
		b = binary.BigEndian.AppendUint32(b, 2)
		a := h.Agent.As16()
		b = append(b, a[:]...)
	default:
		b = binary.BigEndian.AppendUint32(b, 0)
	}
	b = binary.BigEndian.AppendUint32(b, h.SubAgentID)
	b = binary.BigEndian.AppendUint32(b, h.Sequence)
	b = binary.BigEndian.AppendUint32(b, uint32(h.Uptime.Milliseconds()))
	b = binary.BigEndian.AppendUint32(b, uint32(len(samples)))
	for i := range samples {
		b = appendFlowSample(b, &samples[i])
	}
	return b
}

func appendFlowSample(b []byte, s *SFlowSample) []byte {
	format := uint32(sflowFlowSample)
	if s.Expanded {
		format = sflowFlowSampleExpanded
	}
	b = binary.BigEndian.AppendUint32(b, format) // enterprise 0
	start := len(b)
	b = append(b, 0, 0, 0, 0) // length, set below
	b = binary.BigEndian.AppendUint32(b, s.Sequence)
	if s.Expanded {
		b = binary.BigEndian.AppendUint32(b, uint32(s.SourceIDClass))
		b = binary.BigEndian.AppendUint32(b, s.SourceIDIndex)
	} else {
		b = binary.BigEndian.AppendUint32(b, uint32(s.SourceIDClass)<<24|s.SourceIDIndex&0xFFFFFF)
	}
	b = binary.BigEndian.AppendUint32(b, s.SamplingRate)
	b = binary.BigEndian.AppendUint32(b, s.SamplePool)
	b = binary.BigEndian.AppendUint32(b, s.Drops)
	if s.Expanded {
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, s.Input)
		b = binary.BigEndian.AppendUint32(b, 0)
		b = binary.BigEndian.AppendUint32(b, s.Output)
	} else {
		b = binary.BigEndian.AppendUint32(b, s.Input)
		b = binary.BigEndian.AppendUint32(b, s.Output)
	}
	if s.Frame == nil {
		b = binary.BigEndian.AppendUint32(b, 0)
	} else {
		b = binary.BigEndian.AppendUint32(b, 1)
		b = appendSampledHeader(b, s)
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}

func appendSampledHeader(b []byte, s *SFlowSample) []byte {
	b = binary.BigEndian.AppendUint32(b, sflowSampledHeader) // enterprise 0
	start := len(b)
	b = append(b, 0, 0, 0, 0) // length, set below
	frameLen := s.FrameLength
	if frameLen == 0 {
		frameLen = uint32(len(s.Frame)) + s.Stripped
	}
	b = binary.BigEndian.AppendUint32(b, sflowProtoEthernet)
	b = binary.BigEndian.AppendUint32(b, frameLen)
	b = binary.BigEndian.AppendUint32(b, s.Stripped)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Frame)))
	b = append(b, s.Frame...)
	for (len(b)-start)%4 != 0 {
		b = append(b, 0) // XDR opaque padding
	}
	binary.BigEndian.PutUint32(b[start:], uint32(len(b)-start-4))
	return b
}
