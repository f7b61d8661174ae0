package flowsrc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"
	"github.com/netsampler/goflow2/v2/decoders/netflowlegacy"
	"github.com/netsampler/goflow2/v2/decoders/sflow"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

func TestNTPToUnixNano(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	secs := uint64(at.Unix() + ntpEpochOffset)
	tests := []struct {
		name  string
		v     uint64
		micro bool
		want  time.Time
	}{
		{"whole second", secs << 32, false, at},
		{"half second", secs<<32 | 0x80000000, false, at.Add(500 * time.Millisecond)},
		{"one ns rounds", secs<<32 | 5, false, at.Add(1 * time.Nanosecond)},
		{"µs with low bits ignored", secs<<32 | (0x80000000 + 0x7ff), true, at.Add(500 * time.Millisecond)},
		// 0.49206 s as yaf writes it: tshark shows .492059999
		{"µs rounding", secs<<32 | 2113381607, true, at.Add(492060 * time.Microsecond)},
		{"ns truncation artefact", secs<<32 | 2113381607, false, at.Add(492060000 * time.Nanosecond)},
		{"era 1", 1 << 32, false, time.Date(2036, 2, 7, 6, 28, 17, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := time.Unix(0, ntpToUnixNano(tt.v, tt.micro)).UTC()
			if !got.Equal(tt.want) {
				t.Errorf("ntpToUnixNano(%#x) = %v, want %v", tt.v, got, tt.want)
			}
		})
	}
}

func TestUpTimeToUnixNano(t *testing.T) {
	hdr := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	ms := func(d time.Duration) time.Time { return hdr.Add(d) }
	tests := []struct {
		name      string
		uptime, t uint32
		want      time.Time
	}{
		{"before", 100000, 40000, ms(-60 * time.Second)},
		{"same", 100000, 100000, hdr},
		{"wrapped", 3000, 1<<32 - 5000, ms(-8 * time.Second)},
		{"slightly after", 100000, 100500, ms(500 * time.Millisecond)},
		{"one hour after", 100000, 100000 + 3600000, ms(time.Hour)},
		{"beyond one hour after: wrap", 100000, 100000 + 3600001, ms(-(1<<32 - 3600001) * time.Millisecond)},
		{"46 days before", 4000000000, 10, ms(-3999999990 * time.Millisecond)},
		{"modular: 0 is 1 ms after 2^32-1", 1<<32 - 1, 0, ms(time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := time.Unix(0, upTimeToUnixNano(hdr.UnixNano(), tt.uptime, tt.t)).UTC()
			if !got.Equal(tt.want) {
				t.Errorf("upTimeToUnixNano(%d, %d) = %v, want %v", tt.uptime, tt.t, got, tt.want)
			}
		})
	}
}

func TestReadUint(t *testing.T) {
	tests := []struct {
		b    []byte
		want uint64
		ok   bool
	}{
		{nil, 0, false},
		{[]byte{0x12}, 0x12, true},
		{[]byte{0x12, 0x34, 0x56}, 0x123456, true},
		{[]byte{1, 2, 3, 4, 5, 6, 7, 8}, 0x0102030405060708, true},
		{[]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, 0, false},
	}
	for _, tt := range tests {
		got, ok := readUint(tt.b)
		if got != tt.want || ok != tt.ok {
			t.Errorf("readUint(%x) = %#x, %v; want %#x, %v", tt.b, got, ok, tt.want, tt.ok)
		}
	}
}

func TestInlineRate(t *testing.T) {
	tests := []struct {
		name string
		f    flowFields
		want uint32
	}{
		{"none", flowFields{}, 0},
		{"34", flowFields{has: hSamplingInterval, samplingInterval: 100}, 100},
		{"34 over 50", flowFields{has: hSamplingInterval | hSamplerRandom, samplingInterval: 100, samplerRandom: 7}, 100},
		{"34 zero, 50", flowFields{has: hSamplingInterval | hSamplerRandom, samplerRandom: 7}, 7},
		{"305/306", flowFields{has: hPacketInterval | hPacketSpace, packetInterval: 1, packetSpace: 9}, 10},
		{"305/306 rounds", flowFields{has: hPacketInterval | hPacketSpace, packetInterval: 3, packetSpace: 8}, 4},
		{"305 zero", flowFields{has: hPacketInterval | hPacketSpace, packetSpace: 9}, 0},
		{"305/306 overflow", flowFields{has: hPacketInterval | hPacketSpace, packetInterval: 1, packetSpace: 1<<64 - 1}, 1<<32 - 1},
		{"huge 34", flowFields{has: hSamplingInterval, samplingInterval: 1 << 40}, 1<<32 - 1},
	}
	for _, tt := range tests {
		if got := tt.f.inlineRate(); got != tt.want {
			t.Errorf("%s: inlineRate = %d, want %d", tt.name, got, tt.want)
		}
	}
	if got := mulSat(1<<62, 8); got != 1<<64-1 {
		t.Errorf("mulSat overflow = %d", got)
	}
}

