package exfil_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/severity"
)

// writeLog records every Write as one string; it fails from write
// number failAt on (0: never).
type writeLog struct {
	writes []string
	failAt int
}

var errDiskFull = errors.New("disk full")

func (w *writeLog) Write(p []byte) (int, error) {
	if w.failAt > 0 && len(w.writes)+1 >= w.failAt {
		w.writes = append(w.writes, "")
		return 0, errDiskFull
	}
	w.writes = append(w.writes, string(p))
	return len(p), nil
}

// lines parses every write as whole JSON lines and returns their
// alert_ids in order.
func (w *writeLog) lines(t *testing.T) []string {
	t.Helper()
	var ids []string
	for i, s := range w.writes {
		if !strings.HasSuffix(s, "\n") {
			t.Fatalf("write %d does not end a line", i)
		}
		for l := range strings.Lines(s) {
			var m struct {
				AlertID string `json:"alert_id"`
			}
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("write %d: %v in %q", i, err, l)
			}
			ids = append(ids, m.AlertID)
		}
	}
	return ids
}

func testAlert(i int) *exfil.Alert {
	return &exfil.Alert{
		AlertID:   fmt.Sprintf("a%06d", i),
		AlertType: exfil.AlertType,
		Severity:  severity.Low,
		SrcIP:     netip.MustParseAddr("10.0.0.5"),
		DestIP:    netip.MustParseAddr("198.51.100.7"),
		Reasons:   []string{"low: ratio >= 2:1 and upload >= 1 MB"},
	}
}

func TestJSONLinesHoldsAlertsUntilFlush(t *testing.T) {
	var w writeLog
	s := exfil.NewJSONLines(&w)
	for i := range 3 {
		s.Alert(testAlert(i))
	}
	if len(w.writes) != 0 || s.Count() != 0 {
		t.Fatalf("%d writes, count %d before Flush", len(w.writes), s.Count())
	}
	s.Flush()
	if got := w.lines(t); len(w.writes) != 1 || strings.Join(got, ",") != "a000000,a000001,a000002" || s.Count() != 3 {
		t.Fatalf("after Flush: %d writes, lines %v, count %d", len(w.writes), got, s.Count())
	}
	s.Flush()
	if len(w.writes) != 1 {
		t.Errorf("an empty Flush wrote")
	}
}

func TestJSONLinesWritesWhenFull(t *testing.T) {
	var w writeLog
	s := exfil.NewJSONLines(&w)
	const n = 5000 // some 1.5 MB of lines
	for i := range n {
		s.Alert(testAlert(i))
	}
	held := len(w.writes)
	if held < 10 {
		t.Fatalf("%d writes for %d alerts without Flush: the buffer is not bounded", held, n)
	}
	for i, wr := range w.writes {
		if len(wr) < 64<<10 || len(wr) > 64<<10+1024 {
			t.Errorf("write %d is %d bytes, want 64 KiB and at most one line more", i, len(wr))
		}
	}
	s.Flush()
	ids := w.lines(t)
	if len(ids) != n || s.Count() != n {
		t.Fatalf("%d lines, count %d, want %d", len(ids), s.Count(), n)
	}
	for i, id := range ids {
		if id != fmt.Sprintf("a%06d", i) {
			t.Fatalf("line %d is %s", i, id)
		}
	}
}

func TestJSONLinesWriteError(t *testing.T) {
	w := writeLog{failAt: 2}
	s := exfil.NewJSONLines(&w)
	s.Alert(testAlert(0))
	s.Flush() // written
	s.Alert(testAlert(1))
	s.Flush() // fails
	s.Alert(testAlert(2))
	s.Flush()
	if !errors.Is(s.Err(), errDiskFull) || s.Count() != 1 || len(w.writes) != 2 {
		t.Errorf("err %v, count %d, %d writes; want disk full, 1, 2", s.Err(), s.Count(), len(w.writes))
	}
}

// The Detector flushes its sink after an early alert and after a closed
// window's alerts, so a JSONLines sink never holds one.
func TestDetectorFlushesJSONLines(t *testing.T) {
	var buf bytes.Buffer
	d, err := exfil.New(exfil.WithSink(exfil.NewJSONLines(&buf)), exfil.WithEarlyAlerts(true))
	if err != nil {
		t.Fatal(err)
	}
	conv(d, "10.0.0.5", 50000, "198.51.100.7", 443, 2*mb, 10, t0)
	if n := strings.Count(buf.String(), `"stage":"early"`); n != 1 {
		t.Fatalf("%d early alert lines written at once, want 1: %q", n, buf.String())
	}
	d.Flush()
	if n := strings.Count(buf.String(), `"stage":"final"`); n != 1 {
		t.Fatalf("%d final alert lines written at window close, want 1", n)
	}
}
