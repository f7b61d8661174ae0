package suricata

import (
	"bufio"
	"fmt"
	"io"
	"sync"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// readBufferSize is the Reader's buffer; longer lines are assembled in a
// separate buffer up to the maximum line size.
const readBufferSize = 64 << 10

// Reader reads an EVE JSON stream (a file, a pipe) and returns its flow
// records one at a time. It wraps a Parser: lines of other event types and
// malformed lines are counted in Stats and skipped, never fatal. A Reader
// is not safe for concurrent use, except Stats.
type Reader struct {
	_ [0]sync.Mutex // uncopyable (go vet copylocks)

	p    *Parser
	br   *bufio.Reader
	max  int
	line int64
	long []byte
	err  error // sticky: io.EOF or the read error
}

// NewReader returns a Reader of r configured by opts.
func NewReader(r io.Reader, opts ...Option) *Reader {
	cfg := newConfig(opts)
	return &Reader{p: newParser(cfg), br: bufio.NewReaderSize(r, readBufferSize), max: cfg.maxLineSize}
}

// Next fills rec with the next flow record. It returns io.EOF after the
// last one (a final line without a newline is read too), or the error of
// the underlying reader, wrapped; after an error every call returns it
// again.
func (r *Reader) Next(rec *flowsrc.Record) error {
	for r.err == nil {
		l := r.readLine()
		if l.ok {
			r.line++
			if l.tooLong {
				_ = r.p.tooLong(r.line, l.size)
			} else if ok, _ := r.p.parse(l.b, r.line, rec); ok {
				r.err = l.err
				return nil
			}
		}
		r.err = l.err
	}
	if r.err == io.EOF {
		return io.EOF
	}
	return r.err
}

// line is one line read by readLine.
type line struct {
	b       []byte // with its newline when it has one; nil when tooLong
	size    int    // length without the newline
	ok      bool   // a line was read (false only at the end or on error)
	tooLong bool   // longer than the maximum: consumed, not kept
	err     error  // io.EOF or the wrapped read error, perhaps with the last line
}

// readLine reads the next line.
func (r *Reader) readLine() line {
	r.long = r.long[:0]
	var l line
	raw := 0
	for {
		frag, err := r.br.ReadSlice('\n')
		raw += len(frag)
		if err == bufio.ErrBufferFull {
			if !l.tooLong && len(r.long)+len(frag) <= r.max {
				r.long = append(r.long, frag...)
			} else {
				l.tooLong = true
				r.long = r.long[:0]
			}
			continue
		}
		if err != nil && err != io.EOF {
			err = fmt.Errorf("suricata: read line %d: %w", r.line+1, err)
		}
		l.err = err
		if raw == 0 {
			return l
		}
		l.ok, l.size = true, raw
		if len(frag) > 0 && frag[len(frag)-1] == '\n' {
			l.size--
		}
		switch {
		case l.tooLong || l.size > r.max:
			l.tooLong = true
		case len(r.long) > 0:
			l.b = append(r.long, frag...)
			r.long = l.b
		default:
			l.b = frag
		}
		return l
	}
}

// Stats returns a snapshot of the counters; safe to call concurrently
// with Next.
func (r *Reader) Stats() Stats { return r.p.Stats() }

// Parser returns the Parser the Reader feeds (for its PDNS map).
func (r *Reader) Parser() *Parser { return r.p }
