package flowsrc

import (
	"math"
	"math/bits"
	"net/netip"
	"time"
)

// Information element numbers (IANA IPFIX registry; NetFlow v9 uses the
// same numbers below 128 and for the ones listed here).
const (
	ieOctetDeltaCount          = 1
	iePacketDeltaCount         = 2
	ieProtocolIdentifier       = 4
	ieTCPControlBits           = 6
	ieSourceTransportPort      = 7
	ieSourceIPv4Address        = 8
	ieDestinationTransportPort = 11
	ieDestinationIPv4Address   = 12
	ieFlowEndSysUpTime         = 21
	ieFlowStartSysUpTime       = 22
	iePostOctetDeltaCount      = 23 // NetFlow v9 OUT_BYTES
	iePostPacketDeltaCount     = 24 // NetFlow v9 OUT_PKTS
	ieSourceIPv6Address        = 27
	ieDestinationIPv6Address   = 28
	ieICMPTypeCodeIPv4         = 32
	ieSamplingInterval         = 34
	ieSamplerID                = 48
	ieSamplerRandomInterval    = 50
	ieOctetTotalCount          = 85
	iePacketTotalCount         = 86
	ieICMPTypeCodeIPv6         = 139
	ieFlowStartSeconds         = 150
	ieFlowEndSeconds           = 151
	ieFlowStartMilliseconds    = 152
	ieFlowEndMilliseconds      = 153
	ieFlowStartMicroseconds    = 154
	ieFlowEndMicroseconds      = 155
	ieFlowStartNanoseconds     = 156
	ieFlowEndNanoseconds       = 157
	ieFlowStartDeltaMicros     = 158
	ieFlowEndDeltaMicros       = 159
	ieSystemInitTimeMillis     = 160
	ieICMPTypeIPv4             = 176
	ieICMPCodeIPv4             = 177
	ieICMPTypeIPv6             = 178
	ieICMPCodeIPv6             = 179
	ieUDPSourcePort            = 180
	ieUDPDestinationPort       = 181
	ieTCPSourcePort            = 182
	ieTCPDestinationPort       = 183
	ieInitiatorOctets          = 231
	ieResponderOctets          = 232
	ieBiflowDirection          = 239
	ieInitiatorPackets         = 298
	ieResponderPackets         = 299
	ieSelectorID               = 302
	ieSamplingPacketInterval   = 305
	ieSamplingPacketSpace      = 306
	ieObservationTimeSeconds   = 322
	ieObservationTimeMillis    = 323
	ieObservationTimeMicros    = 324
	ieObservationTimeNanos     = 325
	ieIPTotalLength            = 224
	ieDataLinkFrameSize        = 312
	ieIPHeaderPacketSection    = 313
	ieDataLinkFrameSection     = 315
)

// penReverse is the Private Enterprise Number of the RFC 5103 reverse
// Information Elements: an IPFIX field with this PEN and type N carries IE
// N for the reverse direction of a biflow (Dst→Src).
const penReverse = 29305

// Bits of flowFields.has, one per value the mapping reads.
const (
	hSrc4 uint64 = 1 << iota
	hDst4
	hSrc6
	hDst6
	hSrcPort
	hDstPort
	hSrcPortAlt
	hDstPortAlt
	hProto
	hTCPFlags
	hICMPTC4
	hICMPTC6
	hICMPType4
	hICMPCode4
	hICMPType6
	hICMPCode6
	hOctDelta
	hPktDelta
	hOctTotal
	hPktTotal
	hOctOut
	hPktOut
	hInitOct
	hRespOct
	hInitPkt
	hRespPkt
	hStartUp
	hEndUp
	hStartSec
	hEndSec
	hStartMs
	hEndMs
	hStartUs
	hEndUs
	hStartNs
	hEndNs
	hStartDelta
	hEndDelta
	hSysInit
	hObsSec
	hObsMs
	hObsUs
	hObsNs
	hSamplingInterval
	hSamplerRandom
	hPacketInterval
	hPacketSpace
	hSamplerID
	hBiflowDir
	hFrameSize
	hIPTotalLen
	hRevOctDelta
	hRevPktDelta
	hRevOctTotal
	hRevPktTotal
)

