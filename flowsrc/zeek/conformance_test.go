package zeek_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pcap"
	"github.com/exfilscore/exfilscore/flowsrc/zeek"
	"github.com/exfilscore/exfilscore/internal/thirdparty"
)

// Conformance against Zeek's own conn.log baselines (btest, with their
// pcaps) and RITA's Zeek logs in /work/shared/testdata/zeek (see its
// README.md): every conn entry must become one record with the entry's
// addresses, ports, protocol, service, bytes and packets, read from both
// formats.

// conformanceService is what each service value in the samples must map
// to (written out here, independently of the package's table).
var conformanceService = map[string]string{
	"-": "", "http": "http", "ssl": "tls", "dns": "dns", "ftp": "ftp", "ftp-data": "ftp-data",
	"ssh": "ssh", "pop3": "pop3", "ftp,blah": "ftp",
}

// baselinePcap names the trace each baseline was made from ("" when the
// trace is not in the test data).
var baselinePcap = map[string]string{
	"core.tcp.reassembly-known-ports":     "http-get.pcap",
	"scripts.base.protocols.ftp.ftp-ipv4": "ftp-ipv4.pcap",
	"signatures.eval-condition":           "ftp-ipv4.pcap",
	"scripts.base.protocols.ftp.ftp-ipv6": "ftp-ipv6.pcap",
	"scripts.base.protocols.pop3.basic":   "pop3.pcap",
	"scripts.base.protocols.ssh.basic":    "",
}

// tsvLog is a TSV log read by hand: its lines, and for each data line its
// cells by field name.
type tsvLog struct {
	lines []string
	rows  []map[string]string
	rowAt []int // index in lines of each row
}

func readTSVLog(t *testing.T, path string) tsvLog {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var l tsvLog
	var fields []string
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		l.lines = append(l.lines, line)
		switch {
		case strings.HasPrefix(line, "#fields\t"):
			fields = strings.Split(line, "\t")[1:]
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			cells := strings.Split(line, "\t")
			if len(cells) != len(fields) {
				t.Fatalf("%s:%d: %d cells for %d fields", path, i+1, len(cells), len(fields))
			}
			row := map[string]string{}
			for k, f := range fields {
				row[f] = cells[k]
			}
			l.rows = append(l.rows, row)
			l.rowAt = append(l.rowAt, i)
		}
	}
	return l
}

// expect checks a record against a conn entry's cells (TSV text; the
// JSON samples are converted to it).
func expect(t *testing.T, where string, row map[string]string, r flowsrc.Record) {
	t.Helper()
	num := func(f string) uint64 {
		n, err := strconv.ParseUint(row[f], 10, 64)
		if err != nil {
			t.Fatalf("%s: %s=%q: %v", where, f, row[f], err)
		}
		return n
	}
	var proto uint8
	switch row["proto"] {
	case "tcp":
		proto = 6
	case "udp":
		proto = 17
	default:
		t.Fatalf("%s: proto %q not in the samples before", where, row["proto"])
	}
	svc, ok := conformanceService[row["service"]]
	if !ok {
		t.Fatalf("%s: service %q not in the table", where, row["service"])
	}
	bytesTo, bytesFrom, source := row["orig_bytes"], row["resp_bytes"], "payload"
	if bytesTo == "-" {
		bytesTo, bytesFrom, source = row["orig_ip_bytes"], row["resp_ip_bytes"], "ip"
	}
	b1, _ := strconv.ParseUint(bytesTo, 10, 64)
	b2, _ := strconv.ParseUint(bytesFrom, 10, 64)
	got := fmt.Sprintf("%v %v %d %d %d %q %d %d %d %d %s %s %v", r.Src, r.Dst, r.SrcPort, r.DstPort, r.Proto, r.AppProto,
		r.BytesToServer, r.BytesToClient, r.PktsToServer, r.PktsToClient, r.ByteCountSource, r.SensorFlowID, r.Initiator)
	want := fmt.Sprintf("%v %v %d %d %d %q %d %d %d %d %s %s %v", netip.MustParseAddr(row["id.orig_h"]), netip.MustParseAddr(row["id.resp_h"]),
		num("id.orig_p"), num("id.resp_p"), proto, svc, b1, b2, num("orig_pkts"), num("resp_pkts"), source, row["uid"], flowsrc.InitiatorSrc)
	if got != want {
		t.Errorf("%s:\n got %s\nwant %s", where, got, want)
	}
	// End - Start is the duration, to the microsecond Zeek logs.
	if d := row["duration"]; d != "-" {
		sec, _ := strconv.ParseFloat(d, 64)
		if diff := r.End.Sub(r.Start) - time.Duration(math.Round(sec*1e6))*time.Microsecond; diff < -time.Microsecond || diff > time.Microsecond {
			t.Errorf("%s: duration %v, logged %s", where, r.End.Sub(r.Start), d)
		}
	} else if !r.End.Equal(r.Start) {
		t.Errorf("%s: unset duration but End %v != Start %v", where, r.End, r.Start)
	}
}

