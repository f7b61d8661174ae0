package flowsrc

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
)

// DecodePath selects how a DatagramDecoder decodes NetFlow v9 and IPFIX
// data records. Both paths give the same records, errors and counters
// (a differential test and a fuzz target hold them to it); the option
// exists to measure one against the other and to rule the fast path out
// when chasing a suspected decoding bug.
type DecodePath uint8

const (
	// PathFast, the default, compiles each data template, when it is
	// received, into a list of field operations (offsets, lengths and
	// what the mapping does with each field) and decodes data records
	// straight from the datagram, without allocating. Template sets,
	// options template sets and options data (sampling rates, system init
	// time) are still decoded by goflow2.
	PathFast DecodePath = iota
	// PathGoflow2 decodes every data set with goflow2's DecodeDataSet,
	// which allocates for every field of every record.
	PathGoflow2
)

// String returns "fast" or "goflow2".
func (p DecodePath) String() string {
	switch p {
	case PathFast:
		return "fast"
	case PathGoflow2:
		return "goflow2"
	}
	return fmt.Sprintf("DecodePath(%d)", uint8(p))
}

// WithDecodePath selects the decoding path of NetFlow v9 and IPFIX data
// records (default PathFast). An unknown path keeps the default.
func WithDecodePath(p DecodePath) DecoderOption {
	return optionFunc(func(c *decoderConfig) {
		if p == PathFast || p == PathGoflow2 {
			c.path = p
		}
	})
}

// varLength is the length of a variable-length field in a template
// (RFC 7011 §7).
const varLength = 0xffff

// fieldOp is one step of a compiled template: the field of n bytes at off
// (from the start of the record, or of the segment in a template with
// variable-length fields), stored as kind.
type fieldOp struct {
	off  uint32
	n    uint16
	kind fieldKind
}

// recordPlan is a data template compiled for the fast path.
//
// For a template without variable-length fields, size is the record size
// and the fields the mapping reads are listed at their offsets, split by
// what they set: addresses and packet sections in bytesOps, integers in
// uintOps (the two never set the same value, and each list keeps the
// template's order, so a later field of a kind still overwrites an earlier
// one). A template with variable-length fields is cut into segments, each
// a run of fixed-length fields followed by one variable-length field (or
// the end of the record), and size is the sum of the fixed lengths, the
// smallest remainder goflow2 starts a record in.
type recordPlan struct {
	fields   []netflow.Field // as compiled, to recognise a resent template
	size     int
	variable bool
	bytesOps []fieldOp
	uintOps  []uintOp
	segs     []varSegment
	// sampled is set when a field can carry a sampling rate or a sampler
	// ID: the records of a set without one all have the domain's rate.
	sampled bool
}

// varSegment is a run of fixed-length fields of fixed bytes in all (the
// ones the mapping reads in bytesOps and uintOps, at offsets from the
// segment's start), then, when hasVar is set, a variable-length field of
// kind varKind.
type varSegment struct {
	fixed    int
	bytesOps []fieldOp
	uintOps  []uintOp
	hasVar   bool
	varKind  fieldKind
}

// compileTemplate compiles the fields of a data template of the given
// version (9 or 10) as goflow2's DecodeTemplateSet returned them.
// Operations that could not change a record are left out: fields the
// mapping does not read, integers of 0 or more than 8 bytes, addresses of
// the wrong size (setKind ignores all of those).
func compileTemplate(version uint16, fields []netflow.Field) *recordPlan {
	p := &recordPlan{fields: slices.Clone(fields)}
	for _, fd := range fields {
		if fd.Length == varLength {
			p.variable = true
		} else {
			p.size += int(fd.Length)
		}
	}
	bytesOps, uintOps := &p.bytesOps, &p.uintOps
	if p.variable {
		p.segs = append(p.segs, varSegment{})
	}
	off := 0
	for _, fd := range fields {
		k := dataFieldKind(fd.Type, fd.PenProvided, fd.Pen, version)
		if p.variable {
			seg := &p.segs[len(p.segs)-1]
			if fd.Length == varLength {
				seg.hasVar, seg.varKind = true, k
				p.segs = append(p.segs, varSegment{})
				continue
			}
			bytesOps, uintOps = &seg.bytesOps, &seg.uintOps
			off = seg.fixed
			seg.fixed += int(fd.Length)
		}
		switch k {
		case kSamplingInterval, kSamplerRandom, kPacketInterval, kPacketSpace, kSamplerID:
			p.sampled = true
		}
		switch {
		case !fixedOpUseful(k, int(fd.Length)):
		case k < kFirstUint:
			*bytesOps = append(*bytesOps, fieldOp{off: uint32(off), n: fd.Length, kind: k})
		default:
			*uintOps = append(*uintOps, newUintOp(k, off, int(fd.Length)))
		}
		off += int(fd.Length)
	}
	return p
}

// fixedOpUseful reports whether a fixed-size field of kind k and n bytes
// can change a record.
func fixedOpUseful(k fieldKind, n int) bool {
	switch k {
	case kNone:
		return false
	case kSrc4, kDst4:
		return n == 4
	case kSrc6, kDst6:
		return n == 16
	case kFrameSection, kIPSection:
		return true
	}
	return n >= 1 && n <= 8
}

