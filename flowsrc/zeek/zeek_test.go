package zeek_test

import (
	"errors"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/exfilscore/exfilscore/flowsrc/zeek"
)

var (
	ts0    = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)
	client = netip.MustParseAddr("10.1.2.3")
	server = netip.MustParseAddr("198.51.100.7")
)

func epoch(t time.Time) string { return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000) }

// tcpConn is a complete conn.log entry and the record it must give.
func tcpConn() (map[string]string, flowsrc.Record) {
	vals := map[string]string{
		"ts": epoch(ts0), "uid": "CHhAvVGS1DHFjwGM9", "id.orig_h": "10.1.2.3", "id.orig_p": "51234",
		"id.resp_h": "198.51.100.7", "id.resp_p": "443", "proto": "tcp", "service": "ssl",
		"duration": "2.500000", "orig_bytes": "1200", "resp_bytes": "56000", "conn_state": "SF",
		"local_orig": "T", "local_resp": "F", "missed_bytes": "0", "history": "ShADadFf",
		"orig_pkts": "20", "orig_ip_bytes": "2240", "resp_pkts": "45", "resp_ip_bytes": "57800",
		"tunnel_parents": "(empty)",
	}
	want := flowsrc.Record{
		Start: ts0, End: ts0.Add(2500 * time.Millisecond),
		Src: client, Dst: server, SrcPort: 51234, DstPort: 443, Proto: 6, AppProto: "tls",
		BytesToServer: 1200, BytesToClient: 56000, PktsToServer: 20, PktsToClient: 45,
		SamplingRate: 1, Initiator: flowsrc.InitiatorSrc, SensorFlowID: "CHhAvVGS1DHFjwGM9",
		ByteCountSource: "payload",
	}
	return vals, want
}

// asJSON converts TSV values to the JSON writer's types, leaving out
// unset fields.
func asJSON(vals map[string]string) map[string]any {
	m := make(map[string]any)
	for k, v := range vals {
		switch {
		case v == "-":
		case k == "ts" || k == "duration":
			var f float64
			fmt.Sscan(v, &f)
			m[k] = f
		case strings.HasSuffix(k, "_p") || strings.HasSuffix(k, "bytes") || strings.HasSuffix(k, "pkts"):
			var n uint64
			fmt.Sscan(v, &n)
			m[k] = n
		case v == "(empty)" && k == "tunnel_parents":
			m[k] = []string{}
		case v == "(empty)":
			m[k] = ""
		case v == "T" || v == "F":
			m[k] = v == "T"
		default:
			m[k] = unescape(v)
		}
	}
	return m
}

// unescape decodes the ASCII writer's \xHH escapes (the JSON writer
// writes the bytes themselves).
func unescape(s string) string {
	return regexp.MustCompile(`\\x[0-9a-fA-F]{2}`).ReplaceAllStringFunc(s, func(h string) string {
		n, _ := strconv.ParseUint(h[2:], 16, 8)
		return string(rune(n))
	})
}

func TestTSVAndJSON(t *testing.T) {
	vals, want := tcpConn()
	tsv := tsvHeader("conn", connFields) + tsvRow(connFields, vals) + "#close\t2024-05-06-08-00-00\n"
	recs, p := parse(tsv)
	if len(recs) != 1 {
		t.Fatalf("TSV: %d records, stats %+v", len(recs), p.Stats())
	}
	if d := diff(want, recs[0]); d != "" {
		t.Errorf("TSV record (-want +got):\n%s", d)
	}
	st := p.Stats()
	if st.Records != 1 || st.Headers != 9 || st.Malformed != 0 {
		t.Errorf("TSV stats %+v", st)
	}
	checkSum(t, st)

	m := asJSON(vals)
	epochJSON := jsonRow(t, m)
	m["ts"] = ts0.Format("2006-01-02T15:04:05.000000Z") // JSON::TS_ISO8601
	isoJSON := jsonRow(t, m)
	m["ts"] = ts0.UnixMilli() // JSON::TS_MILLIS
	millisJSON := jsonRow(t, m)
	m["ts"] = ts0.Format(time.RFC3339Nano) // other RFC 3339 forms
	m["_path"] = "conn"
	rfcJSON := jsonRow(t, m)
	for name, line := range map[string]string{"epoch": epochJSON, "iso8601": isoJSON, "millis": millisJSON, "rfc3339": rfcJSON} {
		recs, p := parse(line)
		if len(recs) != 1 {
			t.Errorf("JSON %s: %d records, stats %+v", name, len(recs), p.Stats())
			continue
		}
		w := want
		if name == "millis" {
			w.Start = ts0.Truncate(time.Millisecond)
			w.End = w.Start.Add(2500 * time.Millisecond)
		}
		if d := diff(w, recs[0]); d != "" {
			t.Errorf("JSON %s record (-want +got):\n%s", name, d)
		}
	}
}

