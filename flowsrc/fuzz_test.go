package flowsrc_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// fuzzSeeds returns generated datagrams of every format and feature: the
// fuzz corpus starts from them (third-party captures are not copied).
func fuzzSeeds() [][]byte {
	f := tcpFlow()
	f6 := f
	f6.Src, f6.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:192.0.2.9")
	icmp := flowtest.Flow{Src: f.Src, Dst: f.Dst, Proto: 1, ICMPType: 8, Start: f.Start, End: f.End}
	v9t, v9t6 := flowtest.V9Template(256, false), flowtest.V9Template(257, true)
	ot := flowtest.OptionsTemplate{ID: 258, Scopes: []flowtest.Field{{Type: 1, Length: 4}}, Options: []flowtest.Field{{Type: 48, Length: 1}, {Type: 50, Length: 4}}}
	it := flowtest.Template{ID: 300, Fields: append(append([]flowtest.Field(nil), flowtest.IPFIXTemplate(0, true).Fields...),
		flowtest.Field{Type: 82, Length: flowtest.Variable}, flowtest.Field{Type: 1, Length: 8, PEN: 29305},
		flowtest.Field{Type: 154, Length: 8}, flowtest.Field{Type: 159, Length: 4}, flowtest.Field{Type: 32, Length: 2})}
	iot := flowtest.OptionsTemplate{ID: 301, Scopes: []flowtest.Field{{Type: 302, Length: 4}}, Options: []flowtest.Field{{Type: 305, Length: 4}, {Type: 306, Length: 4}, {Type: 160, Length: 8}}}
	psamp := flowtest.Template{ID: 302, Fields: []flowtest.Field{{Type: 312, Length: 2}, {Type: 315, Length: flowtest.Variable}}}
	nsel := flowtest.Template{ID: 303, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 176, Length: 1}, {Type: 231, Length: 4}, {Type: 232, Length: 4}, {Type: 323, Length: 8}}}
	f6.Extra = map[flowtest.FieldKey][]byte{{Type: 82}: []byte("xe-0/0/1")}
	psampRec := flowtest.Flow{Extra: map[flowtest.FieldKey][]byte{{Type: 315}: flowtest.Packet(f, 0, 7)}}
	ih := flowtest.IPFIXHeader{ExportTime: export, DomainID: 1, SystemInit: export.Add(-time.Hour)}
	// An RFC 5103 biflow with sysUpTime times from before the announced
	// init, as softflowd -b exports a capture.
	bi := flowtest.Template{ID: 304, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 22, Length: 4}, {Type: 21, Length: 4},
		{Type: 1, Length: 4}, {Type: 2, Length: 4}, {Type: 4, Length: 1}, {Type: 1, Length: 4, PEN: 29305}, {Type: 2, Length: 4, PEN: 29305},
		{Type: 85, Length: 8, PEN: 29305}, {Type: 6, Length: 1, PEN: 29305}}}
	biOpts := flowtest.OptionsTemplate{ID: 305, Scopes: []flowtest.Field{{Type: 143, Length: 4}}, Options: []flowtest.Field{{Type: 160, Length: 8}}}
	biRec := f
	biRec.Extra = map[flowtest.FieldKey][]byte{{Type: 1, PEN: 29305}: flowtest.BigEndian(6207, 4), {Type: 2, PEN: 29305}: flowtest.BigEndian(9, 4)}
	return [][]byte{
		flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export, SystemInit: export.Add(time.Minute)}).Template(bi).OptionsTemplate(biOpts).
			OptionsData(biOpts, map[flowtest.FieldKey][]byte{{Type: 160}: flowtest.BigEndian(uint64(export.Add(time.Minute).UnixMilli()), 8)}).
			Data(bi, biRec).Bytes(),
		flowtest.AppendV5(nil, v5Header(), []flowtest.Flow{f, icmp}),
		flowtest.NewV9(v9Header(1)).Template(v9t, v9t6).OptionsTemplate(ot).
			OptionsData(ot, map[flowtest.FieldKey][]byte{{Type: 48}: {1}, {Type: 50}: flowtest.BigEndian(100, 4)}).
			Data(v9t, f, icmp).Data(v9t6, f6).Template(nsel).Data(nsel, icmp).Bytes(),
		flowtest.NewV9(v9Header(1)).Data(v9t, f).Template(v9t).Bytes(),
		flowtest.NewIPFIX(ih).Template(it, psamp).OptionsTemplate(iot).
			OptionsData(iot, map[flowtest.FieldKey][]byte{{Type: 302}: flowtest.BigEndian(3, 4), {Type: 305}: flowtest.BigEndian(1, 4), {Type: 306}: flowtest.BigEndian(9, 4)}).
			Data(it, f6, f6).Data(psamp, psampRec).Template(flowtest.Template{ID: 300}).Bytes(),
		flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: netip.MustParseAddr("2001:db8::99"), SubAgentID: 3}, []flowtest.SFlowSample{
			{SamplingRate: 512, Frame: flowtest.Packet(f, 100, 10)},
			{SamplingRate: 64, Expanded: true, Frame: flowtest.Packet(flowtest.Flow{Src: f6.Src, Dst: netip.MustParseAddr("2001:db8::2"), Proto: 17, SrcPort: 53, DstPort: 53}, 40, 0)},
			{SamplingRate: 1, Frame: flowtest.Packet(icmp, 0, 0)},
		}),
		sflowDatagram(sflowSample(2, u32s(1, 2, 0)), sflowSample(5, u32s(1))),
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := flowsrc.NewDatagramDecoder(flowsrc.WithMaxTemplates(16), flowsrc.WithMaxSamplers(8))
		var n uint64
		emit := func(r *flowsrc.Record) {
			n++
			if !r.IsValid() {
				t.Fatalf("invalid record %+v", r)
			}
			if r.Start.After(r.End) || r.Start.Location() != time.UTC || r.End.Location() != time.UTC {
				t.Fatalf("bad times %v .. %v", r.Start, r.End)
			}
			if r.SamplingRate == 0 {
				t.Fatalf("zero sampling rate: %+v", r)
			}
			if r.HasICMP && (r.SrcPort != 0 || r.DstPort != 0) {
				t.Fatalf("ICMP record with ports: %+v", r)
			}
			if r.Src.Is4In6() || r.Dst.Is4In6() {
				t.Fatalf("mapped address: %+v", r)
			}
			if r.Exporter != exporterA {
				t.Fatalf("exporter %v", r.Exporter)
			}
		}
		// Twice, so that templates and options in the input apply to
		// its data sets the second time.
		for range 2 {
			err := d.Decode(exporterA, received, data, emit)
			if err == nil {
				continue
			}
			var de *flowsrc.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %T %v is not a *DecodeError", err, err)
			}
			switch de.Kind {
			case flowsrc.ErrMalformed, flowsrc.ErrUnknownFormat, flowsrc.ErrTemplateMissing, flowsrc.ErrUnsupported, flowsrc.ErrLimit:
			default:
				t.Fatalf("error kind %v", de.Kind)
			}
			if de.Error() == "" {
				t.Fatal("empty error message")
			}
		}
		st := d.Stats()
		if st.Records != n {
			t.Fatalf("Stats.Records = %d, emitted %d", st.Records, n)
		}
	})
}
