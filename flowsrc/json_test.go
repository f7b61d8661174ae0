package flowsrc_test

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
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

// TestZeroPaddingIsNotAFlow: zero padding after the last record of a data
// set, at least one record long, reads as an all-zero record; it is counted
// as padding, never emitted as a 0.0.0.0 → 0.0.0.0 flow (both paths).
func TestZeroPaddingIsNotAFlow(t *testing.T) {
	for _, path := range []flowsrc.DecodePath{flowsrc.PathFast, flowsrc.PathGoflow2} {
		tpl := flowtest.V9Template(256, false)
		now := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
		real := flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("198.51.100.1"), SrcPort: 40000, DstPort: 443, Proto: 6, Bytes: 1000, Packets: 2, Start: now, End: now}
		zero := flowtest.Flow{Src: netip.IPv4Unspecified(), Dst: netip.IPv4Unspecified(), Start: now.Add(-time.Hour), End: now.Add(-time.Hour)}
		dg := flowtest.NewV9(flowtest.V9Header{ExportTime: now, Uptime: 2 * time.Hour}).Template(tpl).Data(tpl, real, zero).Bytes()
		// The zero flow's times are uptime offsets; zero them too so the
		// record is all zero bytes like real padding.
		rec := len(dg) - 38
		for i := rec; i < len(dg); i++ {
			dg[i] = 0
		}
		d := flowsrc.NewDatagramDecoder(flowsrc.WithDecodePath(path))
		var got []flowsrc.Record
		if err := d.Decode(netip.MustParseAddr("192.0.2.5"), now, dg, func(r *flowsrc.Record) { got = append(got, *r) }); err != nil {
			t.Fatalf("%v: %v", path, err)
		}
		if len(got) != 1 || got[0].Src != real.Src || d.Stats().PaddingRecords != 1 {
			t.Errorf("%v: %d records %+v, padding %d", path, len(got), got, d.Stats().PaddingRecords)
		}
	}
}
