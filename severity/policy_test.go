package severity

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestEvaluateDefaultBoundaries(t *testing.T) {
	p := DefaultPolicy()
	const max = math.MaxUint64
	tests := []struct {
		name      string
		up, down  uint64
		wantLevel Level
		wantIndex int
	}{
		{"nothing", 0, 0, None, -1},
		{"1MB at 2:1 is low", MB, MB / 2, Low, 0},
		{"1MB-1 at 2:1 is none", MB - 1, (MB - 1) / 2, None, -1},
		{"1MB-1 with no download is none", MB - 1, 0, None, -1},
		{"exactly 2:1 is low", 4 * MB, 2 * MB, Low, 0},
		{"2:1 minus one byte is none", 4*MB - 1, 2 * MB, None, -1},
		{"just below 2:1 at 100MB is none", 200*MB - 1, 100 * MB, None, -1},
		{"10MB at 2:1 is medium", 10 * MB, 5 * MB, Medium, 0},
		{"10MB-1 at 2:1 is low", 10*MB - 1, 5 * MB / 2, Low, 0},
		{"5:1 and 10MB is high", 10 * MB, 2 * MB, High, 0},
		{"5:1 minus one byte and 10MB is medium", 10 * MB, 2*MB + 1, Medium, 0},
		{"5:1 and 10MB-1 is low", 10*MB - 1, 2 * MB, Low, 0},
		{"2:1 and 100MB is high via second rule", 100 * MB, 50 * MB, High, 1},
		{"100MB-1 just below 2:1 is none", 100*MB - 1, 50 * MB, None, -1},
		{"2:1 exactly and 100MB-2 is medium", 100*MB - 2, 50*MB - 1, Medium, 0},
		{"10:1 and 100MB is critical", 100 * MB, 10 * MB, Critical, 0},
		{"10:1 and 100MB-1 is high via 5:1", 100*MB - 1, (100*MB - 1) / 10, High, 0},
		{"10:1 minus one byte and 100MB is high", 100*MB - 1 + 1, 10*MB + 1, High, 0},
		{"download 0 and 100MB is critical", 100 * MB, 0, Critical, 0},
		{"download 0 and 1MB is low", MB, 0, Low, 0},
		{"download 0 and 10MB is high", 10 * MB, 0, High, 0},
		{"max upload, no download", max, 0, Critical, 0},
		{"max upload and max download", max, max, None, -1},
		{"max upload, download max/10", max, max / 10, Critical, 0},
		{"max upload, download max/10+1", max, max/10 + 1, High, 0},
		{"max upload, download max/2", max, max / 2, High, 1},
		{"max upload, download max/2+1", max, max/2 + 1, None, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, i := Evaluate(&p, tt.up, tt.down)
			if l != tt.wantLevel || i != tt.wantIndex {
				t.Errorf("Evaluate(%d, %d) = %v, %d; want %v, %d", tt.up, tt.down, l, i, tt.wantLevel, tt.wantIndex)
			}
			if rl, ri := slowEvaluate(&p, tt.up, tt.down); rl != l || ri != i {
				t.Errorf("reference gives %v, %d", rl, ri)
			}
		})
	}
}

func TestRuleMatchesOverflow(t *testing.T) {
	const max = math.MaxUint64
	tests := []struct {
		r        Rule
		up, down uint64
		want     bool
	}{
		{Rule{Ratio: max, MinUploadBytes: 1}, max, 1, true},
		{Rule{Ratio: max, MinUploadBytes: 1}, max, 2, false}, // product 2^65-2 wraps to max-1 in 64 bits
		{Rule{Ratio: 2, MinUploadBytes: 1}, max, 1 << 63, false},
		{Rule{Ratio: 2, MinUploadBytes: 1}, max, 1<<63 - 1, true},
		{Rule{Ratio: 1 << 32, MinUploadBytes: 1}, max, 1 << 32, false}, // product 2^64 wraps to 0
		{Rule{Ratio: 1, MinUploadBytes: max}, max, max, true},
		{Rule{Ratio: 1, MinUploadBytes: max}, max - 1, 0, false},
		{Rule{Ratio: 0, MinUploadBytes: 0}, 0, max, true},
	}
	for _, tt := range tests {
		if got := tt.r.Matches(tt.up, tt.down); got != tt.want {
			t.Errorf("%v.Matches(%d, %d) = %v, want %v", tt.r, tt.up, tt.down, got, tt.want)
		}
		if got := slowMatches(tt.r, tt.up, tt.down); got != tt.want {
			t.Errorf("reference %v.Matches(%d, %d) = %v, want %v", tt.r, tt.up, tt.down, got, tt.want)
		}
	}
}

