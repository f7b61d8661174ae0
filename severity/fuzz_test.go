package severity

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func FuzzLoadPolicy(f *testing.F) {
	def, _ := json.Marshal(DefaultPolicy())
	f.Add(def)
	for _, s := range []string{
		`{"critical":[{"ratio":10,"min_upload_bytes":"100MB"}],"high":[{"ratio":"5:1","min_upload_bytes":"10 MiB"},{"ratio":2,"min_upload_bytes":104857600}],"medium":[{"ratio":2,"min_upload_bytes":"10mb"}],"low":[{"ratio":"2","min_upload_bytes":"1048576"}]}`,
		`{"low":[{"ratio":1,"min_upload_bytes":"1B"}],"medium":null}`,
		`{"low":[{"ratio":2,"min_upload_bytes":"10XB"}]}`,
		`{"low":[{"ratio":2,"min_upload_bytes":1.5e3}]}`,
		`{"low":[{"ratio":2,"ratio":3}]}`,
		`{"low":[]} {}`,
		`{"high":[{"ratio":5,"min_upload_bytes":"1MB"}],"medium":[{"ratio":2,"min_upload_bytes":"10MB"}],"low":[{"ratio":2,"min_upload_bytes":"1MB"}]}`,
		`{"low":[{"ratio":"18446744073709551615:1","min_upload_bytes":"16777215TB"}]}`,
		"{\"low\":[{\"ratio\":2,\"min_upload_bytes\":\"\\u0031MB\"}]}",
		`[`, `{"lo`, `null`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := LoadPolicy(strings.NewReader(string(data)))
		if err != nil {
			if !errors.Is(err, ErrInvalidPolicy) || !strings.HasPrefix(err.Error(), "severity: invalid policy") {
				t.Fatalf("LoadPolicy(%q) error %q is not an invalid-policy error", data, err)
			}
			if diff := cmp.Diff(Policy{}, p); diff != "" {
				t.Fatalf("LoadPolicy(%q) returned a policy with its error:\n%s", data, diff)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("LoadPolicy(%q) returned an invalid policy: %v", data, err)
		}
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := LoadPolicy(strings.NewReader(string(b)))
		if err != nil {
			t.Fatalf("reloading %s: %v", b, err)
		}
		if diff := cmp.Diff(p, back, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip of %q mismatch (-first +second):\n%s", data, diff)
		}
		// Rule.String is a compact form of what was loaded.
		for _, r := range p.Low {
			if n, reason := parseSizeString(strings.TrimPrefix(r.String(), "ratio>="+strconv.FormatUint(r.Ratio, 10)+":1 and upload>=")); reason != "" || n != r.MinUploadBytes {
				t.Fatalf("%v does not show its size", r)
			}
		}
	})
}

func FuzzParseLevel(f *testing.F) {
	for _, s := range []string{"none", "LOW", "Medium", "high", "critical", "", "x", "Level(5)", "crit\u0130cal", "\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLevel(s)
		if err != nil {
			var ule *UnknownLevelError
			if !errors.As(err, &ule) || ule.Input != s || !errors.Is(err, ErrUnknownLevel) {
				t.Fatalf("ParseLevel(%q) error %v", s, err)
			}
			return
		}
		if !l.IsValid() || !strings.EqualFold(l.String(), s) {
			t.Fatalf("ParseLevel(%q) = %v", s, l)
		}
		b, err := l.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Level
		if err := back.UnmarshalText(b); err != nil || back != l {
			t.Fatalf("text round trip of %v: %v, %v", l, back, err)
		}
	})
}

func FuzzDisplay(f *testing.F) {
	f.Add(uint64(2), uint64(3))
	f.Add(uint64(999995), uint64(1000))
	f.Add(uint64(1<<64-1), uint64(1<<64-1))
	f.Add(uint64(1<<64-1), uint64(0))
	f.Add(uint64(1048575), uint64(5243))
	f.Fuzz(func(t *testing.T, up, down uint64) {
		if got, want := strconv.FormatFloat(UploadRatio(up, down), 'f', 2, 64), slowUploadRatio(up, down); got != want {
			t.Fatalf("UploadRatio(%d, %d) prints %s, reference %s", up, down, got, want)
		}
		if got, want := strconv.FormatFloat(Megabytes(up), 'f', 2, 64), slowMegabytes(up); got != want {
			t.Fatalf("Megabytes(%d) prints %s, reference %s", up, got, want)
		}
	})
}

func FuzzAssess(f *testing.F) {
	f.Add(uint64(120*MB), uint64(10*MB), uint64(1), uint64(1), 0, false, 0, false, 0.0, uint64(10), uint64(100*MB))
	f.Add(uint64(0), uint64(0), uint64(0), uint64(0), 1, true, 12, true, 9.5, uint64(1), uint64(1))
	f.Add(uint64(1<<64-1), uint64(1), uint64(500), uint64(40), 0, true, 3, true, 5.0, uint64(1<<64-1), uint64(1<<64-1))
	f.Fuzz(func(t *testing.T, up, down, flows, unique uint64, iocs int, off bool, blast int, first bool, baseline float64, ratio, minUp uint64) {
		in := Input{Upload: up, Download: down, FlowCount: flows, UniqueFlows: unique, IOCMatches: iocs,
			OffHours: off, BlastRadius: blast, FirstSeenDest: first, BaselineMultiple: baseline}
		custom := DefaultPolicy()
		custom.Low = append(custom.Low, Rule{Ratio: max(ratio, 1), MinUploadBytes: max(minUp, 1)})
		for _, p := range []Policy{DefaultPolicy(), custom} {
			l, i := Evaluate(&p, up, down)
			if rl, ri := slowEvaluate(&p, up, down); rl != l || ri != i {
				t.Fatalf("Evaluate(%+v, %d, %d) = %v, %d; reference %v, %d", p, up, down, l, i, rl, ri)
			}
			checkAssessment(t, p, in, Assess(p, in))
		}
	})
}
