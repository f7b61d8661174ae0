package flowsrc_test

import (
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// benchFlows returns the decode benchmarks' time, exporter and 30 IPv4
// TCP flows.
func benchFlows() (time.Time, netip.Addr, []flowtest.Flow) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	flows := make([]flowtest.Flow, 30)
	for i := range flows {
		flows[i] = flowtest.Flow{
			Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Dst: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}),
			SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6, Bytes: uint64(1500 * i), Packets: uint64(i + 1),
			Start: now.Add(-time.Minute), End: now.Add(-time.Second), TCPFlags: 0x1b,
		}
	}
	return now, netip.MustParseAddr("192.0.2.1"), flows
}

// BenchmarkDecode measures records/s decoding a datagram of 30 records
// (v9, IPFIX, v5) or 8 samples (sFlow); templates are sent beforehand.
// NetFlow v9 and IPFIX run on both decoding paths, side by side: /fast
// (compiled templates, the default) and /goflow2.
func BenchmarkDecode(b *testing.B) {
	now, exporter, flows := benchFlows()
	v9t, it := flowtest.V9Template(256, false), flowtest.IPFIXTemplate(257, false)
	v9t6 := flowtest.V9Template(258, true)
	// An IPFIX template with a variable-length field (interfaceName).
	itv := flowtest.IPFIXTemplate(259, false)
	itv.Fields = append(itv.Fields, flowtest.Field{Type: 82, Length: flowtest.Variable})
	flows6 := make([]flowtest.Flow, len(flows))
	flowsv := make([]flowtest.Flow, len(flows))
	for i, f := range flows {
		f.Src, f.Dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 15: byte(i)}), netip.AddrFrom16([16]byte{0x20, 0x01, 0xd, 0xb8, 1, 15: byte(i)})
		flows6[i] = f
		flowsv[i] = flows[i]
		flowsv[i].Extra = map[flowtest.FieldKey][]byte{{Type: 82}: []byte("xe-0/0/" + string(rune('0'+i%10)))}
	}
	// An RFC 5103 biflow template (softflowd -b's shape): reverse octet and
	// packet delta counters, PEN 29305.
	itb := flowtest.IPFIXTemplate(260, false)
	itb.Fields = append(itb.Fields, flowtest.Field{Type: 1, Length: 8, PEN: 29305}, flowtest.Field{Type: 2, Length: 8, PEN: 29305})
	flowsb := make([]flowtest.Flow, len(flows))
	for i := range flows {
		flowsb[i] = flows[i]
		flowsb[i].Extra = map[flowtest.FieldKey][]byte{
			{Type: 1, PEN: 29305}: flowtest.BigEndian(uint64(40000*i), 8), {Type: 2, PEN: 29305}: flowtest.BigEndian(uint64(30+i), 8)}
	}
	ih := flowtest.IPFIXHeader{ExportTime: now}
	vh := flowtest.V9Header{ExportTime: now, Uptime: time.Hour}
	var samples []flowtest.SFlowSample
	for i := range 8 {
		samples = append(samples, flowtest.SFlowSample{SamplingRate: 1024, Frame: flowtest.Packet(flows[i], 1400, 10)})
	}
	cases := []decodeCase{
		{"netflow-v9-30", flowtest.NewV9(vh).Template(v9t).Bytes(), flowtest.NewV9(vh).Data(v9t, flows...).Bytes(), 30},
		{"netflow-v9-ipv6-30", flowtest.NewV9(vh).Template(v9t6).Bytes(), flowtest.NewV9(vh).Data(v9t6, flows6...).Bytes(), 30},
		{"ipfix-30", flowtest.NewIPFIX(ih).Template(it).Bytes(), flowtest.NewIPFIX(ih).Data(it, flows...).Bytes(), 30},
		{"ipfix-varlen-30", flowtest.NewIPFIX(ih).Template(itv).Bytes(), flowtest.NewIPFIX(ih).Data(itv, flowsv...).Bytes(), 30},
		{"ipfix-biflow-30", flowtest.NewIPFIX(ih).Template(itb).Bytes(), flowtest.NewIPFIX(ih).Data(itb, flowsb...).Bytes(), 30},
		{"netflow-v5-30", nil, flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: now, Uptime: time.Hour}, flows), 30},
		{"sflow-8", nil, flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: exporter}, samples), 8},
	}
	for _, c := range cases {
		if c.setup == nil { // NetFlow v5, sFlow: one path
			b.Run(c.name, func(b *testing.B) { benchDecode(b, exporter, now, c) })
			continue
		}
		for _, p := range []flowsrc.DecodePath{flowsrc.PathFast, flowsrc.PathGoflow2} {
			b.Run(c.name+"/"+p.String(), func(b *testing.B) { benchDecode(b, exporter, now, c, flowsrc.WithDecodePath(p)) })
		}
	}
}

