package ioc

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// stixBundle is a STIX 2.1 bundle written for these tests: indicators of
// every supported shape, related malware and actors, and indicators that
// must be skipped.
const stixBundle = `{
  "type": "bundle",
  "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d",
  "objects": [
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000001",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "name": "C2 addresses", "indicator_types": ["malicious-activity"],
      "pattern": "[ipv4-addr:value = '198.51.100.1' OR ipv4-addr:value = '203.0.113.0/24']",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "valid_until": "2024-07-01T00:00:00Z",
      "confidence": 85
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000002",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[domain-name:value = 'Evil.Example'] OR [url:value = 'https://drop.example:8443/x?y=1']",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000003",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[ipv6-addr:value IN ('2001:db8::1', '2001:db8:1::/48') OR ipv4-addr:value ISSUBSET '192.0.2.0/28']",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000004",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '192.0.2.200']",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000005",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000006",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e'] OR [ipv4-addr:value = '192.0.2.66']",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000007",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "alert tcp any any -> 192.0.2.9 any (msg:\"x\";)", "pattern_type": "snort",
      "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000008",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[ipv4-addr:value = '192.0.2.10']", "pattern_type": "stix",
      "valid_from": "2024-01-01T00:00:00Z", "revoked": true
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000009",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[domain-name:value = 'update.vendor.example']", "pattern_type": "stix",
      "indicator_types": ["benign"], "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000010",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[ipv4-addr:value = '192.0.2.11'] FOLLOWEDBY [ipv4-addr:value = '192.0.2.12']",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000011",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[ipv4-addr:value = '192.0.2.13'] REPEATS 5 TIMES WITHIN 60 SECONDS",
      "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000012",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "pattern": "[domain-name:value = 'old-version.example']", "pattern_type": "stix",
      "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "indicator", "spec_version": "2.1",
      "id": "indicator--a1000000-0000-4000-8000-000000000012",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-02-01T00:00:00.000Z",
      "pattern": "[domain-name:value = 'new-version.example']", "pattern_type": "stix",
      "valid_from": "2024-01-01T00:00:00Z"
    },
    {
      "type": "malware", "spec_version": "2.1", "id": "malware--b2000000-0000-4000-8000-000000000001",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "name": "PoisonFrog", "is_family": true
    },
    {
      "type": "threat-actor", "spec_version": "2.1", "id": "threat-actor--c3000000-0000-4000-8000-000000000001",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "name": "Grey Heron"
    },
    {
      "type": "intrusion-set", "spec_version": "2.1", "id": "intrusion-set--d4000000-0000-4000-8000-000000000001",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "name": "Heron Set"
    },
    {
      "type": "relationship", "spec_version": "2.1", "id": "relationship--e5000000-0000-4000-8000-000000000001",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "relationship_type": "indicates",
      "source_ref": "indicator--a1000000-0000-4000-8000-000000000001",
      "target_ref": "malware--b2000000-0000-4000-8000-000000000001"
    },
    {
      "type": "relationship", "spec_version": "2.1", "id": "relationship--e5000000-0000-4000-8000-000000000002",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "relationship_type": "attributed-to",
      "source_ref": "malware--b2000000-0000-4000-8000-000000000001",
      "target_ref": "threat-actor--c3000000-0000-4000-8000-000000000001"
    },
    {
      "type": "relationship", "spec_version": "2.1", "id": "relationship--e5000000-0000-4000-8000-000000000003",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "relationship_type": "indicates",
      "source_ref": "indicator--a1000000-0000-4000-8000-000000000002",
      "target_ref": "intrusion-set--d4000000-0000-4000-8000-000000000001"
    },
    {
      "type": "relationship", "spec_version": "2.1", "id": "relationship--e5000000-0000-4000-8000-000000000004",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "relationship_type": "attributed-to",
      "source_ref": "intrusion-set--d4000000-0000-4000-8000-000000000001",
      "target_ref": "threat-actor--c3000000-0000-4000-8000-000000000001"
    },
    {
      "type": "relationship", "spec_version": "2.1", "id": "relationship--e5000000-0000-4000-8000-000000000005",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "relationship_type": "uses",
      "source_ref": "threat-actor--c3000000-0000-4000-8000-000000000001",
      "target_ref": "malware--b2000000-0000-4000-8000-000000000001"
    },
    {
      "type": "identity", "spec_version": "2.1", "id": "identity--f6000000-0000-4000-8000-000000000001",
      "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z",
      "name": "Test Producer", "labels": "not an array: ignored for identities"
    }
  ]
}`

