package httpguard

import (
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// hop is one entry of a modelled forwarding list.
type hop struct {
	addr netip.Addr // invalid: not an address ("unknown", "_hidden", garbage, no for=)
	kind byte
}

var fuzzAddrs = []netip.Addr{
	netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.200.0.9"), // trusted
	netip.MustParseAddr("fd00::5"), // trusted
	netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("198.51.100.1"),
	netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:0:1::42"),
}

// modelClient is the rightmost-untrusted rule over a list, written
// directly on the model.
func modelClient(hops []hop) (netip.Addr, bool) {
	if len(hops) == 0 {
		return testPeer, false
	}
	for i := len(hops) - 1; i >= 0; i-- {
		h := hops[i]
		if h.addr.IsValid() && inPrefixes(testTrusted, h.addr) {
			continue
		}
		if h.addr.IsValid() {
			return h.addr, false
		}
		if i+1 < len(hops) {
			return hops[i+1].addr, true
		}
		return testPeer, true
	}
	return hops[0].addr, false
}

// render writes hops as X-Forwarded-For and Forwarded header lines, with
// the spelling choices of b.
func render(hops []hop, b []byte) (xff, fwd []string) {
	var x, f strings.Builder
	for i, h := range hops {
		c := b[i]
		if i > 0 {
			x.WriteString(",")
			f.WriteString(",")
			if c&1 != 0 {
				x.WriteString(" ")
				f.WriteString(" ")
			}
			if c&2 != 0 { // a new header line
				xff, fwd = append(xff, x.String()), append(fwd, f.String())
				x.Reset()
				f.Reset()
			}
		}
		port := ""
		if c&4 != 0 {
			port = strconv.Itoa(int(c) * 100)
		}
		if c&8 != 0 {
			f.WriteString(`by="[fd00::1]";`)
		}
		forName := [...]string{"for", "For", "FOR", "fOr"}[c>>4&3]
		switch {
		case h.addr.IsValid() && h.addr.Is4():
			v := h.addr.String()
			if port != "" {
				v += ":" + port
			}
			x.WriteString(v)
			if port != "" || c&64 != 0 {
				v = `"` + v + `"`
			}
			f.WriteString(forName + "=" + v)
		case h.addr.IsValid():
			v := "[" + h.addr.String() + "]"
			if port != "" {
				v += ":" + port
			}
			if port == "" && c&64 != 0 {
				x.WriteString(h.addr.String())
			} else {
				x.WriteString(v)
			}
			f.WriteString(forName + `="` + v + `"`)
		case h.kind == 0:
			x.WriteString("unknown")
			f.WriteString(forName + "=unknown")
		case h.kind == 1:
			x.WriteString("_hidden")
			f.WriteString(forName + "=_hidden")
		case h.kind == 2:
			x.WriteString("not an ip")
			f.WriteString(forName + `="not an ip"`)
		default:
			x.WriteString("unknown")
			f.WriteString("proto=https") // an element without for=
		}
		if c&128 != 0 {
			f.WriteString(";proto=http")
		}
	}
	return append(xff, x.String()), append(fwd, f.String())
}

// FuzzRightmostUntrusted checks both header parsers against the model on
// lists the fuzzer builds (addresses, unknowns, obfuscated and garbage
// hops, ports, quoting, parameters, case, line splits).
func FuzzRightmostUntrusted(f *testing.F) {
	f.Add([]byte{3, 0})
	f.Add([]byte{3, 0, 0, 5, 1, 0x44})
	f.Add([]byte{0x83, 0xff, 0x10, 0x03, 0x05, 0x44, 0x01, 0x02})
	f.Add([]byte{0x90, 0x00, 0x91, 0x01, 0x92, 0xc4, 0x06, 0x4f})
	f.Fuzz(func(t *testing.T, data []byte) {
		var hops []hop
		var choices []byte
		for i := 0; i+1 < len(data) && len(hops) < 32; i += 2 {
			k := data[i]
			h := hop{kind: k >> 4 & 3}
			if k&0x80 == 0 {
				h.addr = fuzzAddrs[int(k&0x0f)%len(fuzzAddrs)]
			}
			hops = append(hops, h)
			choices = append(choices, data[i+1])
		}
		xff, fwd := render(hops, choices)
		want, wantBad := modelClient(hops)
		if got, bad := clientFromXFF(xff, testTrusted, testPeer); got != want || bad != wantBad {
			t.Errorf("X-Forwarded-For %q: %v bad=%v, model %v bad=%v", xff, got, bad, want, wantBad)
		}
		if got, bad := clientFromForwarded(fwd, testTrusted, testPeer); got != want || bad != wantBad {
			t.Errorf("Forwarded %q: %v bad=%v, model %v bad=%v", fwd, got, bad, want, wantBad)
		}
	})
}

// FuzzForwardedRaw feeds arbitrary header text: the parsers never panic,
// report at most one hop per comma-separated piece, and return the peer or
// an address spelled in the header.
func FuzzForwardedRaw(f *testing.F) {
	for _, s := range []string{
		`for=192.0.2.60;proto=http;by=203.0.113.43`, `for="[2001:db8:cafe::17]:4711"`,
		`for=unknown, for=_hidden`, `for="\"x"`, `for="unterminated`, `;;,,=,for`, `for=1.2.3.4"x"`,
		"1.2.3.4, [::1]:80,unknown", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		n := 0
		forEachForwardedFor(line, func(v string, ok bool) {
			n++
			if ok && !strings.Contains(line, v) {
				t.Errorf("value %q not in %q", v, line)
			}
		})
		if n > strings.Count(line, ",")+1 {
			t.Errorf("%d hops from %d pieces", n, strings.Count(line, ",")+1)
		}
		for _, parse := range []func([]string, []netip.Prefix, netip.Addr) (netip.Addr, bool){clientFromXFF, clientFromForwarded} {
			got, _ := parse([]string{line}, testTrusted, testPeer)
			if got != testPeer {
				if !got.IsValid() {
					t.Fatalf("invalid client from %q", line)
				}
				if _, ok := findNode(line, got); !ok {
					t.Errorf("client %v not spelled in %q", got, line)
				}
			}
		}
	})
}

// findNode reports whether some substring of s parses as a.
func findNode(s string, a netip.Addr) (string, bool) {
	for i := 0; i < len(s); i++ {
		for j := i + 1; j <= len(s) && j-i <= 64; j++ {
			if b, ok := parseNode(s[i:j]); ok && b == a {
				return s[i:j], true
			}
		}
	}
	return "", false
}
