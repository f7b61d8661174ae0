package pcap

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped in a [*ParseError]; test with errors.Is.
// A stream that ends inside a header, record or block gives a ParseError
// wrapping [io.ErrUnexpectedEOF].
var (
	// ErrFormat means the stream is not pcap, pcapng or gzip, or is a
	// version of them this package does not read.
	ErrFormat = errors.New("unrecognised capture format")
	// ErrTooLarge means a length field exceeds the 16 MiB limit on records
	// and blocks.
	ErrTooLarge = errors.New("length exceeds limit")
	// ErrMalformed means the framing of the file is inconsistent (a block
	// length that is not a multiple of 4 or disagrees with its trailer, an
	// option that overruns its block, ...), so reading cannot go on.
	ErrMalformed = errors.New("malformed capture")
)

// ParseError reports where reading a capture failed. Once Next has returned
// a ParseError it returns the same error on every later call.
type ParseError struct {
	// Offset is the byte offset, in the (decompressed) stream, of the file
	// header, record or block being read.
	Offset int64
	// Frame is the number of frames read before the failure.
	Frame uint64
	// Msg describes the failure and quotes the offending value.
	Msg string
	// Err is the cause: ErrFormat, ErrTooLarge, ErrMalformed,
	// io.ErrUnexpectedEOF or an error of the underlying reader.
	Err error
}

// Error implements the error interface.
func (e *ParseError) Error() string {
	return fmt.Sprintf("pcap: offset %d (after frame %d): %s: %v", e.Offset, e.Frame, e.Msg, e.Err)
}

// Unwrap returns the cause, for errors.Is and errors.As.
func (e *ParseError) Unwrap() error { return e.Err }
