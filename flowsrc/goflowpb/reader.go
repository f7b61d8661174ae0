package goflowpb

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// DefaultMaxMessageSize is the default limit on one message's length
// prefix: 4 MiB, the default of protodelim.UnmarshalOptions.MaxSize that
// goflow2's own tools read with. goflow2's messages are a few hundred
// bytes.
const DefaultMaxMessageSize = 4 << 20

// bufferSize is the Reader's read buffer: messages up to this size are
// decoded in place, larger ones are copied into a buffer of their own.
const bufferSize = 64 << 10

// Option configures a Reader.
type Option interface {
	apply(*readerConfig)
}

type readerConfig struct {
	sep     string
	sepSet  bool
	maxSize int
}

type optionFunc func(*readerConfig)

func (f optionFunc) apply(c *readerConfig) { f(c) }

// WithSeparator sets the bytes that follow every message: goflow2's
// -transport.file.sep ("\n" by default; "" for none, as in
// `goflow2 -transport.file.sep= -format=bin`). Without this option the
// Reader detects "\n" or nothing from the byte after the first message
// (see the package documentation).
func WithSeparator(sep string) Option {
	return optionFunc(func(c *readerConfig) { c.sep, c.sepSet = sep, true })
}

// WithMaxMessageSize sets the largest message length accepted
// (default [DefaultMaxMessageSize]); a longer length prefix is an
// [ErrTooLarge] error. n <= 0 means the default.
func WithMaxMessageSize(n int) Option {
	return optionFunc(func(c *readerConfig) {
		if n > 0 {
			c.maxSize = n
		}
	})
}

// Stats counts what a Reader read.
type Stats struct {
	// Messages is the number of messages framed (length prefix and body
	// read), whatever became of them: Records + NotFlow + Malformed.
	Messages uint64
	// Records is the number of messages returned as records.
	Records uint64
	// NotFlow counts well-formed messages without IP addresses, skipped.
	NotFlow uint64
	// Malformed counts messages skipped with an ErrMalformed error.
	Malformed uint64
	// Bytes is the number of bytes consumed from the stream.
	Bytes int64
	// Separator is the separator in use: the one given to WithSeparator,
	// or the detected one once the first message has been followed by
	// more data ("" before that, and for streams without separator).
	Separator string
}

// Reader reads the records of a goflow2 binary stream: length-prefixed
// FlowMessages as `goflow2 -format=bin` writes them to a file or stdout.
//
// A Reader is not safe for concurrent use.
type Reader struct {
	_      [0]sync.Mutex // not copyable
	br     *bufio.Reader
	cfg    readerConfig
	sep    []byte
	sepKn  bool // separator known (given or detected)
	off    int64
	msgs   uint64 // messages framed so far
	big    []byte // body of a message larger than the read buffer
	peeked int    // bytes of br to discard after decoding
	err    error  // sticky error
	stats  Stats
}

// NewReader returns a Reader of the goflow2 binary stream r.
func NewReader(r io.Reader, opts ...Option) *Reader {
	cfg := readerConfig{maxSize: DefaultMaxMessageSize}
	for _, o := range opts {
		o.apply(&cfg)
	}
	rd := &Reader{br: bufio.NewReaderSize(r, bufferSize), cfg: cfg}
	if cfg.sepSet {
		rd.sep, rd.sepKn = []byte(cfg.sep), true
		rd.stats.Separator = cfg.sep
	}
	return rd
}

// Next decodes the next flow record into rec.
//
// It returns io.EOF when the stream ends cleanly at a message boundary.
// A message that is not a valid FlowMessage gives an [*Error] wrapping
// [ErrMalformed], with rec zeroed; the message is skipped and counted, and
// the next call goes on with the following message. Messages without IP
// addresses are skipped and counted in Stats.NotFlow. Any other error
// ([ErrFraming], [ErrTooLarge], wrapping io.ErrUnexpectedEOF for a stream
// cut inside a message, or an error of the underlying reader) is
// returned again by every later call.
func (r *Reader) Next(rec *flowsrc.Record) error {
	for {
		body, start, err := r.frame()
		if err != nil {
			*rec = flowsrc.Record{}
			return err
		}
		p, ok := decodeBare(body, rec)
		r.release()
		idx := r.msgs - 1
		switch {
		case ok:
			r.stats.Records++
			return nil
		case p.kind == ErrNotFlow:
			r.stats.NotFlow++
			continue
		}
		r.stats.Malformed++
		return messageError(p, start, idx)
	}
}

// Offset returns the number of bytes consumed from the stream: the offset
// of the next message (or of its separator).
func (r *Reader) Offset() int64 { return r.off }

// Stats returns the counters so far.
func (r *Reader) Stats() Stats {
	s := r.stats
	s.Bytes = r.off
	return s
}

