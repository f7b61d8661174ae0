package ioc_test

import (
	"fmt"
	"net/netip"
	"strings"

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
	fmt.Printf("%v %+v\n", ok, m)

	m, ok = set.LookupDomain("cdn.EVIL.example")
	m.MatchedOn = "sni"
	fmt.Printf("%v %+v\n", ok, m)

	_, ok = set.LookupDomain("notevil.example")
	fmt.Println(ok)

	_, err = ioc.ParseList(strings.NewReader("192.0.2.1\n300.1.1.1\n"), "bad.txt")
	fmt.Println(err)
	// Output:
	// 3 indicators
	// true {Indicator:198.51.100.0/24 Type:cidr Feed:c2.txt MatchedOn:dest_ip}
	// true {Indicator:evil.example Type:domain Feed:c2.txt MatchedOn:sni}
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
