package communityid_test

import (
	"fmt"
	"net/netip"

	"github.com/exfilscore/exfilscore/internal/communityid"
)

func ExampleHasher() {
	var h communityid.Hasher // seed 0, the default
	out := communityid.Flow{
		Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("5.6.7.8"),
		Proto: 6, SrcPort: 1122, DstPort: 3344,
	}
	back := communityid.Flow{
		Src: out.Dst, Dst: out.Src,
		Proto: 6, SrcPort: out.DstPort, DstPort: out.SrcPort,
	}
	fmt.Println(h.String(out))
	fmt.Println(h.String(back))
	fmt.Println(communityid.New(1).String(out))
	fmt.Printf("%s\n", h.AppendHex(nil, out))
	// Output:
	// 1:wCb3OG7yAFWelaUydu0D+125CLM=
	// 1:wCb3OG7yAFWelaUydu0D+125CLM=
	// 1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=
	// 1:c026f7386ef200559e95a53276ed03fb5db908b3
}

func ExampleHasher_AppendBase64() {
	h := communityid.New(0)
	// ICMP: SrcPort is the type, DstPort the code. Echo request and
	// echo reply share one ID.
	req := communityid.Flow{Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("5.6.7.8"), Proto: 1, SrcPort: 8}
	rep := communityid.Flow{Src: netip.MustParseAddr("5.6.7.8"), Dst: netip.MustParseAddr("1.2.3.4"), Proto: 1, SrcPort: 0}
	buf := make([]byte, 0, 64) // reuse: no allocation per flow
	buf = h.AppendBase64(buf[:0], req)
	fmt.Println(string(buf))
	buf = h.AppendBase64(buf[:0], rep)
	fmt.Println(string(buf))
	// Mixed address families have no ID: nothing is appended.
	buf = h.AppendBase64(buf[:0], communityid.Flow{Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("2001:db8::1"), Proto: 6})
	fmt.Printf("%q\n", buf)
	// Output:
	// 1:crodRHL2FEsHjbv3UkRrfbs4bZ0=
	// 1:crodRHL2FEsHjbv3UkRrfbs4bZ0=
	// ""
}
