package flowsrc_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

var (
	exporterA = netip.MustParseAddr("192.0.2.1")
	exporterB = netip.MustParseAddr("192.0.2.2")
	// export is the export header time of the test datagrams (whole
	// seconds, as NetFlow v9 and IPFIX headers carry it).
	export   = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	received = time.Date(2024, 5, 6, 7, 8, 30, 0, time.UTC)
)

// decode runs datagrams through d in order and returns the records and the
// error of each datagram.
func decode(t *testing.T, d *flowsrc.DatagramDecoder, exporter netip.Addr, datagrams ...[]byte) ([]flowsrc.Record, []error) {
	t.Helper()
	var recs []flowsrc.Record
	errs := make([]error, len(datagrams))
	for i, dg := range datagrams {
		errs[i] = d.Decode(exporter, received, dg, func(r *flowsrc.Record) { recs = append(recs, *r) })
	}
	return recs, errs
}

// decodeOK is decode for datagrams that must decode without error.
func decodeOK(t *testing.T, d *flowsrc.DatagramDecoder, exporter netip.Addr, datagrams ...[]byte) []flowsrc.Record {
	t.Helper()
	recs, errs := decode(t, d, exporter, datagrams...)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
	}
	return recs
}

func tcpFlow() flowtest.Flow {
	return flowtest.Flow{
		Src:      netip.MustParseAddr("10.1.2.3"),
		Dst:      netip.MustParseAddr("203.0.113.9"),
		SrcPort:  51000,
		DstPort:  443,
		Proto:    6,
		Bytes:    123456,
		Packets:  321,
		Start:    export.Add(-42*time.Second - 125*time.Millisecond),
		End:      export.Add(-2*time.Second - 5*time.Millisecond),
		TCPFlags: 0x1b,
	}
}

// want is the Record a unidirectional flow decodes to at rate 1.
func want(f flowtest.Flow, exporter netip.Addr, domain uint32) flowsrc.Record {
	return flowsrc.Record{
		Start: f.Start, End: f.End,
		Src: f.Src.Unmap(), Dst: f.Dst.Unmap(),
		SrcPort: f.SrcPort, DstPort: f.DstPort,
		Proto:             f.Proto,
		BytesToServer:     f.Bytes,
		PktsToServer:      f.Packets,
		SamplingRate:      1,
		TCPFlags:          f.TCPFlags,
		Exporter:          exporter,
		ObservationDomain: domain,
	}
}

var addrComparer = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func diffRecords(t *testing.T, got, want []flowsrc.Record) {
	t.Helper()
	if d := cmp.Diff(want, got, addrComparer); d != "" {
		t.Errorf("records (-want +got):\n%s", d)
	}
	for i := range got {
		if got[i].Start.Location() != time.UTC || got[i].End.Location() != time.UTC {
			t.Errorf("record %d: times not in UTC", i)
		}
	}
}

func TestSniffFormat(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want flowsrc.Format
		ok   bool
	}{
		{"v5", []byte{0, 5, 0, 1}, flowsrc.FormatNetFlowV5, true},
		{"v9", []byte{0, 9, 0, 1}, flowsrc.FormatNetFlowV9, true},
		{"ipfix", []byte{0, 10, 0, 16}, flowsrc.FormatIPFIX, true},
		{"sflow v4 agent", []byte{0, 0, 0, 5, 0, 0, 0, 1}, flowsrc.FormatSFlow, true},
		{"sflow v6 agent", []byte{0, 0, 0, 5, 0, 0, 0, 2}, flowsrc.FormatSFlow, true},
		{"sflow bad agent type", []byte{0, 0, 0, 5, 0, 0, 0, 3}, flowsrc.FormatUnknown, false},
		{"sflow short", []byte{0, 0, 0, 5, 0, 0}, flowsrc.FormatUnknown, false},
		{"sflow v4", []byte{0, 0, 0, 4, 0, 0, 0, 1}, flowsrc.FormatUnknown, false},
		{"v8", []byte{0, 8, 0, 1}, flowsrc.FormatUnknown, false},
		{"one byte", []byte{0}, flowsrc.FormatUnknown, false},
		{"empty", nil, flowsrc.FormatUnknown, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := flowsrc.SniffFormat(tt.b)
			if got != tt.want || ok != tt.ok {
				t.Errorf("SniffFormat(%x) = %v, %v; want %v, %v", tt.b, got, ok, tt.want, tt.ok)
			}
		})
	}
	for f, s := range map[flowsrc.Format]string{
		flowsrc.FormatNetFlowV5: "netflow-v5", flowsrc.FormatNetFlowV9: "netflow-v9",
		flowsrc.FormatIPFIX: "ipfix", flowsrc.FormatSFlow: "sflow-v5", flowsrc.FormatUnknown: "unknown",
	} {
		if f.String() != s {
			t.Errorf("Format(%d).String() = %q, want %q", f, f.String(), s)
		}
	}
}

// ---- NetFlow v5 ----

func v5Header() flowtest.V5Header {
	return flowtest.V5Header{
		ExportTime: export.Add(123456789 * time.Nanosecond),
		Uptime:     50 * time.Hour,
		EngineType: 1,
		EngineID:   7,
	}
}

func TestNetFlowV5(t *testing.T) {
	h := v5Header()
	f := tcpFlow()
	f.Start = h.ExportTime.Add(-10 * time.Second)
	f.End = h.ExportTime.Add(-1 * time.Second)
	icmp := flowtest.Flow{
		Src: netip.MustParseAddr("10.9.9.9"), Dst: netip.MustParseAddr("10.8.8.8"),
		Proto: 1, ICMPType: 3, ICMPCode: 13, Bytes: 84, Packets: 1,
		Start: f.Start, End: f.Start,
	}
	tests := []struct {
		name     string
		interval uint16
		rate     uint32
	}{
		{"unsampled", 0, 1},
		{"interval 1", 1, 1},
		{"interval 100 without mode", 100, 100},
		{"mode 1 interval 100", 0x4000 | 100, 100},
		{"mode 2 interval 16383", 0x8000 | 0x3fff, 16383},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h
			h.SamplingInterval = tt.interval
			dg := flowtest.AppendV5(nil, h, []flowtest.Flow{f, icmp})
			got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, dg)
			w := want(f, exporterA, 1<<8|7)
			w.BytesToServer *= uint64(tt.rate)
			w.PktsToServer *= uint64(tt.rate)
			w.SamplingRate = tt.rate
			wi := want(icmp, exporterA, 1<<8|7)
			wi.HasICMP, wi.ICMPType, wi.ICMPCode = true, 3, 13
			wi.BytesToServer *= uint64(tt.rate)
			wi.PktsToServer *= uint64(tt.rate)
			wi.SamplingRate = tt.rate
			diffRecords(t, got, []flowsrc.Record{w, wi})
		})
	}
}

func TestNetFlowV5UptimeWrap(t *testing.T) {
	// The exporter's uptime wrapped 3 s ago: First/Last are just below
	// 2^32 ms while the header's uptime is 3000 ms.
	h := v5Header()
	h.Uptime = 3 * time.Second
	f := tcpFlow()
	f.Start = h.ExportTime.Add(-8 * time.Second)
	f.End = h.ExportTime.Add(-4 * time.Second)
	dg := flowtest.AppendV5(nil, h, []flowtest.Flow{f})
	first := binary.BigEndian.Uint32(dg[24+24:])
	if first < 1<<31 {
		t.Fatalf("test datagram does not wrap: First = %d", first)
	}
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, dg)
	diffRecords(t, got, []flowsrc.Record{want(f, exporterA, 1<<8|7)})
}

func TestNetFlowV5Truncated(t *testing.T) {
	h := v5Header()
	flows := []flowtest.Flow{tcpFlow(), tcpFlow(), tcpFlow()}
	full := flowtest.AppendV5(nil, h, flows)
	tests := []struct {
		name    string
		dg      []byte
		records int
		err     error
	}{
		{"complete", full, 3, nil},
		{"last record cut", full[:len(full)-1], 2, flowsrc.ErrMalformed},
		{"two records only", full[:24+2*48], 2, flowsrc.ErrMalformed},
		{"header only", full[:24], 0, flowsrc.ErrMalformed},
		{"short header", full[:23], 0, flowsrc.ErrMalformed},
		{"trailing garbage", append(append([]byte(nil), full...), 1, 2, 3), 3, flowsrc.ErrMalformed},
		{"trailing zero padding", append(append([]byte(nil), full...), 0, 0, 0, 0), 3, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := flowsrc.NewDatagramDecoder()
			recs, errs := decode(t, d, exporterA, tt.dg)
			if len(recs) != tt.records {
				t.Errorf("%d records, want %d", len(recs), tt.records)
			}
			if !errors.Is(errs[0], tt.err) || (tt.err == nil) != (errs[0] == nil) {
				t.Errorf("error %v, want %v", errs[0], tt.err)
			}
			st := d.Stats()
			if st.Records != uint64(tt.records) || st.NetFlowV5 != 1 {
				t.Errorf("stats %+v", st)
			}
			if tt.err != nil && st.Drops.Malformed != 1 {
				t.Errorf("Drops.Malformed = %d, want 1", st.Drops.Malformed)
			}
		})
	}
}

// ---- NetFlow v9 ----

func v9Header(domain uint32) flowtest.V9Header {
	return flowtest.V9Header{ExportTime: export, Uptime: 72 * time.Hour, SourceID: domain}
}

