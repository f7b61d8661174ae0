package ioc

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
)

// Kind is the type of an indicator. The zero Kind is invalid.
type Kind uint8

// Indicator kinds.
const (
	KindIP     Kind = iota + 1 // an exact IPv4 or IPv6 address
	KindCIDR                   // an IPv4 or IPv6 prefix
	KindDomain                 // a domain name, matched with all its subdomains
)

// String returns "ip", "cidr" or "domain", the names used in Match.Type,
// or "Kind(n)" for an invalid kind.
func (k Kind) String() string {
	switch k {
	case KindIP:
		return "ip"
	case KindCIDR:
		return "cidr"
	case KindDomain:
		return "domain"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Indicator is one entry of a feed.
//
// Value is canonical in a Set: the netip string form of an address, the
// masked netip string form of a prefix, or a lower-case domain name without
// a trailing dot (see the package documentation).
type Indicator struct {
	Value string // canonical indicator text
	Kind  Kind   // what Value holds
	Feed  string // name of the feed it came from
	Line  int    // line in the feed (1-based), 0 when unknown
}

// Match is the evidence of one hit. It becomes one element of the alert's
// c2.matches[].
type Match struct {
	Indicator string `json:"indicator"`  // the canonical indicator that matched
	Type      string `json:"type"`       // "ip", "cidr" or "domain" (Kind.String)
	Feed      string `json:"feed"`       // the feed the indicator came from
	MatchedOn string `json:"matched_on"` // "dest_ip", "sni", "http_host" or "dns"; filled by the caller
}

// Matcher is what the detector calls to check a flow's destination.
// Implementations must be safe for concurrent use.
type Matcher interface {
	// LookupAddr reports the indicator matching addr: an exact IP
	// indicator first, then the longest CIDR indicator containing addr.
	LookupAddr(addr netip.Addr) (Match, bool)
	// LookupDomain reports the indicator matching name by suffix on label
	// boundaries ("evil.example" matches "a.evil.example" and
	// "evil.example", not "notevil.example"), case-insensitively, ignoring
	// a trailing dot. MatchedOn is left empty for the caller to fill.
	LookupDomain(name string) (Match, bool)
	// Len returns the number of indicators.
	Len() int
}

// ErrBadIndicator is matched (with errors.Is) by every error about a line or
// value that is not a valid indicator.
var ErrBadIndicator = errors.New("ioc: bad indicator")

// reason is the cause of a bad indicator more precise than ErrBadIndicator.
// It matches ErrBadIndicator with errors.Is.
type reason string

func (r reason) Error() string { return string(r) }

// Is reports whether target is ErrBadIndicator.
func (reason) Is(target error) bool { return target == ErrBadIndicator }

// ParseError reports a bad line of a feed. Parsers check every line and
// return the first bad one, with the number of further bad lines in More.
//
// errors.Is(err, ErrBadIndicator) holds for a *ParseError about a bad
// indicator.
type ParseError struct {
	Feed string // feed name
	Line int    // 1-based line number
	Text string // the offending text without comment and surrounding space (its start, for an overlong line)
	Err  error  // the cause: ErrBadIndicator or a more precise error wrapping it
	More int    // number of bad lines after this one
}

// Error returns a message such as
//
//	ioc: feed "x.txt" line 3: bad indicator "300.1.1.1" (and 2 more bad lines)
func (e *ParseError) Error() string {
	msg := fmt.Sprintf("ioc: feed %q line %d: bad indicator %q", e.Feed, e.Line, e.Text)
	if e.Err != nil && e.Err != ErrBadIndicator {
		msg += ": " + e.Err.Error()
	}
	switch {
	case e.More == 1:
		msg += " (and 1 more bad line)"
	case e.More > 1:
		msg += fmt.Sprintf(" (and %d more bad lines)", e.More)
	}
	return msg
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }
