package zeek

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/exfilscore/exfilscore/flowsrc"
)

var refConnFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
	"duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
	"orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"}

const refHeader = "#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n#fields\t"

var (
	reTime  = regexp.MustCompile(`^[0-9]{1,10}\.[0-9]{6}$`)
	reCount = regexp.MustCompile(`^[0-9]{1,15}$`)
	reHex   = regexp.MustCompile(`\\x[0-9a-fA-F]{2}`)
)

func refUnescape(s string) string {
	return reHex.ReplaceAllStringFunc(s, func(h string) string {
		n, _ := strconv.ParseUint(h[2:], 16, 8)
		return string([]byte{byte(n)})
	})
}

// refConn is a slow, obvious reading of a conn.log TSV line under
// refHeader, for the plain forms only (ok is false for anything else).
func refConn(line string) (r flowsrc.Record, ok bool) {
	cells := strings.Split(strings.TrimRight(line, "\r\n"), "\t")
	if len(cells) != len(refConnFields) {
		return r, false
	}
	get := map[string]string{}
	for i, f := range refConnFields {
		get[f] = cells[i]
	}
	if !reTime.MatchString(get["ts"]) {
		return r, false
	}
	sec, _ := strconv.ParseInt(get["ts"][:len(get["ts"])-7], 10, 64)
	usec, _ := strconv.ParseInt(get["ts"][len(get["ts"])-6:], 10, 64)
	if sec > maxSeconds {
		return r, false // the documented bound (year 2255)
	}
	r.Start = time.Unix(sec, usec*1000).UTC()
	r.End = r.Start
	if d := get["duration"]; d != "-" {
		if !regexp.MustCompile(`^[0-9]{1,9}\.[0-9]{6}$`).MatchString(d) {
			return r, false
		}
		ds, _ := strconv.ParseInt(d[:len(d)-7], 10, 64)
		dus, _ := strconv.ParseInt(d[len(d)-6:], 10, 64)
		r.End = r.Start.Add(time.Duration(ds)*time.Second + time.Duration(dus)*time.Microsecond)
	}
	var err1, err2 error
	r.Src, err1 = netip.ParseAddr(refUnescape(get["id.orig_h"]))
	r.Dst, err2 = netip.ParseAddr(refUnescape(get["id.resp_h"]))
	if err1 != nil || err2 != nil || get["id.orig_h"] == "-" || get["id.resp_h"] == "-" {
		return r, false
	}
	for _, f := range []string{"id.orig_p", "id.resp_p"} {
		n, err := strconv.ParseUint(get[f], 10, 16)
		if err != nil || !reCount.MatchString(get[f]) {
			return r, false
		}
		if f == "id.orig_p" {
			r.SrcPort = uint16(n)
		} else {
			r.DstPort = uint16(n)
		}
	}
	switch get["proto"] {
	case "tcp":
		r.Proto = 6
	case "udp":
		r.Proto = 17
	default:
		return r, false
	}
	counts := map[string]uint64{}
	for _, f := range []string{"orig_bytes", "resp_bytes", "orig_ip_bytes", "resp_ip_bytes", "orig_pkts", "resp_pkts"} {
		if get[f] == "-" {
			continue
		}
		if !reCount.MatchString(get[f]) {
			return r, false
		}
		counts[f], _ = strconv.ParseUint(get[f], 10, 64)
	}
	_, ob := counts["orig_bytes"]
	_, rb := counts["resp_bytes"]
	_, oib := counts["orig_ip_bytes"]
	_, rib := counts["resp_ip_bytes"]
	switch {
	case ob && rb || (ob || rb) && !oib && !rib:
		r.BytesToServer, r.BytesToClient, r.ByteCountSource = counts["orig_bytes"], counts["resp_bytes"], "payload"
	case oib || rib:
		r.BytesToServer, r.BytesToClient, r.ByteCountSource = counts["orig_ip_bytes"], counts["resp_ip_bytes"], "ip"
	}
	r.PktsToServer, r.PktsToClient = counts["orig_pkts"], counts["resp_pkts"]
	if s := get["service"]; s != "-" && s != "(empty)" {
		r.AppProto = AppProto(refUnescape(s))
	}
	if u := get["uid"]; u != "-" && u != "(empty)" {
		r.SensorFlowID = refUnescape(u)
		if len(r.SensorFlowID) > MaxNameLen {
			r.SensorFlowID = r.SensorFlowID[:MaxNameLen]
		}
	}
	r.SamplingRate, r.Initiator = 1, flowsrc.InitiatorSrc
	return r, true
}