func TestParseSTIX(t *testing.T) {
	s, err := ParseSTIX(strings.NewReader(stixBundle), "intel.json")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"198.51.100.1|ip|PoisonFrog|Grey Heron|85",
		"203.0.113.0/24|cidr|PoisonFrog|Grey Heron|85",
		"evil.example|domain||Grey Heron, Heron Set|0",
		"drop.example|domain||Grey Heron, Heron Set|0",
		"2001:db8::1|ip|||0",
		"2001:db8:1::/48|cidr|||0",
		"192.0.2.0/28|cidr|||0",
		"192.0.2.66|ip|||0",
		"new-version.example|domain|||0",
	}
	if diff := cmp.Diff(want, brief(s)); diff != "" {
		t.Errorf("indicators (-want +got):\n%s", diff)
	}
	skips := map[string]int{}
	for _, sk := range s.Skipped() {
		skips[sk.Reason] += sk.Count
	}
	wantSkips := map[string]int{
		"AND-ed comparisons":                                         1,
		"unsupported comparison file:hashes.SHA-256 =":               1,
		"unsupported comparison OR-ed with supported ones (ignored)": 1,
		`pattern_type "snort"`:                                       1,
		"revoked indicator":                                          1,
		"benign indicator":                                           1,
		"FOLLOWEDBY pattern":                                         1,
		"qualified observation (WITHIN, REPEATS, START/STOP)":        1,
		"superseded version of an indicator":                         1,
	}
	if diff := cmp.Diff(wantSkips, skips); diff != "" {
		t.Errorf("skips (-want +got):\n%s", diff)
	}
	for ind := range s.All() {
		if ind.Value == "198.51.100.1" && (ind.Line != 5 || !ind.ValidFrom.Equal(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))) {
			t.Errorf("first indicator: line %d, valid from %v", ind.Line, ind.ValidFrom)
		}
	}

	// The done-when case: a STIX domain indicator matches an SNI under it,
	// at the flow's time.
	flowTime := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	m, ok := s.LookupDomainAt("cdn.EVIL.example", flowTime)
	if !ok || m.Indicator != "evil.example" || m.Feed != "intel.json" || m.ThreatActor != "Grey Heron, Heron Set" {
		t.Errorf("LookupDomainAt(SNI) = %+v, %v", m, ok)
	}
	if _, ok := s.LookupDomainAt("evil.example", time.Date(2023, 12, 31, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("domain matched before valid_from")
	}
	m, ok = s.LookupAddrAt(netip.MustParseAddr("203.0.113.77"), flowTime)
	if !ok || m.MalwareFamily != "PoisonFrog" || m.Confidence != 85 || !m.ValidUntil.Equal(time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("LookupAddrAt = %+v, %v", m, ok)
	}
	if _, ok := s.LookupAddrAt(netip.MustParseAddr("203.0.113.77"), time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("indicator matched at its valid_until")
	}
}