func TestNetFlowV9(t *testing.T) {
	f4 := tcpFlow()
	f6 := tcpFlow()
	f6.Src = netip.MustParseAddr("2001:db8::1")
	f6.Dst = netip.MustParseAddr("2001:db8:ffff::2")
	mapped := tcpFlow()
	mapped.Src = netip.MustParseAddr("::ffff:10.7.7.7")
	mapped.Dst = netip.MustParseAddr("::ffff:198.51.100.7")
	t4, t6 := flowtest.V9Template(256, false), flowtest.V9Template(257, true)

	d := flowsrc.NewDatagramDecoder()
	// Templates and data in one datagram, then data alone.
	dg1 := flowtest.NewV9(v9Header(5)).Template(t4, t6).Data(t4, f4).Data(t6, f6, mapped).Bytes()
	dg2 := flowtest.NewV9(v9Header(5)).Data(t4, f4).Bytes()
	got := decodeOK(t, d, exporterA, dg1, dg2)
	diffRecords(t, got, []flowsrc.Record{
		want(f4, exporterA, 5), want(f6, exporterA, 5), want(mapped, exporterA, 5), want(f4, exporterA, 5),
	})
	if got[2].Src.Is4In6() || !got[2].Src.Is4() {
		t.Errorf("IPv4-mapped address not unmapped: %v", got[2].Src)
	}
	st := d.Stats()
	if st.NetFlowV9 != 2 || st.Records != 4 || st.Templates != 2 || st.Drops.Total() != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestNetFlowV9UptimeWrapAndSkew(t *testing.T) {
	f := tcpFlow()
	// Uptime 2 s: Start (42 s before export) is before the 32-bit wrap.
	h := v9Header(0)
	h.Uptime = 2 * time.Second
	tpl := flowtest.V9Template(300, false)
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewV9(h).Template(tpl).Data(tpl, f).Bytes())
	diffRecords(t, got, []flowsrc.Record{want(f, exporterA, 0)})

	// A record stamped 500 ms after the header (exporter race) stays
	// 500 ms after the export; one stamped two hours after is read as
	// before a wrap (~49.7 days earlier).
	late := tcpFlow()
	late.Start, late.End = export.Add(500*time.Millisecond), export.Add(500*time.Millisecond)
	veryLate := tcpFlow()
	veryLate.Start, veryLate.End = export.Add(2*time.Hour), export.Add(2*time.Hour)
	got = decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewV9(v9Header(0)).Template(tpl).Data(tpl, late, veryLate).Bytes())
	if len(got) != 2 {
		t.Fatalf("%d records", len(got))
	}
	if !got[0].End.Equal(late.End) {
		t.Errorf("late record end %v, want %v", got[0].End, late.End)
	}
	wrapped := veryLate.End.Add(-(1 << 32) * time.Millisecond)
	if !got[1].End.Equal(wrapped) {
		t.Errorf("very late record end %v, want %v", got[1].End, wrapped)
	}
}

func TestDataSetBeforeTemplate(t *testing.T) {
	f := tcpFlow()
	tpl := flowtest.V9Template(256, false)
	d := flowsrc.NewDatagramDecoder()
	// Data first, template after, in the same datagram.
	dg := flowtest.NewV9(v9Header(0)).Data(tpl, f).Template(tpl).Data(tpl, f).Bytes()
	recs, errs := decode(t, d, exporterA, dg)
	if !errors.Is(errs[0], flowsrc.ErrTemplateMissing) {
		t.Fatalf("error %v, want ErrTemplateMissing", errs[0])
	}
	var de *flowsrc.DecodeError
	if !errors.As(errs[0], &de) || de.SetID != 256 || de.Offset != 20 || de.Exporter != exporterA || de.Format != flowsrc.FormatNetFlowV9 {
		t.Errorf("DecodeError %+v", de)
	}
	diffRecords(t, recs, []flowsrc.Record{want(f, exporterA, 0)})
	if st := d.Stats(); st.Drops.TemplateMissing != 1 || st.Records != 1 {
		t.Errorf("stats %+v", st)
	}
	// The next datagram's data decodes.
	got := decodeOK(t, d, exporterA, flowtest.NewV9(v9Header(0)).Data(tpl, f).Bytes())
	diffRecords(t, got, []flowsrc.Record{want(f, exporterA, 0)})
}

func TestTemplatesPerExporterAndDomain(t *testing.T) {
	// Exporter A and B both use template 256, with different layouts;
	// so do domains 1 and 2 of exporter A.
	f4 := tcpFlow()
	f6 := tcpFlow()
	f6.Src, f6.Dst = netip.MustParseAddr("2001:db8::a"), netip.MustParseAddr("2001:db8::b")
	t4, t6 := flowtest.V9Template(256, false), flowtest.V9Template(256, true)
	d := flowsrc.NewDatagramDecoder()
	decodeOK(t, d, exporterA, flowtest.NewV9(v9Header(1)).Template(t4).Bytes())
	decodeOK(t, d, exporterB, flowtest.NewV9(v9Header(1)).Template(t6).Bytes())
	decodeOK(t, d, exporterA, flowtest.NewV9(v9Header(2)).Template(t6).Bytes())

	gotA := decodeOK(t, d, exporterA, flowtest.NewV9(v9Header(1)).Data(t4, f4).Bytes())
	gotB := decodeOK(t, d, exporterB, flowtest.NewV9(v9Header(1)).Data(t6, f6).Bytes())
	gotA2 := decodeOK(t, d, exporterA, flowtest.NewV9(v9Header(2)).Data(t6, f6).Bytes())
	diffRecords(t, gotA, []flowsrc.Record{want(f4, exporterA, 1)})
	diffRecords(t, gotB, []flowsrc.Record{want(f6, exporterB, 1)})
	diffRecords(t, gotA2, []flowsrc.Record{want(f6, exporterA, 2)})

	// A third exporter has no templates at all; IPFIX of exporter A has
	// no v9 templates either.
	other := netip.MustParseAddr("2001:db8::53")
	_, errs := decode(t, d, other, flowtest.NewV9(v9Header(1)).Data(t4, f4).Bytes())
	if !errors.Is(errs[0], flowsrc.ErrTemplateMissing) {
		t.Errorf("unknown exporter: %v, want ErrTemplateMissing", errs[0])
	}
	_, errs = decode(t, d, exporterA, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export, DomainID: 1}).Data(t4, f4).Bytes())
	if !errors.Is(errs[0], flowsrc.ErrTemplateMissing) {
		t.Errorf("IPFIX with v9 template: %v, want ErrTemplateMissing", errs[0])
	}
	// The exporter address is unmapped: ::ffff:192.0.2.1 is exporter A.
	got := decodeOK(t, d, netip.AddrFrom16(exporterA.As16()), flowtest.NewV9(v9Header(1)).Data(t4, f4).Bytes())
	diffRecords(t, got, []flowsrc.Record{want(f4, exporterA, 1)})
}

func TestNetFlowV9Counters(t *testing.T) {
	f := tcpFlow()
	base := []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 7, Length: 2}, {Type: 11, Length: 2}, {Type: 22, Length: 4}, {Type: 21, Length: 4}}
	with := func(id uint16, extra ...flowtest.Field) flowtest.Template {
		return flowtest.Template{ID: id, Fields: append(append([]flowtest.Field(nil), base...), extra...)}
	}
	tests := []struct {
		name        string
		tpl         flowtest.Template
		extra       map[flowtest.FieldKey][]byte
		bytes, pkts uint64
	}{
		{"delta 8 bytes", with(300, flowtest.Field{Type: 1, Length: 8}, flowtest.Field{Type: 2, Length: 8}), nil, f.Bytes, f.Packets},
		{"reduced size 4/2", with(301, flowtest.Field{Type: 1, Length: 4}, flowtest.Field{Type: 2, Length: 2}), nil, f.Bytes, f.Packets},
		{"reduced size 3/1", with(302, flowtest.Field{Type: 1, Length: 3}, flowtest.Field{Type: 2, Length: 1}), nil, f.Bytes & 0xffffff, f.Packets & 0xff},
		{"total counts 85/86", with(303, flowtest.Field{Type: 85, Length: 8}, flowtest.Field{Type: 86, Length: 4}), nil, f.Bytes, f.Packets},
		{"OUT_BYTES/OUT_PKTS alone", with(304, flowtest.Field{Type: 23, Length: 4}, flowtest.Field{Type: 24, Length: 4}),
			map[flowtest.FieldKey][]byte{{Type: 23}: flowtest.BigEndian(777, 4), {Type: 24}: flowtest.BigEndian(7, 4)}, 777, 7},
		{"IN_BYTES wins over OUT_BYTES", with(305, flowtest.Field{Type: 1, Length: 4}, flowtest.Field{Type: 23, Length: 4}, flowtest.Field{Type: 2, Length: 4}, flowtest.Field{Type: 24, Length: 4}),
			map[flowtest.FieldKey][]byte{{Type: 23}: flowtest.BigEndian(777, 4), {Type: 24}: flowtest.BigEndian(7, 4)}, f.Bytes, f.Packets},
		{"delta wins over total", with(306, flowtest.Field{Type: 85, Length: 4}, flowtest.Field{Type: 1, Length: 4}, flowtest.Field{Type: 2, Length: 4}),
			map[flowtest.FieldKey][]byte{{Type: 85}: flowtest.BigEndian(999999, 4)}, f.Bytes, f.Packets},
		{"no counters", with(307), nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ff := f
			ff.Extra = tt.extra
			got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewV9(v9Header(0)).Template(tt.tpl).Data(tt.tpl, ff).Bytes())
			w := want(f, exporterA, 0)
			w.TCPFlags = 0
			w.BytesToServer, w.PktsToServer = tt.bytes, tt.pkts
			diffRecords(t, got, []flowsrc.Record{w})
		})
	}
}

func TestICMP(t *testing.T) {
	v4 := flowtest.Flow{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"),
		Proto: 1, ICMPType: 8, ICMPCode: 0, Bytes: 84, Packets: 1,
		SrcPort: 4242, DstPort: 4343, // NSEL puts the ICMP identifier here
		Start: export.Add(-time.Second), End: export.Add(-time.Second),
	}
	v6 := v4
	v6.Src, v6.Dst, v6.Proto, v6.ICMPType, v6.ICMPCode = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2"), 58, 135, 0
	addr4 := []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 7, Length: 2}, {Type: 11, Length: 2}, {Type: 152, Length: 8}}
	addr6 := []flowtest.Field{{Type: 27, Length: 16}, {Type: 28, Length: 16}, {Type: 4, Length: 1}, {Type: 7, Length: 2}, {Type: 11, Length: 2}, {Type: 152, Length: 8}}
	tpl := func(id uint16, base []flowtest.Field, extra ...flowtest.Field) flowtest.Template {
		return flowtest.Template{ID: id, Fields: append(append([]flowtest.Field(nil), base...), extra...)}
	}
	dstPortTC := v4
	dstPortTC.SrcPort, dstPortTC.DstPort = 0, 3<<8|1
	tests := []struct {
		name      string
		tpl       flowtest.Template
		f         flowtest.Flow
		typ, code uint8
	}{
		{"IE 176/177", tpl(256, addr4, flowtest.Field{Type: 176, Length: 1}, flowtest.Field{Type: 177, Length: 1}), v4, 8, 0},
		{"IE 32", tpl(257, addr4, flowtest.Field{Type: 32, Length: 2}), v4, 8, 0},
		{"IE 178/179", tpl(258, addr6, flowtest.Field{Type: 178, Length: 1}, flowtest.Field{Type: 179, Length: 1}), v6, 135, 0},
		{"IE 139", tpl(259, addr6, flowtest.Field{Type: 139, Length: 2}), v6, 135, 0},
		{"destination port", tpl(260, addr4), dstPortTC, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dg := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export, DomainID: 9}).Template(tt.tpl).Data(tt.tpl, tt.f).Bytes()
			got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, dg)
			w := want(tt.f, exporterA, 9)
			w.SrcPort, w.DstPort = 0, 0
			w.HasICMP, w.ICMPType, w.ICMPCode = true, tt.typ, tt.code
			w.BytesToServer, w.PktsToServer = 0, 0
			w.End = w.Start
			diffRecords(t, got, []flowsrc.Record{w})
		})
	}
}

