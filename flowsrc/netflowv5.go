package flowsrc

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
)

const (
	v5HeaderLen = 24
	v5RecordLen = 48
)

// decodeV5 decodes a NetFlow v5 datagram with goflow2's netflowlegacy
// decoder. goflow2 allocates the header's Count records up front and
// leaves zero records when the datagram is shorter, so the header is first
// copied with Count set to the records actually present.
func (c *decodeCtx) decodeV5(b []byte) {
	if len(b) < v5HeaderLen {
		c.fail(ErrMalformed, 0, 0, nil, "NetFlow v5 header needs %d bytes, datagram has %d", v5HeaderLen, len(b))
		return
	}
	count := int(binary.BigEndian.Uint16(b[2:]))
	c.domain = uint32(b[20])<<8 | uint32(b[21])
	present := (len(b) - v5HeaderLen) / v5RecordLen
	n := min(count, present)
	switch {
	case count > present:
		c.fail(ErrMalformed, 0, 2, nil, "header count %d but %d records present", count, present)
	case !allZero(b[v5HeaderLen+n*v5RecordLen:]):
		c.fail(ErrMalformed, 0, v5HeaderLen+n*v5RecordLen, nil, "%d bytes after the %d records of the header count", len(b)-v5HeaderLen-n*v5RecordLen, count)
	}
	if n == 0 {
		return
	}
	c.v5buf = append(c.v5buf[:0], b[:v5HeaderLen+n*v5RecordLen]...)
	binary.BigEndian.PutUint16(c.v5buf[2:], uint16(n))
	c.buf = *bytes.NewBuffer(c.v5buf)
	var p netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(&c.buf, &p); err != nil {
		c.fail(ErrMalformed, 0, 0, err, "goflow2 rejected the datagram")
		return
	}

	// Sampling interval: 2 bits of mode, 14 bits of interval.
	rate := uint32(p.SamplingInterval & 0x3fff)
	if rate == 0 {
		rate = 1
	}
	headerNs := int64(p.UnixSecs)*int64(time.Second) + int64(p.UnixNSecs)
	for i := range p.Records {
		v := &p.Records[i]
		r := c.rec
		*r = Record{
			Src:               addrFrom32(uint32(v.SrcAddr)),
			Dst:               addrFrom32(uint32(v.DstAddr)),
			Proto:             v.Proto,
			TCPFlags:          v.TCPFlags,
			BytesToServer:     mulSat(uint64(v.DOctets), rate),
			PktsToServer:      mulSat(uint64(v.DPkts), rate),
			SamplingRate:      rate,
			Exporter:          c.exporter,
			ObservationDomain: c.domain,
		}
		if v.Proto == 1 || v.Proto == 58 {
			r.HasICMP = true
			r.ICMPType, r.ICMPCode = uint8(v.DstPort>>8), uint8(v.DstPort)
		} else {
			r.SrcPort, r.DstPort = v.SrcPort, v.DstPort
		}
		start := upTimeToUnixNano(headerNs, p.SysUptime, v.First)
		end := upTimeToUnixNano(headerNs, p.SysUptime, v.Last)
		r.Start, r.End = c.finishTimes(start, end, true, true, headerNs, p.UnixSecs != 0)
		c.emitRecord()
	}
}

func addrFrom32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
