package ioc

import "net/netip"

// Multi combines matchers, typically one per feed. LookupAddr and
// LookupDomain return the first match in slice order; AppendAddrMatches and
// AppendDomainMatches collect the match of every element, so that an alert
// can show the evidence of several feeds. Nil elements are skipped.
//
// A Multi is safe for concurrent use when its elements are and the slice is
// not modified meanwhile.
type Multi []Matcher

var _ Matcher = Multi(nil)

// LookupAddr returns the first element's match for addr.
func (m Multi) LookupAddr(addr netip.Addr) (Match, bool) {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := x.LookupAddr(addr); ok {
			return mt, true
		}
	}
	return Match{}, false
}

// LookupDomain returns the first element's match for name.
func (m Multi) LookupDomain(name string) (Match, bool) {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := x.LookupDomain(name); ok {
			return mt, true
		}
	}
	return Match{}, false
}

// Len returns the total number of indicators of the elements. An indicator
// present in several elements is counted once per element.
func (m Multi) Len() int {
	n := 0
	for _, x := range m {
		if x != nil {
			n += x.Len()
		}
	}
	return n
}

// AppendAddrMatches appends to dst the match of every element that matches
// addr, in slice order, and returns the extended slice.
func (m Multi) AppendAddrMatches(dst []Match, addr netip.Addr) []Match {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := x.LookupAddr(addr); ok {
			dst = append(dst, mt)
		}
	}
	return dst
}

// AppendDomainMatches appends to dst the match of every element that
// matches name, in slice order, and returns the extended slice.
func (m Multi) AppendDomainMatches(dst []Match, name string) []Match {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := x.LookupDomain(name); ok {
			dst = append(dst, mt)
		}
	}
	return dst
}
