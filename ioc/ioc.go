package ioc

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"time"
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
// masked netip string form of a prefix, or a lower-case ASCII domain name
// (internationalised labels in their "xn--" form) without a trailing dot
// (see the package documentation).
//
// The evidence fields are optional. An indicator is valid from ValidFrom
// (inclusive) until ValidUntil (exclusive); a zero time leaves that end
// open. Outside its validity an indicator does not match (see
// [Set.LookupAddrAt]).
type Indicator struct {
	Value string // canonical indicator text
	Kind  Kind   // what Value holds
	Feed  string // name of the feed it came from
	Line  int    // line in the feed (1-based; for JSON feeds the line where the object starts), 0 when unknown

	MalwareFamily string    // malware family (names joined with ", " when several), "" when unknown
	ThreatActor   string    // threat actor (names joined with ", " when several), "" when unknown
	Confidence    int       // the feed's confidence, 1 to 100; 0 when unknown
	ValidFrom     time.Time // first instant of validity; zero: valid since ever
	ValidUntil    time.Time // end of validity (exclusive); zero: never expires
}

// Match is the evidence of one hit. It becomes one element of the alert's
// c2.matches[].
type Match struct {
	Indicator string `json:"indicator"`  // the canonical indicator that matched
	Type      string `json:"type"`       // "ip", "cidr" or "domain" (Kind.String)
	Feed      string `json:"feed"`       // the feed the indicator came from
	MatchedOn string `json:"matched_on"` // "dest_ip", "sni", "http_host" or "dns"; filled by the caller

	MalwareFamily string    `json:"malware_family,omitempty"` // as Indicator.MalwareFamily
	ThreatActor   string    `json:"threat_actor,omitempty"`   // as Indicator.ThreatActor
	Confidence    int       `json:"confidence,omitempty"`     // 1 to 100, 0 (omitted) when unknown
	ValidUntil    time.Time `json:"valid_until,omitzero"`     // expiry in UTC, zero (omitted) when none
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

// TimedMatcher is a Matcher whose indicators have a validity period. The
// At methods judge validity at the time t given by the caller, normally the
// flow's own time, so that a replay gives the same answer on any day; a
// zero t disables the validity check. [Set], [Watcher], [Cache] and
// [Multi] implement it.
type TimedMatcher interface {
	Matcher
	// LookupAddrAt is LookupAddr counting only indicators valid at t.
	LookupAddrAt(addr netip.Addr, t time.Time) (Match, bool)
	// LookupDomainAt is LookupDomain counting only indicators valid at t.
	LookupDomainAt(name string, t time.Time) (Match, bool)
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

// ParseError reports a bad line or object of a feed. Parsers check every
// entry and return the first bad one, with the number of further bad
// entries in More (0 when the parser could not go on, as after a JSON
// syntax error).
//
// errors.Is(err, ErrBadIndicator) holds for a *ParseError about a bad
// indicator; other causes (a CSV or JSON syntax error, a bad timestamp)
// are in Err.
type ParseError struct {
	Feed   string // feed name
	File   string // the file's path, when the feed was loaded from a file by Load or a Watcher
	Line   int    // 1-based line number, 0 when unknown
	Object string // for JSON feeds, the object: `objects[3] (indicator--…)`, `Event.Attribute[5] (uuid …)`
	Text   string // the offending text without comment and surrounding space (its start, for an overlong line)
	Err    error  // the cause: ErrBadIndicator or a more precise error wrapping it, or another error
	More   int    // number of bad entries after this one
}

// Error returns a message such as
//
//	ioc: feed "x.txt" line 3: bad indicator "300.1.1.1" (and 2 more bad lines)
//	ioc: file "/etc/ioc/b.json" line 12 objects[3] (indicator--…): bad indicator "1.2.3": …
func (e *ParseError) Error() string {
	var msg string
	if e.File != "" {
		msg = fmt.Sprintf("ioc: file %q", e.File)
		if e.Feed != "" && e.Feed != baseName(e.File) {
			msg += fmt.Sprintf(" (feed %q)", e.Feed)
		}
	} else {
		msg = fmt.Sprintf("ioc: feed %q", e.Feed)
	}
	if e.Line > 0 {
		msg += fmt.Sprintf(" line %d", e.Line)
	}
	if e.Object != "" {
		msg += " " + e.Object
	}
	switch {
	case e.Err == nil || errors.Is(e.Err, ErrBadIndicator):
		msg += fmt.Sprintf(": bad indicator %q", e.Text)
		if e.Err != nil && e.Err != ErrBadIndicator {
			msg += ": " + e.Err.Error()
		}
	case e.Text != "":
		msg += fmt.Sprintf(": %q: %v", e.Text, e.Err)
	default:
		msg += ": " + e.Err.Error()
	}
	unit, units := "line", "lines"
	if e.Object != "" || e.Line == 0 {
		unit, units = "entry", "entries"
	}
	switch {
	case e.More == 1:
		msg += " (and 1 more bad " + unit + ")"
	case e.More > 1:
		msg += fmt.Sprintf(" (and %d more bad %s)", e.More, units)
	}
	return msg
}

// Unwrap returns e.Err.
func (e *ParseError) Unwrap() error { return e.Err }

// Skip counts the entries of a feed that a parser left out for one
// reason: an unsupported indicator type, a STIX pattern with AND, a MISP
// attribute whose to_ids flag is off, a revoked STIX indicator... Skipped
// entries are not errors; [Set.Skipped] lists them so that they can be
// logged.
type Skip struct {
	Reason string // why, e.g. `unsupported type "md5_hash"`
	Count  int    // how many entries
	First  string // where the first one is, e.g. "line 12" or "objects[3] (indicator--…)"
}