func TestParseSTIXShapes(t *testing.T) {
	const ind = `{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '192.0.2.1']","valid_from":"2024-01-01T00:00:00Z"}`
	for name, in := range map[string]string{
		"bundle":          `{"type":"bundle","id":"bundle--1","objects":[` + ind + `]}`,
		"objects first":   `{"objects":[` + ind + `],"type":"bundle","spec_version":"2.0"}`,
		"TAXII envelope":  `{"more":false,"objects":[` + ind + `]}`,
		"array":           `[` + ind + `]`,
		"BOM, STIX 2.0":   "\ufeff" + `{"type":"bundle","objects":[{"type":"indicator","id":"indicator--1","labels":["malicious-activity"],"pattern":"[ipv4-addr:value = '192.0.2.1']","valid_from":"2024-01-01T00:00:00Z"}]}`,
		"lower-case or":   `[{"type":"indicator","pattern":"[ipv4-addr:value = '192.0.2.1' or ipv4-addr:value = '192.0.2.1']"}]`,
		"nested parens":   `[{"type":"indicator","pattern":"(([ipv4-addr:value = '192.0.2.1']))"}]`,
		"v4 in ipv6-addr": `[{"type":"indicator","pattern":"[ipv6-addr:value = '::ffff:192.0.2.1']"}]`,
		"network-traffic": `[{"type":"indicator","pattern":"[network-traffic:dst_ref.value = '192.0.2.1']"}]`,
		"escaped quote":   `[{"type":"indicator","pattern":"[ipv4-addr:value = '192.0.2.1' OR x:z = 'it\\'s' OR x:y = 'a\\\\b']"}]`,
	} {
		s, err := ParseSTIX(strings.NewReader(in), "f")
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if _, ok := s.LookupAddr(netip.MustParseAddr("192.0.2.1")); !ok {
			t.Errorf("%s: 192.0.2.1 not loaded: %v, skipped %+v", name, brief(s), s.Skipped())
		}
	}
}

