package goflowpb_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/goflowpb"
)

// goflow2Stream returns n messages written by goflow2 (the flow records of
// testdata/goflow2/kafka-values.json, repeated), with separator sep.
func goflow2Stream(tb testing.TB, n int, sep string) []byte {
	tb.Helper()
	var values [][]byte
	readGoldenJSON(tb, "kafka-values.json", &values)
	var flows [][]byte
	for _, v := range values {
		var rec flowsrc.Record
		if goflowpb.Decode(v, &rec) == nil {
			flows = append(flows, v)
		}
	}
	var b []byte
	for i := range n {
		b = append(b, flows[i%len(flows)]...)
		b = append(b, sep...)
	}
	return b
}

func BenchmarkReader(b *testing.B) {
	for _, sep := range []string{"", "\n"} {
		name := "nosep"
		if sep != "" {
			name = "newline"
		}
		b.Run(name, func(b *testing.B) {
			data := goflow2Stream(b, 20000, sep)
			r := goflowpb.NewReader(bytes.NewReader(data))
			var rec flowsrc.Record
			n := 0
			b.SetBytes(int64(len(data) / 20000))
			b.ReportAllocs()
			for b.Loop() {
				if err := r.Next(&rec); err == io.EOF {
					r = goflowpb.NewReader(bytes.NewReader(data))
					if err := r.Next(&rec); err != nil {
						b.Fatal(err)
					}
				} else if err != nil {
					b.Fatal(err)
				}
				n++
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
		})
	}
}

func BenchmarkDecode(b *testing.B) {
	var values [][]byte
	readGoldenJSON(b, "kafka-values.json", &values)
	v := values[0]
	var rec flowsrc.Record
	b.SetBytes(int64(len(v)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if err := goflowpb.Decode(v, &rec); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkSniff(b *testing.B) {
	data := goflow2Stream(b, 10, "\n")[:512]
	for b.Loop() {
		if !goflowpb.Sniff(data) {
			b.Fatal("not recognised")
		}
	}
}

// TestAllocs: reading and decoding allocate nothing per record.
func TestAllocs(t *testing.T) {
	data := goflow2Stream(t, 5000, "\n")
	r := goflowpb.NewReader(bytes.NewReader(data))
	var rec flowsrc.Record
	if n := testing.AllocsPerRun(1000, func() {
		if err := r.Next(&rec); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Reader.Next: %v allocations per record, want 0", n)
	}
	var values [][]byte
	readGoldenJSON(t, "kafka-values.json", &values)
	if n := testing.AllocsPerRun(1000, func() {
		if err := goflowpb.Decode(values[0], &rec); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Decode: %v allocations per record, want 0", n)
	}
	if n := testing.AllocsPerRun(1000, func() { goflowpb.Sniff(data[:512]) }); n != 0 {
		t.Errorf("Sniff: %v allocations, want 0", n)
	}
}
