package zeek_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/exfilscore/exfilscore/flowsrc/zeek"
)

// Zeek logs as a sensor writes them: dns.log and ssl.log in JSON, conn.log
// in TSV with its header.
const (
	exampleDNS = `{"ts":1717657689.1,"uid":"CdnsQ1","id.orig_h":"10.1.2.3","id.orig_p":53211,"id.resp_h":"10.0.0.53","id.resp_p":53,"proto":"udp","query":"files.example.net","qtype_name":"A","rcode_name":"NOERROR","answers":["203.0.113.50"],"TTLs":[300.0]}
`
	exampleSSL = `{"ts":1717657689.2,"uid":"CtlsS9","id.orig_h":"10.1.2.3","id.orig_p":50123,"id.resp_h":"203.0.113.50","id.resp_p":443,"version":"TLSv13","server_name":"files.example.net","established":true}
`
	exampleConn = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n" +
		"#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n" +
		"#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring\tcount\tcount\tcount\tcount\n" +
		"1717657689.200000\tCtlsS9\t10.1.2.3\t50123\t203.0.113.50\t443\ttcp\tssl\t42.500000\t73400320\t5120\tSF\t51000\t75440320\t2600\t109120\n" +
		"1717657690.000000\tCicmp1\t10.1.2.3\t8\t198.51.100.1\t0\ticmp\t-\t1.000000\t-\t-\tOTH\t2\t168\t2\t168\n" +
		"1717657691.000000\tCbad\t10.1.2.3\t99999\t198.51.100.1\t80\ttcp\t-\t-\t-\t-\tS0\t1\t60\t0\t0\n"
)

func ExampleReader() {
	// One Joiner and one passive-DNS map shared by the readers of the
	// application logs (read first) and of conn.log.
	j, names := zeek.NewJoiner(0), pdns.New(0)
	opts := []zeek.Option{zeek.WithJoiner(j), zeek.WithPDNS(names)}
	for _, log := range []string{exampleDNS, exampleSSL} {
		if err := zeek.NewReader(strings.NewReader(log), opts...).Run(nil); err != nil {
			fmt.Println(err)
		}
	}

	r := zeek.NewReader(strings.NewReader(exampleConn), opts...)
	for {
		var rec flowsrc.Record
		err := r.Next(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%v:%d -> %v:%d proto %d %q up %d down %d (%s bytes) %v\n",
			rec.Src, rec.SrcPort, rec.Dst, rec.DstPort, rec.Proto, rec.AppProto,
			rec.BytesToServer, rec.BytesToClient, rec.ByteCountSource, rec.End.Sub(rec.Start))
		if rec.HasICMP {
			fmt.Printf("  icmp type %d code %d\n", rec.ICMPType, rec.ICMPCode)
		}
		if rec.SNI != "" {
			fmt.Printf("  uid %s sni %s dns %s\n", rec.SensorFlowID, rec.SNI, rec.DNSName)
		}
	}
	st := r.Stats()
	fmt.Println("records:", st.Records, "joined:", st.Joined, "malformed:", st.Malformed)
	fmt.Println(st.Errors[0].Error())
	// Output:
	// 10.1.2.3:50123 -> 203.0.113.50:443 proto 6 "tls" up 73400320 down 5120 (payload bytes) 42.5s
	//   uid CtlsS9 sni files.example.net dns files.example.net
	// 10.1.2.3:0 -> 198.51.100.1:0 proto 1 "" up 168 down 168 (ip bytes) 1s
	//   icmp type 8 code 0
	// records: 2 joined: 1 malformed: 1
	// zeek: line 10 (conn): malformed line: field "id.orig_p": not a port: "99999"
}

// A follower (tail -F) hands complete lines to a Parser, which keeps the
// TSV header state between them.
func ExampleParser_Line() {
	p := zeek.NewParser(zeek.WithPath("conn"))
	lines := strings.SplitAfter(strings.TrimSuffix(exampleConn, "\n"), "\n")
	for i, line := range lines {
		p.Line([]byte(line), int64(i+1), func(r *flowsrc.Record) {
			fmt.Println(r.SensorFlowID, r.Dst, r.BytesToServer)
		})
	}
	fmt.Println(p.Stats())
	// Output:
	// CtlsS9 203.0.113.50 73400320
	// Cicmp1 198.51.100.1 168
	// lines=10 records=2 ssl=0 http=0 dns=0 headers=7 blank=0 other_path=0 malformed=1 joined=0 resolved=0 observed=0
}

func ExampleSniff() {
	for _, prefix := range []string{exampleConn, exampleSSL, `{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"orig_bytes":5}`} {
		fmt.Println(zeek.Sniff([]byte(prefix)))
	}
	// Output:
	// zeek-tsv true
	//  false
	// zeek-json true
}
