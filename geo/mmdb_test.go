package geo_test

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/exfilscore/exfilscore/geo"
)

type probe struct {
	addr string
	want geo.Info
	ok   bool
}

func checkProbes(t *testing.T, p geo.Provider, probes []probe) {
	t.Helper()
	for _, pr := range probes {
		got, ok := p.Lookup(netip.MustParseAddr(pr.addr))
		if ok != pr.ok || got != pr.want {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v, %v", pr.addr, got, ok, pr.want, pr.ok)
		}
	}
}

// TestLayouts opens one database of every supported layout and checks what
// lookups give, including IPv4-mapped IPv6 and zoned addresses.
func TestLayouts(t *testing.T) {
	cases := []struct {
		name, dbType string
		ipVersion    int
		nets         []netRec
		layout       string
		fields       string
		probes       []probe
	}{{
		name: "GeoLite2-Country", dbType: "GeoLite2-Country",
		nets:   []netRec{{"198.51.100.0/24", mmCountry("DE", "Germany")}, {"2001:db8::/32", mmCountry("JP", "Japan")}},
		layout: "maxmind", fields: "country",
		probes: []probe{
			{"198.51.100.7", geo.Info{Country: "DE"}, true},
			{"::ffff:198.51.100.7", geo.Info{Country: "DE"}, true},
			{"2001:db8::1", geo.Info{Country: "JP"}, true},
			{"fe80::1%eth0", geo.Info{}, false},
			{"203.0.113.1", geo.Info{}, false},
		},
	}, {
		name: "GeoIP2-City", dbType: "GeoIP2-City",
		nets:   []netRec{{"198.51.100.0/24", mmCity("DE", "Berlin")}, {"2001:db8::/32", mmCity("FR", "Paris")}},
		layout: "maxmind", fields: "country",
		probes: []probe{
			{"198.51.100.200", geo.Info{Country: "DE"}, true},
			{"2001:db8:1::%eth0", geo.Info{Country: "FR"}, true},
		},
	}, {
		name: "GeoLite2-ASN", dbType: "GeoLite2-ASN",
		nets:   []netRec{{"198.51.100.0/24", mmASN(64500, "Example Net")}, {"198.51.101.0/24", mmASN(64501, "")}},
		layout: "maxmind", fields: "asn,org",
		probes: []probe{
			{"198.51.100.1", geo.Info{ASN: 64500, Org: "Example Net"}, true},
			{"198.51.101.1", geo.Info{ASN: 64501}, true},
			{"::ffff:198.51.101.1", geo.Info{ASN: 64501}, true},
		},
	}, {
		name: "GeoIP2-ISP", dbType: "GeoIP2-ISP",
		nets: []netRec{
			{"198.51.100.0/24", mmdbtype.Map{
				"autonomous_system_number": mmdbtype.Uint32(1221), "autonomous_system_organization": mmdbtype.String("Telstra Pty Ltd"),
				"isp": mmdbtype.String("Telstra Internet"), "organization": mmdbtype.String("Telstra Internet"),
			}},
			{"198.51.101.0/24", mmdbtype.Map{"isp": mmdbtype.String("TOT Public Company Limited")}},
			{"198.51.102.0/24", mmdbtype.Map{"isp": mmdbtype.String("Some ISP"), "organization": mmdbtype.String("Some Org")}},
		},
		layout: "maxmind", fields: "asn,org",
		probes: []probe{
			{"198.51.100.1", geo.Info{ASN: 1221, Org: "Telstra Pty Ltd"}, true},
			{"198.51.101.1", geo.Info{Org: "TOT Public Company Limited"}, true},
			{"198.51.102.1", geo.Info{Org: "Some Org"}, true},
		},
	}, {
		name: "GeoIP2-Enterprise", dbType: "GeoIP2-Enterprise",
		nets: []netRec{{"198.51.100.0/24", func() mmdbtype.Map {
			r := mmCity("NL", "Amsterdam")
			r["traits"] = mmdbtype.Map{
				"autonomous_system_number":       mmdbtype.Uint32(64502),
				"autonomous_system_organization": mmdbtype.String("Enterprise AS"),
				"isp":                            mmdbtype.String("Enterprise ISP"),
				"organization":                   mmdbtype.String("Enterprise Org"),
				"connection_type":                mmdbtype.String("Corporate"),
			}
			return r
		}()}},
		layout: "maxmind", fields: "country,asn,org",
		probes: []probe{{"198.51.100.9", geo.Info{Country: "NL", ASN: 64502, Org: "Enterprise AS"}, true}},
	}, {
		name: "DBIP-Country-Lite", dbType: "DBIP-Country-Lite",
		nets:   []netRec{{"198.51.100.0/24", mmCountry("AT", "Austria")}},
		layout: "maxmind", fields: "country",
		probes: []probe{{"198.51.100.9", geo.Info{Country: "AT"}, true}},
	}, {
		name: "DBIP-City-Lite", dbType: "DBIP-City-Lite",
		nets:   []netRec{{"198.51.100.0/24", mmCity("CH", "Zurich")}},
		layout: "maxmind", fields: "country",
		probes: []probe{{"198.51.100.9", geo.Info{Country: "CH"}, true}},
	}, {
		name: "DBIP-ASN-Lite", dbType: "DBIP-ASN-Lite (compat=GeoLite2-ASN)",
		nets:   []netRec{{"198.51.100.0/24", mmASN(3320, "Deutsche Telekom AG")}},
		layout: "maxmind", fields: "asn,org",
		probes: []probe{{"198.51.100.9", geo.Info{ASN: 3320, Org: "Deutsche Telekom AG"}, true}},
	}, {
		name: "DBIP-Location-ISP", dbType: "DBIP-Location-ISP (compat=Enterprise)",
		nets: []netRec{{"198.51.100.0/24", func() mmdbtype.Map {
			r := mmCity("BE", "Brussels")
			r["traits"] = mmdbtype.Map{
				"autonomous_system_number":       mmdbtype.Uint32(5432),
				"autonomous_system_organization": mmdbtype.String("Proximus NV"),
				"isp":                            mmdbtype.String("Proximus"),
			}
			return r
		}()}},
		layout: "maxmind", fields: "country,asn,org",
		probes: []probe{{"198.51.100.9", geo.Info{Country: "BE", ASN: 5432, Org: "Proximus NV"}, true}},
	}, {
		name: "IPinfo Lite", dbType: "ipinfo bundle_location_lite.mmdb",
		nets: []netRec{
			{"198.51.100.0/24", ipinfoLite("GB", "United Kingdom", "AS20712", "Andrews & Arnold Ltd")},
			{"198.51.101.0/24", ipinfoLite("SE", "Sweden", "", "")},
			{"2001:db8::/48", ipinfoLite("DE", "Germany", "AS64496", "Example Networks")},
		},
		layout: "ipinfo", fields: "country,asn,org",
		probes: []probe{
			{"198.51.100.1", geo.Info{Country: "GB", ASN: 20712, Org: "Andrews & Arnold Ltd"}, true},
			{"198.51.101.1", geo.Info{Country: "SE"}, true},
			{"2001:db8::5", geo.Info{Country: "DE", ASN: 64496, Org: "Example Networks"}, true},
		},
	}, {
		// The same records under a database_type not recognised as
		// IPinfo's: the generic reading still maps them.
		name: "IPinfo Lite, unknown type", dbType: "bundle_location_lite",
		nets: []netRec{
			{"198.51.100.0/24", ipinfoLite("GB", "United Kingdom", "AS20712", "Andrews & Arnold Ltd")},
			{"198.51.101.0/24", ipinfoLite("SE", "Sweden", "", "")},
		},
		layout: "generic", fields: "country,asn,org",
		probes: []probe{
			{"198.51.100.1", geo.Info{Country: "GB", ASN: 20712, Org: "Andrews & Arnold Ltd"}, true},
			{"198.51.101.1", geo.Info{Country: "SE"}, true},
		},
	}, {
		name: "IPinfo country_asn", dbType: "ipinfo country_asn.mmdb",
		nets:   []netRec{{"198.51.100.0/24", ipinfoCountryASN("JP", "AS2519", "ARTERIA Networks Corporation")}},
		layout: "ipinfo", fields: "country,asn,org",
		probes: []probe{{"198.51.100.1", geo.Info{Country: "JP", ASN: 2519, Org: "ARTERIA Networks Corporation"}, true}},
	}, {
		name: "IPinfo asn", dbType: "ipinfo asn.mmdb",
		nets: []netRec{{"198.51.100.0/24", mmdbtype.Map{
			"asn": mmdbtype.String("AS15169"), "name": mmdbtype.String("Google LLC"), "domain": mmdbtype.String("google.com"),
			"route": mmdbtype.String("198.51.100.0/24"), "type": mmdbtype.String("hosting"),
		}}},
		layout: "ipinfo", fields: "country,asn,org",
		probes: []probe{{"198.51.100.1", geo.Info{ASN: 15169, Org: "Google LLC"}, true}},
	}, {
		name: "generic", dbType: "Acme-GeoASN",
		nets: []netRec{
			{"198.51.100.0/24", mmdbtype.Map{"country_code": mmdbtype.String("IT"), "asn": mmdbtype.Uint32(64510), "as_name": mmdbtype.String("Acme")}},
			{"198.51.101.0/24", mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String("ES")}, "autonomous_system_number": mmdbtype.Uint32(64511)}},
			{"198.51.102.0/24", mmdbtype.String("not a map")},
			{"198.51.103.0/24", mmdbtype.Map{"country": mmdbtype.String("Portugal"), "asn": mmdbtype.String("ASbogus")}},
		},
		layout: "generic", fields: "country,asn,org",
		probes: []probe{
			{"198.51.100.1", geo.Info{Country: "IT", ASN: 64510, Org: "Acme"}, true},
			{"198.51.101.1", geo.Info{Country: "ES", ASN: 64511}, true},
			{"198.51.102.1", geo.Info{}, false},
			{"198.51.103.1", geo.Info{}, false},
		},
	}, {
		name: "IPv4-only", dbType: "GeoLite2-Country", ipVersion: 4,
		nets:   []netRec{{"198.51.100.0/24", mmCountry("PL", "Poland")}},
		layout: "maxmind", fields: "country",
		probes: []probe{
			{"198.51.100.1", geo.Info{Country: "PL"}, true},
			{"::ffff:198.51.100.1", geo.Info{Country: "PL"}, true},
			{"2001:db8::1", geo.Info{}, false},
		},
	}}
	dir := t.TempDir()
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := writeDB(t, dir, fmt.Sprintf("db%d.mmdb", i), c.dbType, c.ipVersion, c.nets)
			m, err := geo.OpenMMDB([]string{p})
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			dbs := m.Databases()
			if len(dbs) != 1 || dbs[0].Type != c.dbType || dbs[0].Layout != c.layout || dbs[0].Fields != c.fields || dbs[0].Path != p {
				t.Errorf("Databases() = %+v; want type %q layout %q fields %q", dbs, c.dbType, c.layout, c.fields)
			}
			checkProbes(t, m, c.probes)
			if st := m.Stats(); st.LookupErrors != 0 {
				t.Errorf("LookupErrors = %d", st.LookupErrors)
			}
		})
	}
}

