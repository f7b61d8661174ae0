package ioc

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// mispEvent is a MISP feed event written for these tests.
const mispEventJSON = `{
  "Event": {
    "uuid": "5f0c0000-0000-4000-8000-000000000001",
    "info": "Test campaign",
    "date": "2024-04-01",
    "threat_level_id": "1",
    "Tag": [
      {"name": "tlp:white"},
      {"name": "misp-galaxy:threat-actor=\"Grey Heron\""},
      {"name": "misp:confidence-level=\"usually-confident\""}
    ],
    "Galaxy": [
      {"type": "malpedia", "name": "Malpedia", "GalaxyCluster": [{"type": "malpedia", "value": "PoisonFrog"}]}
    ],
    "Attribute": [
      {"uuid": "a0000000-0000-4000-8000-000000000001", "type": "ip-dst", "category": "Network activity",
       "value": "198.51.100.7", "to_ids": true, "timestamp": "1711929600"},
      {"uuid": "a0000000-0000-4000-8000-000000000002", "type": "ip-dst|port", "value": "198.51.100.8|8443", "to_ids": true},
      {"uuid": "a0000000-0000-4000-8000-000000000003", "type": "domain", "value": "Evil.Example", "to_ids": true,
       "Tag": [{"name": "misp-galaxy:malpedia=\"Other RAT\""}]},
      {"uuid": "a0000000-0000-4000-8000-000000000004", "type": "hostname", "value": "c2.other.example", "to_ids": "1"},
      {"uuid": "a0000000-0000-4000-8000-000000000005", "type": "domain|ip", "value": "both.example|203.0.113.5", "to_ids": 1},
      {"uuid": "a0000000-0000-4000-8000-000000000006", "type": "url", "value": "http://203.0.113.6/gate.php", "to_ids": true},
      {"uuid": "a0000000-0000-4000-8000-000000000007", "type": "md5", "value": "d41d8cd98f00b204e9800998ecf8427e", "to_ids": true},
      {"uuid": "a0000000-0000-4000-8000-000000000008", "type": "ip-dst", "value": "192.0.2.53", "to_ids": false,
       "comment": "victim resolver"},
      {"uuid": "a0000000-0000-4000-8000-000000000009", "type": "ip-dst", "value": "192.0.2.99", "to_ids": true, "deleted": true},
      {"uuid": "a0000000-0000-4000-8000-000000000010", "type": "ip-src", "value": "192.0.2.0/28", "to_ids": true,
       "last_seen": "2024-04-02T00:00:00.000000+00:00"},
      {"uuid": "a0000000-0000-4000-8000-000000000011", "type": "port", "value": 443, "to_ids": false},
      {"uuid": "a0000000-0000-4000-8000-000000000012", "type": "link", "value": "https://blog.example/report", "to_ids": false}
    ],
    "Object": [
      {"name": "ip-port", "uuid": "b0000000-0000-4000-8000-000000000001",
       "Attribute": [
         {"uuid": "a0000000-0000-4000-8000-000000000013", "type": "ip-dst", "object_relation": "ip", "value": "2001:db8::13", "to_ids": true},
         {"uuid": "a0000000-0000-4000-8000-000000000014", "type": "port", "object_relation": "dst-port", "value": "443", "to_ids": false}
       ]}
    ]
  }
}`

