package ioc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDetectFormat(t *testing.T) {
	tests := []struct {
		head string
		want Format
	}{
		{"", FormatList},
		{"# c2\n192.0.2.1\nevil.example\n", FormatList},
		{"\ufeff192.0.2.1\n", FormatList},
		{"indicator,type\n192.0.2.1,ip\n", FormatCSV},
		{"# comment\n\n\"2024-01-01\", \"1\", \"192.0.2.1:80\"\n", FormatCSV},
		{"value\ttype\n", FormatCSV},
		{"a;b\n", FormatCSV},
		{"# \"first_seen_utc\",\"ioc_id\",\"ioc_value\"\n#\n", FormatCSV}, // an empty abuse.ch export
		{"#\n# ThreatFox export\n", FormatList},
		{threatFoxLike, FormatCSV},
		{stixBundle, FormatSTIX},
		{`  {"objects":[]}`, FormatSTIX},
		{`[{"type":"indicator"}]`, FormatSTIX},
		{mispEventJSON, FormatMISP},
		{"\ufeff" + `{"response":[]}`, FormatMISP},
		{`[{"Event":{}}]`, FormatMISP},
		{`{"Event"`, FormatMISP}, // truncated head
		{`{`, FormatSTIX},
	}
	for _, tt := range tests {
		if got := DetectFormat([]byte(tt.head)); got != tt.want {
			t.Errorf("DetectFormat(%.40q) = %v, want %v", tt.head, got, tt.want)
		}
	}
}

func TestFormatNames(t *testing.T) {
	for _, f := range []Format{FormatAuto, FormatList, FormatCSV, FormatSTIX, FormatMISP} {
		if g, err := ParseFormat(strings.ToUpper(f.String())); err != nil || g != f {
			t.Errorf("ParseFormat(%q) = %v, %v", f, g, err)
		}
	}
	if _, err := ParseFormat("yaml"); err == nil || !strings.Contains(err.Error(), "list, csv, stix, misp") {
		t.Errorf("ParseFormat(yaml) error = %v", err)
	}
	if s := Format(9).String(); s != "Format(9)" {
		t.Errorf("Format(9).String() = %q", s)
	}
	for spec, want := range map[string]struct {
		f    Format
		path string
	}{
		"stix:intel/b.json":  {FormatSTIX, "intel/b.json"},
		"CSV:/x:y.csv":       {FormatCSV, "/x:y.csv"},
		"list:f":             {FormatList, "f"},
		"misp:e.json":        {FormatMISP, "e.json"},
		"auto:x":             {FormatAuto, "auto:x"},
		"C:\\feeds\\x.txt":   {FormatAuto, "C:\\feeds\\x.txt"},
		"/etc/ioc/feed.txt":  {FormatAuto, "/etc/ioc/feed.txt"},
		"stix:":              {FormatAuto, "stix:"},
		"relative:stix.json": {FormatAuto, "relative:stix.json"},
	} {
		if f, path := SplitSpec(spec); f != want.f || path != want.path {
			t.Errorf("SplitSpec(%q) = %v, %q; want %v, %q", spec, f, path, want.f, want.path)
		}
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := map[string]struct {
		content string
		format  Format
		n       int
	}{
		"list.txt":   {"192.0.2.1\nevil.example\n", FormatList, 2},
		"tf.csv":     {threatFoxLike, FormatCSV, 4},
		"bundle.any": {stixBundle, FormatSTIX, 9},
		"event.json": {mispEventJSON, FormatMISP, 9},
	}
	for name, f := range files {
		p := write(name, f.content)
		s, err := Load(p)
		if err != nil {
			t.Errorf("Load(%s): %v", name, err)
			continue
		}
		if s.Format() != f.format || s.Len() != f.n || s.Feed() != name {
			t.Errorf("Load(%s) = %v format, %d indicators, feed %q; want %v, %d", name, s.Format(), s.Len(), s.Feed(), f.format, f.n)
		}
	}
	// Forced format and feed name.
	p := write("odd.dat", "indicator\n192.0.2.1\n")
	if s, err := Load(p, WithFormat(FormatCSV), WithFeedName("vendor")); err != nil || s.Len() != 1 || s.Feed() != "vendor" {
		t.Errorf("forced CSV: %v, %v", s, err)
	}
	// The same content as a list fails: "indicator" is a domain, but
	// forcing STIX on a list fails with the file named.
	_, err := Load(p, WithFormat(FormatSTIX))
	var pe *ParseError
	if !errors.As(err, &pe) || pe.File != p || !strings.HasPrefix(err.Error(), "ioc: file \""+p+"\"") {
		t.Errorf("forced STIX on a CSV: %v", err)
	}
	bad := write("bad.txt", "192.0.2.1\n300.1.1.1\n")
	_, err = Load(bad, WithFeedName("blocklist"))
	if want := `ioc: file "` + bad + `" (feed "blocklist") line 2: bad indicator "300.1.1.1"`; err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant %s", err, want)
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v", err)
	}
	if _, err := Load(p, WithFormat(Format(42))); err == nil {
		t.Error("Load with an unknown format succeeded")
	}
	for _, o := range []Option{WithCSVComma('"'), WithExpireAfter(-1), WithPollInterval(0)} {
		if _, err := Load(p, o); err == nil {
			t.Error("Load with a bad option succeeded")
		}
	}
	// Parse detects too.
	s, err := Parse(strings.NewReader(stixBundle), "b")
	if err != nil || s.Format() != FormatSTIX {
		t.Errorf("Parse = %v, %v", s.Format(), err)
	}
}
