package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// sensorAlert is the part of an alert the sensor tests look at.
type sensorAlert struct {
	alert
	AppProto  string `json:"app_proto"`
	DestNames *struct {
		SNI      []string `json:"sni"`
		HTTPHost []string `json:"http_host"`
		DNS      []string `json:"dns"`
	} `json:"dest_names"`
	C2 struct {
		Matches []struct {
			Indicator string `json:"indicator"`
			MatchedOn string `json:"matched_on"`
		} `json:"matches"`
	} `json:"c2"`
}

// eveLines is a small EVE log: a DNS answer for exfil.evil.example, the
// TLS event of a flow to that address, the flow itself (30 MiB up), an
// alert event (skipped) and a broken line (counted).
func eveLines() string {
	return strings.Join([]string{
		`{"timestamp":"2026-11-02T02:00:01.000000+0000","flow_id":11,"event_type":"dns","src_ip":"10.0.0.53","src_port":53,"dest_ip":"10.0.0.5","dest_port":40000,"proto":"UDP","dns":{"version":2,"type":"answer","id":1,"rrname":"exfil.evil.example","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"exfil.evil.example","rrtype":"A","ttl":60,"rdata":"198.51.100.9"}]}}`,
		`{"timestamp":"2026-11-02T02:00:02.000000+0000","flow_id":22,"event_type":"tls","src_ip":"10.0.0.5","src_port":50000,"dest_ip":"198.51.100.9","dest_port":443,"proto":"TCP","tls":{"sni":"exfil.evil.example","version":"TLS 1.3"}}`,
		`{"timestamp":"2026-11-02T02:00:03.000000+0000","event_type":"alert","src_ip":"10.0.0.5","dest_ip":"198.51.100.9","proto":"TCP"}`,
		`{"event_type":"flow", broken`,
		`{"timestamp":"2026-11-02T02:05:00.000000+0000","flow_id":22,"event_type":"flow","src_ip":"10.0.0.5","src_port":50000,"dest_ip":"198.51.100.9","dest_port":443,"proto":"TCP","app_proto":"tls","flow":{"pkts_toserver":22000,"pkts_toclient":9000,"bytes_toserver":31457280,"bytes_toclient":524288,"start":"2026-11-02T02:00:02.000000+0000","end":"2026-11-02T02:05:00.000000+0000","age":298,"state":"closed","reason":"timeout","alerted":false}}`,
	}, "\n") + "\n"
}

