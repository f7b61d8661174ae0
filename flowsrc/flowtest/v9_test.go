package flowtest_test

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

var cmpAddr = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func TestV9RoundTrip(t *testing.T) {
	// The header carries whole seconds: the encoder must compute relative
	// times against 12:00:00, not 12:00:00.75.
	export := time.Date(2024, 5, 1, 12, 0, 0, 750_000_000, time.UTC)
	h := flowtest.V9Header{ExportTime: export, Uptime: 5*time.Hour + 321*time.Millisecond, Sequence: 77, SourceID: 0x01020304}

	t4, t6 := flowtest.V9Template(256, false), flowtest.V9Template(257, true)
	tx := flowtest.Template{ID: 258, Fields: []flowtest.Field{
		{Type: 1, Length: 4}, // reduced size
		{Type: 2, Length: 2}, // reduced size
		{Type: 4, Length: 1},
		{Type: 32, Length: 2},  // ICMP_TYPE
		{Type: 48, Length: 1},  // FLOW_SAMPLER_ID
		{Type: 34, Length: 4},  // SAMPLING_INTERVAL
		{Type: 10, Length: 2},  // INPUT_SNMP, from Extra
		{Type: 5, Length: 1},   // SRC_TOS, missing: zero
		{Type: 8, Length: 4},   // IPv4 source
		{Type: 12, Length: 4},  // IPv6 destination in a v4 field: zeros
		{Type: 27, Length: 16}, // IPv4 source in a v6 field: mapped
		{Type: 152, Length: 8},
		{Type: 153, Length: 8},
	}}
	ot := flowtest.OptionsTemplate{
		ID:      259,
		Scopes:  []flowtest.Field{{Type: 1, Length: 4}}, // System
		Options: []flowtest.Field{{Type: 34, Length: 4}, {Type: 48, Length: 1}, {Type: 49, Length: 1}},
	}

	start := export.Truncate(time.Second).Add(-95*time.Second + 7*time.Millisecond)
	end := export.Truncate(time.Second).Add(-2 * time.Second)
	f4 := []flowtest.Flow{
		{
			Src: netip.MustParseAddr("10.1.2.3"), Dst: netip.MustParseAddr("93.184.216.34"),
			SrcPort: 50123, DstPort: 443, Proto: 6, TCPFlags: 0x1a,
			Bytes: 9_876_543_210, Packets: 7_000_000,
			Start: start, End: end,
		},
		{
			Src: netip.MustParseAddr("10.1.2.4"), Dst: netip.MustParseAddr("8.8.8.8"),
			SrcPort: 40000, DstPort: 53, Proto: 17, Bytes: 80, Packets: 1,
			Start: end, End: end,
		},
	}
	f6 := flowtest.Flow{
		Src: netip.MustParseAddr("2001:db8::10"), Dst: netip.MustParseAddr("2001:db8:ffff::1"),
		SrcPort: 1234, DstPort: 8443, Proto: 6, TCPFlags: 0x02,
		Bytes: 1500, Packets: 2, Start: start, End: end,
	}
	fx := flowtest.Flow{
		Src: netip.MustParseAddr("192.168.7.7"), Dst: netip.MustParseAddr("2001:db8::99"),
		Proto: 1, ICMPType: 3, ICMPCode: 4, SamplerID: 9, SamplingInterval: 512,
		Bytes: 1<<32 + 0x10, Packets: 0x10005,
		Start: start.Add(123 * time.Millisecond), End: end,
		Extra: map[flowtest.FieldKey][]byte{{Type: 10}: flowtest.BigEndian(3, 2)},
	}
	opts := map[flowtest.FieldKey][]byte{
		{Type: 1}:  flowtest.BigEndian(0x0a000001, 4),
		{Type: 34}: flowtest.BigEndian(1000, 4),
		{Type: 48}: {9},
		{Type: 49}: {2},
	}

	m := flowtest.NewV9(h).
		Template(t4, t6, tx).
		OptionsTemplate(ot).
		Data(t4, f4...).
		Data(t6, f6).
		Data(tx, fx).
		OptionsData(ot, opts).
		Data(t4) // no flows: nothing
	msg := m.Bytes()
	if m.Count() != 9 {
		t.Errorf("Count() = %d, want 9", m.Count())
	}

	d := decode(t, msg)
	if got := d.v9; got.Version != 9 || got.Count != 9 || got.SystemUptime != 18_000_321 ||
		got.UnixSeconds != uint32(export.Unix()) || got.SequenceNumber != 77 || got.SourceId != 0x01020304 {
		t.Errorf("header = %+v", got)
	}
	if len(d.sets) != 6 {
		t.Fatalf("decoded %d flowsets, want 6", len(d.sets))
	}
	for _, s := range d.sets {
		var hdr netflow.FlowSetHeader
		switch s := s.(type) {
		case netflow.TemplateFlowSet:
			hdr = s.FlowSetHeader
			var got []flowtest.Template
			for _, r := range s.Records {
				tt := flowtest.Template{ID: r.TemplateId}
				for _, f := range r.Fields {
					tt.Fields = append(tt.Fields, flowtest.Field{Type: f.Type, Length: f.Length})
				}
				got = append(got, tt)
			}
			if diff := cmp.Diff([]flowtest.Template{t4, t6, tx}, got); diff != "" {
				t.Errorf("templates (-want +got):\n%s", diff)
			}
		case netflow.NFv9OptionsTemplateFlowSet:
			hdr = s.FlowSetHeader
			if len(s.Records) != 1 {
				t.Fatalf("options templates: %+v", s.Records)
			}
			r := s.Records[0]
			got := flowtest.OptionsTemplate{ID: r.TemplateId}
			for _, f := range r.Scopes {
				got.Scopes = append(got.Scopes, flowtest.Field{Type: f.Type, Length: f.Length})
			}
			for _, f := range r.Options {
				got.Options = append(got.Options, flowtest.Field{Type: f.Type, Length: f.Length})
			}
			if r.ScopeLength != 4 || r.OptionLength != 12 {
				t.Errorf("scope/option length = %d/%d, want 4/12 bytes", r.ScopeLength, r.OptionLength)
			}
			if diff := cmp.Diff(ot, got); diff != "" {
				t.Errorf("options template (-want +got):\n%s", diff)
			}
		case netflow.DataFlowSet:
			hdr = s.FlowSetHeader
		case netflow.OptionsDataFlowSet:
			hdr = s.FlowSetHeader
		default:
			t.Errorf("unexpected flowset %T", s)
		}
		if hdr.Length%4 != 0 {
			t.Errorf("flowset %d: length %d is not padded to 4 bytes", hdr.Id, hdr.Length)
		}
	}

	r := ref{boot: time.Unix(int64(d.v9.UnixSeconds), 0).Add(-time.Duration(d.v9.SystemUptime) * time.Millisecond)}
	var got4 []flowtest.Flow
	for _, rec := range d.data[256] {
		got4 = append(got4, flowOf(t, rec, r))
	}
	if diff := cmp.Diff(f4, got4, cmpAddr); diff != "" {
		t.Errorf("IPv4 flows (-want +got):\n%s", diff)
	}
	if len(d.data[257]) != 1 {
		t.Fatalf("IPv6 data records: %d, want 1", len(d.data[257]))
	}
	if diff := cmp.Diff(f6, flowOf(t, d.data[257][0], r), cmpAddr); diff != "" {
		t.Errorf("IPv6 flow (-want +got):\n%s", diff)
	}

	if len(d.data[258]) != 1 {
		t.Fatalf("extended data records: %d, want 1", len(d.data[258]))
	}
	gx := d.data[258][0]
	wantx := fx
	wantx.Bytes, wantx.Packets = 0x10, 5 // low-order bytes
	wantx.Src, wantx.Dst = netip.Addr{}, netip.IPv4Unspecified()
	wantx.Extra = map[flowtest.FieldKey][]byte{{Type: 10}: {0, 3}, {Type: 5}: {0}}
	gotx := flowOf(t, gx, r)
	gotx.Src = netip.Addr{}
	if diff := cmp.Diff(wantx, gotx, cmpAddr); diff != "" {
		t.Errorf("extended flow (-want +got):\n%s", diff)
	}
	if a := addrOf(t, gx[flowtest.FieldKey{Type: 8}]); a != fx.Src {
		t.Errorf("IPV4_SRC_ADDR = %v, want %v", a, fx.Src)
	}
	if a := addrOf(t, gx[flowtest.FieldKey{Type: 27}]); a != netip.AddrFrom16(fx.Src.As16()) {
		t.Errorf("IPV6_SRC_ADDR = %v, want %v", a, netip.AddrFrom16(fx.Src.As16()))
	}

	if diff := cmp.Diff([]map[flowtest.FieldKey][]byte{opts}, d.options[259]); diff != "" {
		t.Errorf("options data (-want +got):\n%s", diff)
	}
}