// TestCombined checks that several files combine: the country from the
// City database, ASN and organisation from the ASN database, the order of
// the files deciding between two that both know, and the ASN and its
// organisation never taken from different records.
func TestCombined(t *testing.T) {
	dir := t.TempDir()
	city := writeDB(t, dir, "city.mmdb", "GeoLite2-City", 6, []netRec{
		{"198.51.100.0/24", mmCity("DE", "Berlin")},
		{"2001:db8::/32", mmCity("FR", "Paris")},
	})
	asn := writeDB(t, dir, "asn.mmdb", "GeoLite2-ASN", 6, []netRec{
		{"198.51.100.0/25", mmASN(64500, "Low Half")},
		{"198.51.100.128/25", mmASN(64501, "High Half")},
		{"203.0.113.0/24", mmASN(64502, "Only ASN")},
		{"192.0.2.0/24", mmASN(64503, "ASN db org")},
	})
	isp := writeDB(t, dir, "isp.mmdb", "GeoIP2-ISP", 6, []netRec{
		{"198.51.100.0/24", mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64999), "autonomous_system_organization": mmdbtype.String("ISP view"), "isp": mmdbtype.String("ISP")}},
		{"192.0.2.0/24", mmdbtype.Map{"isp": mmdbtype.String("ISP name only")}},
	})
	m, err := geo.OpenMMDB([]string{city, asn, isp})
	if err != nil {
		t.Fatal(err)
	}
	checkProbes(t, m, []probe{
		{"198.51.100.1", geo.Info{Country: "DE", ASN: 64500, Org: "Low Half"}, true},
		{"198.51.100.200", geo.Info{Country: "DE", ASN: 64501, Org: "High Half"}, true},
		{"::ffff:198.51.100.200", geo.Info{Country: "DE", ASN: 64501, Org: "High Half"}, true},
		{"203.0.113.1", geo.Info{ASN: 64502, Org: "Only ASN"}, true},
		{"2001:db8::1", geo.Info{Country: "FR"}, true},
		{"192.0.2.1", geo.Info{ASN: 64503, Org: "ASN db org"}, true},
		{"100.64.0.1", geo.Info{}, false},
	})
	// ISP first: it wins for 198.51.100.0/24; for 192.0.2.0/24 it knows
	// only an organisation, so the ASN database's pair is taken whole.
	m2, err := geo.OpenMMDB([]string{isp, asn, city})
	if err != nil {
		t.Fatal(err)
	}
	checkProbes(t, m2, []probe{
		{"198.51.100.1", geo.Info{Country: "DE", ASN: 64999, Org: "ISP view"}, true},
		{"192.0.2.1", geo.Info{ASN: 64503, Org: "ASN db org"}, true},
	})
	// The ISP alone: an organisation without ASN.
	m3, err := geo.OpenMMDB([]string{isp})
	if err != nil {
		t.Fatal(err)
	}
	checkProbes(t, m3, []probe{{"192.0.2.1", geo.Info{Org: "ISP name only"}, true}})
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeDB(t, dir, "good.mmdb", "GeoLite2-Country", 6, []netRec{{"198.51.100.0/24", mmCountry("DE", "Germany")}})
	domain := writeDB(t, dir, "domain.mmdb", "GeoIP2-Domain", 6, []netRec{{"198.51.100.0/24", mmdbtype.Map{"domain": mmdbtype.String("example.com")}}})
	anon := writeDB(t, dir, "anon.mmdb", "GeoIP2-Anonymous-IP", 6, []netRec{{"198.51.100.0/24", mmdbtype.Map{"is_anonymous": mmdbtype.Bool(true)}}})
	empty := filepath.Join(dir, "empty.mmdb")
	os.WriteFile(empty, nil, 0o644)
	text := filepath.Join(dir, "text.mmdb")
	os.WriteFile(text, []byte("this is not a database\n"), 0o644)
	data, _ := os.ReadFile(good)
	truncated := filepath.Join(dir, "truncated.mmdb")
	os.WriteFile(truncated, data[:len(data)/2], 0o644)

	if _, err := geo.OpenMMDB(nil); !errors.Is(err, geo.ErrNoDatabase) {
		t.Errorf("OpenMMDB(nil) = %v; want ErrNoDatabase", err)
	}
	if _, err := geo.OpenMMDB([]string{good}, geo.WithCache(0)); err == nil {
		t.Error("WithCache(0) accepted")
	}
	if _, err := geo.OpenMMDB([]string{good}, geo.WithPollInterval(0)); err == nil {
		t.Error("WithPollInterval(0) accepted")
	}
	if _, err := geo.OpenMMDB([]string{good}, geo.WithLogger(nil)); err == nil {
		t.Error("WithLogger(nil) accepted")
	}
	cases := []struct {
		path string
		is   error
		op   string
		msg  string
	}{
		{domain, geo.ErrNoGeoFields, "open", `geo: open "` + domain + `" (database_type "GeoIP2-Domain"): geo: database holds no country, ASN or organisation`},
		{anon, geo.ErrNoGeoFields, "open", ""},
		{empty, geo.ErrInvalid, "read", `geo: read "` + empty + `": file is empty`},
		{text, geo.ErrInvalid, "open", ""},
		{truncated, geo.ErrInvalid, "open", ""},
		{filepath.Join(dir, "missing.mmdb"), os.ErrNotExist, "read", ""},
		{dir, nil, "read", ""},
	}
	for _, c := range cases {
		_, err := geo.OpenMMDB([]string{good, c.path})
		var de *geo.DatabaseError
		if !errors.As(err, &de) || de.Path != c.path || de.Op != c.op || c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("OpenMMDB(%s) = %v; want a DatabaseError %s %v", c.path, err, c.op, c.is)
			continue
		}
		if c.msg != "" && err.Error() != c.msg {
			t.Errorf("error text\n got %s\nwant %s", err, c.msg)
		}
	}
	// All failures are reported, not only the first.
	_, err := geo.OpenMMDB([]string{domain, empty})
	if !errors.Is(err, geo.ErrNoGeoFields) || !errors.Is(err, geo.ErrInvalid) {
		t.Errorf("two bad files: %v", err)
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		typ, layout, fields string
		ok                  bool
	}{
		{"GeoLite2-Country", "maxmind", "country", true},
		{"GeoIP2-Country", "maxmind", "country", true},
		{"GeoLite2-City", "maxmind", "country", true},
		{"GeoIP2-City-Africa", "maxmind", "country", true},
		{"GeoLite2-ASN", "maxmind", "asn,org", true},
		{"GeoIP2-ISP", "maxmind", "asn,org", true},
		{"GeoIP2-Enterprise", "maxmind", "country,asn,org", true},
		{"GeoIP2-Anonymous-IP", "maxmind", "none", false},
		{"GeoIP2-Connection-Type", "maxmind", "none", false},
		{"GeoIP2-Domain", "maxmind", "none", false},
		{"DBIP-Country-Lite", "maxmind", "country", true},
		{"DBIP-City-Lite", "maxmind", "country", true},
		{"DBIP-Location (compat=City)", "maxmind", "country", true},
		{"DBIP-ASN-Lite (compat=GeoLite2-ASN)", "maxmind", "asn,org", true},
		{"DBIP-ISP (compat=Enterprise)", "maxmind", "country,asn,org", true},
		{"DBIP-Location-ISP (compat=Enterprise)", "maxmind", "country,asn,org", true},
		{"ipinfo country_asn.mmdb", "ipinfo", "country,asn,org", true},
		{"ipinfo bundle_location_lite.mmdb", "ipinfo", "country,asn,org", true},
		{"IPinfo Lite", "ipinfo", "country,asn,org", true},
		{"Test", "generic", "country,asn,org", true},
		{"", "generic", "country,asn,org", true},
	}
	for _, c := range cases {
		l, f, ok := geo.Detect(c.typ)
		if l != c.layout || f != c.fields || ok != c.ok {
			t.Errorf("Detect(%q) = %s, %s, %v; want %s, %s, %v", c.typ, l, f, ok, c.layout, c.fields, c.ok)
		}
	}
}