// sameFields reports whether fields are the ones p was compiled from.
func (p *recordPlan) sameFields(fields []netflow.Field) bool {
	return slices.Equal(p.fields, fields)
}

// errLengthPrefix is the underlying error of a data set whose last
// variable-length field has its length prefix cut by the end of the set.
var errLengthPrefix = fmt.Errorf("flowsrc: variable-length field: length prefix cut by the end of the set: %w", io.ErrUnexpectedEOF)

// fastDataSet decodes a data set with a compiled plan. It reproduces what
// the goflow2 path does with the same bytes (dataSet, DecodeDataSet,
// checkRecords), record for record and error for error.
func (c *decodeCtx) fastDataSet(st *exporterState, h *nfHeader, setID uint16, set []byte, pos int, p *recordPlan) {
	c.fastSets++
	if !p.variable {
		// Every whole record is decoded; a remainder shorter than a
		// record is ignored (padding). size > 0: the store refuses
		// templates of zero-length records.
		size := p.size
		n := len(set) / size
		c.nfRecords += n
		for i := range n {
			p.fixedRecord(&c.ff, c.dg, pos+i*size)
			c.mapRecord(st, h, setID, pos)
		}
		return
	}

	// Variable-length fields. First pass: find the records as goflow2
	// reads them and how many leading ones are complete, reporting a
	// truncated record or a set cut inside a length prefix as
	// malformed, and trailing zero padding as nothing.
	zeroFrom := len(set)
	for zeroFrom > 0 && set[zeroFrom-1] == 0 {
		zeroFrom--
	}
	nrecs, valid, end, truncAt := 0, -1, 0, -1
	var derr error
	for len(set)-end >= p.size {
		start := end
		next, clipped, ok := p.walk(set, start)
		if !ok {
			derr = errLengthPrefix
			break
		}
		if valid < 0 {
			switch {
			case start >= zeroFrom:
				valid = nrecs // padding read as records
			case clipped:
				valid, truncAt = nrecs, start
			}
		}
		nrecs++
		end = next
	}
	c.nfRecords += nrecs
	switch {
	case truncAt >= 0:
		c.fail(ErrMalformed, uint32(setID), pos+truncAt, derr, "record %d truncated at the end of the set", valid+1)
	case valid < 0 && derr != nil && end < zeroFrom:
		c.fail(ErrMalformed, uint32(setID), pos+end, derr, "set decode stopped after %d records", nrecs)
	}
	if valid < 0 {
		valid = nrecs
	}
	// Second pass: decode the complete records.
	off := 0
	for range valid {
		off = c.varRecord(p, set, pos, off)
		c.mapRecord(st, h, setID, pos)
	}
}

// fixedRecord decodes the record at base in the datagram dg, of a
// fixed-size template, into f.
func (p *recordPlan) fixedRecord(f *flowFields, dg []byte, base int) {
	f.reset()
	for _, op := range p.bytesOps {
		start := base + int(op.off)
		f.setBytes(op.kind, dg[start:start+int(op.n)])
	}
	f.storeUints(p.uintOps, dg, base)
}

// walk returns the end of the record that starts at off, read as goflow2's
// DecodeDataSet reads it: ok is false when a variable-length field's
// length prefix is cut by the end of the set (goflow2 fails the set
// there), clipped is true when a value runs past the end of the set
// (goflow2 shortens it).
func (p *recordPlan) walk(set []byte, off int) (end int, clipped, ok bool) {
	for i := range p.segs {
		seg := &p.segs[i]
		if len(set)-off < seg.fixed {
			clipped, off = true, len(set)
		} else {
			off += seg.fixed
		}
		if !seg.hasVar {
			break
		}
		if off >= len(set) {
			return off, clipped, false
		}
		n := int(set[off])
		off++
		if n == 255 {
			if len(set)-off < 2 {
				return off, clipped, false
			}
			n = int(binary.BigEndian.Uint16(set[off:]))
			off += 2
		}
		if len(set)-off < n {
			clipped, off = true, len(set)
		} else {
			off += n
		}
	}
	return off, clipped, true
}

// varRecord decodes the record at off in set (at pos in the datagram),
// which walk found complete, into c.ff, and returns the offset after it.
func (c *decodeCtx) varRecord(p *recordPlan, set []byte, pos, off int) int {
	f := &c.ff
	f.reset()
	for i := range p.segs {
		seg := &p.segs[i]
		for _, op := range seg.bytesOps {
			start := off + int(op.off)
			f.setBytes(op.kind, set[start:start+int(op.n)])
		}
		f.storeUints(seg.uintOps, c.dg, pos+off)
		off += seg.fixed
		if !seg.hasVar {
			break
		}
		n := int(set[off])
		off++
		if n == 255 {
			n = int(binary.BigEndian.Uint16(set[off:]))
			off += 2
		}
		f.setKind(seg.varKind, set[off:off+n])
		off += n
	}
	return off
}
