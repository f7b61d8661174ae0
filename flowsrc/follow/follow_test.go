package follow_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/follow"
)

// poll is the test poll interval: a few ms keeps the tests fast.
const poll = 2 * time.Millisecond

// waitFor is how long a test waits for lines before failing.
const waitFor = 5 * time.Second

// got is one delivered line.
type got struct {
	text string
	n    int64
}

func (g got) String() string { return fmt.Sprintf("%d:%q", g.n, g.text) }

// follower runs Follow in a goroutine and records what it delivers.
type follower struct {
	mu     sync.Mutex
	lines  []got
	pos    follow.Position
	events []follow.Event
	cancel context.CancelFunc
	done   chan error
	stopAt int64 // the line callback fails on this line (of any file) when > 0
}

var errStop = errors.New("stop here")

func startFollow(t *testing.T, path string, opts follow.Options, stopAt int64) *follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	fw := &follower{cancel: cancel, done: make(chan error, 1), stopAt: stopAt}
	if opts.Poll == 0 {
		opts.Poll = poll
	}
	opts.OnPosition = func(p follow.Position) {
		fw.mu.Lock()
		fw.pos = p
		fw.mu.Unlock()
	}
	opts.OnEvent = func(e follow.Event) {
		fw.mu.Lock()
		fw.events = append(fw.events, e)
		fw.mu.Unlock()
	}
	go func() {
		fw.done <- follow.Follow(ctx, path, opts, func(line []byte, n int64) error {
			fw.mu.Lock()
			defer fw.mu.Unlock()
			if fw.stopAt > 0 && int64(len(fw.lines)) == fw.stopAt-1 {
				return errStop
			}
			fw.lines = append(fw.lines, got{string(line), n})
			return nil
		})
	}()
	t.Cleanup(func() { fw.stop() })
	return fw
}

// stop cancels Follow and returns its error.
func (fw *follower) stop() error {
	fw.cancel()
	err, ok := <-fw.done
	if !ok {
		return nil
	}
	close(fw.done)
	return err
}

