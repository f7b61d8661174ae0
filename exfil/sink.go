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

// JSONLines is a Sink writing one JSON object per line. Safe for concurrent
// use.
type JSONLines struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	n   uint64
	err error
}

// NewJSONLines returns a sink writing to w.
// Strings are written as they are (no HTML escaping of <, > and &, which
// alert reasons use).
// The encoding is Alert.AppendJSON's: encoding/json's bytes, without
// reflection.
func NewJSONLines(w io.Writer) *JSONLines {
	return &JSONLines{w: w}
}

// Alert writes a as one line. After the first write error every later alert
// is dropped; Err reports it.
func (s *JSONLines) Alert(a *Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return
	}
	b, err := a.AppendJSON(s.buf[:0])
	if err != nil {
		s.err = err
		return
	}
	s.buf = append(b, '\n')
	if _, err := s.w.Write(s.buf); err != nil {
		s.err = err
		return
	}
	s.n++
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