// flowFields collects the values of one NetFlow v9/IPFIX record that the
// mapping uses. It is reset per record and lives in the pooled decodeCtx.
type flowFields struct {
	has uint64

	src4, dst4             [4]byte
	src6, dst6             [16]byte
	srcPort, dstPort       uint16
	srcPortAlt, dstPortAlt uint16
	proto, tcpFlags        uint8
	icmpTC4, icmpTC6       uint16
	icmpType4, icmpCode4   uint8
	icmpType6, icmpCode6   uint8

	octDelta, pktDelta uint64
	octTotal, pktTotal uint64
	octOut, pktOut     uint64
	initOct, respOct   uint64
	initPkt, respPkt   uint64
	// RFC 5103 reverse counters (PEN 29305): Dst→Src traffic of a biflow.
	revOctDelta, revPktDelta uint64
	revOctTotal, revPktTotal uint64

	startUp, endUp       uint32 // sysUpTime ms (IE 22/21)
	startSec, endSec     uint64
	startMs, endMs       uint64
	startUs, endUs       uint64 // NTP format
	startNs, endNs       uint64 // NTP format
	startDelta, endDelta uint64 // µs before export time
	sysInit              uint64
	obsSec, obsMs        uint64
	obsUs, obsNs         uint64 // NTP format

	samplingInterval uint64
	samplerRandom    uint64
	packetInterval   uint64
	packetSpace      uint64
	samplerID        uint64
	biflowDir        uint8

	// PSAMP packet reports (RFC 5476): the sampled packet itself. The
	// sections alias the datagram and are only valid during Decode.
	frameSection []byte // IE 315 dataLinkFrameSection (Ethernet)
	ipSection    []byte // IE 313 ipHeaderPacketSection
	frameSize    uint64 // IE 312 dataLinkFrameSize
	ipTotalLen   uint64 // IE 224 ipTotalLength
}

// readUint decodes a big-endian unsigned integer of 1 to 8 bytes (reduced
// size encoding, RFC 7011 §6.2).
func readUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 8 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, true
}

// set stores one field value of type typ (no enterprise number).
// version is 9 or 10; NetFlow v9-only semantics are gated on it.
func (f *flowFields) set(typ uint16, b []byte, version uint16) {
	switch typ {
	case ieSourceIPv4Address:
		if len(b) == 4 {
			f.src4 = [4]byte(b)
			f.has |= hSrc4
		}
		return
	case ieDestinationIPv4Address:
		if len(b) == 4 {
			f.dst4 = [4]byte(b)
			f.has |= hDst4
		}
		return
	case ieSourceIPv6Address:
		if len(b) == 16 {
			f.src6 = [16]byte(b)
			f.has |= hSrc6
		}
		return
	case ieDestinationIPv6Address:
		if len(b) == 16 {
			f.dst6 = [16]byte(b)
			f.has |= hDst6
		}
		return
	case ieDataLinkFrameSection:
		f.frameSection = b
		return
	case ieIPHeaderPacketSection:
		f.ipSection = b
		return
	}
	v, ok := readUint(b)
	if !ok {
		return
	}
	switch typ {
	case ieSourceTransportPort:
		f.srcPort, f.has = uint16(v), f.has|hSrcPort
	case ieDestinationTransportPort:
		f.dstPort, f.has = uint16(v), f.has|hDstPort
	case ieUDPSourcePort, ieTCPSourcePort:
		f.srcPortAlt, f.has = uint16(v), f.has|hSrcPortAlt
	case ieUDPDestinationPort, ieTCPDestinationPort:
		f.dstPortAlt, f.has = uint16(v), f.has|hDstPortAlt
	case ieProtocolIdentifier:
		f.proto, f.has = uint8(v), f.has|hProto
	case ieTCPControlBits:
		f.tcpFlags, f.has = uint8(v), f.has|hTCPFlags // low byte: the classic flags
	case ieICMPTypeCodeIPv4:
		f.icmpTC4, f.has = uint16(v), f.has|hICMPTC4
	case ieICMPTypeCodeIPv6:
		f.icmpTC6, f.has = uint16(v), f.has|hICMPTC6
	case ieICMPTypeIPv4:
		f.icmpType4, f.has = uint8(v), f.has|hICMPType4
	case ieICMPCodeIPv4:
		f.icmpCode4, f.has = uint8(v), f.has|hICMPCode4
	case ieICMPTypeIPv6:
		f.icmpType6, f.has = uint8(v), f.has|hICMPType6
	case ieICMPCodeIPv6:
		f.icmpCode6, f.has = uint8(v), f.has|hICMPCode6
	case ieOctetDeltaCount:
		f.octDelta, f.has = v, f.has|hOctDelta
	case iePacketDeltaCount:
		f.pktDelta, f.has = v, f.has|hPktDelta
	case ieOctetTotalCount:
		f.octTotal, f.has = v, f.has|hOctTotal
	case iePacketTotalCount:
		f.pktTotal, f.has = v, f.has|hPktTotal
	case iePostOctetDeltaCount:
		if version == 9 {
			f.octOut, f.has = v, f.has|hOctOut
		}
	case iePostPacketDeltaCount:
		if version == 9 {
			f.pktOut, f.has = v, f.has|hPktOut
		}
	case ieInitiatorOctets:
		f.initOct, f.has = v, f.has|hInitOct
	case ieResponderOctets:
		f.respOct, f.has = v, f.has|hRespOct
	case ieInitiatorPackets:
		f.initPkt, f.has = v, f.has|hInitPkt
	case ieResponderPackets:
		f.respPkt, f.has = v, f.has|hRespPkt
	case ieFlowStartSysUpTime:
		f.startUp, f.has = uint32(v), f.has|hStartUp
	case ieFlowEndSysUpTime:
		f.endUp, f.has = uint32(v), f.has|hEndUp
	case ieFlowStartSeconds:
		f.startSec, f.has = v, f.has|nonZero(v, hStartSec)
	case ieFlowEndSeconds:
		f.endSec, f.has = v, f.has|nonZero(v, hEndSec)
	case ieFlowStartMilliseconds:
		f.startMs, f.has = v, f.has|nonZero(v, hStartMs)
	case ieFlowEndMilliseconds:
		f.endMs, f.has = v, f.has|nonZero(v, hEndMs)
	case ieFlowStartMicroseconds:
		f.startUs, f.has = v, f.has|ntpField(b, v, hStartUs)
	case ieFlowEndMicroseconds:
		f.endUs, f.has = v, f.has|ntpField(b, v, hEndUs)
	case ieFlowStartNanoseconds:
		f.startNs, f.has = v, f.has|ntpField(b, v, hStartNs)
	case ieFlowEndNanoseconds:
		f.endNs, f.has = v, f.has|ntpField(b, v, hEndNs)
	case ieFlowStartDeltaMicros:
		f.startDelta, f.has = v, f.has|hStartDelta
	case ieFlowEndDeltaMicros:
		f.endDelta, f.has = v, f.has|hEndDelta
	case ieSystemInitTimeMillis:
		f.sysInit, f.has = v, f.has|nonZero(v, hSysInit)
	case ieObservationTimeSeconds:
		f.obsSec, f.has = v, f.has|nonZero(v, hObsSec)
	case ieObservationTimeMillis:
		f.obsMs, f.has = v, f.has|nonZero(v, hObsMs)
	case ieObservationTimeMicros:
		f.obsUs, f.has = v, f.has|ntpField(b, v, hObsUs)
	case ieObservationTimeNanos:
		f.obsNs, f.has = v, f.has|ntpField(b, v, hObsNs)
	case ieSamplingInterval:
		f.samplingInterval, f.has = v, f.has|hSamplingInterval
	case ieSamplerRandomInterval:
		f.samplerRandom, f.has = v, f.has|hSamplerRandom
	case ieSamplingPacketInterval:
		f.packetInterval, f.has = v, f.has|hPacketInterval
	case ieSamplingPacketSpace:
		f.packetSpace, f.has = v, f.has|hPacketSpace
	case ieSamplerID, ieSelectorID:
		f.samplerID, f.has = v, f.has|hSamplerID
	case ieBiflowDirection:
		f.biflowDir, f.has = uint8(v), f.has|hBiflowDir
	case ieDataLinkFrameSize:
		f.frameSize, f.has = v, f.has|hFrameSize
	case ieIPTotalLength:
		f.ipTotalLen, f.has = v, f.has|hIPTotalLen
	}
}

