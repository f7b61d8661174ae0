package flowtest_test

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// A NetFlow v9 exporter in a few lines: the template, then data, sent over
// loopback UDP.
func ExampleV9() {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tpl := flowtest.V9Template(256, false)
	flow := flowtest.Flow{
		Src: netip.MustParseAddr("10.0.0.5"), Dst: netip.MustParseAddr("203.0.113.9"),
		SrcPort: 51515, DstPort: 443, Proto: 6,
		Bytes: 52_428_800, Packets: 36_000,
		Start: now.Add(-time.Minute), End: now,
	}
	msg := flowtest.NewV9(flowtest.V9Header{ExportTime: now, Uptime: 72 * time.Hour, Sequence: 1, SourceID: 7}).
		Template(tpl).
		Data(tpl, flow).
		Bytes()

	exporter, err := net.DialUDP("udp", nil, conn.LocalAddr().(*net.UDPAddr))
	if err != nil {
		panic(err)
	}
	defer exporter.Close()
	if _, err := exporter.Write(msg); err != nil {
		panic(err)
	}

	buf := make([]byte, 1500)
	n, err := conn.Read(buf)
	if err != nil {
		panic(err)
	}
	fmt.Println("bytes:", n)
	fmt.Println("version:", binary.BigEndian.Uint16(buf), "records:", binary.BigEndian.Uint16(buf[2:]))
	// Output:
	// bytes: 112
	// version: 9 records: 2
}

// IPFIX messages carry their length; enterprise and variable-length fields
// come from Flow.Extra.
func ExampleIPFIX() {
	tpl := flowtest.IPFIXTemplate(256, true)
	tpl.Fields = append(tpl.Fields,
		flowtest.Field{Type: 1, Length: 4, PEN: 29305},      // an enterprise counter
		flowtest.Field{Type: 94, Length: flowtest.Variable}) // applicationDescription
	flow := flowtest.Flow{
		Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"),
		Proto: 17, SrcPort: 5000, DstPort: 53, Bytes: 120, Packets: 2,
		Extra: map[flowtest.FieldKey][]byte{
			{Type: 1, PEN: 29305}: flowtest.BigEndian(7, 4),
			{Type: 94}:            []byte("dns"),
		},
	}
	m := flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: time.Unix(1_700_000_000, 0), DomainID: 1}).
		Template(tpl).
		Data(tpl, flow)
	msg := m.Bytes()
	fmt.Println("version:", binary.BigEndian.Uint16(msg), "length:", binary.BigEndian.Uint16(msg[2:]), "=", len(msg))
	fmt.Println("data records:", m.DataRecords())
	// Output:
	// version: 10 length: 159 = 159
	// data records: 1
}

// NetFlow v5 is a single function call.
func ExampleAppendV5() {
	now := time.Unix(1_700_000_000, 0)
	msg := flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: now, Uptime: time.Hour}, []flowtest.Flow{{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("192.0.2.1"),
		Proto: 1, ICMPType: 8, // echo request: destination port 0x0800
		Bytes: 84, Packets: 1, Start: now, End: now,
	}})
	fmt.Println(len(msg), "bytes; dst port field:", binary.BigEndian.Uint16(msg[24+34:]))
	// Output:
	// 72 bytes; dst port field: 2048
}

// An sFlow datagram samples packets: Packet builds the sampled header.
func ExampleAppendSFlow() {
	frame := flowtest.Packet(flowtest.Flow{
		Src: netip.MustParseAddr("10.0.0.1"), Dst: netip.MustParseAddr("198.51.100.1"),
		SrcPort: 40000, DstPort: 443, Proto: 6, TCPFlags: 0x18,
	}, 1400, 100)
	msg := flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: netip.MustParseAddr("192.0.2.254")},
		[]flowtest.SFlowSample{{Sequence: 1, SamplingRate: 1000, Frame: frame, Stripped: 4}})
	fmt.Println("sampled header:", len(frame), "bytes; datagram:", len(msg), "bytes")
	// Output:
	// sampled header: 58 bytes; datagram: 152 bytes
}
