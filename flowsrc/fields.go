package flowsrc

import (
	"encoding/binary"
	"math"
	"math/bits"
	"net/netip"
	"time"
	"unsafe"
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
// mapping uses. It lives in the pooled decodeCtx and is reset per record
// (reset): the presence bits, and the values the mapping reads whether or
// not they are present (unguarded). Every other value is read only under
// its presence bit, so what an earlier record left there does not matter
// (TestStaleFields checks it); clearing the whole struct cost 8-10% of
// decoding (BenchmarkDecodeRuns).
type flowFields struct {
	has uint64
	unguarded

	src4, dst4 [4]byte
	src6, dst6 [16]byte
	// Every integer value is a uint64 holding what its kind keeps of the
	// field (a port its low 16 bits: see uintFields), so that one store
	// serves them all.
	srcPortAlt, dstPortAlt uint64
	icmpTC4, icmpTC6       uint64
	icmpType4, icmpCode4   uint64
	icmpType6, icmpCode6   uint64

	// RFC 5103 reverse counters (PEN 29305): Dst→Src traffic of a biflow.
	revOctDelta, revPktDelta uint64
	revOctTotal, revPktTotal uint64

	startUp, endUp       uint64 // sysUpTime ms (IE 22/21), 32 bits
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
	biflowDir        uint64

	frameSize  uint64 // IE 312 dataLinkFrameSize
	ipTotalLen uint64 // IE 224 ipTotalLength
}

// unguarded holds the values of a record that the mapping reads whether
// or not their presence bit is set: the padding test, the protocol,
// flags and ports, the counters, the packet sections. They read 0 (nil)
// when absent.
type unguarded struct {
	srcPort, dstPort   uint64
	proto, tcpFlags    uint64
	octDelta, pktDelta uint64
	octTotal, pktTotal uint64
	octOut, pktOut     uint64
	initOct, respOct   uint64
	initPkt, respPkt   uint64

	// PSAMP packet reports (RFC 5476): the sampled packet itself. The
	// sections alias the datagram and are only valid during Decode.
	frameSection []byte // IE 315 dataLinkFrameSection (Ethernet)
	ipSection    []byte // IE 313 ipHeaderPacketSection
}

// reset readies f for the next record.
func (f *flowFields) reset() {
	f.has = 0
	f.unguarded = unguarded{}
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

// fieldKind says what the mapping does with one data record field: which
// flowFields value it sets, and how. It depends only on the template
// field (type, enterprise number) and the message version, so the fast
// path computes it once per template ([compileTemplate]) and the goflow2
// path per decoded field ([dataFieldKind]); both then store values with
// [flowFields.setKind], which is what makes their records identical.
type fieldKind uint8

const (
	kNone fieldKind = iota // not read by the mapping
	kSrc4
	kDst4
	kSrc6
	kDst6
	kFrameSection
	kIPSection

	// Integer kinds (reduced-size encoding, 1 to 8 bytes) from here on.
	kSrcPort
	kDstPort
	kSrcPortAlt
	kDstPortAlt
	kProto
	kTCPFlags
	kICMPTC4
	kICMPTC6
	kICMPType4
	kICMPCode4
	kICMPType6
	kICMPCode6
	kOctDelta
	kPktDelta
	kOctTotal
	kPktTotal
	kOctOut
	kPktOut
	kInitOct
	kRespOct
	kInitPkt
	kRespPkt
	kStartUp
	kEndUp
	kStartSec
	kEndSec
	kStartMs
	kEndMs
	kStartUs
	kEndUs
	kStartNs
	kEndNs
	kStartDelta
	kEndDelta
	kSysInit
	kObsSec
	kObsMs
	kObsUs
	kObsNs
	kSamplingInterval
	kSamplerRandom
	kPacketInterval
	kPacketSpace
	kSamplerID
	kBiflowDir
	kFrameSize
	kIPTotalLen
	kRevOctDelta
	kRevPktDelta
	kRevOctTotal
	kRevPktTotal
	numFieldKinds

	kFirstUint = kSrcPort
)

// ieKind returns the kind of a standard (non-enterprise) field of type
// typ. version is 9 or 10; NetFlow v9-only semantics are gated on it.
func ieKind(typ uint16, version uint16) fieldKind {
	switch typ {
	case ieSourceIPv4Address:
		return kSrc4
	case ieDestinationIPv4Address:
		return kDst4
	case ieSourceIPv6Address:
		return kSrc6
	case ieDestinationIPv6Address:
		return kDst6
	case ieDataLinkFrameSection:
		return kFrameSection
	case ieIPHeaderPacketSection:
		return kIPSection
	case ieSourceTransportPort:
		return kSrcPort
	case ieDestinationTransportPort:
		return kDstPort
	case ieUDPSourcePort, ieTCPSourcePort:
		return kSrcPortAlt
	case ieUDPDestinationPort, ieTCPDestinationPort:
		return kDstPortAlt
	case ieProtocolIdentifier:
		return kProto
	case ieTCPControlBits:
		return kTCPFlags
	case ieICMPTypeCodeIPv4:
		return kICMPTC4
	case ieICMPTypeCodeIPv6:
		return kICMPTC6
	case ieICMPTypeIPv4:
		return kICMPType4
	case ieICMPCodeIPv4:
		return kICMPCode4
	case ieICMPTypeIPv6:
		return kICMPType6
	case ieICMPCodeIPv6:
		return kICMPCode6
	case ieOctetDeltaCount:
		return kOctDelta
	case iePacketDeltaCount:
		return kPktDelta
	case ieOctetTotalCount:
		return kOctTotal
	case iePacketTotalCount:
		return kPktTotal
	case iePostOctetDeltaCount:
		if version == 9 {
			return kOctOut
		}
	case iePostPacketDeltaCount:
		if version == 9 {
			return kPktOut
		}
	case ieInitiatorOctets:
		return kInitOct
	case ieResponderOctets:
		return kRespOct
	case ieInitiatorPackets:
		return kInitPkt
	case ieResponderPackets:
		return kRespPkt
	case ieFlowStartSysUpTime:
		return kStartUp
	case ieFlowEndSysUpTime:
		return kEndUp
	case ieFlowStartSeconds:
		return kStartSec
	case ieFlowEndSeconds:
		return kEndSec
	case ieFlowStartMilliseconds:
		return kStartMs
	case ieFlowEndMilliseconds:
		return kEndMs
	case ieFlowStartMicroseconds:
		return kStartUs
	case ieFlowEndMicroseconds:
		return kEndUs
	case ieFlowStartNanoseconds:
		return kStartNs
	case ieFlowEndNanoseconds:
		return kEndNs
	case ieFlowStartDeltaMicros:
		return kStartDelta
	case ieFlowEndDeltaMicros:
		return kEndDelta
	case ieSystemInitTimeMillis:
		return kSysInit
	case ieObservationTimeSeconds:
		return kObsSec
	case ieObservationTimeMillis:
		return kObsMs
	case ieObservationTimeMicros:
		return kObsUs
	case ieObservationTimeNanos:
		return kObsNs
	case ieSamplingInterval:
		return kSamplingInterval
	case ieSamplerRandomInterval:
		return kSamplerRandom
	case ieSamplingPacketInterval:
		return kPacketInterval
	case ieSamplingPacketSpace:
		return kPacketSpace
	case ieSamplerID, ieSelectorID:
		return kSamplerID
	case ieBiflowDirection:
		return kBiflowDir
	case ieDataLinkFrameSize:
		return kFrameSize
	case ieIPTotalLength:
		return kIPTotalLen
	}
	return kNone
}

// reverseKind returns the kind of an RFC 5103 reverse field (PEN 29305)
// of type typ: only the reverse byte and packet counters are read.
func reverseKind(typ uint16) fieldKind {
	switch typ {
	case ieOctetDeltaCount:
		return kRevOctDelta
	case iePacketDeltaCount:
		return kRevPktDelta
	case ieOctetTotalCount:
		return kRevOctTotal
	case iePacketTotalCount:
		return kRevPktTotal
	}
	return kNone
}

// dataFieldKind returns the kind of a data record field. Enterprise-
// specific fields are never standard IEs, except the RFC 5103 reverse
// fields of an IPFIX biflow.
func dataFieldKind(typ uint16, penProvided bool, pen uint32, version uint16) fieldKind {
	if !penProvided {
		return ieKind(typ, version)
	}
	if pen == penReverse && version == 10 {
		return reverseKind(typ)
	}
	return kNone
}

// set stores one field value of type typ (no enterprise number).
// version is 9 or 10; NetFlow v9-only semantics are gated on it.
func (f *flowFields) set(typ uint16, b []byte, version uint16) {
	f.setKind(ieKind(typ, version), b)
}

// setKind stores the value b of a field of kind k. Values of the wrong
// size are ignored (addresses must have their exact size, integers 1 to 8
// bytes); a later field of the same kind overwrites an earlier one.
func (f *flowFields) setKind(k fieldKind, b []byte) {
	switch {
	case k == kNone:
	case k < kFirstUint:
		f.setBytes(k, b)
	case len(b) >= 1 && len(b) <= 8:
		op := newUintOp(k, 0, len(b))
		v, _ := readUint(b)
		f.put(&op, v)
	}
}

// setBytes stores the value of an address or packet section field.
func (f *flowFields) setBytes(k fieldKind, b []byte) {
	switch k {
	case kSrc4:
		if len(b) == 4 {
			f.src4 = [4]byte(b)
			f.has |= hSrc4
		}
	case kDst4:
		if len(b) == 4 {
			f.dst4 = [4]byte(b)
			f.has |= hDst4
		}
	case kSrc6:
		if len(b) == 16 {
			f.src6 = [16]byte(b)
			f.has |= hSrc6
		}
	case kDst6:
		if len(b) == 16 {
			f.dst6 = [16]byte(b)
			f.has |= hDst6
		}
	case kFrameSection:
		f.frameSection = b
	case kIPSection:
		f.ipSection = b
	}
}

// uintMask[n] keeps the low n bytes of a word.
var uintMask = [9]uint64{0, 0xff, 0xffff, 0xff_ffff, 0xffff_ffff, 0xff_ffff_ffff, 0xffff_ffff_ffff, 0xff_ffff_ffff_ffff, 0xffff_ffff_ffff_ffff}

// uintOp stores one integer field of a record: the big-endian value of
// the n bytes at off (from the start of the record, or of its segment),
// kept to mask, into the flowFields value at dst, setting the presence
// bit when the kind's rule allows (bit is 0 when it never does).
type uintOp struct {
	off    uint32
	n      uint8
	ifNon0 bool // the bit only for a value other than 0
	dst    uint16
	mask   uint64
	bit    uint64
}

// Presence rules of the integer kinds.
const (
	ruleAlways  uint8 = iota
	ruleNonZero       // 0 means absent (absolute times, systemInitTime)
	ruleNTP           // only a full 8-byte, non-zero NTP timestamp
)

// uintField is what an integer kind does: the flowFields value it sets
// (offset, and the bits of the field the value keeps), its presence bit
// and the rule for it.
type uintField struct {
	dst  uintptr
	mask uint64
	bit  uint64
	rule uint8
}

// uintFields says what each integer kind does, for both decoding paths:
// the one place that maps a kind to a value.
var uintFields = func() (t [numFieldKinds]uintField) {
	var f flowFields
	const w8, w16, w32, w64 = 0xff, 0xffff, 0xffff_ffff, math.MaxUint64
	for _, e := range [...]struct {
		k    fieldKind
		dst  uintptr
		mask uint64
		bit  uint64
		rule uint8
	}{
		{kSrcPort, unsafe.Offsetof(f.srcPort), w16, hSrcPort, ruleAlways},
		{kDstPort, unsafe.Offsetof(f.dstPort), w16, hDstPort, ruleAlways},
		{kSrcPortAlt, unsafe.Offsetof(f.srcPortAlt), w16, hSrcPortAlt, ruleAlways},
		{kDstPortAlt, unsafe.Offsetof(f.dstPortAlt), w16, hDstPortAlt, ruleAlways},
		{kProto, unsafe.Offsetof(f.proto), w8, hProto, ruleAlways},
		{kTCPFlags, unsafe.Offsetof(f.tcpFlags), w8, hTCPFlags, ruleAlways}, // the classic flags
		{kICMPTC4, unsafe.Offsetof(f.icmpTC4), w16, hICMPTC4, ruleAlways},
		{kICMPTC6, unsafe.Offsetof(f.icmpTC6), w16, hICMPTC6, ruleAlways},
		{kICMPType4, unsafe.Offsetof(f.icmpType4), w8, hICMPType4, ruleAlways},
		{kICMPCode4, unsafe.Offsetof(f.icmpCode4), w8, hICMPCode4, ruleAlways},
		{kICMPType6, unsafe.Offsetof(f.icmpType6), w8, hICMPType6, ruleAlways},
		{kICMPCode6, unsafe.Offsetof(f.icmpCode6), w8, hICMPCode6, ruleAlways},
		{kOctDelta, unsafe.Offsetof(f.octDelta), w64, hOctDelta, ruleAlways},
		{kPktDelta, unsafe.Offsetof(f.pktDelta), w64, hPktDelta, ruleAlways},
		{kOctTotal, unsafe.Offsetof(f.octTotal), w64, hOctTotal, ruleAlways},
		{kPktTotal, unsafe.Offsetof(f.pktTotal), w64, hPktTotal, ruleAlways},
		{kOctOut, unsafe.Offsetof(f.octOut), w64, hOctOut, ruleAlways},
		{kPktOut, unsafe.Offsetof(f.pktOut), w64, hPktOut, ruleAlways},
		{kInitOct, unsafe.Offsetof(f.initOct), w64, hInitOct, ruleAlways},
		{kRespOct, unsafe.Offsetof(f.respOct), w64, hRespOct, ruleAlways},
		{kInitPkt, unsafe.Offsetof(f.initPkt), w64, hInitPkt, ruleAlways},
		{kRespPkt, unsafe.Offsetof(f.respPkt), w64, hRespPkt, ruleAlways},
		{kStartUp, unsafe.Offsetof(f.startUp), w32, hStartUp, ruleAlways},
		{kEndUp, unsafe.Offsetof(f.endUp), w32, hEndUp, ruleAlways},
		{kStartSec, unsafe.Offsetof(f.startSec), w64, hStartSec, ruleNonZero},
		{kEndSec, unsafe.Offsetof(f.endSec), w64, hEndSec, ruleNonZero},
		{kStartMs, unsafe.Offsetof(f.startMs), w64, hStartMs, ruleNonZero},
		{kEndMs, unsafe.Offsetof(f.endMs), w64, hEndMs, ruleNonZero},
		{kStartUs, unsafe.Offsetof(f.startUs), w64, hStartUs, ruleNTP},
		{kEndUs, unsafe.Offsetof(f.endUs), w64, hEndUs, ruleNTP},
		{kStartNs, unsafe.Offsetof(f.startNs), w64, hStartNs, ruleNTP},
		{kEndNs, unsafe.Offsetof(f.endNs), w64, hEndNs, ruleNTP},
		{kStartDelta, unsafe.Offsetof(f.startDelta), w64, hStartDelta, ruleAlways},
		{kEndDelta, unsafe.Offsetof(f.endDelta), w64, hEndDelta, ruleAlways},
		{kSysInit, unsafe.Offsetof(f.sysInit), w64, hSysInit, ruleNonZero},
		{kObsSec, unsafe.Offsetof(f.obsSec), w64, hObsSec, ruleNonZero},
		{kObsMs, unsafe.Offsetof(f.obsMs), w64, hObsMs, ruleNonZero},
		{kObsUs, unsafe.Offsetof(f.obsUs), w64, hObsUs, ruleNTP},
		{kObsNs, unsafe.Offsetof(f.obsNs), w64, hObsNs, ruleNTP},
		{kSamplingInterval, unsafe.Offsetof(f.samplingInterval), w64, hSamplingInterval, ruleAlways},
		{kSamplerRandom, unsafe.Offsetof(f.samplerRandom), w64, hSamplerRandom, ruleAlways},
		{kPacketInterval, unsafe.Offsetof(f.packetInterval), w64, hPacketInterval, ruleAlways},
		{kPacketSpace, unsafe.Offsetof(f.packetSpace), w64, hPacketSpace, ruleAlways},
		{kSamplerID, unsafe.Offsetof(f.samplerID), w64, hSamplerID, ruleAlways},
		{kBiflowDir, unsafe.Offsetof(f.biflowDir), w8, hBiflowDir, ruleAlways},
		{kFrameSize, unsafe.Offsetof(f.frameSize), w64, hFrameSize, ruleAlways},
		{kIPTotalLen, unsafe.Offsetof(f.ipTotalLen), w64, hIPTotalLen, ruleAlways},
		{kRevOctDelta, unsafe.Offsetof(f.revOctDelta), w64, hRevOctDelta, ruleAlways},
		{kRevPktDelta, unsafe.Offsetof(f.revPktDelta), w64, hRevPktDelta, ruleAlways},
		{kRevOctTotal, unsafe.Offsetof(f.revOctTotal), w64, hRevOctTotal, ruleAlways},
		{kRevPktTotal, unsafe.Offsetof(f.revPktTotal), w64, hRevPktTotal, ruleAlways},
	} {
		t[e.k] = uintField{e.dst, e.mask, e.bit, e.rule}
	}
	return t
}()

// newUintOp compiles integer kind k for a field of n bytes (1 to 8) at
// off.
func newUintOp(k fieldKind, off, n int) uintOp {
	u := &uintFields[k]
	op := uintOp{off: uint32(off), n: uint8(n), dst: uint16(u.dst), mask: uintMask[n] & u.mask, bit: u.bit}
	switch u.rule {
	case ruleNonZero:
		op.ifNon0 = true
	case ruleNTP:
		op.ifNon0 = true
		if n != 8 {
			op.bit = 0
		}
	}
	return op
}

// storeUints stores integer fields: for each op, the big-endian value of
// op.n bytes at base+op.off in b (reduced-size encoding: 1 to 8 bytes),
// with the presence bit its kind's rule gives. Every value is a uint64 at
// an offset the op carries, so there is no branch per kind; the fast path
// gives it all the integer fields of a record at once, and the loop is
// unrolled by four (BenchmarkDecode +8-10% over a plain loop).
//
// Each value is read as the 8-byte word that ends at its last byte,
// masked to its size: the fast path passes the whole datagram, and no set
// starts in its first 16 bytes.
func (f *flowFields) storeUints(ops []uintOp, b []byte, base int) {
	if base < 8 { // not the fast path's case
		for i := range ops {
			op := &ops[i]
			end := base + int(op.off) + int(op.n)
			v, _ := readUint(b[end-int(op.n) : end])
			f.put(op, v)
		}
		return
	}
	w := b[base-8:] // the word of a field ends 8 bytes after its end in w
	fp := unsafe.Pointer(f)
	has := f.has // the presence bits gather in a local
	store := func(op *uintOp) {
		e := int(op.off) + int(op.n)
		v := binary.BigEndian.Uint64(w[e:e+8]) & op.mask
		*(*uint64)(unsafe.Add(fp, op.dst)) = v
		bit := op.bit
		if op.ifNon0 && v == 0 {
			bit = 0
		}
		has |= bit
	}
	for len(ops) >= 4 {
		store(&ops[0])
		store(&ops[1])
		store(&ops[2])
		store(&ops[3])
		ops = ops[4:]
	}
	for i := range ops {
		store(&ops[i])
	}
	f.has = has
}

// put stores v, the value of op's field, with the presence bit its
// kind's rule gives.
func (f *flowFields) put(op *uintOp, v uint64) {
	v &= op.mask
	*(*uint64)(unsafe.Add(unsafe.Pointer(f), op.dst)) = v
	if !op.ifNon0 || v != 0 {
		f.has |= op.bit
	}
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
