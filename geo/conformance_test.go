package geo_test

import (
	"bufio"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/exfilscore/exfilscore/geo"
	"github.com/exfilscore/exfilscore/internal/thirdparty"
)

// Conformance against MaxMind's own test databases, with the answers of
// libmaxminddb's mmdblookup as ground truth (EXFILSCORE_TESTDATA/maxmind,
// see its README.md).

// want derives the expected Info of one mmdblookup row.
type wantFunc func(row map[string]string) geo.Info

func cell(row map[string]string, col string) string {
	if v := row[col]; v != "NOT_FOUND" {
		return v
	}
	return ""
}

func wantCountry(row map[string]string) geo.Info {
	return geo.Info{Country: cell(row, "country.iso_code")}
}

func wantAS(t *testing.T) wantFunc {
	return func(row map[string]string) geo.Info {
		var info geo.Info
		if s := cell(row, "autonomous_system_number"); s != "" {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				t.Fatalf("bad ASN %q in ground truth", s)
			}
			info.ASN = uint32(n)
		}
		// The AS organisation; for an ISP record without one, the
		// organization, then the isp (the documented fallback).
		for _, col := range []string{"autonomous_system_organization", "organization", "isp"} {
			if v := cell(row, col); v != "" {
				info.Org = v
				break
			}
		}
		return info
	}
}

func TestConformanceMaxMind(t *testing.T) {
	dir := thirdparty.Dir(t, "maxmind")
	cases := []struct {
		db   string
		want wantFunc
	}{
		{"GeoIP2-City-Test", wantCountry},
		{"GeoLite2-City-Test", wantCountry},
		{"GeoIP2-Country-Test", wantCountry},
		{"GeoLite2-Country-Test", wantCountry},
		{"GeoLite2-ASN-Test", wantAS(t)},
		{"GeoIP2-ISP-Test", wantAS(t)},
	}
	for _, c := range cases {
		t.Run(c.db, func(t *testing.T) {
			path := filepath.Join(dir, "test-data", c.db+".mmdb")
			for _, opts := range [][]geo.Option{nil, {geo.WithCache(64)}} {
				m, err := geo.OpenMMDB([]string{path}, opts...)
				if err != nil {
					t.Fatal(err)
				}
				checkMetadata(t, m, filepath.Join(dir, "groundtruth", "metadata."+c.db+".txt"))
				gt := thirdparty.ReadTSV(t, filepath.Join(dir, "groundtruth", c.db+".mmdblookup.tsv"))
				found := 0
				for _, row := range gt.Maps() {
					addr := netip.MustParseAddr(row["lookup_ip"])
					want := c.want(row)
					// Twice, so that with the cache the second answer
					// comes from it.
					for range 2 {
						got, ok := m.Lookup(addr)
						if got != want || ok != (want != geo.Info{}) {
							t.Errorf("%s (%s): got %+v, %v; mmdblookup says %+v", addr, row["source_network"], got, ok, want)
						}
						if addr.Is4() {
							// The same answer for the IPv4-mapped form.
							if got6, _ := m.Lookup(netip.AddrFrom16(addr.As16())); got6 != got {
								t.Errorf("%s: mapped form gave %+v, plain %+v", addr, got6, got)
							}
						}
					}
					if want != (geo.Info{}) {
						found++
					}
				}
				if found < len(gt.Rows)/2 {
					t.Errorf("only %d of %d ground-truth rows have data: wrong columns?", found, len(gt.Rows))
				}
				if st := m.Stats(); st.LookupErrors != 0 {
					t.Errorf("LookupErrors = %d", st.LookupErrors)
				}
			}
		})
	}
}

// checkMetadata compares Databases() with mmdblookup --verbose.
func checkMetadata(t *testing.T, m *geo.MMDB, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var typ, epoch string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "Type:"); ok {
			typ = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(line, "Build epoch:"); ok {
			epoch, _, _ = strings.Cut(strings.TrimSpace(v), " ")
		}
	}
	d := m.Databases()[0]
	if d.Type != typ || strconv.FormatInt(d.BuildTime.Unix(), 10) != epoch {
		t.Errorf("metadata: type %q build %d; mmdblookup says %q %s", d.Type, d.BuildTime.Unix(), typ, epoch)
	}
}

// TestConformanceCombined opens the City and ASN test databases together
// and checks every ASN ground-truth address gets the ASN database's AS and
// the City database's country.
func TestConformanceCombined(t *testing.T) {
	dir := thirdparty.Dir(t, "maxmind")
	city := filepath.Join(dir, "test-data", "GeoIP2-City-Test.mmdb")
	asn := filepath.Join(dir, "test-data", "GeoLite2-ASN-Test.mmdb")
	m, err := geo.OpenMMDB([]string{city, asn})
	if err != nil {
		t.Fatal(err)
	}
	cityOnly, _ := geo.OpenMMDB([]string{city})
	gt := thirdparty.ReadTSV(t, filepath.Join(dir, "groundtruth", "GeoLite2-ASN-Test.mmdblookup.tsv"))
	both := 0
	for _, row := range gt.Maps() {
		addr := netip.MustParseAddr(row["lookup_ip"])
		want := wantAS(t)(row)
		c, _ := cityOnly.Lookup(addr)
		want.Country = c.Country
		if got, _ := m.Lookup(addr); got != want {
			t.Errorf("%s: got %+v; want %+v", addr, got, want)
		}
		if want.Country != "" && want.ASN != 0 {
			both++
		}
	}
	if both == 0 {
		t.Error("no address has both a country and an ASN: the combination is untested")
	}
}

