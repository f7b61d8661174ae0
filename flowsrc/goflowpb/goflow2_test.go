package goflowpb_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/goflowpb"
)

var addrComparer = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

// wantFromDatagrams decodes the datagrams that goflow2 turned into the
// testdata streams with flowsrc's own decoder (conformance-tested against
// tshark): the records goflowpb must give back from goflow2's output, but
// for what goflow2 does not pass on:
//
//   - biflowDirection (IE 239, in the IPFIX datagram): goflow2's schema
//     has no field for it, so the initiator is unknown;
//   - the ICMP type and code of sFlow-sampled packets: goflow2 up to
//     v2.2.6 drops them (netsampler/goflow2#506), so they are unknown.
func wantFromDatagrams(t *testing.T) []flowsrc.Record {
	t.Helper()
	var dgs []datagram
	readGoldenJSON(t, "datagrams.json", &dgs)
	d := flowsrc.NewDatagramDecoder()
	var out []flowsrc.Record
	for i, dg := range dgs {
		err := d.Decode(netip.MustParseAddr(dg.Exporter), dg.Received, dg.Payload, func(r *flowsrc.Record) {
			rec := *r
			rec.Initiator = flowsrc.InitiatorUnknown
			if dg.SFlow && rec.HasICMP {
				rec.HasICMP, rec.ICMPType, rec.ICMPCode = false, 0, 0
			}
			out = append(out, rec)
		})
		if err != nil && !(dg.SFlow && errors.Is(err, flowsrc.ErrUnsupported)) {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	if st := d.Stats(); st.Drops.Unsupported != 1 {
		t.Fatalf("flowsrc skipped %d parts as unsupported, want 1 (the ARP sample)", st.Drops.Unsupported)
	}
	return out
}

// readAll reads every record of a stream, failing t on any error.
func readAll(t *testing.T, r *goflowpb.Reader) []flowsrc.Record {
	t.Helper()
	var out []flowsrc.Record
	for {
		var rec flowsrc.Record
		err := r.Next(&rec)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("record %d: %v", len(out), err)
		}
		out = append(out, rec)
	}
}

// TestGoflow2Streams reads what goflow2's file transport wrote
// (-format=bin, with the default "\n" separator, with none, and with a
// custom mapping that adds fields the schema lacks) and requires the
// records flowsrc decodes from the same datagrams: same addresses, ports,
// ICMP type/code, counters multiplied by the sampling rate, times,
// exporter and observation domain.
func TestGoflow2Streams(t *testing.T) {
	want := wantFromDatagrams(t)
	if len(want) != 15 {
		t.Fatalf("flowsrc decoded %d records from the datagrams, want 15", len(want))
	}
	tests := []struct {
		file, sep string
		opts      []goflowpb.Option
	}{
		{"flows-nl.bin", "\n", nil},
		{"flows-nosep.bin", "", nil},
		{"flows-mapped.bin", "\n", nil},
		{"flows-nl.bin", "\n", []goflowpb.Option{goflowpb.WithSeparator("\n")}},
		{"flows-nosep.bin", "", []goflowpb.Option{goflowpb.WithSeparator("")}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data := readGolden(t, tt.file)
			r := goflowpb.NewReader(bytes.NewReader(data), tt.opts...)
			got := readAll(t, r)
			if d := cmp.Diff(want, got, addrComparer); d != "" {
				t.Errorf("records (-flowsrc +goflowpb):\n%s", d)
			}
			st := r.Stats()
			wantSt := goflowpb.Stats{Messages: 16, Records: 15, NotFlow: 1, Bytes: int64(len(data)), Separator: tt.sep}
			if st != wantSt {
				t.Errorf("Stats = %+v, want %+v", st, wantSt)
			}
			if r.Offset() != int64(len(data)) {
				t.Errorf("Offset = %d, want %d", r.Offset(), len(data))
			}
			// io.EOF again, not another error.
			var rec flowsrc.Record
			if err := r.Next(&rec); err != io.EOF {
				t.Errorf("Next after the end = %v, want io.EOF", err)
			}
		})
	}
}