// wait waits until n lines were delivered and returns them.
func (fw *follower) wait(t *testing.T, n int) []got {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		fw.mu.Lock()
		l := slices.Clone(fw.lines)
		fw.mu.Unlock()
		if len(l) >= n {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v, %d lines of %d: %v", waitFor, len(l), n, l)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle lets Follow poll a few more times and returns all lines.
func (fw *follower) settle() []got {
	time.Sleep(20 * poll)
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return slices.Clone(fw.lines)
}

func (fw *follower) position() follow.Position {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.pos
}

func (fw *follower) eventKinds() []follow.EventKind {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	var k []follow.EventKind
	for _, e := range fw.events {
		k = append(k, e.Kind)
	}
	return k
}

// expect checks that the lines are exactly want: nothing lost, nothing
// repeated, in order, with their numbers.
func expect(t *testing.T, lines []got, want ...got) {
	t.Helper()
	if !slices.Equal(lines, want) {
		t.Fatalf("lines\n got %v\nwant %v", lines, want)
	}
}

// numbered returns lines prefix+i for i in [from, to], numbered from n0.
func numbered(prefix string, from, to int, n0 int64) []got {
	var g []got
	for i := from; i <= to; i++ {
		g = append(g, got{fmt.Sprintf("%s%d", prefix, i), n0 + int64(i-from)})
	}
	return g
}

// text returns lines prefix+i for i in [from, to], each with its newline.
func text(prefix string, from, to int) string {
	var b strings.Builder
	for i := from; i <= to; i++ {
		fmt.Fprintf(&b, "%s%d\n", prefix, i)
	}
	return b.String()
}

func appendFile(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, f *os.File, s string) {
	t.Helper()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func size(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestAppend(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	appendFile(t, path, text("line", 1, 3))
	fw := startFollow(t, path, follow.Options{}, 0)
	fw.wait(t, 3)
	for i := 4; i <= 40; i++ {
		appendFile(t, path, text("line", i, i))
		if i%7 == 0 {
			time.Sleep(poll)
		}
	}
	fw.wait(t, 40)
	expect(t, fw.settle(), numbered("line", 1, 40, 1)...)
	if p := fw.position(); p.Offset != size(t, path) || p.Line != 40 || p.Inode == 0 {
		t.Errorf("position %+v, want offset %d line 40", p, size(t, path))
	}
	if err := fw.stop(); !errors.Is(err, context.Canceled) {
		t.Errorf("Follow returned %v, want context.Canceled", err)
	}
}

func TestPartialLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "conn.log")
	appendFile(t, path, "first\nab")
	fw := startFollow(t, path, follow.Options{}, 0)
	fw.wait(t, 1)
	appendFile(t, path, "c")
	if l := fw.settle(); len(l) != 1 {
		t.Fatalf("a partial line was delivered: %v", l)
	}
	if p := fw.position(); p.Offset != 6 || p.Line != 1 {
		t.Errorf("position %+v: the partial line must not be in it", p)
	}
	appendFile(t, path, "def\ng")
	fw.wait(t, 2)
	appendFile(t, path, "h\n")
	fw.wait(t, 3)
	expect(t, fw.settle(), got{"first", 1}, got{"abcdef", 2}, got{"gh", 3})
}

func TestRotateRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	w, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	write(t, w, text("old", 1, 5))
	fw := startFollow(t, path, follow.Options{}, 0)
	fw.wait(t, 5)

	// logrotate renames; the writer still holds the old file and writes
	// more lines (and a last one without newline) before it reopens.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	write(t, w, text("old", 6, 8))
	time.Sleep(5 * poll) // Follow sees the path missing and keeps reading
	write(t, w, "old9-unterminated")
	appendFile(t, path, text("new", 1, 4))

	want := append(numbered("old", 1, 8, 1), got{"old9-unterminated", 9})
	want = append(want, numbered("new", 1, 4, 1)...)
	fw.wait(t, len(want))
	expect(t, fw.settle(), want...)
	k := fw.eventKinds()
	if !slices.Contains(k, follow.EventRotated) || !slices.Contains(k, follow.EventPartialLine) {
		t.Errorf("events %v, want rotated and partial-line", k)
	}
	if p := fw.position(); p.Line != 4 || p.Offset != size(t, path) {
		t.Errorf("position %+v, want the new file's line 4", p)
	}

	// A second rotation, with the new file created before the old one's
	// last lines are read.
	if err := os.Rename(path, path+".2"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path+".2", text("new", 5, 6))
	appendFile(t, path, text("newer", 1, 2))
	want = append(want, numbered("new", 5, 6, 5)...)
	want = append(want, numbered("newer", 1, 2, 1)...)
	fw.wait(t, len(want))
	expect(t, fw.settle(), want...)
}

func TestCopyTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	appendFile(t, path, text("before", 1, 5))
	fw := startFollow(t, path, follow.Options{}, 0)
	fw.wait(t, 5)
	// copytruncate: copy (not our business), truncate in place, the writer
	// goes on at the start of the file.
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, text("after", 1, 2))
	want := append(numbered("before", 1, 5, 1), numbered("after", 1, 2, 1)...)
	fw.wait(t, len(want))
	expect(t, fw.settle(), want...)
	if k := fw.eventKinds(); !slices.Contains(k, follow.EventTruncated) {
		t.Errorf("events %v, want truncated", k)
	}
	if p := fw.position(); p.Line != 2 || p.Offset != size(t, path) {
		t.Errorf("position %+v", p)
	}
}

func TestMissingFileAppears(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "later.log")
	fw := startFollow(t, path, follow.Options{}, 0)
	if l := fw.settle(); len(l) != 0 {
		t.Fatalf("lines from a missing file: %v", l)
	}
	appendFile(t, path, text("l", 1, 3))
	fw.wait(t, 3)
	expect(t, fw.settle(), numbered("l", 1, 3, 1)...)
	// Removed and created again: the new file from its start.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * poll)
	appendFile(t, path, text("m", 1, 2))
	fw.wait(t, 5)
	expect(t, fw.settle(), append(numbered("l", 1, 3, 1), numbered("m", 1, 2, 1)...)...)
}