func TestParseSampledHeader(t *testing.T) {
	tcp := flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("10.0.0.2"), SrcPort: 1, DstPort: 2, Proto: 6, TCPFlags: 0x02}
	tcp6 := tcp
	tcp6.Src, tcp6.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	eth := flowtest.Packet(tcp, 0, 0)
	eth6 := flowtest.Packet(tcp6, 0, 0)
	ip4, ip6 := eth[14:], eth6[14:]
	ethHdr := func(et uint16) []byte {
		return binary.BigEndian.AppendUint16([]byte{2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1}, et)
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	label := func(bos bool) []byte {
		if bos {
			return []byte{0x00, 0x01, 0x01, 0xff}
		}
		return []byte{0x00, 0x01, 0x00, 0xff}
	}
	// IPv6 with a hop-by-hop header (8 bytes) before TCP.
	hbh := append([]byte(nil), ip6...)
	hbh[6] = 0
	hbh = cat(hbh[:40], []byte{6, 0, 1, 4, 0, 0, 0, 0}, ip6[40:])
	// IPv6 first fragment and later fragment.
	frag := func(offset uint16) []byte {
		b := append([]byte(nil), ip6[:40]...)
		b[6] = 44
		fh := []byte{6, 0, 0, 0, 0, 0, 0, 1}
		binary.BigEndian.PutUint16(fh[2:], offset<<3)
		return cat(b, fh, ip6[40:])
	}
	ip4frag := append([]byte(nil), ip4...)
	binary.BigEndian.PutUint16(ip4frag[6:], 100) // fragment offset 100
	want := Record{Src: tcp.Src, Dst: tcp.Dst, SrcPort: 1, DstPort: 2, Proto: 6, TCPFlags: 0x02}
	want6 := Record{Src: tcp6.Src, Dst: tcp6.Dst, SrcPort: 1, DstPort: 2, Proto: 6, TCPFlags: 0x02}
	noPorts6 := Record{Src: tcp6.Src, Dst: tcp6.Dst, Proto: 6}
	tests := []struct {
		name  string
		proto uint32
		b     []byte
		ok    bool
		want  Record
	}{
		{"ethernet", headerEthernet, eth, true, want},
		{"802.1Q", headerEthernet, flowtest.Packet(tcp, 0, 10), true, want},
		{"QinQ", headerEthernet, cat(ethHdr(etherQinQ), []byte{0, 10}, binary.BigEndian.AppendUint16(nil, etherVLAN), []byte{0, 20}, binary.BigEndian.AppendUint16(nil, etherIPv4), ip4), true, want},
		{"MPLS", headerEthernet, cat(ethHdr(etherMPLS), label(false), label(true), ip4), true, want},
		{"MPLS pseudowire with control word", headerEthernet, cat(ethHdr(etherMPLS), label(true), []byte{0, 0, 0, 0}, eth6), true, want6},
		{"bare IPv4", headerIPv4, ip4, true, want},
		{"bare IPv6", headerIPv6, ip6, true, want6},
		{"IPv6 hop-by-hop", headerIPv6, hbh, true, want6},
		{"IPv6 first fragment", headerIPv6, frag(0), true, want6},
		{"IPv6 later fragment", headerIPv6, frag(10), true, noPorts6},
		{"IPv4 later fragment", headerIPv4, ip4frag, true, Record{Src: tcp.Src, Dst: tcp.Dst, Proto: 6}},
		{"IPv4 transport cut", headerIPv4, ip4[:24], true, Record{Src: tcp.Src, Dst: tcp.Dst, Proto: 6}},
		{"ARP", headerEthernet, cat(ethHdr(0x0806), make([]byte, 28)), false, Record{}},
		{"IPv4 cut", headerIPv4, ip4[:19], false, Record{}},
		{"IPv6 cut", headerEthernet, eth6[:50], false, Record{}},
		{"bad IHL", headerIPv4, cat([]byte{0x41}, ip4[1:]), false, Record{}},
		{"MPLS without bottom of stack", headerEthernet, cat(ethHdr(etherMPLS), label(false), label(false)), false, Record{}},
		{"unknown header protocol", 7, eth, false, Record{}},
		{"empty", headerEthernet, nil, false, Record{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r Record
			ok := parseSampledHeader(tt.proto, tt.b, &r)
			if ok != tt.ok || (ok && r != tt.want) {
				t.Errorf("parseSampledHeader = %v, %+v; want %v, %+v", ok, r, tt.ok, tt.want)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() {
		var r Record
		parseSampledHeader(headerEthernet, eth6, &r)
	}); n != 0 {
		t.Errorf("parseSampledHeader allocates %v times", n)
	}
}

func TestTemplateStore(t *testing.T) {
	var ts netflow.NetFlowTemplateSystem = newTemplateStore(2, 4)
	good := netflow.TemplateRecord{TemplateId: 256, FieldCount: 1, Fields: []netflow.Field{{Type: 8, Length: 4}}}
	varOnly := netflow.TemplateRecord{TemplateId: 259, FieldCount: 1, Fields: []netflow.Field{{Type: 82, Length: 0xffff}}}
	tests := []struct {
		name string
		id   uint16
		tpl  any
		err  error
	}{
		{"good", 256, good, nil},
		{"variable length only", 259, varOnly, nil},
		{"store full", 260, good, ErrLimit},
		{"redefinition", 256, good, nil},
		{"low ID", 255, good, ErrMalformed},
		{"no fields", 256, netflow.TemplateRecord{TemplateId: 256}, ErrMalformed},
		{"zero lengths", 256, netflow.TemplateRecord{Fields: []netflow.Field{{Type: 8}, {Type: 12}}}, ErrMalformed},
		{"zero-length options", 256, netflow.NFv9OptionsTemplateRecord{Scopes: []netflow.Field{{Type: 1}}}, ErrMalformed},
		{"zero-length IPFIX options", 256, netflow.IPFIXOptionsTemplateRecord{Options: []netflow.Field{{Type: 1}}}, ErrMalformed},
		{"too many fields", 256, netflow.TemplateRecord{Fields: make([]netflow.Field, 5)}, ErrLimit},
		{"not a template", 256, "template", ErrUnsupported},
	}
	for _, tt := range tests {
		err := ts.AddTemplate(10, 1, tt.id, tt.tpl)
		if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("%s: AddTemplate = %v, want %v", tt.name, err, tt.err)
		}
	}
	if got, err := ts.GetTemplate(10, 1, 256); err != nil || got.(netflow.TemplateRecord).TemplateId != 256 {
		t.Errorf("GetTemplate = %v, %v", got, err)
	}
	if _, err := ts.GetTemplate(9, 1, 256); !errors.Is(err, netflow.ErrorTemplateNotFound) {
		t.Errorf("GetTemplate of another version: %v", err)
	}
	if _, err := ts.GetTemplate(10, 2, 256); !errors.Is(err, netflow.ErrorTemplateNotFound) {
		t.Errorf("GetTemplate of another domain: %v", err)
	}
	all := ts.GetTemplates()
	if len(all) != 2 {
		t.Errorf("GetTemplates: %d templates", len(all))
	}
	clear(all)
	if _, err := ts.RemoveTemplate(10, 1, 259); err != nil {
		t.Errorf("RemoveTemplate: %v (GetTemplates must return a copy)", err)
	}
	if _, err := ts.RemoveTemplate(10, 1, 259); !errors.Is(err, netflow.ErrorTemplateNotFound) {
		t.Errorf("second RemoveTemplate: %v", err)
	}
}

// TestAllocations pins the rule that decoding adds no allocation per
// record to what goflow2's decoders do themselves.
func TestAllocations(t *testing.T) {
	exporter := netip.MustParseAddr("192.0.2.1")
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	flows := benchFlows(30, now)
	emit := func(*Record) {}

	t.Run("netflow v9", func(t *testing.T) {
		tpl := flowtest.V9Template(256, false)
		h := flowtest.V9Header{ExportTime: now, Uptime: time.Hour}
		d := NewDatagramDecoder()
		if err := d.Decode(exporter, now, flowtest.NewV9(h).Template(tpl).Bytes(), emit); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 30} {
			dg := flowtest.NewV9(h).Data(tpl, flows[:n]...).Bytes()
			fields := v9Fields(tpl)
			base := testing.AllocsPerRun(50, func() {
				if _, err := netflow.DecodeDataSet(9, bytes.NewBuffer(dg[24:]), fields); err != nil {
					t.Fatal(err)
				}
			})
			ours := testing.AllocsPerRun(50, func() {
				if err := d.Decode(exporter, now, dg, emit); err != nil {
					t.Fatal(err)
				}
			})
			t.Logf("%d records: goflow2 %v allocs, Decode %v", n, base, ours)
			if ours > base+1 {
				t.Errorf("%d records: Decode allocates %v times, goflow2's DecodeDataSet %v", n, ours, base)
			}
		}
	})
	t.Run("netflow v5", func(t *testing.T) {
		dg := flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: now, Uptime: time.Hour}, flows)
		base := testing.AllocsPerRun(50, func() {
			var p netflowlegacy.PacketNetFlowV5
			if err := netflowlegacy.DecodeMessageVersion(bytes.NewBuffer(dg), &p); err != nil {
				t.Fatal(err)
			}
		})
		d := NewDatagramDecoder()
		ours := testing.AllocsPerRun(50, func() {
			if err := d.Decode(exporter, now, dg, emit); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("goflow2 %v allocs, Decode %v", base, ours)
		if ours > base {
			t.Errorf("Decode allocates %v times, goflow2 %v", ours, base)
		}
	})
	t.Run("sflow", func(t *testing.T) {
		var samples []flowtest.SFlowSample
		for i := range 8 {
			samples = append(samples, flowtest.SFlowSample{SamplingRate: 1000, Frame: flowtest.Packet(flows[i], 100, 5)})
		}
		dg := flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: exporter}, samples)
		base := testing.AllocsPerRun(50, func() {
			var p sflow.Packet
			if err := sflow.DecodeMessageVersion(bytes.NewBuffer(dg), &p); err != nil {
				t.Fatal(err)
			}
		})
		d := NewDatagramDecoder()
		ours := testing.AllocsPerRun(50, func() {
			if err := d.Decode(exporter, now, dg, emit); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("goflow2 %v allocs, Decode %v", base, ours)
		if ours > base {
			t.Errorf("Decode allocates %v times, goflow2 %v", ours, base)
		}
	})
}

func v9Fields(t flowtest.Template) []netflow.Field {
	var fs []netflow.Field
	for _, f := range t.Fields {
		fs = append(fs, netflow.Field{Type: f.Type, Length: f.Length})
	}
	return fs
}

// benchFlows returns n distinct TCP flows ending before now.
func benchFlows(n int, now time.Time) []flowtest.Flow {
	flows := make([]flowtest.Flow, n)
	for i := range flows {
		flows[i] = flowtest.Flow{
			Src:     netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}),
			Dst:     netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}),
			SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6,
			Bytes: uint64(1000 * (i + 1)), Packets: uint64(i + 1),
			Start: now.Add(-time.Duration(i+10) * time.Second), End: now.Add(-time.Second),
			TCPFlags: 0x1b,
		}
	}
	return flows
}

