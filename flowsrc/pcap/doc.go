// Package pcap reads packet captures in the pcap and pcapng formats and
// decodes each frame down to its IP and transport headers.
//
// It exists so that exfilscore can replay NetFlow, IPFIX and sFlow captures
// (the collector's -replay flag): every [Packet] carries the capture time, the
// IP addresses, the transport ports and the transport payload, which for UDP
// is the export datagram and its source address the exporter.
//
// The main type is [Reader], made by [NewReader]. It detects the format from
// the first bytes of the stream: pcap in either byte order with microsecond
// or nanosecond timestamps (and the rare "modified" pcap), pcapng with any
// number of sections and interfaces, and either of them compressed with gzip.
// [Reader.Next] returns one decoded IP packet at a time and skips, counting
// them in [Stats], the frames it cannot decode to IP (ARP, unsupported link
// types, frames cut before the end of the IP header).
//
// Link types: Ethernet (with any number of 802.1Q/802.1ad VLAN tags, LLC/SNAP,
// PPPoE sessions and MPLS label stacks), Linux cooked capture v1 and v2, raw
// IP (101, and 12 and 14 where they mean raw IP), BSD null/loopback (0, in
// either byte order) and OpenBSD loop (108), IPv4 (228) and IPv6 (229).
// IPv4 options and IPv6 extension headers (hop-by-hop, routing, fragment,
// destination options, authentication, mobility, HIP, shim6) are skipped to
// reach the transport header. Tunnels are not entered: a packet is described
// by its outermost IP header. Fragments are not reassembled.
//
// Input is untrusted: a length field that does not fit gives an error or a
// counted skip, never a panic, and memory use is bounded by the data actually
// present (blocks and records over 16 MiB are rejected).
//
// A Reader is not safe for concurrent use. Reading a capture from memory
// allocates nothing per packet once its buffers have grown to the largest
// frame.
//
// Example:
//
//	f, err := os.Open("export.pcapng")
//	if err != nil { ... }
//	r, err := pcap.NewReader(f)
//	if err != nil { ... }
//	for {
//		p, err := r.Next()
//		if err == io.EOF {
//			break
//		}
//		if err != nil { ... }
//		if p.Proto == 17 {
//			handle(p.Time, p.Src, p.Payload) // p.Payload is reused by the next call
//		}
//	}
package pcap
