package flowtest_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// v4 returns the uint32 form of an IPv4 address, as goflow2 decodes it.
func v4(s string) netflowlegacy.IPAddress {
	a := netip.MustParseAddr(s).As4()
	return netflowlegacy.IPAddress(uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3]))
}

func TestAppendV5RoundTrip(t *testing.T) {
	export := time.Date(2024, 5, 1, 12, 0, 0, 250_000_000, time.UTC)
	h := flowtest.V5Header{
		ExportTime:       export,
		Uptime:           3*time.Hour + 17*time.Millisecond,
		Sequence:         4242,
		EngineType:       1,
		EngineID:         7,
		SamplingInterval: 1<<14 | 100,
	}
	flows := []flowtest.Flow{
		{
			Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("203.0.113.9"),
			SrcPort: 51000, DstPort: 443, Proto: 6, TCPFlags: 0x1b,
			Bytes: 123456, Packets: 321,
			Start: export.Add(-90 * time.Second), End: export.Add(-1500 * time.Millisecond),
		},
		{
			Src: netip.MustParseAddr("192.168.1.2"), Dst: netip.MustParseAddr("198.51.100.1"),
			Proto: 1, ICMPType: 8, ICMPCode: 3, DstPort: 9999, // ICMP: DstPort replaced
			Bytes: 1<<32 + 5, Packets: 1<<32 + 6, // low 32 bits kept
			Start: export.Add(-2 * time.Second), End: export,
		},
		{
			// IPv6 does not fit v5: zeros. Start before boot: wraps.
			Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("::ffff:192.0.2.7"),
			Proto: 17, SrcPort: 53, DstPort: 5353,
			Start: export.Add(-4 * time.Hour), End: export.Add(-time.Minute),
		},
	}
	b := flowtest.AppendV5([]byte("prefix"), h, flows)
	if string(b[:6]) != "prefix" {
		t.Fatalf("AppendV5 clobbered the prefix: %q", b[:6])
	}
	b = b[6:]
	if want := flowtest.V5HeaderLen + len(flows)*flowtest.V5RecordLen; len(b) != want {
		t.Fatalf("len = %d, want %d", len(b), want)
	}

	var p netflowlegacy.PacketNetFlowV5
	if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(b), &p); err != nil {
		t.Fatalf("goflow2 decode: %v", err)
	}
	if p.Version != 5 || p.Count != 3 || p.SysUptime != 10800017 || p.UnixSecs != uint32(export.Unix()) ||
		p.UnixNSecs != 250_000_000 || p.FlowSequence != 4242 || p.EngineType != 1 || p.EngineId != 7 ||
		p.SamplingInterval != 1<<14|100 {
		t.Errorf("header = %+v", p)
	}
	if len(p.Records) != len(flows) {
		t.Fatalf("decoded %d records, want %d", len(p.Records), len(flows))
	}

	// The decoder's view of absolute time: export time - (uptime - First).
	abs := func(rel uint32) time.Time {
		return export.Add(-time.Duration(int32(p.SysUptime-rel)) * time.Millisecond)
	}
	type want struct {
		src, dst     netflowlegacy.IPAddress
		sport, dport uint16
		proto, flags uint8
		octets, pkts uint32
		start, end   time.Time
	}
	wants := []want{
		{v4("10.0.0.1"), v4("203.0.113.9"), 51000, 443, 6, 0x1b, 123456, 321, flows[0].Start, flows[0].End},
		{v4("192.168.1.2"), v4("198.51.100.1"), 0, 8<<8 | 3, 1, 0, 5, 6, flows[1].Start, flows[1].End},
		{0, v4("192.0.2.7"), 53, 5353, 17, 0, 0, 0, flows[2].Start, flows[2].End},
	}
	for i, w := range wants {
		r := p.Records[i]
		got := want{r.SrcAddr, r.DstAddr, r.SrcPort, r.DstPort, r.Proto, r.TCPFlags, r.DOctets, r.DPkts, abs(r.First), abs(r.Last)}
		if !got.start.Equal(w.start) || !got.end.Equal(w.end) {
			t.Errorf("record %d: start/end = %v/%v, want %v/%v", i, got.start, got.end, w.start, w.end)
		}
		got.start, got.end, w.start, w.end = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if got != w {
			t.Errorf("record %d = %+v, want %+v", i, got, w)
		}
	}
	// Record 2 started before the exporter booted: First wraps around.
	if r := p.Records[2]; r.First <= p.SysUptime {
		t.Errorf("record 2 First = %d, want a wrapped value above uptime %d", r.First, p.SysUptime)
	}
}
