package uniq

import (
	"encoding/binary"
	"math/bits"
)

// Constants of Hash64: the first 64-bit words of the fractional part of π
// ("nothing up my sleeve" numbers).
const (
	pi0 = 0x243f6a8885a308d3
	pi1 = 0x13198a2e03707344
	pi2 = 0xa4093822299f31d0
	pi3 = 0x082efa98ec4e6c89
)

// Hash64 returns a 64-bit hash of b whose bits are all close to uniform
// and independent, as Counter needs (it takes the register index from the
// top bits and the rank from the others). Callers use it to hash 5-tuples.
//
// It consumes 16 bytes per round, each round folding the two words and the
// running state through a 64×64→128-bit multiply (high XOR low half), reads
// the last 1–16 bytes with overlapping loads, and ends with the splitmix64
// finaliser. It is fast and well mixed but not keyed: it is not meant to
// resist inputs crafted to collide.
//
// The result is part of the encoding of counters that cross processes:
// changing it requires a new encoding version.
func Hash64(b []byte) uint64 {
	n := uint64(len(b))
	h := n*pi0 ^ pi1
	for len(b) > 16 {
		h = mix(binary.LittleEndian.Uint64(b)^pi2, binary.LittleEndian.Uint64(b[8:])^h)
		b = b[16:]
	}
	var x, y uint64
	switch l := len(b); {
	case l >= 8:
		x, y = binary.LittleEndian.Uint64(b), binary.LittleEndian.Uint64(b[l-8:])
	case l >= 4:
		x, y = uint64(binary.LittleEndian.Uint32(b)), uint64(binary.LittleEndian.Uint32(b[l-4:]))
	case l > 0:
		x = uint64(b[0])<<16 | uint64(b[l>>1])<<8 | uint64(b[l-1])
	}
	h = mix(x^pi2, y^h^pi3)
	return fmix(h ^ n)
}

// mix folds a and b: the XOR of both halves of their 128-bit product.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// fmix is the splitmix64 finaliser: a bijection with full avalanche.
func fmix(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	return z ^ z>>31
}

// Hash64V4Tuple returns Hash64 of the 37-byte encoding of a 5-tuple whose
// addresses are IPv4: client and server as 16-byte IPv4-mapped IPv6
// addresses (netip.Addr.As16), then the client and server ports (big
// endian) and the protocol. It computes the same value without building
// the bytes; c and s are the addresses as big-endian integers.
func Hash64V4Tuple(c, s uint32, cport, sport uint16, proto uint8) uint64 {
	n := uint64(37)
	h := n*pi0 ^ pi1
	// 16-byte rounds: the first word of a mapped address is zero, the
	// second 0000ffff then the address, read little-endian.
	h = mix(pi2, 0xffff0000|uint64(bits.ReverseBytes32(c))<<32^h)
	h = mix(pi2, 0xffff0000|uint64(bits.ReverseBytes32(s))<<32^h)
	// The last 5 bytes: two overlapping 4-byte loads.
	ports := uint64(bits.ReverseBytes16(cport)) | uint64(bits.ReverseBytes16(sport))<<16
	x := ports
	y := ports>>8 | uint64(proto)<<24
	h = mix(x^pi2, y^h^pi3)
	return fmix(h ^ n)
}
