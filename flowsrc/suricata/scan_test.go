package suricata

import (
	"encoding/json"
	"strings"
	"testing"
)

// The scanner's validity verdict agrees with encoding/json.Valid, and its
// string decoding with json.Unmarshal.
func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	cases := []string{
		`{}`, `{"a":1}`, ` { "a" : [ 1 , 2.5e-3 , -0 , true , false , null , "x" , { } , [ ] ] } `,
		`{"a":}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`,
		`{"a":-}`, `{"a":tru}`, `{"a":nul}`, `{"a":"\x"}`, `{"a":"\u12"}`, `{"a":"\u12G4"}`,
		`{"a":"` + "\x01" + `"}`, `{"a":"` + "\x7f" + `"}`, `{"a":[1 2]}`, `{"a":{"b":1 "c":2}}`,
		`{"a":"unterminated}`, `{"a":1}}`, `{"a":[}`, `{"a":]}`, `{1:2}`, `{"a":1} {}`,
		`{"a":"\ud83d\ude00"}`, `{"a":"\ud83d"}`, `{"a":"\ude00x"}`, `{"a":"\ud83d\u0041"}`,
		`{"a":"` + "\xff\xfe" + `"}`, `{"a":"` + "\xe2\x82" + `"}`, `{"a":"\"\\\/\b\f\n\r\t"}`,
		`{"a":1E+2}`, `{"a":-0.0e-0}`, `{"a":"` + "\xef\xbf\xbd" + `"}`,
		`{"a":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`,
		`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
		`{"a":` + strings.Repeat(`{"b":`, maxDepth-1) + `1` + strings.Repeat("}", maxDepth-1) + `}`,
		`{"a":` + strings.Repeat(`{"b":`, maxDepth) + `1` + strings.Repeat("}", maxDepth) + `}`,
	}
	for _, c := range cases {
		p := NewParser()
		p.sc.reset([]byte(c))
		p.ev.reset()
		got := p.top()
		if want := json.Valid([]byte(c)); got != want {
			t.Errorf("%.80q: scanner %v (%s), json.Valid %v", c, got, p.sc.err, want)
		}
	}
}

func TestUnescape(t *testing.T) {
	for _, c := range []string{
		`plain`, `a\"b`, `\\\/\b\f\n\r\t`, `\u00e9\u0041`, `\ud83d\ude00`, `\ud83d`, `\ude00`, `\ud83dx`,
		`\ud83d\u0041`, `\ud83d\ud83d\ude00`, "caf\xc3\xa9", "bad\xff\xfeutf8", "trunc\xe2\x82", "\xef\xbf\xbd",
	} {
		line := []byte(`"` + c + `"`)
		var want string
		if err := json.Unmarshal(line, &want); err != nil {
			t.Fatalf("%q: %v", c, err)
		}
		var sc scanner
		sc.reset(line)
		sp, ok := sc.str()
		if !ok {
			t.Fatalf("%q: %s", c, sc.err)
		}
		if got := string(sc.bytes(sp)); got != want {
			t.Errorf("%q: got %q, want %q", c, got, want)
		}
	}
}
