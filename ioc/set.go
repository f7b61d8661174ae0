package ioc

import (
	"encoding/binary"
	"iter"
	"math"
	"net/netip"
	"slices"
)

// Set is an immutable set of indicators: exact IP addresses, CIDR prefixes
// and domain names. It implements Matcher.
//
// A Set is safe for concurrent use. A nil *Set is a valid, empty set.
type Set struct {
	feed    string
	inds    []Indicator // canonical, deduplicated, in input order
	addrs   map[netip.Addr]uint32
	v4      prefixTable[uint32]
	v6      prefixTable[netip.Addr]
	domains map[string]uint32
}

// prefixTable holds the prefixes of one address family: one map of masked
// prefix keys per prefix length present, longest length first. IPv4
// prefixes are keyed by their address as a uint32, IPv6 prefixes by their
// address.
type prefixTable[K comparable] struct {
	bits []int
	maps []map[K]uint32 // maps[i] holds the prefixes of length bits[i]
}

var _ Matcher = (*Set)(nil)

// NewSet returns a Set of the given indicators under the feed name feed.
//
// Indicators with an empty Feed take feed. Each Value is canonicalised for
// its Kind (a zero Kind is inferred from Value as ParseList does); an
// indicator whose Value is not valid for its Kind is left out, so Len may be
// smaller than len(inds). Duplicate values are kept once, the first
// occurrence winning. NewSet does not retain inds.
func NewSet(feed string, inds []Indicator) *Set {
	s := &Set{
		feed:    feed,
		inds:    make([]Indicator, 0, len(inds)),
		addrs:   make(map[netip.Addr]uint32),
		domains: make(map[string]uint32),
	}
	for _, ind := range inds {
		ind, err := canonicalize(ind)
		if err != nil {
			continue
		}
		if ind.Feed == "" {
			ind.Feed = feed
		}
		s.add(ind)
	}
	s.inds = slices.Clip(s.inds)
	return s
}

// add inserts a canonical indicator unless an equal one is present.
func (s *Set) add(ind Indicator) {
	idx := uint32(len(s.inds))
	switch ind.Kind {
	case KindIP:
		a := netip.MustParseAddr(ind.Value) // canonical, cannot fail
		if _, dup := s.addrs[a]; dup {
			return
		}
		s.addrs[a] = idx
	case KindCIDR:
		p := netip.MustParsePrefix(ind.Value) // canonical and masked
		var isNew bool
		if p.Addr().Is4() {
			isNew = s.v4.insert(p.Bits(), v4Key(p.Addr()), idx)
		} else {
			isNew = s.v6.insert(p.Bits(), p.Addr(), idx)
		}
		if !isNew {
			return
		}
	case KindDomain:
		if _, dup := s.domains[ind.Value]; dup {
			return
		}
		s.domains[ind.Value] = idx
	default:
		return
	}
	s.inds = append(s.inds, ind)
}

// insert adds the masked prefix key of length bits and reports whether it
// was new.
func (t *prefixTable[K]) insert(bits int, key K, idx uint32) bool {
	i, found := slices.BinarySearchFunc(t.bits, bits, func(have, want int) int {
		return want - have // descending order
	})
	if !found {
		t.bits = slices.Insert(t.bits, i, bits)
		t.maps = slices.Insert(t.maps, i, make(map[K]uint32))
	}
	if _, dup := t.maps[i][key]; dup {
		return false
	}
	t.maps[i][key] = idx
	return true
}

// v4Key returns the IPv4 address a as a uint32.
func v4Key(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// lookup4 returns the index of the longest IPv4 prefix containing a, which
// must be an IPv4 address.
func lookup4(t *prefixTable[uint32], a netip.Addr) (uint32, bool) {
	k := v4Key(a)
	for i, bits := range t.bits {
		// Clear the host bits: all for /0, none for /32.
		if idx, ok := t.maps[i][k&^(math.MaxUint32>>bits)]; ok {
			return idx, true
		}
	}
	return 0, false
}

// lookup6 returns the index of the longest IPv6 prefix containing a, which
// must be an IPv6 address without a zone.
func lookup6(t *prefixTable[netip.Addr], a netip.Addr) (uint32, bool) {
	for i, bits := range t.bits {
		p, _ := a.Prefix(bits)
		if idx, ok := t.maps[i][p.Addr()]; ok {
			return idx, true
		}
	}
	return 0, false
}

// Feed returns the feed name the set was built with.
func (s *Set) Feed() string {
	if s == nil {
		return ""
	}
	return s.feed
}

// Len returns the number of distinct indicators in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.inds)
}

// All yields the set's indicators, canonical, in the order they were first
// given.
func (s *Set) All() iter.Seq[Indicator] {
	return func(yield func(Indicator) bool) {
		if s == nil {
			return
		}
		for _, ind := range s.inds {
			if !yield(ind) {
				return
			}
		}
	}
}

// match returns the Match for the indicator at index idx.
func (s *Set) match(idx uint32) Match {
	ind := &s.inds[idx]
	return Match{Indicator: ind.Value, Type: ind.Kind.String(), Feed: ind.Feed}
}

// LookupAddr reports the indicator matching addr: an exact IP indicator
// first, then the longest CIDR indicator containing addr. An IPv4-mapped
// IPv6 address is looked up as the IPv4 address it carries; a zone is
// ignored. MatchedOn is left empty. LookupAddr does not allocate.
func (s *Set) LookupAddr(addr netip.Addr) (Match, bool) {
	if s == nil || !addr.IsValid() {
		return Match{}, false
	}
	addr = addr.Unmap().WithZone("")
	if idx, ok := s.addrs[addr]; ok {
		return s.match(idx), true
	}
	var idx uint32
	var ok bool
	if addr.Is4() {
		idx, ok = lookup4(&s.v4, addr)
	} else {
		idx, ok = lookup6(&s.v6, addr)
	}
	if ok {
		return s.match(idx), true
	}
	return Match{}, false
}

// LookupDomain reports the domain indicator matching name or one of its
// parent domains, the longest first: with "evil.example" in the set,
// "evil.example" and "a.evil.example" match, "notevil.example" does not.
// Case is ignored (ASCII only, as in DNS) and so is one trailing dot.
// MatchedOn is left empty. LookupDomain does not allocate.
func (s *Set) LookupDomain(name string) (Match, bool) {
	if s == nil || len(s.domains) == 0 {
		return Match{}, false
	}
	if n := len(name); n > 0 && name[n-1] == '.' {
		name = name[:n-1]
	}
	if len(name) == 0 || len(name) > maxDomainLen {
		return Match{}, false
	}
	if !hasUpper(name) {
		return s.lookupLower(name)
	}
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
	if idx, ok := s.domains[string(b)]; ok {
		return s.match(idx), true
	}
	for i, c := range b {
		if c == '.' {
			if idx, ok := s.domains[string(b[i+1:])]; ok {
				return s.match(idx), true
			}
		}
	}
	return Match{}, false
}

// lookupLower is LookupDomain for a name without upper-case letters.
func (s *Set) lookupLower(name string) (Match, bool) {
	if idx, ok := s.domains[name]; ok {
		return s.match(idx), true
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '.' {
			if idx, ok := s.domains[name[i+1:]]; ok {
				return s.match(idx), true
			}
		}
	}
	return Match{}, false
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
