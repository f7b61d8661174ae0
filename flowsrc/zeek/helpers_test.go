package zeek_test

import (
	"net/netip"

	"github.com/google/go-cmp/cmp"

	"encoding/json"
	"strings"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/zeek"
)

// connFields is the column list of a Zeek 6 conn.log (before ip_proto).
var connFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
	"duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp", "missed_bytes", "history",
	"orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes", "tunnel_parents"}

var (
	sslFields  = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "cipher", "curve", "server_name", "resumed", "established", "ja3", "ja4"}
	httpFields = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "trans_depth", "method", "host", "uri", "user_agent", "status_code", "resp_mime_types"}
	dnsFields  = []string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "trans_id", "query", "qtype", "qtype_name", "rcode_name", "answers", "TTLs"}
)

// tsvHeader writes a Zeek ASCII header block, as Zeek does.
func tsvHeader(path string, fields []string) string {
	var b strings.Builder
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
	b.WriteString("#path\t" + path + "\n#open\t2024-05-06-07-00-00\n")
	b.WriteString("#fields\t" + strings.Join(fields, "\t") + "\n")
	types := make([]string, len(fields))
	for i := range types {
		types[i] = "string"
	}
	b.WriteString("#types\t" + strings.Join(types, "\t") + "\n")
	return b.String()
}

// tsvRow writes one TSV data line; fields missing from vals are unset.
func tsvRow(fields []string, vals map[string]string) string {
	cells := make([]string, len(fields))
	for i, f := range fields {
		v, ok := vals[f]
		if !ok {
			v = "-"
		}
		cells[i] = v
	}
	return strings.Join(cells, "\t") + "\n"
}

// jsonRow writes one JSON line with encoding/json.
func jsonRow(t testing.TB, vals map[string]any) string {
	t.Helper()
	b, err := json.Marshal(vals)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// parse feeds text to a new Parser line by line and returns the records
// and the parser.
func parse(text string, opts ...zeek.Option) ([]flowsrc.Record, *zeek.Parser) {
	p := zeek.NewParser(opts...)
	var recs []flowsrc.Record
	for i, line := range strings.SplitAfter(text, "\n") {
		if line == "" {
			continue
		}
		p.Line([]byte(line), int64(i+1), func(r *flowsrc.Record) { recs = append(recs, *r) })
	}
	return recs, p
}

// checkSum checks that every line was counted exactly once.
func checkSum(t testing.TB, st zeek.Stats) {
	t.Helper()
	if sum := st.Headers + st.Blank + st.Records + st.SSL + st.HTTP + st.DNS + st.OtherPath + st.Malformed; sum != st.Lines {
		t.Errorf("stats do not add up: %d lines, %d counted: %+v", st.Lines, sum, st)
	}
}

// diff is cmp.Diff with netip.Addr compared by value.
func diff(want, got any) string {
	return cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }))
}