type decodeCase struct {
	name    string
	setup   []byte // templates, decoded before the clock starts
	dg      []byte
	records int
}

// BenchmarkDecodeRuns is BenchmarkDecode's NetFlow v9 and IPFIX cases
// through DecodeRuns, which hands a datagram's records over in runs (the
// path of exfil.Writer.ObserveBatch and the collector).
func BenchmarkDecodeRuns(b *testing.B) {
	now, exporter, flows := benchFlows()
	v9t, it := flowtest.V9Template(256, false), flowtest.IPFIXTemplate(257, false)
	vh := flowtest.V9Header{ExportTime: now, Uptime: time.Hour}
	ih := flowtest.IPFIXHeader{ExportTime: now}
	for _, c := range []decodeCase{
		{"netflow-v9-30", flowtest.NewV9(vh).Template(v9t).Bytes(), flowtest.NewV9(vh).Data(v9t, flows...).Bytes(), 30},
		{"ipfix-30", flowtest.NewIPFIX(ih).Template(it).Bytes(), flowtest.NewIPFIX(ih).Data(it, flows...).Bytes(), 30},
	} {
		b.Run(c.name, func(b *testing.B) { benchDecodeWith(b, exporter, now, c, true) })
	}
}

func benchDecode(b *testing.B, exporter netip.Addr, now time.Time, c decodeCase, opts ...flowsrc.DecoderOption) {
	benchDecodeWith(b, exporter, now, c, false, opts...)
}

// benchDecodeWith decodes c's datagram b.N times with Decode, or with
// DecodeRuns when runs is set, and reports records/s.
func benchDecodeWith(b *testing.B, exporter netip.Addr, now time.Time, c decodeCase, runs bool, opts ...flowsrc.DecoderOption) {
	d := flowsrc.NewDatagramDecoder(opts...)
	if c.setup != nil {
		if err := d.Decode(exporter, now, c.setup, nil); err != nil {
			b.Fatal(err)
		}
	}
	var n int
	var sink uint64
	emit := func(r *flowsrc.Record) { n++; sink += r.BytesToServer }
	emitRun := func(rs []flowsrc.Record) {
		for i := range rs {
			emit(&rs[i])
		}
	}
	b.SetBytes(int64(len(c.dg)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if runs {
			err = d.DecodeRuns(exporter, now, c.dg, emitRun)
		} else {
			err = d.Decode(exporter, now, c.dg, emit)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if n != c.records*b.N {
		b.Fatalf("%d records for %d datagrams", n, b.N)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
	_ = sink
}

// BenchmarkDecodeParallel decodes BenchmarkDecodeRuns's NetFlow v9
// datagram on every P at once (b.RunParallel), each goroutine as an
// exporter of its own, through one decoder that they share (/shared: the
// collector's case, where one DatagramDecoder serves every socket) and
// through a decoder each (/own). The two differ by what the goroutines
// write to in common: the decoder's counters.
func BenchmarkDecodeParallel(b *testing.B) {
	now, _, flows := benchFlows()
	v9t := flowtest.V9Template(256, false)
	vh := flowtest.V9Header{ExportTime: now, Uptime: time.Hour}
	tpl, dg := flowtest.NewV9(vh).Template(v9t).Bytes(), flowtest.NewV9(vh).Data(v9t, flows...).Bytes()
	for _, shared := range []bool{true, false} {
		name := "own"
		if shared {
			name = "shared"
		}
		b.Run("netflow-v9-30/"+name, func(b *testing.B) {
			one := flowsrc.NewDatagramDecoder()
			var next atomic.Uint32
			var total atomic.Uint64
			b.SetBytes(int64(len(dg)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				d := one
				if !shared {
					d = flowsrc.NewDatagramDecoder()
				}
				exporter := netip.AddrFrom4([4]byte{192, 0, 2, byte(next.Add(1))})
				if err := d.Decode(exporter, now, tpl, nil); err != nil {
					b.Error(err)
					return
				}
				var n uint64
				emit := func(rs []flowsrc.Record) { n += uint64(len(rs)) }
				for pb.Next() {
					if err := d.DecodeRuns(exporter, now, dg, emit); err != nil {
						b.Error(err)
						return
					}
				}
				total.Add(n)
			})
			if n := total.Load(); n != uint64(len(flows)*b.N) {
				b.Fatalf("%d records for %d datagrams", n, b.N)
			}
			b.ReportMetric(float64(len(flows)*b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
