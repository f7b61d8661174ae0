package flowtest_test

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

const pen = 29305 // an enterprise number for the tests

func TestIPFIXRoundTrip(t *testing.T) {
	export := time.Date(2025, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	boot := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	h := flowtest.IPFIXHeader{ExportTime: export, Sequence: 1000, DomainID: 42, SystemInit: boot}

	t4, t6 := flowtest.IPFIXTemplate(256, false), flowtest.IPFIXTemplate(257, true)
	long := bytes.Repeat([]byte("x"), 300) // needs the 3-byte length form
	tx := flowtest.Template{ID: 258, Fields: []flowtest.Field{
		{Type: 1, Length: 4}, // reduced size
		{Type: 1, Length: 8, PEN: pen},
		{Type: 2, Length: flowtest.Variable}, // known field, variable length: natural size
		{Type: 8, Length: 4},
		{Type: 28, Length: flowtest.Variable},
		{Type: 82, Length: flowtest.Variable},          // interfaceName, short
		{Type: 83, Length: flowtest.Variable},          // interfaceDescription, long
		{Type: 84, Length: flowtest.Variable},          // samplerName, missing: empty
		{Type: 7, Length: flowtest.Variable, PEN: pen}, // enterprise, variable
		{Type: 12, Length: 4, PEN: pen},                // enterprise, missing: zeros
		{Type: 176, Length: 1}, {Type: 177, Length: 1}, // icmpTypeIPv4, icmpCodeIPv4
		{Type: 139, Length: 2}, // icmpTypeCodeIPv6
		{Type: 34, Length: 4}, {Type: 48, Length: 1},
		{Type: 6, Length: 2},
		{Type: 21, Length: 4}, {Type: 22, Length: 4},
		{Type: 150, Length: 4}, {Type: 151, Length: 4},
		{Type: 152, Length: 8}, {Type: 153, Length: 8},
		{Type: 154, Length: 8}, {Type: 155, Length: 8},
		{Type: 156, Length: 8}, {Type: 157, Length: 8},
		{Type: 158, Length: 4}, {Type: 159, Length: 4},
		{Type: 160, Length: 8},
	}}
	ot := flowtest.OptionsTemplate{
		ID:     259,
		Scopes: []flowtest.Field{{Type: 149, Length: 4}, {Type: 10, Length: 4, PEN: pen}},
		Options: []flowtest.Field{
			{Type: 305, Length: 4}, {Type: 306, Length: 4},
			{Type: 84, Length: flowtest.Variable},
			{Type: 99, Length: flowtest.Variable, PEN: pen},
		},
	}

	f4 := flowtest.Flow{
		Src: netip.MustParseAddr("172.16.0.5"), Dst: netip.MustParseAddr("198.51.100.200"),
		SrcPort: 3333, DstPort: 22, Proto: 6, TCPFlags: 0x18,
		Bytes: 1 << 40, Packets: 1 << 33,
		Start: export.Add(-10*time.Minute + 5*time.Millisecond).Truncate(time.Millisecond), End: export.Truncate(time.Millisecond),
	}
	f6 := flowtest.Flow{
		Src: netip.MustParseAddr("fd00::1"), Dst: netip.MustParseAddr("2001:db8::443"),
		SrcPort: 55555, DstPort: 443, Proto: 17, Bytes: 2000, Packets: 2,
		Start: export.Add(-time.Second).Truncate(time.Millisecond), End: export.Truncate(time.Millisecond),
	}
	// Times with nanoseconds, to exercise every resolution.
	fx := flowtest.Flow{
		Src: netip.MustParseAddr("10.9.8.7"), Dst: netip.MustParseAddr("2001:db8::7"),
		Proto: 1, ICMPType: 11, ICMPCode: 1, SamplerID: 3, SamplingInterval: 4096, TCPFlags: 0x12,
		Bytes: 0x1_2345_6789, Packets: 77,
		Start: export.Add(-40*time.Minute - 123_456_789*time.Nanosecond), // 158 holds < 71 min
		End:   export.Add(-987_654_321 * time.Nanosecond),
		Extra: map[flowtest.FieldKey][]byte{
			{Type: 1, PEN: pen}: flowtest.BigEndian(0xDEADBEEF, 8),
			{Type: 82}:          []byte("eth0"),
			{Type: 83}:          long,
			{Type: 7, PEN: pen}: []byte("vendor"),
		},
	}
	opts := map[flowtest.FieldKey][]byte{
		{Type: 149}:          flowtest.BigEndian(42, 4),
		{Type: 10, PEN: pen}: flowtest.BigEndian(7, 4),
		{Type: 305}:          flowtest.BigEndian(1, 4),
		{Type: 306}:          flowtest.BigEndian(99, 4),
		{Type: 84}:           []byte("sampler-1"),
		{Type: 99, PEN: pen}: long,
	}

	m := flowtest.NewIPFIX(h).
		Template(t4, t6, tx).
		OptionsTemplate(ot).
		Data(t4, f4).
		Data(t6, f6, f6).
		Data(tx, fx).
		OptionsData(ot, opts, nil)
	msg := m.Bytes()
	if m.DataRecords() != 6 {
		t.Errorf("DataRecords() = %d, want 6", m.DataRecords())
	}

	d := decode(t, msg)
	if got := d.ipfix; got.Version != 10 || int(got.Length) != len(msg) || got.ExportTime != uint32(export.Unix()) ||
		got.SequenceNumber != 1000 || got.ObservationDomainId != 42 {
		t.Errorf("header = %+v (message is %d bytes)", got, len(msg))
	}
	var sawTemplates, sawOptions bool
	for _, s := range d.sets {
		switch s := s.(type) {
		case netflow.TemplateFlowSet:
			sawTemplates = true
			var got []flowtest.Template
			for _, r := range s.Records {
				tt := flowtest.Template{ID: r.TemplateId}
				for _, f := range r.Fields {
					tt.Fields = append(tt.Fields, flowtest.Field{Type: f.Type, Length: f.Length, PEN: f.Pen})
				}
				got = append(got, tt)
			}
			if diff := cmp.Diff([]flowtest.Template{t4, t6, tx}, got); diff != "" {
				t.Errorf("templates (-want +got):\n%s", diff)
			}
		case netflow.IPFIXOptionsTemplateFlowSet:
			sawOptions = true
			r := s.Records[0]
			if len(s.Records) != 1 || r.ScopeFieldCount != 2 || r.FieldCount != 6 {
				t.Errorf("options template records = %+v", s.Records)
			}
			got := flowtest.OptionsTemplate{ID: r.TemplateId}
			for _, f := range r.Scopes {
				got.Scopes = append(got.Scopes, flowtest.Field{Type: f.Type &^ 0x8000, Length: f.Length, PEN: f.Pen})
			}
			for _, f := range r.Options {
				got.Options = append(got.Options, flowtest.Field{Type: f.Type &^ 0x8000, Length: f.Length, PEN: f.Pen})
			}
			if diff := cmp.Diff(ot, got); diff != "" {
				t.Errorf("options template (-want +got):\n%s", diff)
			}
		}
	}
	if !sawTemplates || !sawOptions {
		t.Errorf("template set seen: %v, options template set seen: %v", sawTemplates, sawOptions)
	}

	r := ref{boot: boot, export: time.Unix(int64(d.ipfix.ExportTime), 0)}
	if len(d.data[256]) != 1 || len(d.data[257]) != 2 || len(d.data[258]) != 1 {
		t.Fatalf("data records per template: %d %d %d, want 1 2 1", len(d.data[256]), len(d.data[257]), len(d.data[258]))
	}
	if diff := cmp.Diff(f4, flowOf(t, d.data[256][0], r), cmpAddr); diff != "" {
		t.Errorf("IPv4 flow (-want +got):\n%s", diff)
	}
	for _, rec := range d.data[257] {
		if diff := cmp.Diff(f6, flowOf(t, rec, r), cmpAddr); diff != "" {
			t.Errorf("IPv6 flow (-want +got):\n%s", diff)
		}
	}

	gx := d.data[258][0]
	num := func(typ uint16, p uint32) uint64 { return uintOf(t, gx[flowtest.FieldKey{Type: typ, PEN: p}]) }
	for _, c := range []struct {
		name      string
		got, want uint64
	}{
		{"octetDeltaCount(4 bytes)", num(1, 0), 0x2345_6789},
		{"enterprise 1", num(1, pen), 0xDEADBEEF},
		{"packetDeltaCount(variable)", num(2, 0), 77},
		{"enterprise 12 (missing)", num(12, pen), 0},
		{"icmpTypeIPv4", num(176, 0), 11},
		{"icmpCodeIPv4", num(177, 0), 1},
		{"icmpTypeCodeIPv6", num(139, 0), 11<<8 | 1},
		{"samplingInterval", num(34, 0), 4096},
		{"samplerId", num(48, 0), 3},
		{"tcpControlBits", num(6, 0), 0x12},
		{"systemInitTimeMilliseconds", num(160, 0), uint64(boot.UnixMilli())},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#x, want %#x", c.name, c.got, c.want)
		}
	}
	for _, c := range []struct {
		key  flowtest.FieldKey
		want []byte
	}{
		{flowtest.FieldKey{Type: 2}, flowtest.BigEndian(77, 8)},
		{flowtest.FieldKey{Type: 8}, fx.Src.AsSlice()},
		{flowtest.FieldKey{Type: 28}, fx.Dst.AsSlice()},
		{flowtest.FieldKey{Type: 82}, []byte("eth0")},
		{flowtest.FieldKey{Type: 83}, long},
		{flowtest.FieldKey{Type: 84}, []byte{}},
		{flowtest.FieldKey{Type: 7, PEN: pen}, []byte("vendor")},
	} {
		if got := gx[c.key]; !bytes.Equal(got, c.want) {
			t.Errorf("field %+v = %q, want %q", c.key, got, c.want)
		}
	}
	// Every time field decodes to the flow's time at its resolution.
	for typ := uint16(150); typ <= 159; typ++ {
		checkTime(t, typ, gx, r, fx)
	}
	checkTime(t, 21, gx, r, fx)
	checkTime(t, 22, gx, r, fx)

	if diff := cmp.Diff([]map[flowtest.FieldKey][]byte{opts, {
		{Type: 149}: {0, 0, 0, 0}, {Type: 10, PEN: pen}: {0, 0, 0, 0},
		{Type: 305}: {0, 0, 0, 0}, {Type: 306}: {0, 0, 0, 0},
		{Type: 84}: {}, {Type: 99, PEN: pen}: {},
	}}, d.options[259]); diff != "" {
		t.Errorf("options data (-want +got):\n%s", diff)
	}
}

