package exfil

import (
	"io"
	"sync"
)

// Sink receives alerts. The Detector calls Alert from the goroutine that
// closed a window, one call at a time; the *Alert is the sink's to keep.
type Sink interface {
	Alert(a *Alert)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(a *Alert)

// Alert calls f(a).
func (f SinkFunc) Alert(a *Alert) { f(a) }

// ChanSink returns a Sink that sends each alert on ch (blocking when ch is
// full).
func ChanSink(ch chan<- *Alert) Sink { return SinkFunc(func(a *Alert) { ch <- a }) }

// A Flusher is a Sink that may hold alerts back to write them together.
// The Detector calls Flush after the alerts of each closed window and
// after each early alert, and httpguard.Guard after each alert, so a sink
// that buffers never holds an alert past the batch it belongs to: a window
// of a million keys is written in a few large writes instead of one system
// call per alert, and an early alert still leaves at once. Flush is called
// under the same lock as Alert.
type Flusher interface {
	Sink
	Flush()
}

// flushAt is how many bytes of alerts JSONLines holds before it writes
// them, between two Flush calls.
const flushAt = 64 << 10

// JSONLines is a Flusher writing one JSON object per line. It writes its
// alerts when it holds 64 KiB of them and when flushed: the Detector and
// httpguard.Guard flush it after every batch of alerts, and a program that
// calls Alert itself must call Flush. Safe for concurrent use.
type JSONLines struct {
	mu   sync.Mutex
	w    io.Writer
	buf  []byte
	n    uint64 // alerts written
	held uint64 // alerts in buf
	err  error
}

// NewJSONLines returns a sink writing to w.
// Strings are written as they are (no HTML escaping of <, > and &, which
// alert reasons use).
// The encoding is Alert.AppendJSON's: encoding/json's bytes, without
// reflection.
func NewJSONLines(w io.Writer) *JSONLines {
	return &JSONLines{w: w}
}

// Alert adds a as one line, written at the next Flush or when 64 KiB of
// lines are held. After the first write or encoding error every later
// alert is dropped; Err reports it.
func (s *JSONLines) Alert(a *Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	b, err := a.AppendJSON(s.buf)
	if err != nil {
		s.write()
		if s.err == nil {
			s.err = err
		}
		return
	}
	s.buf = append(b, '\n')
	s.held++
	if len(s.buf) >= flushAt {
		s.write()
	}
}

// Flush writes the alerts held.
func (s *JSONLines) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.write()
}

func (s *JSONLines) write() {
	if s.err != nil || len(s.buf) == 0 {
		return
	}
	_, err := s.w.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		s.err = err
		s.held = 0
		return
	}
	s.n += s.held
	s.held = 0
}

// Count returns the number of alerts written.
func (s *JSONLines) Count() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// Err returns the first write or encoding error, if any.
func (s *JSONLines) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
