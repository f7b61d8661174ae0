package httpguard_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
)

// A JSONLines sink holds alerts until flushed; the Guard flushes it after
// every alert, so each line is out when its request is served.
func TestGuardFlushesJSONLines(t *testing.T) {
	var buf bytes.Buffer
	clock := func() time.Time { return time.Date(2026, 3, 2, 10, 5, 0, 0, time.UTC) }
	g, err := httpguard.New(httpguard.WithSink(exfil.NewJSONLines(&buf)), httpguard.WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	h := g.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 4<<20)) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/export", nil))
	if n := strings.Count(buf.String(), `"stage":"early"`); n != 1 {
		t.Fatalf("%d early alert lines after a 4 MiB download, want 1: %q", n, buf.String())
	}
	g.Flush()
	if n := strings.Count(buf.String(), `"stage":"final"`); n != 1 {
		t.Fatalf("%d final alert lines after Flush, want 1", n)
	}
}
