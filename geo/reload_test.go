package geo_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/exfilscore/exfilscore/geo"
)

// version builds a one-network IPinfo-style database whose every answer
// is {iso, asn, org}, so that a torn read would show as a mixed answer.
func version(t testing.TB, iso string, asn uint32) []byte {
	t.Helper()
	return buildDB(t, "ipinfo country_asn.mmdb", 6, []netRec{
		{"198.51.100.0/24", ipinfoCountryASN(iso, "AS"+itoa(asn), "Org of "+iso)},
		{"2001:db8::/32", ipinfoCountryASN(iso, "AS"+itoa(asn), "Org of "+iso)},
	})
}

func itoa(n uint32) string {
	var b [10]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

var probeAddr = netip.MustParseAddr("198.51.100.7")

func countryOf(t *testing.T, m *geo.MMDB) string {
	t.Helper()
	info, _ := m.Lookup(probeAddr)
	return info.Country
}

func TestReloadChanged(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "db.mmdb")
	replaceFile(t, p, version(t, "DE", 1))
	var logs bytes.Buffer
	m, err := geo.OpenMMDB([]string{p}, geo.WithCache(128), geo.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	if c := countryOf(t, m); c != "DE" { // now cached
		t.Fatalf("country %q", c)
	}

	// Unchanged: nothing happens.
	if err := m.ReloadChanged(); err != nil || m.Databases()[0].Reloads != 0 {
		t.Fatalf("unchanged: %v, %d reloads", err, m.Databases()[0].Reloads)
	}

	// Atomic replacement (rename): swapped in, cache emptied.
	replaceFile(t, p, version(t, "FR", 2))
	if err := m.ReloadChanged(); err != nil {
		t.Fatal(err)
	}
	if c := countryOf(t, m); c != "FR" {
		t.Fatalf("after rename: %q", c)
	}
	if d := m.Databases()[0]; d.Reloads != 1 || d.Err != nil {
		t.Errorf("after rename: %+v", d)
	}

	// A broken replacement keeps the old version, reports once.
	replaceFile(t, p, []byte("garbage, not a database"))
	err = m.ReloadChanged()
	var de *geo.DatabaseError
	if !errors.As(err, &de) || de.Path != p || !errors.Is(err, geo.ErrInvalid) {
		t.Fatalf("broken: %v", err)
	}
	if c := countryOf(t, m); c != "FR" {
		t.Fatalf("broken file replaced the live one: %q", c)
	}
	if d := m.Databases()[0]; d.Err == nil || d.Reloads != 1 {
		t.Errorf("broken: %+v", d)
	}
	if err := m.ReloadChanged(); err != nil {
		t.Errorf("same broken file reported twice: %v", err)
	}

	// A database of the wrong kind likewise.
	replaceFile(t, p, buildDB(t, "GeoIP2-Domain", 6, []netRec{{"198.51.100.0/24", mmdbtype.Map{"domain": mmdbtype.String("example.com")}}}))
	if err := m.ReloadChanged(); !errors.Is(err, geo.ErrNoGeoFields) {
		t.Fatalf("domain db: %v", err)
	}

	// The file disappears: reported once, old version stays.
	os.Remove(p)
	if err := m.ReloadChanged(); !errors.As(err, &de) || de.Op != "stat" || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("removed: %v", err)
	}
	if err := m.ReloadChanged(); err != nil {
		t.Errorf("missing file reported twice: %v", err)
	}
	if c := countryOf(t, m); c != "FR" {
		t.Fatalf("after remove: %q", c)
	}

	// It comes back, good: swapped in, error cleared.
	replaceFile(t, p, version(t, "NL", 3))
	if err := m.ReloadChanged(); err != nil {
		t.Fatal(err)
	}
	if c := countryOf(t, m); c != "NL" {
		t.Fatalf("after fix: %q", c)
	}
	if d := m.Databases()[0]; d.Reloads != 2 || d.Err != nil {
		t.Errorf("after fix: %+v", d)
	}
	st := m.Stats()
	if st.Reloads != 2 || st.ReloadErrors != 3 {
		t.Errorf("stats %+v; want 2 reloads, 3 errors", st)
	}
	if !strings.Contains(logs.String(), "geo: database reloaded") || !strings.Contains(logs.String(), "previous version stays in use") {
		t.Errorf("logs:\n%s", logs.String())
	}
}

