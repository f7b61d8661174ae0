package ioc

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func FuzzParseList(f *testing.F) {
	for _, seed := range []string{
		"",
		"# comment\n\n192.0.2.1\n",
		"\ufeff10.0.0.0/8\r\nEvil.Example.\r\n",
		"2001:db8::/32 # trailing\n::ffff:192.0.2.0/120\n::ffff:0:0/96\n",
		"192.0.2.77/24\nlocalhost\n_dmarc.x-y.example\n",
		"300.1.1.1\nhttps://evil.example/\n*.evil.example\nfe80::1%eth0\n",
		"a..b\n.\n..\n1.2.3\n[::1]\n1.2.3.4:80\n",
		"0.0.0.0/0\n::/0\n192.0.2.1/32\n2001:db8::1/128\n",
		strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, list string) {
		s, err := ParseList(strings.NewReader(list), "fuzz")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrBadIndicator) {
				t.Fatalf("error %v (%T) is not a bad-indicator *ParseError", err, err)
			}
			if pe.Line < 1 || pe.Line > strings.Count(list, "\n")+1 || pe.More < 0 || !strings.HasPrefix(err.Error(), "ioc: feed \"fuzz\" line ") {
				t.Fatalf("implausible ParseError %+v: %v", pe, err)
			}
			return
		}
		ref := &refSet{}
		var inds []Indicator
		for ind := range s.All() {
			ref.inds = append(ref.inds, ind)
			inds = append(inds, Indicator{Value: ind.Value, Kind: ind.Kind})
		}
		if n := NewSet("fuzz", inds).Len(); n != s.Len() {
			t.Fatalf("NewSet of the canonical indicators has %d, want %d", n, s.Len())
		}
		for _, ind := range ref.inds {
			// Canonical values are fixed points of canonicalisation.
			if c, err := canonicalize(Indicator{Value: ind.Value}); err != nil || c.Value != ind.Value || c.Kind != ind.Kind {
				t.Fatalf("canonicalize(%q) = %+v, %v; want itself, %v", ind.Value, c, err, ind.Kind)
			}
			if ind.Feed != "fuzz" || ind.Line < 1 {
				t.Fatalf("indicator %+v: bad feed or line", ind)
			}
			// Every indicator matches itself, agreeing with the reference.
			switch ind.Kind {
			case KindIP:
				a := netip.MustParseAddr(ind.Value)
				m, ok := s.LookupAddr(a)
				if !ok || m.Indicator != ind.Value || m.Type != "ip" {
					t.Fatalf("LookupAddr(%s) = %+v, %v; want itself", a, m, ok)
				}
			case KindCIDR:
				p := netip.MustParsePrefix(ind.Value)
				for _, a := range []netip.Addr{p.Addr(), lastAddr(p)} {
					m, ok := s.LookupAddr(a)
					want, _ := ref.LookupAddr(a)
					// An IPv6 prefix does not match the IPv4-mapped
					// addresses it covers: they are looked up as IPv4.
					if m != want || !ok && !a.Is4In6() {
						t.Fatalf("LookupAddr(%s) = %+v, %v; want %+v", a, m, ok, want)
					}
					if m.Type == "cidr" && netip.MustParsePrefix(m.Indicator).Bits() < p.Bits() {
						t.Fatalf("LookupAddr(%s) = %+v, shorter than %s", a, m, p)
					}
				}
			case KindDomain:
				for _, q := range []string{ind.Value, strings.ToUpper(ind.Value) + ".", "x." + ind.Value, "x" + ind.Value} {
					m, ok := s.LookupDomain(q)
					want, wok := ref.LookupDomain(q)
					if m != want || ok != wok {
						t.Fatalf("LookupDomain(%q) = %+v, %v; want %+v, %v", q, m, ok, want, wok)
					}
				}
				if m, ok := s.LookupDomain(ind.Value); !ok || m.Indicator != ind.Value {
					t.Fatalf("LookupDomain(%q) = %+v, %v; want itself", ind.Value, m, ok)
				}
			default:
				t.Fatalf("indicator %+v has an invalid kind", ind)
			}
		}
	})
}