func TestCiscoNSELBidirectional(t *testing.T) {
	f := tcpFlow()
	f.Extra = map[flowtest.FieldKey][]byte{
		{Type: 231}: flowtest.BigEndian(81, 4),
		{Type: 232}: flowtest.BigEndian(6207, 4),
		// NSEL event time (observationTimeMilliseconds): the end.
		{Type: 323}: flowtest.BigEndian(uint64(f.End.UnixMilli()), 8),
	}
	tpl := flowtest.Template{ID: 263, Fields: []flowtest.Field{
		{Type: 148, Length: 4}, {Type: 8, Length: 4}, {Type: 7, Length: 2}, {Type: 12, Length: 4}, {Type: 11, Length: 2},
		{Type: 4, Length: 1}, {Type: 233, Length: 1}, {Type: 323, Length: 8}, {Type: 231, Length: 4}, {Type: 232, Length: 4},
		{Type: 152, Length: 8}, {Type: 40005, Length: 1}, {Type: 33002, Length: 2},
	}}
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewV9(v9Header(0)).Template(tpl).Data(tpl, f).Bytes())
	w := want(f, exporterA, 0)
	w.TCPFlags = 0
	w.BytesToServer, w.BytesToClient, w.PktsToServer = 81, 6207, 0
	w.Initiator = flowsrc.InitiatorSrc
	diffRecords(t, got, []flowsrc.Record{w})
}

func TestEnterpriseFieldsIgnored(t *testing.T) {
	// Enterprise fields that reuse standard type numbers (1 octets, 2
	// packets, 8/12 addresses, 7 port) must never be read as the standard
	// IEs (RFC 5103 reverse fields: TestReverseFields).
	f := tcpFlow()
	f.Extra = map[flowtest.FieldKey][]byte{
		{Type: 1, PEN: 9}:  flowtest.BigEndian(1, 8),
		{Type: 2, PEN: 9}:  flowtest.BigEndian(2, 8),
		{Type: 8, PEN: 9}:  {9, 9, 9, 9},
		{Type: 12, PEN: 9}: {8, 8, 8, 8},
		{Type: 7, PEN: 9}:  flowtest.BigEndian(9, 2),
		{Type: 6, PEN: 9}:  flowtest.BigEndian(0x12, 2),
	}
	std := flowtest.IPFIXTemplate(256, false)
	fields := []flowtest.Field{{Type: 1, Length: 8, PEN: 9}, {Type: 8, Length: 4, PEN: 9}, {Type: 12, Length: 4, PEN: 9}}
	fields = append(fields, std.Fields...)
	fields = append(fields, flowtest.Field{Type: 2, Length: 8, PEN: 9}, flowtest.Field{Type: 7, Length: 2, PEN: 9},
		flowtest.Field{Type: 6, Length: 2, PEN: 9})
	tpl := flowtest.Template{ID: 256, Fields: fields}
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(tpl).Data(tpl, f).Bytes())
	diffRecords(t, got, []flowsrc.Record{want(f, exporterA, 0)})

	// Enterprise fields only: no addresses, nothing emitted, counted.
	only := flowtest.Template{ID: 257, Fields: []flowtest.Field{{Type: 8, Length: 4, PEN: 9}, {Type: 12, Length: 4, PEN: 9}, {Type: 1, Length: 8, PEN: 9}}}
	d := flowsrc.NewDatagramDecoder()
	recs, errs := decode(t, d, exporterA, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(only).Data(only, f).Bytes())
	if len(recs) != 0 || !errors.Is(errs[0], flowsrc.ErrUnsupported) || d.Stats().Drops.Unsupported != 1 {
		t.Errorf("enterprise-only record: %d records, error %v, stats %+v", len(recs), errs[0], d.Stats())
	}
}

// TestReverseFields: an IPFIX biflow (RFC 5103, as softflowd -b, YAF and
// ipfixprobe export it) carries the Dst→Src counters in the reverse IEs
// (PEN 29305); they become BytesToClient/PktsToClient, scaled by the
// sampling rate like the forward ones. Reverse fields other than the
// counters (flags, TOS) change nothing, and the initiator stays unknown
// (the forward side of a biflow is not necessarily the initiator).
func TestReverseFields(t *testing.T) {
	rev := func(typ, length uint16) flowtest.Field { return flowtest.Field{Type: typ, Length: length, PEN: 29305} }
	base := flowtest.IPFIXTemplate(0, false).Fields
	tests := []struct {
		name        string
		fields      []flowtest.Field
		extra       map[flowtest.FieldKey][]byte
		rate        uint32
		bytes, pkts uint64 // want BytesToClient, PktsToClient
		fwdB, fwdP  uint64 // want BytesToServer, PktsToServer
	}{
		{"delta counters (softflowd -b)", []flowtest.Field{rev(1, 4), rev(2, 4), rev(5, 1), rev(6, 1)},
			map[flowtest.FieldKey][]byte{{Type: 1, PEN: 29305}: flowtest.BigEndian(1078616, 4), {Type: 2, PEN: 29305}: flowtest.BigEndian(751, 4), {Type: 6, PEN: 29305}: {0x12}},
			1, 1078616, 751, 123456, 321},
		{"total counters (YAF)", []flowtest.Field{rev(85, 8), rev(86, 8)},
			map[flowtest.FieldKey][]byte{{Type: 85, PEN: 29305}: flowtest.BigEndian(200, 8), {Type: 86, PEN: 29305}: flowtest.BigEndian(2, 8)},
			1, 200, 2, 123456, 321},
		{"delta preferred over total", []flowtest.Field{rev(85, 8), rev(1, 8), rev(2, 8), rev(86, 8)},
			map[flowtest.FieldKey][]byte{{Type: 85, PEN: 29305}: flowtest.BigEndian(999, 8), {Type: 1, PEN: 29305}: flowtest.BigEndian(300, 8),
				{Type: 2, PEN: 29305}: flowtest.BigEndian(3, 8), {Type: 86, PEN: 29305}: flowtest.BigEndian(99, 8)},
			1, 300, 3, 123456, 321},
		{"sampled 1 in 100", []flowtest.Field{{Type: 34, Length: 4}, rev(1, 4), rev(2, 4)},
			map[flowtest.FieldKey][]byte{{Type: 1, PEN: 29305}: flowtest.BigEndian(1500, 4), {Type: 2, PEN: 29305}: flowtest.BigEndian(1, 4)},
			100, 150000, 100, 12345600, 32100},
		{"reduced-size reverse counter", []flowtest.Field{rev(1, 2)},
			map[flowtest.FieldKey][]byte{{Type: 1, PEN: 29305}: flowtest.BigEndian(4242, 2)},
			1, 4242, 0, 123456, 321},
		{"other PEN with the counter numbers: ignored", []flowtest.Field{{Type: 1, Length: 4, PEN: 29306}, {Type: 2, Length: 4, PEN: 29306}},
			map[flowtest.FieldKey][]byte{{Type: 1, PEN: 29306}: flowtest.BigEndian(7, 4), {Type: 2, PEN: 29306}: flowtest.BigEndian(7, 4)},
			1, 0, 0, 123456, 321},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tcpFlow()
			f.Extra = tt.extra
			f.SamplingInterval = tt.rate
			tpl := flowtest.Template{ID: uint16(256 + i), Fields: append(append([]flowtest.Field(nil), base...), tt.fields...)}
			got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(tpl).Data(tpl, f).Bytes())
			w := want(f, exporterA, 0)
			w.BytesToServer, w.PktsToServer = tt.fwdB, tt.fwdP
			w.BytesToClient, w.PktsToClient = tt.bytes, tt.pkts
			w.SamplingRate = tt.rate
			if tt.bytes != 0 || tt.pkts != 0 { // a biflow: its source initiated
				w.Initiator = flowsrc.InitiatorSrc
			}
			diffRecords(t, got, []flowsrc.Record{w})
		})
	}
}

// TestIPFIXUptimeAroundInit: IPFIX flowStart/EndSysUpTime (IE 22/21) are
// 32-bit milliseconds since systemInitTimeMilliseconds. softflowd reading
// a capture announces its own start as the init time and sends the
// capture's earlier packet times as negative uptimes modulo 2^32; they
// were put 49.7 days in the future. Like NetFlow v5/v9, a time is never
// put more than one hour after the export, else up to 49.7 days before.
func TestIPFIXUptimeAroundInit(t *testing.T) {
	tpl := flowtest.Template{ID: 256, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1},
		{Type: 22, Length: 4}, {Type: 21, Length: 4}, {Type: 160, Length: 8}}}
	const wrap = (1 << 32) * time.Millisecond
	tests := []struct {
		name       string
		init       time.Time // systemInitTimeMilliseconds
		start, end time.Time // encoded relative to init, modulo 2^32 ms
		want       [2]time.Time
	}{
		{"flow after init", export.Add(-time.Hour), export.Add(-40 * time.Second), export.Add(-2 * time.Second),
			[2]time.Time{export.Add(-40 * time.Second), export.Add(-2 * time.Second)}},
		{"flow before init (softflowd -r)", export.Add(-5 * time.Second), export.Add(-150 * time.Second), export.Add(-140 * time.Second),
			[2]time.Time{export.Add(-150 * time.Second), export.Add(-140 * time.Second)}},
		{"uptime wrapped since init (70 days up)", export.Add(-70 * 24 * time.Hour), export.Add(-40 * time.Second), export.Add(-2 * time.Second),
			[2]time.Time{export.Add(-40 * time.Second), export.Add(-2 * time.Second)}},
		{"up to one hour after export (clock race)", export.Add(-time.Hour), export.Add(-time.Second), export.Add(59 * time.Minute),
			[2]time.Time{export.Add(-time.Second), export.Add(59 * time.Minute)}},
		{"more than one hour after export: before a wrap", export.Add(-time.Hour), export.Add(90 * time.Minute), export.Add(2 * time.Hour),
			[2]time.Time{export.Add(90*time.Minute - wrap), export.Add(2*time.Hour - wrap)}},
		{"init far in the future", export.Add(1000 * time.Hour), export.Add(-40 * time.Second), export.Add(-2 * time.Second),
			[2]time.Time{export.Add(-40 * time.Second), export.Add(-2 * time.Second)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tcpFlow()
			f.Start, f.End = tt.start, tt.end
			got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA,
				flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export, SystemInit: tt.init}).Template(tpl).Data(tpl, f).Bytes())
			if len(got) != 1 {
				t.Fatalf("%d records", len(got))
			}
			if w := tt.want; !got[0].Start.Equal(w[0]) || !got[0].End.Equal(w[1]) {
				t.Errorf("start, end = %v, %v; want %v, %v", got[0].Start, got[0].End, w[0], w[1])
			}
		})
	}
}

