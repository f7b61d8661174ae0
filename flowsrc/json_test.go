package flowsrc_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
)

func TestRecordJSON(t *testing.T) {
	r := flowsrc.Record{
		Start: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC), End: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC),
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("2001:db8::1"), // mixed: no community id
		SrcPort: 1, DstPort: 2, Proto: 6, BytesToServer: 10, SamplingRate: 1,
		SNI: "a\"b\\c\u2028", Exporter: netip.MustParseAddr("192.0.2.1"),
	}
	b := r.AppendJSON(nil, 0)
	if !json.Valid(b) {
		t.Fatalf("invalid JSON: %s", b)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["sni"] != r.SNI || m["start"] != "2026-01-02T03:04:05.000000006Z" || m["community_id"] != "" || m["dest_ip"] != "2001:db8::1" {
		t.Errorf("decoded %v", m)
	}
	// A real tuple: the TCP vector of the Community ID specification.
	r = flowsrc.Record{End: r.End, Src: netip.MustParseAddr("128.232.110.120"), Dst: netip.MustParseAddr("66.35.250.204"), SrcPort: 34855, DstPort: 80, Proto: 6}
	if got := r.CommunityID(0); got != "1:LQU9qZlK+B5F3KDmev6m5PMibrg=" {
		t.Errorf("community id %s", got)
	}
	var buf bytes.Buffer
	w := flowsrc.NewRecordWriter(&buf, 0)
	for range 3 {
		if err := w.Write(&r); err != nil {
			t.Fatal(err)
		}
	}
	if w.Count() != 3 || bytes.Count(buf.Bytes(), []byte("\n")) != 3 {
		t.Errorf("writer wrote %d lines", w.Count())
	}
}
