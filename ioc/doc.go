// Package ioc matches network indicators of compromise (IOCs) against the
// destinations of flows: exact IP addresses, CIDR prefixes and domain names,
// loaded from threat-intelligence feeds (plain lists, CSV, STIX 2.1, MISP)
// and kept up to date while traffic flows.
//
// The main types are:
//
//   - [Matcher], the interface the detector calls, and [TimedMatcher], its
//     extension that judges validity at the flow's own time. Users may
//     implement them to plug in their own source.
//   - [Set], the built-in immutable indicator set, built with [NewSet] or
//     parsed from a feed with [Load], [Parse], [ParseList], [ParseCSV],
//     [ParseSTIX] or [ParseMISP].
//   - [Watcher], a Matcher over a feed file that reloads it when it
//     changes or on demand, swapping the new Set in atomically.
//   - [Provider], the interface of a slow source (a remote intelligence
//     service), and [Cache], the Matcher that makes one safe on the hot
//     path.
//   - [Multi], a Matcher that combines several matchers (one per feed)
//     and can report the evidence of every feed that matched.
//   - [Match], the evidence of one hit; it becomes one element of the
//     alert's c2.matches[].
//
// # Matching rules
//
// [Set.LookupAddrAt] first looks for an exact IP indicator, then for the
// longest CIDR indicator that contains the address (a multibit trie with
// 8-bit strides: at most 4 steps down for IPv4, 16 for IPv6).
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as the IPv4
// address they carry, both in indicators and in lookups; IPv6 zones are
// ignored in lookups. An IPv6 prefix never matches an IPv4 address.
//
// [Set.LookupDomainAt] matches a domain indicator against the queried name
// and every parent of it, on label boundaries: the indicator "evil.example"
// matches "evil.example" and "a.b.evil.example" but not "notevil.example".
// When several indicators match, the longest (most specific) wins. Matching
// is case-insensitive and ignores one trailing dot. Internationalised
// names are compared in their ASCII form: a Unicode name, in a feed or in
// a lookup, is converted to A-labels ("bücher.example" is
// "xn--bcher-kva.example").
//
// Lookups of ASCII names and of addresses do not allocate. The Match they
// return has an empty MatchedOn: the caller knows which field of the flow
// it looked up ("dest_ip", "sni", "http_host" or "dns") and fills it in.
//
// # Evidence and validity
//
// An indicator carries, when its feed gives them, a malware family, a
// threat actor, a confidence (1 to 100; 0 means unknown) and a validity
// period, [ValidFrom, ValidUntil). They are copied into the Match.
//
// An indicator outside its validity period never matches. Validity is
// judged at the time given to the At methods, which should be the flow's
// own time, so that a replay gives the same answer on any day; where a
// longer prefix or domain is not valid at that time, a shorter valid one
// matches instead. A zero time disables the check. The time-less methods
// (LookupAddr, LookupDomain, used by code written before validity
// existed) judge validity by the wall clock, which they read only for
// sets that have validity bounds.
//
// A value given several times is kept once per distinct validity period:
// a later occurrence whose period is covered by an earlier one is dropped,
// and among the occurrences valid at a time the first one given wins.
//
// # Feed formats
//
// [Load] and [Parse] detect the format from the content ([DetectFormat]) or
// take it from [WithFormat]; the collector's "stix:FILE" form is split by
// [SplitSpec]. Malformed input gives a [*ParseError] naming the feed (and
// file), the line and, for JSON feeds, the object; parsers check every
// entry and count the further bad ones. [WithSkipMalformed] skips and
// counts bad entries instead. Entries a format holds but this package does
// not use (file hashes, AND-ed STIX patterns...) are skipped and counted,
// never fatal: [Set.Skipped] lists them by reason.
//
// Plain list ([ParseList]): one indicator per line: an IPv4 or IPv6
// address, a CIDR prefix or a domain name. Surrounding whitespace is
// trimmed, a '#' starts a comment (a whole line or the end of a line),
// blank lines are ignored, CRLF line endings and a UTF-8 byte order mark
// at the start of the input are accepted. URLs, wildcards
// ("*.evil.example"), IPv6 zones and anything else are rejected.
//
// CSV ([ParseCSV]): a header names the columns; [CSVColumns] maps the
// roles (indicator, type, malware, threat_actor, confidence, first_seen,
// last_seen, valid_from, valid_until) to column names, each with usual
// defaults, so that abuse.ch's exports (ThreatFox, Feodo Tracker, URLhaus)
// load as they are. Leading '#' comment lines are skipped and the last one
// is the header if the first row is not (abuse.ch writes the header as a
// comment). Fields may be quoted, separated by ',', ';' or tab (detected,
// or [WithCSVComma]). The type column takes ip, ipv4, ipv6, ipv4-addr,
// ipv6-addr, ip-dst, ip-src, cidr, network, domain, hostname, fqdn,
// domain-name, url, ip:port, ip-dst|port, domain|ip and similar names; an
// empty type (or no type column) is inferred from the value. Other types
// (hashes) are skipped. Confidence is 0 to 100, a percentage or a fraction
// of 1. Timestamps are RFC 3339, "2006-01-02 15:04:05" (UTC), a date or
// Unix seconds. first_seen and last_seen only matter with
// [WithExpireAfter].
//
// STIX 2.1 ([ParseSTIX]): a bundle (or a TAXII envelope, or an array of
// objects; STIX 2.0 is read too). Indicator objects with pattern_type
// "stix" give the values of their sufficient comparisons: ipv4-addr:value,
// ipv6-addr:value, domain-name:value, url:value (its host) and
// network-traffic:dst_ref.value compared with =, IN (...) or (for
// addresses) ISSUBSET 'cidr', OR-ed within an observation or across
// observations. A pattern needing more than one value (AND, FOLLOWEDBY),
// a qualifier (WITHIN, REPEATS, START/STOP), NOT, or only unsupported
// comparisons is skipped; an unsupported comparison OR-ed with supported
// ones is ignored (and counted). valid_from and valid_until are the
// validity, confidence the confidence. Revoked indicators, those with the
// indicator type or label "benign", other pattern types and superseded
// versions (same id, older modified) are skipped. The malware family and
// threat actor come from the objects the indicator "indicates" through
// relationship objects (malware; threat-actor and intrusion-set as actors;
// campaign) and from what those are "attributed-to", up to four steps.
//
// MISP ([ParseMISP]): a feed event ({"Event": {...}}), a REST response
// ({"response": [...]}) or an array of events. The attributes of the event
// and of its objects are read: ip-dst, ip-src (the address of an actor's
// host, which is a destination when an internal host talks back to it),
// ip-dst|port, ip-src|port, domain, hostname, domain|ip (both),
// hostname|port and url (its host). Only attributes with to_ids set are
// loaded by default: MISP marks with it what is fit for automated
// detection, the rest is context (a victim, a resolver, a sinkhole);
// [WithMISPNonIDS] loads all. Deleted attributes and other types are
// skipped. The threat actor and malware family come from galaxy tags
// (misp-galaxy:threat-actor="…", misp-galaxy:malpedia="…",
// mitre-intrusion-set, mitre-malware, ransomware, tool...) and Galaxy
// clusters, the attribute's own overriding the event's; the confidence
// from the misp:confidence-level tag. MISP has no expiry:
// [WithExpireAfter] derives one from last_seen or the attribute timestamp.
//
// URL indicators (STIX url:value, CSV and MISP url) match their host by
// default. A URL on a shared host (a code-hosting or file-sharing site)
// then matches every flow to that host: [WithoutURLHosts] skips them.
//
// Canonical forms: addresses take their netip string form, IPv4-mapped
// IPv6 addresses unmapped; prefixes are masked ("192.0.2.77/24" becomes
// "192.0.2.0/24") and a prefix of at least 96 bits inside ::ffff:0:0/96
// becomes the IPv4 prefix it covers; domain names are lower-cased, lose
// one trailing dot, and have labels of 1 to 63 characters of ASCII
// letters, digits, '-' and '_' (after the A-label conversion), at most 253
// characters in all. Single-label names are accepted and match every name
// under them. A name whose last label is all digits is rejected (it is a
// malformed IPv4 address).
//
// # Internationalised names
//
// The A-label conversion (Punycode, RFC 3492) does the part of the UTS #46
// mapping that feeds need: case folding, full-width ASCII, the ideographic
// full stops. It rejects, with an error that asks for the "xn--" form,
// what it cannot map exactly without the Unicode normalisation tables
// (which would need golang.org/x/text): combining diacritical marks (text
// that may not be in NFC), compatibility and presentation forms,
// title-case letters, symbols. Compared with golang.org/x/net/idna's lookup
// profile on every code point and on two million random names of common
// scripts, the two give the same A-labels wherever both accept the name,
// except for runs of combining marks not in canonical order (which NFC
// reorders). "xn--" labels are checked to be valid, canonical Punycode. Lookups of names that
// cannot be converted match nothing.
//
// # Live reload and providers
//
// A [Watcher] polls its file (inode, size and modification time) every
// [WithPollInterval] from [Watcher.Run], or when told ([Watcher.Poll],
// [Watcher.Reload] on SIGHUP), parses it into a new Set and swaps it in
// with an atomic pointer: lookups never wait for a reload, and a reload
// that fails leaves the previous Set live. Replace feed files by renaming
// a complete new file over the old one.
//
// A [Provider] answers queries slowly, maybe remotely. A [Cache] in front
// of it answers lookups from memory only: cached answers (with matches for
// a TTL, without for a shorter negative TTL, failed queries for an error
// TTL), and otherwise no match while worker goroutines query the provider
// in the background. Its size is bounded, separately for answers with and
// without matches.
//
// # Concurrency
//
// A [Set] is immutable once built and safe for concurrent use by any number
// of goroutines; a nil *Set is an empty set. [Watcher] and [Cache] are safe
// for concurrent use. A [Multi] is safe for concurrent use when its
// elements are and the slice itself is not modified. Implementations of
// [Matcher] and [Provider] must be safe for concurrent use. Nothing in the
// package starts a goroutine except [NewCache] (stopped by [Cache.Close]).
//
// # Limits
//
// STIX bundles and MISP events are read into memory whole. A Set parsed
// from a feed holds about 75 bytes per indicator, the text of the values
// included (BenchmarkLoad1M: 73 MB for 10^6 mixed indicators). The
// validity of a Cache's matches is judged by their ValidUntil only (a Match
// has no ValidFrom). The A-label conversion is a subset of UTS #46 (see
// above); STIX patterns are used only through their sufficient
// comparisons, never evaluated.
package ioc
