package geo_test

import (
	"net/netip"
	"testing"

	"github.com/exfilscore/exfilscore/geo"
)

func TestTableLongestPrefix(t *testing.T) {
	tab := geo.NewTable(map[netip.Prefix]geo.Info{
		netip.MustParsePrefix("198.51.100.0/24"):      {Country: "DE", ASN: 64500, Org: "Wide"},
		netip.MustParsePrefix("198.51.100.128/25"):    {Country: "FR", ASN: 64501, Org: "Narrow"},
		netip.MustParsePrefix("::ffff:192.0.2.0/120"): {Country: "NL"},
		netip.MustParsePrefix("2001:db8::/32"):        {Country: "JP"},
	})
	cases := []struct {
		addr string
		want string
		ok   bool
	}{
		{"198.51.100.1", "DE", true},
		{"198.51.100.200", "FR", true},
		{"192.0.2.7", "NL", true},
		{"::ffff:198.51.100.129", "FR", true},
		{"2001:db8::1", "JP", true},
		{"203.0.113.1", "", false},
	}
	for _, c := range cases {
		got, ok := tab.Lookup(netip.MustParseAddr(c.addr))
		if ok != c.ok || got.Country != c.want {
			t.Errorf("Lookup(%s) = %+v, %v; want %q, %v", c.addr, got, ok, c.want, c.ok)
		}
	}
}