func TestHeaderVariants(t *testing.T) {
	vals, want := tcpConn()
	row := tsvRow(connFields, vals)
	swap := func(s, old, new string) string { return strings.ReplaceAll(s, old, new) }
	// Other separators and markers, as LogAscii::separator etc. allow.
	pipeHeader := "#separator \\x7c\n#set_separator|;\n#empty_field|EMPTY\n#unset_field|NONE\n#path|conn\n#fields|" +
		strings.Join(connFields, "|") + "\n"
	pipeRow := swap(swap(swap(row, "\t", "|"), "(empty)", "EMPTY"), "|-|", "|NONE|")
	multiHeader := "#separator \\x3a\\x3a\n#path::conn\n#fields::" + strings.Join(connFields, "::") + "\n"
	multiRow := swap(row, "\t", "::")
	// Columns in another order, unknown extra columns, ip_proto.
	reordered := []string{"uid", "proto", "extra", "id.resp_p", "id.resp_h", "id.orig_p", "id.orig_h", "ts", "service",
		"resp_bytes", "orig_bytes", "resp_pkts", "orig_pkts", "duration", "ip_proto"}
	rvals := map[string]string{"extra": "x\\x09y", "ip_proto": "6"}
	for k, v := range vals {
		rvals[k] = v
	}
	cases := []struct {
		name string
		text string
		opts []zeek.Option
		want flowsrc.Record
	}{
		{"zeek", tsvHeader("conn", connFields) + row, nil, want},
		{"crlf", swap(tsvHeader("conn", connFields)+row, "\n", "\r\n"), nil, want},
		{"btest comment", "### BTest baseline data generated by btest-diff.\n" + tsvHeader("conn", connFields) + row, nil, want},
		{"no final newline", tsvHeader("conn", connFields) + strings.TrimSuffix(row, "\n"), nil, want},
		{"pipe separator and markers", pipeHeader + pipeRow, nil, want},
		{"two-byte separator", multiHeader + multiRow, nil, want},
		{"fields only", "#fields\t" + strings.Join(connFields, "\t") + "\n" + row, nil, want},
		{"no #path, WithPath", "#separator \\x09\n#fields\t" + strings.Join(connFields, "\t") + "\n" + row, []zeek.Option{zeek.WithPath("conn")}, want},
		{"reordered", tsvHeader("conn", reordered) + tsvRow(reordered, rvals), nil, want},
	}
	for _, c := range cases {
		recs, p := parse(c.text, c.opts...)
		if len(recs) != 1 {
			t.Errorf("%s: %d records, stats %+v", c.name, len(recs), p.Stats())
			continue
		}
		if d := diff(c.want, recs[0]); d != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, d)
		}
		checkSum(t, p.Stats())
	}
}