// TestStaleFields decodes, in one datagram (so with one pooled decoding
// context), a record of a template that carries every field the mapping
// reads, each with a value other than 0, then a record of a narrower
// template, and checks the second against the same record decoded alone,
// in IPFIX and NetFlow v9. reset clears only the presence bits and the
// values read without them: a value read without its bit that reset left
// alone would carry over.
func TestStaleFields(t *testing.T) {
	for _, version := range []uint16{10, 9} {
		t.Run(fmt.Sprint("version=", version), func(t *testing.T) { testStaleFields(t, version) })
	}
}

func testStaleFields(t *testing.T, version uint16) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	flow := flowtest.Flow{Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("198.51.100.2"),
		SrcPort: 40000, DstPort: 443, Proto: 6, Bytes: 5000, Packets: 7, TCPFlags: 0x1b,
		Start: at.Add(-time.Minute), End: at.Add(-time.Second)}
	frame := flowtest.Packet(flow, 100, 0)
	// The packet sections: variable-length in IPFIX, fixed in v9 (which
	// has no variable-length fields).
	sections, ipSection := uint16(flowtest.Variable), uint16(flowtest.Variable)
	if version == 9 {
		sections, ipSection = uint16(len(frame)), uint16(len(frame)-14)
	}

	// Every standard field the mapping reads, then (IPFIX) the reverse
	// counters.
	all := flowtest.Template{ID: 300}
	sink := flowtest.Flow{Extra: map[flowtest.FieldKey][]byte{}}
	for typ := uint16(1); typ < 1024; typ++ {
		k := dataFieldKind(typ, false, 0, version)
		fd := flowtest.Field{Type: typ, Length: 8}
		v := flowtest.BigEndian(0x0102030405060708+uint64(typ)<<8, 8)
		switch {
		case k == kNone:
			continue
		case k == kSrc4 || k == kDst4:
			fd.Length, v = 4, []byte{10, 9, 8, byte(typ)}
		case k == kSrc6 || k == kDst6:
			fd.Length, v = 16, netip.MustParseAddr("2001:db8::7").AsSlice()
		case k == kFrameSection:
			fd.Length, v = sections, frame
		case k == kIPSection:
			fd.Length, v = ipSection, frame[14:]
		}
		all.Fields = append(all.Fields, fd)
		sink.Extra[fd.Key()] = v
	}
	if version == 10 {
		for _, typ := range []uint16{1, 2, 85, 86} {
			fd := flowtest.Field{Type: typ, Length: 8, PEN: penReverse}
			all.Fields = append(all.Fields, fd)
			sink.Extra[fd.Key()] = flowtest.BigEndian(0x1111+uint64(typ), 8)
		}
	}

	addr4 := []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}}
	with := func(id uint16, fs ...flowtest.Field) flowtest.Template {
		return flowtest.Template{ID: id, Fields: append(append([]flowtest.Field(nil), addr4...), fs...)}
	}
	narrow := []flowtest.Template{
		with(301),
		with(302, flowtest.Field{Type: 4, Length: 1}),
		flowtest.IPFIXTemplate(303, false),
		flowtest.IPFIXTemplate(304, true),
		{ID: 305, Fields: []flowtest.Field{{Type: 315, Length: sections}}},
		{ID: 306, Fields: []flowtest.Field{{Type: 313, Length: ipSection}}},
		// Cisco NSEL, one side only: the other side's counter reads 0.
		with(308, flowtest.Field{Type: 232, Length: 8}),
		with(309, flowtest.Field{Type: 231, Length: 8}, flowtest.Field{Type: 299, Length: 8}),
	}
	// A record of zeros: padding, unless a counter of the record before
	// carried over.
	const zeros = 311
	narrow = append(narrow, with(zeros))
	if version == 10 {
		narrow = append(narrow, with(307, flowtest.Field{Type: 1, Length: 8, PEN: penReverse}))
	} else {
		narrow = append(narrow, with(310, flowtest.Field{Type: 23, Length: 8})) // v9 OUT_BYTES alone
	}
	nf := flow
	nf.Extra = map[flowtest.FieldKey][]byte{{Type: 315}: frame, {Type: 313}: frame[14:], {Type: 1, PEN: penReverse}: flowtest.BigEndian(777, 8),
		{Type: 231}: flowtest.BigEndian(900, 8), {Type: 232}: flowtest.BigEndian(800, 8), {Type: 299}: flowtest.BigEndian(9, 8),
		{Type: 23}: flowtest.BigEndian(600, 8)}
	zero := flowtest.Flow{Extra: map[flowtest.FieldKey][]byte{{Type: 8}: make([]byte, 4), {Type: 12}: make([]byte, 4)}}
	flowOf := func(id uint16) flowtest.Flow {
		switch id {
		case all.ID:
			return sink
		case zeros:
			return zero
		}
		return nf
	}
	exporter := netip.MustParseAddr("192.0.2.1")
	message := func(ts ...flowtest.Template) []byte {
		if version == 9 {
			m := flowtest.NewV9(flowtest.V9Header{ExportTime: at, Uptime: time.Hour, SourceID: 1})
			for _, tp := range ts {
				m.Template(tp)
			}
			for _, tp := range ts {
				m.Data(tp, flowOf(tp.ID))
			}
			return m.Bytes()
		}
		m := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: at, DomainID: 1})
		for _, tp := range ts {
			m.Template(tp)
		}
		for _, tp := range ts {
			m.Data(tp, flowOf(tp.ID))
		}
		return m.Bytes()
	}
	decode := func(p DecodePath, dg []byte) []Record {
		t.Helper()
		var out []Record
		err := NewDatagramDecoder(WithDecodePath(p)).Decode(exporter, at, dg, func(r *Record) { out = append(out, *r) })
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		return out
	}
	for _, n := range narrow {
		for _, p := range []DecodePath{PathFast, PathGoflow2} {
			after := decode(p, message(all, n))
			alone := decode(p, message(n))
			want := 1
			if n.ID == zeros {
				want = 0
			}
			if len(after) != 1+want || len(alone) != want {
				t.Fatalf("template %d, %v: %d and %d records, want %d and %d", n.ID, p, len(after), len(alone), 1+want, want)
			}
			if !slices.Equal(after[1:], alone) {
				t.Errorf("template %d, %v: after a record with every field\n%+v\nalone\n%+v", n.ID, p, after[1:], alone)
			}
		}
	}
}