// resume follows path until the line callback fails on line stopAt of the
// run (so that line is not delivered) and returns the lines and the last
// position.
func resume(t *testing.T, path string, start *follow.Position, stopAt int64, n int) ([]got, follow.Position) {
	t.Helper()
	fw := startFollow(t, path, follow.Options{Start: start}, stopAt)
	var err error
	select {
	case err = <-fw.done:
		close(fw.done)
	case <-time.After(waitFor):
		t.Fatalf("Follow did not stop at line %d", stopAt)
	}
	if !errors.Is(err, errStop) {
		t.Fatalf("Follow returned %v, want the callback's error", err)
	}
	l := fw.settle()
	if len(l) != n {
		t.Fatalf("%d lines, want %d: %v", len(l), n, l)
	}
	return l, fw.position()
}

func TestResume(t *testing.T) {
	// Short lines, and lines long enough for the fingerprint to cover its
	// full 1 KiB before the saved offset.
	for _, prefix := range []string{"line", strings.Repeat("p", 300) + "-"} {
		t.Run(fmt.Sprintf("%d-byte lines", len(prefix)+2), func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "eve.json")
			appendFile(t, path, text(prefix, 1, 10))

			// First run: the callback fails on line 6, so 1-5 are
			// delivered and the position is after line 5.
			l, pos := resume(t, path, nil, 6, 5)
			expect(t, l, numbered(prefix, 1, 5, 1)...)
			if pos.Line != 5 || pos.Offset != int64(len(text(prefix, 1, 5))) || pos.Head != min(pos.Offset, 1024) {
				t.Fatalf("position %+v after line 5", pos)
			}
			// The position goes through JSON.
			b, err := json.Marshal(pos)
			if err != nil {
				t.Fatal(err)
			}
			var saved follow.Position
			if err := json.Unmarshal(b, &saved); err != nil || saved != pos {
				t.Fatalf("JSON round trip: %s -> %+v, %v", b, saved, err)
			}

			appendFile(t, path, text(prefix, 11, 12))
			fw := startFollow(t, path, follow.Options{Start: &saved}, 0)
			fw.wait(t, 7)
			expect(t, fw.settle(), numbered(prefix, 6, 12, 6)...)
			if p := fw.position(); p.Head != min(p.Offset, 1024) || p.Head != 1024 && len(prefix) > 100 {
				t.Errorf("position %+v", p)
			}
		})
	}
}

func TestResumeAfterRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	appendFile(t, path, text("old", 1, 8))
	_, pos := resume(t, path, nil, 4, 3)

	// While stopped: the old file gets more lines and is rotated; a new
	// file starts.
	appendFile(t, path, text("old", 9, 10))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, text("new", 1, 3))

	fw := startFollow(t, path, follow.Options{Start: &pos}, 0)
	want := append(numbered("old", 4, 10, 4), numbered("new", 1, 3, 1)...)
	fw.wait(t, len(want))
	expect(t, fw.settle(), want...)
	fw.mu.Lock()
	first := fw.events[0]
	fw.mu.Unlock()
	if first.Kind != follow.EventOpened || first.File != path+".1" || first.Pos != pos {
		t.Errorf("first event %+v, want the rotated file opened at the saved position", first)
	}
}

func TestResumeLost(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eve.json")
	appendFile(t, path, text("old", 1, 5))
	_, pos := resume(t, path, nil, 3, 2)
	// Rotated and deleted (compressed) while stopped.
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path + ".1"); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, text("new", 1, 2))
	fw := startFollow(t, path, follow.Options{Start: &pos}, 0)
	fw.wait(t, 2)
	expect(t, fw.settle(), numbered("new", 1, 2, 1)...)
	if k := fw.eventKinds(); len(k) == 0 || k[0] != follow.EventResumeLost {
		t.Errorf("events %v, want resume-lost first", k)
	}
}