// checkRecord checks what holds for every record.
func checkRecord(t *testing.T, r *flowsrc.Record) {
	t.Helper()
	if !r.IsValid() || r.End.Before(r.Start) || r.SamplingRate != 1 || r.Initiator != flowsrc.InitiatorSrc {
		t.Fatalf("bad record %+v", r)
	}
	if r.HasICMP && (r.SrcPort != 0 || r.DstPort != 0 || r.Proto != 1 && r.Proto != 58) {
		t.Fatalf("bad ICMP record %+v", r)
	}
	switch r.ByteCountSource {
	case "", "payload", "ip":
	default:
		t.Fatalf("byte count source %q", r.ByteCountSource)
	}
	for _, s := range []string{r.SensorFlowID, r.SNI, r.HTTPHost, r.UserAgent, r.DNSName} {
		if len(s) > MaxNameLen {
			t.Fatalf("name of %d bytes", len(s))
		}
	}
}

func checkStats(t *testing.T, st Stats) {
	t.Helper()
	if sum := st.Headers + st.Blank + st.Records + st.SSL + st.HTTP + st.DNS + st.OtherPath + st.Malformed; sum != st.Lines {
		t.Fatalf("stats do not add up: %+v", st)
	}
}

func FuzzTSVLine(f *testing.F) {
	for _, s := range []string{
		"1517336042.090842\tCi85EB2YjUI9a2eql6\t10.55.182.100\t14291\t10.233.233.5\t80\ttcp\t-\t3.000158\t0\t0\tS0\tT\tT\t0\tS\t2\t104\t0\t0\t(empty)",
		"1517336156.416733\tC3uGCg2PZiXv0EXmXe\t10.55.100.109\t52077\t98.139.180.180\t443\ttcp\tssl\t8.019001\t5197\t742651\tRSTO\tT\tF\t7300\tShADadR\t262\t15689\t227\t751743\t(empty)",
		"1.000000\tC\\x09x\t2001:470:1f11:81f:c999:d94:aa7c:2e3e\t49186\t2001:470:4867:99::21\t57086\ttcp\tftp-data\t0.219721\t-\t-\tSF\tF\tF\t0\tShAdfFa\t5\t372\t4\t642\t-",
		"1.000000\tC1\t10.0.0.1\t8\t10.0.0.2\t0\ticmp\t-\t1.0\t56\t56\tOTH\tF\tF\t0\t-\t1\t84\t1\t84\t-",
		"1.0\tC1\t10.0.0.1\t53\t10.0.0.2\t53\tudp\tdns,-ssl\t1e-06\t-\t-\tSF\tF\tF\t0\tDd\t1\t-\t1\t-\t-",
		"#separator \\x7c",
		"#fields\tts\tuid",
		"#path\tdns",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p := NewParser()
		for _, h := range strings.SplitAfter(refHeader+strings.Join(refConnFields, "\t")+"\n", "\n") {
			p.Line([]byte(h), 0, nil)
		}
		var got []flowsrc.Record
		p.Line([]byte(line), 1, func(r *flowsrc.Record) {
			checkRecord(t, r)
			got = append(got, *r)
		})
		checkStats(t, p.Stats())
		if want, ok := refConn(line); ok {
			if len(got) != 1 {
				t.Fatalf("%q: reference reads it, parser does not: %+v", line, p.Stats().Errors)
			}
			if d := cmp.Diff(want, got[0], cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); d != "" {
				t.Fatalf("%q (-reference +parser):\n%s", line, d)
			}
		}
		// A second line after whatever the first did to the header state
		// must not break anything either.
		p.Line([]byte(line), 2, func(r *flowsrc.Record) { checkRecord(t, r) })
		checkStats(t, p.Stats())
	})
}

