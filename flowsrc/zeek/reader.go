package zeek

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/exfilscore/exfilscore/flowsrc"
)

const readBufSize = 64 << 10

// Reader reads a Zeek log stream (TSV or JSON lines, optionally gzip
// compressed, as Zeek archives its logs) and yields the records of its
// conn.log entries; ssl.log, http.log and dns.log entries in the stream go
// to the Joiner and passive-DNS map. It is a Parser fed by a line reader.
//
// A Reader is not safe for concurrent use, except Stats.
type Reader struct {
	src     io.Reader
	br      *bufio.Reader
	p       *Parser
	maxLine int
	lineNo  int64
	long    []byte // a line longer than the buffer, being assembled
	err     error
	started bool

	out  *flowsrc.Record // Next's destination
	got  bool
	take func(*flowsrc.Record)
}

// NewReader returns a Reader of r configured by opts.
func NewReader(r io.Reader, opts ...Option) *Reader {
	rd := &Reader{src: r, p: NewParser(opts...)}
	rd.maxLine = rd.p.cfg.maxLine
	rd.take = func(rec *flowsrc.Record) {
		*rd.out = *rec
		rd.got = true
	}
	return rd
}

// Parser returns the Reader's parser.
func (r *Reader) Parser() *Parser { return r.p }

// Stats returns the counters of the Reader's parser (see Parser.Stats).
func (r *Reader) Stats() Stats { return r.p.Stats() }

// start detects gzip compression.
func (r *Reader) start() error {
	r.started = true
	r.br = bufio.NewReaderSize(r.src, readBufSize)
	magic, _ := r.br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(r.br)
		if err != nil {
			return fmt.Errorf("zeek: gzip: %w", err)
		}
		r.br = bufio.NewReaderSize(zr, readBufSize)
	}
	return nil
}

// readLine returns the next line, with its newline if it has one; at the
// end of the stream it returns the last line (if it has no newline) with
// io.EOF. A line over the maximum length is skipped and reported.
func (r *Reader) readLine() ([]byte, error) {
	if !r.started {
		if err := r.start(); err != nil {
			return nil, err
		}
	}
	for {
		b, err := r.br.ReadSlice('\n')
		total := len(b)
		if err == bufio.ErrBufferFull {
			// Longer than the buffer: assemble it in r.long, or only
			// measure it once it is too long.
			r.long = append(r.long[:0], b...)
			n := len(b)
			for err == bufio.ErrBufferFull {
				b, err = r.br.ReadSlice('\n')
				n += len(b)
				if n <= r.maxLine+1 {
					r.long = append(r.long, b...)
				}
			}
			if n > r.maxLine+1 {
				r.long = append(r.long[:0], b...) // only the end, to see the newline
			}
			b, total = r.long, n
		}
		if total == 0 {
			if err == nil {
				continue
			}
			return nil, r.ioErr(err)
		}
		r.lineNo++
		content := total
		if len(b) > 0 && b[len(b)-1] == '\n' {
			content--
		}
		if content > r.maxLine {
			r.p.lines.Add(1)
			r.p.report(r.lineNo, "", ErrTooLong, fmt.Sprintf("longer than %d bytes", r.maxLine))
			if err != nil {
				return nil, r.ioErr(err)
			}
			continue
		}
		if err != nil {
			return b, r.ioErr(err)
		}
		return b, nil
	}
}

func (r *Reader) ioErr(err error) error {
	if err == io.EOF {
		return io.EOF
	}
	return fmt.Errorf("zeek: read after line %d: %w", r.lineNo, err)
}

// Next fills rec with the next conn.log record. It returns io.EOF at the
// end of the stream, or the read error that ended it; bad lines are
// skipped and counted in Stats, never returned.
func (r *Reader) Next(rec *flowsrc.Record) error {
	r.out, r.got = rec, false
	for r.err == nil {
		line, err := r.readLine()
		if len(line) > 0 {
			r.p.Line(line, r.lineNo, r.take)
		}
		if err != nil {
			r.err = err
		}
		if r.got {
			return nil
		}
	}
	return r.err
}

// Run reads the whole stream, calling emit for every record (the *Record
// is only valid during the call; emit may be nil). It returns nil at the
// end of the stream, or the read error that ended it.
func (r *Reader) Run(emit func(*flowsrc.Record)) error {
	for r.err == nil {
		line, err := r.readLine()
		if len(line) > 0 {
			r.p.Line(line, r.lineNo, emit)
		}
		if err != nil {
			r.err = err
		}
	}
	if r.err == io.EOF {
		return nil
	}
	return r.err
}

// ReadFiles reads several Zeek log files (plain or gzip-compressed) so
// that names join across them: the application logs (ssl, http, dns, and
// any file whose first entry is not a conn.log one) first, in the order
// given, then the conn.log files, in the order given, calling emit for
// every record. All files share one Joiner (the one given with
// WithJoiner, or a new one) and the passive-DNS map given with WithPDNS.
// A file's log is told from its first lines (#path, _path or keys);
// every line is still classified on its own when read.
//
// It returns the sum of the files' Stats (LineErrors carry the file
// name). A file that cannot be opened stops it before anything is read;
// a read error stops it with the Stats so far.
func ReadFiles(emit func(*flowsrc.Record), paths []string, opts ...Option) (Stats, error) {
	cfg := newConfig(opts)
	opts = append(opts[:len(opts):len(opts)], WithJoiner(cfg.joiner))
	var apps, conns []string
	for _, name := range paths {
		path, err := filePath(name)
		if err != nil {
			return Stats{}, err
		}
		if path == pathConn {
			conns = append(conns, name)
		} else {
			apps = append(apps, name)
		}
	}
	var total Stats
	for _, name := range append(apps, conns...) {
		st, err := readFile(name, emit, opts)
		for i := range st.Errors {
			st.Errors[i].File = name
		}
		total.add(st, cfg.maxErrors)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func readFile(name string, emit func(*flowsrc.Record), opts []Option) (Stats, error) {
	f, err := os.Open(name)
	if err != nil {
		return Stats{}, fmt.Errorf("zeek: %w", err)
	}
	defer f.Close()
	r := NewReader(f, opts...)
	err = r.Run(emit)
	if err != nil {
		err = fmt.Errorf("zeek: %s: %w", name, err)
	}
	return r.Stats(), err
}

// sniffLen is how much of a file ReadFiles and Sniff look at.
const sniffLen = 64 << 10

// filePath tells the log of a file from its first bytes.
func filePath(name string) (logPath, error) {
	f, err := os.Open(name)
	if err != nil {
		return pathUnknown, fmt.Errorf("zeek: %w", err)
	}
	defer f.Close()
	buf := make([]byte, sniffLen)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && err != io.EOF {
		return pathUnknown, fmt.Errorf("zeek: %s: %w", name, err)
	}
	_, path := sniffPath(buf[:n])
	return path, nil
}

// gunzipPrefix decompresses as much of a gzip stream's prefix as it can,
// up to sniffLen bytes.
func gunzipPrefix(b []byte) []byte {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil
	}
	out := make([]byte, sniffLen)
	n, _ := io.ReadFull(zr, out)
	return out[:n]
}
