package suricata

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// parseAll runs lines through p (numbered from 1) and returns the records.
func parseAll(t *testing.T, p *Parser, lines ...string) []flowsrc.Record {
	t.Helper()
	var out []flowsrc.Record
	for i, l := range lines {
		_ = p.Line([]byte(l), int64(i+1), func(r *flowsrc.Record) { out = append(out, *r) })
	}
	return out
}

func one(t *testing.T, recs []flowsrc.Record) flowsrc.Record {
	t.Helper()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	return recs[0]
}

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}

// flowLine returns a flow event with the given fields spliced in.
func flowLine(id int, src, dst, proto, extra string) string {
	return fmt.Sprintf(`{"timestamp":"2024-01-02T03:04:05.500000+0000","flow_id":%d,"event_type":"flow","src_ip":"%s","dest_ip":"%s","proto":"%s"%s,"flow":{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,"start":"2024-01-02T03:04:00.000001+0000","end":"2024-01-02T03:04:05.500000+0000","age":5,"state":"closed","reason":"timeout","alerted":false}}`,
		id, src, dst, proto, extra)
}

func TestFlowRecord(t *testing.T) {
	line := `{"timestamp":"2013-03-07T21:42:07.080972+0000","flow_id":1763482685863574,"event_type":"flow","src_ip":"141.142.228.5","src_port":59856,"dest_ip":"192.150.187.43","dest_port":80,"proto":"TCP","app_proto":"http","flow":{"pkts_toserver":7,"pkts_toclient":7,"bytes_toserver":610,"bytes_toclient":5477,"start":"2013-03-07T21:42:06.869344+0100","end":"2013-03-07T21:42:07.080972+0100","age":1,"state":"closed","reason":"shutdown","alerted":false},"community_id":"1:yvyB8h+3dnggTZW0UEITWCst97w=","tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed"}}`
	p := NewParser(WithSensor(netip.MustParseAddr("::ffff:192.0.2.9")))
	got := one(t, parseAll(t, p, line))
	want := flowsrc.Record{
		Start:             mustTime("2013-03-07T20:42:06.869344Z"),
		End:               mustTime("2013-03-07T20:42:07.080972Z"),
		Src:               netip.MustParseAddr("141.142.228.5"),
		Dst:               netip.MustParseAddr("192.150.187.43"),
		SrcPort:           59856,
		DstPort:           80,
		Proto:             6,
		AppProto:          "http",
		BytesToServer:     610,
		BytesToClient:     5477,
		PktsToServer:      7,
		PktsToClient:      7,
		SamplingRate:      1,
		TCPFlags:          0x1b,
		Initiator:         flowsrc.InitiatorSrc,
		Exporter:          netip.MustParseAddr("192.0.2.9"),
		SensorFlowID:      "1763482685863574",
		SensorCommunityID: "1:yvyB8h+3dnggTZW0UEITWCst97w=",
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
		t.Errorf("record (-want +got):\n%s", diff)
	}
	if got.Start.Location() != time.UTC {
		t.Errorf("Start not in UTC: %v", got.Start.Location())
	}
	if c := got.CommunityID(0); c != got.SensorCommunityID {
		t.Errorf("CommunityID = %s, sensor %s", c, got.SensorCommunityID)
	}
	st := p.Stats()
	if st.Lines != 1 || st.Records != 1 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
	// Without WithSensor the exporter is invalid.
	if r := one(t, parseAll(t, NewParser(), line)); r.Exporter.IsValid() {
		t.Errorf("Exporter = %v without WithSensor", r.Exporter)
	}
}

func TestAppProtoKeptAsWritten(t *testing.T) {
	for _, c := range []struct{ extra, want string }{
		{`,"src_port":1,"dest_port":2,"app_proto":"failed"`, "failed"},
		{`,"src_port":1,"dest_port":2,"app_proto":"ftp-data"`, "ftp-data"},
		{`,"src_port":1,"dest_port":2,"app_proto":"TLS"`, "TLS"},
		{`,"src_port":1,"dest_port":2`, ""},
		{`,"src_port":1,"dest_port":2,"app_proto":null`, ""},
	} {
		r := one(t, parseAll(t, NewParser(), flowLine(1, "10.0.0.1", "10.0.0.2", "TCP", c.extra)))
		if r.AppProto != c.want {
			t.Errorf("%s: AppProto %q, want %q", c.extra, r.AppProto, c.want)
		}
	}
}