func TestParseASN(t *testing.T) {
	cases := map[string]uint32{"AS123": 123, "as7018": 7018, "As4294967295": 4294967295, "64500": 64500}
	for s, want := range cases {
		if got, ok := geo.ParseASN(s); !ok || got != want {
			t.Errorf("ParseASN(%q) = %d, %v; want %d", s, got, ok, want)
		}
	}
	for _, s := range []string{"", "AS", "AS0", "AS4294967296", "AS-1", "AS12a", "ASN123", "AS 123", "AS99999999999"} {
		if got, ok := geo.ParseASN(s); ok {
			t.Errorf("ParseASN(%q) = %d, true; want false", s, got)
		}
	}
}

// TestLimits checks that oversized and mistyped values are skipped, not
// copied and not errors.
func TestLimits(t *testing.T) {
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	data := buildDB(t, "GeoIP2-Enterprise", 6, []netRec{
		{"198.51.100.0/24", mmdbtype.Map{
			"country":                        mmdbtype.Map{"iso_code": mmdbtype.String("TOOLONGCODE")},
			"autonomous_system_number":       mmdbtype.String("64500"),
			"autonomous_system_organization": mmdbtype.String(string(long)),
			"isp":                            mmdbtype.Uint32(7),
		}},
		{"198.51.101.0/24", mmdbtype.Map{
			"country":                  mmdbtype.Slice{mmdbtype.String("DE")},
			"autonomous_system_number": mmdbtype.Uint64(1 << 40),
			"traits":                   mmdbtype.String("not a map"),
		}},
	})
	m, err := geo.OpenMMDBBytes([][]byte{data})
	if err != nil {
		t.Fatal(err)
	}
	checkProbes(t, m, []probe{
		{"198.51.100.1", geo.Info{ASN: 64500}, true},
		{"198.51.101.1", geo.Info{}, false},
	})
	if st := m.Stats(); st.LookupErrors != 0 {
		t.Errorf("LookupErrors = %d", st.LookupErrors)
	}
}