// TestV9TemplateLater checks that data decodes against a template sent in
// an earlier packet, and that Reset reuses the builder.
func TestV9TemplateLater(t *testing.T) {
	ts := netflow.CreateTemplateSystem()
	h := flowtest.V9Header{ExportTime: time.Unix(1_700_000_000, 0), Uptime: time.Hour, SourceID: 5}
	tpl := flowtest.V9Template(300, false)
	m := flowtest.NewV9(h).Template(tpl)
	decodeWith(t, ts, m.Bytes())

	h.Sequence = 1
	f := flowtest.Flow{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		SrcPort: 1, DstPort: 2, Proto: 17, Bytes: 3, Packets: 4,
		Start: h.ExportTime.Add(-time.Second), End: h.ExportTime,
	}
	msg := m.Reset(h).Data(tpl, f).Bytes()
	if got := binary.BigEndian.Uint16(msg[2:]); got != 1 {
		t.Errorf("header count after Reset = %d, want 1", got)
	}
	d := decodeWith(t, ts, msg)
	r := ref{boot: h.ExportTime.Add(-h.Uptime)}
	if len(d.data[300]) != 1 {
		t.Fatalf("data records: %d, want 1", len(d.data[300]))
	}
	if diff := cmp.Diff(f, flowOf(t, d.data[300][0], r), cmpAddr, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("flow (-want +got):\n%s", diff)
	}
}

func TestV9PanicsOnBadExtra(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a 3-byte value in a 2-byte field")
		}
	}()
	tpl := flowtest.Template{ID: 256, Fields: []flowtest.Field{{Type: 10, Length: 2}}}
	flowtest.NewV9(flowtest.V9Header{}).Data(tpl, flowtest.Flow{Extra: map[flowtest.FieldKey][]byte{{Type: 10}: {1, 2, 3}}})
}