func TestICMP(t *testing.T) {
	p := NewParser()
	recs := parseAll(t, p,
		flowLine(1, "192.168.0.89", "192.168.0.1", "ICMP", `,"icmp_type":8,"icmp_code":0,"response_icmp_type":0,"response_icmp_code":0`),
		flowLine(2, "3ffe:0501:0410:0000:02c0:dfff:fe47:033e", "3ffe:0507:0000:0001:0200:86ff:fe05:80da", "IPv6-ICMP", `,"icmp_type":1,"icmp_code":4`),
		// Ports on an ICMP flow are not ports.
		flowLine(3, "10.0.0.1", "10.0.0.2", "ICMP", `,"src_port":8,"dest_port":0,"icmp_type":3,"icmp_code":13`),
		// ICMP without a type: no HasICMP.
		flowLine(4, "10.0.0.1", "10.0.0.2", "ICMP", ``),
	)
	if len(recs) != 4 {
		t.Fatalf("%d records: %+v", len(recs), p.Stats())
	}
	for i, want := range []struct {
		proto, typ, code uint8
		has              bool
	}{{1, 8, 0, true}, {58, 1, 4, true}, {1, 3, 13, true}, {1, 0, 0, false}} {
		r := recs[i]
		if r.Proto != want.proto || r.HasICMP != want.has || r.ICMPType != want.typ || r.ICMPCode != want.code || r.SrcPort != 0 || r.DstPort != 0 {
			t.Errorf("record %d: proto %d icmp %v %d/%d ports %d/%d", i, r.Proto, r.HasICMP, r.ICMPType, r.ICMPCode, r.SrcPort, r.DstPort)
		}
	}
	// The spec's value for the ICMPv6 destination-unreachable flow, which
	// Suricata 7.0.10 gets wrong (see the conformance test).
	if got := recs[1].CommunityID(0); got != "1:hLZd0XGWojozrvxqE0dWB1iM6R0=" {
		t.Errorf("ICMPv6 community ID %s", got)
	}
}

func TestIPv6(t *testing.T) {
	r := one(t, parseAll(t, NewParser(), flowLine(1, "2600:1f13:00f8:d400:03a6:303c:e011:18eb", "2001:4860:4860:0000:0000:0000:0000:8888", "TCP", `,"src_port":33892,"dest_port":443,"app_proto":"tls"`)))
	if r.Src != netip.MustParseAddr("2600:1f13:f8:d400:3a6:303c:e011:18eb") || r.Dst != netip.MustParseAddr("2001:4860:4860::8888") {
		t.Errorf("addresses %v %v", r.Src, r.Dst)
	}
	if !r.Src.Is6() || r.SrcPort != 33892 || r.DstPort != 443 {
		t.Errorf("record %+v", r)
	}
	// With seed 7, as suricata-verify's community-id-ipv6 test.
	if got := r.CommunityID(7); got != "1:PGf+a0eBbs1OhuPtJmsF0Sm51v4=" {
		t.Errorf("community ID %s", got)
	}
}

func TestOtherProtocols(t *testing.T) {
	p := NewParser()
	recs := parseAll(t, p,
		flowLine(1, "10.0.0.1", "10.0.0.2", "GRE", ``),
		flowLine(2, "10.0.0.1", "10.0.0.2", "253", ``),
		flowLine(3, "10.0.0.1", "10.0.0.2", "SCTP", `,"src_port":7,"dest_port":7`),
		flowLine(4, "10.0.0.1", "10.0.0.2", "SCTP", ``), // SCTP needs ports
		flowLine(5, "10.0.0.1", "10.0.0.2", "Any", ``),  // ambiguous name
	)
	if len(recs) != 3 || recs[0].Proto != 47 || recs[1].Proto != 253 || recs[2].Proto != 132 || recs[2].SrcPort != 7 {
		t.Fatalf("records %+v", recs)
	}
	st := p.Stats()
	if st.Malformed != 2 || st.MalformedLines[0].Field != "src_port" || st.MalformedLines[0].Reason != ReasonMissing ||
		st.MalformedLines[1].Field != "proto" || st.MalformedLines[1].Value != "Any" {
		t.Errorf("stats %+v", st)
	}
}

