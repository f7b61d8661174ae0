package flowsrc_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

func ExampleDatagramDecoder_Decode() {
	exported := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	// A NetFlow v9 export packet with its template and one flow, sampled
	// 1 in 100 (IE 34 in the record).
	tpl := flowtest.V9Template(256, false)
	tpl.Fields = append(tpl.Fields, flowtest.Field{Type: 34, Length: 4})
	datagram := flowtest.NewV9(flowtest.V9Header{ExportTime: exported, Uptime: time.Hour, SourceID: 1}).
		Template(tpl).
		Data(tpl, flowtest.Flow{
			Src: netip.MustParseAddr("10.0.0.7"), Dst: netip.MustParseAddr("198.51.100.20"),
			SrcPort: 50123, DstPort: 443, Proto: 6,
			Bytes: 5120, Packets: 8, SamplingInterval: 100,
			Start: exported.Add(-30 * time.Second), End: exported.Add(-2 * time.Second),
		}).Bytes()

	d := flowsrc.NewDatagramDecoder()
	exporter := netip.MustParseAddr("192.0.2.1")
	err := d.Decode(exporter, time.Now(), datagram, func(r *flowsrc.Record) {
		fmt.Printf("%v:%d -> %v:%d proto %d\n", r.Src, r.SrcPort, r.Dst, r.DstPort, r.Proto)
		fmt.Printf("%d bytes, %d packets (1 in %d)\n", r.BytesToServer, r.PktsToServer, r.SamplingRate)
		fmt.Println(r.Start.Format(time.RFC3339), "-", r.End.Format(time.RFC3339))
	})
	fmt.Println("error:", err)
	st := d.Stats()
	fmt.Println("v9 datagrams:", st.NetFlowV9, "records:", st.Records, "templates:", st.Templates)

	// The same data without a template, from another exporter: skipped,
	// counted, and reported.
	err = d.Decode(netip.MustParseAddr("192.0.2.2"), time.Now(), datagram[:20+4+4*2*len(tpl.Fields)+4], nil)
	fmt.Println(err != nil)
	// Output:
	// 10.0.0.7:50123 -> 198.51.100.20:443 proto 6
	// 512000 bytes, 800 packets (1 in 100)
	// 2024-05-06T07:07:39Z - 2024-05-06T07:08:07Z
	// error: <nil>
	// v9 datagrams: 1 records: 1 templates: 1
	// true
}