// TestGoflow2Records spells out a few of the records, independently of
// flowsrc: sampling (goflow2 does not scale, the record does), IPv4-mapped
// addresses, ICMP from the destination port (v5) and from icmp_type/code
// (IPFIX, sFlow), the sampler address as exporter.
func TestGoflow2Records(t *testing.T) {
	got := readAll(t, goflowpb.NewReader(bytes.NewReader(readGolden(t, "flows-nl.bin"))))
	if len(got) != 15 {
		t.Fatalf("%d records, want 15", len(got))
	}
	export := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	a := netip.MustParseAddr
	check := func(i int, w flowsrc.Record) {
		t.Helper()
		if d := cmp.Diff(w, got[i], addrComparer); d != "" {
			t.Errorf("record %d (-want +got):\n%s", i, d)
		}
	}
	// NetFlow v5, 1 in 100: 123456 bytes, 321 packets. The header's clock
	// is export+123456789 ns; First/Last are whole milliseconds of uptime
	// before it (42.248 s and 2.128 s).
	check(0, flowsrc.Record{
		Start: export.Add(123456789 - 42248*time.Millisecond), End: export.Add(123456789 - 2128*time.Millisecond),
		Src: a("10.1.2.3"), Dst: a("203.0.113.9"), SrcPort: 51000, DstPort: 443, Proto: 6,
		BytesToServer: 12345600, PktsToServer: 32100, SamplingRate: 100, TCPFlags: 0x1b, Exporter: a("192.0.2.1"),
	})
	// NetFlow v5 ICMP echo request: type 8 in the destination port.
	if r := got[2]; !r.HasICMP || r.ICMPType != 8 || r.ICMPCode != 0 || r.SrcPort != 0 || r.DstPort != 0 {
		t.Errorf("v5 ICMP: %+v", r)
	}
	// NetFlow v9 IPv4 flow in the IPv6 template: IPv4-mapped, unmapped;
	// sampling 1 in 1000 from options data; source ID 7.
	if r := got[7]; r.Src != a("10.9.8.7") || r.Dst != a("203.0.113.1") || r.SamplingRate != 1000 || r.BytesToServer != 1000*1000 || r.ObservationDomain != 7 {
		t.Errorf("v9 mapped flow: %+v", r)
	}
	// IPFIX from an IPv6 exporter, ICMP unreachable 3/3 from IE 176/177.
	if r := got[9]; r.Exporter != a("2001:db8::1") || !r.HasICMP || r.ICMPType != 3 || r.ICMPCode != 3 || r.ObservationDomain != 42 {
		t.Errorf("IPFIX ICMP: %+v", r)
	}
	// sFlow: one sampled packet (frame length 54: the sampled headers),
	// 1 in 512; the time is goflow2's reception time.
	if r := got[12]; r.SamplingRate != 512 || r.PktsToServer != 512 || r.BytesToServer != 512*54 || r.Exporter != a("192.0.2.4") ||
		!r.Start.Equal(r.End) || !r.End.Equal(time.Date(2024, 5, 6, 7, 8, 30, 254_000_000, time.UTC)) {
		t.Errorf("sFlow sample: %+v", r)
	}
	// sFlow ICMP echo request: goflow2 (up to v2.2.6) drops the type and
	// code of the packets it parses itself; they are unknown, not 0/0.
	if r := got[14]; r.Proto != 1 || r.HasICMP || r.ICMPType != 0 || r.SrcPort != 0 || r.DstPort != 0 {
		t.Errorf("sFlow ICMP: %+v", r)
	}
	for i, r := range got {
		if !r.IsValid() || r.Initiator != flowsrc.InitiatorUnknown || r.BytesToClient != 0 || r.Start.After(r.End) ||
			r.Start.Location() != time.UTC || r.End.Location() != time.UTC {
			t.Errorf("record %d: %+v", i, r)
		}
	}
}