func TestParseSTIXErrors(t *testing.T) {
	obj := func(pattern string) string {
		return `{"type":"bundle","objects":[` + "\n" +
			`{"type":"indicator","id":"indicator--ok","pattern":"[ipv4-addr:value = '192.0.2.1']"},` + "\n" +
			`{"type":"indicator","id":"indicator--bad","pattern":"` + pattern + `"}` + "\n]}"
	}
	tests := []struct {
		name, in string
		line     int
		object   string
		msg      string
		bad      bool
	}{
		{"bad address", obj("[ipv4-addr:value = '300.1.1.1']"), 3, "objects[1] (indicator--bad)", `bad indicator "300.1.1.1"`, true},
		{"v6 in ipv4-addr", obj("[ipv4-addr:value = '2001:db8::1']"), 3, "objects[1] (indicator--bad)", "not an IPv4 address", true},
		{"v4 in ipv6-addr", obj("[ipv6-addr:value = '192.0.2.1']"), 3, "objects[1] (indicator--bad)", "not an IPv6 address", true},
		{"ISSUBSET of an address", obj("[ipv4-addr:value ISSUBSET '192.0.2.1']"), 3, "objects[1] (indicator--bad)", "want a CIDR", true},
		{"bad domain", obj("[domain-name:value = 'a..b']"), 3, "objects[1] (indicator--bad)", "empty domain label", true},
		{"unclosed", obj("[ipv4-addr:value = '192.0.2.1'"), 3, "objects[1] (indicator--bad)", "bad pattern", false},
		{"unterminated string", obj("[ipv4-addr:value = '192.0.2.1]"), 3, "objects[1] (indicator--bad)", "unterminated string", false},
		{"no operator", obj("[ipv4-addr:value '192.0.2.1']"), 3, "objects[1] (indicator--bad)", "comparison operator", false},
		{"garbage after", obj("[ipv4-addr:value = '192.0.2.1'] x"), 3, "objects[1] (indicator--bad)", "bad pattern", false},
		{"bad escape", obj("[ipv4-addr:value = '192\\\\n']"), 3, "objects[1] (indicator--bad)", "bad escape", false},
		{"empty pattern", obj(""), 3, "objects[1] (indicator--bad)", "unexpected end", false},
		{"bad valid_from", `[{"type":"indicator","id":"indicator--x","valid_from":"yesterday","pattern":"[ipv4-addr:value = '192.0.2.1']"}]`, 1, "objects[0] (indicator--x)", "bad timestamp", true},
		{"reversed validity", `[{"type":"indicator","id":"indicator--x","valid_from":"2024-02-01T00:00:00Z","valid_until":"2024-01-01T00:00:00Z","pattern":"[ipv4-addr:value = '192.0.2.1']"}]`, 1, "objects[0] (indicator--x)", "not after", true},
		{"confidence range", `[{"type":"indicator","id":"indicator--x","confidence":150,"pattern":"[ipv4-addr:value = '192.0.2.1']"}]`, 1, "objects[0] (indicator--x)", "outside 0 to 100", true},
		{"confidence type", "[\n\n" + `{"type":"indicator","id":"indicator--x","confidence":"high","pattern":"[ipv4-addr:value = '192.0.2.1']"}]`, 3, "objects[0] (indicator--x)", "JSON", false},
		{"not an object", `[{"type":"indicator","pattern":"[ipv4-addr:value = '192.0.2.1']"}, 42]`, 1, "objects[1]", "JSON", false},
		{"syntax", "{\"type\":\"bundle\",\n\"objects\":[\n{\"type\":\"indicator\",,}]}", 3, "objects[0]", "JSON", false},
		{"truncated", "{\"type\":\"bundle\",\n\"objects\":[\n{\"type\":\"indicator\"", 3, "objects[0]", "unexpected end", false},
		{"not a bundle", `{"type":"indicator","id":"indicator--x"}`, 1, "", "want a bundle", false},
		{"no objects", `{"type":"bundle","id":"bundle--x"}`, 1, "", `no "objects"`, false},
		{"objects not an array", `{"type":"bundle","objects":{}}`, 1, "", "not an array", false},
		{"not JSON object", `"bundle"`, 1, "", "not a JSON object", false},
		{"trailing data", `{"type":"bundle","objects":[]} {}`, 1, "", "data after", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseSTIX(strings.NewReader(tt.in), "b.json")
			if err == nil {
				t.Fatalf("ParseSTIX = %v, want an error", brief(s))
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Line != tt.line || pe.Object != tt.object {
				t.Errorf("line %d object %q, want %d %q (%v)", pe.Line, pe.Object, tt.line, tt.object, err)
			}
			if !strings.Contains(err.Error(), tt.msg) || !strings.HasPrefix(err.Error(), `ioc: feed "b.json"`) {
				t.Errorf("message %q does not contain %q", err, tt.msg)
			}
			if errors.Is(err, ErrBadIndicator) != tt.bad {
				t.Errorf("errors.Is(ErrBadIndicator) = %v, want %v (%v)", !tt.bad, tt.bad, err)
			}
		})
	}
	// WithSkipMalformed loads the good ones.
	s, err := ParseSTIX(strings.NewReader(obj("[ipv4-addr:value = '300.1.1.1']")), "b.json", WithSkipMalformed())
	if err != nil || s.Len() != 1 || len(s.Skipped()) != 1 || s.Skipped()[0].First != "line 3 objects[1] (indicator--bad)" {
		t.Errorf("WithSkipMalformed: %v, %v, %+v", brief(s), err, s.Skipped())
	}
	// The count of further bad objects.
	in := `[{"type":"indicator","id":"indicator--1","pattern":"[x"},{"type":"indicator","pattern":"[y"},{"type":"indicator","pattern":"[ipv4-addr:value = '1']"}]`
	_, err = ParseSTIX(strings.NewReader(in), "b.json")
	if err == nil || !strings.HasSuffix(err.Error(), "(and 2 more bad entries)") {
		t.Errorf("err = %v, want 2 more bad entries", err)
	}
}

