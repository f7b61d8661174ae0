package geo_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/oschwald/maxminddb-golang/v2"

	"github.com/exfilscore/exfilscore/geo"
)

// Benchmarks run on synthetic databases shaped like GeoLite2-City and
// GeoLite2-ASN (no real database may be downloaded here): about benchNets
// disjoint IPv4 networks of /16 to /28 over the public space plus IPv6
// networks, full City records (names in 8 languages, location, postal,
// subdivisions) drawn from benchCities distinct records, and ASN records
// from benchASNs distinct ones. Real GeoLite2-City has ~3.5M networks; the
// tree depth a lookup walks, which sets its cost, is the same (~20-32 nodes
// for IPv4).
const (
	benchNets   = 400_000
	benchNets6  = 50_000
	benchCities = 20_000
	benchASNs   = 30_000
	// benchAddrs is the number of distinct destination addresses traffic
	// is drawn from; benchTrace the length of the replayed lookup trace.
	benchAddrs = 1 << 20
	benchTrace = 1 << 20
	// benchCache is the cache size of the cached variants.
	benchCache = 1 << 16
)

var langs = []string{"de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"}

type benchData struct {
	dir       string
	city, asn string
	addrs     []netip.Addr // addresses inside the databases' networks
}

var (
	benchOnce sync.Once
	bench     benchData
	benchErr  error
)

// TestMain removes the benchmark databases.
func TestMain(m *testing.M) {
	code := m.Run()
	if bench.dir != "" {
		os.RemoveAll(bench.dir)
	}
	os.Exit(code)
}

func benchDBs(b *testing.B) benchData {
	b.Helper()
	benchOnce.Do(func() {
		start := time.Now()
		dir, err := os.MkdirTemp("", "exfilscore-geo-bench-")
		if err != nil {
			benchErr = err
			return
		}
		bench, benchErr = buildBenchDBs(dir)
		bench.dir = dir // for TestMain's cleanup, even on failure
		if benchErr == nil {
			fmt.Fprintf(os.Stderr, "geo bench: built synthetic City (%s) and ASN (%s) databases in %v\n",
				fileSize(bench.city), fileSize(bench.asn), time.Since(start).Round(time.Millisecond))
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return bench
}

func fileSize(p string) string {
	fi, err := os.Stat(p)
	if err != nil {
		return "?"
	}
	return fmt.Sprintf("%.1f MB", float64(fi.Size())/1e6)
}

func localized(rng *rand.Rand, base string) mmdbtype.Map {
	m := mmdbtype.Map{}
	for _, l := range langs {
		m[mmdbtype.String(l)] = mmdbtype.String(fmt.Sprintf("%s-%s-%d", base, l, rng.IntN(1000)))
	}
	return m
}

func cityRecord(rng *rand.Rand, i int) mmdbtype.Map {
	iso := string([]byte{byte('A' + i%26), byte('A' + (i/26)%26)})
	return mmdbtype.Map{
		"city":      mmdbtype.Map{"geoname_id": mmdbtype.Uint32(uint32(1_000_000 + i)), "names": localized(rng, "City")},
		"continent": mmdbtype.Map{"code": mmdbtype.String("EU"), "geoname_id": mmdbtype.Uint32(6255148), "names": localized(rng, "Continent")},
		"country": mmdbtype.Map{
			"geoname_id": mmdbtype.Uint32(uint32(2_000_000 + i%250)), "iso_code": mmdbtype.String(iso),
			"is_in_european_union": mmdbtype.Bool(i%3 == 0), "names": localized(rng, "Country"),
		},
		"location": mmdbtype.Map{
			"accuracy_radius": mmdbtype.Uint16(uint16(rng.IntN(500))), "latitude": mmdbtype.Float64(rng.Float64()*180 - 90),
			"longitude": mmdbtype.Float64(rng.Float64()*360 - 180), "time_zone": mmdbtype.String("Europe/Berlin"),
		},
		"postal":             mmdbtype.Map{"code": mmdbtype.String(fmt.Sprint(10000 + i))},
		"registered_country": mmdbtype.Map{"geoname_id": mmdbtype.Uint32(uint32(2_000_000 + i%250)), "iso_code": mmdbtype.String(iso), "names": localized(rng, "Country")},
		"subdivisions":       mmdbtype.Slice{mmdbtype.Map{"geoname_id": mmdbtype.Uint32(uint32(3_000_000 + i)), "iso_code": mmdbtype.String("BE"), "names": localized(rng, "Sub")}},
	}
}

// benchNetworks returns disjoint networks walking the IPv4 space from
// 1.0.0.0 with random sizes and gaps, then IPv6 networks in 2400::/6 and above.
func benchNetworks(rng *rand.Rand) []netip.Prefix {
	var out []netip.Prefix
	a := uint32(1 << 24)
	for len(out) < benchNets {
		bits := 16 + rng.IntN(13) // /16 .. /28
		size := uint32(1) << (32 - bits)
		a = (a + size - 1) &^ (size - 1) // align
		if a < 1<<24 {                   // wrapped
			break
		}
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)}), bits)
		if first := byte(a >> 24); first != 10 && first != 127 && first < 224 && first != 0 && first != 100 && first != 172 && first != 192 && first != 169 {
			out = append(out, p)
		}
		a += size
		if rng.IntN(4) == 0 {
			a += size // a gap
		}
	}
	for range benchNets6 {
		var b [16]byte
		b[0] = 0x24 + byte(rng.IntN(10)) // 2400::-2dff::, clear of the aliased 2001::/32 and 2002::/16
		for i := 1; i < 6; i++ {
			b[i] = byte(rng.IntN(256))
		}
		out = append(out, netip.PrefixFrom(netip.AddrFrom16(b), 32+rng.IntN(17)).Masked())
	}
	return out
}

func buildBenchDBs(dir string) (benchData, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	nets := benchNetworks(rng)
	cities := make([]mmdbtype.Map, benchCities)
	for i := range cities {
		cities[i] = cityRecord(rng, i)
	}
	asns := make([]mmdbtype.Map, benchASNs)
	for i := range asns {
		asns[i] = mmdbtype.Map{
			"autonomous_system_number":       mmdbtype.Uint32(uint32(1000 + i)),
			"autonomous_system_organization": mmdbtype.String(fmt.Sprintf("Organisation number %d Ltd", i)),
		}
	}
	// Records are shared (as in real databases), so key them by identity
	// rather than by serialising them at every insert.
	write := func(name, typ string, rec func(i int) mmdbtype.Map) (string, error) {
		tree, err := mmdbwriter.New(mmdbwriter.Options{
			DatabaseType: typ, RecordSize: 28, IncludeReservedNetworks: true,
			Description: map[string]string{"en": "exfilscore synthetic benchmark database"}, Languages: langs,
			KeyGenerator: keyFunc(func(v mmdbtype.DataType) ([]byte, error) { return []byte(fmt.Sprintf("%p", v.(mmdbtype.Map))), nil }),
		})
		if err != nil {
			return "", err
		}
		for i, p := range nets {
			ipn := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
			if err := tree.Insert(ipn, rec(i)); err != nil {
				return "", fmt.Errorf("%s: insert %s: %w", name, p, err)
			}
		}
		var buf bytes.Buffer
		if _, err := tree.WriteTo(&buf); err != nil {
			return "", err
		}
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, buf.Bytes(), 0o644)
	}
	cityIdx := make([]int, len(nets))
	asnIdx := make([]int, len(nets))
	for i := range nets {
		cityIdx[i], asnIdx[i] = rng.IntN(benchCities), rng.IntN(benchASNs)
	}
	city, err := write("city.mmdb", "GeoLite2-City", func(i int) mmdbtype.Map { return cities[cityIdx[i]] })
	if err != nil {
		return benchData{}, err
	}
	asn, err := write("asn.mmdb", "GeoLite2-ASN", func(i int) mmdbtype.Map { return asns[asnIdx[i]] })
	if err != nil {
		return benchData{}, err
	}
	// Destinations: random addresses inside random networks.
	addrs := make([]netip.Addr, benchAddrs)
	for i := range addrs {
		p := nets[rng.IntN(len(nets))]
		b := p.Addr().As16()
		host := p.Addr().BitLen() - p.Bits()
		for bit := range min(host, 64) {
			if rng.IntN(2) == 1 {
				b[15-bit/8] |= 1 << (bit % 8)
			}
		}
		a := netip.AddrFrom16(b)
		if p.Addr().Is4() {
			a = a.Unmap()
		}
		addrs[i] = a
	}
	return benchData{dir: dir, city: city, asn: asn, addrs: addrs}, nil
}

// keyFunc adapts a function to mmdbwriter.KeyGenerator.
type keyFunc func(mmdbtype.DataType) ([]byte, error)

func (f keyFunc) Key(v mmdbtype.DataType) ([]byte, error) { return f(v) }

// trace returns the lookup sequence: uniform over all addresses, or Zipf
// (s = 1.1) over them, the skew of real destination traffic where a few
// services take most connections.
func trace(addrs []netip.Addr, dist string) []netip.Addr {
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([]netip.Addr, benchTrace)
	switch dist {
	case "uniform":
		for i := range out {
			out[i] = addrs[rng.IntN(len(addrs))]
		}
	case "zipf":
		z := rand.NewZipf(rng, 1.1, 1, uint64(len(addrs)-1))
		perm := rng.Perm(len(addrs)) // hot addresses spread over the space
		for i := range out {
			out[i] = addrs[perm[z.Uint64()]]
		}
	}
	return out
}

// BenchmarkLookup measures MMDB.Lookup on the City+ASN pair, uncached and
// with a 64k-entry cache, on uniform and Zipf traffic over 1M addresses.
//
//	go test -run '^$' -bench 'BenchmarkLookup$' -benchmem ./geo
func BenchmarkLookup(b *testing.B) {
	d := benchDBs(b)
	for _, dist := range []string{"uniform", "zipf"} {
		tr := trace(d.addrs, dist)
		for _, cached := range []bool{false, true} {
			name := "uncached"
			var opts []geo.Option
			if cached {
				name = fmt.Sprintf("cached%dk", benchCache>>10)
				opts = append(opts, geo.WithCache(benchCache))
			}
			b.Run(dist+"/"+name, func(b *testing.B) {
				m, err := geo.OpenMMDB([]string{d.city, d.asn}, opts...)
				if err != nil {
					b.Fatal(err)
				}
				// Warm the cache (and the reader's string cache) with one
				// pass over the trace: the steady state is measured.
				for _, a := range tr {
					m.Lookup(a)
				}
				before := m.Stats()
				found, i := 0, 0
				b.ResetTimer()
				for b.Loop() {
					if _, ok := m.Lookup(tr[i&(benchTrace-1)]); ok {
						found++
					}
					i++
				}
				b.StopTimer()
				b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "lookups/s")
				if cached {
					st := m.Stats()
					hits, misses := st.CacheHits-before.CacheHits, st.CacheMisses-before.CacheMisses
					b.ReportMetric(100*float64(hits)/float64(hits+misses), "hit%")
				}
				if found < i/2 {
					b.Fatalf("only %d of %d found", found, i)
				}
			})
		}
	}
}

