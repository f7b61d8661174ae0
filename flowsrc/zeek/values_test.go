package zeek

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var addrSeeds = []string{
	"0.0.0.0", "10.1.2.3", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4 ",
	"::", "::1", "1::", "2001:db8::1", "fe80::1%eth0", "::ffff:192.0.2.1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9",
	"1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:8::", "::1:2:3:4:5:6:7", "1::2::3", ":1::2", "1:::2", "12345::1", "2001:DB8::A",
	"0:0:0:0:0:0:0:0", "0::0%" + strings.Repeat("0", 80), "", "-", "x", "1.2.3.4:80", "[::1]",
}

// checkAddr compares parseAddr with netip.ParseAddr.
func checkAddr(t *testing.T, s string) {
	want, err := netip.ParseAddr(s)
	got, ok := parseAddr([]byte(s))
	if ok != (err == nil) || ok && got != want {
		t.Errorf("parseAddr(%q) = %v, %v; netip: %v, %v", s, got, ok, want, err)
	}
}

func TestParseAddr(t *testing.T) {
	for _, s := range addrSeeds {
		checkAddr(t, s)
	}
	for _, s := range []string{"10.1.2.3", "2001:db8::1", "fe80::1:2:3:4"} {
		b := []byte(s)
		if a := testing.AllocsPerRun(100, func() { parseAddr(b) }); a != 0 {
			t.Errorf("parseAddr(%q) allocates %.0f", s, a)
		}
	}
}