func TestUnsetAndEmpty(t *testing.T) {
	base, want := tcpConn()
	with := func(changes map[string]string) map[string]string {
		m := make(map[string]string)
		for k, v := range base {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		changes map[string]string
		edit    func(r *flowsrc.Record)
	}{
		{"service unset", map[string]string{"service": "-"}, func(r *flowsrc.Record) { r.AppProto = "" }},
		{"service empty", map[string]string{"service": "(empty)"}, func(r *flowsrc.Record) { r.AppProto = "" }},
		{"several services", map[string]string{"service": "ssl,http"}, func(r *flowsrc.Record) { r.AppProto = "tls" }},
		{"failed analyzer first", map[string]string{"service": "-ssl,http"}, func(r *flowsrc.Record) { r.AppProto = "http" }},
		{"payload bytes unset: IP bytes", map[string]string{"orig_bytes": "-", "resp_bytes": "-"}, func(r *flowsrc.Record) {
			r.BytesToServer, r.BytesToClient, r.ByteCountSource = 2240, 57800, "ip"
		}},
		{"payload zero is payload", map[string]string{"orig_bytes": "0", "resp_bytes": "0"}, func(r *flowsrc.Record) {
			r.BytesToServer, r.BytesToClient = 0, 0
		}},
		{"one payload side unset: IP bytes", map[string]string{"resp_bytes": "-"}, func(r *flowsrc.Record) {
			r.BytesToServer, r.BytesToClient, r.ByteCountSource = 2240, 57800, "ip"
		}},
		{"no byte counts", map[string]string{"orig_bytes": "-", "resp_bytes": "-", "orig_ip_bytes": "-", "resp_ip_bytes": "-"}, func(r *flowsrc.Record) {
			r.BytesToServer, r.BytesToClient, r.ByteCountSource = 0, 0, ""
		}},
		{"duration unset", map[string]string{"duration": "-"}, func(r *flowsrc.Record) { r.End = r.Start }},
		{"packets unset", map[string]string{"orig_pkts": "-", "resp_pkts": "-"}, func(r *flowsrc.Record) { r.PktsToServer, r.PktsToClient = 0, 0 }},
		{"uid unset", map[string]string{"uid": "-"}, func(r *flowsrc.Record) { r.SensorFlowID = "" }},
		{"escaped dash", map[string]string{"uid": `\x2d`}, func(r *flowsrc.Record) { r.SensorFlowID = "-" }},
		{"escaped tab", map[string]string{"uid": `C\x09x`}, func(r *flowsrc.Record) { r.SensorFlowID = "C\tx" }},
		{"unknown service kept", map[string]string{"service": "spicy_wireguard"}, func(r *flowsrc.Record) { r.AppProto = "wireguard" }},
		{"community id", map[string]string{"community_id": "1:abc="}, func(r *flowsrc.Record) { r.SensorCommunityID = "1:abc=" }},
		{"unknown transport with ip_proto", map[string]string{"proto": "unknown_transport", "ip_proto": "47", "id.orig_p": "0", "id.resp_p": "0"}, func(r *flowsrc.Record) {
			r.Proto, r.SrcPort, r.DstPort = 47, 0, 0
		}},
		{"unknown transport without ip_proto", map[string]string{"proto": "unknown_transport", "id.orig_p": "0", "id.resp_p": "0"}, func(r *flowsrc.Record) {
			r.Proto, r.SrcPort, r.DstPort = 0, 0, 0
		}},
		{"udp", map[string]string{"proto": "udp", "service": "dns"}, func(r *flowsrc.Record) { r.Proto, r.AppProto = 17, "dns" }},
	}
	fields := append(append([]string(nil), connFields...), "community_id", "ip_proto")
	for _, c := range cases {
		vals := with(c.changes)
		w := want
		c.edit(&w)
		for _, form := range []string{"tsv", "json"} {
			text := tsvHeader("conn", fields) + tsvRow(fields, vals)
			if form == "json" {
				text = jsonRow(t, asJSON(vals))
			}
			recs, p := parse(text)
			if len(recs) != 1 {
				t.Errorf("%s %s: %d records, %+v", c.name, form, len(recs), p.Stats())
				continue
			}
			if d := diff(w, recs[0]); d != "" {
				t.Errorf("%s %s (-want +got):\n%s", c.name, form, d)
			}
		}
	}
}

func TestICMP(t *testing.T) {
	base, _ := tcpConn()
	cases := []struct {
		orig, resp, origP, respP, ipProto string
		proto                             uint8
		typ, code                         uint8
	}{
		{"10.1.2.3", "198.51.100.7", "8", "0", "", 1, 8, 0},          // echo request: resp_p is the reply type
		{"10.1.2.3", "198.51.100.7", "0", "8", "", 1, 0, 0},          // echo reply seen first
		{"198.51.100.7", "10.1.2.3", "3", "3", "", 1, 3, 3},          // port unreachable: resp_p is the code
		{"198.51.100.7", "10.1.2.3", "11", "1", "", 1, 11, 1},        // time exceeded, fragment reassembly
		{"2001:db8::1", "2001:db8::2", "128", "129", "", 58, 128, 0}, // ICMPv6 echo
		{"2001:db8::1", "2001:db8::2", "1", "4", "", 58, 1, 4},       // ICMPv6 port unreachable
		{"2001:db8::1", "2001:db8::2", "135", "136", "58", 58, 135, 0},
		{"10.1.2.3", "198.51.100.7", "8", "0", "1", 1, 8, 0},
	}
	fields := append(append([]string(nil), connFields...), "ip_proto")
	for _, c := range cases {
		vals := map[string]string{}
		for k, v := range base {
			vals[k] = v
		}
		vals["proto"], vals["service"] = "icmp", "-"
		vals["id.orig_h"], vals["id.resp_h"], vals["id.orig_p"], vals["id.resp_p"] = c.orig, c.resp, c.origP, c.respP
		if c.ipProto != "" {
			vals["ip_proto"] = c.ipProto
		}
		for _, form := range []string{"tsv", "json"} {
			text := tsvHeader("conn", fields) + tsvRow(fields, vals)
			if form == "json" {
				text = jsonRow(t, asJSON(vals))
			}
			recs, p := parse(text)
			if len(recs) != 1 {
				t.Fatalf("%v %s: %+v", c, form, p.Stats())
			}
			r := recs[0]
			if r.Proto != c.proto || !r.HasICMP || r.ICMPType != c.typ || r.ICMPCode != c.code || r.SrcPort != 0 || r.DstPort != 0 {
				t.Errorf("%v %s: proto %d icmp %v %d/%d ports %d/%d", c, form, r.Proto, r.HasICMP, r.ICMPType, r.ICMPCode, r.SrcPort, r.DstPort)
			}
			if r.Src.String() != c.orig || r.Dst.String() != c.resp {
				t.Errorf("%v: addresses %v %v", c, r.Src, r.Dst)
			}
		}
	}
	// An ICMP "port" that is not a type is refused.
	vals := map[string]string{}
	for k, v := range base {
		vals[k] = v
	}
	vals["proto"], vals["id.orig_p"] = "icmp", "300"
	recs, p := parse(tsvHeader("conn", connFields) + tsvRow(connFields, vals))
	if len(recs) != 0 || p.Stats().Malformed != 1 {
		t.Errorf("icmp type 300 accepted: %v %+v", recs, p.Stats())
	}
}

func TestIPv6(t *testing.T) {
	base, want := tcpConn()
	for _, pair := range [][2]string{
		{"2001:db8::1", "2001:db8:0:1::53"},
		{"fe80::1:2:3:4", "2001:470:4867:99::21"},
		{"::1", "::"},
		{"2001:0db8:0000:0000:0000:ff00:0042:8329", "1:2:3:4:5:6:7:8"},
		{"::ffff:192.0.2.1", "64:ff9b::198.51.100.7"},
	} {
		vals := map[string]string{}
		for k, v := range base {
			vals[k] = v
		}
		vals["id.orig_h"], vals["id.resp_h"] = pair[0], pair[1]
		w := want
		w.Src, w.Dst = netip.MustParseAddr(pair[0]), netip.MustParseAddr(pair[1])
		for _, form := range []string{"tsv", "json"} {
			text := tsvHeader("conn", connFields) + tsvRow(connFields, vals)
			if form == "json" {
				text = jsonRow(t, asJSON(vals))
			}
			recs, p := parse(text)
			if len(recs) != 1 {
				t.Errorf("%v %s: %+v", pair, form, p.Stats())
				continue
			}
			if d := diff(w, recs[0]); d != "" {
				t.Errorf("%v %s (-want +got):\n%s", pair, form, d)
			}
		}
	}
}

// appLogs returns ssl, http and dns entries for the connections of uid
// "Cssl", "Chttp" and the DNS transaction "Cdns" (answers for server).
func appLogs(t *testing.T) (sslTSV, httpTSV, dnsTSV, mixedJSON string) {
	ssl := map[string]string{"ts": epoch(ts0), "uid": "Cssl", "id.orig_h": "10.1.2.3", "id.orig_p": "51234",
		"id.resp_h": "198.51.100.7", "id.resp_p": "443", "version": "TLSv13", "cipher": "TLS_AES_128_GCM_SHA256",
		"server_name": "files.example.net", "established": "T", "ja3": "e7d705a3286e19ea42f587b344ee6865", "ja4": "t13d1516h2_8daaf6152771_02713d6af862"}
	http := map[string]string{"ts": epoch(ts0), "uid": "Chttp", "id.orig_h": "10.1.2.3", "id.orig_p": "51235",
		"id.resp_h": "203.0.113.9", "id.resp_p": "80", "trans_depth": "1", "method": "POST", "host": "upload.example.org",
		"uri": "/put", "user_agent": "curl/8.5.0", "status_code": "200", "resp_mime_types": "text/html,text/plain"}
	http2 := map[string]string{"ts": epoch(ts0), "uid": "Chttp", "id.orig_h": "10.1.2.3", "id.orig_p": "51235",
		"id.resp_h": "203.0.113.9", "id.resp_p": "80", "trans_depth": "2", "method": "GET", "host": "other.example.org",
		"uri": "/", "user_agent": "curl/8.5.0", "status_code": "200"}
	dns := map[string]string{"ts": epoch(ts0), "uid": "Cdns", "id.orig_h": "10.1.2.3", "id.orig_p": "5353",
		"id.resp_h": "192.0.2.53", "id.resp_p": "53", "proto": "udp", "trans_id": "4242", "query": "Files.Example.NET.",
		"qtype": "1", "qtype_name": "A", "rcode_name": "NOERROR", "answers": "cdn.example.net,198.51.100.7,198.51.100.8", "TTLs": "60.0,60.0,60.0"}
	ptr := map[string]string{"ts": epoch(ts0), "uid": "Cptr", "id.orig_h": "10.1.2.3", "id.orig_p": "5354",
		"id.resp_h": "192.0.2.53", "id.resp_p": "53", "proto": "udp", "query": "8.113.0.203.in-addr.arpa",
		"qtype_name": "PTR", "answers": "203.0.113.8"}
	sslTSV = tsvHeader("ssl", sslFields) + tsvRow(sslFields, ssl)
	httpTSV = tsvHeader("http", httpFields) + tsvRow(httpFields, http) + tsvRow(httpFields, http2)
	dnsTSV = tsvHeader("dns", dnsFields) + tsvRow(dnsFields, dns) + tsvRow(dnsFields, ptr)
	js := func(vals map[string]string, path string) string {
		m := asJSON(vals)
		for _, k := range []string{"answers", "resp_mime_types", "TTLs"} {
			if v, ok := vals[k]; ok {
				m[k] = strings.Split(v, ",")
			}
		}
		if path != "" {
			m["_path"] = path
		}
		return jsonRow(t, m)
	}
	// ssl with _path, the others recognised from their keys.
	mixedJSON = js(ssl, "ssl") + js(http, "") + js(http2, "") + js(dns, "") + js(ptr, "dns")
	return sslTSV, httpTSV, dnsTSV, mixedJSON
}

func connLines(t *testing.T) (tsv, json string) {
	base, _ := tcpConn()
	var rows []map[string]string
	for _, c := range []struct{ uid, resp, port, svc string }{
		{"Cssl", "198.51.100.7", "443", "ssl"},
		{"Chttp", "203.0.113.9", "80", "http"},
		{"Cdns", "192.0.2.53", "53", "dns"},
		{"Cptr", "192.0.2.53", "53", "dns"},
		{"Cother", "198.51.100.8", "8443", "-"}, // named by the A answer only
		{"Cnoname", "203.0.113.8", "22", "ssh"}, // a PTR answer names no address
	} {
		vals := map[string]string{}
		for k, v := range base {
			vals[k] = v
		}
		vals["uid"], vals["id.resp_h"], vals["id.resp_p"], vals["service"] = c.uid, c.resp, c.port, c.svc
		rows = append(rows, vals)
	}
	tsv = tsvHeader("conn", connFields)
	for _, r := range rows {
		tsv += tsvRow(connFields, r)
		json += jsonRow(t, asJSON(r))
	}
	return tsv, json
}

type names struct{ SNI, JA3, JA4, Host, UA, Method, CT, DNS string }

func namesOf(r flowsrc.Record) names {
	return names{r.SNI, r.JA3, r.JA4, r.HTTPHost, r.UserAgent, r.HTTPMethod, r.HTTPContentType, r.DNSName}
}

// wantNames are the names of connLines' records after appLogs.
var wantNames = map[string]names{
	"Cssl":    {SNI: "files.example.net", JA3: "e7d705a3286e19ea42f587b344ee6865", JA4: "t13d1516h2_8daaf6152771_02713d6af862", DNS: "files.example.net"},
	"Chttp":   {Host: "upload.example.org", UA: "curl/8.5.0", Method: "POST", CT: "text/html"},
	"Cdns":    {DNS: "files.example.net"},
	"Cptr":    {DNS: "8.113.0.203.in-addr.arpa"},
	"Cother":  {DNS: "files.example.net"},
	"Cnoname": {},
}

func TestJoins(t *testing.T) {
	sslTSV, httpTSV, dnsTSV, mixed := appLogs(t)
	connTSV, connJSON := connLines(t)

	check := func(name string, recs []flowsrc.Record) {
		t.Helper()
		if len(recs) != len(wantNames) {
			t.Fatalf("%s: %d records", name, len(recs))
		}
		for _, r := range recs {
			if d := diff(wantNames[r.SensorFlowID], namesOf(r)); d != "" {
				t.Errorf("%s %s (-want +got):\n%s", name, r.SensorFlowID, d)
			}
		}
	}

	// Separate streams sharing one Joiner and one passive-DNS map, app
	// logs first.
	j, m := zeek.NewJoiner(0), pdns.New(0)
	for _, text := range []string{sslTSV, httpTSV, dnsTSV} {
		if recs, p := parse(text, zeek.WithJoiner(j), zeek.WithPDNS(m)); len(recs) != 0 || p.Stats().Malformed != 0 {
			t.Fatalf("app log: %v %+v", recs, p.Stats())
		}
	}
	if j.Len() != 4 {
		t.Errorf("joiner holds %d uids, want 4", j.Len())
	}
	if _, ok := m.Lookup(netip.MustParseAddr("203.0.113.8")); ok {
		t.Error("a PTR answer fed the passive-DNS map")
	}
	recs, p := parse(connTSV, zeek.WithJoiner(j), zeek.WithPDNS(m))
	check("tsv streams", recs)
	if st := p.Stats(); st.Joined != 4 || st.Resolved != 2 {
		t.Errorf("stats %+v", st)
	}
	if j.Len() != 0 {
		t.Errorf("joiner keeps %d uids after their conn lines", j.Len())
	}

	// One mixed JSON stream, application entries before conn entries.
	recs, p = parse(mixed+connJSON, zeek.WithPDNS(pdns.New(0)))
	check("json stream", recs)
	if st := p.Stats(); st.SSL != 1 || st.HTTP != 2 || st.DNS != 2 || st.Records != 6 || st.Observed != 2 || st.Malformed != 0 {
		t.Errorf("json stats %+v", st)
	}

	// A conn line before its application lines gets no names.
	recs, _ = parse(connJSON + mixed)
	for _, r := range recs {
		if (namesOf(r) != names{}) {
			t.Errorf("%s got names before its application entries: %+v", r.SensorFlowID, namesOf(r))
		}
	}
}

func TestJoinsConcurrent(t *testing.T) {
	// Followers of each log on their own goroutine share a Joiner; the
	// conn follower runs after the others here so the result is fixed.
	sslTSV, httpTSV, dnsTSV, _ := appLogs(t)
	connTSV, _ := connLines(t)
	j, m := zeek.NewJoiner(0), pdns.New(0)
	var wg sync.WaitGroup
	for _, text := range []string{sslTSV, httpTSV, dnsTSV} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			parse(text, zeek.WithJoiner(j), zeek.WithPDNS(m))
		}()
	}
	wg.Wait()
	recs, _ := parse(connTSV, zeek.WithJoiner(j), zeek.WithPDNS(m))
	for _, r := range recs {
		if r.SensorFlowID == "Cssl" && r.SNI != "files.example.net" {
			t.Errorf("Cssl: %+v", namesOf(r))
		}
	}
}

