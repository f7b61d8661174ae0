package exfil

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"strings"
)

// HomeNet says which addresses are internal. An aggregate exists only for
// conversations that an internal host opened towards an external one.
//
// The zero HomeNet has no internal range; use DefaultHomeNet or
// ParseHomeNet. A HomeNet is immutable once built and safe for concurrent
// use.
type HomeNet struct {
	internal []netip.Prefix
	owned    []netip.Prefix
	// The IPv4 prefixes of internal and owned, for the per-record tests.
	internal4, owned4 []prefix4
	// by8 classifies each first octet of an IPv4 address: whether an
	// internal (owned) prefix covers all of that /8, some of it, or none,
	// so that most addresses are answered without a scan. The zero value
	// says none, which is right for the zero HomeNet.
	by8 [256]uint8
}

// Bits of HomeNet.by8.
const (
	inSome  uint8 = 1 << iota // an internal prefix covers part of the /8
	inAll                     // an internal prefix covers all of it
	ownSome                   // likewise for the owned prefixes
	ownAll
)

// classify8 sets the bits of the /8s that ps cover: all when a prefix is
// /8 or shorter, some otherwise.
func classify8(by8 *[256]uint8, ps []prefix4, some, all uint8) {
	for _, p := range ps {
		lo, hi := p.addr>>24, (p.addr|^p.mask)>>24
		bit := all
		if p.mask&0x00ffffff != 0 { // longer than /8: within one /8
			bit = some
		}
		for o := lo; o <= hi; o++ {
			by8[o] |= bit
		}
	}
}

// internal4v and owned4v report whether the IPv4 address v (big-endian)
// is internal, owned: from by8 when it decides, else by a scan.
func (h *HomeNet) internal4v(v uint32) bool {
	c := h.by8[v>>24]
	if c&inAll != 0 {
		return true
	}
	return c&inSome != 0 && contains4(h.internal4, v)
}

func (h *HomeNet) owned4v(v uint32) bool {
	c := h.by8[v>>24]
	if c&ownAll != 0 {
		return true
	}
	return c&ownSome != 0 && contains4(h.owned4, v)
}

// prefix4 is an IPv4 prefix as a masked address and its mask.
type prefix4 struct{ addr, mask uint32 }

func prefixes4(ps []netip.Prefix) []prefix4 {
	var out []prefix4
	for _, p := range ps {
		if p.Addr().Is4() {
			out = append(out, prefix4{addr4(p.Addr()), ^uint32(0) << (32 - p.Bits())})
		}
	}
	return out
}

// addr4 is an IPv4 address as a big-endian integer.
func addr4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

// DefaultHomeNet is RFC 1918: 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16.
func DefaultHomeNet() HomeNet {
	return NewHomeNet([]netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"),
	}, nil)
}

// NewHomeNet builds a home net from internal prefixes and "owned but
// external-facing" prefixes (addresses the organisation owns that are
// reachable from outside, such as a DMZ: they are never treated as an
// exfiltration destination). Prefixes are masked; IPv4-mapped IPv6 prefixes
// are unmapped.
func NewHomeNet(internal, ownedExternal []netip.Prefix) HomeNet {
	h := HomeNet{internal: normPrefixes(internal), owned: normPrefixes(ownedExternal)}
	h.internal4, h.owned4 = prefixes4(h.internal), prefixes4(h.owned)
	classify8(&h.by8, h.internal4, inSome, inAll)
	classify8(&h.by8, h.owned4, ownSome, ownAll)
	return h
}

func normPrefixes(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

// ParseHomeNet parses a comma-separated list of CIDRs (or bare addresses)
// that replaces the default home net. Whitespace around entries is
// ignored; an empty list is an error.
func ParseHomeNet(s string) (HomeNet, error) {
	ps, err := ParsePrefixes(s)
	if err != nil {
		return HomeNet{}, err
	}
	if len(ps) == 0 {
		return HomeNet{}, fmt.Errorf("exfil: home net %q is empty", s)
	}
	return NewHomeNet(ps, nil), nil
}

// ParsePrefixes parses a comma-separated list of CIDRs or addresses.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if strings.Contains(f, "/") {
			p, err := netip.ParsePrefix(f)
			if err != nil {
				return nil, fmt.Errorf("exfil: bad CIDR %q: %v", f, err)
			}
			out = append(out, p)
			continue
		}
		a, err := netip.ParseAddr(f)
		if err != nil {
			return nil, fmt.Errorf("exfil: bad address %q: %v", f, err)
		}
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// Internal reports whether a is in the home net.
func (h *HomeNet) Internal(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		return h.internal4v(addr4(a))
	}
	return contains(h.internal, a)
}

// Owned reports whether a is in an owned external-facing range.
func (h *HomeNet) Owned(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		return h.owned4v(addr4(a))
	}
	return contains(h.owned, a)
}

// External reports whether a can be an exfiltration destination: neither
// internal nor owned.
func (h *HomeNet) External(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		v := addr4(a)
		return !h.internal4v(v) && !h.owned4v(v)
	}
	return !contains(h.internal, a) && !contains(h.owned, a)
}

func contains4(ps []prefix4, v uint32) bool {
	for _, p := range ps {
		if v&p.mask == p.addr {
			return true
		}
	}
	return false
}

// Prefixes returns copies of the internal and owned prefixes.
func (h *HomeNet) Prefixes() (internal, owned []netip.Prefix) {
	return append([]netip.Prefix(nil), h.internal...), append([]netip.Prefix(nil), h.owned...)
}

// String lists the internal prefixes, comma-separated.
func (h HomeNet) String() string {
	var b strings.Builder
	for i, p := range h.internal {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

func contains(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