// packetTimes returns each TCP/UDP 5-tuple's packet times, in trace
// order, read from a trace with flowsrc/pcap.
func packetTimes(t *testing.T, path string) map[string][]time.Time {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	times := map[string][]time.Time{}
	for {
		p, err := r.Next()
		if err == io.EOF {
			return times
		}
		if err != nil {
			t.Fatal(err)
		}
		k := tupleKey(p.Proto, p.Src, p.SrcPort, p.Dst, p.DstPort)
		times[k] = append(times[k], p.Time)
	}
}

// tupleKey is a direction-free 5-tuple.
func tupleKey(proto uint8, a netip.Addr, ap uint16, b netip.Addr, bp uint16) string {
	x, y := netip.AddrPortFrom(a, ap).String(), netip.AddrPortFrom(b, bp).String()
	if x > y {
		x, y = y, x
	}
	return fmt.Sprintf("%d %s %s", proto, x, y)
}

func TestConformanceBaselines(t *testing.T) {
	dir := thirdparty.Dir(t, "zeek")
	total := 0
	for base, trace := range baselinePcap {
		l := readTSVLog(t, filepath.Join(dir, "baselines", base, "conn.log"))
		// btest masks ts (XXXXXXXXXX.XXXXXX). Put back the first packet
		// time from the trace for connections whose 5-tuple occurs once
		// in the log, and check that End (ts + duration) is the time of
		// one of the connection's packets: Zeek's last_time (it is not
		// always the last packet: the final ACK after both FINs does not
		// move it). The others (pop3 retries on one tuple, the ssh trace
		// that is not in the test data) get a made-up ts.
		var times map[string][]time.Time
		if trace != "" {
			times = packetTimes(t, filepath.Join(dir, "traces", trace))
		}
		count := map[string]int{}
		keyOf := func(row map[string]string) string {
			p := uint8(6)
			if row["proto"] == "udp" {
				p = 17
			}
			op, _ := strconv.ParseUint(row["id.orig_p"], 10, 16)
			rp, _ := strconv.ParseUint(row["id.resp_p"], 10, 16)
			return tupleKey(p, netip.MustParseAddr(row["id.orig_h"]), uint16(op), netip.MustParseAddr(row["id.resp_h"]), uint16(rp))
		}
		for _, row := range l.rows {
			count[keyOf(row)]++
		}
		lines := append([]string(nil), l.lines...)
		endIn := map[int][]time.Time{}
		for i, row := range l.rows {
			if row["ts"] != "XXXXXXXXXX.XXXXXX" {
				t.Fatalf("%s: ts %q not masked", base, row["ts"])
			}
			ts := time.Unix(1600000000+int64(i), 0).UTC()
			if pt, ok := times[keyOf(row)]; ok && count[keyOf(row)] == 1 {
				ts, endIn[i] = pt[0], pt
			} else if trace != "" && count[keyOf(row)] == 1 {
				t.Errorf("%s: %s not in %s", base, keyOf(row), trace)
			}
			row["ts"] = fmt.Sprintf("%d.%06d", ts.Unix(), ts.Nanosecond()/1000)
			lines[l.rowAt[i]] = strings.Replace(lines[l.rowAt[i]], "XXXXXXXXXX.XXXXXX", row["ts"], 1)
		}
		text := strings.Join(lines, "\n") + "\n"

		r := zeek.NewReader(strings.NewReader(text))
		var recs []flowsrc.Record
		if err := r.Run(func(rec *flowsrc.Record) { recs = append(recs, *rec) }); err != nil {
			t.Fatal(err)
		}
		st := r.Stats()
		if len(recs) != len(l.rows) || st.Malformed != 0 || st.OtherPath != 0 {
			t.Fatalf("%s: %d records for %d entries: %+v", base, len(recs), len(l.rows), st)
		}
		for i, rec := range recs {
			where := fmt.Sprintf("%s line %d", base, l.rowAt[i]+1)
			expect(t, where, l.rows[i], rec)
			if pt, ok := endIn[i]; ok {
				found := false
				for _, pt := range pt {
					if d := rec.End.Sub(pt); d >= -time.Microsecond && d <= time.Microsecond {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: End %v is no packet's time (%v .. %v)", where, rec.End, pt[0], pt[len(pt)-1])
				}
			}
		}
		total += len(recs)

		// The same entries through Zeek's JSON writer's form give the
		// same records.
		var js strings.Builder
		for _, row := range l.rows {
			js.WriteString(toJSON(t, row))
		}
		jrecs, p := parse(js.String())
		if d := diff(recs, jrecs); d != "" || p.Stats().Malformed != 0 {
			t.Errorf("%s: JSON form (-tsv +json):\n%s%+v", base, d, p.Stats().Errors)
		}
		t.Logf("%s: %d entries, %d with ts and end checked against %s", base, len(recs), len(endIn), trace)
	}
	if total != 1+5+5+6+11+25 {
		t.Errorf("%d records in all", total)
	}
}

// toJSON writes a TSV row as Zeek's JSON writer would: numbers for time,
// interval, port and count fields, unset fields left out.
func toJSON(t *testing.T, row map[string]string) string {
	m := map[string]any{}
	for k, v := range row {
		switch {
		case v == "-":
		case k == "ts" || k == "duration":
			f, _ := strconv.ParseFloat(v, 64)
			m[k] = f
		case k == "id.orig_p" || k == "id.resp_p" || strings.HasSuffix(k, "bytes") || strings.HasSuffix(k, "pkts") || k == "ip_proto":
			n, _ := strconv.ParseUint(v, 10, 64)
			m[k] = n
		case v == "(empty)":
			m[k] = []string{}
		case v == "T" || v == "F":
			m[k] = v == "T"
		default:
			m[k] = v
		}
	}
	return jsonRow(t, m)
}

func TestConformanceRITA(t *testing.T) {
	dir := thirdparty.Dir(t, "zeek", "rita")

	// TSV with a header, 59 entries, a blank last line and no #close.
	path := filepath.Join(dir, "open_conns_closed.conn.log")
	l := readTSVLog(t, path)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := zeek.NewReader(f)
	var recs []flowsrc.Record
	if err := r.Run(func(rec *flowsrc.Record) { recs = append(recs, *rec) }); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); len(recs) != 59 || len(l.rows) != 59 || st.Malformed != 0 || st.Blank != 1 {
		t.Fatalf("TSV: %d records, %d rows: %+v", len(recs), len(l.rows), st)
	}
	for i, rec := range recs {
		where := fmt.Sprintf("%s line %d", filepath.Base(path), l.rowAt[i]+1)
		expect(t, where, l.rows[i], rec)
		ts, _ := strconv.ParseFloat(l.rows[i]["ts"], 64)
		if d := rec.Start.Sub(time.Unix(0, int64(math.Round(ts*1e6))*1e3)); d != 0 {
			t.Errorf("%s: Start %v, ts %s", where, rec.Start, l.rows[i]["ts"])
		}
	}

	// Zeek JSON (epoch ts, _path, one entry without service), read by
	// hand with encoding/json; then the same lines with ts in the
	// JSON::TS_ISO8601 and JSON::TS_MILLIS forms.
	path = filepath.Join(dir, "json_with_all_fields.conn.log")
	var rows []map[string]string
	var tss []float64
	var iso, millis strings.Builder
	jf, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	sc := bufio.NewScanner(jf)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		row := map[string]string{"service": "-", "orig_bytes": "-", "resp_bytes": "-", "duration": "-"}
		for k, v := range m {
			switch v := v.(type) {
			case float64:
				row[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case string:
				row[k] = v
			}
		}
		rows = append(rows, row)
		ts := m["ts"].(float64)
		tss = append(tss, ts)
		t0 := time.Unix(0, int64(math.Round(ts*1e6))*1e3).UTC()
		m["ts"] = t0.Format("2006-01-02T15:04:05.000000Z")
		iso.WriteString(jsonRow(t, m))
		m["ts"] = t0.UnixMilli()
		millis.WriteString(jsonRow(t, m))
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := jf.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	r = zeek.NewReader(jf)
	recs = recs[:0]
	if err := r.Run(func(rec *flowsrc.Record) { recs = append(recs, *rec) }); err != nil {
		t.Fatal(err)
	}
	if st := r.Stats(); len(recs) != 29 || len(rows) != 29 || st.Malformed != 0 {
		t.Fatalf("JSON: %d records, %d rows: %+v", len(recs), len(rows), st)
	}
	for i, rec := range recs {
		where := fmt.Sprintf("%s line %d", filepath.Base(path), i+1)
		expect(t, where, rows[i], rec)
		if d := rec.Start.Sub(time.Unix(0, int64(math.Round(tss[i]*1e6))*1e3)); d != 0 {
			t.Errorf("%s: Start %v, ts %v", where, rec.Start, tss[i])
		}
	}
	isoRecs, p := parse(iso.String())
	if d := diff(recs, isoRecs); d != "" || p.Stats().Malformed != 0 {
		t.Errorf("ISO 8601 ts (-epoch +iso):\n%s", d)
	}
	msRecs, _ := parse(millis.String())
	for i := range recs {
		if !msRecs[i].Start.Equal(recs[i].Start.Truncate(time.Millisecond)) || msRecs[i].BytesToServer != recs[i].BytesToServer {
			t.Errorf("millisecond ts, entry %d: %v vs %v", i, msRecs[i].Start, recs[i].Start)
		}
	}
}

// TestConformanceCommunityID compares the community_id Zeek logged for the
// http-get trace (community-id-logging baseline, a cut of conn.log) with
// the record's own Community ID.
func TestConformanceCommunityID(t *testing.T) {
	dir := thirdparty.Dir(t, "zeek", "baselines")
	cut, err := os.ReadFile(filepath.Join(dir, "scripts.policy.protocols.conn.community-id-logging", "conn.log.cut"))
	if err != nil {
		t.Fatal(err)
	}
	var cells []string
	for _, line := range strings.Split(string(cut), "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			cells = strings.Split(line, "\t") // orig_h orig_p resp_h resp_p proto service community_id
		}
	}
	if len(cells) != 7 {
		t.Fatalf("cut: %q", cells)
	}
	// The full conn.log of the same trace, with the logged community_id
	// added as the policy script adds it.
	l := readTSVLog(t, filepath.Join(dir, "core.tcp.reassembly-known-ports", "conn.log"))
	row := l.rows[0]
	if row["id.orig_h"] != cells[0] || row["id.orig_p"] != cells[1] || row["id.resp_h"] != cells[2] || row["id.resp_p"] != cells[3] {
		t.Fatalf("cut %q is not the same connection as %v", cells, row)
	}
	row["ts"] = "1258535653.000000"
	row["community_id"] = cells[6]
	fields := make([]string, 0, len(row))
	for k := range row {
		fields = append(fields, k)
	}
	sort.Strings(fields)
	for _, text := range []string{tsvHeader("conn", fields) + tsvRow(fields, row), toJSON(t, row)} {
		recs, p := parse(text)
		if len(recs) != 1 {
			t.Fatalf("%+v", p.Stats())
		}
		rec := recs[0]
		if rec.SensorCommunityID != cells[6] || rec.CommunityID(0) != cells[6] {
			t.Errorf("community_id: logged %s, record keeps %s, computes %s", cells[6], rec.SensorCommunityID, rec.CommunityID(0))
		}
		if js := string(rec.AppendJSON(nil, 0)); strings.Contains(js, "sensor_community_id") {
			t.Errorf("JSON form reports a disagreement: %s", js)
		}
	}
}