func TestResumeTruncatedWhileStopped(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	appendFile(t, path, text("before", 1, 5))
	_, pos := resume(t, path, nil, 5, 4)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, text("after", 1, 2))
	fw := startFollow(t, path, follow.Options{Start: &pos}, 0)
	fw.wait(t, 2)
	expect(t, fw.settle(), numbered("after", 1, 2, 1)...)
	if k := fw.eventKinds(); !slices.Contains(k, follow.EventTruncated) {
		t.Errorf("events %v, want truncated", k)
	}
}

func TestResumeRewrittenWhileStopped(t *testing.T) {
	// Truncated and written again, longer, while stopped: the saved
	// offset is inside other content. The fingerprint of the file's
	// beginning tells, and the file is read from its start.
	path := filepath.Join(t.TempDir(), "eve.json")
	appendFile(t, path, text("before", 1, 3))
	_, pos := resume(t, path, nil, 3, 2)
	if pos.Head != pos.Offset || pos.HeadHash == 0 {
		t.Fatalf("position %+v: no fingerprint of the first %d bytes", pos, pos.Offset)
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	appendFile(t, path, text("rewritten", 1, 4))
	fw := startFollow(t, path, follow.Options{Start: &pos}, 0)
	fw.wait(t, 4)
	expect(t, fw.settle(), numbered("rewritten", 1, 4, 1)...)
	if k := fw.eventKinds(); len(k) == 0 || k[0] != follow.EventResumeLost {
		t.Errorf("events %v, want resume-lost first", k)
	}
}

func TestFromEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	appendFile(t, path, text("old", 1, 3)+"pa")
	fw := startFollow(t, path, follow.Options{FromEnd: true}, 0)
	if l := fw.settle(); len(l) != 0 {
		t.Fatalf("FromEnd delivered existing lines: %v", l)
	}
	if p := fw.position(); p.Line != 3 || p.Offset != int64(len(text("old", 1, 3))) {
		t.Errorf("position %+v, want after line 3", p)
	}
	appendFile(t, path, "rt\nnext\n")
	fw.wait(t, 2)
	expect(t, fw.settle(), got{"part", 4}, got{"next", 5})
}

func TestLongLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "eve.json")
	long := strings.Repeat("x", 100)
	appendFile(t, path, "short\n"+long[:40])
	fw := startFollow(t, path, follow.Options{MaxLine: 16}, 0)
	fw.wait(t, 1)
	appendFile(t, path, long[40:]+"\n"+strings.Repeat("y", 16)+"\n"+strings.Repeat("z", 17)+"\nafter\n")
	fw.wait(t, 3)
	expect(t, fw.settle(), got{"short", 1}, got{strings.Repeat("y", 16), 3}, got{"after", 5})
	n := 0
	for _, k := range fw.eventKinds() {
		if k == follow.EventLongLine {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d long-line events, want 2", n)
	}
	if p := fw.position(); p.Line != 5 || p.Offset != size(t, path) {
		t.Errorf("position %+v", p)
	}
}

func TestContextCancel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "never")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- follow.Follow(ctx, path, follow.Options{Poll: time.Hour}, func([]byte, int64) error { return nil })
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Follow returned %v, want context.Canceled", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Follow did not stop when its context was cancelled")
	}
	// Already cancelled: returns at once.
	if err := follow.Follow(ctx, path, follow.Options{}, func([]byte, int64) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("Follow with a done context returned %v", err)
	}
}

func TestNotAFile(t *testing.T) {
	err := follow.Follow(context.Background(), t.TempDir(), follow.Options{Poll: poll}, func([]byte, int64) error { return nil })
	if err == nil || !strings.HasPrefix(err.Error(), "follow: ") {
		t.Errorf("following a directory: %v, want a follow: error", err)
	}
}