// checkTime checks the time field typ of record rec against f: absolute
// fields truncate to their resolution, relative fields (21/22, 158/159)
// are within it.
func checkTime(t *testing.T, typ uint16, rec map[flowtest.FieldKey][]byte, r ref, f flowtest.Flow) {
	t.Helper()
	v, ok := rec[flowtest.FieldKey{Type: typ}]
	if !ok {
		t.Errorf("field %d missing", typ)
		return
	}
	got, start, res := timeOf(t, typ, v, r)
	want := f.End
	if start {
		want = f.Start
	}
	switch typ {
	case 21, 22, 158, 159:
		if d := got.Sub(want).Abs(); d >= res {
			t.Errorf("field %d = %v, want %v within %v", typ, got, want, res)
		}
	default:
		if !got.Equal(want.Truncate(res)) {
			t.Errorf("field %d = %v, want %v", typ, got, want.Truncate(res))
		}
	}
}

func TestIPFIXWithdrawalAndSequence(t *testing.T) {
	ts := netflow.CreateTemplateSystem()
	h := flowtest.IPFIXHeader{ExportTime: time.Unix(1_700_000_000, 0), DomainID: 1}
	tpl := flowtest.IPFIXTemplate(400, false)
	f := flowtest.Flow{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		Proto: 6, Bytes: 1, Packets: 1, Start: h.ExportTime, End: h.ExportTime,
	}
	m := flowtest.NewIPFIX(h).Template(tpl).Data(tpl, f, f, f)
	d := decodeWith(t, ts, m.Bytes())
	if len(d.data[400]) != 3 {
		t.Fatalf("data records: %d, want 3", len(d.data[400]))
	}

	// The next message's sequence grows by the data records sent.
	h.Sequence += uint32(m.DataRecords())
	msg := m.Reset(h).Template(flowtest.Template{ID: 400}).Bytes()
	if got := binary.BigEndian.Uint32(msg[8:]); got != 3 {
		t.Errorf("sequence = %d, want 3", got)
	}
	d = decodeWith(t, ts, msg)
	tfs, ok := d.sets[0].(netflow.TemplateFlowSet)
	if !ok || len(tfs.Records) != 1 || tfs.Records[0].TemplateId != 400 || tfs.Records[0].FieldCount != 0 {
		t.Errorf("withdrawal decoded as %+v", d.sets)
	}
}

func TestIPFIXPanicsOnOversizedMessage(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for a message over 65535 bytes")
		}
	}()
	tpl := flowtest.Template{ID: 256, Fields: []flowtest.Field{{Type: 82, Length: flowtest.Variable}}}
	big := flowtest.Flow{Extra: map[flowtest.FieldKey][]byte{{Type: 82}: make([]byte, 60000)}}
	flowtest.NewIPFIX(flowtest.IPFIXHeader{}).Data(tpl, big).Data(tpl, big).Bytes()
}
