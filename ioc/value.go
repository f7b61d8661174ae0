package ioc

import (
	"fmt"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// maxDomainLen is the longest domain name accepted, without the trailing dot
// (RFC 1035: 255 octets on the wire).
const maxDomainLen = 253

// maxLabelLen is the longest label of a domain name (RFC 1035).
const maxLabelLen = 63

// Reasons for rejecting an indicator, more precise than ErrBadIndicator.
const (
	errURL      = reason("URLs are not supported")
	errWildcard = reason("wildcards are not supported (a domain already matches its subdomains)")
	errZone     = reason("IPv6 zones are not allowed")
	errNoHost   = reason("URL without a host")
	errLabelLen = reason("domain label longer than 63 characters")
	errNameLen  = reason("domain name longer than 253 characters")
	errEmpty    = reason("empty domain label")
	errTooLong  = reason("line too long")
)

// parseIndicator parses one trimmed, comment-free indicator of any kind.
// The returned Indicator has Value and Kind set.
func parseIndicator(text string) (Indicator, error) {
	switch {
	case strings.Contains(text, "://"):
		return Indicator{}, errURL
	case strings.IndexByte(text, '/') >= 0:
		v, err := canonicalPrefix(text)
		return Indicator{Value: v, Kind: KindCIDR}, err
	case strings.IndexByte(text, ':') >= 0:
		v, err := canonicalAddr(text)
		return Indicator{Value: v, Kind: KindIP}, err
	}
	// Dotted decimal: an IPv4 address or garbage, never a domain since the
	// last label of a domain is not all digits.
	if v, err := canonicalAddr(text); err == nil {
		return Indicator{Value: v, Kind: KindIP}, nil
	}
	v, err := canonicalDomain(text)
	return Indicator{Value: v, Kind: KindDomain}, err
}

// canonicalize returns ind with its Value canonical for its Kind, inferring
// the kind when it is zero.
func canonicalize(ind Indicator) (Indicator, error) {
	var err error
	switch ind.Kind {
	case 0:
		var p Indicator
		p, err = parseIndicator(ind.Value)
		ind.Value, ind.Kind = p.Value, p.Kind
	case KindIP:
		ind.Value, err = canonicalAddr(ind.Value)
	case KindCIDR:
		ind.Value, err = canonicalPrefix(ind.Value)
	case KindDomain:
		ind.Value, err = canonicalDomain(ind.Value)
	default:
		err = reason("unknown indicator kind " + ind.Kind.String())
	}
	return ind, err
}

// canonicalAddr parses an IP address and returns its canonical form.
func canonicalAddr(s string) (string, error) {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return "", ErrBadIndicator
	}
	if a.Zone() != "" {
		return "", errZone
	}
	a = a.Unmap()
	if c := a.String(); c != s {
		return c, nil
	}
	return s, nil
}

// canonicalPrefix parses a CIDR prefix and returns its canonical, masked
// form. A prefix of at least 96 bits inside ::ffff:0:0/96 becomes IPv4.
func canonicalPrefix(s string) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", ErrBadIndicator
	}
	p = normPrefix(p)
	if c := p.String(); c != s {
		return c, nil
	}
	return s, nil
}

// normPrefix masks p and turns an IPv4-mapped prefix of at least 96 bits into
// an IPv4 prefix.
func normPrefix(p netip.Prefix) netip.Prefix {
	if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
	}
	return p.Masked()
}

// canonicalDomain validates a domain name and returns it lower-cased without
// a trailing dot, internationalised labels in their A-label ("xn--") form.
func canonicalDomain(s string) (string, error) {
	name := s
	if !isASCII(name) {
		var err error
		if name, err = toALabels(name); err != nil {
			return "", err
		}
	}
	name = strings.TrimSuffix(name, ".")
	switch {
	case name == "":
		return "", ErrBadIndicator
	case len(name) > maxDomainLen:
		return "", errNameLen
	}
	labelStart := 0
	digitsOnly := true
	ace := false
	for i := 0; i <= len(name); i++ {
		if i == len(name) || name[i] == '.' {
			switch n := i - labelStart; {
			case n == 0:
				return "", errEmpty
			case n > maxLabelLen:
				return "", errLabelLen
			case n > len(acePrefix) && strings.EqualFold(name[labelStart:labelStart+len(acePrefix)], acePrefix):
				ace = true
			}
			if i == len(name) && digitsOnly {
				return "", ErrBadIndicator // "300.1.1.1", "1.2.3": a bad IPv4 address
			}
			labelStart, digitsOnly = i+1, true
			continue
		}
		switch c := name[i]; {
		case '0' <= c && c <= '9':
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '-', c == '_':
			digitsOnly = false
		case c == '*':
			return "", errWildcard
		default:
			return "", reason(fmt.Sprintf("unexpected character %q in domain name", c))
		}
	}
	name = strings.ToLower(name)
	if ace {
		for label := range strings.SplitSeq(name, ".") {
			if len(label) > len(acePrefix) && label[:len(acePrefix)] == acePrefix {
				if err := checkALabel(label); err != nil {
					return "", reason(fmt.Sprintf("bad internationalised label %q: %v", label, err))
				}
			}
		}
	}
	return name, nil
}

// isASCII reports whether s has only ASCII characters.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// urlHost returns the indicator for the host of a URL: an address or a
// domain. A URL without a scheme is read as if it had "http://".
func urlHost(s string) (Indicator, error) {
	raw := s
	if !strings.Contains(s, "://") {
		raw = "http://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Indicator{}, reason("bad URL")
	}
	h := u.Hostname()
	if h == "" {
		return Indicator{}, errNoHost
	}
	if strings.IndexByte(h, ':') >= 0 || strings.Trim(h, "0123456789.") == "" {
		v, err := canonicalAddr(h)
		return Indicator{Value: v, Kind: KindIP}, err
	}
	v, err := canonicalDomain(h)
	return Indicator{Value: v, Kind: KindDomain}, err
}

// hostPort returns the indicator for "host:port", "[v6]:port" or a bare
// host: the address or domain without the port.
func hostPort(s string) (Indicator, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		v, err := canonicalAddr(ap.Addr().String())
		return Indicator{Value: v, Kind: KindIP}, err
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 && strings.Count(s, ":") == 1 {
		if _, err := strconv.ParseUint(s[i+1:], 10, 16); err != nil {
			return Indicator{}, reason("bad port")
		}
		if _, err := netip.ParseAddr(s[:i]); err != nil {
			v, err := canonicalDomain(s[:i])
			return Indicator{Value: v, Kind: KindDomain}, err
		}
	}
	return parseIndicator(s)
}