// BenchmarkLookupParallel is BenchmarkLookup from all Ps at once.
//
//	go test -run '^$' -bench 'BenchmarkLookupParallel' -benchmem ./geo
func BenchmarkLookupParallel(b *testing.B) {
	d := benchDBs(b)
	for _, dist := range []string{"uniform", "zipf"} {
		tr := trace(d.addrs, dist)
		for _, cached := range []bool{false, true} {
			name := "uncached"
			var opts []geo.Option
			if cached {
				name = fmt.Sprintf("cached%dk", benchCache>>10)
				opts = append(opts, geo.WithCache(benchCache))
			}
			b.Run(dist+"/"+name, func(b *testing.B) {
				m, err := geo.OpenMMDB([]string{d.city, d.asn}, opts...)
				if err != nil {
					b.Fatal(err)
				}
				for _, a := range tr {
					m.Lookup(a)
				}
				var seed sync.Mutex
				next := 0
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					seed.Lock()
					i := next * 7919
					next++
					seed.Unlock()
					for pb.Next() {
						m.Lookup(tr[i&(benchTrace-1)])
						i++
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
			})
		}
	}
}

// BenchmarkCachePays measures the cache's effect with paired timing, which
// a shared, loaded machine needs: chunks of 4096 lookups run alternately
// on an uncached and a cached provider over the same trace, so both see
// the same background load. It reports ns per lookup of each and the
// speedup (uncached time / cached time; above 1 the cache pays).
//
//	go test -run '^$' -bench 'BenchmarkCachePays' ./geo
func BenchmarkCachePays(b *testing.B) {
	d := benchDBs(b)
	for _, dist := range []string{"uniform", "zipf"} {
		tr := trace(d.addrs, dist)
		b.Run(dist, func(b *testing.B) {
			plain, err := geo.OpenMMDB([]string{d.city, d.asn})
			if err != nil {
				b.Fatal(err)
			}
			cached, err := geo.OpenMMDB([]string{d.city, d.asn}, geo.WithCache(benchCache))
			if err != nil {
				b.Fatal(err)
			}
			for _, a := range tr {
				plain.Lookup(a)
				cached.Lookup(a)
			}
			const chunk = 4096
			var tPlain, tCached time.Duration
			n, off := 0, 0
			for b.Loop() {
				part := tr[off : off+chunk]
				off = (off + chunk) & (benchTrace - 1)
				t0 := time.Now()
				for _, a := range part {
					plain.Lookup(a)
				}
				t1 := time.Now()
				for _, a := range part {
					cached.Lookup(a)
				}
				tCached += time.Since(t1)
				tPlain += t1.Sub(t0)
				n += chunk
			}
			st := cached.Stats()
			b.ReportMetric(float64(tPlain.Nanoseconds())/float64(n), "ns/uncached")
			b.ReportMetric(float64(tCached.Nanoseconds())/float64(n), "ns/cached")
			b.ReportMetric(float64(tPlain)/float64(tCached), "speedup")
			b.ReportMetric(100*float64(st.CacheHits)/float64(st.CacheHits+st.CacheMisses), "hit%")
		})
	}
}

// BenchmarkDecode compares ways of getting country, ASN and organisation
// out of a found record (tree walk included, City and ASN database each):
// the package's narrow cursor decoder, reflection into a narrow struct,
// DecodePath per field, and the reflection-heavy full record into a map.
//
//	go test -run '^$' -bench 'BenchmarkDecode' -benchmem ./geo
func BenchmarkDecode(b *testing.B) {
	d := benchDBs(b)
	m, err := geo.OpenMMDB([]string{d.city, d.asn})
	if err != nil {
		b.Fatal(err)
	}
	rs := m.Readers()
	city, asn := rs[0], rs[1]
	tr := trace(d.addrs, "uniform")
	type narrowCity struct {
		Country struct {
			ISOCode string `maxminddb:"iso_code"`
		} `maxminddb:"country"`
	}
	type narrowASN struct {
		ASN uint32 `maxminddb:"autonomous_system_number"`
		Org string `maxminddb:"autonomous_system_organization"`
	}
	variants := []struct {
		name string
		fn   func(a netip.Addr) (geo.Info, error)
	}{
		{"cursor", func(a netip.Addr) (geo.Info, error) {
			c, err := m.DecodeAt(0, city.Lookup(a))
			if err != nil {
				return c, err
			}
			s, err := m.DecodeAt(1, asn.Lookup(a))
			return geo.Info{Country: c.Country, ASN: s.ASN, Org: s.Org}, err
		}},
		{"struct", func(a netip.Addr) (geo.Info, error) {
			var c narrowCity
			var s narrowASN
			if err := city.Lookup(a).Decode(&c); err != nil {
				return geo.Info{}, err
			}
			err := asn.Lookup(a).Decode(&s)
			return geo.Info{Country: c.Country.ISOCode, ASN: s.ASN, Org: s.Org}, err
		}},
		{"path", func(a netip.Addr) (geo.Info, error) {
			var info geo.Info
			if err := city.Lookup(a).DecodePath(&info.Country, "country", "iso_code"); err != nil {
				return info, err
			}
			r := asn.Lookup(a)
			if err := r.DecodePath(&info.ASN, "autonomous_system_number"); err != nil {
				return info, err
			}
			return info, r.DecodePath(&info.Org, "autonomous_system_organization")
		}},
		{"fullmap", func(a netip.Addr) (geo.Info, error) {
			var c, s map[string]any
			if err := city.Lookup(a).Decode(&c); err != nil {
				return geo.Info{}, err
			}
			if err := asn.Lookup(a).Decode(&s); err != nil {
				return geo.Info{}, err
			}
			var info geo.Info
			if cm, ok := c["country"].(map[string]any); ok {
				info.Country, _ = cm["iso_code"].(string)
			}
			if n, ok := s["autonomous_system_number"].(uint64); ok {
				info.ASN = uint32(n)
			}
			info.Org, _ = s["autonomous_system_organization"].(string)
			return info, nil
		}},
		{"treeonly", func(a netip.Addr) (geo.Info, error) {
			r1, r2 := city.Lookup(a), asn.Lookup(a)
			if r1.Err() != nil {
				return geo.Info{}, r1.Err()
			}
			return geo.Info{ASN: uint32(r1.Offset() + r2.Offset())}, r2.Err()
		}},
	}
	// All decoders agree (on the first 10k addresses).
	for _, a := range tr[:10_000] {
		want, _ := variants[0].fn(a)
		for _, v := range variants[1:4] {
			if got, err := v.fn(a); err != nil || got != want {
				b.Fatalf("%s(%s) = %+v, %v; cursor says %+v", v.name, a, got, err, want)
			}
		}
	}
	// Paired: every variant in turn on its own chunk of the trace, so that
	// background load on a shared machine hits all alike. (Distinct
	// chunks: on the same addresses, the first variant would warm the
	// CPU caches for the others.)
	b.Run("paired", func(b *testing.B) {
		const chunk = 1024
		times := make([]time.Duration, len(variants))
		n, off := 0, 0
		for b.Loop() {
			for k, v := range variants {
				part := tr[off : off+chunk]
				off = (off + chunk) & (benchTrace - 1)
				t0 := time.Now()
				for _, a := range part {
					if _, err := v.fn(a); err != nil {
						b.Fatal(err)
					}
				}
				times[k] += time.Since(t0)
			}
			n += chunk
		}
		for k, v := range variants {
			b.ReportMetric(float64(times[k].Nanoseconds())/float64(n), "ns/"+v.name)
		}
	})
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				if _, err := v.fn(tr[i&(benchTrace-1)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkOpen measures loading the synthetic City database (what a
// reload costs, off the lookup path): the whole of OpenMMDB, and its
// parts: reading the file, opening it, verifying it.
//
//	go test -run '^$' -bench 'BenchmarkOpen' -benchmem ./geo
func BenchmarkOpen(b *testing.B) {
	d := benchDBs(b)
	b.Run("OpenMMDB", func(b *testing.B) {
		for b.Loop() {
			if _, err := geo.OpenMMDB([]string{d.city}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read", func(b *testing.B) {
		for b.Loop() {
			if _, err := os.ReadFile(d.city); err != nil {
				b.Fatal(err)
			}
		}
	})
	data, err := os.ReadFile(d.city)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("open", func(b *testing.B) {
		for b.Loop() {
			if _, err := maxminddb.OpenBytes(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("verify", func(b *testing.B) {
		for b.Loop() {
			if err := r.Verify(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