// TestReloadInPlace: a file rewritten in place (cp over it) is noticed by
// size/mtime; one rewritten with the same size and modification time is
// only picked up by the forced Reload (SIGHUP). The live version is in
// memory, so rewriting the file under it is harmless.
func TestReloadInPlace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "db.mmdb")
	os.WriteFile(p, version(t, "DE", 1), 0o644)
	m, err := geo.OpenMMDB([]string{p})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(p)
	// Same size, same mtime, same inode, different content.
	v2 := version(t, "FR", 2)
	if len(v2) != int(fi.Size()) {
		t.Fatalf("test versions differ in size: %d %d", len(v2), fi.Size())
	}
	os.WriteFile(p, v2, 0o644)
	os.Chtimes(p, fi.ModTime(), fi.ModTime())
	if err := m.ReloadChanged(); err != nil {
		t.Fatal(err)
	}
	if c := countryOf(t, m); c != "DE" {
		t.Fatalf("undetectable change picked up by polling: %q", c)
	}
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if c := countryOf(t, m); c != "FR" {
		t.Fatalf("forced reload: %q", c)
	}
	// Truncated in place: the in-memory version keeps answering.
	os.WriteFile(p, v2[:100], 0o644)
	if c := countryOf(t, m); c != "FR" {
		t.Fatalf("after truncation: %q", c)
	}
	if err := m.ReloadChanged(); !errors.Is(err, geo.ErrInvalid) {
		t.Fatalf("truncated: %v", err)
	}
	// A forced reload reports a still-broken file again.
	if err := m.Reload(); !errors.Is(err, geo.ErrInvalid) {
		t.Fatalf("forced, truncated: %v", err)
	}
	if c := countryOf(t, m); c != "FR" {
		t.Fatalf("after failed reloads: %q", c)
	}
}

// TestReloadPartial: with two files, one good and one broken replacement,
// the good one is swapped in and the broken one keeps its old version.
func TestReloadPartial(t *testing.T) {
	dir := t.TempDir()
	city := writeDB(t, dir, "city.mmdb", "GeoLite2-City", 6, []netRec{{"198.51.100.0/24", mmCity("DE", "Berlin")}})
	asn := writeDB(t, dir, "asn.mmdb", "GeoLite2-ASN", 6, []netRec{{"198.51.100.0/24", mmASN(64500, "Old")}})
	m, err := geo.OpenMMDB([]string{city, asn})
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, city, []byte("broken"))
	replaceFile(t, asn, buildDB(t, "GeoLite2-ASN", 6, []netRec{{"198.51.100.0/24", mmASN(64501, "New")}}))
	err = m.Reload()
	var de *geo.DatabaseError
	if !errors.As(err, &de) || de.Path != city {
		t.Fatalf("Reload = %v; want an error for %s only", err, city)
	}
	got, _ := m.Lookup(probeAddr)
	if want := (geo.Info{Country: "DE", ASN: 64501, Org: "New"}); got != want {
		t.Errorf("got %+v; want %+v", got, want)
	}
	d := m.Databases()
	if d[0].Err == nil || d[0].Reloads != 0 || d[1].Err != nil || d[1].Reloads != 1 {
		t.Errorf("Databases = %+v", d)
	}
}

// TestReloadUnderLoad swaps versions (and a broken file) while readers
// look up continuously: every answer is one whole version, none is
// missing. Run with -race.
func TestReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "db.mmdb")
	versions := map[string]geo.Info{}
	var datas [][]byte
	for i, iso := range []string{"DE", "FR", "NL", "JP"} {
		datas = append(datas, version(t, iso, uint32(64500+i)))
		versions[iso] = geo.Info{Country: iso, ASN: uint32(64500 + i), Org: "Org of " + iso}
	}
	for _, opts := range [][]geo.Option{nil, {geo.WithCache(16)}} {
		replaceFile(t, p, datas[0])
		m, err := geo.OpenMMDB([]string{p}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		var lookups atomic.Int64
		seen := make([]map[string]bool, 4)
		for g := range 4 {
			seen[g] = map[string]bool{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				addrs := []netip.Addr{probeAddr, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("::ffff:198.51.100.9")}
				for i := 0; !stop.Load(); i++ {
					got, ok := m.Lookup(addrs[i%len(addrs)])
					if !ok || versions[got.Country] != got {
						t.Errorf("torn or missing answer %+v, %v", got, ok)
						return
					}
					seen[g][got.Country] = true
					lookups.Add(1)
				}
			}()
		}
		for i := range 40 {
			if i%10 == 9 {
				replaceFile(t, p, []byte("broken"))
				if err := m.Reload(); !errors.Is(err, geo.ErrInvalid) {
					t.Errorf("broken: %v", err)
				}
				continue
			}
			replaceFile(t, p, datas[i%len(datas)])
			if err := m.Reload(); err != nil {
				t.Error(err)
			}
		}
		stop.Store(true)
		wg.Wait()
		kinds := 0
		for _, s := range seen {
			kinds = max(kinds, len(s))
		}
		if kinds < 2 {
			t.Errorf("readers saw %d versions in %d lookups: swaps not observed", kinds, lookups.Load())
		}
		m.Close()
	}
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "db.mmdb")
	replaceFile(t, p, version(t, "DE", 1))
	m, err := geo.OpenMMDB([]string{p}, geo.WithPollInterval(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	replaceFile(t, p, version(t, "FR", 2))
	deadline := time.Now().Add(10 * time.Second)
	for countryOf(t, m) != "FR" {
		if time.Now().After(deadline) {
			t.Fatal("Run did not pick up the new file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	// Close also ends Run.
	go func() { done <- m.Run(context.Background()) }()
	m.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after Close = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after Close")
	}
}
