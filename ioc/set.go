package ioc

import (
	"encoding/binary"
	"iter"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Set is an immutable set of indicators: exact IP addresses, CIDR prefixes
// and domain names, each with its evidence (feed, malware family, threat
// actor, confidence) and validity period. It implements Matcher and
// TimedMatcher.
//
// A Set is safe for concurrent use. A nil *Set is a valid, empty set.
type Set struct {
	feed    string
	format  Format
	entries []entry
	metas   []meta
	addr4   map[uint32]uint32   // exact IPv4 address → first entry
	addr6   map[[16]byte]uint32 // exact IPv6 address → first entry
	v4, v6  lpm                 // prefixes → first entry
	domains map[string]uint32   // domain → first entry
	next    map[uint32]uint32   // entry → next entry with the same value (nil when none)
	timed   bool                // some indicator has a validity bound
	skipped []Skip
}

// entry is one indicator of a Set: 24 bytes. Indicators with the same
// value but different validity periods are chained, in input order,
// through Set.next (rare, so kept out of the entry).
type entry struct {
	value string // canonical
	line  uint32
	mk    uint32 // index in Set.metas << 2 | Kind
}

func (e *entry) meta() uint32 { return e.mk >> 2 }
func (e *entry) kind() Kind   { return Kind(e.mk & 3) }

// meta is the evidence and validity shared by many entries (most feeds
// give the same family, actor and confidence to many indicators).
type meta struct {
	feed, malware, actor string
	confidence           int
	from, until          int64 // Unix microseconds; noFrom, noUntil when open
}

const (
	noFrom  = math.MinInt64
	noUntil = math.MaxInt64
)

var (
	_ Matcher      = (*Set)(nil)
	_ TimedMatcher = (*Set)(nil)
)

// micros converts t to Unix microseconds, saturating far from the epoch.
func micros(t time.Time) int64 {
	const maxSec = math.MaxInt64/1_000_000 - 1
	switch s := t.Unix(); {
	case s > maxSec:
		return noUntil - 1
	case s < -maxSec:
		return noFrom + 1
	}
	return t.UnixMicro()
}

// metaOf returns the meta of a valid indicator.
func metaOf(ind *Indicator) meta {
	m := meta{feed: ind.Feed, malware: ind.MalwareFamily, actor: ind.ThreatActor, confidence: ind.Confidence, from: noFrom, until: noUntil}
	if !ind.ValidFrom.IsZero() {
		m.from = micros(ind.ValidFrom)
	}
	if !ind.ValidUntil.IsZero() {
		m.until = micros(ind.ValidUntil)
	}
	return m
}

// builder accumulates the indicators of a Set; finish builds the prefix
// tables.
type builder struct {
	s      *Set
	metas  map[meta]uint32
	pfx    map[netip.Prefix]uint32
	items4 []lpmItem
	items6 []lpmItem
	skips  map[string]int // reason → index in s.skipped

	last    meta // the meta of the last indicator added, to skip the map
	lastIdx uint32
	hasLast bool
}

// newBuilder returns a builder; n is the number of indicators expected (0
// when unknown).
func newBuilder(feed string, f Format, n int) *builder {
	return &builder{
		s: &Set{
			feed:    feed,
			format:  f,
			entries: make([]entry, 0, n),
			addr4:   make(map[uint32]uint32),
			addr6:   make(map[[16]byte]uint32),
			domains: make(map[string]uint32),
		},
		metas: make(map[meta]uint32),
		pfx:   make(map[netip.Prefix]uint32),
		skips: make(map[string]int),
	}
}

// add inserts a canonical, valid indicator (see checkMeta) unless it is a
// duplicate: an equal value whose validity period covers the new one's.
// It reports whether the indicator was added.
func (b *builder) add(ind Indicator) bool {
	s := b.s
	if ind.Feed == "" {
		ind.Feed = s.feed
	}
	m := metaOf(&ind)
	idx := uint32(len(s.entries))
	var head uint32
	var found bool
	switch ind.Kind {
	case KindIP:
		a := netip.MustParseAddr(ind.Value) // canonical, cannot fail
		if a.Is4() {
			k := v4Key(a)
			if head, found = s.addr4[k]; !found {
				s.addr4[k] = idx
			}
		} else {
			k := a.As16()
			if head, found = s.addr6[k]; !found {
				s.addr6[k] = idx
			}
		}
	case KindCIDR:
		p := netip.MustParsePrefix(ind.Value) // canonical and masked
		if head, found = b.pfx[p]; !found {
			b.pfx[p] = idx
			it := lpmItem{bits: uint8(p.Bits()), val: idx}
			if p.Addr().Is4() {
				a4 := p.Addr().As4()
				copy(it.addr[:], a4[:])
				b.items4 = append(b.items4, it)
			} else {
				it.addr = p.Addr().As16()
				b.items6 = append(b.items6, it)
			}
		}
	case KindDomain:
		if head, found = s.domains[ind.Value]; !found {
			s.domains[ind.Value] = idx
		}
	default:
		return false
	}
	if found {
		// Keep the new one only if no indicator of the chain is valid
		// whenever it is.
		last := head
		for i, more := head, true; more; i, more = s.next[i] {
			if hm := &s.metas[s.entries[i].meta()]; hm.from <= m.from && hm.until >= m.until {
				return false
			}
			last = i
		}
		if s.next == nil {
			s.next = make(map[uint32]uint32)
		}
		s.next[last] = idx
	}
	mi, ok := b.lastIdx, b.hasLast && b.last == m
	if !ok {
		mi, ok = b.metas[m]
	}
	if !ok {
		// Parsers' strings may share a larger buffer (a CSV record).
		m.feed, m.malware, m.actor = strings.Clone(m.feed), strings.Clone(m.malware), strings.Clone(m.actor)
		mi = uint32(len(s.metas))
		s.metas = append(s.metas, m)
		b.metas[m] = mi
		if m.from != noFrom || m.until != noUntil {
			s.timed = true
		}
	}
	b.last, b.lastIdx, b.hasLast = m, mi, true
	line := uint32(0)
	if ind.Line > 0 {
		line = uint32(min(uint64(ind.Line), math.MaxUint32))
	}
	s.entries = append(s.entries, entry{value: ind.Value, line: line, mk: mi<<2 | uint32(ind.Kind)})
	return true
}

// skip counts an entry left out for reason; where locates it.
func (b *builder) skip(reason, where string) {
	if i, ok := b.skips[reason]; ok {
		b.s.skipped[i].Count++
		return
	}
	b.skips[reason] = len(b.s.skipped)
	b.s.skipped = append(b.s.skipped, Skip{Reason: reason, Count: 1, First: where})
}

// finish builds the prefix tables and returns the Set.
func (b *builder) finish() *Set {
	s := b.s
	s.v4 = buildLPM(b.items4)
	s.v6 = buildLPM(b.items6)
	s.entries = trim(s.entries)
	s.metas = trim(s.metas)
	b.s = nil
	return s
}

// trim returns s in an array of its length, so that the spare capacity of
// a slice grown by appends is not kept alive by an immutable set.
func trim[T any](s []T) []T {
	if cap(s)-len(s) <= len(s)/16 {
		return s
	}
	return slices.Clone(s)
}

// checkMeta validates the evidence fields of an indicator.
func checkMeta(ind *Indicator) error {
	switch {
	case ind.Confidence < 0 || ind.Confidence > 100:
		return reason("confidence outside 0 to 100")
	case !ind.ValidFrom.IsZero() && !ind.ValidUntil.IsZero() && !ind.ValidUntil.After(ind.ValidFrom):
		return reason("valid_until is not after valid_from")
	}
	return nil
}

// NewSet returns a Set of the given indicators under the feed name feed.
//
// Indicators with an empty Feed take feed. Each Value is canonicalised for
// its Kind (a zero Kind is inferred from Value as ParseList does); an
// indicator whose Value is not valid for its Kind, whose Confidence is
// outside 0 to 100 or whose ValidUntil is not after its ValidFrom is left
// out, so Len may be smaller than len(inds). Duplicate values are kept
// once, the first occurrence winning, unless a later one is valid at times
// the earlier ones are not (see the package documentation). NewSet does
// not retain inds.
func NewSet(feed string, inds []Indicator) *Set {
	b := newBuilder(feed, 0, len(inds))
	for _, ind := range inds {
		ind, err := canonicalize(ind)
		if err != nil || checkMeta(&ind) != nil {
			continue
		}
		b.add(ind)
	}
	return b.finish()
}

// v4Key returns the IPv4 address a as a uint32.
func v4Key(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// Feed returns the feed name the set was built with.
func (s *Set) Feed() string {
	if s == nil {
		return ""
	}
	return s.feed
}

// Format returns the format the set was parsed from, 0 (FormatAuto) for
// a set made by NewSet.
func (s *Set) Format() Format {
	if s == nil {
		return 0
	}
	return s.format
}

// Len returns the number of indicators in the set. An indicator given
// several times with validity periods that do not cover each other counts
// once per period.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.entries)
}

// Skipped returns what the parser left out, by reason, in the order the
// reasons first occurred. The caller must not modify the slice.
func (s *Set) Skipped() []Skip {
	if s == nil {
		return nil
	}
	return s.skipped
}

// All yields the set's indicators, canonical, with their evidence, in the
// order they were first given.
func (s *Set) All() iter.Seq[Indicator] {
	return func(yield func(Indicator) bool) {
		if s == nil {
			return
		}
		for i := range s.entries {
			e := &s.entries[i]
			m := &s.metas[e.meta()]
			ind := Indicator{
				Value: e.value, Kind: e.kind(), Feed: m.feed, Line: int(e.line),
				MalwareFamily: m.malware, ThreatActor: m.actor, Confidence: m.confidence,
			}
			if m.from != noFrom {
				ind.ValidFrom = time.UnixMicro(m.from).UTC()
			}
			if m.until != noUntil {
				ind.ValidUntil = time.UnixMicro(m.until).UTC()
			}
			if !yield(ind) {
				return
			}
		}
	}
}

// match returns the Match for the entry at index idx.
func (s *Set) match(idx uint32) Match {
	e := &s.entries[idx]
	m := &s.metas[e.meta()]
	mt := Match{
		Indicator: e.value, Type: e.kind().String(), Feed: m.feed,
		MalwareFamily: m.malware, ThreatActor: m.actor, Confidence: m.confidence,
	}
	if m.until != noUntil {
		mt.ValidUntil = time.UnixMicro(m.until).UTC()
	}
	return mt
}

// pick returns the first entry of the chain starting at head that is valid
// at tn (Unix microseconds), or head itself when check is false.
func (s *Set) pick(head uint32, tn int64, check bool) (uint32, bool) {
	if !check {
		return head, true
	}
	for i, more := head, true; more; i, more = s.next[i] {
		if m := &s.metas[s.entries[i].meta()]; m.from <= tn && tn < m.until {
			return i, true
		}
	}
	return 0, false
}

// when returns t in Unix microseconds and whether validity must be checked
// at all: not when t is zero or no indicator has a validity bound.
func (s *Set) when(t time.Time) (int64, bool) {
	if !s.timed || t.IsZero() {
		return 0, false
	}
	return micros(t), true
}

// now returns the time the time-less lookups judge validity at: the wall
// clock for a set with validity bounds, zero (no check) otherwise, so that
// a set without bounds never reads the clock.
func (s *Set) now() time.Time {
	if s != nil && s.timed {
		return time.Now()
	}
	return time.Time{}
}

// LookupAddr is LookupAddrAt(addr, time.Now()): validity is judged by the
// wall clock (which is read only when the set has validity bounds). Use
// LookupAddrAt with the flow's time for results that do not depend on the
// day they are computed.
func (s *Set) LookupAddr(addr netip.Addr) (Match, bool) {
	return s.LookupAddrAt(addr, s.now())
}

// LookupAddrAt reports the indicator valid at t matching addr: an exact IP
// indicator first, then the longest CIDR indicator containing addr (a
// longer prefix whose indicators are not valid at t gives way to a shorter
// one). An IPv4-mapped IPv6 address is looked up as the IPv4 address it
// carries; a zone is ignored. A zero t disables the validity check.
// MatchedOn is left empty. LookupAddrAt does not allocate.
func (s *Set) LookupAddrAt(addr netip.Addr, t time.Time) (Match, bool) {
	if s == nil || !addr.IsValid() {
		return Match{}, false
	}
	tn, check := s.when(t)
	addr = addr.Unmap()
	var key [16]byte
	if addr.Is4() {
		k := v4Key(addr)
		if head, ok := s.addr4[k]; ok {
			if i, ok := s.pick(head, tn, check); ok {
				return s.match(i), true
			}
		}
		binary.BigEndian.PutUint32(key[:4], k)
		if i, ok := s.v4.lookup(&key, s, tn, check); ok {
			return s.match(i), true
		}
		return Match{}, false
	}
	key = addr.As16()
	if head, ok := s.addr6[key]; ok {
		if i, ok := s.pick(head, tn, check); ok {
			return s.match(i), true
		}
	}
	if i, ok := s.v6.lookup(&key, s, tn, check); ok {
		return s.match(i), true
	}
	return Match{}, false
}

// LookupDomain is LookupDomainAt(name, time.Now()): validity is judged by
// the wall clock (which is read only when the set has validity bounds).
func (s *Set) LookupDomain(name string) (Match, bool) {
	return s.LookupDomainAt(name, s.now())
}

// LookupDomainAt reports the domain indicator valid at t matching name or
// one of its parent domains, the longest first: with "evil.example" in the
// set, "evil.example" and "a.evil.example" match, "notevil.example" does
// not. Case is ignored and so is one trailing dot. A name with non-ASCII
// characters is converted to its A-label form first (this allocates; an
// unconvertible name matches nothing). A zero t disables the validity
// check. MatchedOn is left empty. For an ASCII name LookupDomainAt does
// not allocate.
func (s *Set) LookupDomainAt(name string, t time.Time) (Match, bool) {
	if s == nil || len(s.domains) == 0 {
		return Match{}, false
	}
	tn, check := s.when(t)
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	if len(name) == 0 {
		return Match{}, false
	}
	if !isASCII(name) {
		a, err := toALabels(name)
		if err != nil {
			return Match{}, false
		}
		name = a
	}
	if len(name) > maxDomainLen {
		return Match{}, false
	}
	var i uint32
	var ok bool
	if hasUpper(name) {
		i, ok = s.lookupUpper(name, tn, check)
	} else {
		i, ok = s.lookupLower(name, tn, check)
	}
	if !ok {
		return Match{}, false
	}
	return s.match(i), true
}

// lookupUpper is lookupLower for a name with upper-case letters, which it
// lowers in a stack buffer (a separate function, so that the common path
// does not clear the buffer).
//
//go:noinline
func (s *Set) lookupUpper(name string, tn int64, check bool) (uint32, bool) {
	var buf [maxDomainLen]byte
	b := buf[:len(name)]
	for i := range len(name) {
		c := name[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	// m[string(b)] does not allocate.
	if head, ok := s.domains[string(b)]; ok {
		if i, ok := s.pick(head, tn, check); ok {
			return i, true
		}
	}
	for j, c := range b {
		if c == '.' {
			if head, ok := s.domains[string(b[j+1:])]; ok {
				if i, ok := s.pick(head, tn, check); ok {
					return i, true
				}
			}
		}
	}
	return 0, false
}

// lookupLower returns the entry matching a name without upper-case
// letters: the name itself or its longest parent in the set.
func (s *Set) lookupLower(name string, tn int64, check bool) (uint32, bool) {
	if head, ok := s.domains[name]; ok {
		if i, ok := s.pick(head, tn, check); ok {
			return i, true
		}
	}
	for j := 0; j < len(name); j++ {
		if name[j] == '.' {
			if head, ok := s.domains[name[j+1:]]; ok {
				if i, ok := s.pick(head, tn, check); ok {
					return i, true
				}
			}
		}
	}
	return 0, false
}

// hasUpper reports whether s contains an ASCII upper-case letter.
func hasUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'A' <= c && c <= 'Z' {
			return true
		}
	}
	return false
}
