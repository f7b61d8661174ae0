package communityid

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
)

// IP protocol numbers the spec hashes with ports.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
	protoSCTP   = 132
)

// prefix is the version tag that starts every v1 Community ID string.
const prefix = "1:"

// maxInput is the largest hash input: seed, two IPv6 addresses, proto,
// padding, two ports.
const maxInput = 2 + 16 + 16 + 1 + 1 + 2 + 2

// Hasher computes Community ID v1 flow hashes for one seed. The zero value
// uses seed 0. A Hasher is immutable: it is safe for concurrent use and
// cheap to copy.
type Hasher struct {
	seed uint16
}

// New returns a Hasher that hashes with seed.
func New(seed uint16) Hasher {
	return Hasher{seed: seed}
}

// Seed returns the seed h hashes with.
func (h Hasher) Seed() uint16 {
	return h.seed
}

// Flow is the input tuple of a Community ID. The zero value has no ID.
//
// For ICMP (Proto 1) and ICMPv6 (Proto 58), SrcPort carries the ICMP type
// and DstPort the ICMP code, as the spec does (sport=type, dport=code); the
// spec's one-way/two-way type mapping is applied inside the Hasher. For
// protocols other than TCP, UDP, SCTP, ICMP and ICMPv6 the ports are ignored.
type Flow struct {
	Src, Dst         netip.Addr
	Proto            uint8
	SrcPort, DstPort uint16
}

// AppendBase64 appends the Community ID of f in its standard form, "1:"
// followed by the base64 (standard alphabet, padded) of the SHA-1 digest, to
// b and returns the extended slice. It does not allocate when b has room
// for 30 more bytes. If f has no ID (see the package doc) b is returned
// unchanged.
func (h Hasher) AppendBase64(b []byte, f Flow) []byte {
	d, ok := h.sum(f)
	if !ok {
		return b
	}
	b = append(b, prefix...)
	return base64.StdEncoding.AppendEncode(b, d[:])
}

// AppendHex appends the Community ID of f in the spec's "no base64" form,
// "1:" followed by the 40 lowercase hex digits of the SHA-1 digest, to b and
// returns the extended slice. It does not allocate when b has room for 42
// more bytes. If f has no ID b is returned unchanged.
func (h Hasher) AppendHex(b []byte, f Flow) []byte {
	d, ok := h.sum(f)
	if !ok {
		return b
	}
	b = append(b, prefix...)
	return hex.AppendEncode(b, d[:])
}

// String returns the Community ID of f in its standard base64 form, such as
// "1:wCb3OG7yAFWelaUydu0D+125CLM=", or "" if f has no ID.
func (h Hasher) String(f Flow) string {
	var buf [len(prefix) + 28]byte
	return string(h.AppendBase64(buf[:0], f))
}

// Sum returns the raw 20-byte SHA-1 digest of the Community ID of f, or the
// zero digest if f has no ID.
func (h Hasher) Sum(f Flow) [sha1.Size]byte {
	d, _ := h.sum(f)
	return d
}

// sum hashes f; ok is false when f has no ID.
func (h Hasher) sum(f Flow) (d [sha1.Size]byte, ok bool) {
	var buf [maxInput]byte
	n := h.input(&buf, f)
	if n == 0 {
		return d, false
	}
	return sha1.Sum(buf[:n]), true
}

// input writes the SHA-1 input for f into buf and returns its length, or 0
// when f has no ID.
func (h Hasher) input(buf *[maxInput]byte, f Flow) int {
	src, dst := f.Src.Unmap(), f.Dst.Unmap()
	if !src.IsValid() || !dst.IsValid() || src.Is4() != dst.Is4() {
		return 0
	}

	sport, dport := f.SrcPort, f.DstPort
	oneWay := false
	switch f.Proto {
	case protoICMP:
		sport, dport, oneWay = icmpPorts(icmpCounterpart, f.SrcPort, f.DstPort)
	case protoICMPv6:
		sport, dport, oneWay = icmpPorts(icmpv6Counterpart, f.SrcPort, f.DstPort)
	}

	// As16 is well defined for both families; IPv4 lives in the last 4 bytes.
	sa, da := src.As16(), dst.As16()
	s, d := sa[:], da[:]
	if src.Is4() {
		s, d = sa[12:], da[12:]
	}
	if !oneWay {
		if c := bytes.Compare(s, d); c > 0 || (c == 0 && sport > dport) {
			s, d = d, s
			sport, dport = dport, sport
		}
	}

	binary.BigEndian.PutUint16(buf[0:], h.seed)
	n := 2
	n += copy(buf[n:], s)
	n += copy(buf[n:], d)
	buf[n] = f.Proto
	buf[n+1] = 0
	n += 2
	if hasPorts(f.Proto) {
		binary.BigEndian.PutUint16(buf[n:], sport)
		binary.BigEndian.PutUint16(buf[n+2:], dport)
		n += 4
	}
	return n
}

// hasPorts reports whether the spec hashes ports for proto.
func hasPorts(proto uint8) bool {
	switch proto {
	case protoTCP, protoUDP, protoSCTP, protoICMP, protoICMPv6:
		return true
	}
	return false
}

// icmpPorts maps an ICMP type and code to the two "ports" the spec hashes.
// A type with a counterpart (request/reply) yields (type, counterpart) and a
// two-way flow; any other type yields (type, code) and a one-way flow.
func icmpPorts(counterpart func(uint16) (uint16, bool), typ, code uint16) (sport, dport uint16, oneWay bool) {
	if c, ok := counterpart(typ); ok {
		return typ, c, false
	}
	return typ, code, true
}

// icmpCounterpart returns the ICMPv4 type that answers (or is answered by)
// typ, and false for one-way types.
func icmpCounterpart(typ uint16) (uint16, bool) {
	switch typ {
	case 8: // echo request
		return 0, true
	case 0: // echo reply
		return 8, true
	case 13: // timestamp
		return 14, true
	case 14: // timestamp reply
		return 13, true
	case 15: // information request
		return 16, true
	case 16: // information reply
		return 15, true
	case 10: // router solicitation
		return 9, true
	case 9: // router advertisement
		return 10, true
	case 17: // address mask request
		return 18, true
	case 18: // address mask reply
		return 17, true
	}
	return 0, false
}

// icmpv6Counterpart returns the ICMPv6 type that answers (or is answered by)
// typ, and false for one-way types.
func icmpv6Counterpart(typ uint16) (uint16, bool) {
	switch typ {
	case 128: // echo request
		return 129, true
	case 129: // echo reply
		return 128, true
	case 130: // multicast listener query
		return 131, true
	case 131: // multicast listener report
		return 130, true
	case 133: // router solicitation
		return 134, true
	case 134: // router advertisement
		return 133, true
	case 135: // neighbor solicitation
		return 136, true
	case 136: // neighbor advertisement
		return 135, true
	case 139: // node information query (who-are-you request)
		return 140, true
	case 140: // node information reply
		return 139, true
	case 144: // home agent address discovery request
		return 145, true
	case 145: // home agent address discovery reply
		return 144, true
	}
	return 0, false
}