// lastAddr returns the last address of the masked prefix p.
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	for i := p.Bits(); i < len(b)*8; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// FuzzLookup compares lookups of arbitrary queries (untrusted SNI, host
// names and addresses) with the reference implementation.
func FuzzLookup(f *testing.F) {
	list := "192.0.2.0/24\n192.0.2.1\n2001:db8::/32\n::ffff:198.51.100.0/120\nevil.example\nc2.other.example\nbad\n"
	for _, q := range []string{
		"evil.example", "A.EVIL.EXAMPLE.", "notevil.example", "x.c2.other.example", "other.example",
		"very.bad", "192.0.2.9", "::ffff:192.0.2.1", "2001:db8::1%eth0", "198.51.100.7", "", ".", "..",
		"a..evil.example", "evil.example..", "\u212Aevil.example", strings.Repeat("a.", 130) + "bad",
	} {
		f.Add(list, q)
	}
	f.Fuzz(func(t *testing.T, list, query string) {
		s, err := ParseList(strings.NewReader(list), "fuzz")
		if err != nil {
			return
		}
		ref := &refSet{}
		for ind := range s.All() {
			ref.inds = append(ref.inds, ind)
		}
		m, ok := s.LookupDomain(query)
		want, wok := ref.LookupDomain(query)
		q := strings.TrimSuffix(query, ".")
		if !isASCII(q) {
			q, _ = toALabels(q)
		}
		if len(q) > maxDomainLen {
			want, wok = Match{}, false // too long to be a domain name
		}
		if m != want || ok != wok {
			t.Fatalf("LookupDomain(%q) = %+v, %v; want %+v, %v", query, m, ok, want, wok)
		}
		if a, err := netip.ParseAddr(query); err == nil {
			m, ok := s.LookupAddr(a)
			want, wok := ref.LookupAddr(a)
			if m != want || ok != wok {
				t.Fatalf("LookupAddr(%s) = %+v, %v; want %+v, %v", a, m, ok, want, wok)
			}
		}
	})
}

// checkParsed checks a parsed set against the reference: every indicator
// is canonical, and looking each one up at the edges of its validity gives
// what the reference gives.
func checkParsed(t *testing.T, s *Set, err error) {
	t.Helper()
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Line < 0 || pe.More < 0 || !strings.HasPrefix(err.Error(), `ioc: feed "fuzz"`) {
			t.Fatalf("error %v (%T) is not a plausible *ParseError", err, err)
		}
		return
	}
	ref := &refSet{}
	for ind := range s.All() {
		ref.inds = append(ref.inds, ind)
	}
	for _, sk := range s.Skipped() {
		if sk.Count < 1 || sk.Reason == "" {
			t.Fatalf("implausible skip %+v", sk)
		}
	}
	for _, ind := range ref.inds {
		if c, err := canonicalize(Indicator{Value: ind.Value, Kind: ind.Kind}); err != nil || c.Value != ind.Value {
			t.Fatalf("indicator %+v is not canonical: %+v, %v", ind, c, err)
		}
		if err := checkMeta(&ind); err != nil || ind.Feed != "fuzz" {
			t.Fatalf("indicator %+v: %v", ind, err)
		}
		times := []time.Time{{}, ind.ValidFrom, ind.ValidUntil}
		if !ind.ValidUntil.IsZero() {
			times = append(times, ind.ValidUntil.Add(-time.Microsecond))
		}
		for _, at := range times {
			var got, want Match
			var ok, wok bool
			switch ind.Kind {
			case KindIP, KindCIDR:
				a := netip.MustParsePrefix(strings.Split(ind.Value+"/128", "/")[0] + "/0").Addr()
				got, ok = s.LookupAddrAt(a, at)
				want, wok = ref.LookupAddrAt(a, at)
			default:
				got, ok = s.LookupDomainAt(ind.Value, at)
				want, wok = ref.LookupDomainAt(ind.Value, at)
			}
			if got != want || ok != wok {
				t.Fatalf("lookup of %q at %v = %+v, %v; reference %+v, %v", ind.Value, at, got, ok, want, wok)
			}
			if at.IsZero() && !ok {
				t.Fatalf("indicator %q does not match itself", ind.Value)
			}
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	for _, seed := range []string{
		"", "indicator\n192.0.2.1\n", threatFoxLike,
		"indicator,type,malware,threat_actor,confidence,valid_from,valid_until\n192.0.2.0/24,cidr,A,B,0.5,2024-01-01,2024-02-01T00:00:00Z\n",
		"# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n2024-01-10 08:00:00,192.0.2.77,443,online,2024-05-30,Dridex\n",
		"value\ttype\nx.example|192.0.2.1\tdomain|ip\n[2001:db8::1]:443\tip:port\nhttps://bücher.example/x\turl\n",
		"indicator,type\n\"a\"b,ip\n", "indicator;confidence\n1.2.3.4;101\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseCSV(strings.NewReader(in), "fuzz", WithExpireAfter(time.Hour))
		checkParsed(t, s, err)
	})
}

