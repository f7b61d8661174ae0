package ioc

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// name253 is a domain name of the maximum length, 253 characters.
var name253 = strings.Repeat("abcdefg.", 30) + strings.Repeat("x", 13)

func TestParseList(t *testing.T) {
	const feed = "feed.txt"
	ind := func(v string, k Kind, line int) Indicator {
		return Indicator{Value: v, Kind: k, Feed: feed, Line: line}
	}
	tests := []struct {
		name string
		in   string
		want []Indicator
	}{
		{"empty", "", nil},
		{"only comments and blanks", "# header\n\n   \n\t# indented comment\n#\n", nil},
		{
			"kinds",
			"192.0.2.1\n2001:db8::1\n198.51.100.0/24\n2001:db8:1::/48\nevil.example\n",
			[]Indicator{
				ind("192.0.2.1", KindIP, 1),
				ind("2001:db8::1", KindIP, 2),
				ind("198.51.100.0/24", KindCIDR, 3),
				ind("2001:db8:1::/48", KindCIDR, 4),
				ind("evil.example", KindDomain, 5),
			},
		},
		{
			"comments, blanks and whitespace",
			"# list\n\n  192.0.2.1  \n\t evil.example\t# C2 of family X\n198.51.100.7#no space\n   # indented\n",
			[]Indicator{
				ind("192.0.2.1", KindIP, 3),
				ind("evil.example", KindDomain, 4),
				ind("198.51.100.7", KindIP, 5),
			},
		},
		{
			"CRLF",
			"192.0.2.1\r\n\r\nevil.example\r\n# c\r\n10.0.0.0/8 # x\r\n",
			[]Indicator{
				ind("192.0.2.1", KindIP, 1),
				ind("evil.example", KindDomain, 3),
				ind("10.0.0.0/8", KindCIDR, 5),
			},
		},
		{
			"BOM",
			"\ufeff192.0.2.1\nevil.example\n",
			[]Indicator{ind("192.0.2.1", KindIP, 1), ind("evil.example", KindDomain, 2)},
		},
		{
			"BOM before comment",
			"\ufeff# comment\n192.0.2.1",
			[]Indicator{ind("192.0.2.1", KindIP, 2)},
		},
		{
			"no final newline",
			"192.0.2.1\nevil.example",
			[]Indicator{ind("192.0.2.1", KindIP, 1), ind("evil.example", KindDomain, 2)},
		},
		{
			"canonical addresses",
			"::ffff:192.0.2.1\n2001:DB8:0:0::1\n2001:0db8::0002\n",
			[]Indicator{
				ind("192.0.2.1", KindIP, 1),
				ind("2001:db8::1", KindIP, 2),
				ind("2001:db8::2", KindIP, 3),
			},
		},
		{
			"prefixes masked and unmapped",
			"192.0.2.77/24\n2001:db8::1/32\n::ffff:198.51.100.0/120\n::ffff:0:0/96\n::ffff:0:0/95\n0.0.0.0/0\n192.0.2.9/32\n",
			[]Indicator{
				ind("192.0.2.0/24", KindCIDR, 1),
				ind("2001:db8::/32", KindCIDR, 2),
				ind("198.51.100.0/24", KindCIDR, 3),
				ind("0.0.0.0/0", KindCIDR, 4),
				ind("::fffe:0:0/95", KindCIDR, 5),
				ind("192.0.2.9/32", KindCIDR, 7),
			},
		},
		{
			"domains",
			"Evil.Example.\nEVIL.example\nc2.bad-actor_1.test\nlocalhost\nxn--bcher-kva.example\n123.example\n1x\nBÜCHER.example\nXN--MNCHEN-3YA.de\nпример.рф\n",
			[]Indicator{
				ind("evil.example", KindDomain, 1),
				ind("c2.bad-actor_1.test", KindDomain, 3),
				ind("localhost", KindDomain, 4),
				ind("xn--bcher-kva.example", KindDomain, 5),
				ind("123.example", KindDomain, 6),
				ind("1x", KindDomain, 7),
				ind("xn--mnchen-3ya.de", KindDomain, 9),
				ind("xn--e1afmkfd.xn--p1ai", KindDomain, 10),
			},
		},
		{
			"duplicates keep first",
			"192.0.2.1\n192.0.2.1\n::ffff:192.0.2.1\n10.0.0.0/8\n10.1.0.0/8\nevil.example\nEVIL.EXAMPLE.\n",
			[]Indicator{
				ind("192.0.2.1", KindIP, 1),
				ind("10.0.0.0/8", KindCIDR, 4),
				ind("evil.example", KindDomain, 6),
			},
		},
		{
			"long domain limits",
			strings.Repeat("a", 63) + ".example\n" + name253 + "\n" + name253 + ".\n",
			[]Indicator{
				ind(strings.Repeat("a", 63)+".example", KindDomain, 1),
				ind(name253, KindDomain, 2),
			},
		},
		{
			"long comment line",
			"192.0.2.1 #" + strings.Repeat("x", 3*maxLineLen) + "\n" + "#" + strings.Repeat("y", maxLineLen) + "\nevil.example\n",
			[]Indicator{ind("192.0.2.1", KindIP, 1), ind("evil.example", KindDomain, 3)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseList(strings.NewReader(tt.in), feed)
			if err != nil {
				t.Fatalf("ParseList: %v", err)
			}
			got := slices.Collect(s.All())
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("indicators (-want +got):\n%s", diff)
			}
			if s.Len() != len(tt.want) {
				t.Errorf("Len() = %d, want %d", s.Len(), len(tt.want))
			}
			if s.Feed() != feed {
				t.Errorf("Feed() = %q, want %q", s.Feed(), feed)
			}
			// One byte at a time: the result must not depend on how the
			// reader splits its input.
			s2, err := ParseList(iotest.OneByteReader(strings.NewReader(tt.in)), feed)
			if err != nil {
				t.Fatalf("ParseList(OneByteReader): %v", err)
			}
			if diff := cmp.Diff(got, slices.Collect(s2.All())); diff != "" {
				t.Errorf("OneByteReader differs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseListErrors(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		line     int
		text     string
		more     int
		msg      string
		precise  bool // Err is more precise than ErrBadIndicator
		fragment string
	}{
		{name: "bad IPv4", in: "192.0.2.1\n\n300.1.1.1\n", line: 3, text: "300.1.1.1",
			msg: `ioc: feed "x.txt" line 3: bad indicator "300.1.1.1"`},
		{name: "count of bad lines", in: "# h\n1.2.3\nok.example\nbad..example\n10.0.0.0/33 # c\n", line: 2, text: "1.2.3", more: 2,
			msg: `ioc: feed "x.txt" line 2: bad indicator "1.2.3" (and 2 more bad lines)`},
		{name: "one more", in: "a b\r\n\r\n:::\r\n", line: 1, text: "a b", more: 1, precise: true,
			msg: `ioc: feed "x.txt" line 1: bad indicator "a b": unexpected character ' ' in domain name (and 1 more bad line)`},
		{name: "URL", in: "evil.example\nhttps://evil.example/x\n", line: 2, text: "https://evil.example/x", precise: true,
			msg: `ioc: feed "x.txt" line 2: bad indicator "https://evil.example/x": URLs are not supported`},
		{name: "wildcard", in: "*.evil.example", line: 1, text: "*.evil.example", precise: true, fragment: "wildcard"},
		{name: "zone", in: "fe80::1%eth0", line: 1, text: "fe80::1%eth0", precise: true, fragment: "zone"},
		{name: "non-ASCII symbol", in: "b©.example", line: 1, text: "b©.example", precise: true, fragment: "not allowed"},
		{name: "compatibility symbol", in: "b☃.example", line: 1, text: "b☃.example", precise: true, fragment: "xn-- form"},
		{name: "decomposed", in: "bu\u0308cher.example", line: 1, text: "bu\u0308cher.example", precise: true, fragment: "NFC"},
		{name: "bad A-label", in: "xn--zz.example", line: 1, text: "xn--zz.example", precise: true, fragment: "Punycode"},
		{name: "invalid UTF-8", in: "b\xffcher.example", line: 1, text: "b\xffcher.example", precise: true, fragment: "UTF-8"},
		{name: "label too long", in: strings.Repeat("a", 64) + ".example", line: 1, text: strings.Repeat("a", 64) + ".example", precise: true, fragment: "63"},
		{name: "name too long", in: name253 + "x", line: 1, text: name253 + "x", precise: true, fragment: "253"},
		{name: "empty label", in: ".evil.example", line: 1, text: ".evil.example", precise: true, fragment: "empty"},
		{name: "double trailing dot", in: "evil.example..", line: 1, text: "evil.example..", precise: true, fragment: "empty"},
		{name: "lone dot", in: ".", line: 1, text: "."},
		{name: "host and port", in: "192.0.2.1:443", line: 1, text: "192.0.2.1:443"},
		{name: "bracketed v6", in: "[2001:db8::1]", line: 1, text: "[2001:db8::1]"},
		{name: "path", in: "evil.example/x.php", line: 1, text: "evil.example/x.php"},
		{name: "leading zero", in: "010.0.0.1", line: 1, text: "010.0.0.1"},
		{name: "two tokens", in: "192.0.2.1 evil.example", line: 1, text: "192.0.2.1 evil.example", precise: true},
		{name: "BOM only at start", in: "192.0.2.1\n\ufeffevil.example", line: 2, text: "\ufeffevil.example", precise: true},
		{name: "overlong line", in: "ok.example\n" + strings.Repeat("a", 2*maxLineLen) + "\nbad!\n", line: 2,
			text: strings.Repeat("a", maxQuoted) + "...", more: 1, precise: true, fragment: "too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseList(strings.NewReader(tt.in), "x.txt")
			if err == nil {
				t.Fatalf("ParseList = %d indicators, want error", s.Len())
			}
			if s != nil {
				t.Errorf("ParseList returned a non-nil Set with an error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ParseError", err, err)
			}
			if pe.Feed != "x.txt" || pe.Line != tt.line || pe.Text != tt.text || pe.More != tt.more {
				t.Errorf("ParseError{Feed %q, Line %d, Text %q, More %d}, want {%q, %d, %q, %d}",
					pe.Feed, pe.Line, pe.Text, pe.More, "x.txt", tt.line, tt.text, tt.more)
			}
			if !errors.Is(err, ErrBadIndicator) {
				t.Errorf("errors.Is(%v, ErrBadIndicator) = false", err)
			}
			if got := pe.Err != ErrBadIndicator; got != tt.precise {
				t.Errorf("precise reason = %v (%v), want %v", got, pe.Err, tt.precise)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message\n got %s\nwant %s", err, tt.msg)
			}
			if !strings.Contains(err.Error(), tt.fragment) {
				t.Errorf("message %q does not contain %q", err, tt.fragment)
			}
		})
	}
}

func TestParseListReadError(t *testing.T) {
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("192.0.2.1\nevil.example\n"), iotest.ErrReader(boom))
	_, err := ParseList(r, "f")
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want one wrapping %v", err, boom)
	}
	if want := `ioc: feed "f" line 3: boom`; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	// An error in the middle of a line.
	r = io.MultiReader(strings.NewReader("192.0.2.1\nevil.ex"), iotest.ErrReader(boom))
	if _, err := ParseList(r, "f"); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want one wrapping %v", err, boom)
	}
}

func TestLoadListFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c2-feed.txt")
	if err := os.WriteFile(path, []byte("# c2\n192.0.2.1\nevil.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := LoadListFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Feed() != "c2-feed.txt" || s.Len() != 2 {
		t.Errorf("Feed() = %q, Len() = %d, want %q, 2", s.Feed(), s.Len(), "c2-feed.txt")
	}
	m, ok := s.LookupDomain("www.evil.example")
	if want := (Match{Indicator: "evil.example", Type: "domain", Feed: "c2-feed.txt"}); !ok || m != want {
		t.Errorf("LookupDomain = %+v, %v, want %+v", m, ok, want)
	}

	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("ok.example\nnot ok\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadListFile(bad)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Feed != "bad.txt" || pe.Line != 2 {
		t.Errorf("LoadListFile(bad) = %v, want a ParseError for bad.txt line 2", err)
	}

	_, err = LoadListFile(filepath.Join(dir, "missing.txt"))
	if !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "ioc: ") {
		t.Errorf("LoadListFile(missing) = %v, want an ioc: error wrapping ErrNotExist", err)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{0: "Kind(0)", KindIP: "ip", KindCIDR: "cidr", KindDomain: "domain", 9: "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
