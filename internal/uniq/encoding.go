package uniq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Encoding (version 1). Every form starts with the version byte and a kind
// byte; integers are little-endian. The form is canonical: a counter has
// exactly one valid encoding, and UnmarshalBinary rejects any other.
//
//	exact:  1, 0, n (0..64), n × uint64 values, strictly increasing
//	sparse: 1, 1, p (14), k uint16 (1..maxSparse), k × 3-byte entries
//	        index<<6 | rank, indexes strictly increasing, rank 1..51
//	dense:  1, 2, p (14), 16384 registers of 0..51, more than maxSparse
//	        of them non-zero
const (
	encVersion = 1

	kindExact  = 0
	kindSparse = 1
	kindDense  = 2

	exactHeader  = 3
	sparseHeader = 5
	denseHeader  = 3
	denseSize    = denseHeader + numRegs
	// maxSparse is the largest number of non-zero registers for which the
	// sparse form is shorter than the dense one.
	maxSparse = (denseSize - sparseHeader - 1) / 3
)

// ErrMalformed is wrapped by the DecodeError of an encoding that is
// truncated, has trailing bytes, or holds an invalid or non-canonical value.
var ErrMalformed = errors.New("uniq: malformed counter encoding")

// ErrVersion is wrapped by the DecodeError of an encoding whose version (or
// precision) this package does not read.
var ErrVersion = errors.New("uniq: unsupported counter encoding version")

// DecodeError reports why UnmarshalBinary rejected its input. Its Unwrap
// returns ErrMalformed or ErrVersion.
type DecodeError struct {
	// Offset is the position in the input of the offending byte.
	Offset int
	// Reason describes the problem and quotes the bad value.
	Reason string
	// Err is ErrMalformed or ErrVersion.
	Err error
}

func (e *DecodeError) Error() string {
	return fmt.Sprintf("uniq: bad counter encoding at byte %d: %s", e.Offset, e.Reason)
}

// Unwrap returns ErrMalformed or ErrVersion.
func (e *DecodeError) Unwrap() error { return e.Err }

func malformed(off int, format string, args ...any) error {
	return &DecodeError{Offset: off, Reason: fmt.Sprintf(format, args...), Err: ErrMalformed}
}

// AppendBinary appends the encoding of c to b and returns the extended
// buffer (encoding.BinaryAppender). It does not allocate when b has room.
// The error is always nil.
func (c *Counter) AppendBinary(b []byte) ([]byte, error) {
	size, k := c.encodedLen()
	b = slices.Grow(b, size)
	switch {
	case !c.dense:
		b = append(b, encVersion, kindExact, c.n)
		for _, v := range c.values() {
			b = binary.LittleEndian.AppendUint64(b, v)
		}
	case k > maxSparse:
		b = append(b, encVersion, kindDense, precision)
		b = append(b, c.regs[:]...)
	default:
		b = append(b, encVersion, kindSparse, precision)
		b = binary.LittleEndian.AppendUint16(b, uint16(k))
		for i := 0; i < numRegs; i += 8 {
			if le64((*[8]uint8)(c.regs[i:i+8])) == 0 {
				continue // most words of a sparse sketch are empty
			}
			for j, r := range c.regs[i : i+8] {
				if r != 0 {
					e := uint32(i+j)<<6 | uint32(r)
					b = append(b, uint8(e), uint8(e>>8), uint8(e>>16))
				}
			}
		}
	}
	return b, nil
}

// MarshalBinary returns the encoding of c (encoding.BinaryMarshaler): a
// versioned, canonical form that UnmarshalBinary reads back. The error is
// always nil.
func (c *Counter) MarshalBinary() ([]byte, error) {
	return c.AppendBinary(nil)
}

// encodedLen returns the length of c's encoding and, for a sketch, its
// number of non-zero registers.
func (c *Counter) encodedLen() (size, nonZero int) {
	if !c.dense {
		return exactHeader + 8*int(c.n), 0
	}
	nonZero = c.regs.nonZero()
	if nonZero > maxSparse {
		return denseSize, nonZero
	}
	return sparseHeader + 3*nonZero, nonZero
}

// UnmarshalBinary replaces c with the counter encoded in data
// (encoding.BinaryUnmarshaler), reusing c's memory. On error, which is a
// *DecodeError wrapping ErrMalformed or ErrVersion, c is unchanged. It
// never allocates more than one register array, whatever data says.
func (c *Counter) UnmarshalBinary(data []byte) error {
	if len(data) < 2 {
		return malformed(len(data), "truncated header: %d bytes", len(data))
	}
	if data[0] != encVersion {
		return &DecodeError{Offset: 0, Reason: fmt.Sprintf("version %d, want %d", data[0], encVersion), Err: ErrVersion}
	}
	switch data[1] {
	case kindExact:
		return c.decodeExact(data)
	case kindSparse, kindDense:
		if len(data) < 3 {
			return malformed(len(data), "truncated header: %d bytes", len(data))
		}
		if data[2] != precision {
			return &DecodeError{Offset: 2, Reason: fmt.Sprintf("precision %d, want %d", data[2], precision), Err: ErrVersion}
		}
		if data[1] == kindSparse {
			return c.decodeSparse(data)
		}
		return c.decodeDense(data)
	default:
		return malformed(1, "unknown kind %#02x", data[1])
	}
}

func (c *Counter) decodeExact(data []byte) error {
	if len(data) < exactHeader {
		return malformed(len(data), "truncated header: %d bytes", len(data))
	}
	n := int(data[2])
	if n > ExactLimit {
		return malformed(2, "%d exact values, at most %d allowed", n, ExactLimit)
	}
	if want := exactHeader + 8*n; len(data) != want {
		return malformed(min(len(data), want), "length %d for %d exact values, want %d", len(data), n, want)
	}
	var vals [ExactLimit]uint64
	for i := range n {
		off := exactHeader + 8*i
		vals[i] = binary.LittleEndian.Uint64(data[off:])
		if i > 0 && vals[i] <= vals[i-1] {
			return malformed(off, "exact value %#016x not above previous %#016x", vals[i], vals[i-1])
		}
	}
	if n > inlineCap {
		if c.ext == nil {
			c.ext = new([ExactLimit]uint64)
		}
		copy(c.ext[:], vals[:n])
	} else {
		copy(c.small[:], vals[:n])
	}
	c.n = uint8(n)
	c.dense = false
	return nil
}

func (c *Counter) decodeSparse(data []byte) error {
	if len(data) < sparseHeader {
		return malformed(len(data), "truncated header: %d bytes", len(data))
	}
	k := int(binary.LittleEndian.Uint16(data[3:]))
	if k < 1 || k > maxSparse {
		return malformed(3, "%d sparse registers, want 1..%d", k, maxSparse)
	}
	if want := sparseHeader + 3*k; len(data) != want {
		return malformed(min(len(data), want), "length %d for %d sparse registers, want %d", len(data), k, want)
	}
	prev := -1
	for i := range k {
		off := sparseHeader + 3*i
		e := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16
		idx, rank := e>>6, e&63
		if idx >= numRegs || idx <= prev {
			return malformed(off, "sparse register index %d not in %d..%d", idx, prev+1, numRegs-1)
		}
		if rank < 1 || rank > maxRank {
			return malformed(off, "sparse register %d = %d, want 1..%d", idx, rank, maxRank)
		}
		prev = idx
	}
	c.clearRegs()
	for i := range k {
		off := sparseHeader + 3*i
		e := int(data[off]) | int(data[off+1])<<8 | int(data[off+2])<<16
		c.regs[e>>6] = uint8(e & 63)
	}
	c.dense = true
	c.n = 0
	return nil
}

func (c *Counter) decodeDense(data []byte) error {
	if len(data) != denseSize {
		return malformed(min(len(data), denseSize), "length %d for dense registers, want %d", len(data), denseSize)
	}
	regs := data[denseHeader:]
	k := 0
	for i, r := range regs {
		if r > maxRank {
			return malformed(denseHeader+i, "register %d = %d, want 0..%d", i, r, maxRank)
		}
		if r != 0 {
			k++
		}
	}
	if k <= maxSparse {
		return malformed(denseHeader, "dense form with %d non-zero registers, sparse form required up to %d", k, maxSparse)
	}
	if c.regs == nil {
		c.regs = new(registers)
	}
	copy(c.regs[:], regs)
	c.dense = true
	c.n = 0
	return nil
}
