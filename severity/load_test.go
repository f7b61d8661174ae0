package severity

import (
	"encoding/json"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestLoadPolicyRoundTrip(t *testing.T) {
	policies := []Policy{DefaultPolicy(), {Low: []Rule{{Ratio: 1, MinUploadBytes: 1}}}}
	r := newRand(5)
	for range 200 {
		policies = append(policies, randPolicy(r))
	}
	for _, want := range policies {
		b, err := json.Marshal(want)
		if err != nil {
			t.Fatal(err)
		}
		got, err := LoadPolicy(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("LoadPolicy(%s): %v", b, err)
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("LoadPolicy(Marshal(p)) mismatch (-want +got):\n%s", diff)
		}
	}
}

func TestLoadPolicyFormats(t *testing.T) {
	const file = `{
  "critical": [{"ratio": 10, "min_upload_bytes": "100MB"}],
  "high":     [{"ratio": "5", "min_upload_bytes": "10 MiB"}, {"min_upload_bytes": "100mb", "ratio": "2:1"}],
  "medium":   [{"ratio": 2, "min_upload_bytes": 10485760}],
  "low":      [{"ratio": 2, "min_upload_bytes": "1048576"}]
}
`
	got, err := LoadPolicy(strings.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultPolicy(), got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
	// Absent and null rungs are empty: the file replaces the whole ladder.
	got, err = LoadPolicy(strings.NewReader(`{"low": [{"ratio": 3, "min_upload_bytes": "2GB"}], "high": null}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Policy{Low: []Rule{{Ratio: 3, MinUploadBytes: 2 << 30}}}, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in         string
		want       uint64
		wantReason string
	}{
		{"0", 0, ""},
		{"1048576", MB, ""},
		{"1B", 1, ""},
		{"1b", 1, ""},
		{"2KB", 2048, ""},
		{"2KiB", 2048, ""},
		{"100MB", 100 * MB, ""},
		{"10MiB", 10 * MB, ""},
		{"10 MiB", 10 * MB, ""},
		{"10   mib", 10 * MB, ""},
		{"3GB", 3 << 30, ""},
		{"3gib", 3 << 30, ""},
		{"4TB", 4 << 40, ""},
		{"4TiB", 4 << 40, ""},
		{"18446744073709551615", math.MaxUint64, ""},
		{"18446744073709551615B", math.MaxUint64, ""},
		{"16777215TB", 16777215 << 40, ""},
		{"16777216TB", 0, "out of range"},
		{"18446744073709551616", 0, "out of range"},
		{"", 0, `must start with digits, as in "10MB"`},
		{"MB", 0, `must start with digits, as in "10MB"`},
		{" 10MB", 0, `must start with digits, as in "10MB"`},
		{"-1", 0, `must start with digits, as in "10MB"`},
		{"1.5MB", 0, `unknown unit ".5MB" (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)`},
		{"10XB", 0, `unknown unit "XB" (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)`},
		{"10MB ", 0, `unknown unit "MB " (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)`},
		{"10PB", 0, `unknown unit "PB" (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)`},
		{"1e6", 0, `unknown unit "e6" (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)`},
	}
	for _, tt := range tests {
		got, reason := parseSizeString(tt.in)
		if got != tt.want || reason != tt.wantReason {
			t.Errorf("parseSizeString(%q) = %d, %q; want %d, %q", tt.in, got, reason, tt.want, tt.wantReason)
		}
	}
}

func TestFormatSizeRoundTrip(t *testing.T) {
	r := newRand(6)
	values := []uint64{0, 1, 1023, 1024, 1025, MB - 1, MB, MB + 1, 1 << 30, 1 << 40, 1 << 50, math.MaxUint64, math.MaxUint64 &^ (1<<40 - 1)}
	for range 1000 {
		values = append(values, randUint64(r), randUint64(r)&^(1<<(r.UintN(45))-1))
	}
	for _, n := range values {
		s := formatSize(n)
		back, reason := parseSizeString(s)
		if reason != "" || back != n {
			t.Fatalf("parseSizeString(formatSize(%d) = %q) = %d, %q", n, s, back, reason)
		}
	}
}

func TestLoadPolicyErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", `severity: invalid policy: empty input`},
		{"blank", " \n\t", `severity: invalid policy: empty input`},
		{"not an object", `[]`, `severity: invalid policy: line 1: [: policy must be a JSON object`},
		{"null", `null`, `severity: invalid policy: line 1: null: policy must be a JSON object`},
		{"empty object", `{}`, `severity: invalid policy: low: at least one rule is required`},
		{"unknown key", "{\n \"lo\": []}", `severity: invalid policy: line 2: "lo": unknown key in policy (want critical, high, medium, low)`},
		{"wrong case key", `{"Low": []}`, `severity: invalid policy: line 1: "Low": unknown key in policy (want critical, high, medium, low)`},
		{"duplicate key", `{"low": [{"ratio": 2, "min_upload_bytes": 1}],` + "\n" + `"low": []}`, `severity: invalid policy: line 2: "low": duplicate key in policy`},
		{"rung not array", `{"low": {"ratio": 2}}`, `severity: invalid policy: line 1: low: {: must be an array of rules`},
		{"rung string", `{"low": "2:1"}`, `severity: invalid policy: line 1: low: "2:1": must be an array of rules`},
		{"rule not object", `{"low": [5]}`, `severity: invalid policy: line 1: low rule 0: 5: rule must be a JSON object`},
		{"unknown rule key", `{"low": [{"ratio": 2, "min_upload": 1}]}`, `severity: invalid policy: line 1: low rule 0: "min_upload": unknown key in rule (want ratio, min_upload_bytes)`},
		{"duplicate rule key", `{"low": [{"ratio": 2, "ratio": 3, "min_upload_bytes": 1}]}`, `severity: invalid policy: line 1: low rule 0: "ratio": duplicate key in rule`},
		{"missing ratio", "{\"low\": [\n{\"min_upload_bytes\": 1}]}", `severity: invalid policy: line 2: low rule 0: ratio: required`},
		{"missing size", `{"low": [{"ratio": 2, "min_upload_bytes": 1}, {"ratio": 2}]}`, `severity: invalid policy: line 1: low rule 1: min_upload_bytes: required`},
		{"bad unit", "{\"low\": [\n  {\"ratio\": 2,\n   \"min_upload_bytes\": \"10XB\"}]}", `severity: invalid policy: line 3: low rule 0: min_upload_bytes "10XB": unknown unit "XB" (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)`},
		{"fraction size", `{"low": [{"ratio": 2, "min_upload_bytes": 1.5}]}`, `severity: invalid policy: line 1: low rule 0: min_upload_bytes 1.5: must be a whole number of bytes or a string such as "10MB"`},
		{"negative size", `{"low": [{"ratio": 2, "min_upload_bytes": -1}]}`, `severity: invalid policy: line 1: low rule 0: min_upload_bytes -1: must be a whole number of bytes or a string such as "10MB"`},
		{"exponent size", `{"low": [{"ratio": 2, "min_upload_bytes": 1e6}]}`, `severity: invalid policy: line 1: low rule 0: min_upload_bytes 1e6: must be a whole number of bytes or a string such as "10MB"`},
		{"bool size", `{"low": [{"ratio": 2, "min_upload_bytes": true}]}`, `severity: invalid policy: line 1: low rule 0: min_upload_bytes true: must be a whole number of bytes or a string such as "10MB"`},
		{"null size", `{"low": [{"ratio": 2, "min_upload_bytes": null}]}`, `severity: invalid policy: line 1: low rule 0: min_upload_bytes null: must be a whole number of bytes or a string such as "10MB"`},
		{"huge size", `{"low": [{"ratio": 2, "min_upload_bytes": 18446744073709551616}]}`, `severity: invalid policy: line 1: low rule 0: min_upload_bytes 18446744073709551616: out of range`},
		{"huge size string", `{"low": [{"ratio": 2, "min_upload_bytes": "17000000TB"}]}`, `severity: invalid policy: line 1: low rule 0: min_upload_bytes "17000000TB": out of range`},
		{"fraction ratio", `{"low": [{"ratio": 2.5, "min_upload_bytes": 1}]}`, `severity: invalid policy: line 1: low rule 0: ratio 2.5: must be a whole number or a string such as "10:1"`},
		{"bad ratio string", `{"low": [{"ratio": "2:3", "min_upload_bytes": 1}]}`, `severity: invalid policy: line 1: low rule 0: ratio "2:3": must be a whole number or a string such as "10:1"`},
		{"empty ratio string", `{"low": [{"ratio": ":1", "min_upload_bytes": 1}]}`, `severity: invalid policy: line 1: low rule 0: ratio ":1": must be a whole number or a string such as "10:1"`},
		{"huge ratio", `{"low": [{"ratio": "99999999999999999999:1", "min_upload_bytes": 1}]}`, `severity: invalid policy: line 1: low rule 0: ratio "99999999999999999999:1": out of range`},
		{"zero ratio", `{"low": [{"ratio": 0, "min_upload_bytes": 1}]}`, `severity: invalid policy: low rule 0: ratio 0: must be at least 1`},
		{"zero size", `{"low": [{"ratio": 1, "min_upload_bytes": "0MB"}]}`, `severity: invalid policy: low rule 0: min_upload_bytes 0: must be at least 1`},
		{"not monotone", `{"high": [{"ratio": 5, "min_upload_bytes": "1MB"}], "medium": [{"ratio": 2, "min_upload_bytes": "10MB"}], "low": [{"ratio": 2, "min_upload_bytes": "1MB"}]}`,
			`severity: invalid policy: high rule 0: ratio>=5:1 and upload>=1MB: easier than the medium rung: no medium rule has ratio <= 5 and min_upload_bytes <= 1048576`},
		{"trailing data", `{"low": [{"ratio": 2, "min_upload_bytes": 1}]}` + "\n{}", `severity: invalid policy: line 2: trailing data after the policy object`},
		{"trailing garbage", `{"low": [{"ratio": 2, "min_upload_bytes": 1}]} x`, `severity: invalid policy: line 1: trailing data after the policy object`},
		{"truncated", `{"low": [{"ratio": 2, "min_upload_bytes": 1}`, `severity: invalid policy: line 1: low: unexpected end of input`},
		{"truncated key", `{"lo`, `severity: invalid policy: line 1: unexpected end of input`},
		{"syntax error", "{\"low\": [{\"ratio\" 2}]}", `severity: invalid policy: line 1: low rule 0: malformed JSON: expected colon after object key`},
		{"syntax error line", "{\n\"low\": [\n{\"ratio\": 2,, \"min_upload_bytes\": 1}]}", `severity: invalid policy: line 3: low rule 0: malformed JSON: invalid character ',' looking for beginning of object key string`},
		{"too many rules", `{"low": [` + strings.Repeat(`{"ratio": 2, "min_upload_bytes": 1},`, MaxRulesPerLevel) + `{"ratio": 2, "min_upload_bytes": 1}]}`,
			`severity: invalid policy: line 1: low: more than 64 rules`},
		{"too large", `{"low": [{"ratio": 2, "min_upload_bytes": 1}]}` + strings.Repeat(" ", MaxPolicySize), `severity: invalid policy: larger than 1048576 bytes`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := LoadPolicy(strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("LoadPolicy = %+v, nil; want error %q", p, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("LoadPolicy error =\n%s\nwant\n%s", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("errors.Is(%v, ErrInvalidPolicy) = false", err)
			}
			if diff := cmp.Diff(Policy{}, p); diff != "" {
				t.Errorf("policy returned with an error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLoadPolicyReadError(t *testing.T) {
	boom := errors.New("boom")
	_, err := LoadPolicy(iotest.ErrReader(boom))
	if !errors.Is(err, boom) || errors.Is(err, ErrInvalidPolicy) || err.Error() != "severity: reading policy: boom" {
		t.Errorf("LoadPolicy(failing reader) = %v", err)
	}
	// A reader that delivers one byte at a time still works.
	if _, err := LoadPolicy(iotest.OneByteReader(strings.NewReader(`{"low":[{"ratio":2,"min_upload_bytes":"1MB"}]}`))); err != nil {
		t.Errorf("LoadPolicy(one byte at a time) = %v", err)
	}
	var _ io.Reader = iotest.OneByteReader(nil)
}