// ---- timestamps ----

func TestTimestamps(t *testing.T) {
	start := export.Add(-30*time.Second - 123456789*time.Nanosecond)
	end := export.Add(-3*time.Second - 987654321*time.Nanosecond)
	boot := export.Add(-100 * time.Hour).Add(-250 * time.Millisecond)
	addr := []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}}
	tpl := func(id uint16, extra ...flowtest.Field) flowtest.Template {
		return flowtest.Template{ID: id, Fields: append(append([]flowtest.Field(nil), addr...), extra...)}
	}
	pair := func(s, e uint16, n uint16) []flowtest.Field {
		return []flowtest.Field{{Type: s, Length: n}, {Type: e, Length: n}}
	}
	tests := []struct {
		name       string
		tpl        flowtest.Template
		options    bool // announce systemInitTimeMilliseconds in options data
		start, end time.Time
	}{
		{"150/151 seconds", tpl(256, pair(150, 151, 4)...), false, start.Truncate(time.Second), end.Truncate(time.Second)},
		{"152/153 milliseconds", tpl(257, pair(152, 153, 8)...), false, start.Truncate(time.Millisecond), end.Truncate(time.Millisecond)},
		{"154/155 microseconds NTP", tpl(258, pair(154, 155, 8)...), false, start.Truncate(time.Microsecond), end.Truncate(time.Microsecond)},
		{"156/157 nanoseconds NTP", tpl(259, pair(156, 157, 8)...), false, start, end},
		{"158/159 delta microseconds", tpl(260, pair(158, 159, 4)...), false, export.Add(-export.Sub(start).Truncate(time.Microsecond)), export.Add(-export.Sub(end).Truncate(time.Microsecond))},
		{"22/21 with 160 in the record", tpl(261, flowtest.Field{Type: 22, Length: 4}, flowtest.Field{Type: 21, Length: 4}, flowtest.Field{Type: 160, Length: 8}), false,
			boot.Add(start.Sub(boot).Truncate(time.Millisecond)), boot.Add(end.Sub(boot).Truncate(time.Millisecond))},
		{"22/21 with 160 from options", tpl(262, flowtest.Field{Type: 22, Length: 4}, flowtest.Field{Type: 21, Length: 4}), true,
			boot.Add(start.Sub(boot).Truncate(time.Millisecond)), boot.Add(end.Sub(boot).Truncate(time.Millisecond))},
		{"22/21 without 160: export time", tpl(263, flowtest.Field{Type: 22, Length: 4}, flowtest.Field{Type: 21, Length: 4}), false, export, export},
		{"no time: export time", tpl(264), false, export, export},
		{"start only", tpl(265, flowtest.Field{Type: 152, Length: 8}), false, start.Truncate(time.Millisecond), start.Truncate(time.Millisecond)},
		{"end only", tpl(266, flowtest.Field{Type: 153, Length: 8}), false, end.Truncate(time.Millisecond), end.Truncate(time.Millisecond)},
		{"ns preferred over ms", tpl(267, flowtest.Field{Type: 152, Length: 8}, flowtest.Field{Type: 156, Length: 8}, flowtest.Field{Type: 153, Length: 8}, flowtest.Field{Type: 157, Length: 8}), false, start, end},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tcpFlow()
			f.Start, f.End = start, end
			h := flowtest.IPFIXHeader{ExportTime: export, DomainID: 3, SystemInit: boot}
			m := flowtest.NewIPFIX(h)
			if tt.options {
				ot := flowtest.OptionsTemplate{ID: 400, Scopes: []flowtest.Field{{Type: 149, Length: 4}}, Options: []flowtest.Field{{Type: 160, Length: 8}}}
				m.OptionsTemplate(ot).OptionsData(ot, map[flowtest.FieldKey][]byte{
					{Type: 149}: flowtest.BigEndian(3, 4),
					{Type: 160}: flowtest.BigEndian(uint64(boot.UnixMilli()), 8),
				})
			}
			d := flowsrc.NewDatagramDecoder()
			got := decodeOK(t, d, exporterA, m.Template(tt.tpl).Data(tt.tpl, f).Bytes())
			if len(got) != 1 {
				t.Fatalf("%d records", len(got))
			}
			if !got[0].Start.Equal(tt.start) || !got[0].End.Equal(tt.end) {
				t.Errorf("start, end = %v, %v; want %v, %v", got[0].Start, got[0].End, tt.start, tt.end)
			}
			if got[0].Start.Location() != time.UTC || got[0].End.Location() != time.UTC {
				t.Errorf("times not in UTC: %v", got[0].Start.Location())
			}
			if tt.options && d.Stats().OptionsRecords != 1 {
				t.Errorf("OptionsRecords = %d", d.Stats().OptionsRecords)
			}
		})
	}
}

func TestTimestampFallbacks(t *testing.T) {
	// A zero export time falls back to the arrival time.
	tpl := flowtest.Template{ID: 256, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}}}
	f := tcpFlow()
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: time.Unix(0, 0)}).Template(tpl).Data(tpl, f).Bytes())
	if len(got) != 1 || !got[0].Start.Equal(received) || !got[0].End.Equal(received) {
		t.Errorf("records %+v, want times = received %v", got, received)
	}
	// Start after end is clamped.
	inv := tcpFlow()
	inv.Start, inv.End = inv.End, inv.Start
	t2 := flowtest.IPFIXTemplate(257, false)
	got = decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(t2).Data(t2, inv).Bytes())
	if len(got) != 1 || !got[0].Start.Equal(inv.End) || !got[0].End.Equal(inv.End) {
		t.Errorf("inverted times: %v, %v; want both %v", got[0].Start, got[0].End, inv.End)
	}
}

// ---- sampling ----

func TestSamplingInline(t *testing.T) {
	base := flowtest.V9Template(0, false).Fields
	tpl := func(id uint16, extra ...flowtest.Field) flowtest.Template {
		return flowtest.Template{ID: id, Fields: append(append([]flowtest.Field(nil), base...), extra...)}
	}
	tests := []struct {
		name  string
		ipfix bool
		tpl   flowtest.Template
		extra map[flowtest.FieldKey][]byte
		rate  uint32
	}{
		{"v9 IE 34", false, tpl(256, flowtest.Field{Type: 34, Length: 4}, flowtest.Field{Type: 35, Length: 1}), map[flowtest.FieldKey][]byte{{Type: 34}: flowtest.BigEndian(512, 4)}, 512},
		{"v9 IE 50", false, tpl(257, flowtest.Field{Type: 50, Length: 4}), map[flowtest.FieldKey][]byte{{Type: 50}: flowtest.BigEndian(2000, 4)}, 2000},
		{"v9 IE 34 zero: unsampled", false, tpl(258, flowtest.Field{Type: 34, Length: 4}), map[flowtest.FieldKey][]byte{{Type: 34}: flowtest.BigEndian(0, 4)}, 1},
		{"ipfix IE 305/306", true, tpl(259, flowtest.Field{Type: 305, Length: 4}, flowtest.Field{Type: 306, Length: 4}),
			map[flowtest.FieldKey][]byte{{Type: 305}: flowtest.BigEndian(1, 4), {Type: 306}: flowtest.BigEndian(999, 4)}, 1000},
		{"ipfix IE 305/306 interval 2 space 8", true, tpl(260, flowtest.Field{Type: 305, Length: 4}, flowtest.Field{Type: 306, Length: 4}),
			map[flowtest.FieldKey][]byte{{Type: 305}: flowtest.BigEndian(2, 4), {Type: 306}: flowtest.BigEndian(8, 4)}, 5},
		{"ipfix IE 305 alone: not a rate", true, tpl(261, flowtest.Field{Type: 305, Length: 4}),
			map[flowtest.FieldKey][]byte{{Type: 305}: flowtest.BigEndian(1000, 4)}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tcpFlow()
			f.Extra = tt.extra
			var dg []byte
			if tt.ipfix {
				dg = flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export, SystemInit: export.Add(-72 * time.Hour)}).Template(tt.tpl).Data(tt.tpl, f).Bytes()
			} else {
				dg = flowtest.NewV9(v9Header(0)).Template(tt.tpl).Data(tt.tpl, f).Bytes()
			}
			got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, dg)
			if len(got) != 1 {
				t.Fatalf("%d records", len(got))
			}
			r := got[0]
			if r.SamplingRate != tt.rate || r.BytesToServer != f.Bytes*uint64(tt.rate) || r.PktsToServer != f.Packets*uint64(tt.rate) {
				t.Errorf("rate %d bytes %d packets %d; want rate %d", r.SamplingRate, r.BytesToServer, r.PktsToServer, tt.rate)
			}
		})
	}
}

