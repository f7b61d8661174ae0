package flowtest_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

func TestSFlowRoundTrip(t *testing.T) {
	tcp4 := flowtest.Packet(flowtest.Flow{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("203.0.113.5"),
		SrcPort: 40000, DstPort: 443, Proto: 6, TCPFlags: 0x18,
	}, 1400, 100)
	udp6 := flowtest.Packet(flowtest.Flow{
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"),
		SrcPort: 5353, DstPort: 53, Proto: 17,
	}, 200, 0)
	odd := tcp4[:61] // a header length that needs XDR padding

	samples := []flowtest.SFlowSample{
		{
			Sequence: 1, SourceIDClass: 0, SourceIDIndex: 0x1234_5678, // compact: low 24 bits
			SamplingRate: 2048, SamplePool: 4096, Drops: 3, Input: 7, Output: 0x4000_0002,
			Frame: tcp4, FrameLength: uint32(len(tcp4)) + 1400 + 4, Stripped: 4,
		},
		{
			Sequence: 2, SourceIDClass: 1, SourceIDIndex: 0x1234_5678, Expanded: true,
			SamplingRate: 1000, SamplePool: 99, Input: 0x0100_0000, Output: 5,
			Frame: udp6, // FrameLength 0: len(Frame) + Stripped
		},
		{Sequence: 3, SamplingRate: 1, Frame: odd, FrameLength: 1500},
		{Sequence: 4, SamplingRate: 1}, // no record
	}
	for _, agent := range []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::a")} {
		h := flowtest.SFlowHeader{Agent: agent, SubAgentID: 3, Sequence: 999, Uptime: 42*time.Minute + 5*time.Millisecond}
		b := flowtest.AppendSFlow(nil, h, samples)
		if len(b)%4 != 0 {
			t.Errorf("agent %v: datagram of %d bytes is not XDR aligned", agent, len(b))
		}
		var p sflow.Packet
		if err := sflow.DecodeMessageVersion(bytes.NewBuffer(b), &p); err != nil {
			t.Fatalf("agent %v: goflow2 decode: %v", agent, err)
		}
		if a, _ := netip.AddrFromSlice(p.AgentIP); a != agent || p.SubAgentId != 3 || p.SequenceNumber != 999 ||
			p.Uptime != 2_520_005 || p.SamplesCount != 4 || len(p.Samples) != 4 {
			t.Errorf("agent %v: header = %+v", agent, p)
		}

		fs, ok := p.Samples[0].(sflow.FlowSample)
		if !ok {
			t.Fatalf("sample 0 is %T", p.Samples[0])
		}
		if fs.Header.Format != 1 || fs.Header.SampleSequenceNumber != 1 || fs.Header.SourceIdType != 0 ||
			fs.Header.SourceIdValue != 0x34_5678 || fs.SamplingRate != 2048 || fs.SamplePool != 4096 ||
			fs.Drops != 3 || fs.Input != 7 || fs.Output != 0x4000_0002 || fs.FlowRecordsCount != 1 {
			t.Errorf("sample 0 = %+v", fs)
		}
		checkHeader(t, "sample 0", fs.Records, tcp4, uint32(len(tcp4))+1404, 4)

		es, ok := p.Samples[1].(sflow.ExpandedFlowSample)
		if !ok {
			t.Fatalf("sample 1 is %T", p.Samples[1])
		}
		if es.Header.Format != 3 || es.Header.SampleSequenceNumber != 2 || es.Header.SourceIdType != 1 ||
			es.Header.SourceIdValue != 0x1234_5678 || es.SamplingRate != 1000 || es.SamplePool != 99 ||
			es.InputIfFormat != 0 || es.InputIfValue != 0x0100_0000 || es.OutputIfFormat != 0 || es.OutputIfValue != 5 {
			t.Errorf("sample 1 = %+v", es)
		}
		checkHeader(t, "sample 1", es.Records, udp6, uint32(len(udp6)), 0)

		fs, _ = p.Samples[2].(sflow.FlowSample)
		checkHeader(t, "sample 2", fs.Records, odd, 1500, 0)

		fs, _ = p.Samples[3].(sflow.FlowSample)
		if fs.Header.SampleSequenceNumber != 4 || fs.FlowRecordsCount != 0 || len(fs.Records) != 0 {
			t.Errorf("sample 3 = %+v, want no records", fs)
		}
	}
}

func checkHeader(t *testing.T, name string, recs []sflow.FlowRecord, frame []byte, frameLen, stripped uint32) {
	t.Helper()
	if len(recs) != 1 {
		t.Fatalf("%s: %d records, want 1", name, len(recs))
	}
	sh, ok := recs[0].Data.(sflow.SampledHeader)
	if !ok {
		t.Fatalf("%s: record is %T", name, recs[0].Data)
	}
	// goflow2 names the header length OriginalLength and keeps the XDR
	// padding in HeaderData.
	if recs[0].Header.DataFormat != 1 || sh.Protocol != 1 || sh.FrameLength != frameLen || sh.Stripped != stripped ||
		int(sh.OriginalLength) != len(frame) || len(sh.HeaderData) != (len(frame)+3)/4*4 {
		t.Errorf("%s: sampled header = %+v (%d data bytes)", name, sh, len(sh.HeaderData))
	}
	if len(sh.HeaderData) >= len(frame) && !bytes.Equal(sh.HeaderData[:len(frame)], frame) {
		t.Errorf("%s: header bytes differ", name)
	}
}

func TestSFlowUnknownAgent(t *testing.T) {
	b := flowtest.AppendSFlow(nil, flowtest.SFlowHeader{}, nil)
	want := []byte{0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !bytes.Equal(b, want) {
		t.Errorf("datagram = % x, want % x", b, want)
	}
}