// TestConformanceSniff recognises every conn.log sample, and nothing else
// in the directory.
func TestConformanceSniff(t *testing.T) {
	dir := thirdparty.Dir(t, "zeek")
	n := 0
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		format, ok := zeek.Sniff(data)
		want := ""
		switch {
		case strings.HasSuffix(path, "json_with_all_fields.conn.log"):
			want = zeek.FormatJSON
		case filepath.Base(path) == "conn.log" || strings.HasSuffix(path, "open_conns_closed.conn.log"):
			want = zeek.FormatTSV
		}
		if format != want || ok != (want != "") {
			t.Errorf("%s: Sniff = %q, %v; want %q", path, format, ok, want)
		}
		if ok {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 {
		t.Errorf("%d conn.logs recognised, want 8", n)
	}
}

// TestConformanceCommunityIDConnIDs rebuilds conn.log entries from the
// connection ids in Zeek's community_id baselines (its copies of the
// Community ID spec traces, and its bif test) and checks that the
// record's Community ID is the one Zeek computed: this checks in
// particular how Zeek's ICMP "ports" (type, and code or counterpart type)
// become ICMPType and ICMPCode.
func TestConformanceCommunityIDConnIDs(t *testing.T) {
	dir := thirdparty.Dir(t, "communityid", "zeek-baselines")
	connID := regexp.MustCompile(`\[orig_h=([^,]+), orig_p=(\d+)/(\w+), resp_h=([^,]+), resp_p=(\d+)/(\w+), proto=(\d+), ctx=\[\]\]`)
	type entry struct {
		where string
		m     []string
		id    string
		seed  uint16
	}
	var entries []entry
	outs, _ := filepath.Glob(filepath.Join(dir, "bifs.community_id.run-pcaps", "*.out"))
	for _, path := range append(outs, filepath.Join(dir, "bifs.community_id.v1", "out")) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(data), "\n") {
			m := connID.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			e := entry{where: fmt.Sprintf("%s:%d", filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), i+1), m: m}
			if strings.HasPrefix(line, "PASS: expected '") { // bif test: expected ID and seed
				e.id = line[len("PASS: expected '"):strings.Index(line, "', got")]
				if strings.HasSuffix(line, "seed=1)") {
					e.seed = 1
				}
			} else {
				e.id = line[strings.LastIndex(line, " ")+1:]
			}
			entries = append(entries, e)
		}
	}
	checked := 0
	for _, e := range entries {
		m := e.m
		proto, _ := strconv.Atoi(m[7])
		if e.id == "" || proto > 255 {
			continue // Zeek's "no ID" cases: proto 65535 is no IP protocol
		}
		vals := map[string]any{"ts": 1600000000.0, "uid": "C1", "id.orig_h": m[1], "id.resp_h": m[4],
			"orig_pkts": 1, "resp_pkts": 1, "orig_ip_bytes": 100, "resp_ip_bytes": 100}
		op, _ := strconv.Atoi(m[2])
		rp, _ := strconv.Atoi(m[5])
		vals["id.orig_p"], vals["id.resp_p"] = op, rp
		switch m[3] {
		case "tcp", "udp", "icmp":
			vals["proto"] = m[3] // the ICMP version follows the addresses
		default:
			vals["proto"], vals["ip_proto"] = "unknown_transport", proto
		}
		recs, p := parse(jsonRow(t, vals))
		if len(recs) != 1 {
			t.Errorf("%s: %+v", e.where, p.Stats().Errors)
			continue
		}
		if got := recs[0].CommunityID(e.seed); got != e.id {
			t.Errorf("%s: %v: community ID %s, Zeek %s (record proto %d icmp %d/%d ports %d/%d)", e.where, m[0], got, e.id,
				recs[0].Proto, recs[0].ICMPType, recs[0].ICMPCode, recs[0].SrcPort, recs[0].DstPort)
		}
		checked++
	}
	if checked != 29 {
		t.Errorf("%d connection ids checked, want 29", checked)
	}
	t.Logf("%d Zeek connection ids: community IDs agree", checked)
}
