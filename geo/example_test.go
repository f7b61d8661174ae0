package geo_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/exfilscore/exfilscore/geo"
)

func ExampleTable() {
	tab := geo.NewTable(map[netip.Prefix]geo.Info{
		netip.MustParsePrefix("198.51.100.0/24"): {Country: "DE", ASN: 64500, Org: "Example GmbH"},
	})
	info, ok := tab.Lookup(netip.MustParseAddr("198.51.100.7"))
	fmt.Println(info.Country, info.ASN, info.Org, ok)
	// Output: DE 64500 Example GmbH true
}

// ExampleOpenMMDB combines a country database and an ASN database, as the
// collector does with -geoip GeoLite2-Country.mmdb -geoip
// GeoLite2-ASN.mmdb. The two small databases are written here with
// mmdbwriter; in production they come from geoipupdate.
func ExampleOpenMMDB() {
	dir, err := os.MkdirTemp("", "geo-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	country := writeExampleDB(dir, "GeoLite2-Country", mmdbtype.Map{
		"country": mmdbtype.Map{"iso_code": mmdbtype.String("DE")},
	})
	asn := writeExampleDB(dir, "GeoLite2-ASN", mmdbtype.Map{
		"autonomous_system_number":       mmdbtype.Uint32(64500),
		"autonomous_system_organization": mmdbtype.String("Example GmbH"),
	})

	p, err := geo.OpenMMDB([]string{country, asn})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	for _, d := range p.Databases() {
		fmt.Println(filepath.Base(d.Path), d.Type, d.Fields)
	}
	for _, a := range []string{"198.51.100.7", "::ffff:198.51.100.7", "203.0.113.1"} {
		info, ok := p.Lookup(netip.MustParseAddr(a))
		fmt.Printf("%s: %q %d %q %v\n", a, info.Country, info.ASN, info.Org, ok)
	}
	// Output:
	// GeoLite2-Country.mmdb GeoLite2-Country country
	// GeoLite2-ASN.mmdb GeoLite2-ASN asn,org
	// 198.51.100.7: "DE" 64500 "Example GmbH" true
	// ::ffff:198.51.100.7: "DE" 64500 "Example GmbH" true
	// 203.0.113.1: "" 0 "" false
}

func writeExampleDB(dir, dbType string, rec mmdbtype.Map) string {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: dbType, IncludeReservedNetworks: true,
		Description: map[string]string{"en": "example"}})
	if err != nil {
		log.Fatal(err)
	}
	_, network, _ := net.ParseCIDR("198.51.100.0/24")
	if err := tree.Insert(network, rec); err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, dbType+".mmdb")
	f, err := os.Create(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	if _, err := tree.WriteTo(f); err != nil {
		log.Fatal(err)
	}
	return path
}

// ExampleMMDB_Run shows the wiring of a long-running program: poll the
// files in a goroutine of its own, reload everything on SIGHUP, and pass
// the provider to the detector (exfil.WithGeo(p)).
func ExampleMMDB_Run() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p, err := geo.OpenMMDB([]string{"/var/lib/GeoIP/GeoLite2-City.mmdb", "/var/lib/GeoIP/GeoLite2-ASN.mmdb"},
		geo.WithLogger(slog.Default()), geo.WithCache(1<<16))
	if err != nil {
		log.Fatal(err) // names the file and what is wrong with it
	}
	defer p.Close()
	go p.Run(ctx) // reloads changed files every minute

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			// A broken file keeps its previous version; Reload says why.
			if err := p.Reload(); err != nil {
				slog.Warn("geoip reload", "err", err)
			}
		}
	}()
	// ... exfil.New(src, exfil.WithGeo(p), ...) and run until ctx is done.
	<-ctx.Done()
}