// frame reads the separator after the previous message, if any, and the
// next message's length prefix and body. The body is valid until release.
func (r *Reader) frame() (body []byte, start int64, err error) {
	if r.err != nil {
		return nil, 0, r.err
	}
	if r.msgs > 0 {
		if err := r.separator(); err != nil {
			return nil, 0, r.fail(err)
		}
	}
	start = r.off
	var l uint64
	for i := 0; ; i++ {
		c, err := r.br.ReadByte()
		if err != nil {
			switch {
			case !errors.Is(err, io.EOF):
				return nil, 0, r.fail(readError(r.off, err))
			case i == 0:
				return nil, 0, r.fail(io.EOF)
			}
			return nil, 0, r.fail(&Error{Offset: start, Message: r.msgs, FieldOffset: -1, Kind: ErrFraming,
				Detail: "stream ends inside a length prefix", Err: io.ErrUnexpectedEOF})
		}
		r.off++
		if i == 9 && c > 1 {
			return nil, 0, r.fail(&Error{Offset: start, Message: r.msgs, FieldOffset: -1, Kind: ErrFraming,
				Detail: "overlong length prefix"})
		}
		l |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			break
		}
	}
	if l > uint64(r.cfg.maxSize) {
		return nil, 0, r.fail(&Error{Offset: start, Message: r.msgs, FieldOffset: -1, Kind: ErrTooLarge,
			Detail: "length prefix " + strconv.FormatUint(l, 10) + " exceeds " + strconv.Itoa(r.cfg.maxSize)})
	}
	n := int(l)
	if n <= r.br.Size() {
		body, err = r.br.Peek(n)
		r.peeked = len(body)
	} else {
		body, err = r.readBig(n)
	}
	if err != nil {
		got := len(body)
		r.release()
		r.off += int64(got)
		if !errors.Is(err, io.EOF) {
			return nil, 0, r.fail(readError(r.off, err))
		}
		return nil, 0, r.fail(&Error{Offset: start, Message: r.msgs, FieldOffset: -1, Kind: ErrFraming,
			Detail: "stream ends after " + strconv.Itoa(got) + " of the message's " + strconv.Itoa(n) + " bytes", Err: io.ErrUnexpectedEOF})
	}
	r.off += int64(n)
	r.msgs++
	r.stats.Messages++
	return body, start, nil
}

// readBig reads an n-byte body larger than the read buffer into r.big,
// growing it as the data arrives (a lying length prefix costs memory only
// for the bytes actually present).
func (r *Reader) readBig(n int) ([]byte, error) {
	b := r.big[:0]
	for len(b) < n {
		if len(b) == cap(b) {
			grow := max(2*cap(b), bufferSize)
			nb := make([]byte, len(b), min(grow, n))
			copy(nb, b)
			b = nb
		}
		m, err := r.br.Read(b[len(b):min(cap(b), n)])
		b = b[:len(b)+m]
		if err != nil && len(b) < n {
			r.big = b[:0]
			return b, err
		}
	}
	r.big = b[:0]
	return b, nil
}

// release discards the body returned by frame from the read buffer.
func (r *Reader) release() {
	if r.peeked > 0 {
		r.br.Discard(r.peeked)
		r.peeked = 0
	}
}

// separator consumes the separator that follows a message. The end of
// the stream in its place is a clean end (goflow2 writes the message and
// the separator in two writes).
func (r *Reader) separator() error {
	if !r.sepKn {
		b, err := r.br.Peek(1)
		if len(b) == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return io.EOF
			}
			return readError(r.off, err)
		}
		if b[0] == '\n' {
			r.sep = []byte{'\n'}
		}
		r.sepKn = true
		r.stats.Separator = string(r.sep)
	}
	if len(r.sep) == 0 {
		return nil
	}
	start := r.off
	b, err := r.br.Peek(len(r.sep))
	if len(b) == 0 && (err == nil || errors.Is(err, io.EOF)) {
		return io.EOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return readError(r.off, err)
	}
	if string(b) != string(r.sep) {
		return &Error{Offset: start, Message: r.msgs, FieldOffset: -1, Kind: ErrFraming,
			Detail: "expected the separator " + strconv.Quote(string(r.sep)) + " after message " + strconv.FormatUint(r.msgs-1, 10) +
				", found " + strconv.Quote(string(b))}
	}
	r.br.Discard(len(b))
	r.off += int64(len(b))
	return nil
}

// readError wraps an error of the underlying io.Reader.
func readError(off int64, err error) error {
	return fmt.Errorf("goflowpb: read at offset %d: %w", off, err)
}

// fail records a sticky error and returns it.
func (r *Reader) fail(err error) error {
	r.err = err
	return err
}

// Decode decodes one message as goflow2 writes it to Kafka with
// -format=bin: a varint length prefix followed by exactly that many bytes
// of FlowMessage. It returns an [*Error] wrapping [ErrFraming] when the
// prefix disagrees with len(msg), [ErrMalformed] for an invalid message and
// [ErrNotFlow] for a message without IP addresses; rec is then zeroed.
// Decode does not allocate unless it fails.
func Decode(msg []byte, rec *flowsrc.Record) error {
	l, n := uvarint(msg)
	if n <= 0 || l != uint64(len(msg)-n) {
		*rec = flowsrc.Record{}
		d := "truncated or overlong length prefix"
		if n > 0 {
			d = "length prefix says " + strconv.FormatUint(l, 10) + " bytes, " + strconv.Itoa(len(msg)-n) +
				" follow (a message without goflow2's length prefix? see DecodeBare)"
		}
		return &Error{FieldOffset: -1, Kind: ErrFraming, Detail: d}
	}
	if p, ok := decodeBare(msg[n:], rec); !ok {
		return messageError(p, 0, 0)
	}
	return nil
}

// DecodeBare decodes one FlowMessage without length prefix (proto.Marshal's
// output), with the errors of [Decode] but ErrFraming.
func DecodeBare(msg []byte, rec *flowsrc.Record) error {
	if p, ok := decodeBare(msg, rec); !ok {
		return messageError(p, 0, 0)
	}
	return nil
}