func TestJoinTLSAndHTTPBeforeFlow(t *testing.T) {
	p := NewParser()
	lines := [][]byte{genTLS(1), genHTTP(2), genHTTP(2), genFlow(1, "tls"), genFlow(2, "http"), genFlow(3, "tls")}
	var recs []flowsrc.Record
	for i, l := range lines {
		if err := p.Line(l, int64(i+1), func(r *flowsrc.Record) { recs = append(recs, *r) }); err != nil {
			t.Fatal(err)
		}
	}
	if len(recs) != 3 {
		t.Fatalf("%d records", len(recs))
	}
	tls, http, none := recs[0], recs[1], recs[2]
	if tls.SNI != "host1.example.com" || tls.JA3 != "e7d705a3286e19ea42f587b344ee6865" ||
		tls.JA4 != "t13d1516h2_8daaf6152771_02713d6af862" || tls.HTTPHost != "" {
		t.Errorf("tls record %+v", tls)
	}
	if http.HTTPHost != "www2.example.org" || http.UserAgent != "Mozilla/5.0 (X11; Linux x86_64) curl/8.5" ||
		http.HTTPMethod != "POST" || http.HTTPContentType != "application/json" || http.SNI != "" {
		t.Errorf("http record %+v", http)
	}
	if none.SNI != "" || none.HTTPHost != "" {
		t.Errorf("flow 3 got names %+v", none)
	}
	st := p.Stats()
	if st.TLS != 1 || st.HTTP != 2 || st.Joined != 2 || st.Pending != 0 || st.Late != 0 || st.Records != 3 {
		t.Errorf("stats %+v", st)
	}
	// The first event that names a field wins.
	p = NewParser()
	recs = parseAll(t, p,
		`{"event_type":"http","flow_id":5,"http":{"hostname":"first.example","http_method":"GET"}}`,
		`{"event_type":"http","flow_id":5,"http":{"hostname":"second.example","http_user_agent":"ua2"}}`,
		flowLine(5, "10.0.0.1", "192.0.2.1", "TCP", `,"src_port":1,"dest_port":80`))
	if r := one(t, recs); r.HTTPHost != "first.example" || r.HTTPMethod != "GET" || r.UserAgent != "ua2" {
		t.Errorf("merged %+v", r)
	}
}

