package suricata

import (
	"bytes"
	"net/netip"

	"github.com/exfilscore/exfilscore/internal/addrtext"
)

// parseAddr parses an address as Suricata writes it (IPv6 in full,
// uncompressed form) without allocating. Suricata never writes a zone: an
// address with one makes the line malformed.
func parseAddr(b []byte) (netip.Addr, bool) {
	if bytes.IndexByte(b, '%') >= 0 {
		return netip.Addr{}, false
	}
	return addrtext.Parse(b)
}

func hexVal(c byte) (int, bool) {
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