// randPolicy returns a random valid ladder.
func randPolicy(r *rand.Rand) Policy {
	var p Policy
	low := make([]Rule, 1+r.IntN(3))
	for i := range low {
		low[i] = Rule{Ratio: 1 + r.Uint64N(20), MinUploadBytes: max(1, randUint64(r)>>r.UintN(64))}
	}
	p.Low = low
	below := low
	for l := Medium; l <= Critical; l++ {
		if r.IntN(6) == 0 {
			break // leave the upper rungs empty
		}
		rs := make([]Rule, 1+r.IntN(3))
		for i := range rs {
			s := below[r.IntN(len(below))]
			rs[i] = Rule{Ratio: s.Ratio + r.Uint64N(10), MinUploadBytes: s.MinUploadBytes + r.Uint64N(math.MaxUint64-s.MinUploadBytes+1)>>r.UintN(64)}
		}
		p.setRules(l, rs)
		below = rs
	}
	return p
}

func TestEvaluateAgainstReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		p := randPolicy(r)
		if err := p.Validate(); err != nil {
			t.Fatalf("randPolicy made an invalid policy %+v: %v", p, err)
		}
		for range 20 {
			up, down := randUint64(r), randUint64(r)
			l, i := Evaluate(&p, up, down)
			if rl, ri := slowEvaluate(&p, up, down); rl != l || ri != i {
				t.Fatalf("Evaluate(%+v, %d, %d) = %v, %d; reference %v, %d", p, up, down, l, i, rl, ri)
			}
			// A valid ladder is monotone: a flow meeting a rung meets every rung below.
			for below := l - 1; l > None && below >= Low; below-- {
				met := false
				for _, rule := range p.rules(below) {
					met = met || rule.Matches(up, down)
				}
				if !met {
					t.Fatalf("policy %+v: (%d, %d) is %v but meets no %v rule", p, up, down, l, below)
				}
			}
		}
	}
}

func TestEvaluateAllocs(t *testing.T) {
	p := DefaultPolicy()
	var sink Level
	if n := testing.AllocsPerRun(1000, func() {
		l, _ := Evaluate(&p, 120*MB, 3*MB)
		sink += l
		l, _ = Evaluate(&p, 1, 3*MB)
		sink += l
	}); n != 0 {
		t.Errorf("Evaluate allocates %v times per run, want 0", n)
	}
	_ = sink
}

func TestDefaultPolicy(t *testing.T) {
	p := DefaultPolicy()
	if err := p.Validate(); err != nil {
		t.Fatalf("DefaultPolicy().Validate() = %v", err)
	}
	got := []string{}
	for l := Critical; l >= Low; l-- {
		for _, r := range p.rules(l) {
			got = append(got, l.String()+": "+r.String())
		}
	}
	want := "critical: ratio>=10:1 and upload>=100MB|high: ratio>=5:1 and upload>=10MB|high: ratio>=2:1 and upload>=100MB|" +
		"medium: ratio>=2:1 and upload>=10MB|low: ratio>=2:1 and upload>=1MB"
	if s := strings.Join(got, "|"); s != want {
		t.Errorf("DefaultPolicy rules:\n got %s\nwant %s", s, want)
	}
	// Fresh slices: changing one copy leaves the next untouched.
	p.Low[0].Ratio = 99
	if DefaultPolicy().Low[0].Ratio != 2 {
		t.Error("DefaultPolicy shares its slices between calls")
	}
}