// setReverse stores one RFC 5103 reverse field (PEN 29305) of type typ:
// only the reverse byte and packet counters are read.
func (f *flowFields) setReverse(typ uint16, b []byte) {
	v, ok := readUint(b)
	if !ok {
		return
	}
	switch typ {
	case ieOctetDeltaCount:
		f.revOctDelta, f.has = v, f.has|hRevOctDelta
	case iePacketDeltaCount:
		f.revPktDelta, f.has = v, f.has|hRevPktDelta
	case ieOctetTotalCount:
		f.revOctTotal, f.has = v, f.has|hRevOctTotal
	case iePacketTotalCount:
		f.revPktTotal, f.has = v, f.has|hRevPktTotal
	}
}

func nonZero(v, bit uint64) uint64 {
	if v == 0 {
		return 0
	}
	return bit
}

// ntpField accepts only full 8-byte, non-zero NTP timestamps.
func ntpField(b []byte, v, bit uint64) uint64 {
	if len(b) != 8 || v == 0 {
		return 0
	}
	return bit
}

// inlineRate returns the sampling rate the record itself declares: IE 34
// samplingInterval, IE 50 samplerRandomInterval, or IE 305/306
// samplingPacketInterval/Space as (interval+space)/interval; 0 if none.
func (f *flowFields) inlineRate() uint32 {
	switch {
	case f.has&hSamplingInterval != 0 && f.samplingInterval > 0:
		return clampRate(f.samplingInterval)
	case f.has&hSamplerRandom != 0 && f.samplerRandom > 0:
		return clampRate(f.samplerRandom)
	case f.has&hPacketInterval != 0 && f.has&hPacketSpace != 0 && f.packetInterval > 0:
		sum, carry := bits.Add64(f.packetInterval, f.packetSpace, 0)
		if carry != 0 {
			return math.MaxUint32
		}
		// round to nearest
		return clampRate((sum + f.packetInterval/2) / f.packetInterval)
	}
	return 0
}