func TestParseMISP(t *testing.T) {
	s, err := ParseMISP(strings.NewReader(mispEventJSON), "misp-event.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"198.51.100.7|ip|PoisonFrog|Grey Heron|75",
		"198.51.100.8|ip|PoisonFrog|Grey Heron|75",
		"evil.example|domain|Other RAT|Grey Heron|75",
		"c2.other.example|domain|PoisonFrog|Grey Heron|75",
		"both.example|domain|PoisonFrog|Grey Heron|75",
		"203.0.113.5|ip|PoisonFrog|Grey Heron|75",
		"203.0.113.6|ip|PoisonFrog|Grey Heron|75",
		"192.0.2.0/28|cidr|PoisonFrog|Grey Heron|75",
		"2001:db8::13|ip|PoisonFrog|Grey Heron|75",
	}
	if diff := cmp.Diff(want, brief(s)); diff != "" {
		t.Errorf("indicators (-want +got):\n%s", diff)
	}
	skips := map[string]int{}
	for _, sk := range s.Skipped() {
		skips[sk.Reason] += sk.Count
	}
	wantSkips := map[string]int{
		`unsupported attribute type "md5"`:  1,
		"to_ids is false":                   1,
		"deleted attribute":                 1,
		`unsupported attribute type "port"`: 2,
		`unsupported attribute type "link"`: 1,
	}
	if diff := cmp.Diff(wantSkips, skips); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
	if s.Skipped()[0].First != "line 24 Event.Attribute[6] (a0000000-0000-4000-8000-000000000007)" {
		t.Errorf("first skip at %q", s.Skipped()[0].First)
	}
	for ind := range s.All() {
		if ind.Value == "198.51.100.7" && ind.Line != 16 {
			t.Errorf("line of the first attribute = %d, want 16", ind.Line)
		}
	}
	// A MISP domain matches an SNI under it.
	if m, ok := s.LookupDomainAt("login.evil.example", time.Now()); !ok || m.Indicator != "evil.example" || m.Feed != "misp-event.json" {
		t.Errorf("LookupDomainAt = %+v, %v", m, ok)
	}

	// to_ids off: loaded on request.
	s, err = ParseMISP(strings.NewReader(mispEventJSON), "e", WithMISPNonIDS())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.LookupAddr(netip.MustParseAddr("192.0.2.53")); !ok {
		t.Error("WithMISPNonIDS: to_ids=false attribute not loaded")
	}
	if _, ok := s.LookupAddr(netip.MustParseAddr("192.0.2.99")); ok {
		t.Error("deleted attribute loaded")
	}

	// Expiry from last_seen, else the attribute timestamp.
	s, err = ParseMISP(strings.NewReader(mispEventJSON), "e", WithExpireAfter(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	m, _ := s.LookupAddrAt(netip.MustParseAddr("198.51.100.7"), time.Time{})
	if want := time.Unix(1711929600, 0).Add(24 * time.Hour); !m.ValidUntil.Equal(want) {
		t.Errorf("expiry from timestamp = %v, want %v", m.ValidUntil, want)
	}
	m, _ = s.LookupAddrAt(netip.MustParseAddr("192.0.2.1"), time.Time{})
	if want := time.Date(2024, 4, 3, 0, 0, 0, 0, time.UTC); !m.ValidUntil.Equal(want) {
		t.Errorf("expiry from last_seen = %v, want %v", m.ValidUntil, want)
	}
	if m, ok := s.LookupAddrAt(netip.MustParseAddr("198.51.100.8"), time.Now()); !ok || !m.ValidUntil.IsZero() {
		t.Errorf("attribute without timestamp: %+v, %v; want no expiry", m, ok)
	}
}

func TestParseMISPShapes(t *testing.T) {
	const ev = `{"uuid":"e1","Attribute":[{"uuid":"a1","type":"ip-dst","value":"192.0.2.1","to_ids":true}],
	  "Galaxy":[{"type":"threat-actor","GalaxyCluster":[{"value":"Actor B"},{"value":"Actor A"}]}]}`
	for name, in := range map[string]string{
		"event":    `{"Event":` + ev + `}`,
		"response": `{"response":[{"Event":` + ev + `},{"Event":{"Attribute":[]}}]}`,
		"array":    `[{"Event":` + ev + `}]`,
		"BOM":      "\ufeff" + `{"Event":` + ev + `}`,
	} {
		s, err := ParseMISP(strings.NewReader(in), "f")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if m, ok := s.LookupAddr(netip.MustParseAddr("192.0.2.1")); !ok || m.ThreatActor != "Actor A, Actor B" {
			t.Errorf("%s: LookupAddr = %+v, %v", name, m, ok)
		}
	}
}

func TestParseMISPErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		object   string
		msg      string
		bad      bool
	}{
		{"bad ip", "{\"Event\":{\"Attribute\":[\n{\"uuid\":\"u1\",\"type\":\"ip-dst\",\"value\":\"192.0.2.1\",\"to_ids\":true},\n{\"uuid\":\"u2\",\"type\":\"ip-dst\",\"value\":\"192.0.2.300\",\"to_ids\":true}]}}",
			3, "Event.Attribute[1] (u2)", `bad indicator "192.0.2.300"`, true},
		{"bad port", `{"Event":{"Attribute":[{"uuid":"u1","type":"ip-dst|port","value":"192.0.2.1|http","to_ids":true}]}}`,
			1, "Event.Attribute[0] (u1)", "bad port", true},
		{"no pipe", `{"Event":{"Object":[{"Attribute":[{"type":"domain|ip","value":"x.example","to_ids":true}]}]}}`,
			0, "Event.Object[0].Attribute[0]", "want domain|ip", true},
		{"bad domain in domain|ip", `{"Event":{"Attribute":[{"type":"domain|ip","value":"x..example|192.0.2.1","to_ids":true}]}}`,
			0, "Event.Attribute[0]", "empty domain label", true},
		{"bad to_ids", "{\"Event\":{\"Attribute\":[\n{\"uuid\":\"u9\",\"type\":\"ip-dst\",\"value\":\"192.0.2.1\",\"to_ids\":\"maybe\"}]}}",
			2, "Event.Attribute[0] (u9)", "bad to_ids", true},
		{"bad value type", "{\"Event\":{\"Attribute\":[\n{\"uuid\":\"u9\",\"type\":\"ip-dst\",\"value\":{},\"to_ids\":true}]}}",
			2, "Event.Attribute[0] (u9)", "not a string", true},
		{"type error", "{\"Event\":{\"Attribute\":[\n{\"uuid\":5}]}}", 2, "", "JSON", false},
		{"syntax", "{\"Event\":{\n\"Attribute\":[,]}}", 2, "", "JSON", false},
		{"truncated", "{\"Event\":{\n\"Attribute\":[", 2, "", "unexpected end", false},
		{"no event", `{"uuid":{"info":"a manifest"}}`, 1, "", `no "Event"`, false},
		{"null event", `{"response":[{"Event":null}]}`, 0, "response[0].Event", "null Event", false},
		{"bad expiry time", `{"Event":{"Attribute":[{"type":"ip-dst","value":"192.0.2.1","to_ids":true,"last_seen":"soon"}]}}`,
			0, "Event.Attribute[0]", "bad timestamp", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseMISP(strings.NewReader(tt.in), "e.json", WithExpireAfter(time.Hour))
			if err == nil {
				t.Fatalf("ParseMISP = %v, want an error", brief(s))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Line != tt.line || pe.Object != tt.object {
				t.Errorf("line %d object %q, want %d %q (%v)", pe.Line, pe.Object, tt.line, tt.object, err)
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

func TestUUIDLines(t *testing.T) {
	data := []byte("{\n\"uuid\": \"a\",\n\"x\": {\"uuid\"\n:\n\"b\"}, \"uuid\": \"a\", \"uuid\": 5, \"uuid\": \"c")
	if got, want := uuidLines(data), map[string]int{"a": 2, "b": 5}; !cmp.Equal(got, want) {
		t.Errorf("uuidLines = %v, want %v", got, want)
	}
}