func TestSamplingOptions(t *testing.T) {
	// NetFlow v9: a sampler options template scoped on the system, with
	// FLOW_SAMPLER_ID (48) and FLOW_SAMPLER_RANDOM_INTERVAL (50).
	v9ot := flowtest.OptionsTemplate{ID: 257,
		Scopes:  []flowtest.Field{{Type: 1, Length: 4}},
		Options: []flowtest.Field{{Type: 48, Length: 1}, {Type: 49, Length: 1}, {Type: 50, Length: 4}}}
	v9rate := func(id uint8, rate uint32) map[flowtest.FieldKey][]byte {
		return map[flowtest.FieldKey][]byte{
			{Type: 1}:  flowtest.BigEndian(0x0a000001, 4), // scope System: would be IE 1 if misread
			{Type: 48}: {id}, {Type: 49}: {2}, {Type: 50}: flowtest.BigEndian(uint64(rate), 4),
		}
	}
	// IPFIX: scope selectorId (302), samplingPacketInterval/Space.
	ipfixOT := flowtest.OptionsTemplate{ID: 258,
		Scopes:  []flowtest.Field{{Type: 302, Length: 8}},
		Options: []flowtest.Field{{Type: 305, Length: 4}, {Type: 306, Length: 4}}}
	ipfixRate := func(id uint64, space uint64) map[flowtest.FieldKey][]byte {
		return map[flowtest.FieldKey][]byte{{Type: 302}: flowtest.BigEndian(id, 8), {Type: 305}: flowtest.BigEndian(1, 4), {Type: 306}: flowtest.BigEndian(space, 4)}
	}
	// Domain-wide IPFIX rate: samplingInterval scoped on the domain.
	domainOT := flowtest.OptionsTemplate{ID: 259,
		Scopes:  []flowtest.Field{{Type: 149, Length: 4}},
		Options: []flowtest.Field{{Type: 34, Length: 4}}}

	withID := flowtest.Template{ID: 300, Fields: append(append([]flowtest.Field(nil), flowtest.V9Template(0, false).Fields...), flowtest.Field{Type: 48, Length: 1})}
	withSelector := flowtest.Template{ID: 301, Fields: append(append([]flowtest.Field(nil), flowtest.IPFIXTemplate(0, false).Fields...), flowtest.Field{Type: 302, Length: 4})}
	plainV9 := flowtest.V9Template(302, false)
	plainIPFIX := flowtest.IPFIXTemplate(303, false)
	flow := func(sampler uint8, selector uint64) flowtest.Flow {
		f := tcpFlow()
		f.SamplerID = sampler
		if selector != 0 {
			f.Extra = map[flowtest.FieldKey][]byte{{Type: 302}: flowtest.BigEndian(selector, 4)}
		}
		return f
	}
	ipfixH := flowtest.IPFIXHeader{ExportTime: export, DomainID: 4}

	tests := []struct {
		name      string
		datagrams [][]byte
		rates     []uint32
	}{
		{"v9 two samplers, records name theirs", [][]byte{
			flowtest.NewV9(v9Header(0)).OptionsTemplate(v9ot).OptionsData(v9ot, v9rate(1, 100), v9rate(2, 4000)).Bytes(),
			flowtest.NewV9(v9Header(0)).Template(withID).Data(withID, flow(2, 0), flow(1, 0), flow(3, 0)).Bytes(),
		}, []uint32{4000, 100, 1}},
		{"v9 single sampler applies to records without ID", [][]byte{
			flowtest.NewV9(v9Header(0)).OptionsTemplate(v9ot).OptionsData(v9ot, v9rate(1, 250)).Template(plainV9).Data(plainV9, flow(0, 0)).Bytes(),
		}, []uint32{250}},
		{"v9 two samplers, record without ID: unknown", [][]byte{
			flowtest.NewV9(v9Header(0)).OptionsTemplate(v9ot).OptionsData(v9ot, v9rate(1, 250), v9rate(2, 500)).Template(plainV9).Data(plainV9, flow(0, 0)).Bytes(),
		}, []uint32{1}},
		{"v9 options apply to later records only", [][]byte{
			flowtest.NewV9(v9Header(0)).Template(withID).OptionsTemplate(v9ot).Data(withID, flow(1, 0)).OptionsData(v9ot, v9rate(1, 64)).Data(withID, flow(1, 0)).Bytes(),
		}, []uint32{1, 64}},
		{"v9 options of another domain do not apply", [][]byte{
			flowtest.NewV9(v9Header(7)).OptionsTemplate(v9ot).OptionsData(v9ot, v9rate(1, 100)).Bytes(),
			flowtest.NewV9(v9Header(0)).Template(withID).Data(withID, flow(1, 0)).Bytes(),
		}, []uint32{1}},
		{"ipfix selector scope", [][]byte{
			flowtest.NewIPFIX(ipfixH).OptionsTemplate(ipfixOT).OptionsData(ipfixOT, ipfixRate(77, 1999), ipfixRate(78, 9)).Bytes(),
			flowtest.NewIPFIX(ipfixH).Template(withSelector).Data(withSelector, flow(0, 78), flow(0, 77)).Bytes(),
		}, []uint32{10, 2000}},
		{"ipfix domain-wide rate", [][]byte{
			flowtest.NewIPFIX(ipfixH).OptionsTemplate(domainOT).OptionsData(domainOT, map[flowtest.FieldKey][]byte{{Type: 149}: flowtest.BigEndian(4, 4), {Type: 34}: flowtest.BigEndian(8192, 4)}).
				Template(plainIPFIX, withSelector).Data(plainIPFIX, flow(0, 0)).Data(withSelector, flow(0, 5)).Bytes(),
		}, []uint32{8192, 8192}},
		{"rate updated by a later announcement", [][]byte{
			flowtest.NewIPFIX(ipfixH).OptionsTemplate(ipfixOT).OptionsData(ipfixOT, ipfixRate(1, 99)).Template(withSelector).Data(withSelector, flow(0, 1)).Bytes(),
			flowtest.NewIPFIX(ipfixH).OptionsData(ipfixOT, ipfixRate(1, 49)).Data(withSelector, flow(0, 1)).Bytes(),
		}, []uint32{100, 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := flowsrc.NewDatagramDecoder()
			got := decodeOK(t, d, exporterA, tt.datagrams...)
			var rates []uint32
			f := tcpFlow()
			for _, r := range got {
				rates = append(rates, r.SamplingRate)
				if r.BytesToServer != f.Bytes*uint64(r.SamplingRate) || r.PktsToServer != f.Packets*uint64(r.SamplingRate) {
					t.Errorf("rate %d: bytes %d packets %d", r.SamplingRate, r.BytesToServer, r.PktsToServer)
				}
			}
			if d := cmp.Diff(tt.rates, rates); d != "" {
				t.Errorf("rates (-want +got):\n%s", d)
			}
			if d.Stats().OptionsRecords == 0 {
				t.Error("no options records counted")
			}
		})
	}
}

// ---- templates: degenerate, limits, withdrawal, padding ----

