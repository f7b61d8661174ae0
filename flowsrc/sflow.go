package flowsrc

import (
	"bytes"
	"encoding/binary"
	"net/netip"

	"github.com/netsampler/goflow2/v2/decoders/sflow"
)

// sFlow v5 sample formats (enterprise 0).
const (
	sflowFlowSample            = 1
	sflowCounterSample         = 2
	sflowExpandedFlowSample    = 3
	sflowExpandedCounterSample = 4
	sflowDropSample            = 5
)

// Fixed sample header sizes after the sequence number, up to and including
// the record count: flow_sample and expanded_flow_sample.
const (
	sflowFlowSampleFixed     = 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4
	sflowExpandedSampleFixed = 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4 + 4
	sflowMaxRecords          = 1000 // goflow2's own cap for flow samples
)

// decodeSFlow decodes an sFlow v5 datagram. The datagram header and the
// sample framing are walked here so that one bad sample does not lose the
// others (goflow2's DecodeMessage stops at the first); each flow sample is
// decoded with goflow2's sflow.DecodeSample after checking its record count
// against its length (goflow2 allocates expanded samples' records from the
// count unchecked).
func (c *decodeCtx) decodeSFlow(b []byte) {
	alen := 4
	if binary.BigEndian.Uint32(b[4:]) == 2 {
		alen = 16
	}
	hdrLen := 8 + alen + 16
	if len(b) < hdrLen {
		c.fail(ErrMalformed, 0, 0, nil, "sFlow header needs %d bytes, datagram has %d", hdrLen, len(b))
		return
	}
	p := b[8+alen:]
	c.domain = binary.BigEndian.Uint32(p)       // sub-agent ID
	nsamples := binary.BigEndian.Uint32(p[12:]) // after sequence number and uptime
	off := hdrLen
	for i := uint32(0); i < nsamples; i++ {
		if len(b)-off < 8 {
			c.fail(ErrMalformed, 0, off, nil, "header announces %d samples, datagram holds %d", nsamples, i)
			return
		}
		format := binary.BigEndian.Uint32(b[off:])
		length := binary.BigEndian.Uint32(b[off+4:])
		pos := off
		if uint64(length) > uint64(len(b)-off-8) {
			c.fail(ErrMalformed, format, pos, nil, "sample length %d exceeds the %d bytes left", length, len(b)-off-8)
			return
		}
		body := b[off+8 : off+8+int(length)]
		off += 8 + int(length)
		if format>>12 != 0 {
			c.fail(ErrUnsupported, format, pos, nil, "enterprise %d sample format %d", format>>12, format&0xfff)
			continue
		}
		switch format {
		case sflowFlowSample, sflowExpandedFlowSample:
			c.flowSample(format, body, pos)
		case sflowCounterSample, sflowExpandedCounterSample:
			c.d.stats.counterSamples.Add(1)
		case sflowDropSample:
			c.fail(ErrUnsupported, format, pos, nil, "drop sample (discarded packets are not flows)")
		default:
			c.fail(ErrUnsupported, format, pos, nil, "sample format %d", format)
		}
	}
	if rest := b[off:]; !allZero(rest) {
		c.fail(ErrMalformed, 0, off, nil, "%d bytes after %d samples", len(rest), nsamples)
	}
}

// flowSample decodes one (expanded) flow sample and emits one Record for
// it: the sampled packet's addresses, ports and protocol, bytes = frame
// length × sampling rate, packets = sampling rate.
func (c *decodeCtx) flowSample(format uint32, body []byte, pos int) {
	fixed := sflowFlowSampleFixed
	if format == sflowExpandedFlowSample {
		fixed = sflowExpandedSampleFixed
	}
	if len(body) < fixed {
		c.fail(ErrMalformed, format, pos, nil, "flow sample of %d bytes, header needs %d", len(body), fixed)
		return
	}
	nrec := binary.BigEndian.Uint32(body[fixed-4:])
	if nrec > sflowMaxRecords || uint64(nrec)*8 > uint64(len(body)-fixed) {
		c.fail(ErrMalformed, format, pos, nil, "flow sample announces %d records in %d bytes", nrec, len(body)-fixed)
		return
	}
	hdr := sflow.SampleHeader{Format: format, Length: uint32(len(body))}
	c.buf = *bytes.NewBuffer(body)
	s, err := sflow.DecodeSample(&hdr, &c.buf)
	if err != nil {
		c.fail(ErrMalformed, format, pos, err, "flow sample not decoded")
		return
	}
	var rate uint32
	var records []sflow.FlowRecord
	switch s := s.(type) {
	case sflow.FlowSample:
		rate, records = s.SamplingRate, s.Records
	case sflow.ExpandedFlowSample:
		rate, records = s.SamplingRate, s.Records
	default:
		c.fail(ErrMalformed, format, pos, nil, "unexpected goflow2 sample type %T", s)
		return
	}
	if rate == 0 {
		rate = 1
	}

	r := c.rec
	*r = Record{}
	var frameLen uint32
	found, decoded := false, 0
	for i := range records {
		switch d := records[i].Data.(type) {
		case nil:
			// goflow2 stops at a record longer than the sample and leaves
			// the rest zero.
			continue
		case sflow.SampledHeader:
			decoded++
			if found {
				continue
			}
			h := d.HeaderData
			if uint64(d.OriginalLength) < uint64(len(h)) {
				h = h[:d.OriginalLength] // drop the XDR padding
			}
			if parseSampledHeader(d.Protocol, h, r) {
				found, frameLen = true, d.FrameLength
			}
		case sflow.SampledIPv4:
			decoded++
			if !found {
				found = sampledIP(r, d.SampledIPBase)
				frameLen = d.Length
			}
		case sflow.SampledIPv6:
			decoded++
			if !found {
				found = sampledIP(r, d.SampledIPBase)
				frameLen = d.Length
			}
		default:
			decoded++
		}
	}
	if decoded < int(nrec) {
		c.fail(ErrMalformed, format, pos, nil, "flow sample announces %d records, %d decoded", nrec, decoded)
	}
	if !found {
		c.fail(ErrUnsupported, format, pos, nil, "flow sample without an IP packet header or sampled IPv4/IPv6 record")
		return
	}
	// sFlow agents give only their uptime: the sample happened at arrival.
	r.Start, r.End = c.received, c.received
	r.BytesToServer = mulSat(uint64(frameLen), rate)
	r.PktsToServer = uint64(rate)
	r.SamplingRate = rate
	r.Exporter = c.exporter
	r.ObservationDomain = c.domain
	c.emitRecord()
}

// sampledIP fills r from an sFlow sampled IPv4/IPv6 record (types 3/4).
// For ICMP the ports are taken as type (source) and code (destination).
func sampledIP(r *Record, d sflow.SampledIPBase) bool {
	src, ok1 := netip.AddrFromSlice(d.SrcIP)
	dst, ok2 := netip.AddrFromSlice(d.DstIP)
	if !ok1 || !ok2 {
		return false
	}
	r.Src, r.Dst = src.Unmap(), dst.Unmap()
	r.Proto = uint8(d.Protocol)
	r.TCPFlags = uint8(d.TcpFlags)
	if r.Proto == 1 || r.Proto == 58 {
		r.HasICMP = true
		r.ICMPType, r.ICMPCode = uint8(d.SrcPort), uint8(d.DstPort)
	} else {
		r.SrcPort, r.DstPort = uint16(d.SrcPort), uint16(d.DstPort)
	}
	return true
}
