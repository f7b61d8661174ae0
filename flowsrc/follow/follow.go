package follow

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultPoll is the default interval between two looks at the file.
const DefaultPoll = 250 * time.Millisecond

// DefaultMaxLine is the default limit on a line's length (1 MiB).
const DefaultMaxLine = 1 << 20

// rotateQuietPolls bounds how long a rotated-away file is still read: it is
// left at the first poll that finds nothing new in it, or after this many
// polls (10 s at the default interval) if its writer never stops.
const rotateQuietPolls = 40

// readSize is the size of one read.
const readSize = 64 << 10

// headMax is the most bytes of a file's beginning that a Position
// fingerprints.
const headMax = 1024

// Position is a place in a followed file: the file's identity, the byte
// offset just after the last line delivered, and that line's number (1 for
// the first line of the file; 0 before any). It is a plain value,
// JSON-serialisable; the zero Position means "no position".
type Position struct {
	// Dev and Inode identify the file (device and inode numbers), so that
	// a rotated file is recognised under its new name. Both are 0 on
	// systems without inode numbers.
	Dev   uint64 `json:"dev"`
	Inode uint64 `json:"inode"`
	// Offset is the byte offset just after the last line delivered.
	Offset int64 `json:"offset"`
	// Line is the number of that line in the file.
	Line int64 `json:"line"`
	// Head and HeadHash fingerprint the file's content: the FNV-1a 64 hash
	// of its first Head bytes (up to 1 KiB of the delivered lines). A file
	// with the saved identity but another beginning is another file that
	// got the same inode number (or the file truncated and written again):
	// it is not resumed at Offset. Head 0 checks nothing.
	Head     int64  `json:"head"`
	HeadHash uint64 `json:"head_hash"`
}

// sameFile reports whether p names the file with identity id.
func (p Position) sameFile(id fileID) bool {
	return p.Dev == id.dev && p.Inode == id.ino
}

// fnv1a returns the FNV-1a 64 hash of b.
func fnv1a(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// sameHead reports whether f begins with the bytes p fingerprints, and
// returns them (f's first min(p.Head, headMax) bytes).
func sameHead(f *os.File, p Position) ([]byte, bool) {
	n := min(p.Head, headMax)
	if n <= 0 {
		return nil, true
	}
	b := make([]byte, n)
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, false
	}
	return b, fnv1a(b) == p.HeadHash
}

// EventKind says what happened to the followed file.
type EventKind uint8

// The events of [Options.OnEvent].
const (
	// EventOpened: a file was opened and will be read from Event.Pos
	// (at the start, when the path appears, after a rotation).
	EventOpened EventKind = iota + 1
	// EventRotated: the path names another file; the old one was read to
	// its end (Event.Pos is its end) and is closed.
	EventRotated
	// EventTruncated: the file shrank below the offset already read
	// (copytruncate): it is read again from offset 0, line 0. Lines
	// written and truncated between two polls were never seen.
	EventTruncated
	// EventPartialLine: the file was rotated away or truncated while its
	// last line had no newline; that unterminated line was delivered as it
	// was (Event.Detail gives its length).
	EventPartialLine
	// EventLongLine: a line longer than Options.MaxLine was skipped; it
	// still counts in the line numbers (Event.Pos is just after it).
	EventLongLine
	// EventResumeLost: Options.Start names a file that is neither at the
	// path nor, under another name, in the path's directory (deleted or
	// compressed since): lines written to it after Start.Offset are lost.
	// Following starts at the beginning of the file at the path.
	EventResumeLost
)

// String returns the event kind's name.
func (k EventKind) String() string {
	switch k {
	case EventOpened:
		return "opened"
	case EventRotated:
		return "rotated"
	case EventTruncated:
		return "truncated"
	case EventPartialLine:
		return "partial-line"
	case EventLongLine:
		return "long-line"
	case EventResumeLost:
		return "resume-lost"
	}
	return "event(" + strconv.Itoa(int(k)) + ")"
}

// Event is one thing worth knowing (and logging) that happened while
// following.
type Event struct {
	Kind EventKind
	// File is the name of the file concerned (the path, or the name a
	// rotated file was found under).
	File string
	// Pos is the position concerned (see each kind).
	Pos Position
	// Detail gives particulars, when any.
	Detail string
}