func TestLateAppEvent(t *testing.T) {
	p := NewParser()
	recs := parseAll(t, p, string(genFlow(1, "tls")), string(genTLS(1)), string(genTLS(2)))
	if r := one(t, recs); r.SNI != "" {
		t.Errorf("SNI %q", r.SNI)
	}
	st := p.Stats()
	if st.Late != 1 || st.Pending != 1 || st.TLS != 2 {
		t.Errorf("stats %+v", st)
	}
	// No flow_id: the names cannot be joined.
	p = NewParser()
	parseAll(t, p, `{"event_type":"tls","tls":{"sni":"x.example"}}`, `{"event_type":"tls","flow_id":3,"tls":{"version":"TLS 1.3"}}`)
	if st := p.Stats(); st.NoFlowID != 1 || st.Pending != 0 || st.TLS != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestPendingEviction(t *testing.T) {
	p := NewParser(WithPendingCapacity(2))
	recs := parseAll(t, p,
		string(genTLS(1)), string(genTLS(2)), string(genTLS(3)), // 1 is evicted
		string(genTLS(2)), // an update, not a new entry
		string(genFlow(1, "tls")), string(genFlow(2, "tls")), string(genFlow(3, "tls")))
	if len(recs) != 3 || recs[0].SNI != "" || recs[1].SNI != "host2.example.com" || recs[2].SNI != "host3.example.com" {
		t.Fatalf("records %+v", recs)
	}
	if st := p.Stats(); st.Evicted != 1 || st.Pending != 0 || st.Joined != 2 {
		t.Errorf("stats %+v", st)
	}
	// The pending map never holds more than its capacity.
	p = NewParser(WithPendingCapacity(16))
	for i := range 1000 {
		_ = p.Line(genTLS(i), int64(i), nil)
		if n := len(p.pending.m); n > 16 {
			t.Fatalf("pending %d > 16", n)
		}
	}
	if st := p.Stats(); st.Evicted != 1000-16 || st.Pending != 16 {
		t.Errorf("stats %+v", st)
	}
	// Neither does the set of finished flows.
	for i := range 1000 {
		_ = p.Line(genFlow(i, "tls"), int64(i), nil)
	}
	if len(p.recent.m) > 16 {
		t.Errorf("recent set holds %d", len(p.recent.m))
	}
}

func TestDNSAnswersNameLaterFlows(t *testing.T) {
	shared := pdns.New(0)
	p := NewParser(WithPDNS(shared))
	lines := []string{
		// v1: one event per answer record.
		`{"event_type":"dns","flow_id":100,"src_ip":"10.0.0.5","dest_ip":"10.0.0.53","proto":"UDP","dns":{"type":"answer","id":16000,"rcode":"NOERROR","rrname":"Twitter.COM.","rrtype":"A","ttl":8,"rdata":"199.16.156.6"}}`,
		// v2 detailed and grouped, with a CNAME chain.
		`{"event_type":"dns","flow_id":101,"dns":{"version":2,"type":"answer","id":1,"rrname":"www.suricata-ids.org","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"www.suricata-ids.org","rrtype":"CNAME","ttl":3324,"rdata":"suricata-ids.org"},{"rrname":"suricata-ids.org","rrtype":"A","ttl":10,"rdata":"192.0.78.24"},{"rrname":"suricata-ids.org","rrtype":"A","ttl":10,"rdata":"192.0.78.25"}],"grouped":{"A":["192.0.78.24","192.0.78.25"],"CNAME":["suricata-ids.org"]}}}`,
		// v2 grouped only.
		`{"event_type":"dns","flow_id":102,"dns":{"version":2,"type":"answer","id":2,"rrname":"grouped.example","rrtype":"AAAA","rcode":"NOERROR","grouped":{"AAAA":["2001:0db8:0000:0000:0000:0000:0000:0001"]}}}`,
		// v3 (Suricata 8): queries array, type response.
		`{"event_type":"dns","flow_id":103,"dns":{"version":3,"type":"response","id":3,"rcode":"NOERROR","queries":[{"rrname":"v3.example","rrtype":"A"}],"answers":[{"rrname":"v3.example","rrtype":"A","ttl":60,"rdata":"198.51.100.7"}]}}`,
		// A query event names its DNS flow.
		`{"event_type":"dns","flow_id":104,"dns":{"type":"query","id":4,"rrname":"tunnel.Example.org","rrtype":"TXT","tx_id":0}}`,
		// Answers of other types feed nothing.
		`{"event_type":"dns","flow_id":105,"dns":{"version":2,"type":"answer","rrname":"txt.example","rrtype":"TXT","answers":[{"rrname":"txt.example","rrtype":"TXT","ttl":1,"rdata":"v=spf1 -all"},{"rrname":"soa.example","rrtype":"SOA","soa":{"mname":"ns"}}]}}`,
		// Grouped answers without the query name cannot be learned.
		`{"event_type":"dns","dns":{"version":2,"type":"answer","grouped":{"A":["192.0.2.99"]}}}`,
		flowLine(1, "10.0.0.5", "199.16.156.6", "TCP", `,"src_port":40000,"dest_port":443`),
		flowLine(2, "10.0.0.5", "192.0.78.25", "TCP", `,"src_port":40001,"dest_port":443`),
		flowLine(3, "10.0.0.5", "2001:db8::1", "TCP", `,"src_port":40002,"dest_port":443`),
		flowLine(4, "10.0.0.5", "198.51.100.7", "TCP", `,"src_port":40003,"dest_port":443`),
		flowLine(104, "10.0.0.5", "10.0.0.53", "UDP", `,"src_port":53000,"dest_port":53,"app_proto":"dns"`),
		flowLine(5, "10.0.0.5", "192.0.2.99", "TCP", `,"src_port":40004,"dest_port":443`),
	}
	recs := parseAll(t, p, lines...)
	want := []string{"twitter.com", "www.suricata-ids.org", "grouped.example", "v3.example", "tunnel.example.org", ""}
	if len(recs) != len(want) {
		t.Fatalf("%d records, stats %+v", len(recs), p.Stats())
	}
	for i, w := range want {
		if recs[i].DNSName != w {
			t.Errorf("record %d to %v: DNSName %q, want %q", i, recs[i].Dst, recs[i].DNSName, w)
		}
	}
	// The CNAME target is kept too, behind the query name.
	if got := shared.Names(netip.MustParseAddr("192.0.78.24")); !cmp.Equal(got, []string{"www.suricata-ids.org", "suricata-ids.org"}) {
		t.Errorf("names of 192.0.78.24: %v", got)
	}
	st := p.Stats()
	if st.DNS != 7 || st.DNSAnswers != 5 || st.DNSNoName != 1 || st.DNSNamed != 4 || st.DNSQueryNamed != 1 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
	// A second source sharing the map names its flows from the first's answers.
	q := NewParser(WithPDNS(shared))
	if r := one(t, parseAll(t, q, flowLine(9, "10.9.9.9", "198.51.100.7", "TCP", `,"src_port":1,"dest_port":443`))); r.DNSName != "v3.example" {
		t.Errorf("shared map: DNSName %q", r.DNSName)
	}
	if q.PDNS() != shared {
		t.Error("PDNS() is not the shared map")
	}
}

func TestMalformedLines(t *testing.T) {
	good := flowLine(1, "10.0.0.1", "10.0.0.2", "TCP", `,"src_port":1,"dest_port":2`)
	cases := []struct {
		line          string
		field, reason string
	}{
		{`{"event_type":"flow",`, "", ReasonSyntax},
		{`not json`, "", ReasonSyntax},
		{`["event_type","flow"]`, "", ReasonSyntax},
		{`{"event_type":"flow"}}`, "", ReasonSyntax},
		{`{"flow_id":1}`, "", ReasonNoEvent},
		{`{"event_type":1}`, "event_type", ReasonType},
		{strings.Replace(good, `"src_ip":"10.0.0.1"`, `"src_ip":"10.0.0.999"`, 1), "src_ip", ReasonValue},
		{strings.Replace(good, `"src_ip":"10.0.0.1",`, ``, 1), "src_ip", ReasonMissing},
		{strings.Replace(good, `"dest_ip":"10.0.0.2"`, `"dest_ip":"fe80::1%eth0"`, 1), "dest_ip", ReasonValue},
		{strings.Replace(good, `"src_port":1`, `"src_port":70000`, 1), "src_port", ReasonType},
		{strings.Replace(good, `"src_port":1`, `"src_port":"1"`, 1), "src_port", ReasonType},
		{strings.Replace(good, `"dest_port":2`, `"dest_port":null`, 1), "dest_port", ReasonMissing},
		{strings.Replace(good, `"proto":"TCP"`, `"proto":"TCPX"`, 1), "proto", ReasonValue},
		{strings.Replace(good, `"bytes_toserver":300`, `"bytes_toserver":-300`, 1), "flow.bytes_toserver", ReasonType},
		{strings.Replace(good, `"bytes_toserver":300`, `"bytes_toserver":3e2`, 1), "flow.bytes_toserver", ReasonType},
		{strings.Replace(good, `"bytes_toserver":300,`, ``, 1), "flow.bytes_toserver", ReasonMissing},
		{strings.Replace(good, `"pkts_toclient":2`, `"pkts_toclient":18446744073709551616`, 1), "flow.pkts_toclient", ReasonType},
		{strings.Replace(good, `"start":"2024-01-02T03:04:00.000001+0000"`, `"start":"2024-01-02T03:04:00.000001"`, 1), "flow.start", ReasonValue},
		{strings.Replace(good, `"start":"2024-01-02T03:04:00.000001+0000"`, `"start":"2024-01-02T03:04:06+0000"`, 1), "flow.end", ReasonEndsEarly},
		{strings.Replace(good, `"flow":{`, `"flow":[{`, 1) + "]", "", ReasonSyntax},
		{strings.Replace(good, `,"flow":{`, `,"flow":5,"x":{`, 1), "flow", ReasonType},
		{strings.Replace(good, `"flow_id":1`, `"flow_id":1.5`, 1), "flow_id", ReasonType},
		{strings.Replace(good, `"src_port":1`, `"src_port":1,"tcp":{"tcp_flags":"1g"}`, 1), "tcp.tcp_flags", ReasonValue},
		{`{"event_type":"tls","flow_id":1,"tls":{"sni":5}}`, "tls.sni", ReasonType},
		{`{"event_type":"tls","flow_id":1,"tls":{"ja3":"abc"}}`, "tls.ja3", ReasonType},
		{`{"event_type":"http","flow_id":1,"http":{"hostname":["a"]}}`, "http.hostname", ReasonType},
		{`{"event_type":"dns","flow_id":1,"dns":{"type":"answer","rrname":"a","rrtype":"A","rdata":"not-an-ip"}}`, "dns.rdata", ReasonValue},
		{`{"event_type":"dns","flow_id":1,"dns":{"type":"answer","answers":[{"rrname":"a","rrtype":"AAAA","rdata":"192.0.2.1"}]}}`, "dns.answers.rdata", ReasonValue},
		{`{"event_type":"dns","flow_id":1,"dns":{"type":"answer","answers":[{"rrname":"a","rrtype":"A"}]}}`, "dns.answers.rdata", ReasonMissing},
		{`{"event_type":"dns","flow_id":1,"dns":{"type":"answer","answers":["x"]}}`, "dns.answers", ReasonType},
		{`{"event_type":"dns","flow_id":1,"dns":{"type":"answer","rrname":"a","grouped":{"A":[1]}}}`, "dns.grouped", ReasonType},
		{`{"event_type":"dns","flow_id":1,"dns":{"type":"answer","rrname":"a","grouped":{"A":["2001:db8::1"]}}}`, "dns.grouped.A", ReasonValue},
		{`{"event_type":"dns","flow_id":1,"dns":{"type":"request","queries":{"rrname":"a"}}}`, "dns.queries", ReasonType},
	}
	p := NewParser()
	var emitted int
	for i, c := range cases {
		err := p.Line([]byte(c.line), int64(100+i), func(*flowsrc.Record) { emitted++ })
		var le *LineError
		if !errors.As(err, &le) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v, want a LineError", c.line, err)
			continue
		}
		if le.Line != int64(100+i) || le.Field != c.field || le.Reason != c.reason {
			t.Errorf("%s:\n got line %d field %q reason %q (%v)\nwant line %d field %q reason %q", c.line, le.Line, le.Field, le.Reason, err, 100+i, c.field, c.reason)
		}
		if !strings.HasPrefix(err.Error(), fmt.Sprintf("suricata: line %d: ", 100+i)) {
			t.Errorf("message %q", err)
		}
		checkLine(t, []byte(c.line)) // the reference agrees that it is malformed
	}
	if emitted != 0 {
		t.Errorf("%d records from malformed lines", emitted)
	}
	st := p.Stats()
	if int(st.Malformed) != len(cases) || int(st.Lines) != len(cases) || len(st.MalformedLines) != MaxMalformedSamples {
		t.Fatalf("stats: %d malformed of %d lines, %d samples", st.Malformed, st.Lines, len(st.MalformedLines))
	}
	for i, le := range st.MalformedLines {
		if le.Line != int64(100+i) {
			t.Errorf("sample %d is line %d", i, le.Line)
		}
	}
	if le := st.MalformedLines[6]; le.EventType != "flow" || le.Value != "10.0.0.999" ||
		le.Error() != `suricata: line 106: "flow" event: field "src_ip": invalid value "10.0.0.999"` {
		t.Errorf("sample 6: %+v: %v", le, &le)
	}
	if le := st.MalformedLines[0]; le.Offset != len(cases[0].line) || !strings.Contains(le.Error(), "invalid JSON: ") {
		t.Errorf("sample 0: %+v: %v", le, &le)
	}
	// A good line still parses after all that.
	if len(parseAll(t, p, good)) != 1 {
		t.Error("good line after malformed ones not parsed")
	}
}