func TestParsePattern(t *testing.T) {
	tests := []struct {
		pattern string
		atoms   string // value list, or "why: ..." or "err: ..."
		ignored int
	}{
		{"[ipv4-addr:value = '192.0.2.1']", "192.0.2.1", 0},
		{"[ipv4-addr:value = '192.0.2.1' OR ipv6-addr:value = '::1']", "192.0.2.1 ::1", 0},
		{"[ipv4-addr:value = '192.0.2.1'] OR [domain-name:value = 'x.example']", "192.0.2.1 x.example", 0},
		{"[ipv4-addr:value = '192.0.2.1' AND ipv4-addr:value = '192.0.2.2']", "why: AND-ed comparisons", 0},
		{"[ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.0.2.2']", "why: AND-ed observations", 0},
		{"[ipv4-addr:value = '192.0.2.1'] OR ([a:b = 'c'] AND [d:e = 'f'])", "192.0.2.1", 1},
		{"[(ipv4-addr:value = '192.0.2.1' OR ipv4-addr:value = '192.0.2.2') AND x:y = 1]", "why: AND-ed comparisons", 0},
		{"[ipv4-addr:value IN ('192.0.2.1', '192.0.2.2')]", "192.0.2.1 192.0.2.2", 0},
		{"[ipv4-addr:value IN ()]", "why: empty IN set", 0},
		{"[ipv4-addr:value NOT = '192.0.2.1']", "why: negated comparison ipv4-addr:value =", 0},
		{"[ipv4-addr:value != '192.0.2.1']", "why: unsupported comparison ipv4-addr:value !=", 0},
		{"[ipv4-addr:value <> '192.0.2.1']", "why: unsupported comparison ipv4-addr:value !=", 0},
		{"[domain-name:value LIKE '%.evil.example']", "why: unsupported comparison domain-name:value LIKE", 0},
		{"[url:value MATCHES '^https?://evil']", "why: unsupported comparison url:value MATCHES", 0},
		{"[ipv4-addr:value ISSUBSET '10.0.0.0/8']", "10.0.0.0/8", 0},
		{"[ipv4-addr:value ISSUPERSET '10.0.0.0/8']", "why: unsupported comparison ipv4-addr:value ISSUPERSET", 0},
		{"[EXISTS ipv4-addr:value]", "why: EXISTS comparison", 0},
		{"[ipv4-addr:value = '192.0.2.1'] START t'2024-01-01T00:00:00Z' STOP t'2024-02-01T00:00:00Z'", "why: qualified observation (WITHIN, REPEATS, START/STOP)", 0},
		{"[ipv4-addr:value = '192.0.2.1'] WITHIN 5.5 SECONDS", "why: qualified observation (WITHIN, REPEATS, START/STOP)", 0},
		{"[file:size > 100 OR ipv4-addr:value = '192.0.2.1']", "192.0.2.1", 1},
		{"[x-custom:list[*].inner = 'v' OR x:y[0] = h'ff' OR z:w = b'AA==' OR q:r = true OR s:t <= -5]", "why: unsupported comparison x-custom:list[*].inner =", 0},
		{"[ipv4-addr:value = 5]", "why: unsupported comparison ipv4-addr:value =", 0},
		{"[ipv4-addr:value = '1'] FOLLOWEDBY [ipv4-addr:value = '2']", "why: FOLLOWEDBY pattern", 0},
		{"[ipv4-addr:value = '1'", "err: want ']'", 0},
		{"ipv4-addr:value = '1'", "err: unexpected \"ipv4-addr\"", 0},
		{"[ipv4-addr = '1']", "err: want ':'", 0},
		{"[ipv4-addr:value = ]", "err: want a literal", 0},
		{"[ipv4-addr:value IN ('1' '2')]", "err: want ','", 0},
		{"[a:b = '1'] WITHIN SECONDS", "err: want a number", 0},
		{"[a:b = '1'] START '2024' STOP t'x'", "err: want a t'timestamp'", 0},
		{"[a:b = '1'] REPEATS 2", "err: want TIMES", 0},
		{"[a:b = '1' ! ]", "err: unexpected '!'", 0},
		{"[a:b = '1' $ ]", "err: unexpected '$'", 0},
		{strings.Repeat("(", 100) + "[a:b = '1']" + strings.Repeat(")", 100), "err: pattern nested deeper", 0},
	}
	for _, tt := range tests {
		r, ignored, err := parsePattern(tt.pattern)
		var got string
		switch {
		case err != nil:
			got = "err: " + err.Error()
		case len(r.atoms) == 0:
			got = "why: " + r.why
		default:
			var vs []string
			for _, a := range r.atoms {
				vs = append(vs, a.value)
			}
			got = strings.Join(vs, " ")
		}
		if !strings.HasPrefix(got, tt.atoms) || ignored != tt.ignored {
			t.Errorf("parsePattern(%q) = %q, %d ignored; want %q, %d", tt.pattern, got, ignored, tt.atoms, tt.ignored)
		}
	}
}