func FuzzJSONLine(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s)
	}
	for _, s := range []string{
		`{"ts": 1517422326.539915, "uid": "CxHo3m4N8uGxrMlcl2", "id.orig_h": "10.55.100.100", "id.orig_p": 61843, "id.resp_h": "205.204.101.182", "id.resp_p": 80, "proto": "tcp", "service": "http", "duration": 108.985496, "orig_bytes": 719, "resp_bytes": 336, "conn_state": "SF", "orig_pkts": 10, "orig_ip_bytes": 1131, "resp_pkts": 4, "resp_ip_bytes": 508, "_path": "conn"}`,
		`{"ts":"2018-01-31T18:12:06.539915Z","uid":"C1","id.orig_h":"2001:db8::1","id.orig_p":128,"id.resp_h":"2001:db8::2","id.resp_p":129,"proto":"icmp","orig_ip_bytes":104,"resp_ip_bytes":104,"community_id":"1:x"}`,
		`{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.53","id.resp_p":53,"query":"Example.COM.","qtype_name":"A","answers":["a.example.net","192.0.2.1","2001:db8::5"]}`,
		`{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.orig_p":1,"id.resp_h":"10.0.0.53","id.resp_p":80,"method":"GET","host":"h","user_agent":"u\u00e9","resp_mime_types":["text/html"],"_path":"http"}`,
		`{"ts":1.5,"uid":"C1","server_name":"s","ja3":"j","_path":"ssl"}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		checkJSON(t, []byte(line))
		p := NewParser()
		var got []flowsrc.Record
		p.Line([]byte(line), 1, func(r *flowsrc.Record) {
			checkRecord(t, r)
			got = append(got, *r)
		})
		checkStats(t, p.Stats())
		if len(got) == 0 || !json.Valid([]byte(line)) || !utf8.ValidString(line) {
			return
		}
		// Agreement with encoding/json on the fields of the record.
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: parsed but encoding/json says %v", line, err)
		}
		r := got[0]
		if s, ok := m["id.orig_h"].(string); !ok || netip.MustParseAddr(s) != r.Src {
			t.Fatalf("%q: Src %v, id.orig_h %v", line, r.Src, m["id.orig_h"])
		}
		if u, ok := m["uid"].(string); ok && len(u) <= MaxNameLen && u != r.SensorFlowID {
			t.Fatalf("%q: uid %q, SensorFlowID %q", line, u, r.SensorFlowID)
		}
		if n, ok := m["id.resp_p"].(float64); ok && !r.HasICMP && uint16(n) != r.DstPort {
			t.Fatalf("%q: DstPort %d, id.resp_p %v", line, r.DstPort, n)
		}
		if n, ok := m["orig_bytes"].(float64); ok && r.ByteCountSource == "payload" && n < 1<<53 && uint64(n) != r.BytesToServer {
			t.Fatalf("%q: BytesToServer %d, orig_bytes %v", line, r.BytesToServer, n)
		}
	})
}

func FuzzParseAddr(f *testing.F) {
	for _, s := range addrSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkAddr(t, s) })
}

// FuzzReader checks the Reader's line splitting (small buffer limits,
// long lines, CR LF, no final newline) against splitting the same bytes
// by hand.
func FuzzReader(f *testing.F) {
	f.Add([]byte(refHeader+strings.Join(refConnFields, "\t")+"\n"+
		"1517336042.090842\tCi85\t10.55.182.100\t14291\t10.233.233.5\t80\ttcp\t-\t3.000158\t0\t0\tS0\tT\tT\t0\tS\t2\t104\t0\t0\t(empty)\r\n"), 64)
	f.Add([]byte(`{"ts":1.5,"uid":"C1","id.orig_h":"10.0.0.1","id.resp_h":"10.0.0.2","orig_bytes":1}`+"\n\n"+`{"ts":2`), 200)
	f.Fuzz(func(t *testing.T, data []byte, maxLine int) {
		maxLine = 1 + maxLine&1023
		r := NewReader(bytes.NewReader(data), WithMaxLineLength(maxLine), WithMaxErrors(1<<20))
		var got []string
		if err := r.Run(func(rec *flowsrc.Record) { got = append(got, fmt.Sprint(*rec)) }); err != nil {
			return // gzip input that does not decompress
		}
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			return
		}
		st := r.Stats()
		checkStats(t, st)
		p := NewParser(WithMaxErrors(1 << 20))
		var want []string
		lines := bytes.SplitAfter(data, []byte("\n"))
		tooLong := 0
		for i, l := range lines {
			if len(l) == 0 {
				continue
			}
			if len(bytes.TrimSuffix(l, []byte("\n"))) > maxLine {
				tooLong++
				continue
			}
			p.Line(l, int64(i+1), func(rec *flowsrc.Record) { want = append(want, fmt.Sprint(*rec)) })
		}
		if !cmp.Equal(want, got) || p.Stats().Lines+uint64(tooLong) != st.Lines {
			t.Fatalf("reader %d records / %d lines, by hand %d / %d+%d", len(got), st.Lines, len(want), p.Stats().Lines, tooLong)
		}
	})
}
