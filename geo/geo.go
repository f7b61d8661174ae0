package geo

import (
	"net/netip"
	"slices"
)

// Info is what a Provider knows about an address. Empty fields are unknown.
type Info struct {
	// Country is the ISO 3166-1 alpha-2 code ("DE").
	Country string
	// ASN is the autonomous system number; 0 when unknown.
	ASN uint32
	// Org is the AS organisation's name.
	Org string
}

// Provider looks up an address. Implementations must be safe for
// concurrent use and must not block for long: a provider that calls a
// remote service needs its own cache.
type Provider interface {
	Lookup(addr netip.Addr) (Info, bool)
}

// ProviderFunc adapts a function to a Provider.
type ProviderFunc func(addr netip.Addr) (Info, bool)

// Lookup calls f(addr).
func (f ProviderFunc) Lookup(addr netip.Addr) (Info, bool) { return f(addr) }

// Table is an immutable Provider over a fixed list of prefixes, for tests,
// demos and small static deployments; the longest matching prefix wins.
// Safe for concurrent use.
type Table struct {
	entries []tableEntry
}

type tableEntry struct {
	prefix netip.Prefix
	info   Info
}

// NewTable builds a Table from prefix → Info. IPv4-mapped prefixes are
// unmapped; prefixes are masked.
func NewTable(m map[netip.Prefix]Info) *Table {
	t := &Table{}
	for p, info := range m {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		t.entries = append(t.entries, tableEntry{p.Masked(), info})
	}
	// Longest prefix first, then by address for a deterministic order.
	slices.SortFunc(t.entries, func(x, y tableEntry) int {
		if x.prefix.Bits() != y.prefix.Bits() {
			return y.prefix.Bits() - x.prefix.Bits()
		}
		return x.prefix.Addr().Compare(y.prefix.Addr())
	})
	return t
}

// Lookup returns the Info of the longest prefix containing addr.
func (t *Table) Lookup(addr netip.Addr) (Info, bool) {
	addr = addr.Unmap()
	for _, e := range t.entries {
		if e.prefix.Contains(addr) {
			return e.info, true
		}
	}
	return Info{}, false
}