func TestSeveralHeaderBlocks(t *testing.T) {
	vals, want := tcpConn()
	reordered := append([]string{"uid", "ts"}, connFields[2:]...)
	weird := "#separator \\x09\n#path\tweird\n#fields\tts\tuid\tname\n1.0\tCx\tbad_TCP_checksum\n2.0\tCy\tdata_before_established\n#close\tx\n"
	vals2 := map[string]string{}
	for k, v := range vals {
		vals2[k] = v
	}
	vals2["uid"] = "C2"
	text := tsvHeader("conn", connFields) + tsvRow(connFields, vals) + "#close\t2024\n" +
		weird +
		tsvHeader("conn", reordered) + tsvRow(reordered, vals2) + "#close\t2024\n"
	recs, p := parse(text)
	st := p.Stats()
	if len(recs) != 2 || st.Records != 2 || st.OtherPath != 2 || !cmp.Equal(st.OtherPaths, []string{"weird"}) || st.Malformed != 0 {
		t.Fatalf("records %d, stats %+v", len(recs), st)
	}
	want2 := want
	want2.SensorFlowID = "C2"
	if d := diff([]flowsrc.Record{want, want2}, recs); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	checkSum(t, st)

	// Data lines after a block's #close still use its header (a log cut
	// and continued); a JSON line in the middle is read as JSON.
	js := jsonRow(t, asJSON(vals2))
	recs, p = parse(tsvHeader("conn", connFields) + "#close\tx\n" + tsvRow(connFields, vals) + js)
	if len(recs) != 2 || p.Stats().Malformed != 0 {
		t.Errorf("after #close: %d records, %+v", len(recs), p.Stats())
	}
}

