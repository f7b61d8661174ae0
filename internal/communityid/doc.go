// Package communityid computes Community ID v1 flow hashes, the
// direction-independent flow identifier of the Corelight community-id-spec
// (https://github.com/corelight/community-id-spec) that Zeek, Suricata,
// Wireshark and Elastic emit, so exfilscore alerts can be joined with their
// logs by a plain string comparison.
//
// The main types are [Hasher], which holds the seed, and [Flow], the input
// tuple. A Hasher is an immutable value: it is safe for concurrent use and
// its zero value hashes with seed 0, the default of every implementation.
//
//	h := communityid.New(0)
//	id := h.String(communityid.Flow{
//		Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("5.6.7.8"),
//		Proto: 6, SrcPort: 1122, DstPort: 3344,
//	}) // "1:wCb3OG7yAFWelaUydu0D+125CLM="
//
// # What is hashed
//
// The SHA-1 input is: seed (2 bytes, big-endian), the two addresses (4 bytes
// each for IPv4, 16 for IPv6), the IP protocol number (1 byte), one zero byte
// of padding and, only for TCP (6), UDP (17), SCTP (132), ICMP (1) and
// ICMPv6 (58), the two ports (2 bytes each, big-endian). The endpoints are
// ordered first so both directions of a conversation hash the same: the
// endpoint with the bytewise smaller address comes first, and when both
// addresses are equal the one with the smaller port does.
//
// For ICMP and ICMPv6, [Flow.SrcPort] carries the ICMP type and
// [Flow.DstPort] the ICMP code. As in Zeek and the spec, a type that belongs
// to a request/reply pair (echo, timestamp, information, router
// solicitation/advertisement, address mask; for ICMPv6 echo, MLD
// query/report, router and neighbor discovery, node information, home agent
// address discovery) is hashed with its counterpart type as second "port",
// so request and reply get the same ID. Any other type (destination
// unreachable, time exceeded, ...) is one-way: the code is the second port
// and the endpoints are hashed in the order given, never swapped.
//
// # Addresses
//
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are unmapped first, so they
// hash like the IPv4 address. Zones are ignored. A flow whose addresses are
// invalid (the zero [netip.Addr]) or of different families after unmapping
// has no Community ID: [Hasher.String] returns "", [Hasher.AppendBase64] and
// [Hasher.AppendHex] return b unchanged and [Hasher.Sum] returns the zero
// digest. Tunnels, VLANs and MPLS are out of scope of the spec: hash the
// tuple you want identified.
package communityid
