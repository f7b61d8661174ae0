package httpguard

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// pkey identifies a principal: a client address, or a name given by the
// key function (then addr is the zero Addr).
type pkey struct {
	addr netip.Addr
	name string
}

// String returns the principal as alerts and logs show it.
func (p pkey) String() string {
	if p.name != "" {
		return p.name
	}
	if !p.addr.IsValid() {
		return ""
	}
	return p.addr.String()
}

// normAddr unmaps IPv4-mapped IPv6 addresses and drops zones, so that one
// host has one key whatever the listener's address family.
func normAddr(a netip.Addr) netip.Addr {
	return a.Unmap().WithZone("")
}

// splitHostPort splits "host:port", "[v6]:port", "[v6]", "v6" or "host"
// without allocating. port is "" when there is none.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return s, ""
		}
		host = s[1:end]
		if rest := s[end+1:]; strings.HasPrefix(rest, ":") {
			port = rest[1:]
		}
		return host, port
	}
	i := strings.LastIndexByte(s, ':')
	if i < 0 || strings.IndexByte(s[:i], ':') >= 0 { // no port, or a bare IPv6 address
		return s, ""
	}
	return s[:i], s[i+1:]
}

// parsePort parses a decimal port; ok is false for anything else.
func parsePort(s string) (uint16, bool) {
	if s == "" || len(s) > 5 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, false
	}
	return uint16(n), true
}

// mayBeIP reports whether s could be an IP literal, so that names are not
// handed to netip.ParseAddr (whose error allocates).
func mayBeIP(s string) bool {
	if s == "" {
		return false
	}
	if strings.IndexByte(s, ':') >= 0 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != '.' {
			return false
		}
	}
	return true
}

// parseNode parses one forwarding node as X-Forwarded-For entries and
// RFC 7239 for= values write it: an IPv4 or IPv6 address, optionally with
// a port ("192.0.2.1:80", "[2001:db8::1]:80"), brackets around IPv6
// allowed. "unknown", obfuscated identifiers ("_hidden") and garbage give
// ok == false.
func parseNode(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	host, port := splitHostPort(s)
	if port != "" {
		if _, ok := parsePort(port); !ok {
			return netip.Addr{}, false
		}
	}
	if !mayBeIP(host) {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return normAddr(a), true
}

// parseRemote parses Request.RemoteAddr ("ip:port"; some servers and
// middleware leave the port out).
func parseRemote(s string) (netip.Addr, uint16, bool) {
	host, port := splitHostPort(s)
	if !mayBeIP(host) {
		return netip.Addr{}, 0, false
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, 0, false
	}
	p, _ := parsePort(port)
	return normAddr(a), p, true
}

// localAddr returns the server side of the request's connection, when the
// server recorded it (net/http does, under http.LocalAddrContextKey).
func localAddr(r *http.Request) netip.AddrPort {
	switch a := r.Context().Value(http.LocalAddrContextKey).(type) {
	case *net.TCPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(normAddr(ap.Addr()), ap.Port())
	case *net.UDPAddr:
		ap := a.AddrPort()
		return netip.AddrPortFrom(normAddr(ap.Addr()), ap.Port())
	}
	return netip.AddrPort{}
}

// inPrefixes reports whether a is in one of ps (a linear scan: trusted
// proxy and allowlist lists are short).
func inPrefixes(ps []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// rightmost applies the rightmost-untrusted rule to a forwarding list fed
// left to right (oldest hop first), in O(1) state and without allocating:
// the client is the rightmost entry that is not a trusted proxy.
type rightmost struct {
	trusted []netip.Prefix
	n       int // entries seen

	leftmost netip.Addr // first entry (used when every entry is trusted)

	have     bool       // an untrusted (or unparsable) entry was seen
	client   netip.Addr // the last such entry
	clientOK bool       // it parsed as an address

	reporter   netip.Addr // the first trusted entry after it: the proxy that wrote it
	reporterOK bool
}

func (s *rightmost) entry(a netip.Addr, ok bool) {
	if s.n == 0 {
		s.leftmost = a
	}
	s.n++
	if ok && inPrefixes(s.trusted, a) {
		if s.have && !s.reporterOK {
			s.reporter, s.reporterOK = a, true
		}
		return
	}
	s.have = true
	s.client, s.clientOK = a, ok
	s.reporter, s.reporterOK = netip.Addr{}, false
}

// result returns the client address given the peer (the trusted proxy the
// request came from); bad is true when the rightmost untrusted entry was
// not an address ("unknown", an obfuscated identifier, garbage), in which
// case the hop that reported it stands in for the client.
func (s *rightmost) result(peer netip.Addr) (client netip.Addr, bad bool) {
	switch {
	case s.n == 0: // no header: the proxy itself is the client
		return peer, false
	case !s.have: // every hop is a trusted proxy
		return s.leftmost, false
	case s.clientOK:
		return s.client, false
	case s.reporterOK:
		return s.reporter, true
	}
	return peer, true
}

// clientFromXFF applies the rule to X-Forwarded-For lines, in order.
func clientFromXFF(lines []string, trusted []netip.Prefix, peer netip.Addr) (netip.Addr, bool) {
	s := rightmost{trusted: trusted}
	for _, line := range lines {
		for line != "" {
			var e string
			if i := strings.IndexByte(line, ','); i >= 0 {
				e, line = line[:i], line[i+1:]
			} else {
				e, line = line, ""
			}
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			s.entry(parseNode(e))
		}
	}
	return s.result(peer)
}

// clientFromForwarded applies the rule to RFC 7239 Forwarded lines, in
// order: one entry per forwarded-element, its for= value (an element
// without for= is an unknown hop).
func clientFromForwarded(lines []string, trusted []netip.Prefix, peer netip.Addr) (netip.Addr, bool) {
	s := rightmost{trusted: trusted}
	for _, line := range lines {
		forEachForwardedFor(line, func(v string, ok bool) {
			if !ok {
				s.entry(netip.Addr{}, false)
				return
			}
			s.entry(parseNode(v))
		})
	}
	return s.result(peer)
}

// forEachForwardedFor calls fn, left to right, with the for= value of each
// forwarded-element of one Forwarded line (quotes removed; ok false when
// the element has none or its quoted value holds an escape). It never
// fails: malformed parts end the element they are in.
//
//	Forwarded   = 1#forwarded-element
//	forwarded-element = [ pair ] *( ";" [ pair ] )
//	pair        = token "=" value
//	value       = token / quoted-string
func forEachForwardedFor(line string, fn func(v string, ok bool)) {
	i, n := 0, len(line)
	for i < n {
		var forVal string
		sawFor, forOK, empty := false, false, true
		// One element: pairs separated by ';', ended by ',' or the end.
		for i < n {
			for i < n && (line[i] == ' ' || line[i] == '\t') {
				i++
			}
			start := i
			for i < n && line[i] != '=' && line[i] != ';' && line[i] != ',' {
				i++
			}
			name := strings.TrimSpace(line[start:i])
			var val string
			valOK := true
			if i < n && line[i] == '=' {
				empty = false
				i++
				if i < n && line[i] == '"' {
					i++
					vs := i
					for i < n && line[i] != '"' {
						if line[i] == '\\' {
							valOK = false
							i++
						}
						i++
					}
					i = min(i, n)
					val = line[vs:i]
					if i < n {
						i++ // closing quote
						for i < n && (line[i] == ' ' || line[i] == '\t') {
							i++
						}
						if i < n && line[i] != ';' && line[i] != ',' {
							valOK = false // text after the quoted string
						}
					} else {
						valOK = false // unterminated
					}
				} else {
					vs := i
					for i < n && line[i] != ';' && line[i] != ',' {
						i++
					}
					val = strings.TrimSpace(line[vs:i])
				}
			} else if name != "" {
				empty = false // a pair without '=': malformed, still a hop
				valOK = false
			}
			if !sawFor && strings.EqualFold(name, "for") {
				sawFor, forOK, forVal = true, valOK, val
			}
			// Skip what is left of a malformed pair.
			for i < n && line[i] != ';' && line[i] != ',' {
				i++
			}
			if i >= n {
				break
			}
			sep := line[i]
			i++
			if sep == ',' {
				break
			}
		}
		if !empty {
			fn(forVal, sawFor && forOK)
		}
	}
}

// clientAddr resolves the client address of r from its peer address and,
// when the peer is a trusted proxy, the configured forwarding header.
// forwarded reports that the client is not the peer; bad that the header's
// rightmost untrusted entry was not an address.
func (c *config) clientAddr(r *http.Request, peer netip.Addr) (client netip.Addr, forwarded, bad bool) {
	if len(c.trusted) == 0 || !inPrefixes(c.trusted, peer) {
		return peer, false, false
	}
	if c.proxyHeader == Forwarded {
		client, bad = clientFromForwarded(r.Header["Forwarded"], c.trusted, peer)
	} else {
		client, bad = clientFromXFF(r.Header["X-Forwarded-For"], c.trusted, peer)
	}
	return client, client != peer, bad
}

// destination names the external side of an egress request: its host
// (lower case), the host's address when it is an IP literal, and the port
// (explicit, else 443 for CONNECT and https, else 80). hostport is the
// destination as named, for the evidence.
func (c *config) destination(r *http.Request) (hostport, host string, ip netip.Addr, port uint16) {
	switch {
	case c.destFn != nil:
		hostport = c.destFn(r)
	case r.URL != nil && r.URL.Host != "":
		hostport = r.URL.Host
	default:
		hostport = r.Host
	}
	h, p := splitHostPort(hostport)
	host = lowerASCII(h)
	port, ok := parsePort(p)
	if !ok {
		port = 80
		if r.Method == http.MethodConnect || (r.URL != nil && r.URL.Scheme == "https") {
			port = 443
		}
	}
	if mayBeIP(host) {
		if a, err := netip.ParseAddr(host); err == nil {
			ip = normAddr(a)
			host = "" // the address is the key; the name is only for names
		}
	}
	return hostport, host, ip, port
}

// lowerASCII lower-cases s, allocating only when s has an upper-case
// letter.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// pathPrefix keeps the first depth segments of an absolute path:
// pathPrefix("/a/b/c", 2) is "/a/b". depth 0 gives "".
func pathPrefix(p string, depth int) string {
	if depth == 0 {
		return ""
	}
	n := 0
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			if n++; n == depth {
				return p[:i]
			}
		}
	}
	return p
}