func TestMalformed(t *testing.T) {
	vals, _ := tcpConn()
	bad := func(k, v string) string {
		m := map[string]string{}
		for k, v := range vals {
			m[k] = v
		}
		m[k] = v
		return tsvRow(connFields, m)
	}
	good := tsvRow(connFields, vals)
	lines := []struct {
		line, detail string
	}{
		{bad("ts", "XXXXXXXXXX.XXXXXX"), `field "ts": not a time: "XXXXXXXXXX.XXXXXX"`},
		{bad("ts", "-"), `field "ts": missing`},
		{bad("id.orig_h", "10.1.2"), `field "id.orig_h": not an address`},
		{bad("id.resp_h", "-"), `field "id.resp_h": missing`},
		{bad("id.orig_p", "70000"), `field "id.orig_p": not a port`},
		{bad("orig_bytes", "12x"), `field "orig_bytes": not a count`},
		{bad("resp_pkts", "-1"), `field "resp_pkts": not a count`},
		{bad("duration", "-0.5"), `field "duration": not an interval`},
		{bad("proto", "sctp"), `field "proto": unknown protocol`},
		{"1.0\tCx\t10.0.0.1\n", "3 fields, #fields names 21"},
		{strings.TrimSuffix(good, "\n") + "\textra\n", "22 fields, #fields names 21"},
		{`{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1",` + "\n", "JSON object not terminated"},
		{`{"ts":1.0,"uid":"C1",}` + "\n", "invalid JSON"},
		{`{"ts":1.0 "uid":"C1"}` + "\n", "invalid JSON"},
		{`{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":[1]}` + "\n", `field "orig_bytes": not a single value`},
		{`{"ts":true,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":1}` + "\n", `field "ts": not a time`},
		{`{"_path":5,"uid":"C1"}` + "\n", `field "_path"`},
		{`{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":1}garbage` + "\n", "invalid JSON"},
		{`{"a":[[[[}` + "\n", "invalid JSON"},
	}
	text := tsvHeader("conn", connFields)
	for _, l := range lines {
		text += l.line + good
	}
	recs, p := parse(text, zeek.WithMaxErrors(100))
	st := p.Stats()
	if len(recs) != len(lines) || st.Malformed != uint64(len(lines)) {
		t.Fatalf("%d records, %d malformed; want %d each: %+v", len(recs), st.Malformed, len(lines), st.Errors)
	}
	checkSum(t, st)
	for i, l := range lines {
		e := st.Errors[i]
		if want := int64(8 + 2*i + 1); e.Line != want {
			t.Errorf("error %d at line %d, want %d", i, e.Line, want)
		}
		if !errors.Is(&e, zeek.ErrMalformed) || !strings.Contains(e.Error(), l.detail) {
			t.Errorf("line %d: %q, want %q", e.Line, e.Error(), l.detail)
		}
	}

	// The error list is bounded, the count is not.
	_, p = parse(text)
	if st := p.Stats(); len(st.Errors) != zeek.DefaultMaxErrors || st.Malformed != uint64(len(lines)) {
		t.Errorf("default limit: %d errors, %d malformed", len(st.Errors), st.Malformed)
	}

	// Data before any header.
	_, p = parse(good + good)
	if st := p.Stats(); st.Malformed != 2 || !errors.Is(&st.Errors[1], zeek.ErrNoHeader) || st.Errors[1].Line != 2 {
		t.Errorf("no header: %+v", st)
	}
	// Unknown JSON lines are another log, not errors.
	_, p = parse(`{"ts":1.0,"note":"Scan::Port_Scan"}` + "\n")
	if st := p.Stats(); st.OtherPath != 1 || st.Malformed != 0 || !cmp.Equal(st.OtherPaths, []string{"(unknown)"}) {
		t.Errorf("unknown JSON: %+v", st)
	}
}