// Options configures Follow. The zero value follows from the beginning of
// the file, polling every 250 ms.
type Options struct {
	// Poll is the interval between two looks at the file (default
	// DefaultPoll).
	Poll time.Duration
	// Start resumes from a position given earlier by OnPosition: the next
	// line delivered is the one after it, nothing repeated. When the file
	// it names has been rotated away, it is looked for under another name
	// in the path's directory, read to its end, and then the file at the
	// path is read from its beginning. nil starts at the beginning of the
	// file (or, with FromEnd, at its end).
	Start *Position
	// FromEnd, without Start, skips the lines already in the file (they
	// are counted, so line numbers stay true), as tail -F does.
	FromEnd bool
	// MaxLine is the longest line delivered (default DefaultMaxLine);
	// longer lines are skipped and reported as EventLongLine.
	MaxLine int
	// OnPosition, when set, is called with the position after every line
	// delivered (after the line callback returned nil), and whenever
	// following moves to another file or back to the start of a truncated
	// one. Keep it cheap (store the value; persist it when the lines
	// before it are committed).
	OnPosition func(Position)
	// OnEvent, when set, is told of openings, rotations, truncations and
	// lines skipped or delivered incomplete.
	OnEvent func(Event)
}

// Follow follows the file at path like tail -F, calling line for every
// complete line, in order, with its number in its file (from 1). line's
// argument excludes the newline and is only valid during the call.
//
// Follow waits for the file to exist, survives rotation by rename (the old
// file is read to its end before the new one is opened), copytruncate
// truncation (the file is read again from its start), and holds a partial
// last line until its newline arrives. It returns ctx.Err() when ctx is
// done, the error line returns (the position is then that of the line
// before, so that resuming delivers that line again), or an error opening,
// reading or stating the file (a missing file is waited for, not an error).
//
// Follow runs in the calling goroutine and starts none; line, OnPosition
// and OnEvent are called from it. line must not be nil (Follow panics).
func Follow(ctx context.Context, path string, opts Options, line func(line []byte, lineNo int64) error) error {
	if line == nil {
		panic("follow: Follow with a nil line function")
	}
	fl := &follower{path: path, opts: opts, line: line, buf: make([]byte, readSize)}
	if fl.opts.Poll <= 0 {
		fl.opts.Poll = DefaultPoll
	}
	if fl.opts.MaxLine <= 0 {
		fl.opts.MaxLine = DefaultMaxLine
	}
	defer fl.close()
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fl.begin(); err != nil {
		return err
	}
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		if err := fl.poll(ctx); err != nil {
			return err
		}
		t.Reset(fl.opts.Poll)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// follower is the state of one Follow call.
type follower struct {
	path string
	opts Options
	line func([]byte, int64) error

	f        *os.File    // the file being read, nil while waiting for it
	name     string      // its name (path, or where a rotated file was found)
	fi       os.FileInfo // its identity at open, for os.SameFile
	id       fileID
	readOff  int64  // bytes consumed from f
	posOff   int64  // offset just after the last line delivered
	lineNo   int64  // number of that line
	pending  []byte // the partial line: bytes posOff..readOff
	skipping bool   // inside a line longer than MaxLine
	silent   bool   // counting lines without delivering them (FromEnd)
	rotated  int    // polls since the path was seen to name another file (0: not rotated)
	head     []byte // the file's first bytes (up to headMax), for Position.HeadHash
	headN    int    // the length of head that headHash covers
	headHash uint64
	buf      []byte
}

func (fl *follower) close() {
	if fl.f != nil {
		fl.f.Close()
		fl.f = nil
	}
}

func (fl *follower) pos() Position {
	n := int(min(fl.posOff, int64(len(fl.head))))
	if n != fl.headN {
		fl.headN, fl.headHash = n, fnv1a(fl.head[:n])
	}
	p := Position{Dev: fl.id.dev, Inode: fl.id.ino, Offset: fl.posOff, Line: fl.lineNo}
	if n > 0 {
		p.Head, p.HeadHash = int64(n), fl.headHash
	}
	return p
}

func (fl *follower) event(k EventKind, detail string) {
	if fl.opts.OnEvent != nil {
		fl.opts.OnEvent(Event{Kind: k, File: fl.name, Pos: fl.pos(), Detail: detail})
	}
}

func (fl *follower) position() {
	if fl.opts.OnPosition != nil && !fl.silent {
		fl.opts.OnPosition(fl.pos())
	}
}

// begin opens the file to start with: Start's file (at the path or, if
// rotated away, in its directory), or the path's file at its beginning or
// end. A missing file is waited for by poll.
func (fl *follower) begin() error {
	start := fl.opts.Start
	if start == nil {
		f, err := openFile(fl.path)
		if err != nil || f == nil {
			return err
		}
		if err := fl.attach(f, fl.path, 0, 0, nil); err != nil {
			return err
		}
		if fl.opts.FromEnd {
			// Count the lines already there without delivering them.
			fl.silent = true
			_, err := fl.drain(context.Background())
			fl.silent = false
			if err != nil {
				return err
			}
			fl.position()
		}
		return nil
	}

	f, err := openFile(fl.path)
	if err != nil {
		return err
	}
	if f != nil {
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return fmt.Errorf("follow: %w", err)
		}
		id := identity(fi)
		if id.zero() || start.sameFile(id) {
			if fi.Size() < start.Offset {
				// Truncated while we were away.
				err := fl.attach(f, fl.path, 0, 0, nil)
				fl.event(EventTruncated, "size "+strconv.FormatInt(fi.Size(), 10)+" below the saved offset "+strconv.FormatInt(start.Offset, 10))
				return err
			}
			if head, ok := sameHead(f, *start); ok {
				return fl.attach(f, fl.path, start.Offset, start.Line, head)
			}
			// Same identity, another beginning: a new file that got the
			// old inode number, or the file truncated and rewritten.
			if fl.opts.OnEvent != nil {
				fl.opts.OnEvent(Event{Kind: EventResumeLost, File: fl.path, Pos: *start, Detail: "the file at the path has the saved identity but not the saved beginning"})
			}
			return fl.attach(f, fl.path, 0, 0, nil)
		}
	}

	// The path names another file, or none: the saved one was rotated
	// away. Look for it in the directory.
	if old, name, head := findFile(filepath.Dir(fl.path), *start); old != nil {
		if f != nil {
			f.Close()
		}
		return fl.attach(old, name, start.Offset, start.Line, head)
	}
	lost := Event{Kind: EventResumeLost, File: fl.path, Pos: *start, Detail: "the saved file is gone"}
	if fl.opts.OnEvent != nil {
		fl.opts.OnEvent(lost)
	}
	if f == nil {
		return nil
	}
	return fl.attach(f, fl.path, 0, 0, nil)
}