// scribble sets every field of r other than a string to a value other
// than its zero value, and the name'th string field of r (names counted
// from 0, modulo their number), as a caller writing into the run it was
// handed might.
func scribble(r *Record, name int) {
	v := reflect.ValueOf(r).Elem()
	var strs []reflect.Value
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Interface().(type) {
		case time.Time:
			f.Set(reflect.ValueOf(time.Date(1999, 1, 2, 3, 4, 5, 6, time.UTC)))
		case netip.Addr:
			f.Set(reflect.ValueOf(netip.MustParseAddr("2001:db8::dead")))
		case Initiator:
			f.Set(reflect.ValueOf(InitiatorDst))
		default:
			switch f.Kind() {
			case reflect.String:
				strs = append(strs, f)
			case reflect.Bool:
				f.SetBool(true)
			case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				f.SetUint(7)
			default:
				panic(fmt.Sprintf("scribble: field %s of kind %v", v.Type().Field(i).Name, f.Kind()))
			}
		}
	}
	strs[name%len(strs)].SetString("junk")
}

// TestRunSlotsRewritten: DecodeRuns writes each record over the slot of
// its run that the last datagram's record used (Decode over its one
// record), and resets only what the mapping may leave unset. A caller that scribbled over every field of
// the run it was handed (ICMP records with names, biflow counters and an
// initiator) must not see any of it in the next datagram's records
// (unidirectional TCP, no names), in NetFlow v9 and IPFIX, on both paths.
func TestRunSlotsRewritten(t *testing.T) {
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	exporter := netip.MustParseAddr("192.0.2.1")
	flows := benchFlows(2*reflect.TypeFor[Record]().NumField(), at) // more records than names
	icmp := slices.Clone(flows)
	for i := range icmp {
		icmp[i].Proto, icmp[i].SrcPort, icmp[i].DstPort = 1, 0, 0x0800
	}
	type datagrams struct{ first, second []byte }
	cases := map[string]datagrams{}
	{
		tp := flowtest.V9Template(256, false)
		h := flowtest.V9Header{ExportTime: at, Uptime: time.Hour, SourceID: 1}
		cases["v9"] = datagrams{flowtest.NewV9(h).Template(tp).Data(tp, icmp...).Bytes(), flowtest.NewV9(h).Template(tp).Data(tp, flows...).Bytes()}
	}
	{
		tp := flowtest.IPFIXTemplate(256, false)
		h := flowtest.IPFIXHeader{ExportTime: at, DomainID: 1}
		cases["ipfix"] = datagrams{flowtest.NewIPFIX(h).Template(tp).Data(tp, icmp...).Bytes(), flowtest.NewIPFIX(h).Template(tp).Data(tp, flows...).Bytes()}
	}
	for name, dg := range cases {
		for _, p := range []DecodePath{PathFast, PathGoflow2} {
			// Decode hands over one reused record at a time, DecodeRuns a
			// run of them.
			for _, runs := range []bool{true, false} {
				collect := func(d *DatagramDecoder, b []byte, touch bool) []Record {
					var out []Record
					var err error
					if runs {
						err = d.DecodeRuns(exporter, at, b, func(rs []Record) {
							out = append(out, rs...)
							if touch {
								for i := range rs {
									scribble(&rs[i], i)
								}
							}
						})
					} else {
						err = d.Decode(exporter, at, b, func(r *Record) {
							out = append(out, *r)
							if touch {
								scribble(r, len(out))
							}
						})
					}
					if err != nil {
						t.Fatalf("%s, %v: %v", name, p, err)
					}
					return out
				}
				d := NewDatagramDecoder(WithDecodePath(p))
				if first := collect(d, dg.first, true); len(first) != len(icmp) || !first[0].HasICMP {
					t.Fatalf("%s, %v: first datagram gave %+v", name, p, first)
				}
				got := collect(d, dg.second, false)
				want := collect(NewDatagramDecoder(WithDecodePath(p)), dg.second, false)
				if len(want) != len(flows) || !slices.Equal(got, want) {
					t.Errorf("%s, %v, runs=%v: after a scribbled run\n%+v\nfresh\n%+v", name, p, runs, got, want)
				}
			}
		}
	}
}

