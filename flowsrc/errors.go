package flowsrc

import (
	"errors"
	"net/netip"
	"strconv"
)

// Sentinel errors classifying what DatagramDecoder.Decode skipped. Test
// with errors.Is on the error Decode returns.
var (
	// ErrMalformed: the datagram, a set, a sample or a record is truncated
	// or inconsistent (lengths or counts that lie, degenerate templates).
	ErrMalformed = errors.New("flowsrc: malformed datagram")
	// ErrUnknownFormat: the datagram is not NetFlow v5/v9, IPFIX or sFlow v5.
	ErrUnknownFormat = errors.New("flowsrc: unknown datagram format")
	// ErrTemplateMissing: a NetFlow v9/IPFIX data set refers to a template
	// this exporter and observation domain have not sent (yet).
	ErrTemplateMissing = errors.New("flowsrc: template missing")
	// ErrUnsupported: a well-formed part that this package does not turn
	// into flows (reserved set IDs, enterprise sFlow formats, drop samples,
	// records without addresses, non-IP sampled packets).
	ErrUnsupported = errors.New("flowsrc: unsupported content")
	// ErrLimit: a state limit of the decoder (exporters, templates,
	// samplers, template size) was reached; the part was skipped.
	ErrLimit = errors.New("flowsrc: decoder state limit reached")
)

// DecodeError describes the first part of a datagram that Decode skipped.
// Kind is one of the sentinels above; Err, when set, is the underlying
// cause (often a goflow2 decoder error). Both are reachable with errors.Is
// and errors.As.
type DecodeError struct {
	Format   Format
	Exporter netip.Addr
	// Domain is the NetFlow v9 source ID, IPFIX observation domain or sFlow
	// sub-agent ID when known.
	Domain uint32
	// SetID is the NetFlow v9/IPFIX set (flowset) ID of the skipped part,
	// or the sFlow sample format; 0 when the whole datagram was skipped.
	SetID uint32
	// Offset is the byte offset of the skipped part in the datagram (for
	// a skipped NetFlow v9/IPFIX data record: of its set's first record).
	Offset int
	// Kind is ErrMalformed, ErrUnknownFormat, ErrTemplateMissing,
	// ErrUnsupported or ErrLimit.
	Kind error
	// Detail says what was wrong, quoting the offending values.
	Detail string
	// Err is the underlying error, if any.
	Err error
	// More counts further parts of the same datagram that were skipped
	// too (each is counted in DecoderStats).
	More int
}

// Error implements error.
func (e *DecodeError) Error() string {
	b := make([]byte, 0, 128)
	b = append(b, "flowsrc: "...)
	b = append(b, e.Format.String()...)
	b = append(b, " datagram from "...)
	if e.Exporter.IsValid() {
		b = e.Exporter.AppendTo(b)
	} else {
		b = append(b, "unknown exporter"...)
	}
	b = append(b, " (domain "...)
	b = strconv.AppendUint(b, uint64(e.Domain), 10)
	if e.SetID != 0 {
		b = append(b, ", set "...)
		b = strconv.AppendUint(b, uint64(e.SetID), 10)
	}
	b = append(b, ", offset "...)
	b = strconv.AppendInt(b, int64(e.Offset), 10)
	b = append(b, "): "...)
	if e.Kind != nil {
		b = append(b, kindText(e.Kind)...)
	}
	if e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	if e.More > 0 {
		b = append(b, " (and "...)
		b = strconv.AppendInt(b, int64(e.More), 10)
		b = append(b, " more skipped parts)"...)
	}
	return string(b)
}

// Unwrap returns Kind and Err, so errors.Is(err, ErrMalformed) and
// errors.As on the goflow2 error both work.
func (e *DecodeError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func kindText(k error) string {
	switch k {
	case ErrMalformed:
		return "malformed"
	case ErrUnknownFormat:
		return "unknown format"
	case ErrTemplateMissing:
		return "template missing"
	case ErrUnsupported:
		return "unsupported"
	case ErrLimit:
		return "state limit"
	}
	return k.Error()
}