// openFile opens path for reading; a missing file is (nil, nil).
func openFile(path string) (*os.File, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("follow: %w", err)
	}
	return f, nil
}

// findFile looks in dir for a regular file with the identity and the
// beginning of p, at least p.Offset bytes long, and opens it. It returns
// the file, its name and its first bytes.
func findFile(dir string, p Position) (*os.File, string, []byte) {
	if p.Dev == 0 && p.Inode == 0 {
		return nil, "", nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, "", nil
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := filepath.Join(dir, e.Name())
		fi, err := os.Stat(name)
		if err != nil || !p.sameFile(identity(fi)) || fi.Size() < p.Offset {
			continue
		}
		f, err := os.Open(name)
		if err != nil {
			continue
		}
		// The name must still refer to the file stated, with the saved
		// beginning.
		ofi, err := f.Stat()
		head, ok := sameHead(f, p)
		if err != nil || !os.SameFile(fi, ofi) || !ok {
			f.Close()
			continue
		}
		return f, name, head
	}
	return nil, "", nil
}

// attach makes f (named name) the file being read, from offset off whose
// previous line is number lineNo. head holds the file's first bytes when
// they were read already.
func (fl *follower) attach(f *os.File, name string, off, lineNo int64, head []byte) error {
	fi, err := f.Stat()
	if err == nil && off > 0 {
		if int64(len(head)) < min(off, headMax) {
			head = make([]byte, min(off, headMax))
			_, err = f.ReadAt(head, 0)
		}
		if err == nil {
			_, err = f.Seek(off, io.SeekStart)
		}
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("follow: %w", err)
	}
	fl.close()
	fl.f, fl.name, fl.fi, fl.id = f, name, fi, identity(fi)
	fl.readOff, fl.posOff, fl.lineNo = off, off, lineNo
	fl.head, fl.headN = append(fl.head[:0], head[:min(int64(len(head)), off, headMax)]...), -1
	fl.pending, fl.skipping, fl.rotated = fl.pending[:0], false, 0
	fl.event(EventOpened, "")
	fl.position()
	return nil
}

