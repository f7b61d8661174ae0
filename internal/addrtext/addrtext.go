// Package addrtext parses IP addresses from byte slices without
// allocating, for the log parsers of package flowsrc: the answers are
// netip.ParseAddr's for every input without a zone (a differential test
// and a fuzz target pin it), and Parse falls back to netip.ParseAddr (one
// allocation) only for a zone.
package addrtext

import (
	"bytes"
	"net/netip"
)

// Parse parses an IPv4 or IPv6 address in the textual forms
// netip.ParseAddr accepts, without allocating: dotted decimal IPv4 (no
// leading zeros), and IPv6 with optional "::" and an optional trailing
// dotted IPv4 part, compressed or in full ("2001:0db8:0000:..."). An
// address with a zone ("fe80::1%eth0") is left to netip.ParseAddr.
func Parse(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, '%') >= 0 {
		a, err := netip.ParseAddr(string(b))
		return a, err == nil
	}
	for _, c := range b {
		switch c {
		case '.':
			v4, ok := parseIPv4(b)
			if !ok {
				return netip.Addr{}, false
			}
			return netip.AddrFrom4(v4), true
		case ':':
			return parseIPv6(b)
		}
	}
	return netip.Addr{}, false
}

func parseIPv4(b []byte) (ip [4]byte, ok bool) {
	n := 0 // octets done
	for i := 0; ; {
		if n == 4 {
			return ip, false
		}
		j := i
		v := 0
		for j < len(b) && '0' <= b[j] && b[j] <= '9' && j-i < 3 {
			v = v*10 + int(b[j]-'0')
			j++
		}
		switch {
		case j == i, v > 255, j-i > 1 && b[i] == '0':
			return ip, false
		}
		ip[n] = byte(v)
		n++
		if j == len(b) {
			return ip, n == 4
		}
		if b[j] != '.' {
			return ip, false
		}
		i = j + 1
	}
}

func parseIPv6(b []byte) (netip.Addr, bool) {
	var ip [16]byte
	ell := -1 // byte index in ip where "::" stands
	if len(b) >= 2 && b[0] == ':' && b[1] == ':' {
		ell = 0
		b = b[2:]
		if len(b) == 0 {
			return netip.AddrFrom16(ip), true
		}
	}
	i := 0
	for i < 16 {
		// One group of 1-4 hex digits.
		off, acc := 0, 0
		for off < len(b) {
			d, ok := hexDigit(b[off])
			if !ok {
				break
			}
			if off == 4 {
				return netip.Addr{}, false
			}
			acc = acc<<4 | d
			off++
		}
		if off == 0 {
			return netip.Addr{}, false
		}
		if off < len(b) && b[off] == '.' {
			// A trailing IPv4 part fills the last 32 bits.
			if ell < 0 && i != 12 || i > 12 {
				return netip.Addr{}, false
			}
			v4, ok := parseIPv4(b)
			if !ok {
				return netip.Addr{}, false
			}
			copy(ip[i:], v4[:])
			i += 4
			b = nil
			break
		}
		ip[i], ip[i+1] = byte(acc>>8), byte(acc)
		i += 2
		b = b[off:]
		if len(b) == 0 {
			break
		}
		if b[0] != ':' || len(b) == 1 {
			return netip.Addr{}, false
		}
		b = b[1:]
		if b[0] == ':' {
			if ell >= 0 {
				return netip.Addr{}, false
			}
			ell = i
			b = b[1:]
			if len(b) == 0 {
				break
			}
		}
	}
	if len(b) != 0 {
		return netip.Addr{}, false
	}
	if i < 16 {
		if ell < 0 {
			return netip.Addr{}, false
		}
		n := 16 - i
		copy(ip[ell+n:], ip[ell:i])
		clear(ip[ell : ell+n])
	} else if ell >= 0 {
		return netip.Addr{}, false
	}
	return netip.AddrFrom16(ip), true
}

func hexDigit(c byte) (int, bool) {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0'), true
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10, true
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10, true
	}
	return 0, false
}
