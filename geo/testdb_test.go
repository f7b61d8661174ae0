package geo_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// netRec is one network of a test database and its record.
type netRec struct {
	cidr string
	rec  mmdbtype.DataType
}

// buildDB writes a MaxMind DB of the given database_type (IPv6 tree unless
// ipVersion is 4) and returns its bytes.
func buildDB(tb testing.TB, dbType string, ipVersion int, nets []netRec) []byte {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType:            dbType,
		IPVersion:               ipVersion,
		RecordSize:              28,
		IncludeReservedNetworks: true,
		BuildEpoch:              1700000000,
		Description:             map[string]string{"en": "exfilscore geo test database"},
		Languages:               []string{"en", "de"},
	})
	if err != nil {
		tb.Fatal(err)
	}
	for _, n := range nets {
		_, ipn, err := net.ParseCIDR(n.cidr)
		if err != nil {
			tb.Fatal(err)
		}
		if err := tree.Insert(ipn, n.rec); err != nil {
			tb.Fatalf("insert %s: %v", n.cidr, err)
		}
	}
	var buf bytes.Buffer
	if _, err := tree.WriteTo(&buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// writeDB builds a database and writes it to dir/name.
func writeDB(tb testing.TB, dir, name, dbType string, ipVersion int, nets []netRec) string {
	tb.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, buildDB(tb, dbType, ipVersion, nets), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// replaceFile atomically replaces path with data (write + rename), as
// geoipupdate does.
func replaceFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		tb.Fatal(err)
	}
}

func names(en, de string) mmdbtype.Map {
	return mmdbtype.Map{"en": mmdbtype.String(en), "de": mmdbtype.String(de)}
}

// mmCountry is a GeoIP2/GeoLite2 Country record (also DB-IP Country Lite).
func mmCountry(iso, name string) mmdbtype.Map {
	return mmdbtype.Map{
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148), "names": names("Europe", "Europa")},
		"country": mmdbtype.Map{
			"geoname_id":           mmdbtype.Uint32(2921044),
			"is_in_european_union": mmdbtype.Bool(true),
			"iso_code":             mmdbtype.String(iso),
			"names":                names(name, name),
		},
		"registered_country": mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2921044), "iso_code": mmdbtype.String(iso), "names": names(name, name)},
	}
}

// mmCity is a GeoIP2/GeoLite2 City record (also DB-IP City Lite).
func mmCity(iso, city string) mmdbtype.Map {
	r := mmCountry(iso, "Somewhere")
	r["city"] = mmdbtype.Map{"geoname_id": mmdbtype.Uint32(2950159), "names": names(city, city)}
	r["location"] = mmdbtype.Map{
		"accuracy_radius": mmdbtype.Uint16(20),
		"latitude":        mmdbtype.Float64(52.52),
		"longitude":       mmdbtype.Float64(13.40),
		"time_zone":       mmdbtype.String("Europe/Berlin"),
	}
	r["postal"] = mmdbtype.Map{"code": mmdbtype.String("10115")}
	r["subdivisions"] = mmdbtype.Slice{mmdbtype.Map{"iso_code": mmdbtype.String("BE"), "names": names("Berlin", "Berlin")}}
	return r
}

// mmASN is a GeoLite2-ASN record (also DB-IP ASN Lite).
func mmASN(asn uint32, org string) mmdbtype.Map {
	r := mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(asn)}
	if org != "" {
		r["autonomous_system_organization"] = mmdbtype.String(org)
	}
	return r
}

// ipinfoLite is an IPinfo Lite record: country is the name, country_code
// the ISO code, asn a string.
func ipinfoLite(iso, country, asn, asName string) mmdbtype.Map {
	r := mmdbtype.Map{
		"country":        mmdbtype.String(country),
		"country_code":   mmdbtype.String(iso),
		"continent":      mmdbtype.String("Europe"),
		"continent_code": mmdbtype.String("EU"),
	}
	if asn != "" {
		r["asn"] = mmdbtype.String(asn)
		r["as_name"] = mmdbtype.String(asName)
		r["as_domain"] = mmdbtype.String("example.net")
	}
	return r
}

// ipinfoCountryASN is an IPinfo country_asn record: country is the ISO
// code.
func ipinfoCountryASN(iso, asn, asName string) mmdbtype.Map {
	return mmdbtype.Map{
		"country":        mmdbtype.String(iso),
		"country_name":   mmdbtype.String("Somewhere"),
		"continent":      mmdbtype.String("EU"),
		"continent_name": mmdbtype.String("Europe"),
		"asn":            mmdbtype.String(asn),
		"as_name":        mmdbtype.String(asName),
		"as_domain":      mmdbtype.String("example.net"),
	}
}
