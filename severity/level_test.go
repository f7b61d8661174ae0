package severity

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestLevelString(t *testing.T) {
	tests := []struct {
		l    Level
		want string
	}{
		{None, "none"}, {Low, "low"}, {Medium, "medium"}, {High, "high"}, {Critical, "critical"},
		{5, "Level(5)"}, {255, "Level(255)"},
	}
	for _, tt := range tests {
		if got := tt.l.String(); got != tt.want {
			t.Errorf("Level(%d).String() = %q, want %q", uint8(tt.l), got, tt.want)
		}
		if got := tt.l.IsValid(); got != (tt.l <= Critical) {
			t.Errorf("Level(%d).IsValid() = %v", uint8(tt.l), got)
		}
	}
	if !(None < Low && Low < Medium && Medium < High && High < Critical) {
		t.Error("levels are not ordered")
	}
}

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in      string
		want    Level
		wantErr string
	}{
		{"none", None, ""},
		{"low", Low, ""},
		{"Medium", Medium, ""},
		{"HIGH", High, ""},
		{"cRiTiCaL", Critical, ""},
		{"", None, `severity: unknown level ""`},
		{"x", None, `severity: unknown level "x"`},
		{" high", None, `severity: unknown level " high"`},
		{"high ", None, `severity: unknown level "high "`},
		{"Level(5)", None, `severity: unknown level "Level(5)"`},
		{"crit", None, `severity: unknown level "crit"`},
		{"critical\x00", None, `severity: unknown level "critical\x00"`},
		{strings.Repeat("a", 100), None, `severity: unknown level "` + strings.Repeat("a", 64) + `..."`},
	}
	for _, tt := range tests {
		got, err := ParseLevel(tt.in)
		if tt.wantErr == "" {
			if err != nil || got != tt.want {
				t.Errorf("ParseLevel(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if MustParseLevel(tt.in) != tt.want {
				t.Errorf("MustParseLevel(%q) != %v", tt.in, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("ParseLevel(%q) = %v, nil; want error %q", tt.in, got, tt.wantErr)
			continue
		}
		if err.Error() != tt.wantErr {
			t.Errorf("ParseLevel(%q) error = %q, want %q", tt.in, err, tt.wantErr)
		}
		var ule *UnknownLevelError
		if !errors.Is(err, ErrUnknownLevel) || !errors.As(err, &ule) || ule.Input != tt.in {
			t.Errorf("ParseLevel(%q) error %v does not match ErrUnknownLevel / UnknownLevelError{%q}", tt.in, err, tt.in)
		}
	}
}

func TestMustParseLevelPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParseLevel(\"bogus\") did not panic")
		}
	}()
	MustParseLevel("bogus")
}

func TestLevelText(t *testing.T) {
	type doc struct {
		Severity Level `json:"severity"`
	}
	for l := None; l <= Critical; l++ {
		b, err := json.Marshal(doc{l})
		if err != nil {
			t.Fatalf("Marshal(%v): %v", l, err)
		}
		if want := `{"severity":"` + l.String() + `"}`; string(b) != want {
			t.Errorf("Marshal(%v) = %s, want %s", l, b, want)
		}
		var back doc
		if err := json.Unmarshal(b, &back); err != nil || back.Severity != l {
			t.Errorf("Unmarshal(%s) = %v, %v", b, back.Severity, err)
		}
		if got, err := l.AppendText([]byte("x=")); err != nil || string(got) != "x="+l.String() {
			t.Errorf("AppendText(%v) = %q, %v", l, got, err)
		}
	}
	if _, err := json.Marshal(doc{7}); !errors.Is(err, ErrUnknownLevel) {
		t.Errorf("Marshal(Level(7)) error = %v, want ErrUnknownLevel", err)
	}
	if b, err := Level(9).AppendText([]byte("keep")); err == nil || string(b) != "keep" {
		t.Errorf("Level(9).AppendText = %q, %v; want unchanged buffer and an error", b, err)
	}
	l := High
	if err := l.UnmarshalText([]byte("severe")); err == nil || err.Error() != `severity: unknown level "severe"` || l != High {
		t.Errorf("UnmarshalText(severe) = %v, level %v; want error and level unchanged", err, l)
	}
	var d doc
	if err := json.Unmarshal([]byte(`{"severity":"Critical"}`), &d); err != nil || d.Severity != Critical {
		t.Errorf("Unmarshal Critical = %v, %v", d.Severity, err)
	}
}
