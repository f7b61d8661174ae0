// Package goflowpb reads the protobuf output of goflow2 v2
// (github.com/netsampler/goflow2/v2, `goflow2 -format=bin`) as
// [flowsrc.Record] values, so that an existing goflow2 deployment feeding
// Kafka or a file can feed exfilscore unchanged.
//
// The main types and functions are:
//
//   - [Reader], made by [NewReader]: a stream of messages, as goflow2's file
//     transport writes it (-transport.file, or stdout);
//   - [Decode]: one Kafka message value (goflow2's kafka transport sends each
//     message, length prefix included, as one Kafka value); [DecodeBare]
//     for a FlowMessage without the prefix;
//   - [Sniff]: tells goflow2's binary format from the first bytes.
//
// # Framing
//
// goflow2's "bin" format marshals each flowpb.FlowMessage with protodelim
// (producer/proto's MarshalBinary): a varint length, then that many bytes
// of protobuf. The file transport then writes -transport.file.sep after
// every message: "\n" by default, nothing with `-transport.file.sep=` (the
// setting goflow2's README uses to pipe into its enricher). Kafka values
// carry one delimited message and no separator.
//
// A Reader detects the separator from the byte that follows the first
// message: "\n" means newline-separated, anything else no separator. A
// goflow2 message is never 10 bytes long (time_received_ns alone takes 11),
// so a second message cannot start with the byte 0x0a and the detection
// cannot be fooled by goflow2's output; [WithSeparator] fixes the separator
// (any string, as -transport.file.sep allows) and turns detection off.
//
//	f, err := os.Open("goflow2.bin")
//	if err != nil { ... }
//	r := goflowpb.NewReader(f)
//	var rec flowsrc.Record
//	for {
//		err := r.Next(&rec)
//		if err == io.EOF {
//			break
//		}
//		if errors.Is(err, goflowpb.ErrMalformed) {
//			continue // counted in r.Stats(); the next message follows
//		}
//		if err != nil { ... } // broken framing or I/O: the stream cannot go on
//		use(rec)
//	}
//
// # Mapping
//
// The schema is goflow2 v2's pb/flow.proto (v2.0 to v2.2.6: field numbers
// 1-38, 70-71, 80-82, 100-106, 110-112). goflow2 v1 and cloudflare/goflow
// messages use another numbering that collides with v2's (field 38 is v1's
// TimeFlowStart in seconds but v2's ip_flags) and are not read: without
// v2's time fields they are reported as malformed, naming v1 as the likely
// cause.
//
//   - Start, End: time_flow_start_ns and time_flow_end_ns; a missing one
//     (absent, zero, or beyond the year 2262) is the other, and with
//     neither both are time_received_ns, the time goflow2 received the
//     datagram. v2 has no millisecond or second fields to fall back on
//     (those were v1's). Start is never after End: a message that says
//     otherwise gets Start = End, as in package flowsrc. Times are UTC.
//   - Src, Dst: src_addr, dst_addr, 4 or 16 bytes; IPv4-mapped IPv6
//     addresses are unmapped. A message without both (goflow2 emits them for
//     non-IP sFlow samples, such as ARP) is not a flow: [ErrNotFlow].
//   - SrcPort, DstPort, Proto, TCPFlags: src_port, dst_port, proto, and the
//     low byte of tcp_flags (IPFIX tcpControlBits is 16 bits wide).
//   - ICMP and ICMPv6 (proto 1 and 58): ports 0; HasICMP with the type and
//     code from icmp_type/icmp_code when the message has either; else, for
//     messages goflow2 mapped from NetFlow/IPFIX fields, from the
//     destination port as type<<8|code (goflow2 passes NetFlow v5's and many
//     v9 exporters' encoding on unchanged). Messages of packets goflow2
//     parsed itself (sFlow samples; they carry layer_stack) without
//     icmp_type/icmp_code get HasICMP false, type and code unknown: goflow2
//     up to v2.2.6 never writes them for such packets (its packet parser
//     counts a layer's call before making it, so ParseICMP never sees its
//     first call; fixed upstream by netsampler/goflow2#506 and #509), and
//     after the fix their absence means type 0 code 0, which cannot be told
//     apart.
//   - BytesToServer, PktsToServer: bytes and packets, which goflow2 leaves
//     unscaled, multiplied by sampling_rate (saturating); SamplingRate is
//     sampling_rate, 1 when 0, capped at 2^32-1. goflow2's records are
//     unidirectional: BytesToClient and PktsToClient stay 0.
//   - Exporter: sampler_address (the exporter's source address for
//     NetFlow/IPFIX, the agent address for sFlow), unmapped; the zero Addr
//     when absent. ObservationDomain: observation_domain_id (NetFlow v9
//     source ID, IPFIX observation domain; 0 for v5 and sFlow).
//   - Initiator: unknown, as for NetFlow: goflow2's schema has no IPFIX
//     biflowDirection (IE 239), nor reverse counters. AppProto and the
//     names stay empty.
//
// Other fields, including unknown ones (goflow2's custom mappings add
// fields such as 41/42 flow directions or 999), are skipped by their wire
// type. proto3 semantics apply: a field may come more than once (the last
// wins) and repeated scalars may be packed or not.
//
// # Errors
//
// Input is untrusted and never causes a panic. Every error is an [*Error]
// naming the stream offset of the message's length prefix, the message
// index and, for a bad field, its offset in the message and its number:
//
//   - [ErrMalformed]: the message is not a valid FlowMessage (truncated or
//     overlong varint, a field past the end of the message, a wire type the
//     schema does not allow for a known field, groups, field number 0, an
//     address that is not 4 or 16 bytes, proto above 255, a port above
//     65535, ICMP type or code above 255, no usable time). The Reader
//     skips it, counts it in [Stats], and goes on with the next message:
//     the length prefix says where it starts.
//   - [ErrFraming], [ErrTooLarge]: the length prefix is overlong or above
//     the size limit ([WithMaxMessageSize], 4 MiB by default as in
//     protodelim), the stream ends inside a prefix or a message (wrapping
//     io.ErrUnexpectedEOF), or the separator is missing. Nothing after it
//     can be trusted: the Reader returns the same error from then on.
//
// A stream that ends exactly after a message, or after a message and its
// separator, ends cleanly with io.EOF.
//
// # Performance and concurrency
//
// Messages are decoded in place from the Reader's 64 KiB buffer (larger
// ones from a buffer grown as their bytes arrive, never from the length
// prefix alone): reading allocates nothing per record. Decode and
// DecodeBare allocate only when they fail. A Reader is not safe for
// concurrent use; Decode, DecodeBare and Sniff are.
//
// # Tests
//
// The module does not require google.golang.org/protobuf, so goflow2's pb
// package cannot be imported here. The test data in testdata/goflow2 was
// therefore produced by goflow2 itself, by the generator module in
// testdata/gen: NetFlow v5/v9, IPFIX and sFlow datagrams (built with
// flowsrc/flowtest) run through goflow2's pipeline, "bin" format and file
// transport; the tests decode the same datagrams with
// [flowsrc.DatagramDecoder] and require the same records.
package goflowpb