func TestDegenerateTemplates(t *testing.T) {
	f := tcpFlow()
	zero := flowtest.Template{ID: 256, Fields: []flowtest.Field{{Type: 8, Length: 0}, {Type: 12, Length: 0}}}
	none := flowtest.Template{ID: 257} // v9: no fields
	zeroOpts := flowtest.OptionsTemplate{ID: 258, Scopes: []flowtest.Field{{Type: 1, Length: 0}}, Options: []flowtest.Field{{Type: 34, Length: 0}}}
	low := flowtest.Template{ID: 255, Fields: flowtest.V9Template(0, false).Fields}
	tests := []struct {
		name string
		dg   []byte
		kind error
	}{
		{"zero-length fields", flowtest.NewV9(v9Header(0)).Template(zero).Data(zero, f).Bytes(), flowsrc.ErrMalformed},
		{"v9 template without fields", flowtest.NewV9(v9Header(0)).Template(none).Bytes(), flowsrc.ErrMalformed},
		{"zero-length options template", flowtest.NewV9(v9Header(0)).OptionsTemplate(zeroOpts).OptionsData(zeroOpts, map[flowtest.FieldKey][]byte{}).Bytes(), flowsrc.ErrMalformed},
		{"template ID below 256", flowtest.NewV9(v9Header(0)).Template(low).Bytes(), flowsrc.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := flowsrc.NewDatagramDecoder()
			done := make(chan struct{})
			var recs []flowsrc.Record
			var errs []error
			go func() {
				defer close(done)
				recs, errs = decode(t, d, exporterA, tt.dg)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Decode does not return")
			}
			if len(recs) != 0 || !errors.Is(errs[0], tt.kind) {
				t.Errorf("%d records, error %v; want none and %v", len(recs), errs[0], tt.kind)
			}
			if st := d.Stats(); st.Templates != 0 {
				t.Errorf("degenerate template accepted: %+v", st)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	f := tcpFlow()
	t.Run("templates per exporter", func(t *testing.T) {
		d := flowsrc.NewDatagramDecoder(flowsrc.WithMaxTemplates(2))
		t1, t2, t3 := flowtest.V9Template(256, false), flowtest.V9Template(257, false), flowtest.V9Template(258, false)
		_, errs := decode(t, d, exporterA, flowtest.NewV9(v9Header(0)).Template(t1, t2, t3).Bytes())
		if !errors.Is(errs[0], flowsrc.ErrLimit) {
			t.Errorf("third template: %v, want ErrLimit", errs[0])
		}
		// Redefining a known template is still allowed; another exporter
		// has its own budget.
		decodeOK(t, d, exporterA, flowtest.NewV9(v9Header(0)).Template(t1).Data(t1, f).Bytes())
		decodeOK(t, d, exporterB, flowtest.NewV9(v9Header(0)).Template(t3).Data(t3, f).Bytes())
		if st := d.Stats(); st.Drops.Limit != 1 || st.Templates != 4 || st.Records != 2 {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("exporters", func(t *testing.T) {
		d := flowsrc.NewDatagramDecoder(flowsrc.WithMaxExporters(1))
		tpl := flowtest.V9Template(256, false)
		dg := flowtest.NewV9(v9Header(0)).Template(tpl).Data(tpl, f).Bytes()
		decodeOK(t, d, exporterA, dg)
		recs, errs := decode(t, d, exporterB, dg)
		if len(recs) != 0 || !errors.Is(errs[0], flowsrc.ErrLimit) {
			t.Errorf("second exporter: %d records, %v", len(recs), errs[0])
		}
		// Stateless formats are not limited.
		decodeOK(t, d, exporterB, flowtest.AppendV5(nil, v5Header(), []flowtest.Flow{f}))
	})
	t.Run("fields per template", func(t *testing.T) {
		d := flowsrc.NewDatagramDecoder(flowsrc.WithMaxTemplateFields(5))
		tpl := flowtest.V9Template(256, false)
		_, errs := decode(t, d, exporterA, flowtest.NewV9(v9Header(0)).Template(tpl).Data(tpl, f).Bytes())
		if !errors.Is(errs[0], flowsrc.ErrLimit) {
			t.Errorf("long template: %v, want ErrLimit", errs[0])
		}
	})
	t.Run("samplers", func(t *testing.T) {
		d := flowsrc.NewDatagramDecoder(flowsrc.WithMaxSamplers(1))
		ot := flowtest.OptionsTemplate{ID: 257, Scopes: []flowtest.Field{{Type: 1, Length: 4}}, Options: []flowtest.Field{{Type: 48, Length: 1}, {Type: 50, Length: 4}}}
		rec := func(id uint8) map[flowtest.FieldKey][]byte {
			return map[flowtest.FieldKey][]byte{{Type: 48}: {id}, {Type: 50}: flowtest.BigEndian(10, 4)}
		}
		_, errs := decode(t, d, exporterA, flowtest.NewV9(v9Header(0)).OptionsTemplate(ot).OptionsData(ot, rec(1), rec(2)).Bytes())
		if !errors.Is(errs[0], flowsrc.ErrLimit) {
			t.Errorf("second sampler: %v, want ErrLimit", errs[0])
		}
	})
}

func TestIPFIXTemplateWithdrawal(t *testing.T) {
	f := tcpFlow()
	tpl := flowtest.IPFIXTemplate(256, false)
	tpl2 := flowtest.IPFIXTemplate(257, false)
	h := flowtest.IPFIXHeader{ExportTime: export}
	d := flowsrc.NewDatagramDecoder()
	decodeOK(t, d, exporterA, flowtest.NewIPFIX(h).Template(tpl, tpl2).Data(tpl, f).Bytes())
	// Withdraw 256 (a template record without fields).
	decodeOK(t, d, exporterA, flowtest.NewIPFIX(h).Template(flowtest.Template{ID: 256}).Bytes())
	_, errs := decode(t, d, exporterA, flowtest.NewIPFIX(h).Data(tpl, f).Bytes())
	if !errors.Is(errs[0], flowsrc.ErrTemplateMissing) {
		t.Errorf("after withdrawal: %v, want ErrTemplateMissing", errs[0])
	}
	decodeOK(t, d, exporterA, flowtest.NewIPFIX(h).Data(tpl2, f).Bytes())
	// Withdraw all data templates (template ID 2 = the set ID).
	decodeOK(t, d, exporterA, flowtest.NewIPFIX(h).Template(flowtest.Template{ID: 2}).Bytes())
	_, errs = decode(t, d, exporterA, flowtest.NewIPFIX(h).Data(tpl2, f).Bytes())
	if !errors.Is(errs[0], flowsrc.ErrTemplateMissing) {
		t.Errorf("after withdrawing all: %v, want ErrTemplateMissing", errs[0])
	}
}

func TestPadding(t *testing.T) {
	f := tcpFlow()
	tpl := flowtest.V9Template(256, false)
	dg := flowtest.NewV9(v9Header(0)).Template(tpl).Data(tpl, f, f).Bytes()
	// Datagram padded with zeros after the last flowset (Palo Alto) and a
	// v9 header count that lies (ignored: sets are walked by length).
	padded := append(append([]byte(nil), dg...), make([]byte, 37)...)
	binary.BigEndian.PutUint16(padded[2:], 1)
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, padded)
	diffRecords(t, got, []flowsrc.Record{want(f, exporterA, 0), want(f, exporterA, 0)})

	// IPFIX data set padded inside the set.
	it := flowtest.IPFIXTemplate(256, false)
	m := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(it).Data(it, f).Bytes()
	m = append(m, 0, 0, 0)
	binary.BigEndian.PutUint16(m[2:], uint16(len(m))) // message length
	size := 0
	for _, fd := range it.Fields {
		size += int(fd.Length)
	}
	setStart := len(m) - 3 - (4 + size)                                 // one record
	binary.BigEndian.PutUint16(m[setStart+2:], uint16(len(m)-setStart)) // set length
	got = decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, m)
	diffRecords(t, got, []flowsrc.Record{want(f, exporterA, 0)})
}

func TestVariableLengthFields(t *testing.T) {
	f := tcpFlow()
	name := []byte(strings.Repeat("x", 300)) // 3-byte length prefix
	f.Extra = map[flowtest.FieldKey][]byte{{Type: 96}: name, {Type: 82}: []byte("eth0")}
	tpl := flowtest.Template{ID: 256, Fields: append(append([]flowtest.Field(nil), flowtest.IPFIXTemplate(0, false).Fields...),
		flowtest.Field{Type: 96, Length: flowtest.Variable}, flowtest.Field{Type: 82, Length: flowtest.Variable})}
	h := flowtest.IPFIXHeader{ExportTime: export}
	dg := flowtest.NewIPFIX(h).Template(tpl).Data(tpl, f, f).Bytes()
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, dg)
	diffRecords(t, got, []flowsrc.Record{want(f, exporterA, 0), want(f, exporterA, 0)})

	// Cut the second record inside its variable-length value and fix up
	// the set and message lengths: goflow2 would return a short value;
	// the decoder drops the record as malformed and keeps the first.
	cut := append([]byte(nil), dg[:len(dg)-100]...)
	binary.BigEndian.PutUint16(cut[2:], uint16(len(cut)))
	dataSet := 16 + 4 + 4 + 4*len(tpl.Fields)
	binary.BigEndian.PutUint16(cut[dataSet+2:], uint16(len(cut)-dataSet))
	d := flowsrc.NewDatagramDecoder()
	recs, errs := decode(t, d, exporterA, cut)
	diffRecords(t, recs, []flowsrc.Record{want(f, exporterA, 0)})
	if !errors.Is(errs[0], flowsrc.ErrMalformed) || d.Stats().Drops.Malformed != 1 {
		t.Errorf("error %v, stats %+v", errs[0], d.Stats())
	}
}

// ---- PSAMP packet reports ----

func TestPacketReports(t *testing.T) {
	pkt := flowtest.Flow{
		Src: netip.MustParseAddr("198.51.100.3"), Dst: netip.MustParseAddr("198.51.100.4"),
		SrcPort: 443, DstPort: 28911, Proto: 6, TCPFlags: 0x10,
	}
	frame := flowtest.Packet(pkt, 1000, 42)
	tpl := flowtest.Template{ID: 384, Fields: []flowtest.Field{
		{Type: 10, Length: 4}, {Type: 14, Length: 4}, {Type: 61, Length: 1}, {Type: 312, Length: 2}, {Type: 315, Length: flowtest.Variable},
	}}
	rec := flowtest.Flow{Extra: map[flowtest.FieldKey][]byte{{Type: 312}: flowtest.BigEndian(1518, 2), {Type: 315}: frame[:64]}}
	ot := flowtest.OptionsTemplate{ID: 500, Scopes: []flowtest.Field{{Type: 149, Length: 4}}, Options: []flowtest.Field{{Type: 305, Length: 4}, {Type: 306, Length: 4}}}
	dg := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export, DomainID: 2}).
		OptionsTemplate(ot).OptionsData(ot, map[flowtest.FieldKey][]byte{{Type: 305}: flowtest.BigEndian(1, 4), {Type: 306}: flowtest.BigEndian(99, 4)}).
		Template(tpl).Data(tpl, rec).Bytes()
	got := decodeOK(t, flowsrc.NewDatagramDecoder(), exporterA, dg)
	diffRecords(t, got, []flowsrc.Record{{
		Start: export, End: export,
		Src: pkt.Src, Dst: pkt.Dst, SrcPort: 443, DstPort: 28911, Proto: 6, TCPFlags: 0x10,
		BytesToServer: 1518 * 100, PktsToServer: 100, SamplingRate: 100,
		Exporter: exporterA, ObservationDomain: 2,
	}})
}

// ---- sFlow ----

func TestSFlow(t *testing.T) {
	tcp := flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 1234, DstPort: 80, Proto: 6, TCPFlags: 0x18}
	udp6 := flowtest.Flow{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), SrcPort: 53, DstPort: 5353, Proto: 17}
	icmp6 := flowtest.Flow{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("ff02::1"), Proto: 58, ICMPType: 135}
	samples := []flowtest.SFlowSample{
		{Sequence: 1, SamplingRate: 4096, Frame: flowtest.Packet(tcp, 100, 0), FrameLength: 1518},
		{Sequence: 2, SamplingRate: 1024, Expanded: true, Frame: flowtest.Packet(udp6, 200, 1062)},
		{Sequence: 3, SamplingRate: 0, Frame: flowtest.Packet(icmp6, 24, 0), Stripped: 4},
		{Sequence: 4, SamplingRate: 10}, // no flow record: not a flow
	}
	h := flowtest.SFlowHeader{Agent: netip.MustParseAddr("192.0.2.100"), SubAgentID: 100, Uptime: time.Hour}
	dg := flowtest.AppendSFlow(nil, h, samples)
	d := flowsrc.NewDatagramDecoder()
	recs, errs := decode(t, d, exporterA, dg)
	if !errors.Is(errs[0], flowsrc.ErrUnsupported) {
		t.Errorf("error %v, want ErrUnsupported for the sample without records", errs[0])
	}
	rec := func(f flowtest.Flow, bytes uint64, rate uint32) flowsrc.Record {
		r := flowsrc.Record{
			Start: received, End: received, Src: f.Src, Dst: f.Dst, Proto: f.Proto, TCPFlags: f.TCPFlags,
			SrcPort: f.SrcPort, DstPort: f.DstPort,
			BytesToServer: bytes * uint64(rate), PktsToServer: uint64(rate), SamplingRate: rate,
			Exporter: exporterA, ObservationDomain: 100,
		}
		if f.Proto == 58 {
			r.HasICMP, r.ICMPType = true, f.ICMPType
		}
		return r
	}
	diffRecords(t, recs, []flowsrc.Record{
		rec(tcp, 1518, 4096),
		rec(udp6, uint64(len(samples[1].Frame)), 1024),
		rec(icmp6, uint64(len(samples[2].Frame))+4, 1),
	})
	if st := d.Stats(); st.SFlow != 1 || st.Records != 3 || st.Drops.Unsupported != 1 {
		t.Errorf("stats %+v", st)
	}
}

// sflowDatagram builds an sFlow v5 datagram from raw samples (format,
// body) for the cases flowtest does not cover.
func sflowDatagram(samples ...[]byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, 5)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = append(b, 192, 0, 2, 100)
	b = binary.BigEndian.AppendUint32(b, 0)    // sub-agent
	b = binary.BigEndian.AppendUint32(b, 1)    // sequence
	b = binary.BigEndian.AppendUint32(b, 1000) // uptime
	b = binary.BigEndian.AppendUint32(b, uint32(len(samples)))
	for _, s := range samples {
		b = append(b, s...)
	}
	return b
}