func TestOtherEventTypesCounted(t *testing.T) {
	p := NewParser()
	lines := []string{
		string(genNetflow(1)), string(genNetflow(1)), string(genOther(0)), string(genOther(1)),
		`{"event_type":"fileinfo","fileinfo":{"filename":"a"}}`, `{"event_type":""}`, "", "   ",
	}
	for i := range MaxEventTypes + 5 {
		lines = append(lines, fmt.Sprintf(`{"event_type":"custom%d"}`, i))
	}
	if recs := parseAll(t, p, lines...); len(recs) != 0 {
		t.Errorf("%d records", len(recs))
	}
	st := p.Stats()
	if st.Skipped["netflow"] != 2 || st.Skipped["stats"] != 1 || st.Skipped["alert"] != 1 ||
		st.Skipped["fileinfo"] != 1 || st.Skipped[""] != 1 || st.Blank != 2 {
		t.Errorf("stats %+v", st)
	}
	var total uint64
	for _, n := range st.Skipped {
		total += n
	}
	if int(total+st.Blank) != len(lines) || len(st.Skipped) != MaxEventTypes+1 || st.Skipped[OtherEventTypes] != 5+5 {
		t.Errorf("%d skipped + %d blank of %d lines; %d names, other %d", total, st.Blank, len(lines), len(st.Skipped), st.Skipped[OtherEventTypes])
	}
}