func TestRuleString(t *testing.T) {
	tests := []struct {
		r    Rule
		want string
	}{
		{Rule{Ratio: 10, MinUploadBytes: 100 * MB}, "ratio>=10:1 and upload>=100MB"},
		{Rule{Ratio: 1, MinUploadBytes: 1500}, "ratio>=1:1 and upload>=1500B"},
		{Rule{Ratio: 3, MinUploadBytes: 512 << 10}, "ratio>=3:1 and upload>=512KB"},
		{Rule{Ratio: 3, MinUploadBytes: 1024 * MB}, "ratio>=3:1 and upload>=1GB"},
		{Rule{Ratio: 3, MinUploadBytes: 1025 * MB}, "ratio>=3:1 and upload>=1025MB"},
		{Rule{Ratio: 3, MinUploadBytes: 5 << 40}, "ratio>=3:1 and upload>=5TB"},
		{Rule{Ratio: 0, MinUploadBytes: 0}, "ratio>=0:1 and upload>=0B"},
		{Rule{Ratio: math.MaxUint64, MinUploadBytes: math.MaxUint64}, "ratio>=18446744073709551615:1 and upload>=18446744073709551615B"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	low := []Rule{{Ratio: 2, MinUploadBytes: MB}}
	many := make([]Rule, MaxRulesPerLevel+1)
	for i := range many {
		many[i] = Rule{Ratio: 2, MinUploadBytes: MB}
	}
	tests := []struct {
		name string
		p    Policy
		want []string // one message per problem, in order; nil means valid
	}{
		{"default", DefaultPolicy(), nil},
		{"low only", Policy{Low: low}, nil},
		{"equal rungs", Policy{Critical: low, High: low, Medium: low, Low: low}, nil},
		{"max rules", Policy{Low: many[:MaxRulesPerLevel]}, nil},
		{"zero policy", Policy{}, []string{
			`severity: invalid policy: low: at least one rule is required`}},
		{"ratio 0", Policy{Low: []Rule{{Ratio: 2, MinUploadBytes: 1}, {Ratio: 0, MinUploadBytes: 5}}}, []string{
			`severity: invalid policy: low rule 1: ratio 0: must be at least 1`}},
		{"min upload 0", Policy{Medium: []Rule{{Ratio: 2, MinUploadBytes: 0}}, Low: []Rule{{Ratio: 1, MinUploadBytes: 0}}}, []string{
			`severity: invalid policy: medium rule 0: min_upload_bytes 0: must be at least 1`,
			`severity: invalid policy: low rule 0: min_upload_bytes 0: must be at least 1`}},
		{"too many rules", Policy{Low: many}, []string{
			`severity: invalid policy: low: 65 rules, at most 64 allowed`}},
		{"critical easier in volume", Policy{Critical: []Rule{{Ratio: 10, MinUploadBytes: MB}}, High: []Rule{{Ratio: 5, MinUploadBytes: 10 * MB}},
			Medium: low, Low: low}, []string{
			`severity: invalid policy: critical rule 0: ratio>=10:1 and upload>=1MB: easier than the high rung: no high rule has ratio <= 10 and min_upload_bytes <= 1048576`}},
		{"high easier in ratio", Policy{High: []Rule{{Ratio: 5, MinUploadBytes: 10 * MB}, {Ratio: 1, MinUploadBytes: 100 * MB}},
			Medium: []Rule{{Ratio: 2, MinUploadBytes: 10 * MB}}, Low: low}, []string{
			`severity: invalid policy: high rule 1: ratio>=1:1 and upload>=100MB: easier than the medium rung: no medium rule has ratio <= 1 and min_upload_bytes <= 104857600`}},
		{"gap in the ladder", Policy{Critical: low, Low: low}, []string{
			`severity: invalid policy: critical rule 0: ratio>=2:1 and upload>=1MB: easier than the high rung: no high rule has ratio <= 2 and min_upload_bytes <= 1048576`}},
		{"each rule covered by a different lower rule", Policy{
			Medium: []Rule{{Ratio: 10, MinUploadBytes: 1 * MB}, {Ratio: 2, MinUploadBytes: 100 * MB}},
			Low:    []Rule{{Ratio: 2, MinUploadBytes: 50 * MB}, {Ratio: 8, MinUploadBytes: 1 * MB}}}, nil},
		{"incomparable rule", Policy{
			Medium: []Rule{{Ratio: 3, MinUploadBytes: 2 * MB}},
			Low:    []Rule{{Ratio: 2, MinUploadBytes: 50 * MB}, {Ratio: 8, MinUploadBytes: 1 * MB}}}, []string{
			`severity: invalid policy: medium rule 0: ratio>=3:1 and upload>=2MB: easier than the low rung: no low rule has ratio <= 3 and min_upload_bytes <= 2097152`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.p.Validate()
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %q", tt.want)
			}
			if !errors.Is(err, ErrInvalidPolicy) {
				t.Errorf("errors.Is(%v, ErrInvalidPolicy) = false", err)
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Errorf("errors.As(%v, *PolicyError) = false", err)
			}
			if got, want := err.Error(), strings.Join(tt.want, "\n"); got != want {
				t.Errorf("Validate() =\n%s\nwant\n%s", got, want)
			}
		})
	}
}