func TestParseEpoch(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1517336042.090842":           time.Date(2018, 1, 30, 18, 14, 2, 90842000, time.UTC),
		"1517336042":                  time.Unix(1517336042, 0).UTC(),
		"1517336042.5":                time.Unix(1517336042, 5e8).UTC(),
		"1517336042.1234567891":       time.Unix(1517336042, 123456789).UTC(),
		"1517336042090":               time.Unix(1517336042, 90e6).UTC(), // milliseconds
		"1.517336042090842e9":         time.Unix(1517336042, 90842000).UTC(),
		"0.0":                         time.Unix(0, 0).UTC(),
		"2018-01-30T18:14:02.090842Z": time.Date(2018, 1, 30, 18, 14, 2, 90842000, time.UTC),
		"2018-01-30T18:14:02Z":        time.Date(2018, 1, 30, 18, 14, 2, 0, time.UTC),
		"2018-01-30T19:14:02.5+01:00": time.Date(2018, 1, 30, 18, 14, 2, 5e8, time.UTC),
		"2024-02-29T00:00:00Z":        time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC),
	} {
		got, ok := parseEpoch([]byte(in))
		if !ok || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("parseEpoch(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-1.0", "XXXXXXXXXX.XXXXXX", "1.2.3", "1e", "e5", ".", "1.5x", "1e400", "99999999999999999999",
		"2023-02-29T00:00:00Z", "2018-13-01T00:00:00Z", "2018-01-30T18:14:02", "2018-01-30T25:14:02Z", "2018-01-30 18:14:02Z", "NaN", "9000000001.000000"} {
		if got, ok := parseEpoch([]byte(in)); ok {
			t.Errorf("parseEpoch(%q) = %v, accepted", in, got)
		}
	}
	b := []byte("1517336042.090842")
	iso := []byte("2018-01-30T18:14:02.090842Z")
	if a := testing.AllocsPerRun(100, func() { parseEpoch(b); parseEpoch(iso) }); a != 0 {
		t.Errorf("parseEpoch allocates %.0f", a)
	}
}

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"0.050692": 50692 * time.Microsecond, "26.658219": 26658219 * time.Microsecond, "3": 3 * time.Second,
		"1e-06": time.Microsecond, "2.5E+1": 25 * time.Second, "0.000000001": 1, "5.": 5 * time.Second,
	} {
		s, ns, _, ok := parseSeconds([]byte(in))
		if got := time.Duration(s)*time.Second + time.Duration(ns); !ok || got != want {
			t.Errorf("parseSeconds(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "-", "-1", "+1", "1-", ".e5", "1e+", "inf", "0x10"} {
		if _, _, _, ok := parseSeconds([]byte(in)); ok {
			t.Errorf("parseSeconds(%q) accepted", in)
		}
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`\x09`: "\t", `a\x2db`: "a-b", `\x`: `\x`, `\x4`: `\x4`, `\xzz`: `\xzz`, `\\x41`: `\A`, `\x41\x42`: "AB", `end\x41`: "endA",
		`\xff`: "\xff",
	} {
		if got := string(appendUnescape(nil, []byte(in))); got != want {
			t.Errorf("appendUnescape(%q) = %q, want %q", in, got, want)
		}
	}
}

var jsonSeeds = []string{
	`{}`, ` { } `, `{"a":1}`, `{"a":"x\"y\\z\/\b\f\n\r\t\u00e9\ud83d\ude00"}`, `{"a":[1,"x",{"b":null}],"c":true,"d":false,"e":null}`,
	`{"a":-0.5e+10}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":-}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":1 "b":2}`,
	`{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"` + "\x01" + `"}`, `{"a":[}`, `{"a":{]}`, `{"a":1}x`, `{"a":1}}`, `[1]`, `{"a":tru}`,
	`{"a":"\ud800"}`, `{"a":"\udc00\ud800"}`, `{"a":"` + "\xff" + `"}`, `{"a":nul`, `{"ts":1517422326.539915,"uid":"CxHo","id.orig_h":"10.55.100.100"}`,
}

// checkJSON compares the scanner with encoding/json on one input: a valid
// object is scanned without error, a flat object (no nested values) the
// scanner accepts is valid, and every string member decodes the same way.
func checkJSON(t *testing.T, in []byte) {
	var s jsonScanner
	err := s.begin(in)
	var members []struct{ k, v value }
	nested := false
	for err == nil {
		var k, v value
		var done bool
		k, v, done, err = s.next()
		if err != nil || done {
			break
		}
		if v.kind == kArray || v.kind == kObject {
			nested = true
		}
		members = append(members, struct{ k, v value }{k, v})
	}
	var obj map[string]json.RawMessage
	valid := json.Valid(in) && json.Unmarshal(in, &obj) == nil
	if valid && err != nil {
		t.Fatalf("%q: valid JSON object refused: %v", in, err)
	}
	if !valid && err == nil && !nested {
		t.Fatalf("%q: invalid JSON accepted", in)
	}
	if err != nil || !valid {
		return
	}
	for _, m := range members {
		for _, sv := range []value{m.k, m.v} {
			if sv.kind != kString || !utf8.Valid(sv.b) {
				continue // encoding/json replaces invalid UTF-8
			}
			var want string
			if err := json.Unmarshal(append(append([]byte{'"'}, sv.b...), '"'), &want); err != nil {
				t.Fatalf("%q: %v", sv.b, err)
			}
			if got := string(appendJSONUnquote(nil, sv.b)); got != want {
				t.Fatalf("unquote %q = %q, encoding/json %q", sv.b, got, want)
			}
		}
		if m.v.kind == kArray {
			a := newArrayScanner(m.v.b)
			var elems []json.RawMessage
			json.Unmarshal(m.v.b, &elems)
			n := 0
			for {
				_, ok, err := a.next()
				if err != nil {
					t.Fatalf("%q: array refused: %v", m.v.b, err)
				}
				if !ok {
					break
				}
				n++
			}
			if n != len(elems) {
				t.Fatalf("%q: %d elements, encoding/json %d", m.v.b, n, len(elems))
			}
		}
	}
}

func TestJSONScanner(t *testing.T) {
	for _, s := range jsonSeeds {
		checkJSON(t, []byte(s))
	}
}
