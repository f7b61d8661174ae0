// Command gen writes the goflow2-produced test data of package goflowpb:
// it builds NetFlow v5, NetFlow v9, IPFIX and sFlow datagrams with
// flowsrc/flowtest and runs them through goflow2's own pipeline
// (utils.NewFlowPipe with the protobuf producer, the "bin" format and the
// "file" transport), exactly as `goflow2 -format=bin -transport.file=F`
// would, and keeps the datagrams beside the output so that the tests can
// decode them with flowsrc.DatagramDecoder and compare.
//
// It is a separate module (it needs google.golang.org/protobuf, which the
// main module does not require) under testdata, which the go command
// ignores. Run it from this directory:
//
//	go run . -dir ../goflow2
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
	"github.com/netsampler/goflow2/v2/format"
	_ "github.com/netsampler/goflow2/v2/format/binary"
	flowpb "github.com/netsampler/goflow2/v2/pb"
	protoproducer "github.com/netsampler/goflow2/v2/producer/proto"
	"github.com/netsampler/goflow2/v2/transport"
	_ "github.com/netsampler/goflow2/v2/transport/file"
	"github.com/netsampler/goflow2/v2/utils"
	"google.golang.org/protobuf/encoding/protodelim"
)

// Datagram is one export datagram as the tests read it back.
type Datagram struct {
	SFlow    bool      `json:"sflow"`
	Exporter string    `json:"exporter"`
	Received time.Time `json:"received"`
	Payload  []byte    `json:"payload"`
}

var (
	export   = time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	received = time.Date(2024, 5, 6, 7, 8, 30, 250_000_000, time.UTC)
)

func main() {
	dir := flag.String("dir", "../goflow2", "output directory")
	flag.Parse()
	dgs := datagrams()
	write(filepath.Join(*dir, "datagrams.json"), dgs)

	// Kafka values: what the bin format hands to the transport.
	var values [][]byte
	run(dgs, nil, filepath.Join(*dir, "flows-nl.bin"), "\n", func(b []byte) { values = append(values, append([]byte(nil), b...)) })
	write(filepath.Join(*dir, "kafka-values.json"), values)
	run(dgs, nil, filepath.Join(*dir, "flows-nosep.bin"), "", nil)

	// A custom mapping in the style of goflow2's cmd/goflow2/mapping.yaml:
	// IPFIX fields into protobuf fields the schema does not have.
	mapped := &protoproducer.ProducerConfig{
		Formatter: protoproducer.FormatterConfig{
			Protobuf: []protoproducer.ProtobufFormatterConfig{
				{Name: "flow_direction", Index: 42, Type: "varint"},
				{Name: "bi_flow_direction", Index: 41, Type: "varint"},
				{Name: "if_name", Index: 998, Type: "string"},
			},
		},
		IPFIX: protoproducer.IPFIXProducerConfig{Mapping: []protoproducer.NetFlowMapField{
			{Type: 61, Destination: "flow_direction"},
			{Type: 239, Destination: "bi_flow_direction"},
			{Type: 82, Destination: "if_name"},
		}},
	}
	run(dgs, mapped, filepath.Join(*dir, "flows-mapped.bin"), "\n", nil)

	edge(filepath.Join(*dir, "edge.bin"), filepath.Join(*dir, "edge.json"))
}

