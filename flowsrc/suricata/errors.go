package suricata

import (
	"errors"
	"strconv"
)

// ErrMalformed is the sentinel every LineError wraps: test with
// errors.Is(err, suricata.ErrMalformed).
var ErrMalformed = errors.New("suricata: malformed line")

// Reasons a line is malformed, as LineError.Reason says them.
const (
	// ReasonSyntax: not valid JSON, or not a JSON object (Detail and
	// Offset say what and where).
	ReasonSyntax = "invalid JSON"
	// ReasonNoEvent: no event_type member (or a null one).
	ReasonNoEvent = "missing event_type"
	// ReasonMissing: a flow event lacks a required field, or an A/AAAA
	// answer its rdata.
	ReasonMissing = "missing field"
	// ReasonType: a field has the wrong JSON type, or is a number out of
	// its range (a port above 65535, a negative or fractional counter).
	ReasonType = "wrong type"
	// ReasonValue: a string field does not parse (address, time,
	// protocol, TCP flags, answer address of the wrong family).
	ReasonValue = "invalid value"
	// ReasonTooLong: the line is longer than the Reader's maximum.
	ReasonTooLong = "line too long"
	// ReasonEndsEarly: flow.end is before flow.start.
	ReasonEndsEarly = "flow.end before flow.start"
)

// maxQuoted bounds LineError.Value.
const maxQuoted = 64

// LineError describes one malformed line: which line, which field, and
// why. It is returned by Parser.Line and kept (the first few) in Stats.
type LineError struct {
	// Line is the line number the caller gave (1-based for a Reader).
	Line int64
	// EventType is the line's event_type when it was read, else "".
	EventType string
	// Field is the offending field in EVE's dotted form
	// ("flow.bytes_toserver", "dns.answers"), "" for invalid JSON.
	Field string
	// Reason is one of the Reason constants.
	Reason string
	// Detail is the JSON syntax error for ReasonSyntax, with Offset the
	// byte offset in the line where it was found.
	Detail string
	Offset int
	// Value is the offending value (at most 64 bytes of it) for
	// ReasonValue, and for ReasonTooLong the line's length.
	Value string
}

// Error implements error: `suricata: line 12: flow event: field
// "flow.start": invalid value "2024-13-01T00:00:00+0000"`.
func (e *LineError) Error() string {
	b := make([]byte, 0, 128)
	b = append(b, "suricata: line "...)
	b = strconv.AppendInt(b, e.Line, 10)
	b = append(b, ": "...)
	if e.EventType != "" {
		b = strconv.AppendQuote(b, e.EventType)
		b = append(b, " event: "...)
	}
	if e.Field != "" {
		b = append(b, "field "...)
		b = strconv.AppendQuote(b, e.Field)
		b = append(b, ": "...)
	}
	b = append(b, e.Reason...)
	switch e.Reason {
	case ReasonSyntax:
		b = append(b, ": "...)
		b = append(b, e.Detail...)
		b = append(b, " at byte "...)
		b = strconv.AppendInt(b, int64(e.Offset), 10)
	case ReasonTooLong:
		b = append(b, " ("...)
		b = append(b, e.Value...)
		b = append(b, " bytes)"...)
	default:
		if e.Value != "" {
			b = append(b, ' ')
			b = strconv.AppendQuote(b, e.Value)
		}
	}
	return string(b)
}

// Unwrap returns ErrMalformed.
func (e *LineError) Unwrap() error { return ErrMalformed }

func quoteValue(b []byte) string {
	if len(b) > maxQuoted {
		b = b[:maxQuoted]
	}
	return string(b)
}
