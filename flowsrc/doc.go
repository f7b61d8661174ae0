// Package flowsrc supplies flow records to exfilscore: it turns what
// exporters and sensors produce into [Record] values.
//
// This file documents the flow-export part: [DatagramDecoder] decodes
// NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011) and sFlow v5
// datagrams. The wire formats are parsed by goflow2's decoders
// (github.com/netsampler/goflow2/v2/decoders/netflowlegacy, .../netflow and
// .../sflow), except NetFlow v9 and IPFIX data records, which this package
// decodes itself from compiled templates (see Decoding paths); goflow2's
// producer is not used: the mapping from decoded fields to [Record], the
// template store, the sampling and time rules and the guards against
// malformed input are this package's own.
//
//	d := flowsrc.NewDatagramDecoder()
//	// for each UDP datagram received from exporter addr at time now:
//	err := d.Decode(addr, now, payload, func(r *flowsrc.Record) {
//		out <- *r // r is only valid during the call
//	})
//	if err != nil {
//		// part of the datagram was skipped; errors.Is(err,
//		// flowsrc.ErrTemplateMissing) and friends say why, and
//		// d.Stats() counts every skipped part.
//	}
//
// A consumer that reads ahead (exfil.Writer.ObserveBatch prefetches the
// window tables of a run of records) calls [DatagramDecoder.DecodeRuns]
// instead: it decodes up to [RunLen] records in place into one array and
// hands them over as a slice, with no copy, valid only during the call.
// Both give the same records in the same order (the path differential
// checks it on every capture and on the fuzz corpus).
//
// [SniffFormat] tells the format from the first bytes, so one decoder can
// serve every port: a NetFlow v5 datagram sent to the sFlow port is decoded
// as NetFlow v5.
//
// # Sources
//
// [ServeUDP] runs a decoder on a UDP socket (the exporter is each
// datagram's source address); [ReplayPcap] runs it over a pcap or pcapng
// capture in event time (the arrival time is the capture timestamp), using
// the reader of package flowsrc/pcap. [Record.AppendJSON] and
// [RecordWriter] write records as JSON lines with their Community ID (the
// collector's -dump-flows).
//
// # State and concurrency
//
// NetFlow v9 and IPFIX need state: templates, and the sampling rates and
// system init times announced in options data. It is kept per exporter (the
// datagram's source address, given to Decode) and, within an exporter, per
// observation domain (v9 source ID, IPFIX observation domain ID), as RFC
// 3954 and RFC 7011 ask; goflow2's own template key has no exporter, so
// each exporter gets its own template store (which implements goflow2's
// netflow.NetFlowTemplateSystem). The number of exporters, of templates
// and sampler entries per exporter, and of fields per template are bounded
// (see the With* options); what exceeds a limit is skipped with [ErrLimit].
// Templates stay until replaced or withdrawn (IPFIX); NetFlow v5 and sFlow
// are stateless.
//
// A DatagramDecoder is safe for concurrent use. The datagrams of one
// exporter are serialised by that exporter's lock and must be given in
// arrival order; different exporters decode in parallel (finding an
// exporter's state takes no lock).
//
// # Decoding paths
//
// goflow2 decodes the templates and options templates of NetFlow v9 and
// IPFIX. When a data template is stored, it is also compiled: the fields
// the mapping reads become a list of operations (offset in the record,
// length, what the field sets), with the record size precomputed, or, for
// templates with variable-length fields, runs of fixed-length fields
// between the variable-length ones. Data sets are then decoded straight
// from the datagram into the reused Record: once an exporter's templates
// are known, decoding its data datagrams allocates nothing ([PathFast],
// the default). Options data sets (sampling rates, system init time) are
// still decoded with goflow2.
//
// [WithDecodePath]([PathGoflow2]) decodes every data set with goflow2's
// DecodeDataSet instead, which boxes every field value and allocates about
// 11 times per record. The two paths give identical records, errors and
// [DecoderStats], down to goflow2's own reading of malformed sets (a
// remainder shorter than a record is ignored; zero padding at least a
// record long in a set of fixed-size records is read as records; a
// variable-length value cut by the end of its set makes the record
// malformed): a differential test over third-party captures and
// generated datagrams, and a fuzz target, hold them to it.
//
// # Mapping
//
// Addresses come from IE 8/12 (IPv4) or 27/28 (IPv6); a record that has both
// uses IPv4 unless both IPv4 addresses are 0.0.0.0. IPv4-mapped IPv6
// addresses are unmapped. Ports are IE 7/11 (else the UDP/TCP-specific IE
// 180-183), the protocol IE 4, TCP flags the low byte of IE 6. For ICMP and
// ICMPv6 the ports are 0, HasICMP is set and the type/code come from IE
// 176/177 (ICMPv6: 178/179), else IE 32 icmpTypeCodeIPv4 (ICMPv6: 139),
// else the destination port, where NetFlow v5 and many v9 exporters put
// type<<8|code. PSAMP packet reports (IPFIX records carrying the sampled
// packet in IE 315 dataLinkFrameSection or IE 313 ipHeaderPacketSection
// instead of flow keys) are parsed like sFlow sampled headers: one packet
// of IE 312 dataLinkFrameSize bytes. Records with no addresses at all
// (such as Cisco WLC station records) are not flows and are counted as
// [ErrUnsupported].
//
// Bytes and packets: IE 1/2 (delta counts), else IE 85/86 (total counts),
// else, for NetFlow v9 only, IE 23/24 (OUT_BYTES/OUT_PKTS). Cisco ASA NSEL
// records with IE 231/232 (initiatorOctets/responderOctets) become
// bidirectional: BytesToServer = 231, BytesToClient = 232 (packets from IE
// 298/299 when present), Initiator = InitiatorSrc, since NSEL's source is
// the initiator. IPFIX biflowDirection (IE 239) 1/2 sets InitiatorSrc/Dst.
// Enterprise-specific fields (IPFIX fields with an enterprise number) are
// never read as standard IEs, except the RFC 5103 reverse fields (PEN
// 29305) of an IPFIX biflow (softflowd -b, YAF, ipfixprobe): reverse IE 1/2
// (else 85/86) are the Dst→Src counters, BytesToClient and PktsToClient;
// the initiator is the one biflowDirection names, and without it the
// forward direction's source (InitiatorSrc), as RFC 5103 exporters assign
// the forward direction to the initiator. Integer
// fields may use reduced-size encoding (1 to 8 bytes). Options data records
// are never emitted.
//
// # Timestamps
//
// All times are UTC. Per record, the first available of:
//
//   - start: IE 156 flowStartNanoseconds, 154 flowStartMicroseconds (both
//     64-bit NTP format, RFC 7011 §6.1.9-10; µs values are rounded to the
//     microsecond), 152 flowStartMilliseconds, 150 flowStartSeconds, 158
//     flowStartDeltaMicroseconds (before the header's export time), 22
//     flowStartSysUpTime / FIRST_SWITCHED;
//   - end: the matching 157, 155, 153, 151, 159, 21, then the observation
//     time 325, 324, 323, 322 (Cisco NSEL event time).
//
// A zero absolute time is treated as absent. NetFlow v5 First/Last and
// NetFlow v9 IE 21/22 are milliseconds of sysUpTime: time = header wall
// clock - (header sysUpTime - value), the difference taken modulo 2^32 so
// that a wrapped uptime counter (every 49.7 days) is handled; a value up to
// one hour after the header's uptime is read as that much after the export
// (exporter races), anything further as before a wrap, so a flow is never
// placed more than one hour after its export. In IPFIX, IE 21/22 count from
// systemInitTimeMilliseconds (IE 160), taken from the record itself or from
// an earlier options data record of the same exporter and domain; the
// 32-bit value is read modulo 2^32 by the same rule (never more than one
// hour after the export, else up to 49.7 days before it), which handles an
// uptime that wrapped since init and the negative uptimes of flows older
// than the announced init (softflowd reading a capture); without IE 160
// they are unusable. A missing end is the start and a missing start the end;
// with neither, both are the header's export time, and as a last resort
// the arrival time given to Decode. Start is never after End: a record
// that says otherwise gets Start = End.
//
// sFlow agents send only their uptime, not wall-clock time, and a sample is
// one packet: Start = End = the arrival time given to Decode (for a replay,
// the capture time).
//
// # Sampling
//
// Counters are multiplied by the sampling rate the exporter declares, and
// Record.SamplingRate is set (1 when unsampled or unknown):
//
//   - NetFlow v5: the header's sampling interval, low 14 bits (the top 2
//     bits are the mode); 0 or 1 means unsampled.
//   - NetFlow v9 / IPFIX, in the record: IE 34 samplingInterval, else IE 50
//     samplerRandomInterval, else IE 305/306 samplingPacketInterval/Space
//     as (interval + space) / interval (1 and 999: 1 in 1000).
//   - NetFlow v9 / IPFIX, announced in options data: a record with IE
//     34/50/305+306 sets the rate of the sampler it names (IE 48 samplerId
//     or IE 302 selectorId, as scope or option field) or, without one, of
//     the whole exporter and domain. A data record without an inline rate
//     uses the sampler its IE 48/302 names, else the domain-wide rate, else,
//     when it names no sampler, the domain's only sampler if it has exactly
//     one. Only options data that arrived earlier applies (as with
//     templates, a datagram is read in order). NetFlow v9 options scope
//     fields are scope types (System, Interface, ...), not IEs, and are not
//     read.
//   - sFlow: the flow sample's sampling rate. One Record per flow sample:
//     packets = rate, bytes = the sampled packet's frame length × rate.
//
// # sFlow
//
// Flow samples and expanded flow samples are decoded; from their records,
// the raw packet header (Ethernet with 802.1Q/802.1ad tags and MPLS labels,
// or bare IPv4/IPv6; IPv6 extension headers skipped; TCP/UDP ports and TCP
// flags, ICMP type/code; tunnels are not entered) is preferred, then the
// sampled IPv4/IPv6 records (types 3/4; for ICMP their ports are read as
// type and code). Counter samples are counted in [DecoderStats], not
// emitted; drop samples and enterprise formats are counted as
// [ErrUnsupported]. ObservationDomain is the datagram's sub-agent ID;
// Exporter, as for every format, is the address given to Decode (the agent
// address inside the datagram is not used).
//
// # Errors and counters
//
// Decode never panics on bad input, never loops on degenerate templates
// (templates whose records would be zero bytes long are refused) and never
// allocates from a length field it has not checked against the datagram.
// When part of a datagram is skipped it returns a [*DecodeError] for the
// first skipped part, wrapping [ErrMalformed], [ErrUnknownFormat],
// [ErrTemplateMissing], [ErrUnsupported] or [ErrLimit]; the records of the
// other parts are still emitted. [DatagramDecoder.Stats] counts datagrams
// per format, records emitted, options records, templates, sFlow counter
// samples, and every skipped part by reason, so nothing is lost silently.
//
// Notable inputs handled: NetFlow v5 header counts larger than the
// datagram (only the records present are emitted); NetFlow v9 header
// counts that disagree with the datagram (the count is ignored: sets are
// walked by their lengths); zero padding after the last set or inside
// sets; data sets that precede their template in the same datagram
// (ErrTemplateMissing); truncated variable-length fields; IPFIX template
// withdrawals; sFlow sample and record counts that exceed their lengths.
package flowsrc
