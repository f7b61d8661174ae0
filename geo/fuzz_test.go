package geo_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/exfilscore/exfilscore/geo"
)

// FuzzOpen opens arbitrary bytes as a database. Every input either fails
// with a DatabaseError classified as ErrInvalid or ErrNoGeoFields, or
// opens into a provider whose lookups stay within the documented bounds.
// Never a panic, never a hang.
//
//	go test -run '^$' -fuzz FuzzOpen -fuzztime 60s ./geo
func FuzzOpen(f *testing.F) {
	seeds := [][]byte{
		buildDB(f, "GeoLite2-City", 6, []netRec{{"198.51.100.0/24", mmCity("DE", "Berlin")}, {"2001:db8::/32", mmCity("FR", "Paris")}}),
		buildDB(f, "GeoLite2-ASN", 4, []netRec{{"198.51.100.0/24", mmASN(64500, "Example")}}),
		buildDB(f, "GeoIP2-ISP", 6, []netRec{{"198.51.100.0/24", mmdbtype.Map{"isp": mmdbtype.String("ISP"), "autonomous_system_number": mmdbtype.Uint16(7)}}}),
		buildDB(f, "GeoIP2-Enterprise", 6, []netRec{{"198.51.100.0/25", mmdbtype.Map{"traits": mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(1)}}}}),
		buildDB(f, "ipinfo country_asn.mmdb", 6, []netRec{{"198.51.100.0/24", ipinfoCountryASN("JP", "AS2519", "ARTERIA")}}),
		buildDB(f, "ipinfo lite", 6, []netRec{{"198.51.100.0/24", ipinfoLite("GB", "United Kingdom", "AS1", "A")}}),
		buildDB(f, "Custom", 6, []netRec{{"198.51.100.0/24", mmdbtype.Slice{mmdbtype.String("x"), mmdbtype.Map{}}}}),
		buildDB(f, "GeoIP2-Domain", 6, []netRec{{"198.51.100.0/24", mmdbtype.Map{"domain": mmdbtype.String("example.com")}}}),
		[]byte("\xab\xcd\xefMaxMind.com"),
		nil,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	addrs := []netip.Addr{
		netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.200"),
		netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:198.51.100.1"),
		netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("255.255.255.255"),
		netip.MustParseAddr("::"), netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"),
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := geo.OpenMMDBBytes([][]byte{data}, geo.WithCache(16))
		if err != nil {
			var de *geo.DatabaseError
			if !errors.As(err, &de) || !errors.Is(err, geo.ErrInvalid) && !errors.Is(err, geo.ErrNoGeoFields) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		for _, a := range addrs {
			info, ok := m.Lookup(a)
			if ok != (info != geo.Info{}) || len(info.Country) > 8 || len(info.Org) > 1024 {
				t.Fatalf("Lookup(%s) = %+v, %v", a, info, ok)
			}
			if again, _ := m.Lookup(a); again != info { // from the cache
				t.Fatalf("cached answer %+v differs from %+v", again, info)
			}
		}
		if st := m.Stats(); st.LookupErrors != 0 {
			t.Fatalf("verified database gave %d lookup errors", st.LookupErrors)
		}
	})
}
