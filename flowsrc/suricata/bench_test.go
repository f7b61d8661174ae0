package suricata

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// benchLines runs lines through a Parser in a loop and reports lines/s.
func benchLines(b *testing.B, lines [][]byte) {
	var size int
	for _, l := range lines {
		size += len(l)
	}
	p := NewParser()
	emit := func(*flowsrc.Record) {}
	b.SetBytes(int64(size / len(lines)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = p.Line(lines[i%len(lines)], int64(i), emit)
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
	if st := p.Stats(); st.Malformed != 0 {
		b.Fatalf("malformed lines: %+v", st.MalformedLines)
	}
}

// BenchmarkParseFlow parses Suricata 7 flow events (~700 bytes each).
func BenchmarkParseFlow(b *testing.B) {
	lines := make([][]byte, 4096)
	for i := range lines {
		lines[i] = genFlow(i, "tls")
	}
	benchLines(b, lines)
}

// BenchmarkParseMixed parses a sensor-like mix: per flow its dns, tls or
// http events, the flow event, two netflow events, and alert/stats lines.
func BenchmarkParseMixed(b *testing.B) {
	benchLines(b, genMixed(8192))
}

// BenchmarkReader reads a mixed EVE stream from memory through a Reader,
// line splitting included.
func BenchmarkReader(b *testing.B) {
	lines := genMixed(8192)
	data := bytes.Join(lines, []byte("\n"))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r := NewReader(bytes.NewReader(data))
		var rec flowsrc.Record
		for r.Next(&rec) != io.EOF {
		}
		n += len(lines)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkEncodingJSONFlow is the yardstick: encoding/json decoding a
// flow event into a narrow struct (no validation of values, no record).
func BenchmarkEncodingJSONFlow(b *testing.B) {
	type narrow struct {
		EventType   string `json:"event_type"`
		FlowID      uint64 `json:"flow_id"`
		SrcIP       string `json:"src_ip"`
		DestIP      string `json:"dest_ip"`
		SrcPort     uint16 `json:"src_port"`
		DestPort    uint16 `json:"dest_port"`
		Proto       string `json:"proto"`
		AppProto    string `json:"app_proto"`
		CommunityID string `json:"community_id"`
		Flow        struct {
			Start         string `json:"start"`
			End           string `json:"end"`
			BytesToServer uint64 `json:"bytes_toserver"`
			BytesToClient uint64 `json:"bytes_toclient"`
			PktsToServer  uint64 `json:"pkts_toserver"`
			PktsToClient  uint64 `json:"pkts_toclient"`
		} `json:"flow"`
	}
	lines := make([][]byte, 4096)
	for i := range lines {
		lines[i] = genFlow(i, "tls")
	}
	b.SetBytes(int64(len(lines[0])))
	b.ReportAllocs()
	i := 0
	var v narrow
	for b.Loop() {
		if err := json.Unmarshal(lines[i%len(lines)], &v); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
}