func FuzzParseSTIX(f *testing.F) {
	for _, seed := range []string{
		stixBundle, "[]", `{"objects":[]}`,
		`[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '192.0.2.1' OR url:value = 'http://x.example:1/']","valid_from":"2024-01-01T00:00:00Z","valid_until":"2024-02-01T00:00:00.5Z","confidence":7}]`,
		`[{"type":"indicator","id":"indicator--1","pattern":"[domain-name:value IN ('a.example','b.example')] OR ([ipv6-addr:value ISSUBSET '2001:db8::/32'] AND [x:y = 1])"},{"type":"relationship","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"malware--1"},{"type":"malware","id":"malware--1","name":"M"}]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSTIX(strings.NewReader(in), "fuzz")
		checkParsed(t, s, err)
	})
}

func FuzzParseMISP(f *testing.F) {
	for _, seed := range []string{
		mispEventJSON, `{"response":[]}`, `[{"Event":{"Attribute":[{"type":"domain|ip","value":"a.example|192.0.2.1","to_ids":"1"}]}}]`,
		`{"Event":{"Tag":[{"name":"misp-galaxy:threat-actor=\"X\""}],"Object":[{"Attribute":[{"uuid":"u","type":"ip-dst|port","value":"2001:db8::1|80","to_ids":true,"timestamp":1700000000}]}]}}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseMISP(strings.NewReader(in), "fuzz", WithExpireAfter(time.Hour))
		checkParsed(t, s, err)
	})
}

// FuzzParse feeds anything to the format detection and the parser it
// picks.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{"192.0.2.1\n", threatFoxLike, stixBundle, mispEventJSON, "{", "[", "#,\n"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(strings.NewReader(in), "fuzz")
		checkParsed(t, s, err)
	})
}

func FuzzSTIXPattern(f *testing.F) {
	for _, seed := range []string{
		"[ipv4-addr:value = '192.0.2.1']", "[a:b = 'x' OR (c:d IN ('1', '2') AND e:f[*].'g h' != t'2024-01-01T00:00:00Z')] WITHIN 5 SECONDS",
		"([x:y = h'ff'] FOLLOWEDBY [z:w MATCHES '^a']) REPEATS 3 TIMES START t'a' STOP t'b'", "[EXISTS a:b]", "[a:b NOT <= -1.5]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, pattern string) {
		r, ignored, err := parsePattern(pattern)
		r2, ignored2, err2 := parsePattern(pattern)
		if (err == nil) != (err2 == nil) || len(r.atoms) != len(r2.atoms) || ignored != ignored2 {
			t.Fatal("parsePattern is not deterministic")
		}
		if err != nil {
			return
		}
		if len(r.atoms) == 0 && (r.why == "" || ignored != 0) {
			t.Fatalf("no atoms and no reason: %+v, %d", r, ignored)
		}
		for _, a := range r.atoms {
			if ind, err := stixValue(a); err == nil {
				if c, err := canonicalize(ind); err != nil || c.Value != ind.Value {
					t.Fatalf("stixValue(%+v) = %+v, not canonical", a, ind)
				}
			}
		}
	})
}

func FuzzPunycode(f *testing.F) {
	for _, v := range punyVectors {
		f.Add(v.in)
		f.Add(v.out)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if utf8.ValidString(s) && utf8.RuneCountInString(s) <= maxPunyInput {
			enc, err := punyEncode([]rune(s))
			if err != nil {
				t.Fatalf("punyEncode(%+q): %v", s, err)
			}
			dec, err := punyDecode(enc)
			if err != nil || string(dec) != s {
				t.Fatalf("punyDecode(punyEncode(%+q) = %q) = %+q, %v", s, enc, string(dec), err)
			}
		}
		if dec, err := punyDecode(s); err == nil && utf8.ValidString(string(dec)) {
			enc, err := punyEncode(dec)
			if err != nil {
				return // decoded to more runes than a label may hold
			}
			if again, err := punyDecode(enc); err != nil || string(again) != string(dec) {
				t.Fatalf("round trip of %q: %q -> %+q, %v", s, enc, string(again), err)
			}
		}
		// Names: the conversion never panics and gives ASCII.
		if a, err := toALabels(s); err == nil && !isASCII(a) {
			t.Fatalf("toALabels(%+q) = %q, not ASCII", s, a)
		}
	})
}