func TestClose(t *testing.T) {
	data := buildDB(t, "GeoLite2-Country", 6, []netRec{{"198.51.100.0/24", mmCountry("DE", "Germany")}})
	m, err := geo.OpenMMDBBytes([][]byte{data})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.Lookup(netip.MustParseAddr("198.51.100.1")); !ok {
		t.Fatal("not found before Close")
	}
	m.Close()
	if got, ok := m.Lookup(netip.MustParseAddr("198.51.100.1")); ok {
		t.Errorf("Lookup after Close = %+v, true", got)
	}
	if _, ok := m.Lookup(netip.Addr{}); ok {
		t.Error("invalid address found")
	}
	if err := m.Reload(); !errors.Is(err, geo.ErrClosed) {
		t.Errorf("Reload after Close = %v", err)
	}
	if m.Databases() != nil {
		t.Error("Databases after Close")
	}
}

// TestLookupAllocs locks in allocation-free lookups, with and without the
// cache, hit and miss.
func TestLookupAllocs(t *testing.T) {
	dir := t.TempDir()
	city := writeDB(t, dir, "city.mmdb", "GeoIP2-City", 6, []netRec{{"198.51.100.0/24", mmCity("DE", "Berlin")}})
	asn := writeDB(t, dir, "asn.mmdb", "GeoLite2-ASN", 6, []netRec{{"198.51.100.0/24", mmASN(64500, "Example")}})
	for _, opts := range [][]geo.Option{nil, {geo.WithCache(1024)}} {
		m, err := geo.OpenMMDB([]string{city, asn}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		a := netip.MustParseAddr("198.51.100.1")
		m.Lookup(a) // warm the reader's string cache
		if n := testing.AllocsPerRun(200, func() { m.Lookup(a) }); n != 0 {
			t.Errorf("%d options: %v allocs per lookup", len(opts), n)
		}
	}
}

func TestDatabasesInfo(t *testing.T) {
	dir := t.TempDir()
	p := writeDB(t, dir, "c.mmdb", "GeoLite2-Country", 6, []netRec{{"198.51.100.0/24", mmCountry("DE", "Germany")}})
	m, err := geo.OpenMMDB([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	d := m.Databases()[0]
	want := geo.DatabaseInfo{Path: p, Type: "GeoLite2-Country", Layout: "maxmind", Fields: "country", BuildTime: d.BuildTime, Size: fi.Size(), LoadedAt: d.LoadedAt}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Error(diff)
	}
	if d.BuildTime.Unix() != 1700000000 || d.LoadedAt.IsZero() {
		t.Errorf("build %v loaded %v", d.BuildTime, d.LoadedAt)
	}
}
