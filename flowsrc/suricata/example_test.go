package suricata_test

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/exfilscore/exfilscore/flowsrc/suricata"
)

// An EVE file as Suricata writes it: the DNS answer and the TLS event come
// before the flow event, which is written when the flow ends.
const eve = `{"timestamp":"2024-05-01T10:00:00.100000+0000","flow_id":11,"event_type":"dns","src_ip":"10.0.0.5","src_port":53000,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","id":1,"rrname":"files.example.net","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"files.example.net","rrtype":"A","ttl":60,"rdata":"198.51.100.20"}]}}
{"timestamp":"2024-05-01T10:00:00.200000+0000","flow_id":22,"event_type":"tls","src_ip":"10.0.0.5","src_port":41000,"dest_ip":"198.51.100.20","dest_port":443,"proto":"TCP","tls":{"sni":"files.example.net","version":"TLS 1.3","ja4":"t13d1516h2_8daaf6152771_02713d6af862"}}
{"timestamp":"2024-05-01T10:05:00.000000+0000","flow_id":22,"event_type":"flow","src_ip":"10.0.0.5","src_port":41000,"dest_ip":"198.51.100.20","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":9000,"pkts_toclient":4000,"bytes_toserver":12000000,"bytes_toclient":300000,"start":"2024-05-01T10:00:00.150000+0000","end":"2024-05-01T10:04:30.000000+0000","age":270,"state":"closed","reason":"timeout","alerted":false},"community_id":"1:Ngsyd1KdZp/Ah0rfYIH2B5iKzEg="}
{"timestamp":"2024-05-01T10:05:00.000000+0000","event_type":"stats","stats":{"uptime":300}}
`

func ExampleReader() {
	r := suricata.NewReader(strings.NewReader(eve))
	for {
		var rec flowsrc.Record
		err := r.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			panic(err)
		}
		fmt.Println(rec.Src, "->", rec.Dst, rec.DstPort, rec.AppProto, rec.BytesToServer, rec.BytesToClient)
		fmt.Println("sni:", rec.SNI, "dns:", rec.DNSName, "flow_id:", rec.SensorFlowID, "end:", rec.End)
	}
	st := r.Stats()
	fmt.Println("lines:", st.Lines, "records:", st.Records, "joined:", st.Joined, "skipped:", st.Skipped)
	// Output:
	// 10.0.0.5 -> 198.51.100.20 443 tls 12000000 300000
	// sni: files.example.net dns: files.example.net flow_id: 22 end: 2024-05-01 10:04:30 +0000 UTC
	// lines: 4 records: 1 joined: 1 skipped: map[stats:1]
}

// A Parser takes lines one at a time, as a file follower hands them over;
// sources that share a pdns.Map name each other's flows.
func ExampleParser_Line() {
	names := pdns.New(0)
	p := suricata.NewParser(suricata.WithPDNS(names))
	for i, line := range strings.Split(strings.TrimSpace(eve), "\n") {
		err := p.Line([]byte(line), int64(i+1), func(rec *flowsrc.Record) {
			fmt.Println(rec.Dst, rec.SNI) // rec is only valid during the call
		})
		if err != nil {
			fmt.Println(err)
		}
	}
	err := p.Line([]byte(`{"event_type":"flow","src_ip":"10.0.0.5"}`), 5, nil)
	fmt.Println(err)
	fmt.Println(names.Lookup(netip.MustParseAddr("198.51.100.20")))
	// Output:
	// 198.51.100.20 files.example.net
	// suricata: line 5: "flow" event: field "dest_ip": missing field
	// files.example.net true
}

func ExampleSniff() {
	fmt.Println(suricata.Sniff([]byte(eve[:300])))
	fmt.Println(suricata.Sniff([]byte(`{"ts":1714557600.1,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.5"}`)))
	// Output:
	// true
	// false
}