func TestReplaySuricataEVE(t *testing.T) {
	dir := t.TempDir()
	eve := filepath.Join(dir, "eve.json")
	os.WriteFile(eve, []byte(eveLines()), 0o644)
	feed := filepath.Join(dir, "feed.txt")
	os.WriteFile(feed, []byte("evil.example\n"), 0o644)
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", eve, "-ioc", feed}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	as := parseLines[sensorAlert](t, out.String())
	if len(as) != 1 {
		t.Fatalf("%d alerts, want 1:\n%s", len(as), out.String())
	}
	a := as[0]
	if a.Severity != "critical" || a.AppProto != "tls" || a.TotalUploadBytes != 31457280 || a.TotalDownloadBytes != 524288 ||
		a.DestNames == nil || len(a.DestNames.SNI) != 1 || a.DestNames.SNI[0] != "exfil.evil.example" ||
		len(a.DestNames.DNS) != 1 || len(a.C2.Matches) == 0 {
		t.Errorf("alert %+v names %+v c2 %+v", a.alert, a.DestNames, a.C2)
	}
	on := map[string]bool{}
	for _, m := range a.C2.Matches {
		on[m.MatchedOn] = true
	}
	if !on["sni"] || !on["dns"] {
		t.Errorf("matches %+v: want one on sni and one on dns", a.C2.Matches)
	}
	for _, want := range []string{"format=suricata-eve", "malformed=1", "records=1"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}

// zeekTSV writes a Zeek TSV log of path with the given fields and rows.
func zeekTSV(t *testing.T, file, path string, fields []string, rows ...string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n")
	fmt.Fprintf(&b, "#path\t%s\n#open\t2026-11-02-02-00-00\n#fields\t%s\n", path, strings.Join(fields, "\t"))
	types := make([]string, len(fields))
	for i := range types {
		types[i] = "string"
	}
	fmt.Fprintf(&b, "#types\t%s\n", strings.Join(types, "\t"))
	for _, r := range rows {
		b.WriteString(r + "\n")
	}
	b.WriteString("#close\t2026-11-02-03-00-00\n")
	w, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if strings.HasSuffix(file, ".gz") {
		zw := gzip.NewWriter(w)
		defer zw.Close()
		zw.Write([]byte(b.String()))
		return
	}
	w.WriteString(b.String())
}

func TestReplayZeekWithSSLLog(t *testing.T) {
	dir := t.TempDir()
	ts := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC).Unix()
	zeekTSV(t, filepath.Join(dir, "conn.log.gz"), "conn",
		[]string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service", "duration",
			"orig_bytes", "resp_bytes", "conn_state", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes"},
		fmt.Sprintf("%d.000000\tCabc1\t10.0.0.7\t50001\t203.0.113.7\t443\ttcp\tssl\t120.0\t20971520\t1048576\tSF\t15000\t21000000\t800\t1100000", ts),
		fmt.Sprintf("%d.000000\tCabc2\t10.0.0.8\t50002\t203.0.113.8\t80\ttcp\thttp\t10.0\t-\t-\tSF\t9000\t12582912\t100\t5000", ts+60))
	zeekTSV(t, filepath.Join(dir, "ssl.log"), "ssl",
		[]string{"ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "version", "server_name"},
		fmt.Sprintf("%d.100000\tCabc1\t10.0.0.7\t50001\t203.0.113.7\t443\tTLSv13\tupload.files.example", ts))
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", filepath.Join(dir, "conn.log.gz")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	got := map[string]sensorAlert{}
	for _, a := range parseLines[sensorAlert](t, out.String()) {
		got[a.DestIP] = a
	}
	if a := got["203.0.113.7"]; a.Severity != "high" || a.AppProto != "tls" || a.TotalUploadBytes != 20971520 ||
		a.DestNames == nil || len(a.DestNames.SNI) != 1 || a.DestNames.SNI[0] != "upload.files.example" {
		t.Errorf("203.0.113.7: %+v names %+v", a.alert, a.DestNames)
	}
	// Unset payload counts: the IP byte counts are used.
	if a := got["203.0.113.8"]; a.Severity != "high" || a.TotalUploadBytes != 12582912 || a.AppProto != "http" {
		t.Errorf("203.0.113.8: %+v", a.alert)
	}
	if !strings.Contains(errb.String(), "format=zeek-conn") || !strings.Contains(errb.String(), "ssl.log") {
		t.Errorf("stderr does not name the format and the joined log:\n%s", errb.String())
	}
}

func TestReplayGoflow2Protobuf(t *testing.T) {
	file := filepath.Join("..", "..", "flowsrc", "goflowpb", "testdata", "goflow2", "flows-nl.bin")
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", file, "-dump-flows"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	recs := parseLines[map[string]any](t, out.String())
	if len(recs) == 0 || !strings.Contains(errb.String(), "format=goflow2-protobuf") ||
		!strings.Contains(errb.String(), fmt.Sprintf("records=%d", len(recs))) {
		t.Errorf("%d records; stderr:\n%s", len(recs), errb.String())
	}
}

func TestReplayEmptyFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "eve.json")
	os.WriteFile(file, nil, 0o644)
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", file}, &out, &errb); code != 0 || out.String() != "" ||
		!strings.Contains(errb.String(), "the file is empty") || !strings.Contains(errb.String(), "records=0") {
		t.Errorf("exit %d; stdout %q; stderr:\n%s", code, out.String(), errb.String())
	}
}

func TestReplayUnknownFormat(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.txt")
	os.WriteFile(file, []byte("hello\nworld\n"), 0o644)
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", file}, &out, &errb); code != 1 || !strings.Contains(errb.String(), "not a pcap") {
		t.Errorf("exit %d; stderr:\n%s", code, errb.String())
	}
}