// TestConformanceNonGeo: MaxMind's databases without country or AS data
// are refused with ErrNoGeoFields.
func TestConformanceNonGeo(t *testing.T) {
	dir := thirdparty.Dir(t, "maxmind")
	for _, db := range []string{"GeoIP2-Anonymous-IP-Test", "GeoIP2-Connection-Type-Test", "GeoIP2-Domain-Test"} {
		p := filepath.Join(dir, "test-data", db+".mmdb")
		_, err := geo.OpenMMDB([]string{p})
		var de *geo.DatabaseError
		if !errors.Is(err, geo.ErrNoGeoFields) || !errors.As(err, &de) || de.Path != p || !strings.Contains(err.Error(), db[:len(db)-len("-Test")]) {
			t.Errorf("%s: %v; want ErrNoGeoFields naming the file and type", db, err)
		}
	}
}

// TestConformanceAllFixtures opens every .mmdb of the fixture set: each
// opens or fails with a clear DatabaseError; the intentionally broken one
// fails verification. Lookups on those that open never panic.
func TestConformanceAllFixtures(t *testing.T) {
	dir := thirdparty.Dir(t, "maxmind")
	files, err := filepath.Glob(filepath.Join(dir, "test-data", "*.mmdb"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	probes := []string{"1.1.1.1", "1.1.1.3", "1.1.1.32", "81.2.69.160", "::1.1.1.1", "::2:0:0", "2001:218::1", "::ffff:1.1.1.1", "255.255.255.255", "::"}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".mmdb")
		m, err := geo.OpenMMDB([]string{f})
		switch {
		case strings.Contains(name, "broken"):
			var de *geo.DatabaseError
			if !errors.Is(err, geo.ErrInvalid) || !errors.As(err, &de) || de.Path != f || de.Op != "verify" {
				t.Errorf("%s: %v; want a verify error (ErrInvalid) naming the file", name, err)
			} else {
				t.Logf("%s: %v", name, err)
			}
		case err != nil:
			var de *geo.DatabaseError
			if !errors.As(err, &de) || de.Path != f {
				t.Errorf("%s: %v; want a DatabaseError naming the file", name, err)
			}
			if !errors.Is(err, geo.ErrNoGeoFields) {
				t.Errorf("%s: unexpected error %v", name, err)
			}
		default:
			for _, p := range probes {
				m.Lookup(netip.MustParseAddr(p))
			}
			if st := m.Stats(); st.LookupErrors != 0 {
				t.Errorf("%s: LookupErrors = %d", name, st.LookupErrors)
			}
		}
	}
}

// TestConformanceCorrupted derives broken databases from the fixtures
// (every truncation, single-byte corruptions across the file, a wrong
// record size and node count in the metadata): each gives an error or a
// database whose lookups do not panic.
func TestConformanceCorrupted(t *testing.T) {
	dir := thirdparty.Dir(t, "maxmind")
	for _, db := range []string{"GeoLite2-Country-Test", "GeoLite2-ASN-Test", "MaxMind-DB-test-mixed-24"} {
		data, err := os.ReadFile(filepath.Join(dir, "test-data", db+".mmdb"))
		if err != nil {
			t.Fatal(err)
		}
		step := max(len(data)/150, 1)
		opened := 0
		try := func(b []byte) {
			m, err := geo.OpenMMDBBytes([][]byte{b})
			if err != nil {
				if !errors.Is(err, geo.ErrInvalid) && !errors.Is(err, geo.ErrNoGeoFields) {
					t.Errorf("%s: unclassified error %v", db, err)
				}
				return
			}
			opened++
			for _, a := range []string{"81.2.69.160", "2.125.160.216", "1.128.0.0", "2001:218::", "::1.1.1.1", "203.0.113.1"} {
				m.Lookup(netip.MustParseAddr(a))
			}
		}
		for n := 0; n < len(data); n += step {
			try(data[:n])
		}
		for i := 0; i < len(data); i += step {
			for _, v := range []byte{0xff, data[i] ^ 0x20} {
				b := append([]byte(nil), data...)
				b[i] = v
				try(b)
			}
		}
		for _, mut := range [][2]string{{"record_size", "record_sizf"}, {"node_count", "node_counu"}, {"\xab\xcd\xefMaxMind.com", "\xab\xcd\xefMaxMind.org"}} {
			try([]byte(strings.Replace(string(data), mut[0], mut[1], 1)))
		}
		t.Logf("%s: %d bytes, %d corrupted variants opened (corruption in unused bytes or values)", db, len(data), opened)
	}
}