// TestKafkaValues decodes each message as goflow2's Kafka transport sends
// it (the "bin" format's output: length prefix and message, no separator).
func TestKafkaValues(t *testing.T) {
	var values [][]byte
	readGoldenJSON(t, "kafka-values.json", &values)
	want := wantFromDatagrams(t)
	var got []flowsrc.Record
	notFlow := 0
	for i, v := range values {
		var rec flowsrc.Record
		err := goflowpb.Decode(v, &rec)
		if errors.Is(err, goflowpb.ErrNotFlow) {
			notFlow++
			if rec != (flowsrc.Record{}) {
				t.Errorf("value %d: record not zeroed on ErrNotFlow", i)
			}
			continue
		}
		if err != nil {
			t.Fatalf("value %d: %v", i, err)
		}
		got = append(got, rec)

		// DecodeBare on the message without its prefix agrees.
		_, n := uvarintLen(v)
		var bare flowsrc.Record
		if err := goflowpb.DecodeBare(v[n:], &bare); err != nil || bare != rec {
			t.Errorf("value %d: DecodeBare = %v, %+v; Decode %+v", i, err, bare, rec)
		}
		// Without its prefix, Decode refuses the message.
		if err := goflowpb.Decode(v[n:], &bare); !errors.Is(err, goflowpb.ErrFraming) {
			t.Errorf("value %d without prefix: Decode error %v, want ErrFraming", i, err)
		}
	}
	if notFlow != 1 {
		t.Errorf("%d values without IP addresses, want 1", notFlow)
	}
	if d := cmp.Diff(want, got, addrComparer); d != "" {
		t.Errorf("records (-flowsrc +Decode):\n%s", d)
	}
}

func uvarintLen(b []byte) (uint64, int) {
	var v uint64
	for i, c := range b {
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, i + 1
		}
	}
	return 0, 0
}

// TestGoflow2Edge reads FlowMessages written with goflow2's pb types and
// protodelim (testdata/goflow2/edge.bin, names in edge.json).
func TestGoflow2Edge(t *testing.T) {
	var names []string
	readGoldenJSON(t, "edge.json", &names)
	recv := time.Date(2024, 5, 6, 7, 8, 30, 250_000_000, time.UTC)
	a := netip.MustParseAddr
	want := map[string]flowsrc.Record{
		"received time only": {Start: recv, End: recv, Src: a("10.0.0.1"), Dst: a("10.0.0.2"), Proto: 17, SrcPort: 1, DstPort: 2,
			BytesToServer: 10, PktsToServer: 1, SamplingRate: 1, Exporter: a("192.0.2.9")},
		"end time only":   {Start: recv.Add(-5 * time.Second), End: recv.Add(-5 * time.Second), Src: a("10.0.0.1"), Dst: a("10.0.0.2"), Proto: 6, SamplingRate: 1},
		"start after end": {Start: recv.Add(-2 * time.Second), End: recv.Add(-2 * time.Second), Src: a("10.0.0.1"), Dst: a("10.0.0.2"), Proto: 6, SamplingRate: 1},
		"huge sampling rate": {Start: recv, End: recv, Src: a("10.0.0.1"), Dst: a("10.0.0.2"), Proto: 6,
			BytesToServer: math.MaxUint64, PktsToServer: 3 * math.MaxUint32, SamplingRate: math.MaxUint32},
		"repeated and routing fields": {Start: recv.Add(-1), End: recv, Src: a("2001:db8::1"), Dst: a("198.51.100.1"), SrcPort: 443, DstPort: 50000, Proto: 6,
			BytesToServer: 1500, PktsToServer: 1, SamplingRate: 1, TCPFlags: 0xff, Exporter: a("192.0.2.9"), ObservationDomain: math.MaxUint32},
		"icmpv6 fields": {Start: recv, End: recv, Src: a("2001:db8::1"), Dst: a("2001:db8::2"), Proto: 58, HasICMP: true, ICMPType: 135,
			BytesToServer: 72, PktsToServer: 1, SamplingRate: 1},
	}
	r := goflowpb.NewReader(bytes.NewReader(readGolden(t, "edge.bin")))
	got := readAll(t, r)
	i := 0
	for _, name := range names {
		w, ok := want[name]
		if !ok {
			if name != "no addresses" {
				t.Fatalf("edge message %q has no expectation", name)
			}
			continue
		}
		if i >= len(got) {
			t.Fatalf("only %d records", len(got))
		}
		if d := cmp.Diff(w, got[i], addrComparer); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
		i++
	}
	if st := r.Stats(); st.Records != uint64(len(want)) || st.NotFlow != 1 || st.Messages != uint64(len(names)) || st.Separator != "" {
		t.Errorf("Stats = %+v", st)
	}
}