// poll reads what is new and checks the path for rotation and
// truncation.
func (fl *follower) poll(ctx context.Context) error {
	if fl.f == nil {
		f, err := openFile(fl.path)
		if err != nil || f == nil {
			return err
		}
		if err := fl.attach(f, fl.path, 0, 0, nil); err != nil {
			return err
		}
	}
	n, err := fl.drain(ctx)
	if err != nil {
		return err
	}
	st, err := os.Stat(fl.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// Renamed away or deleted, and not created again yet: writers may
		// still append to the file we hold.
		return nil
	case err != nil:
		return fmt.Errorf("follow: %w", err)
	case !os.SameFile(fl.fi, st):
		// The path names a new file. Keep reading the old one until a
		// poll finds nothing new in it, then switch.
		fl.rotated++
		if fl.rotated == 1 || n > 0 && fl.rotated <= rotateQuietPolls {
			return nil
		}
		if err := fl.flushPartial(); err != nil {
			return err
		}
		fl.event(EventRotated, "")
		f, err := openFile(fl.path)
		if err != nil {
			return err
		}
		fl.close()
		if f == nil {
			return nil // gone again: wait for it
		}
		if err := fl.attach(f, fl.path, 0, 0, nil); err != nil {
			return err
		}
		_, err = fl.drain(ctx)
		return err
	}
	fi, err := fl.f.Stat()
	if err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	if fi.Size() >= fl.readOff {
		fl.rotated = 0
		return nil
	}
	// Truncated (copytruncate): start again from the beginning.
	if err := fl.flushPartial(); err != nil {
		return err
	}
	size := fi.Size()
	fl.event(EventTruncated, "size "+strconv.FormatInt(size, 10)+" below the offset read "+strconv.FormatInt(fl.readOff, 10))
	if _, err := fl.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("follow: %w", err)
	}
	fl.readOff, fl.posOff, fl.lineNo = 0, 0, 0
	fl.pending, fl.skipping = fl.pending[:0], false
	fl.head, fl.headN = fl.head[:0], -1
	fl.position()
	_, err = fl.drain(ctx)
	return err
}

// drain reads f to its current end, delivering the complete lines, and
// returns the number of bytes read.
func (fl *follower) drain(ctx context.Context) (int64, error) {
	var total int64
	for {
		if err := ctx.Err(); err != nil {
			return total, err
		}
		n, err := fl.f.Read(fl.buf)
		if n > 0 {
			total += int64(n)
			if err := fl.take(fl.buf[:n]); err != nil {
				return total, err
			}
		}
		if err == io.EOF || n == 0 && err == nil {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("follow: %w", err)
		}
	}
}

// take handles chunk, the bytes read after readOff: it keeps the file's
// first bytes for the fingerprint and delivers the lines.
func (fl *follower) take(chunk []byte) error {
	if fl.readOff < headMax {
		fl.head = append(fl.head, chunk[:min(int64(len(chunk)), headMax-fl.readOff)]...)
	}
	return fl.lines(chunk)
}

// lines splits chunk, the bytes read after readOff, into lines.
func (fl *follower) lines(chunk []byte) error {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		if i < 0 {
			fl.readOff += int64(len(chunk))
			if fl.skipping {
				return nil
			}
			if len(fl.pending)+len(chunk) > fl.opts.MaxLine {
				fl.skipping, fl.pending = true, fl.pending[:0]
				return nil
			}
			fl.pending = append(fl.pending, chunk...)
			return nil
		}
		seg := chunk[:i]
		chunk = chunk[i+1:]
		fl.readOff += int64(i + 1)
		if fl.skipping || len(fl.pending)+len(seg) > fl.opts.MaxLine {
			fl.skipping, fl.pending = false, fl.pending[:0]
			fl.lineNo++
			fl.posOff = fl.readOff
			if !fl.silent {
				fl.event(EventLongLine, "line "+strconv.FormatInt(fl.lineNo, 10)+" longer than "+strconv.Itoa(fl.opts.MaxLine)+" bytes skipped")
			}
			fl.position()
			continue
		}
		ln := seg
		if len(fl.pending) > 0 {
			fl.pending = append(fl.pending, seg...)
			ln = fl.pending
		}
		if err := fl.deliver(ln, fl.readOff); err != nil {
			return err
		}
		fl.pending = fl.pending[:0]
	}
	return nil
}

// deliver hands one line ending at offset end to the callback.
func (fl *follower) deliver(ln []byte, end int64) error {
	if !fl.silent {
		if err := fl.line(ln, fl.lineNo+1); err != nil {
			return err
		}
	}
	fl.lineNo++
	fl.posOff = end
	fl.position()
	return nil
}

// flushPartial delivers the unterminated last line of a file that ends
// for good (rotated away or truncated) and returns the callback's error.
func (fl *follower) flushPartial() error {
	if fl.skipping {
		fl.skipping = false
		fl.lineNo++
		fl.posOff = fl.readOff
		fl.event(EventLongLine, "unterminated line "+strconv.FormatInt(fl.lineNo, 10)+" longer than "+strconv.Itoa(fl.opts.MaxLine)+" bytes skipped")
		fl.position()
		return nil
	}
	if len(fl.pending) == 0 {
		return nil
	}
	n := len(fl.pending)
	if err := fl.deliver(fl.pending, fl.readOff); err != nil {
		return err
	}
	fl.pending = fl.pending[:0]
	fl.event(EventPartialLine, "unterminated line of "+strconv.Itoa(n)+" bytes delivered")
	return nil
}
