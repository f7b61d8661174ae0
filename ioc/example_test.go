package ioc_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exfilscore/exfilscore/ioc"
)

func ExampleParseList() {
	const feed = `# C2 infrastructure
192.0.2.10
198.51.100.0/24      # bulletproof hoster
Evil.Example.
`
	set, err := ioc.ParseList(strings.NewReader(feed), "c2.txt")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(set.Len(), "indicators")

	m, ok := set.LookupAddr(netip.MustParseAddr("198.51.100.7"))
	m.MatchedOn = "dest_ip"
	js, _ := json.Marshal(m)
	fmt.Println(ok, string(js))

	m, ok = set.LookupDomain("cdn.EVIL.example")
	m.MatchedOn = "sni"
	js, _ = json.Marshal(m)
	fmt.Println(ok, string(js))

	_, ok = set.LookupDomain("notevil.example")
	fmt.Println(ok)

	_, err = ioc.ParseList(strings.NewReader("192.0.2.1\n300.1.1.1\n"), "bad.txt")
	fmt.Println(err)
	// Output:
	// 3 indicators
	// true {"indicator":"198.51.100.0/24","type":"cidr","feed":"c2.txt","matched_on":"dest_ip"}
	// true {"indicator":"evil.example","type":"domain","feed":"c2.txt","matched_on":"sni"}
	// false
	// ioc: feed "bad.txt" line 2: bad indicator "300.1.1.1"
}

func ExampleMulti_AppendAddrMatches() {
	a, _ := ioc.ParseList(strings.NewReader("192.0.2.0/24\n"), "feed-a.txt")
	b := ioc.NewSet("feed-b", []ioc.Indicator{{Value: "192.0.2.10", Kind: ioc.KindIP}})
	feeds := ioc.Multi{a, b}

	for _, m := range feeds.AppendAddrMatches(nil, netip.MustParseAddr("192.0.2.10")) {
		fmt.Println(m.Feed, m.Type, m.Indicator)
	}
	// Output:
	// feed-a.txt cidr 192.0.2.0/24
	// feed-b ip 192.0.2.10
}

func ExampleParseSTIX() {
	const bundle = `{"type": "bundle", "id": "bundle--1", "objects": [
	  {"type": "indicator", "id": "indicator--1", "pattern_type": "stix",
	   "pattern": "[domain-name:value = 'evil.example'] OR [ipv4-addr:value = '203.0.113.0/24']",
	   "valid_from": "2024-01-01T00:00:00Z", "valid_until": "2024-07-01T00:00:00Z", "confidence": 90},
	  {"type": "malware", "id": "malware--1", "name": "PoisonFrog", "is_family": true},
	  {"type": "relationship", "id": "relationship--1", "relationship_type": "indicates",
	   "source_ref": "indicator--1", "target_ref": "malware--1"},
	  {"type": "indicator", "id": "indicator--2", "pattern_type": "stix",
	   "pattern": "[ipv4-addr:value = '192.0.2.1' AND network-traffic:dst_port = 443]"}
	]}`
	set, err := ioc.ParseSTIX(strings.NewReader(bundle), "intel.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range set.Skipped() {
		fmt.Printf("skipped %d: %s (%s)\n", s.Count, s.Reason, s.First)
	}

	// A flow's SNI, at the flow's time.
	flowTime := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	m, ok := set.LookupDomainAt("cdn.evil.example", flowTime)
	m.MatchedOn = "sni"
	js, _ := json.Marshal(m)
	fmt.Println(ok, string(js))

	// After valid_until the indicator is expired.
	_, ok = set.LookupDomainAt("cdn.evil.example", time.Date(2024, 8, 1, 0, 0, 0, 0, time.UTC))
	fmt.Println(ok)
	// Output:
	// skipped 1: AND-ed comparisons (line 8 objects[3] (indicator--2))
	// true {"indicator":"evil.example","type":"domain","feed":"intel.json","matched_on":"sni","malware_family":"PoisonFrog","confidence":90,"valid_until":"2024-07-01T00:00:00Z"}
	// false
}

func ExampleWatcher() {
	dir, _ := os.MkdirTemp("", "ioc-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "c2.csv")
	os.WriteFile(path, []byte("indicator,malware\n192.0.2.10,Emotet\n"), 0o600)

	w, err := ioc.NewWatcher(path, ioc.WithOnReload(func(w *ioc.Watcher, s *ioc.Set, err error) {
		if err != nil {
			fmt.Println("reload failed, keeping the previous set:", strings.ReplaceAll(err.Error(), dir, "<tmp>"))
			return
		}
		fmt.Println("reloaded", s.Len(), "indicators")
	}))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Lookups go through the Watcher; a collector calls w.Reload on
	// SIGHUP and runs go w.Run(ctx) to follow changes.
	addr := netip.MustParseAddr("192.0.2.20")
	_, ok := w.LookupAddr(addr)
	fmt.Println(ok)

	// The feed is replaced: write a new file, rename it over the old.
	os.WriteFile(path+".new", []byte("indicator,malware\n192.0.2.10,Emotet\n192.0.2.20,QakBot\n"), 0o600)
	os.Rename(path+".new", path)
	w.Poll()
	m, ok := w.LookupAddr(addr)
	fmt.Println(ok, m.MalwareFamily)

	// A broken replacement leaves the previous set live.
	os.WriteFile(path+".new", []byte("indicator\n192.0.2.300\n"), 0o600)
	os.Rename(path+".new", path)
	w.Poll()
	_, ok = w.LookupAddr(addr)
	fmt.Println(ok)
	// Output:
	// false
	// reloaded 2 indicators
	// true QakBot
	// reload failed, keeping the previous set: ioc: file "<tmp>/c2.csv" line 2: bad indicator "192.0.2.300"
	// true
}

// lookupService stands for a remote threat-intelligence service.
type lookupService struct{}

func (lookupService) Name() string { return "intel-api" }

func (lookupService) QueryAddr(ctx context.Context, a netip.Addr) ([]ioc.Match, error) {
	if a == netip.MustParseAddr("198.51.100.23") {
		return []ioc.Match{{Indicator: "198.51.100.0/24", Type: "cidr", ThreatActor: "Grey Heron", Confidence: 70}}, nil
	}
	return nil, nil
}

func (lookupService) QueryDomain(ctx context.Context, name string) ([]ioc.Match, error) {
	return nil, nil
}

func ExampleNewCache() {
	// Lookups are answered from memory; WithCacheWait lets a first lookup
	// wait a little for the service (the default never waits).
	c, err := ioc.NewCache(lookupService{}, ioc.WithCacheTTL(time.Hour, 10*time.Minute), ioc.WithCacheWait(time.Second))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	feeds := ioc.Multi{c}
	for _, m := range feeds.AppendAddrMatchesAt(nil, netip.MustParseAddr("198.51.100.23"), time.Now()) {
		fmt.Println(m.Feed, m.Indicator, m.ThreatActor, m.Confidence)
	}
	// Output:
	// intel-api 198.51.100.0/24 Grey Heron 70
}
