package ioc

import (
	"errors"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mustParseCSV parses a CSV feed or fails the test.
func mustParseCSV(t testing.TB, in string, opts ...Option) *Set {
	t.Helper()
	s, err := ParseCSV(strings.NewReader(in), "f.csv", opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// brief is the value, kind, family, actor and confidence of an indicator.
func brief(s *Set) []string {
	var out []string
	for ind := range s.All() {
		out = append(out, strings.Join([]string{ind.Value, ind.Kind.String(), ind.MalwareFamily, ind.ThreatActor, strconv.Itoa(ind.Confidence)}, "|"))
	}
	return out
}

func TestParseCSVDefaultHeader(t *testing.T) {
	const feed = "\ufeffindicator,type,malware,threat_actor,confidence,first_seen,last_seen\r\n" +
		"192.0.2.1,ip,Emotet,TA542,90,2024-01-01 10:00:00,2024-02-01\r\n" +
		"198.51.100.0/24,cidr,,,,,\r\n" +
		"Evil.Example.,domain,QakBot,,0.75,,\r\n" +
		"\"c2.example\",hostname,\"Cobalt Strike\",\"APT 29, Cozy Bear\",100%,,\r\n" +
		"2001:db8::1,ipv6-addr,,,,,\r\n" +
		"203.0.113.9:443,ip:port,,,,,\r\n" +
		"d41d8cd98f00b204e9800998ecf8427e,md5_hash,,,,,\r\n" +
		"# a comment between rows\r\n" +
		"bad.example|203.0.113.10,domain|ip,,,,,\r\n" +
		"http://files.example:8080/x.exe,url,,,,,\r\n" +
		"infer.example,,,,,,\r\n" +
		",ip,,,,,\r\n"
	s := mustParseCSV(t, feed)
	want := []string{
		"192.0.2.1|ip|Emotet|TA542|90",
		"198.51.100.0/24|cidr|||0",
		"evil.example|domain|QakBot||75",
		"c2.example|domain|Cobalt Strike|APT 29, Cozy Bear|100",
		"2001:db8::1|ip|||0",
		"203.0.113.9|ip|||0",
		"bad.example|domain|||0",
		"203.0.113.10|ip|||0",
		"files.example|domain|||0",
		"infer.example|domain|||0",
	}
	if diff := cmp.Diff(want, brief(s)); diff != "" {
		t.Errorf("indicators (-want +got):\n%s", diff)
	}
	wantSkips := []Skip{{Reason: `unsupported type "md5_hash"`, Count: 1, First: "line 8"}, {Reason: "empty indicator", Count: 1, First: "line 13"}}
	if diff := cmp.Diff(wantSkips, s.Skipped()); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
	if s.Format() != FormatCSV {
		t.Errorf("Format() = %v", s.Format())
	}
	lines := map[string]int{}
	for ind := range s.All() {
		lines[ind.Value] = ind.Line
	}
	if lines["192.0.2.1"] != 2 || lines["infer.example"] != 12 {
		t.Errorf("lines = %v", lines)
	}
	// The result does not depend on how the reader splits its input.
	s2, err := ParseCSV(iotest.OneByteReader(strings.NewReader(feed)), "f.csv")
	if err != nil || !slices.Equal(brief(s2), brief(s)) {
		t.Errorf("OneByteReader: %v, %v", brief(s2), err)
	}
	// Without WithExpireAfter, first and last seen do not limit validity.
	if m, ok := s.LookupAddrAt(netip.MustParseAddr("192.0.2.1"), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); !ok || !m.ValidUntil.IsZero() {
		t.Errorf("LookupAddrAt = %+v, %v", m, ok)
	}
}

// threatFoxLike is shaped like abuse.ch's ThreatFox CSV export: a comment
// block whose last line is the header, quoted fields separated by ", ".
const threatFoxLike = `################################################################
# ThreatFox-like IOCs: CSV export                              #
# Last updated: 2024-06-01 00:00:00 UTC                        #
################################################################
#
# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","reference","tags","anonymous","reporter"
"2024-05-30 12:00:01", "100001", "192.0.2.44:8080", "ip:port", "botnet_cc", "win.example_rat", "ExRAT", "Example RAT", "2024-05-31 00:00:00", "75", "", "rat", "0", "someone"
"2024-05-30 12:05:00", "100002", "c2.evil.example", "domain", "botnet_cc", "win.cobalt_strike", "", "Cobalt Strike", "", "100", "", "cs", "0", "someone"
"2024-05-30 12:06:00", "100003", "https://drop.evil.example/a.bin", "url", "payload_delivery", "unknown", "", "Unknown malware", "", "50", "", "", "0", "someone"
"2024-05-30 12:07:00", "100004", "0123456789abcdef0123456789abcdef", "md5_hash", "payload", "unknown", "", "Unknown malware", "", "50", "", "", "0", "someone"
"2024-05-30 12:08:00", "100005", "[2001:db8::44]:443", "ip:port", "botnet_cc", "win.example_rat", "", "Example RAT", "", "80", "", "", "0", "someone"
`

func TestParseCSVThreatFoxShape(t *testing.T) {
	s := mustParseCSV(t, threatFoxLike)
	want := []string{
		"192.0.2.44|ip|Example RAT||75",
		"c2.evil.example|domain|Cobalt Strike||100",
		"drop.evil.example|domain|Unknown malware||50",
		"2001:db8::44|ip|Example RAT||80",
	}
	if diff := cmp.Diff(want, brief(s)); diff != "" {
		t.Errorf("indicators (-want +got):\n%s", diff)
	}
	if len(s.Skipped()) != 1 || s.Skipped()[0].First != "line 10" {
		t.Errorf("Skipped = %+v", s.Skipped())
	}
	// A ThreatFox SNI lookup: the domain indicator matches a subdomain.
	if m, ok := s.LookupDomainAt("api.c2.evil.example", time.Now()); !ok || m.MalwareFamily != "Cobalt Strike" || m.Confidence != 100 {
		t.Errorf("LookupDomainAt = %+v, %v", m, ok)
	}
	// With an expiry after last seen (or first seen).
	s = mustParseCSV(t, threatFoxLike, WithExpireAfter(30*24*time.Hour))
	m, ok := s.LookupAddrAt(netip.MustParseAddr("192.0.2.44"), time.Date(2024, 6, 29, 0, 0, 0, 0, time.UTC))
	if wantUntil := time.Date(2024, 6, 30, 0, 0, 0, 0, time.UTC); !ok || !m.ValidUntil.Equal(wantUntil) {
		t.Errorf("with expiry: %+v, %v; want valid until %v", m, ok, wantUntil)
	}
	if _, ok := s.LookupAddrAt(netip.MustParseAddr("192.0.2.44"), time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("expired indicator matched")
	}
	m, _ = s.LookupDomainAt("c2.evil.example", time.Time{})
	if want := time.Date(2024, 6, 29, 12, 5, 0, 0, time.UTC); !m.ValidUntil.Equal(want) {
		t.Errorf("expiry from first seen = %v, want %v", m.ValidUntil, want)
	}
	// URL hosts off.
	s = mustParseCSV(t, threatFoxLike, WithoutURLHosts())
	if _, ok := s.LookupDomain("drop.evil.example"); ok || s.Len() != 3 {
		t.Errorf("WithoutURLHosts: Len() = %d, skipped %+v", s.Len(), s.Skipped())
	}
}

// TestParseCSVMapped reads feeds whose columns need a mapping: a
// Feodo-Tracker-like block list and a tab-separated vendor file.
func TestParseCSVMapped(t *testing.T) {
	const feodoLike = "# Feodo-like botnet C2 IP blocklist\n#\n" +
		"# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n" +
		"2024-01-10 08:00:00,192.0.2.77,443,online,2024-05-30,Dridex\n" +
		"2024-01-11 08:00:00,192.0.2.78,8080,offline,2024-02-01,QakBot\n" +
		"# end of list\n"
	s := mustParseCSV(t, feodoLike) // dst_ip and malware are default names
	if diff := cmp.Diff([]string{"192.0.2.77|ip|Dridex||0", "192.0.2.78|ip|QakBot||0"}, brief(s)); diff != "" {
		t.Errorf("feodo-like (-want +got):\n%s", diff)
	}
	cols, err := ParseCSVColumns("indicator=Host Name, malware = Family ,threat_actor=Group,valid_until=Expires")
	if err != nil {
		t.Fatal(err)
	}
	const vendor = "Host Name\tFamily\tGroup\tExpires\n" +
		"evil.example\tX\tG1\t2024-07-01T00:00:00Z\n" +
		"old.example\tY\tG2\t2020-01-01T00:00:00Z\n"
	s = mustParseCSV(t, vendor, WithCSVColumns(cols))
	if diff := cmp.Diff([]string{"evil.example|domain|X|G1|0", "old.example|domain|Y|G2|0"}, brief(s)); diff != "" {
		t.Errorf("vendor (-want +got):\n%s", diff)
	}
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	if _, ok := s.LookupDomainAt("old.example", at); ok {
		t.Error("expired vendor indicator matched")
	}
	if _, ok := s.LookupDomainAt("www.evil.example", at); !ok {
		t.Error("valid vendor indicator did not match")
	}
	// Semicolons, forced.
	s = mustParseCSV(t, "value;type\n192.0.2.1;ip\n", WithCSVComma(';'))
	if s.Len() != 1 {
		t.Errorf("semicolon: Len() = %d", s.Len())
	}
}

func TestParseCSVColumnsErrors(t *testing.T) {
	for _, in := range []string{"indicator", "bogus=x", "indicator=", "=x"} {
		if _, err := ParseCSVColumns(in); err == nil {
			t.Errorf("ParseCSVColumns(%q) = nil error", in)
		}
	}
	if c, err := ParseCSVColumns(""); err != nil || c != (CSVColumns{}) {
		t.Errorf("ParseCSVColumns(\"\") = %+v, %v", c, err)
	}
}

func TestParseCSVErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		opts []Option
		line int
		more int
		msg  string // fragment
		bad  bool   // errors.Is(err, ErrBadIndicator)
	}{
		{name: "bad IP", in: "indicator,type\n192.0.2.1,ip\n300.1.1.1,ip\n10.0.0.1,ip\n", line: 3,
			msg: `ioc: feed "f.csv" line 3: bad indicator "300.1.1.1"`, bad: true},
		{name: "more", in: "indicator,type\nx y,domain\n1.2.3,ip\nok.example,domain\n::g,ip\n", line: 2, more: 2,
			msg: "(and 2 more bad lines)", bad: true},
		{name: "domain typed as ip", in: "indicator,type\nevil.example,ip\n", line: 2, bad: true, msg: `"evil.example"`},
		{name: "bad confidence", in: "indicator,confidence\n192.0.2.1,high\n", line: 2, msg: "bad confidence", bad: true},
		{name: "confidence range", in: "indicator,confidence\n192.0.2.1,101\n", line: 2, msg: "outside 0 to 100", bad: true},
		{name: "bad timestamp", in: "indicator,valid_until\n192.0.2.1,tomorrow\n", line: 2, msg: "bad timestamp", bad: true},
		{name: "reversed validity", in: "indicator,valid_from,valid_until\n192.0.2.1,2024-02-01,2024-01-01\n", line: 2, msg: "not after", bad: true},
		{name: "short row", in: "type,malware,indicator\nip,x\n", line: 2, msg: "row has 2 fields, the header 3"},
		{name: "no header", in: "192.0.2.1,ip\n", line: 1, msg: "no header with an indicator column"},
		{name: "mapped column missing", in: "indicator,type\n192.0.2.1,ip\n", opts: []Option{WithCSVColumns(CSVColumns{Malware: "family"})}, line: 1,
			msg: `column "family" (malware) not in the header`},
		{name: "quote", in: "indicator,type\n192.0.2.1,ip\n\"192.0.2.2,ip\n", line: 3, msg: "CSV:"},
		{name: "bare quote", in: "# c\n# c\nindicator,type\n19\"2.0.2.1,ip\n", line: 4, msg: "CSV:"},
		{name: "URL without host", in: "indicator,type\nhttp:///x,url\n", line: 2, msg: "without a host", bad: true},
		{name: "bad port", in: "indicator,type\n192.0.2.1:99999,ip:port\n", line: 2, msg: "bad port", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseCSV(strings.NewReader(tt.in), "f.csv", tt.opts...)
			if err == nil {
				t.Fatalf("ParseCSV = %v, want an error", brief(s))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Line != tt.line || pe.More != tt.more || pe.Feed != "f.csv" {
				t.Errorf("ParseError line %d more %d feed %q, want %d %d", pe.Line, pe.More, pe.Feed, tt.line, tt.more)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", err, tt.msg)
			}
			if errors.Is(err, ErrBadIndicator) != tt.bad {
				t.Errorf("errors.Is(ErrBadIndicator) = %v, want %v", !tt.bad, tt.bad)
			}
		})
	}
}

func TestParseCSVSkipMalformed(t *testing.T) {
	s := mustParseCSV(t, "indicator,type\n192.0.2.1,ip\n300.1.1.1,ip\nx y,domain\nok.example,domain\n", WithSkipMalformed())
	if s.Len() != 2 {
		t.Errorf("Len() = %d, want 2", s.Len())
	}
	var n int
	for _, sk := range s.Skipped() {
		if strings.HasPrefix(sk.Reason, "malformed") {
			n += sk.Count
		}
	}
	if n != 2 {
		t.Errorf("Skipped = %+v, want 2 malformed", s.Skipped())
	}
}

func TestParseCSVEmpty(t *testing.T) {
	for _, in := range []string{"", "# only comments\n#\n", "# \"first_seen_utc\",\"ioc_value\",\"ioc_type\"\n", "indicator,type\n", "\n\n"} {
		s, err := ParseCSV(strings.NewReader(in), "f")
		if err != nil || s.Len() != 0 {
			t.Errorf("ParseCSV(%q) = %d indicators, %v; want an empty set", in, s.Len(), err)
		}
	}
}