// TestFollowEVE tails a growing EVE log, rotated midway, and stops on
// cancel: both flows are scored, and the state file lets a restart resume
// after the last line.
func TestFollowEVE(t *testing.T) {
	dir := t.TempDir()
	eve := filepath.Join(dir, "eve.json")
	state := filepath.Join(dir, "pos.json")
	lines := strings.Split(strings.TrimSpace(eveLines()), "\n")
	os.WriteFile(eve, []byte(strings.Join(lines[:2], "\n")+"\n"), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"-follow", eve, "-follow-state", state}, &out, &errb) }()
	time.Sleep(400 * time.Millisecond)
	os.Rename(eve, eve+".1")
	os.WriteFile(eve, []byte(strings.Join(lines[2:], "\n")+"\n"), 0o644)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(out.String(), `"stage":"early"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	as := parseLines[sensorAlert](t, out.String())
	var early, final bool
	for _, a := range as {
		early = early || a.Stage == "early"
		final = final || a.Stage == "final"
		if a.DestIP != "198.51.100.9" || a.DestNames == nil || a.DestNames.SNI[0] != "exfil.evil.example" {
			t.Errorf("alert %+v names %+v", a.alert, a.DestNames)
		}
	}
	if !early || !final {
		t.Errorf("want an early and a final alert:\n%s\nstderr:\n%s", out.String(), errb.String())
	}
	b, err := os.ReadFile(state)
	if err != nil || !strings.Contains(string(b), `"line":3`) {
		t.Errorf("state %s (%v): want the position after line 3 of the new file", b, err)
	}
}

// writeGeoDB writes a test database of a type geo reads with both MaxMind
// conventions (country and AS fields in one record): one
// network with a country and an AS.
func writeGeoDB(t *testing.T, path, cidr, iso string, asn uint32, org string) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "exfilscore-Test-Geo-ASN", RecordSize: 28, IncludeReservedNetworks: true, Description: map[string]string{"en": "collector test"}, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	_, ipn, _ := net.ParseCIDR(cidr)
	if err := tree.Insert(ipn, mmdbtype.Map{
		"country":                        mmdbtype.Map{"iso_code": mmdbtype.String(iso)},
		"autonomous_system_number":       mmdbtype.Uint32(asn),
		"autonomous_system_organization": mmdbtype.String(org),
	}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReplayGeoIP(t *testing.T) {
	dir := t.TempDir()
	eve := filepath.Join(dir, "eve.json")
	os.WriteFile(eve, []byte(eveLines()), 0o644)
	db := filepath.Join(dir, "geo.mmdb")
	writeGeoDB(t, db, "198.51.100.0/24", "NL", 64500, "Example Hosting")
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", eve, "-geoip", db}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	as := parseLines[struct {
		DestCountry string `json:"dest_country"`
		DestASN     uint32 `json:"dest_asn"`
		DestOrg     string `json:"dest_org"`
	}](t, out.String())
	if len(as) != 1 || as[0].DestCountry != "NL" || as[0].DestASN != 64500 || as[0].DestOrg != "Example Hosting" {
		t.Errorf("alerts %+v", as)
	}
	if !strings.Contains(errb.String(), "GeoIP database loaded") {
		t.Errorf("stderr:\n%s", errb.String())
	}
	// A broken database is a configuration error, not a panic.
	os.WriteFile(db, []byte("not a database"), 0o644)
	if code := run(context.Background(), []string{"-replay", eve, "-geoip", db}, &out, &errb); code != 2 {
		t.Errorf("broken database: exit %d", code)
	}
}

// TestReplayIOCFeeds: a STIX 2.1 domain indicator matches the flow whose
// SNI is a subdomain of it, with the malware named through a relationship;
// a MISP ip-dst attribute matches the destination; an indicator that
// expired before the flow never matches.
func TestReplayIOCFeeds(t *testing.T) {
	dir := t.TempDir()
	eve := filepath.Join(dir, "eve.json")
	os.WriteFile(eve, []byte(eveLines()), 0o644)
	stix := filepath.Join(dir, "bundle.json")
	os.WriteFile(stix, []byte(`{"type":"bundle","id":"bundle--1","objects":[
 {"type":"indicator","spec_version":"2.1","id":"indicator--a","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
  "pattern":"[domain-name:value = 'evil.example'] OR [ipv4-addr:value = '192.0.2.200']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","indicator_types":["malicious-activity"]},
 {"type":"indicator","spec_version":"2.1","id":"indicator--b","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
  "pattern":"[ipv4-addr:value = '198.51.100.9']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","valid_until":"2026-06-01T00:00:00Z"},
 {"type":"malware","spec_version":"2.1","id":"malware--m","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","name":"ExfilBot","is_family":true},
 {"type":"relationship","spec_version":"2.1","id":"relationship--r","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z",
  "relationship_type":"indicates","source_ref":"indicator--a","target_ref":"malware--m"}]}`), 0o644)
	misp := filepath.Join(dir, "event.json")
	os.WriteFile(misp, []byte(`{"Event":{"info":"exfil campaign","uuid":"5e1f0000-0000-4000-8000-000000000001","Tag":[{"name":"misp-galaxy:threat-actor=\"APT Test\""}],
 "Attribute":[{"type":"ip-dst","category":"Network activity","to_ids":true,"value":"198.51.100.9","uuid":"5e1f0000-0000-4000-8000-000000000002"}]}}`), 0o644)
	var out, errb syncBuffer
	if code := run(context.Background(), []string{"-replay", eve, "-ioc", "stix:" + stix, "-ioc", misp}, &out, &errb); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	as := parseLines[struct {
		Severity string `json:"severity"`
		C2       struct {
			Matches []map[string]any `json:"matches"`
		} `json:"c2"`
	}](t, out.String())
	if len(as) != 1 || as[0].Severity != "critical" {
		t.Fatalf("alerts %+v\nstderr:\n%s", as, errb.String())
	}
	var sni, mispHit, expired bool
	for _, m := range as[0].C2.Matches {
		switch {
		case m["matched_on"] == "sni" && m["indicator"] == "evil.example" && m["malware_family"] == "ExfilBot":
			sni = true
		case m["matched_on"] == "dest_ip" && m["threat_actor"] == "APT Test":
			mispHit = true
		case m["matched_on"] == "dest_ip" && m["valid_until"] != nil:
			expired = true
		}
	}
	if !sni || !mispHit || expired {
		t.Errorf("matches %v: want the STIX domain on sni with its malware, the MISP address with its actor, not the expired STIX address", as[0].C2.Matches)
	}
	for _, want := range []string{`msg="IOC feed loaded"`, "format=stix", "format=misp"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
}
