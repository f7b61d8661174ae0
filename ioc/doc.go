// Package ioc matches network indicators of compromise (IOCs) against the
// destinations of flows: exact IP addresses, CIDR prefixes and domain names.
//
// The main types are:
//
//   - [Matcher], the interface the detector calls. Users may implement it
//     to plug in their own threat-intelligence source.
//   - [Set], the built-in immutable indicator set, built with [NewSet] or
//     loaded from a plain list with [ParseList] or [LoadListFile].
//   - [Multi], a [Matcher] that combines several matchers (one per feed)
//     and can report the evidence of every feed that matched.
//   - [Match], the evidence of one hit; it becomes one element of the
//     alert's c2.matches[].
//
// # Matching rules
//
// [Set.LookupAddr] first looks for an exact IP indicator, then for the
// longest CIDR indicator that contains the address. IPv4-mapped IPv6
// addresses (::ffff:a.b.c.d) are treated as the IPv4 address they carry, both
// in indicators and in lookups; IPv6 zones are ignored in lookups. An IPv6
// prefix never matches an IPv4 address.
//
// [Set.LookupDomain] matches a domain indicator against the queried name and
// every parent of it, on label boundaries: the indicator "evil.example"
// matches "evil.example" and "a.b.evil.example" but not "notevil.example".
// When several indicators match, the longest (most specific) wins. Matching
// is ASCII case-insensitive (as DNS is) and ignores one trailing dot.
//
// Both lookups are allocation-free. The Match they return has an empty
// MatchedOn: the caller knows which field of the flow it looked up and fills
// it in.
//
// # Plain list format
//
// [ParseList] reads one indicator per line: an IPv4 or IPv6 address, a CIDR
// prefix or a domain name. Surrounding whitespace is trimmed, a '#' starts a
// comment (a whole line or the end of a line), blank lines are ignored, CRLF
// line endings and a UTF-8 byte order mark at the start of the input are
// accepted. Indicators are canonicalised:
//
//   - addresses take their netip string form; IPv4-mapped IPv6 addresses are
//     unmapped ("::ffff:192.0.2.1" becomes "192.0.2.1");
//   - a prefix with host bits set is accepted and masked ("192.0.2.77/24"
//     becomes "192.0.2.0/24"); a prefix of at least 96 bits inside
//     ::ffff:0:0/96 becomes the IPv4 prefix it covers;
//   - domain names are lower-cased and lose one trailing dot. Labels are 1 to
//     63 characters of ASCII letters, digits, '-' and '_'; the name is at
//     most 253 characters. Single-label names ("localhost", a bare TLD) are
//     accepted and then match every name under them. A name whose last label
//     is all digits is rejected (it is a malformed IPv4 address, not a
//     domain). Internationalised names must be given in their ASCII
//     ("xn--") form.
//
// URLs, wildcards ("*.evil.example"), IPv6 zones and anything else are
// rejected. A bad line makes the whole list fail with a [*ParseError] naming
// the feed, the line and the text; duplicates are kept once (the first
// occurrence).
//
// # Concurrency
//
// A [Set] is immutable once built and safe for concurrent use by any number
// of goroutines; a nil *Set is an empty set. A [Multi] is safe for
// concurrent use when its elements are and the slice itself is not modified.
// Implementations of [Matcher] must be safe for concurrent use.
package ioc