func sflowSample(format uint32, body []byte) []byte {
	b := binary.BigEndian.AppendUint32(nil, format)
	b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
	return append(b, body...)
}

func u32s(vs ...uint32) []byte {
	var b []byte
	for _, v := range vs {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	return b
}

func TestSFlowRecordsAndCounters(t *testing.T) {
	// flow_sample with one sampled IPv4 record (type 3).
	ipv4 := append(u32s(100, 6), 10, 1, 1, 1, 10, 2, 2, 2)
	ipv4 = append(ipv4, u32s(443, 51000, 0x12, 0)...)
	flowBody := append(u32s(1, 5, 512, 1000, 0, 1, 2, 1, 3, uint32(len(ipv4))), ipv4...)
	counterBody := u32s(1, 7, 1, 2, 4, 0) // seq, source, 1 record of format 2 with 4 bytes... (not decoded)
	dg := sflowDatagram(sflowSample(1, flowBody), sflowSample(2, counterBody), sflowSample(4, counterBody))
	d := flowsrc.NewDatagramDecoder()
	recs := decodeOK(t, d, exporterA, dg)
	diffRecords(t, recs, []flowsrc.Record{{
		Start: received, End: received,
		Src: netip.MustParseAddr("10.1.1.1"), Dst: netip.MustParseAddr("10.2.2.2"), SrcPort: 443, DstPort: 51000, Proto: 6, TCPFlags: 0x12,
		BytesToServer: 100 * 512, PktsToServer: 512, SamplingRate: 512, Exporter: exporterA,
	}})
	if st := d.Stats(); st.CounterSamples != 2 || st.Records != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestSFlowMalformed(t *testing.T) {
	// An expanded flow sample claiming 2^32-1 records (goflow2 would
	// allocate them all), a flow sample claiming more records than it
	// has bytes, an enterprise sample, a drop sample, and a sample count
	// larger than the datagram.
	huge := sflowSample(3, u32s(1, 0, 1, 10, 0, 0, 0, 1, 0, 2, 0xffffffff))
	lying := sflowSample(1, u32s(1, 1, 10, 0, 0, 1, 2, 50))
	enterprise := sflowSample(4413<<12|1, u32s(1, 2, 3))
	drop := sflowSample(5, u32s(1, 2, 3))
	tests := []struct {
		name string
		dg   []byte
		kind error
	}{
		{"huge record count", sflowDatagram(huge), flowsrc.ErrMalformed},
		{"lying record count", sflowDatagram(lying), flowsrc.ErrMalformed},
		{"enterprise sample", sflowDatagram(enterprise), flowsrc.ErrUnsupported},
		{"drop sample", sflowDatagram(drop), flowsrc.ErrUnsupported},
		{"sample count lies", func() []byte { b := sflowDatagram(); binary.BigEndian.PutUint32(b[24:], 3); return b }(), flowsrc.ErrMalformed},
		{"sample longer than datagram", sflowDatagram(sflowSample(1, u32s(1, 2))[:12]), flowsrc.ErrMalformed},
		{"header cut", sflowDatagram()[:20], flowsrc.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := flowsrc.NewDatagramDecoder()
			recs, errs := decode(t, d, exporterA, tt.dg)
			if len(recs) != 0 || !errors.Is(errs[0], tt.kind) {
				t.Errorf("%d records, error %v; want %v", len(recs), errs[0], tt.kind)
			}
		})
	}
	// A good sample after a bad one is still decoded.
	good := flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: netip.MustParseAddr("192.0.2.1")}, []flowtest.SFlowSample{
		{SamplingRate: 2, Frame: flowtest.Packet(tcpFlow(), 10, 0)},
	})
	dg := sflowDatagram(lying, good[28:])
	recs, errs := decode(t, flowsrc.NewDatagramDecoder(), exporterA, dg)
	if len(recs) != 1 || !errors.Is(errs[0], flowsrc.ErrMalformed) {
		t.Errorf("bad then good sample: %d records, %v", len(recs), errs[0])
	}
}

// ---- errors ----

func TestUnknownFormat(t *testing.T) {
	d := flowsrc.NewDatagramDecoder()
	recs, errs := decode(t, d, exporterA, []byte("GET / HTTP/1.1\r\n"))
	if len(recs) != 0 || !errors.Is(errs[0], flowsrc.ErrUnknownFormat) {
		t.Fatalf("%d records, %v", len(recs), errs[0])
	}
	msg := errs[0].Error()
	for _, s := range []string{"flowsrc: ", "192.0.2.1", "unknown format", "474554202f204854"} {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	if st := d.Stats(); st.Drops.UnknownFormat != 1 || st.Drops.Total() != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestDecodeErrorMore(t *testing.T) {
	// Three data sets without template: one error, More = 2, three drops.
	f := tcpFlow()
	tpl := flowtest.V9Template(256, false)
	dg := flowtest.NewV9(v9Header(0)).Data(tpl, f).Data(tpl, f).Data(tpl, f).Bytes()
	d := flowsrc.NewDatagramDecoder()
	_, errs := decode(t, d, exporterA, dg)
	var de *flowsrc.DecodeError
	if !errors.As(errs[0], &de) || de.More != 2 || de.Kind != flowsrc.ErrTemplateMissing {
		t.Fatalf("error %+v", errs[0])
	}
	if !strings.Contains(de.Error(), "and 2 more skipped parts") {
		t.Errorf("message %q", de.Error())
	}
	if d.Stats().Drops.TemplateMissing != 3 {
		t.Errorf("stats %+v", d.Stats())
	}
}

// TestTruncations decodes every prefix of valid datagrams of each format:
// no panic, an error whenever records were lost, never more records than
// the whole datagram gives.
func TestTruncations(t *testing.T) {
	f := tcpFlow()
	tpl := flowtest.V9Template(256, false)
	itpl := flowtest.Template{ID: 257, Fields: append(append([]flowtest.Field(nil), flowtest.IPFIXTemplate(0, true).Fields...), flowtest.Field{Type: 82, Length: flowtest.Variable})}
	f6 := f
	f6.Src, f6.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	f6.Extra = map[flowtest.FieldKey][]byte{{Type: 82}: []byte("ge-0/0/0")}
	ot := flowtest.OptionsTemplate{ID: 258, Scopes: []flowtest.Field{{Type: 1, Length: 4}}, Options: []flowtest.Field{{Type: 34, Length: 4}}}
	datagrams := map[string][]byte{
		"v5":    flowtest.AppendV5(nil, v5Header(), []flowtest.Flow{f, f}),
		"v9":    flowtest.NewV9(v9Header(0)).Template(tpl).OptionsTemplate(ot).OptionsData(ot, map[flowtest.FieldKey][]byte{{Type: 34}: flowtest.BigEndian(10, 4)}).Data(tpl, f, f).Bytes(),
		"ipfix": flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(itpl).Data(itpl, f6, f6).Bytes(),
		"sflow": flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: netip.MustParseAddr("192.0.2.1")}, []flowtest.SFlowSample{
			{SamplingRate: 2, Frame: flowtest.Packet(f, 10, 7)}, {SamplingRate: 3, Expanded: true, Frame: flowtest.Packet(f6, 10, 0)},
		}),
	}
	for name, full := range datagrams {
		t.Run(name, func(t *testing.T) {
			all, errs := decode(t, flowsrc.NewDatagramDecoder(), exporterA, full)
			if errs[0] != nil || len(all) != 2 {
				t.Fatalf("full datagram: %d records, %v", len(all), errs[0])
			}
			for n := range len(full) {
				recs, errs := decode(t, flowsrc.NewDatagramDecoder(), exporterA, full[:n])
				if len(recs) > len(all) {
					t.Errorf("prefix %d: %d records", n, len(recs))
				}
				if len(recs) < len(all) && errs[0] == nil {
					t.Errorf("prefix %d: %d records and no error", n, len(recs))
				}
				for i := range recs {
					if recs[i] != all[i] {
						t.Errorf("prefix %d: record %d differs: %+v", n, i, recs[i])
					}
				}
			}
		})
	}
}

// ---- concurrency ----

func TestConcurrentDecode(t *testing.T) {
	d := flowsrc.NewDatagramDecoder()
	f := tcpFlow()
	var wg sync.WaitGroup
	const exporters, datagrams = 8, 50
	for i := range exporters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			exp := netip.AddrFrom4([4]byte{10, 0, 0, byte(i + 1)})
			tpl := flowtest.V9Template(uint16(256+i), i%2 == 1)
			ff := f
			if i%2 == 1 {
				ff.Src, ff.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
			}
			m := flowtest.NewV9(v9Header(uint32(i))).Template(tpl).Data(tpl, ff)
			for range datagrams {
				n := 0
				err := d.Decode(exp, received, m.Bytes(), func(r *flowsrc.Record) {
					n++
					if r.Exporter != exp || r.Src != ff.Src {
						t.Errorf("record %+v from exporter %v", r, exp)
					}
				})
				if err != nil || n != 1 {
					t.Errorf("exporter %v: %d records, %v", exp, n, err)
				}
				_ = d.Stats()
			}
		}()
	}
	wg.Wait()
	if st := d.Stats(); st.Records != exporters*datagrams || st.NetFlowV9 != exporters*datagrams {
		t.Errorf("stats %+v", st)
	}
}

func TestLengthsThatLie(t *testing.T) {
	f := tcpFlow()
	it := flowtest.IPFIXTemplate(256, false)
	msg := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(it).Data(it, f).Bytes()
	withLen := func(b []byte, n int) []byte {
		b = append([]byte(nil), b...)
		binary.BigEndian.PutUint16(b[2:], uint16(n))
		return b
	}
	v9 := flowtest.NewV9(v9Header(0)).Template(flowtest.V9Template(256, false)).Data(flowtest.V9Template(256, false), f).Bytes()
	reserved := append(append([]byte(nil), v9...), 0, 7, 0, 8, 1, 2, 3, 4) // set ID 7
	badSet := append(append([]byte(nil), v9...), 1, 0, 0, 2)               // set length 2
	tests := []struct {
		name    string
		dg      []byte
		records int
		kind    error
	}{
		{"ipfix length below header", withLen(msg, 12), 0, flowsrc.ErrMalformed},
		{"ipfix length beyond datagram", withLen(msg, len(msg)+10), 1, flowsrc.ErrMalformed},
		{"ipfix trailing bytes after message", append(append([]byte(nil), msg...), 0, 10, 0, 16), 1, flowsrc.ErrMalformed},
		{"ipfix trailing zero padding", append(append([]byte(nil), msg...), 0, 0, 0, 0), 1, nil},
		{"ipfix length cuts the data set", withLen(msg, len(msg)-10), 0, flowsrc.ErrMalformed},
		{"v9 header count too high", func() []byte { b := append([]byte(nil), v9...); binary.BigEndian.PutUint16(b[2:], 9); return b }(), 1, flowsrc.ErrMalformed},
		{"v9 reserved set ID", reserved, 1, flowsrc.ErrUnsupported},
		{"v9 set length below 4", badSet, 1, flowsrc.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, errs := decode(t, flowsrc.NewDatagramDecoder(), exporterA, tt.dg)
			if len(recs) != tt.records {
				t.Errorf("%d records, want %d", len(recs), tt.records)
			}
			if !errors.Is(errs[0], tt.kind) || (tt.kind == nil) != (errs[0] == nil) {
				t.Errorf("error %v, want %v", errs[0], tt.kind)
			}
		})
	}
}

func TestPathologicalSets(t *testing.T) {
	// Largest data sets of the smallest records: one variable-length
	// field (1 byte when empty) and one 1-byte field. They must decode in
	// linear time.
	for _, field := range []flowtest.Field{{Type: 82, Length: flowtest.Variable}, {Type: 4, Length: 1}} {
		tpl := flowtest.Template{ID: 256, Fields: []flowtest.Field{field}}
		m := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(tpl).Bytes()
		set := make([]byte, 0xffff-len(m))
		binary.BigEndian.PutUint16(set, 256)
		binary.BigEndian.PutUint16(set[2:], uint16(len(set)))
		set[len(set)-1] = 1
		m = append(m, set...)
		binary.BigEndian.PutUint16(m[2:], uint16(len(m)))
		d := flowsrc.NewDatagramDecoder()
		begin := time.Now()
		recs, errs := decode(t, d, exporterA, m)
		if el := time.Since(begin); el > 2*time.Second {
			t.Errorf("field %d: %v to decode", field.Type, el)
		}
		// Records without addresses (ErrUnsupported); the variable-length
		// one ends in a truncated record (ErrMalformed).
		if len(recs) != 0 || !errors.Is(errs[0], flowsrc.ErrUnsupported) && !errors.Is(errs[0], flowsrc.ErrMalformed) {
			t.Errorf("field %d: %d records, %v", field.Type, len(recs), errs[0])
		}
		if st := d.Stats(); st.Drops.Unsupported < 60000 {
			t.Errorf("field %d: stats %+v", field.Type, st)
		}
	}
}

// TestDecodeRunsLongDatagrams hands datagrams of 0 to 100 records (v9,
// v5, sFlow) to DecodeRuns: full runs of RunLen and one shorter last run,
// holding exactly the records Decode gives, in order, with the same stats.
func TestDecodeRunsLongDatagrams(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	flows := make([]flowtest.Flow, 100)
	for i := range flows {
		flows[i] = flowtest.Flow{
			Src: netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}), Dst: netip.MustParseAddr("203.0.113.9"),
			SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6,
			Bytes: uint64(1000 + i), Packets: uint64(1 + i), Start: now.Add(-time.Minute), End: now,
		}
	}
	tpl := flowtest.V9Template(256, false)
	for _, n := range []int{0, 1, 31, 32, 33, 64, 100} {
		dgs := map[string][]byte{
			"v9": flowtest.NewV9(flowtest.V9Header{ExportTime: now, Uptime: time.Hour, Sequence: 1}).Template(tpl).Data(tpl, flows[:n]...).Bytes(),
			"v5": flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: now, Uptime: time.Hour}, flows[:min(n, 30)]),
		}
		var samples []flowtest.SFlowSample
		for i := range min(n, 40) {
			samples = append(samples, flowtest.SFlowSample{Sequence: uint32(i), SamplingRate: 100, Frame: flowtest.Packet(flows[i], 1400, 100)})
		}
		dgs["sflow"] = flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: netip.MustParseAddr("192.0.2.254")}, samples)
		for name, dg := range dgs {
			one, runs := flowsrc.NewDatagramDecoder(), flowsrc.NewDatagramDecoder()
			var want, got []flowsrc.Record
			errOne := one.Decode(exporterA, now, dg, func(r *flowsrc.Record) { want = append(want, *r) })
			var lens []int
			errRuns := runs.DecodeRuns(exporterA, now, dg, func(rs []flowsrc.Record) {
				lens = append(lens, len(rs))
				got = append(got, rs...)
			})
			if errOne != nil || errRuns != nil {
				t.Fatalf("%s, %d flows: errors %v and %v", name, n, errOne, errRuns)
			}
			if len(want) == 0 && n > 0 {
				t.Fatalf("%s, %d flows: Decode gave no record", name, n)
			}
			for i, l := range lens {
				if l < 1 || l > flowsrc.RunLen || (i < len(lens)-1 && l != flowsrc.RunLen) {
					t.Fatalf("%s, %d flows: runs of %v records", name, n, lens)
				}
			}
			if !slices.EqualFunc(want, got, func(a, b flowsrc.Record) bool { return a == b }) {
				t.Fatalf("%s, %d flows: DecodeRuns gave %d records unlike Decode's %d", name, n, len(got), len(want))
			}
			if one.Stats() != runs.Stats() {
				t.Fatalf("%s, %d flows: stats %+v and %+v", name, n, one.Stats(), runs.Stats())
			}
		}
	}
}

// TestFieldWidths pins what each integer kind keeps of a field wider than
// its value (a port sent in 4 bytes keeps its low 16 bits, a protocol in
// 2 bytes its low 8, sysUpTime in 8 bytes its low 32) and the presence
// rules (an absolute time of 0 and an NTP time shorter than 8 bytes are
// absent), on both decoding paths.
func TestFieldWidths(t *testing.T) {
	start := export.Add(-30 * time.Second).Truncate(time.Millisecond)
	end := export.Add(-3 * time.Second).Truncate(time.Millisecond)
	raw := func(v uint64, n int) []byte { return flowtest.BigEndian(v, n) }
	tests := []struct {
		name   string
		fields []flowtest.Field
		extra  map[flowtest.FieldKey][]byte
		check  func(r flowsrc.Record) string
	}{
		{"wide ports, protocol, flags",
			[]flowtest.Field{{Type: 4, Length: 2}, {Type: 6, Length: 4}, {Type: 7, Length: 4}, {Type: 11, Length: 3}},
			map[flowtest.FieldKey][]byte{{Type: 4}: raw(0x0106, 2), {Type: 6}: raw(0xff0112, 4), {Type: 7}: raw(0xab0050, 4), {Type: 11}: raw(0x0101bb, 3)},
			func(r flowsrc.Record) string {
				if r.Proto != 6 || r.TCPFlags != 0x12 || r.SrcPort != 0x50 || r.DstPort != 0x1bb {
					return fmt.Sprintf("proto %d flags %#x ports %#x %#x, want 6 0x12 0x50 0x1bb", r.Proto, r.TCPFlags, r.SrcPort, r.DstPort)
				}
				return ""
			}},
		{"wide ICMP type and code",
			[]flowtest.Field{{Type: 4, Length: 1}, {Type: 176, Length: 2}, {Type: 177, Length: 2}},
			map[flowtest.FieldKey][]byte{{Type: 4}: raw(1, 1), {Type: 176}: raw(0x0103, 2), {Type: 177}: raw(0x0201, 2)},
			func(r flowsrc.Record) string {
				if !r.HasICMP || r.ICMPType != 3 || r.ICMPCode != 1 {
					return fmt.Sprintf("ICMP %v type %d code %d, want 3/1", r.HasICMP, r.ICMPType, r.ICMPCode)
				}
				return ""
			}},
		{"wide biflowDirection",
			[]flowtest.Field{{Type: 239, Length: 2}},
			map[flowtest.FieldKey][]byte{{Type: 239}: raw(0x0102, 2)},
			func(r flowsrc.Record) string {
				if r.Initiator != flowsrc.InitiatorDst {
					return fmt.Sprintf("initiator %v, want the destination", r.Initiator)
				}
				return ""
			}},
		{"absolute start of 0 is absent",
			[]flowtest.Field{{Type: 152, Length: 8}, {Type: 153, Length: 8}},
			map[flowtest.FieldKey][]byte{{Type: 152}: raw(0, 8), {Type: 153}: raw(uint64(end.UnixMilli()), 8)},
			func(r flowsrc.Record) string {
				if !r.Start.Equal(end) || !r.End.Equal(end) {
					return fmt.Sprintf("times %v %v, want both %v", r.Start, r.End, end)
				}
				return ""
			}},
		{"NTP start in 4 bytes is absent, in 8 bytes of 0 too",
			[]flowtest.Field{{Type: 154, Length: 4}, {Type: 156, Length: 8}, {Type: 152, Length: 8}, {Type: 153, Length: 8}},
			map[flowtest.FieldKey][]byte{{Type: 154}: raw(0xdeadbeef, 4), {Type: 156}: raw(0, 8),
				{Type: 152}: raw(uint64(start.UnixMilli()), 8), {Type: 153}: raw(uint64(end.UnixMilli()), 8)},
			func(r flowsrc.Record) string {
				if !r.Start.Equal(start) || !r.End.Equal(end) {
					return fmt.Sprintf("times %v %v, want %v %v (the milliseconds)", r.Start, r.End, start, end)
				}
				return ""
			}},
	}
	for _, tt := range tests {
		for _, p := range []flowsrc.DecodePath{flowsrc.PathFast, flowsrc.PathGoflow2} {
			t.Run(tt.name+"/"+p.String(), func(t *testing.T) {
				tpl := flowtest.Template{ID: 300, Fields: append([]flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}}, tt.fields...)}
				f := tcpFlow()
				f.Extra = tt.extra
				dg := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(tpl).Data(tpl, f).Bytes()
				got := decodeOK(t, flowsrc.NewDatagramDecoder(flowsrc.WithDecodePath(p)), exporterA, dg)
				if len(got) != 1 {
					t.Fatalf("%d records", len(got))
				}
				if msg := tt.check(got[0]); msg != "" {
					t.Error(msg)
				}
			})
		}
	}
}