// Line allocates nothing for lines it skips, and for a flow record only
// the strings the record keeps (flow_id and community_id).
func TestAllocs(t *testing.T) {
	p := NewParser()
	flow, netflow, other := genFlow(1, "tls"), genNetflow(1), genOther(1)
	for _, c := range []struct {
		name string
		line []byte
		max  float64
	}{{"flow", flow, 2}, {"netflow", netflow, 0}, {"alert", other, 0}} {
		_ = p.Line(c.line, 1, func(*flowsrc.Record) {}) // warm up
		if n := testing.AllocsPerRun(200, func() { _ = p.Line(c.line, 1, func(*flowsrc.Record) {}) }); n > c.max {
			t.Errorf("%s line: %v allocations, want <= %v", c.name, n, c.max)
		}
	}
}

// Stats may be read while another goroutine parses (run with -race).
func TestStatsConcurrent(t *testing.T) {
	p := NewParser()
	lines := genMixed(2000)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
				_ = p.Stats()
			}
		}
	}()
	for i, l := range lines {
		_ = p.Line(l, int64(i+1), nil)
	}
	close(done)
	wg.Wait()
	if st := p.Stats(); st.Lines != 2000 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{string(genFlow(1, "tls")), true},
		{string(genFlow(1, "tls")[:200]), true}, // a prefix that reaches event_type
		{string(genFlow(1, "tls")[:60]), false}, // one that does not
		{"\xef\xbb\xbf" + `{"event_type":"stats"}`, true},
		{"\n\n  " + `{"timestamp":"x","event_type":"alert"`, true},
		{`{"timestamp":"x","event_type":5}`, false},
		{`{"ts":1700000000.1,"uid":"CHhAvVGS1DHFjwGM9","id.orig_h":"10.0.0.1","proto":"tcp"}`, false},
		{`{"a":[1,2,{"b":"}"}],"event_type":"dns"}`, true},
		{`{"a":bad,"event_type":"dns"}`, false},
		{`#separator \x09`, false},
		{``, false},
		{`[{"event_type":"flow"}]`, false},
	} {
		if got := Sniff([]byte(c.in)); got != c.want {
			t.Errorf("Sniff(%.60q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// Names longer than MaxNameLen are left out and counted; event types and
// error samples keep at most 64 bytes of what they quote.
func TestLongNames(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen+1)
	p := NewParser()
	recs := parseAll(t, p,
		`{"event_type":"tls","flow_id":1,"tls":{"sni":"`+long+`","ja4":"t13"}}`,
		`{"event_type":"dns","flow_id":2,"dns":{"type":"answer","rrname":"`+long+`","rrtype":"A","rdata":"192.0.2.1"}}`,
		`{"event_type":"`+long+`"}`,
		`{"event_type":"`+long+`","src_ip":5}`,
		flowLine(1, "10.0.0.1", "192.0.2.1", "TCP", `,"src_port":1,"dest_port":443`))
	r := one(t, recs)
	if r.SNI != "" || r.JA4 != "t13" || r.DNSName != "" {
		t.Errorf("record %+v", r)
	}
	st := p.Stats()
	if st.LongNames != 2 || st.DNSNoName != 1 || st.Skipped[OtherEventTypes] != 2 || st.Malformed != 0 {
		t.Errorf("stats %+v", st)
	}
	_ = p.Line([]byte(`{"event_type":"`+long+`","x":`), 9, nil)
	if st := p.Stats(); len(st.MalformedLines) != 1 || len(st.MalformedLines[0].EventType) != 64 {
		t.Errorf("sample %+v", st.MalformedLines)
	}
}