// edge writes FlowMessages built directly with goflow2's pb types, framed
// by protodelim as goflow2's MarshalBinary does, for the corners the
// pipeline does not reach; edge.json names them in order.
func edge(binPath, namesPath string) {
	a4 := func(s string) []byte { b := netip.MustParseAddr(s).As4(); return b[:] }
	a16 := func(s string) []byte { b := netip.MustParseAddr(s).As16(); return b[:] }
	recv := uint64(received.UnixNano())
	msgs := []struct {
		name string
		m    *flowpb.FlowMessage
	}{
		{"received time only", &flowpb.FlowMessage{Type: flowpb.FlowMessage_IPFIX, TimeReceivedNs: recv, SamplerAddress: a4("192.0.2.9"),
			SrcAddr: a4("10.0.0.1"), DstAddr: a4("10.0.0.2"), Proto: 17, SrcPort: 1, DstPort: 2, Bytes: 10, Packets: 1}},
		{"end time only", &flowpb.FlowMessage{TimeReceivedNs: recv, TimeFlowEndNs: recv - 5e9,
			SrcAddr: a4("10.0.0.1"), DstAddr: a4("10.0.0.2"), Proto: 6}},
		{"start after end", &flowpb.FlowMessage{TimeReceivedNs: recv, TimeFlowStartNs: recv - 1e9, TimeFlowEndNs: recv - 2e9,
			SrcAddr: a4("10.0.0.1"), DstAddr: a4("10.0.0.2"), Proto: 6}},
		{"huge sampling rate", &flowpb.FlowMessage{TimeReceivedNs: recv, TimeFlowStartNs: recv, TimeFlowEndNs: recv, SamplingRate: 1 << 40,
			SrcAddr: a4("10.0.0.1"), DstAddr: a4("10.0.0.2"), Proto: 6, Bytes: 1 << 40, Packets: 3}},
		{"repeated and routing fields", &flowpb.FlowMessage{TimeReceivedNs: recv, TimeFlowStartNs: recv - 1, TimeFlowEndNs: recv,
			SrcAddr: a16("2001:db8::1"), DstAddr: a16("::ffff:198.51.100.1"), SamplerAddress: a16("::ffff:192.0.2.9"), Proto: 6, SrcPort: 443, DstPort: 50000,
			BgpCommunities: []uint32{65000<<16 | 1, 1 << 31}, AsPath: []uint32{64500, 4200000000}, MplsLabel: []uint32{16, 1048575}, MplsTtl: []uint32{64, 1},
			MplsIp: [][]byte{a4("192.0.2.1"), a16("2001:db8::99")}, LayerStack: []flowpb.FlowMessage_LayerStack{flowpb.FlowMessage_Ethernet, flowpb.FlowMessage_MPLS, flowpb.FlowMessage_IPv6, flowpb.FlowMessage_TCP},
			LayerSize: []uint32{14, 4, 40, 20}, Ipv6RoutingHeaderAddresses: [][]byte{a16("2001:db8::a"), a16("2001:db8::b")}, Ipv6RoutingHeaderSegLeft: 1,
			NextHop: a4("192.0.2.254"), BgpNextHop: a16("2001:db8::fe"), SrcAs: 64500, DstAs: 4200000000, InIf: 1 << 31, OutIf: 7, SrcMac: 1<<48 - 1, DstMac: 2,
			ObservationDomainId: 4294967295, ObservationPointId: 3, TcpFlags: 0x1ff, IpFlags: 2, FragmentId: 65535, Ipv6FlowLabel: 1<<20 - 1, SequenceNum: 4294967295,
			Bytes: 1500, Packets: 1, Etype: 0x86dd, IpTos: 0xb8, IpTtl: 63, ForwardingStatus: 64, VlanId: 4094, SrcVlan: 1, DstVlan: 2, SrcNet: 32, DstNet: 128, NextHopAs: 1}},
		{"icmpv6 fields", &flowpb.FlowMessage{TimeReceivedNs: recv, TimeFlowStartNs: recv, TimeFlowEndNs: recv,
			SrcAddr: a16("2001:db8::1"), DstAddr: a16("2001:db8::2"), Proto: 58, IcmpType: 135, DstPort: 0x1234, Bytes: 72, Packets: 1}},
		{"no addresses", &flowpb.FlowMessage{Type: flowpb.FlowMessage_SFLOW_5, TimeReceivedNs: recv, TimeFlowStartNs: recv, TimeFlowEndNs: recv,
			Etype: 0x806, Bytes: 60, Packets: 1, SamplingRate: 100}},
	}
	f, err := os.Create(binPath)
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for _, m := range msgs {
		if _, err := protodelim.MarshalTo(f, m.m); err != nil {
			log.Fatal(err)
		}
		names = append(names, m.name)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	write(namesPath, names)
}

// tap is a transport that forwards to the file transport and shows the
// data to a callback.
type tap struct {
	next transport.TransportInterface
	see  func([]byte)
}

func (t tap) Send(key, data []byte) error {
	if t.see != nil {
		t.see(data)
	}
	return t.next.Send(key, data)
}

func run(dgs []Datagram, cfg *protoproducer.ProducerConfig, out, sep string, see func([]byte)) {
	if err := flag.Set("transport.file", out); err != nil {
		log.Fatal(err)
	}
	if err := flag.Set("transport.file.sep", sep); err != nil {
		log.Fatal(err)
	}
	os.Remove(out)
	fm, err := format.FindFormat("bin")
	if err != nil {
		log.Fatal(err)
	}
	tr, err := transport.FindTransport("file")
	if err != nil {
		log.Fatal(err)
	}
	cfgm, err := cfg.Compile()
	if err != nil {
		log.Fatal(err)
	}
	prod, err := protoproducer.CreateProtoProducer(cfgm, protoproducer.CreateSamplingSystem)
	if err != nil {
		log.Fatal(err)
	}
	p := utils.NewFlowPipe(&utils.PipeConfig{Format: fm, Transport: tap{tr, see}, Producer: prod})
	for i, d := range dgs {
		src := netip.AddrPortFrom(netip.MustParseAddr(d.Exporter), 50000)
		msg := &utils.Message{Src: src, Dst: netip.MustParseAddrPort("192.0.2.200:2055"), Payload: d.Payload, Received: d.Received}
		if d.SFlow {
			err = p.SFlowPipe.DecodeFlow(msg)
		} else {
			err = p.NetFlowPipe.DecodeFlow(msg)
		}
		if err != nil {
			log.Fatalf("datagram %d: %v", i, err)
		}
	}
	if err := tr.Close(); err != nil {
		log.Fatal(err)
	}
}

func write(path string, v any) {
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		log.Fatal(err)
	}
}