func TestAppProto(t *testing.T) {
	for in, want := range map[string]string{
		"": "", "-": "", "ssl": "tls", "ssl,http": "tls", "http,ssl": "http", "dce_rpc": "dcerpc",
		"krb_tcp": "krb5", "krb": "krb5", "ldap_udp": "ldap", "postgresql": "pgsql", "spicy_ldap_tcp": "ldap",
		"ftp-data": "ftp-data", "-ssl": "", "-ssl,ssh": "ssh", "gssapi,smb,ntlm": "gssapi",
		"dns": "dns", "quic,ssl": "quic", "bittorrent": "bittorrent", " ssh ": "ssh",
	} {
		if got := zeek.AppProto(in); got != want {
			t.Errorf("AppProto(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJoinerBounds(t *testing.T) {
	j := zeek.NewJoiner(64) // 4 per shard
	for i := range 1000 {
		j.Add(fmt.Sprintf("C%d", i), zeek.Names{SNI: "x"})
	}
	if n := j.Len(); n > 64 {
		t.Errorf("joiner holds %d > 64", n)
	}
	if j.Evicted()+uint64(j.Len()) != 1000 {
		t.Errorf("evicted %d + held %d != 1000", j.Evicted(), j.Len())
	}
	// Names merge: the first value of each field wins.
	j.Add("Cm", zeek.Names{HTTPHost: "a"})
	j.Add("Cm", zeek.Names{HTTPHost: "b", UserAgent: "ua"})
	if n, ok := j.Take("Cm"); !ok || n.HTTPHost != "a" || n.UserAgent != "ua" {
		t.Errorf("merge: %+v %v", n, ok)
	}
	if _, ok := j.Take("Cm"); ok {
		t.Error("Take did not remove")
	}
	// Taken entries free their room: a steady stream never evicts.
	j2 := zeek.NewJoiner(16)
	for i := range 1000 {
		uid := fmt.Sprintf("C%d", i)
		j2.Add(uid, zeek.Names{SNI: "x"})
		if _, ok := j2.Take(uid); !ok {
			t.Fatalf("%s lost", uid)
		}
	}
	if j2.Evicted() != 0 {
		t.Errorf("evicted %d", j2.Evicted())
	}
	j2.Add("", zeek.Names{SNI: "x"})
	j2.Add("Cz", zeek.Names{})
	if j2.Len() != 0 {
		t.Error("empty uid or names kept")
	}
}

func TestSensorAndLongNames(t *testing.T) {
	vals, _ := tcpConn()
	long := strings.Repeat("a", zeek.MaxNameLen+10)
	ssl := map[string]string{"uid": vals["uid"], "server_name": long}
	text := tsvHeader("ssl", sslFields) + tsvRow(sslFields, ssl) + tsvHeader("conn", connFields) + tsvRow(connFields, vals)
	recs, p := parse(text, zeek.WithSensor(netip.MustParseAddr("::ffff:192.0.2.99")))
	if len(recs) != 1 || recs[0].Exporter != netip.MustParseAddr("192.0.2.99") || len(recs[0].SNI) != zeek.MaxNameLen || p.Stats().Truncated != 1 {
		t.Errorf("%+v %+v", recs, p.Stats())
	}
}

func TestAllocs(t *testing.T) {
	vals, _ := tcpConn()
	tsvLine := []byte(tsvRow(connFields, vals))
	jsonLine := []byte(jsonRow(t, asJSON(vals)))
	p := zeek.NewParser()
	p.Line([]byte(tsvHeader("conn", connFields)[:0]), 0, nil)
	for _, l := range strings.SplitAfter(tsvHeader("conn", connFields), "\n") {
		p.Line([]byte(l), 0, nil)
	}
	n := 0
	emit := func(*flowsrc.Record) { n++ }
	// The uid is the only string a record keeps here.
	if a := testing.AllocsPerRun(200, func() { p.Line(tsvLine, 1, emit) }); a > 1 {
		t.Errorf("TSV: %.1f allocations per line, want 1", a)
	}
	if a := testing.AllocsPerRun(200, func() { p.Line(jsonLine, 1, emit) }); a > 1 {
		t.Errorf("JSON: %.1f allocations per line, want 1", a)
	}
	if n != 402 {
		t.Errorf("%d records", n)
	}
}

func TestStatsConcurrent(t *testing.T) {
	// Stats may be read while another goroutine feeds lines (run with
	// -race).
	vals, _ := tcpConn()
	text := tsvHeader("conn", connFields) + strings.Repeat(tsvRow(connFields, vals)+"garbage\n", 200)
	p := zeek.NewParser()
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, l := range strings.SplitAfter(text, "\n") {
			p.Line([]byte(l), int64(i+1), nil)
		}
	}()
	for range 100 {
		st := p.Stats()
		if st.Records > 200 || len(st.Errors) > zeek.DefaultMaxErrors {
			t.Errorf("%+v", st)
		}
	}
	<-done
	if st := p.Stats(); st.Records != 200 || st.Malformed != 200 {
		t.Errorf("%+v", st)
	}
}
