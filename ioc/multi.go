package ioc

import (
	"net/netip"
	"time"
)

// Multi combines matchers, typically one per feed. LookupAddr and
// LookupDomain return the first match in slice order; AppendAddrMatches and
// AppendDomainMatches collect the match of every element, so that an alert
// can show the evidence of several feeds. The At variants judge validity
// at the given time (the flow's) for the elements that are TimedMatchers;
// the others judge it by the wall clock (see Set.LookupAddr). Nil
// elements are skipped.
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

var _ TimedMatcher = Multi(nil)

// addrAt looks addr up in x at t: with LookupAddrAt when x is a
// TimedMatcher, else with LookupAddr (a plain Matcher has no notion of
// validity).
func addrAt(x Matcher, addr netip.Addr, t time.Time) (Match, bool) {
	if tm, ok := x.(TimedMatcher); ok {
		return tm.LookupAddrAt(addr, t)
	}
	return x.LookupAddr(addr)
}

// domainAt is addrAt for a domain name.
func domainAt(x Matcher, name string, t time.Time) (Match, bool) {
	if tm, ok := x.(TimedMatcher); ok {
		return tm.LookupDomainAt(name, t)
	}
	return x.LookupDomain(name)
}

// LookupAddrAt returns the first element's match for addr valid at t.
// Elements that are not TimedMatchers are asked with LookupAddr.
func (m Multi) LookupAddrAt(addr netip.Addr, t time.Time) (Match, bool) {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := addrAt(x, addr, t); ok {
			return mt, true
		}
	}
	return Match{}, false
}

// LookupDomainAt returns the first element's match for name valid at t.
// Elements that are not TimedMatchers are asked with LookupDomain.
func (m Multi) LookupDomainAt(name string, t time.Time) (Match, bool) {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := domainAt(x, name, t); ok {
			return mt, true
		}
	}
	return Match{}, false
}

// AppendAddrMatchesAt appends to dst the match valid at t of every
// element that matches addr, in slice order, and returns the extended
// slice. It is the call for a flow's destination address, with the flow's
// time. It allocates only to grow dst.
func (m Multi) AppendAddrMatchesAt(dst []Match, addr netip.Addr, t time.Time) []Match {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := addrAt(x, addr, t); ok {
			dst = append(dst, mt)
		}
	}
	return dst
}

// AppendDomainMatchesAt appends to dst the match valid at t of every
// element that matches name, in slice order, and returns the extended
// slice. It is the call for a flow's SNI, HTTP host or DNS name, with the
// flow's time.
func (m Multi) AppendDomainMatchesAt(dst []Match, name string, t time.Time) []Match {
	for _, x := range m {
		if x == nil {
			continue
		}
		if mt, ok := domainAt(x, name, t); ok {
			dst = append(dst, mt)
		}
	}
	return dst
}