func datagrams() []Datagram {
	a := netip.MustParseAddr
	tcp := flowtest.Flow{Src: a("10.1.2.3"), Dst: a("203.0.113.9"), SrcPort: 51000, DstPort: 443, Proto: 6,
		Bytes: 123456, Packets: 321, Start: export.Add(-42*time.Second - 125*time.Millisecond), End: export.Add(-2*time.Second - 5*time.Millisecond), TCPFlags: 0x1b}
	udp := flowtest.Flow{Src: a("10.1.2.4"), Dst: a("198.51.100.53"), SrcPort: 40000, DstPort: 53, Proto: 17,
		Bytes: 76, Packets: 1, Start: export.Add(-3 * time.Second), End: export.Add(-3 * time.Second)}
	ping := flowtest.Flow{Src: a("10.1.2.5"), Dst: a("198.51.100.7"), Proto: 1, ICMPType: 8, Bytes: 84, Packets: 1,
		Start: export.Add(-time.Second), End: export.Add(-time.Second)}
	unreach := flowtest.Flow{Src: a("192.0.2.77"), Dst: a("10.1.2.3"), Proto: 1, ICMPType: 3, ICMPCode: 3, Bytes: 56, Packets: 1,
		Start: export.Add(-500 * time.Millisecond), End: export.Add(-500 * time.Millisecond)}
	tcp6 := flowtest.Flow{Src: a("2001:db8::10"), Dst: a("2001:db8:ffff::20"), SrcPort: 50123, DstPort: 22, Proto: 6,
		Bytes: 9_876_543_210, Packets: 7_000_000, Start: export.Add(-time.Hour), End: export.Add(-time.Minute), TCPFlags: 0x12}
	mapped := flowtest.Flow{Src: a("::ffff:10.9.8.7"), Dst: a("::ffff:203.0.113.1"), SrcPort: 1234, DstPort: 80, Proto: 6,
		Bytes: 1000, Packets: 10, Start: export.Add(-10 * time.Second), End: export.Add(-time.Second)}
	icmp6 := flowtest.Flow{Src: a("2001:db8::10"), Dst: a("2001:db8::1"), Proto: 58, ICMPType: 128, Bytes: 104, Packets: 1,
		Start: export.Add(-2 * time.Second), End: export.Add(-2 * time.Second)}

	var out []Datagram
	add := func(sflow bool, exporter string, b []byte) {
		out = append(out, Datagram{SFlow: sflow, Exporter: exporter, Received: received.Add(time.Duration(len(out)) * time.Millisecond), Payload: b})
	}

	// NetFlow v5, sampled 1 in 100 (mode 1).
	add(false, "192.0.2.1", flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: export.Add(123456789), Uptime: 36 * time.Hour, Sequence: 1000, SamplingInterval: 1<<14 | 100},
		[]flowtest.Flow{tcp, udp, ping, unreach}))

	// NetFlow v9, source ID 7: the sampling rate announced by options data
	// in a datagram of its own, then IPv4 and IPv6 data (an IPv4 flow in
	// the IPv6 template comes out IPv4-mapped).
	v9h := flowtest.V9Header{ExportTime: export, Uptime: 10 * 24 * time.Hour, SourceID: 7}
	ot := flowtest.OptionsTemplate{ID: 300, Scopes: []flowtest.Field{{Type: 1, Length: 4}}, Options: []flowtest.Field{{Type: 34, Length: 4}}}
	v9t, v9t6 := flowtest.V9Template(256, false), flowtest.V9Template(257, true)
	add(false, "192.0.2.2", flowtest.NewV9(v9h).Template(v9t, v9t6).OptionsTemplate(ot).
		OptionsData(ot, map[flowtest.FieldKey][]byte{{Type: 34}: flowtest.BigEndian(1000, 4)}).Bytes())
	v9h.Sequence = 1
	add(false, "192.0.2.2", flowtest.NewV9(v9h).Data(v9t, tcp, ping).Data(v9t6, tcp6, mapped).Bytes())

	// IPFIX from an IPv6 exporter, domain 42: ICMP type/code in IE
	// 176/177 and 178/179, flowDirection (61), biflowDirection (239) and
	// interfaceName (82) for the custom mapping.
	ih := flowtest.IPFIXHeader{ExportTime: export, DomainID: 42}
	it := flowtest.Template{ID: 400, Fields: append(flowtest.IPFIXTemplate(0, false).Fields,
		flowtest.Field{Type: 176, Length: 1}, flowtest.Field{Type: 177, Length: 1},
		flowtest.Field{Type: 61, Length: 1}, flowtest.Field{Type: 239, Length: 1}, flowtest.Field{Type: 82, Length: flowtest.Variable})}
	it6 := flowtest.Template{ID: 401, Fields: append(flowtest.IPFIXTemplate(0, true).Fields,
		flowtest.Field{Type: 178, Length: 1}, flowtest.Field{Type: 179, Length: 1})}
	ext := func(f flowtest.Flow, dir, bidir byte, ifname string) flowtest.Flow {
		f.Extra = map[flowtest.FieldKey][]byte{{Type: 61}: {dir}, {Type: 239}: {bidir}, {Type: 82}: []byte(ifname)}
		return f
	}
	add(false, "2001:db8::1", flowtest.NewIPFIX(ih).Template(it, it6).
		Data(it, ext(udp, 0, 1, "xe-0/0/1"), ext(unreach, 1, 2, "ge-1/2/3")).Data(it6, tcp6, icmp6).Bytes())

	// sFlow from agent 192.0.2.4 (the exporter address): TCP sampled 1 in
	// 512, IPv6 UDP 1 in 64, ICMP 1 in 1, and an ARP frame (no IP).
	arp := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06,
		0, 1, 0x08, 0, 6, 4, 0, 1, 0x02, 0, 0, 0, 0, 1, 10, 1, 2, 3, 0, 0, 0, 0, 0, 0, 10, 1, 2, 1}
	udp6 := flowtest.Flow{Src: a("2001:db8::10"), Dst: a("2001:db8::53"), SrcPort: 5353, DstPort: 53, Proto: 17}
	add(true, "192.0.2.4", flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: a("192.0.2.4"), Uptime: time.Hour}, []flowtest.SFlowSample{
		{Sequence: 1, SamplingRate: 512, SamplePool: 512, Frame: flowtest.Packet(tcp, 1400, 0)},
		{Sequence: 2, SamplingRate: 64, SamplePool: 1024, Expanded: true, Frame: flowtest.Packet(udp6, 40, 10)},
		{Sequence: 3, SamplingRate: 1, SamplePool: 1025, Frame: flowtest.Packet(ping, 56, 0)},
		{Sequence: 4, SamplingRate: 256, SamplePool: 1280, Frame: arp},
	}))
	return out
}

func init() {
	log.SetFlags(0)
	log.SetPrefix(fmt.Sprintf("%s: ", filepath.Base(os.Args[0])))
}