func clampRate(v uint64) uint32 {
	if v > math.MaxUint32 {
		return math.MaxUint32
	}
	return uint32(v)
}

// mulSat multiplies a counter by the sampling rate, saturating.
func mulSat(v uint64, rate uint32) uint64 {
	hi, lo := bits.Mul64(v, uint64(rate))
	if hi != 0 {
		return math.MaxUint64
	}
	return lo
}

// ntpEpochOffset is the number of seconds from 1900-01-01 to 1970-01-01.
const ntpEpochOffset = 2208988800

// ntpToUnixNano converts a 64-bit NTP timestamp (RFC 7011 dateTime-
// Microseconds/Nanoseconds: seconds since 1900, 32-bit binary fraction) to
// Unix nanoseconds, rounding the fraction to the microsecond when micro is
// set (RFC 7011 §6.1.9: the low 11 bits are not significant). Seconds with
// the high bit clear are taken as NTP era 1 (from 2036).
func ntpToUnixNano(v uint64, micro bool) int64 {
	secs := int64(v >> 32)
	if secs < 1<<31 {
		secs += 1 << 32
	}
	frac := v & 0xffffffff
	var ns int64
	if micro {
		ns = int64((frac*1_000_000+1<<31)>>32) * 1000
	} else {
		ns = int64((frac*1_000_000_000 + 1<<31) >> 32)
	}
	return (secs-ntpEpochOffset)*1e9 + ns
}

// upTimeSkew is how far after the header's uptime a record's sysUpTime
// value may lie and still be read as a (slightly) later time rather than
// one from before the 32-bit uptime counter wrapped.
const upTimeSkew = uint32(time.Hour / time.Millisecond)

// upTimeToUnixNano converts a sysUpTime value t (ms) to Unix nanoseconds
// given the header's uptime and wall clock: wall - (uptime - t) ms. The
// difference is taken modulo 2^32, so that a counter that wrapped between
// the flow and the export (every 49.7 days) is handled, and read as up to
// 49.7 days before the export — except that a t up to one hour after the
// header's uptime is read as that much after it (exporter clock races).
// So a record time is never more than one hour after its export time.
func upTimeToUnixNano(headerNs int64, uptime, t uint32) int64 {
	if ahead := t - uptime; ahead != 0 && ahead <= upTimeSkew {
		return headerNs + int64(ahead)*int64(time.Millisecond)
	}
	return headerNs - int64(uptime-t)*int64(time.Millisecond)
}

// maxSysInitMs bounds the IPFIX systemInitTimeMilliseconds values that
// upTimeNear corrects (year ~146 million): beyond it the arithmetic could
// overflow, and the value is garbage anyway.
const maxSysInitMs = 1 << 62

// upTimeNear returns ms + k·2^32 for the integer k (possibly negative) that
// puts it latest at or before limit, all in Unix milliseconds. IPFIX
// flowStart/EndSysUpTime are 32-bit milliseconds since
// systemInitTimeMilliseconds: a counter that wrapped since system init
// (uptime over 49.7 days) lands too early, and a flow from before the
// announced init (softflowd reading a capture announces its own start as
// init, and sends the earlier packet times as negative uptimes modulo 2^32)
// lands 49.7 days too late. With limit = export time + [upTimeSkew], this
// is the rule of NetFlow v5/v9 ([upTimeToUnixNano]): a record is never put
// more than one hour after its export, and otherwise up to 49.7 days
// before it. Callers keep |ms|, |limit| below 2^62 + 2^32.
func upTimeNear(ms, limit int64) int64 {
	const wrap = 1 << 32
	d := limit - ms
	if d >= 0 {
		return ms + d/wrap*wrap
	}
	return ms - (-d+wrap-1)/wrap*wrap
}

// addrs picks the address family of a record: IPv4 when it has IPv4
// addresses that are not both 0.0.0.0 or has no IPv6 ones, else IPv6.
// IPv4-mapped IPv6 addresses are unmapped.
func (f *flowFields) addrs() (src, dst netip.Addr) {
	has4 := f.has&(hSrc4|hDst4) == hSrc4|hDst4
	has6 := f.has&(hSrc6|hDst6) == hSrc6|hDst6
	if has4 && (!has6 || f.src4 != [4]byte{} || f.dst4 != [4]byte{}) {
		return netip.AddrFrom4(f.src4), netip.AddrFrom4(f.dst4)
	}
	if has6 {
		return netip.AddrFrom16(f.src6).Unmap(), netip.AddrFrom16(f.dst6).Unmap()
	}
	return netip.Addr{}, netip.Addr{}
}
