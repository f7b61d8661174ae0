package goflowpb

import (
	"errors"
	"strconv"
)

// Sentinel errors, wrapped in an [*Error]; test with errors.Is.
var (
	// ErrMalformed: one message is not a valid goflow2 FlowMessage (a
	// truncated or overlong varint, a field running past the message, a
	// wire type the schema does not allow, an address that is not 4 or 16
	// bytes, a port above 65535, no usable time). A Reader skips the
	// message and can go on: call Next again.
	ErrMalformed = errors.New("goflowpb: malformed message")
	// ErrNotFlow: a well-formed message without source or destination IP
	// address (goflow2 emits them for non-IP sFlow samples such as ARP).
	// Decode and DecodeBare return it; a Reader counts such messages in
	// Stats.NotFlow and skips them without an error.
	ErrNotFlow = errors.New("goflowpb: message has no IP addresses")
	// ErrFraming: the stream's framing is broken (a length prefix that is
	// overlong or cut by the end of the stream, a message cut by the end
	// of the stream, a missing separator, a length prefix that disagrees
	// with the Kafka message it starts). A Reader cannot find the next
	// message and returns the same error from then on.
	ErrFraming = errors.New("goflowpb: broken framing")
	// ErrTooLarge: a length prefix exceeds the size limit (see
	// WithMaxMessageSize). Treated like ErrFraming.
	ErrTooLarge = errors.New("goflowpb: message exceeds the size limit")
)

// Error describes a message or stream position that could not be read.
type Error struct {
	// Offset is the byte offset, in the stream, of the length prefix of
	// the message at fault (for Decode: 0, the start of msg; for
	// DecodeBare: 0, the start of the message).
	Offset int64
	// Message is the index (from 0) of that message in the stream.
	Message uint64
	// FieldOffset is the offset, within the message body (after the
	// length prefix), of the field at fault; -1 when not about one field.
	FieldOffset int
	// Field is the protobuf field number at fault, 0 if none.
	Field uint64
	// Kind is ErrMalformed, ErrNotFlow, ErrFraming or ErrTooLarge.
	Kind error
	// Detail says what was wrong, quoting the offending value.
	Detail string
	// Err is the underlying error, if any: io.ErrUnexpectedEOF for a
	// stream cut inside a message, or the io.Reader's own error.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	b := make([]byte, 0, 128)
	b = append(b, "goflowpb: message "...)
	b = strconv.AppendUint(b, e.Message, 10)
	b = append(b, " at offset "...)
	b = strconv.AppendInt(b, e.Offset, 10)
	if e.FieldOffset >= 0 {
		b = append(b, " (+"...)
		b = strconv.AppendInt(b, int64(e.FieldOffset), 10)
		if e.Field != 0 {
			b = append(b, ", field "...)
			b = strconv.AppendUint(b, e.Field, 10)
			if name := fieldName(e.Field); name != "" {
				b = append(b, ' ')
				b = append(b, name...)
			}
		}
		b = append(b, ')')
	}
	b = append(b, ": "...)
	b = append(b, kindText(e.Kind)...)
	if e.Detail != "" {
		b = append(b, ": "...)
		b = append(b, e.Detail...)
	}
	if e.Err != nil {
		b = append(b, ": "...)
		b = append(b, e.Err.Error()...)
	}
	return string(b)
}

// Unwrap returns Kind and Err, for errors.Is and errors.As.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

func kindText(k error) string {
	switch k {
	case ErrMalformed:
		return "malformed"
	case ErrNotFlow:
		return "not a flow"
	case ErrFraming:
		return "broken framing"
	case ErrTooLarge:
		return "too large"
	case nil:
		return "error"
	}
	return k.Error()
}

// fieldName names the FlowMessage fields that errors can be about.
func fieldName(n uint64) string {
	switch n {
	case fieldType:
		return "type"
	case fieldSamplingRate:
		return "sampling_rate"
	case fieldSrcAddr:
		return "src_addr"
	case fieldDstAddr:
		return "dst_addr"
	case fieldBytes:
		return "bytes"
	case fieldPackets:
		return "packets"
	case fieldSamplerAddress:
		return "sampler_address"
	case fieldProto:
		return "proto"
	case fieldSrcPort:
		return "src_port"
	case fieldDstPort:
		return "dst_port"
	case fieldTCPFlags:
		return "tcp_flags"
	case fieldICMPType:
		return "icmp_type"
	case fieldICMPCode:
		return "icmp_code"
	case fieldObservationDomain:
		return "observation_domain_id"
	case fieldTimeReceivedNs:
		return "time_received_ns"
	case fieldTimeFlowStartNs:
		return "time_flow_start_ns"
	case fieldTimeFlowEndNs:
		return "time_flow_end_ns"
	}
	return ""
}

// messageError turns a problem of the message whose length prefix is at
// stream offset off (message index idx) into an *Error.
func messageError(p problem, off int64, idx uint64) *Error {
	e := &Error{Offset: off, Message: idx, FieldOffset: p.off, Field: p.field, Kind: p.kind, Detail: p.what}
	if p.vWant {
		e.Detail += " (" + strconv.FormatUint(p.val, 10) + ")"
	}
	return e
}