// TestTimeFastPaths: nfTimes decides the two common cases (NetFlow v9's
// sysUptime pair, the milliseconds pair) before the rules; it must give
// what timeRules gives for every combination of time fields, in v9 and
// IPFIX, with and without an export time. It fails when a fast path
// takes a record that carries a field the rules prefer.
func TestTimeFastPaths(t *testing.T) {
	timeBits := []uint64{hStartUp, hEndUp, hStartSec, hEndSec, hStartMs, hEndMs, hStartUs, hEndUs,
		hStartNs, hEndNs, hStartDelta, hEndDelta, hSysInit, hObsSec, hObsMs, hObsUs, hObsNs}
	rng := rand.New(rand.NewPCG(5, 6))
	at := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	ntp := func() uint64 {
		return uint64(at.Unix()+ntpEpochOffset-int64(rng.IntN(3600)))<<32 | uint64(rng.Uint32())
	}
	ms := func() uint64 { return uint64(at.UnixMilli() - int64(rng.IntN(3600_000))) }
	fast := 0
	for range 200_000 {
		var f flowFields
		for _, b := range timeBits {
			if rng.IntN(3) == 0 {
				f.has |= b
			}
		}
		// Most draws in or near the fast cases.
		switch rng.IntN(4) {
		case 0:
			f.has = f.has&^(hStartSec|hEndSec|hStartMs|hEndMs|hStartUs|hEndUs|hStartNs|hEndNs|hStartDelta|hEndDelta) | hStartUp | hEndUp
		case 1:
			f.has = f.has&^(hStartUs|hEndUs|hStartNs|hEndNs) | hStartMs | hEndMs
		}
		f.startUp, f.endUp = uint64(rng.Uint32()), uint64(rng.Uint32())
		f.startSec, f.endSec = uint64(at.Unix()-int64(rng.IntN(3600))), uint64(at.Unix())
		f.startMs, f.endMs = ms(), ms()
		f.startUs, f.endUs, f.startNs, f.endNs = ntp(), ntp(), ntp(), ntp()
		f.startDelta, f.endDelta = uint64(rng.Uint32()), uint64(rng.Uint32())
		f.sysInit = uint64(at.UnixMilli() - int64(rng.IntN(86_400_000)))
		f.obsSec, f.obsMs, f.obsUs, f.obsNs = uint64(at.Unix()), ms(), ntp(), ntp()
		h := nfHeader{version: 9, sysUptime: rng.Uint32(), exportSec: uint32(at.Unix())}
		if rng.IntN(2) == 0 {
			h.version = 10
		}
		if rng.IntN(8) == 0 {
			h.exportSec = 0
		}
		st := &exporterState{}
		c := &decodeCtx{received: at.Add(time.Hour)}
		s1, e1 := c.nfTimes(st, &h, &f)
		c.sysInitKnown = false
		s2, e2 := c.timeRules(st, &h, &f)
		if !s1.Equal(s2) || !e1.Equal(e2) {
			t.Fatalf("v%d, has %#x: nfTimes %v..%v, the rules %v..%v", h.version, f.has, s1, e1, s2, e2)
		}
		if (h.version == 9 && f.has&(hStartSec|hEndSec|hStartMs|hEndMs|hStartUs|hEndUs|hStartNs|hEndNs|hStartDelta|hEndDelta) == 0 && f.has&(hStartUp|hEndUp) == hStartUp|hEndUp) ||
			f.has&(hStartUs|hEndUs|hStartNs|hEndNs|hStartMs|hEndMs) == hStartMs|hEndMs {
			fast++
		}
	}
	if fast < 50_000 {
		t.Errorf("only %d draws in the fast cases", fast)
	}
}
