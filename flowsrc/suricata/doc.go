// Package suricata reads Suricata's EVE JSON log (one JSON object per
// line) and yields a [flowsrc.Record] for every flow event, with the TLS
// server name, HTTP host and user agent, JA3/JA4 and DNS name that the
// sensor's other events give for the same flow.
//
// The main types are [Reader], which reads a whole stream:
//
//	r := suricata.NewReader(f, suricata.WithSensor(sensorAddr))
//	for {
//		var rec flowsrc.Record
//		err := r.Next(&rec)
//		if err == io.EOF {
//			break
//		}
//		if err != nil { ... } // a read error; bad lines are only counted
//		handle(rec)
//	}
//	st := r.Stats() // lines, records, skipped and malformed lines, joins
//
// and [Parser], which takes one line at a time for callers that split the
// lines themselves, such as a follower of a growing file: [Parser.Line]
// calls emit with the record of a flow event and returns a [*LineError]
// for a malformed line. [Sniff] tells whether the first bytes of a file
// look like EVE JSON.
//
// # Flow events
//
// A flow event (event_type "flow", written by Suricata when the flow ends
// or times out) becomes one record:
//
//	src_ip, dest_ip          Src, Dst (IPv4 or IPv6, Suricata's full IPv6 form accepted)
//	src_port, dest_port      SrcPort, DstPort (0 for ICMP and ICMPv6)
//	proto                    Proto ("TCP", "UDP", "ICMP", "IPv6-ICMP", any IANA keyword or
//	                         Suricata spelling of one, case-insensitive, or a decimal number)
//	icmp_type, icmp_code     ICMPType, ICMPCode, HasICMP (ICMP and ICMPv6 with icmp_type)
//	app_proto                AppProto, exactly as written ("failed" included; "" when absent)
//	flow.start, flow.end     Start, End (in UTC)
//	flow.bytes_toserver ...  BytesToServer, BytesToClient, PktsToServer, PktsToClient
//	tcp.tcp_flags            TCPFlags (hex, e.g. "1b")
//	community_id             SensorCommunityID (kept as written)
//	flow_id                  SensorFlowID (decimal)
//
// Suricata's src is the client, so Initiator is [flowsrc.InitiatorSrc].
// SamplingRate is 1. Exporter is the address given with [WithSensor], else
// the invalid address (EVE lines do not say which sensor wrote them).
// Suricata counts whole frames, link-layer headers included, in its byte
// counters.
//
// Timestamps are parsed exactly: YYYY-MM-DDTHH:MM:SS, an optional fraction
// of 1 to 9 digits, and a UTC offset written ±HHMM (Suricata's form,
// 2024-01-02T03:04:05.123456+0000), ±HH:MM or Z. A timestamp without an
// offset, or with a field out of range, makes the line malformed.
//
// # Names from other events
//
// Suricata writes a flow's tls, http and dns events when it sees them,
// before the flow event, which comes when the flow ends. The parser keeps
// their names in a pending map under the flow_id (tls.sni, tls.ja3.hash,
// tls.ja4; http.hostname, http.http_user_agent, http.http_method,
// http.http_content_type; the DNS query name) and moves them into the
// record when the flow event comes; for each field the first event that
// names it wins. The pending map is bounded ([WithPendingCapacity],
// default 65536 flows): an entry is dropped once that many newer flows
// have been added, and counted in Stats.Evicted; a long-lived flow whose
// app events were written long before its flow event on a busy sensor may
// lose its names that way. The parser also remembers as many recently
// finished flow_ids, so that an app event arriving after its flow event
// is recognised and counted (Stats.Late) rather than kept for ever. App
// events with names but no flow_id are counted in Stats.NoFlowID.
//
// DNS answers feed a passive-DNS map ([pdns.Map]): every A and AAAA
// address in a dns event of type "answer" (EVE DNS v1 and v2) or
// "response" (v3, Suricata 8) is recorded under its record's name and,
// last so that it is the one looked up, under the query name (for a CNAME
// chain, the name the client asked for). The formats read are v1 (one
// event per answer record: dns.rrname, dns.rrtype, dns.rdata), v2
// detailed (dns.answers[].rrname/rrtype/rdata, the query in dns.rrname)
// and grouped (dns.grouped.A and .AAAA lists, named by the query), and v3
// (the query in dns.queries[0].rrname). A flow's DNSName is the name that
// most recently resolved to its Dst; failing that, for a flow whose own
// dns events named a query (a flow to a resolver), that query name. Names
// are lower-cased without a trailing dot. Several sources can share one
// map through [WithPDNS]; by default each Parser has its own.
//
// # Other lines
//
// Lines of other event types ("netflow", "alert", "anomaly", "fileinfo",
// "stats", ...) are skipped and counted per event_type in Stats.Skipped
// (up to [MaxEventTypes] names). Empty lines are counted as blank.
//
// A line is malformed, counted in Stats.Malformed and described (the first
// [MaxMalformedSamples] of them, with their line numbers) in
// Stats.MalformedLines, when it is not valid JSON (as encoding/json.Valid
// judges it, nesting up to 10000 levels) or not an object, has no string
// event_type, has a field this package reads for its event type with a
// wrong JSON type or an invalid value (a port above 65535, a counter that
// is not an unsigned integer, an unparsable address, time or protocol, an
// A answer whose rdata is not an IPv4 address), or is a flow event
// without src_ip, dest_ip, proto, the flow object's start, end and four
// counters, or (for TCP, UDP and SCTP) its ports. A null value counts as
// absent; with duplicate keys the last one wins, as in encoding/json. A
// malformed line never stops reading, never panics, and has no effect: a
// dns event with one bad address feeds none of its addresses. A Reader
// also counts as malformed, and skips, a line longer than
// [WithMaxLineSize] (default 4 MiB).
//
// # Limits
//
// The package reads only the fields above. It does not read alert events
// (their flow and app-layer copies are skipped), netflow events (the
// unidirectional halves of flow events, which would count the flow
// twice) or quic events' server names. Each flow event is one record,
// whatever its flow.reason or flow.state; a sensor configured to log a
// flow more than once would have it counted more than once.
// A protocol written as "Any" (Suricata's name for five unassigned
// numbers) cannot be mapped back to its number and makes the line
// malformed. A name longer than [MaxNameLen] bytes (no real host or DNS
// name is) is left out and counted in Stats.LongNames, so that the pending
// map (WithPendingCapacity entries), the passive-DNS map and the string
// interning stay bounded in bytes whatever the input; the longest line a
// Reader holds is WithMaxLineSize.
//
// # Concurrency and speed
//
// A Parser or Reader is used by one goroutine; its Stats method may be
// called from any. The pdns.Map is safe to share. The scanner is a
// validating JSON reader written for these lines: it allocates nothing per
// line beyond the strings a record keeps (flow_id and community_id;
// repeated names and app_proto values are shared), and reads several
// hundred thousand to a million lines per second per core (see
// BenchmarkParseFlow and BenchmarkParseMixed), some four times faster than
// encoding/json decoding the same lines into a narrow struct.
package suricata
