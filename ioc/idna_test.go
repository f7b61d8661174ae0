package ioc

import (
	"errors"
	"strings"
	"testing"
)

// punyVectors are samples of RFC 3492 section 7.1 (the Punycode of each,
// lower-cased) and a few usual names, checked against golang.org/x/net/idna.
var punyVectors = []struct{ in, out string }{
	{"\u0644\u064A\u0647\u0645\u0627\u0628\u062A\u0643\u0644\u0645\u0648\u0634\u0639\u0631\u0628\u064A\u061F", "egbpdaj6bu4bxfgehfvwxn"},
	{"\u4ED6\u4EEC\u4E3A\u4EC0\u4E48\u4E0D\u8BF4\u4E2D\u6587", "ihqwcrb4cv8a8dqg056pqjye"},
	{"\u4ED6\u5011\u7232\u4EC0\u9EBD\u4E0D\u8AAA\u4E2D\u6587", "ihqwctvzc91f659drss3x8bo0yb"},
	{"Pro\u010Dprost\u011Bnemluv\u00ED\u010Desky", "Proprostnemluvesky-uyb24dma41a"},
	{"3\u5E74B\u7D44\u91D1\u516B\u5148\u751F", "3B-ww4c5e180e575a65lsy2b"},
	{"\u305D\u306E\u30B9\u30D4\u30FC\u30C9\u3067", "d9juau41awczczp"},
	{"\u043F\u043E\u0447\u0435\u043C\u0443\u0436\u0435\u043E\u043D\u0438\u043D\u0435\u0433\u043E\u0432\u043E\u0440\u044F\u0442\u043F\u043E\u0440\u0443\u0441\u0441\u043A\u0438", "b1abfaaepdrnnbgefbadotcwatmq2g4l"},
	{"bücher", "bcher-kva"},
	{"münchen", "mnchen-3ya"},
	{"faß", "fa-hia"},
}

func TestPunycode(t *testing.T) {
	for _, v := range punyVectors {
		got, err := punyEncode([]rune(v.in))
		if err != nil || got != v.out {
			t.Errorf("punyEncode(%+q) = %q, %v; want %q", v.in, got, err, v.out)
		}
		dec, err := punyDecode(v.out)
		if err != nil || string(dec) != v.in {
			t.Errorf("punyDecode(%q) = %+q, %v; want %+q", v.out, string(dec), err, v.in)
		}
		// Upper-case digits decode the same.
		if dec, err := punyDecode(strings.ToUpper(v.out)); err != nil || !strings.EqualFold(string(dec), v.in) {
			t.Errorf("punyDecode(upper %q) = %+q, %v", v.out, string(dec), err)
		}
	}
	for _, bad := range []string{"zz", "a", "9999999999999999", "abc-ü", "-$", "99999999999999999999999999999999999999"} {
		if got, err := punyDecode(bad); err == nil && bad != "a" {
			t.Errorf("punyDecode(%q) = %+q, want an error", bad, string(got))
		}
	}
}

func TestCanonicalDomainIDNA(t *testing.T) {
	tests := []struct {
		in, want string
		err      string // fragment of the error, "" for none
	}{
		// Expected values from golang.org/x/net/idna (UTS #46, lookup).
		{"bücher.example", "xn--bcher-kva.example", ""},
		{"BÜCHER.Example", "xn--bcher-kva.example", ""},
		{"_dmarc.bücher.example", "_dmarc.xn--bcher-kva.example", ""},
		{"münchen.de.", "xn--mnchen-3ya.de", ""},
		{"faß.de", "xn--fa-hia.de", ""},
		{"例え.テスト", "xn--r8jz45g.xn--zckzah", ""},
		{"παράδειγμα.δοκιμή", "xn--hxajbheg2az3al.xn--jxalpdlp", ""},
		{"ΠΑΡΆΔΕΙΓΜΑ.δοκιμή", "xn--hxajbheg2az3al.xn--jxalpdlp", ""},
		{"пример.рф", "xn--e1afmkfd.xn--p1ai", ""},
		{"ＡＢＣ．example", "abc.example", ""},
		{"a。b｡c．example", "a.b.c.example", ""},
		{"Ab.\u00e9x", "ab.xn--x-9fa", ""},
		{"ς.gr", "xn--3xa.gr", ""},
		{"Σ.gr", "xn--4xa.gr", ""},
		{"ẞ.de", "ss.de", ""},
		{"xn--bcher-kva.example", "xn--bcher-kva.example", ""},
		{"XN--BCHER-KVA.example", "xn--bcher-kva.example", ""},
		{"xn--n3h.net", "xn--n3h.net", ""},      // the wire form of a symbol is accepted as it is
		{"\u212Aevil.example", "", "xn-- form"}, // Kelvin sign: a compatibility character
		{"u\u0308ber.example", "", "NFC"},
		{"\u0308ber.example", "", "NFC"},
		{"\u093Fab.example", "", "combining mark"},
		{"ǅ.com", "", "xn-- form"},
		{"ﬁ.example", "", "xn-- form"},
		{"ĳ.example", "", "xn-- form"},
		{"a©b.example", "", "not allowed"},
		{"a b.example", "", "unexpected character"},
		{"a\u200db.example", "", "xn-- form"},
		{"xn--zz.example", "", "Punycode"},
		{"xn--abc-.example", "", "decodes to ASCII"},
		{"xn--bcher-KVA.example", "xn--bcher-kva.example", ""},
		{"xn--ü.example", "", "xn--"},
		{"b\xffcher.example", "", "UTF-8"},
		{strings.Repeat("ü", 70) + ".example", "", "63"},
	}
	for _, tt := range tests {
		got, err := canonicalDomain(tt.in)
		switch {
		case tt.err == "" && (err != nil || got != tt.want):
			t.Errorf("canonicalDomain(%+q) = %q, %v; want %q", tt.in, got, err, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("canonicalDomain(%+q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
		case err != nil && !errors.Is(err, ErrBadIndicator):
			t.Errorf("canonicalDomain(%+q) error %v does not match ErrBadIndicator", tt.in, err)
		}
	}
}

func TestLookupDomainIDNA(t *testing.T) {
	s := mustParseList(t, "f", "bücher.example\nxn--e1afmkfd.xn--p1ai\n")
	for _, q := range []string{"xn--bcher-kva.example", "www.BÜCHER.example.", "a.xn--bcher-kva.example", "пример.рф", "www.ПРИМЕР.РФ", "Пример。рф"} {
		if _, ok := s.LookupDomain(q); !ok {
			t.Errorf("LookupDomain(%q) did not match", q)
		}
	}
	for _, q := range []string{"bucher.example", "xn--bcher-kva.example.org", "u\u0308ber.bücher.example", "\xff.bücher.example"} {
		if m, ok := s.LookupDomain(q); ok {
			t.Errorf("LookupDomain(%q) = %+v, want no match", q, m)
		}
	}
}
