package httpguard

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

var (
	testTrusted = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	testPeer    = netip.MustParseAddr("10.9.9.9")
)

func TestParseNode(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":                 "192.0.2.1",
		" 192.0.2.1 ":               "192.0.2.1",
		"192.0.2.1:8080":            "192.0.2.1",
		"[2001:db8::1]":             "2001:db8::1",
		"[2001:db8::1]:443":         "2001:db8::1",
		"2001:db8::1":               "2001:db8::1",
		"::ffff:192.0.2.7":          "192.0.2.7",
		"[::ffff:192.0.2.7]:1":      "192.0.2.7",
		"fe80::1%eth0":              "fe80::1",
		"unknown":                   "",
		"_hidden":                   "",
		"192.0.2.1:http":            "",
		"192.0.2.1:99999":           "",
		"[2001:db8::1":              "",
		"example.com":               "",
		"":                          "",
		"1.2.3":                     "",
		"[192.0.2.1]:80":            "192.0.2.1",
		"2001:db8::1:80:1:2:3:4:5:": "",
	} {
		a, ok := parseNode(in)
		got := ""
		if ok {
			got = a.String()
		}
		if got != want {
			t.Errorf("parseNode(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRightmostUntrusted(t *testing.T) {
	for _, tc := range []struct {
		xff, fwd []string
		want     string
		bad      bool
	}{
		{nil, nil, "10.9.9.9", false}, // no header: the proxy itself
		{[]string{"203.0.113.7"}, []string{"for=203.0.113.7"}, "203.0.113.7", false},
		// A client forging the list cannot push itself out: the rightmost
		// untrusted entry wins.
		{[]string{"1.1.1.1, 203.0.113.7, 10.0.0.2"}, []string{`for=1.1.1.1, for=203.0.113.7;proto=https, for=10.0.0.2`}, "203.0.113.7", false},
		{[]string{"1.1.1.1", "203.0.113.7, 10.0.0.2"}, []string{"for=1.1.1.1", "for=203.0.113.7,for=10.0.0.2"}, "203.0.113.7", false},
		// Every hop trusted: the leftmost.
		{[]string{"10.0.0.5, 10.0.0.2"}, []string{`for=10.0.0.5, for="[fd00::2]:80"`}, "10.0.0.5", false},
		// The rightmost untrusted hop is not an address: the proxy that
		// wrote it stands in.
		{[]string{"203.0.113.7, unknown, 10.0.0.2"}, []string{"for=203.0.113.7, for=unknown, for=10.0.0.2"}, "10.0.0.2", true},
		{[]string{"203.0.113.7, garbage"}, []string{"for=203.0.113.7, for=_hidden"}, "10.9.9.9", true},
		{[]string{"[2001:db8::9]:1234, 10.1.1.1"}, []string{`for="[2001:db8::9]:1234", for=10.1.1.1`}, "2001:db8::9", false},
		// An element without for= is an unknown hop.
		{[]string{"203.0.113.7, unknown"}, []string{"for=203.0.113.7, by=10.0.0.1;proto=http"}, "10.9.9.9", true},
		// Quoted commas and semicolons stay inside their value.
		{[]string{"203.0.113.7"}, []string{`by="a,b;c";For="203.0.113.7"`}, "203.0.113.7", false},
		{[]string{" , 203.0.113.8 ,, "}, []string{" , FOR=203.0.113.8 ,, "}, "203.0.113.8", false},
		// Text after a quoted value makes it malformed.
		{[]string{"203.0.113.7, x"}, []string{`for=203.0.113.7, for="198.51.100.1"x`}, "10.9.9.9", true},
	} {
		got, bad := clientFromXFF(tc.xff, testTrusted, testPeer)
		if got.String() != tc.want || bad != tc.bad {
			t.Errorf("X-Forwarded-For %q: %v bad=%v, want %s bad=%v", tc.xff, got, bad, tc.want, tc.bad)
		}
		got, bad = clientFromForwarded(tc.fwd, testTrusted, testPeer)
		if got.String() != tc.want || bad != tc.bad {
			t.Errorf("Forwarded %q: %v bad=%v, want %s bad=%v", tc.fwd, got, bad, tc.want, tc.bad)
		}
	}
}

// Through the middleware's config: only the configured header is read,
// and only from a trusted peer.
func TestClientAddrTrust(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-Forwarded-For", "203.0.113.7")
	r.Header.Set("Forwarded", "for=198.51.100.1")
	for _, tc := range []struct {
		c    config
		peer string
		want string
	}{
		{config{}, "10.0.0.1", "10.0.0.1"},                                                 // no trusted proxies
		{config{trusted: testTrusted}, "192.0.2.50", "192.0.2.50"},                         // untrusted peer
		{config{trusted: testTrusted}, "10.0.0.1", "203.0.113.7"},                          // X-Forwarded-For
		{config{trusted: testTrusted, proxyHeader: Forwarded}, "10.0.0.1", "198.51.100.1"}, // Forwarded only
	} {
		got, fwd, _ := tc.c.clientAddr(r, netip.MustParseAddr(tc.peer))
		if got.String() != tc.want || fwd != (tc.want != tc.peer) {
			t.Errorf("peer %s, header %v: %v (forwarded %v), want %s", tc.peer, tc.c.proxyHeader, got, fwd, tc.want)
		}
	}
}

func TestDestination(t *testing.T) {
	for _, tc := range []struct {
		method, target, host string
		hostport, name, ip   string
		port                 uint16
	}{
		{"GET", "http://Files.Example.COM/x", "", "Files.Example.COM", "files.example.com", "invalid IP", 80},
		{"GET", "https://files.example.com/x", "", "files.example.com", "files.example.com", "invalid IP", 443},
		{"CONNECT", "drop.example:8443", "drop.example:8443", "drop.example:8443", "drop.example", "invalid IP", 8443},
		{"GET", "http://198.51.100.7:8080/", "", "198.51.100.7:8080", "", "198.51.100.7", 8080},
		{"GET", "http://[2001:db8::7]/", "", "[2001:db8::7]", "", "2001:db8::7", 80},
		{"GET", "/relative", "api.example", "api.example", "api.example", "invalid IP", 80},
	} {
		r := httptest.NewRequest(tc.method, tc.target, nil)
		if tc.host != "" {
			r.Host = tc.host
		}
		if tc.method == "CONNECT" {
			r.URL.Host = tc.host
		}
		c := config{}
		hp, name, ip, port := c.destination(r)
		if hp != tc.hostport || name != tc.name || ip.String() != tc.ip || port != tc.port {
			t.Errorf("%s %s: %q %q %v %d, want %q %q %s %d", tc.method, tc.target, hp, name, ip, port, tc.hostport, tc.name, tc.ip, tc.port)
		}
	}
	c := config{destFn: func(*http.Request) string { return "upstream.internal:9000" }}
	if hp, name, _, port := c.destination(httptest.NewRequest("GET", "/", nil)); hp != "upstream.internal:9000" || name != "upstream.internal" || port != 9000 {
		t.Errorf("WithDestination: %q %q %d", hp, name, port)
	}
}

func TestPathPrefix(t *testing.T) {
	for _, tc := range []struct {
		p     string
		depth int
		want  string
	}{
		{"/files/reports/q3.pdf", 2, "/files/reports"},
		{"/files/q3.pdf", 2, "/files/q3.pdf"},
		{"/a/b/c", 1, "/a"},
		{"/", 2, "/"},
		{"", 2, ""},
		{"/a/b", 0, ""},
	} {
		if got := pathPrefix(tc.p, tc.depth); got != tc.want {
			t.Errorf("pathPrefix(%q, %d) = %q, want %q", tc.p, tc.depth, got, tc.want)
		}
	}
}

func TestHeadSizes(t *testing.T) {
	raw := "POST /up?x=1 HTTP/1.1\r\nHost: example.test\r\nUser-Agent: t/1\r\nX-Multi: a\r\nX-Multi: b\r\nContent-Length: 3\r\n\r\n"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "abc")))
	if err != nil {
		t.Fatal(err)
	}
	if got := requestHeadSize(r); got != uint64(len(raw)) {
		t.Errorf("request head %d, want %d", got, len(raw))
	}
	for code, want := range map[int]int{200: len("HTTP/1.1 200 OK\r\n"), 103: len("HTTP/1.1 103 Early Hints\r\n"),
		599: len("HTTP/1.1 599 status code 599\r\n"), 42: len("HTTP/1.1 042 status code 42\r\n")} {
		if got := statusLineSize(code); got != want {
			t.Errorf("status line %d: %d, want %d", code, got, want)
		}
	}
	h := http.Header{"Content-Length": {"10"}, "Link": {"</a>"}, "Trailer:X": {"1"}}
	if got, want := responseHeadSize(200, h), uint64(len("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nLink: </a>\r\n\r\n")); got != want {
		t.Errorf("final head %d, want %d", got, want)
	}
	if got, want := responseHeadSize(103, h), uint64(len("HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")); got != want {
		t.Errorf("1xx head %d, want %d", got, want)
	}
}
