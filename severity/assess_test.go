package severity

import (
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestAssess(t *testing.T) {
	def := DefaultPolicy()
	small := Policy{Low: []Rule{{Ratio: 3, MinUploadBytes: 1500}}}
	tests := []struct {
		name string
		p    Policy
		in   Input
		want Assessment
	}{
		{"critical, single flow", def, Input{Upload: 120 * MB, Download: 10 * MB, FlowCount: 1, UniqueFlows: 1},
			Assessment{Level: Critical, Confidence: 0.75, Rule: "critical: ratio>=10:1 and upload>=100MB", Reasons: []string{
				"ratio 12.00:1 >= 10:1 and upload 120.00 MB >= 100.00 MB: critical rule, base 0.80",
				"single flow record: thin evidence: -0.05",
			}}},
		{"flow count 0 counts as a single flow", def, Input{Upload: 120 * MB, Download: 10 * MB},
			Assessment{Level: Critical, Confidence: 0.75, Rule: "critical: ratio>=10:1 and upload>=100MB", Reasons: []string{
				"ratio 12.00:1 >= 10:1 and upload 120.00 MB >= 100.00 MB: critical rule, base 0.80",
				"single flow record: thin evidence: -0.05",
			}}},
		{"low, nothing downloaded", def, Input{Upload: MB, FlowCount: 3},
			Assessment{Level: Low, Confidence: 0.45, Rule: "low: ratio>=2:1 and upload>=1MB", Reasons: []string{
				"ratio 999.99:1 (nothing downloaded) >= 2:1 and upload 1.00 MB >= 1.00 MB: low rule, base 0.40",
				"nothing downloaded (ratio unbounded): +0.05",
			}}},
		{"high via the second rule", def, Input{Upload: 400 * MB, Download: 100 * MB, FlowCount: 50, UniqueFlows: 9},
			Assessment{Level: High, Confidence: 0.75, Rule: "high: ratio>=2:1 and upload>=100MB", Reasons: []string{
				"ratio 4.00:1 >= 2:1 and upload 400.00 MB >= 100.00 MB: high rule, base 0.70",
				"ratio at least 2x the rule's 2:1: +0.01",
				"upload at least 4x the rule's 100.00 MB: +0.02",
				"sustained: 50 flow records (>= 10): +0.02",
			}}},
		{"high: the rule exceeded most, not the first", def, Input{Upload: 3200 * MB, Download: 640 * MB, FlowCount: 2},
			Assessment{Level: High, Confidence: 0.76, Rule: "high: ratio>=2:1 and upload>=100MB", Reasons: []string{
				"ratio 5.00:1 >= 2:1 and upload 3200.00 MB >= 100.00 MB: high rule, base 0.70",
				"ratio at least 2x the rule's 2:1: +0.01",
				"upload at least 32x the rule's 100.00 MB: +0.05",
			}}},
		{"every signal, capped", def, Input{Upload: 10000 * MB, Download: 1, FlowCount: 500, UniqueFlows: 40,
			OffHours: true, BlastRadius: 12, FirstSeenDest: true, BaselineMultiple: 7.25},
			Assessment{Level: Critical, Confidence: 0.95, Rule: "critical: ratio>=10:1 and upload>=100MB", Reasons: []string{
				"ratio 999.99:1 >= 10:1 and upload 10000.00 MB >= 100.00 MB: critical rule, base 0.80",
				"ratio at least 32x the rule's 10:1: +0.05",
				"upload at least 32x the rule's 100.00 MB: +0.05",
				"sustained: 500 flow records (>= 100): +0.04",
				"40 distinct connections (>= 10): +0.02",
				"upload outside working hours: +0.05",
				"12 internal sources upload to this destination (>= 10): +0.08",
				"first contact between this source and destination: +0.04",
				"upload 7.2x the source's baseline (>= 5x): +0.05",
				"behavioural confidence capped at 0.95",
			}}},
		{"medium with context", def, Input{Upload: 30 * MB, Download: 12 * MB, FlowCount: 10, UniqueFlows: 10,
			OffHours: true, BlastRadius: 3, BaselineMultiple: 4.99},
			Assessment{Level: Medium, Confidence: 0.71, Rule: "medium: ratio>=2:1 and upload>=10MB", Reasons: []string{
				"ratio 2.50:1 >= 2:1 and upload 30.00 MB >= 10.00 MB: medium rule, base 0.55",
				"upload at least 2x the rule's 10.00 MB: +0.01",
				"sustained: 10 flow records (>= 10): +0.02",
				"10 distinct connections (>= 10): +0.02",
				"upload outside working hours: +0.05",
				"3 internal sources upload to this destination (>= 3): +0.06",
			}}},
		{"thresholds below 1 MB are shown in bytes", small, Input{Upload: 4000, Download: 1000, FlowCount: 4},
			Assessment{Level: Low, Confidence: 0.41, Rule: "low: ratio>=3:1 and upload>=1500B", Reasons: []string{
				"ratio 4.00:1 >= 3:1 and upload 4000 B >= 1500 B: low rule, base 0.40",
				"upload at least 2x the rule's 1500 B: +0.01",
			}}},
		{"none", def, Input{Upload: MB - 1, Download: 10, FlowCount: 1, OffHours: true},
			Assessment{Reasons: []string{"no rule met: ratio 999.99:1, upload 1.00 MB"}}},
		{"none, ratio too low", def, Input{Upload: 50 * MB, Download: 30 * MB, FlowCount: 8},
			Assessment{Reasons: []string{"no rule met: ratio 1.67:1, upload 50.00 MB"}}},
		{"IOC with zero bytes", def, Input{IOCMatches: 1},
			Assessment{Level: Critical, Confidence: 0.99, Rule: "ioc", Reasons: []string{
				"1 IOC match on the destination: critical whatever the ratio and volume, confidence 0.99",
			}}},
		{"IOC and behaviour", def, Input{Upload: 20 * MB, Download: 2 * MB, IOCMatches: 3, FlowCount: 1},
			Assessment{Level: Critical, Confidence: 0.99, Rule: "ioc", Reasons: []string{
				"3 IOC matches on the destination: critical whatever the ratio and volume, confidence 0.99",
				"behaviour alone: ratio 10.00:1 >= 5:1 and upload 20.00 MB >= 10.00 MB: high rule",
			}}},
		{"IOC with an empty policy", Policy{}, Input{Upload: 5, IOCMatches: 1},
			Assessment{Level: Critical, Confidence: 0.99, Rule: "ioc", Reasons: []string{
				"1 IOC match on the destination: critical whatever the ratio and volume, confidence 0.99",
			}}},
		{"negative IOC count is no match", def, Input{IOCMatches: -1},
			Assessment{Reasons: []string{"no rule met: ratio 999.99:1 (nothing downloaded), upload 0.00 MB"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Assess(tt.p, tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Assess(%+v) mismatch (-want +got):\n%s", tt.in, diff)
			}
			checkAssessment(t, tt.p, tt.in, got)
		})
	}
}

// checkAssessment checks the invariants of the model's contract.
func checkAssessment(t *testing.T, p Policy, in Input, a Assessment) {
	t.Helper()
	level, _ := Evaluate(&p, in.Upload, in.Download)
	if math.Round(a.Confidence*100)/100 != a.Confidence {
		t.Fatalf("Assess(%+v): confidence %v has more than two decimals", in, a.Confidence)
	}
	switch {
	case in.IOCMatches > 0:
		if a.Level != Critical || a.Confidence != 0.99 || a.Rule != IOCRule || !strings.Contains(a.Reasons[0], "IOC") {
			t.Fatalf("Assess(%+v) = %+v; want critical 0.99 for an IOC match", in, a)
		}
		return
	case level == None:
		if a.Level != None || a.Confidence != 0 || a.Rule != "" {
			t.Fatalf("Assess(%+v) = %+v; want none with confidence 0", in, a)
		}
		return
	}
	if a.Level != level {
		t.Fatalf("Assess(%+v).Level = %v, Evaluate says %v", in, a.Level, level)
	}
	if !(a.Confidence > 0 && a.Confidence < 0.99) || a.Confidence < 0.35 || a.Confidence > MaxBehaviouralConfidence {
		t.Fatalf("Assess(%+v).Confidence = %v, want within [0.35, 0.95]", in, a.Confidence)
	}
	if !strings.HasPrefix(a.Rule, level.String()+": ratio>=") {
		t.Fatalf("Assess(%+v).Rule = %q", in, a.Rule)
	}
	// The reasons add up to the confidence.
	if len(a.Reasons) == 0 {
		t.Fatalf("Assess(%+v): no reasons", in)
	}
	sum := 0
	for i, r := range a.Reasons {
		var text string
		var sign int
		switch {
		case i == 0:
			var ok bool
			if _, text, ok = strings.Cut(r, ", base "); !ok {
				t.Fatalf("first reason %q has no base", r)
			}
			sign = 1
		case r == "behavioural confidence capped at 0.95":
			if i != len(a.Reasons)-1 || sum <= 95 {
				t.Fatalf("cap reason at %d with sum %d: %q", i, sum, a.Reasons)
			}
			sum = 95
			continue
		case strings.Contains(r, ": +"):
			text, sign = r[strings.LastIndex(r, ": +")+3:], 1
		case strings.Contains(r, ": -"):
			text, sign = r[strings.LastIndex(r, ": -")+3:], -1
		default:
			t.Fatalf("reason %q carries no points", r)
		}
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			t.Fatalf("reason %q: %v", r, err)
		}
		sum += sign * int(math.Round(f*100))
	}
	if float64(sum)/100 != a.Confidence {
		t.Fatalf("Assess(%+v): reasons %q add up to %d hundredths, confidence is %v", in, a.Reasons, sum, a.Confidence)
	}
}

// randInput returns an input that often lands near the default ladder.
func randInput(r *rand.Rand) Input {
	in := Input{
		Upload:        randUint64(r),
		Download:      randUint64(r),
		FlowCount:     r.Uint64N(300),
		UniqueFlows:   r.Uint64N(30),
		OffHours:      r.IntN(2) == 0,
		BlastRadius:   r.IntN(15) - 1,
		FirstSeenDest: r.IntN(2) == 0,
	}
	if r.IntN(3) == 0 {
		in.Upload = uint64(r.IntN(5000)) * MB / 4
		in.Download = in.Upload / (1 + r.Uint64N(20))
	}
	if r.IntN(10) == 0 {
		in.IOCMatches = r.IntN(3) - 1
	}
	switch r.IntN(4) {
	case 0:
		in.BaselineMultiple = r.Float64() * 10
	case 1:
		in.BaselineMultiple = math.NaN()
	}
	return in
}

func TestAssessProperties(t *testing.T) {
	r := newRand(7)
	def := DefaultPolicy()
	for range 5000 {
		p := def
		if r.IntN(2) == 0 {
			p = randPolicy(r)
		}
		in := randInput(r)
		checkAssessment(t, p, in, Assess(p, in))
	}
}

// TestAssessMonotone checks that a positive signal never lowers the level
// or the confidence.
func TestAssessMonotone(t *testing.T) {
	r := newRand(8)
	def := DefaultPolicy()
	changes := []struct {
		name  string
		apply func(*Input)
	}{
		{"more upload", func(in *Input) { in.Upload += min(math.MaxUint64-in.Upload, randUint64(r)>>r.UintN(64)) }},
		{"double upload", func(in *Input) { in.Upload = max(in.Upload, in.Upload<<1) }},
		{"less download", func(in *Input) { in.Download -= r.Uint64N(in.Download/2 + 1) }},
		{"more flows", func(in *Input) { in.FlowCount += r.Uint64N(200) }},
		{"more distinct flows", func(in *Input) { in.UniqueFlows += r.Uint64N(20) }},
		{"off hours", func(in *Input) { in.OffHours = true }},
		{"larger blast radius", func(in *Input) { in.BlastRadius += r.IntN(12) }},
		{"first-seen destination", func(in *Input) { in.FirstSeenDest = true }},
		{"larger baseline multiple", func(in *Input) {
			if math.IsNaN(in.BaselineMultiple) {
				in.BaselineMultiple = 0
			}
			in.BaselineMultiple += r.Float64() * 8
		}},
		{"IOC match", func(in *Input) { in.IOCMatches = max(1, in.IOCMatches+1) }},
	}
	for range 5000 {
		p := def
		if r.IntN(2) == 0 {
			p = randPolicy(r)
		}
		in := randInput(r)
		before := Assess(p, in)
		for _, c := range changes {
			after := in
			c.apply(&after)
			got := Assess(p, after)
			if got.Level < before.Level || got.Confidence < before.Confidence {
				t.Fatalf("%s lowered the verdict on policy %+v:\n%+v: %v %v %q\n%+v: %v %v %q",
					c.name, p, in, before.Level, before.Confidence, before.Reasons, after, got.Level, got.Confidence, got.Reasons)
			}
		}
	}
}

func TestDoublingsAgainstReference(t *testing.T) {
	r := newRand(9)
	for range 20000 {
		rule := Rule{Ratio: 1 + r.Uint64N(50), MinUploadBytes: max(1, randUint64(r)>>r.UintN(64))}
		up, down := randUint64(r), randUint64(r)>>r.UintN(64)
		if !rule.Matches(up, down) {
			continue
		}
		U := new(big.Int).SetUint64(up)
		want := 5
		if down != 0 {
			want = slowDoublings(U, new(big.Int).Mul(new(big.Int).SetUint64(rule.Ratio), new(big.Int).SetUint64(down)))
		}
		if got := ratioDoublings(rule.Ratio, up, down); got != want {
			t.Fatalf("ratioDoublings(%d, %d, %d) = %d, want %d", rule.Ratio, up, down, got, want)
		}
		if got, want := volumeDoublings(rule.MinUploadBytes, up), slowDoublings(U, new(big.Int).SetUint64(rule.MinUploadBytes)); got != want {
			t.Fatalf("volumeDoublings(%d, %d) = %d, want %d", rule.MinUploadBytes, up, got, want)
		}
	}
	// Edges: products and shifts that leave 64 bits.
	const max = math.MaxUint64
	edges := []struct {
		ratio, up, down uint64
		want            int
	}{
		{1, max, 1 << 63, 0}, {1, max, 1 << 62, 1}, {1, max, 1 << 59, 4}, {1, max, 1 << 58, 5}, {1, max, 1, 5},
		{3, max, max / 3, 0}, {2, max, 1 << 62, 0}, {2, max, 1<<62 - 1, 1},
	}
	for _, e := range edges {
		if got := ratioDoublings(e.ratio, e.up, e.down); got != e.want {
			t.Errorf("ratioDoublings(%d, %d, %d) = %d, want %d", e.ratio, e.up, e.down, got, e.want)
		}
	}
	if got := volumeDoublings(1<<63, max); got != 0 {
		t.Errorf("volumeDoublings(2^63, max) = %d, want 0", got)
	}
	if got := volumeDoublings(1<<59, max); got != 4 {
		t.Errorf("volumeDoublings(2^59, max) = %d, want 4", got)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	p := DefaultPolicy()
	for _, bc := range []struct {
		name     string
		up, down uint64
	}{{"critical", 200 * MB, 2 * MB}, {"none", 100, 5000}} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				Evaluate(&p, bc.up, bc.down)
			}
		})
	}
}

func BenchmarkAssess(b *testing.B) {
	p := DefaultPolicy()
	in := Input{Upload: 400 * MB, Download: 100 * MB, FlowCount: 50, UniqueFlows: 12, OffHours: true, BlastRadius: 4}
	for b.Loop() {
		Assess(p, in)
	}
}

// TestAssessAllocs pins Assess at two allocations (the string its rule
// and reasons share, and the slice of reasons) with every reason present.
func TestAssessAllocs(t *testing.T) {
	p := DefaultPolicy()
	in := Input{Upload: 4000 * MB, FlowCount: 500, UniqueFlows: 120, OffHours: true, BlastRadius: 12, FirstSeenDest: true, BaselineMultiple: 7.5}
	if a := Assess(p, in); len(a.Reasons) != 10 {
		t.Fatalf("%d reasons, want 10: %q", len(a.Reasons), a.Reasons)
	}
	if n := testing.AllocsPerRun(100, func() { Assess(p, in) }); n > 2 {
		t.Errorf("Assess allocates %v times, want 2", n)
	}
}
