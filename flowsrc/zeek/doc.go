// Package zeek reads Zeek logs and yields flowsrc.Records: one per
// conn.log entry, with the names that ssl.log, http.log and dns.log gave
// for the same connection (joined by uid) and for its destination address
// (passive DNS).
//
// # Types
//
//   - [Parser] takes lines one at a time ([Parser.Line]), in file order,
//     as a tail -F follower hands them over. It keeps the TSV header state
//     from line to line.
//   - [Reader] reads a whole stream (plain or gzip-compressed) through a
//     Parser: [Reader.Next] fills one record at a time, [Reader.Run] calls
//     a function for each.
//   - [ReadFiles] reads a set of log files, the application logs first,
//     then conn.log, so that every name is known when its connection's
//     record is built.
//   - [Joiner] is the bounded uid → [Names] map shared by the parsers of
//     the application logs and of conn.log.
//   - [Sniff] recognises a conn.log from its first bytes.
//
// Reading a Zeek log directory, names joined (ExampleReader shows the same
// with streams):
//
//	names := pdns.New(0) // shared with the other sources
//	st, err := zeek.ReadFiles(func(r *flowsrc.Record) {
//		handle(r) // r is only valid during the call
//	}, []string{"conn.log", "ssl.log", "http.log", "dns.log.gz"}, zeek.WithPDNS(names))
//	if err != nil { ... }
//	log.Println(st) // lines, records, joins, malformed lines...
//
// Following live logs (a tail -F follower hands over complete lines):
//
//	j := zeek.NewJoiner(0)
//	conn := zeek.NewParser(zeek.WithJoiner(j), zeek.WithPDNS(names))
//	ssl := zeek.NewParser(zeek.WithJoiner(j), zeek.WithPDNS(names))
//	// on the conn.log follower's goroutine, for each line:
//	conn.Line(line, lineNo, emit)
//	// on the ssl.log follower's goroutine:
//	ssl.Line(line, lineNo, nil)
//
// # Formats
//
// Both of Zeek's writers are read, and a stream may mix them:
//
//   - TSV (the ASCII writer): a header of #separator (written escaped, as
//     \x09), #set_separator, #empty_field, #unset_field, #path, #open,
//     #fields, #types, and #close at the end. A file may hold several
//     header blocks (concatenated or rotated logs, different field
//     orders): each #separator starts a new block. Columns are found by
//     name from #fields; fields equal to the unset marker are unset, and
//     Zeek's \xHH escapes are decoded. A data line needs a #fields header
//     before it and exactly as many fields.
//   - JSON lines (the JSON writer): one object per line with dotted keys
//     ("id.orig_h"); unset fields are absent or null. ts is epoch seconds
//     (JSON::TS_EPOCH), ISO 8601 text (JSON::TS_ISO8601) or integral epoch
//     milliseconds (JSON::TS_MILLIS; any integer above 1e11). Counts may
//     also be given as strings.
//
// A line's log is its block's #path or its own "_path"; failing those,
// the path given with [WithPath]; failing that, it is recognised from the
// keys only one log has (conn.log's orig_bytes, conn_state, ...). Lines of
// other logs (weird, files, ...) are counted in Stats.OtherPath and named
// in Stats.OtherPaths, not parsed.
//
// # conn.log → flowsrc.Record
//
//	ts                          Start; End = ts + duration (End = Start when duration is unset)
//	uid                         SensorFlowID
//	id.orig_h, id.orig_p        Src, SrcPort: the originator is the client (Initiator = InitiatorSrc)
//	id.resp_h, id.resp_p        Dst, DstPort
//	proto                       Proto: tcp 6, udp 17, icmp 1 (58 over IPv6, or as ip_proto says),
//	                            unknown_transport the ip_proto field when logged, else 0
//	service                     AppProto, the first entry, in Suricata's names (see AppProto)
//	orig_bytes, resp_bytes      BytesToServer, BytesToClient, ByteCountSource "payload";
//	                            when either is unset and the IP byte counts are logged,
//	                            orig_ip_bytes and resp_ip_bytes, ByteCountSource "ip"
//	orig_pkts, resp_pkts        PktsToServer, PktsToClient
//	community_id                SensorCommunityID (when the community-id-logging policy logs it)
//
// For ICMP Zeek logs the type as orig_p and as resp_p the code of a
// one-way message (unreachable, time exceeded, ...) or the counterpart
// type of a request/reply pair (echo 8 ↔ 0, ...), whose code is 0: the
// record has ports 0, HasICMP, ICMPType = orig_p and ICMPCode = resp_p or
// 0. SamplingRate is 1, Exporter the address given with [WithSensor]. Zeek
// gives no TCP flags: TCPFlags stays 0.
//
// A conn.log line without ts, id.orig_h or id.resp_h, or with a field this
// package reads that does not parse, is skipped and counted as malformed.
//
// # Names
//
// An ssl.log entry gives its connection SNI (server_name), JA3 and JA4
// (the ja3 and ja4 fields of the JA3 and JA4 packages, when loaded); an
// http.log entry HTTPHost (host, as logged, port included if the client
// sent one), UserAgent, HTTPMethod and HTTPContentType (the first of
// resp_mime_types); a dns.log entry DNSName (its query, normalised) to the
// DNS transaction's own connection. The first value logged for a uid wins.
// A dns.log entry whose qtype_name is A, AAAA or * (or not logged) also
// gives every answer that is an address, under the query name, to the
// passive-DNS map ([WithPDNS]); a conn record without a DNSName of its own
// gets the name the map holds for its Dst.
//
// Zeek writes a conn.log entry when the connection ends, after the
// ssl.log, http.log and dns.log entries of the same uid (DNS answers also
// come before the connections to the addresses). Names join only when the
// application log line is parsed before the conn.log line: feed the
// application logs first (ReadFiles does), or interleaved in time order
// (one parser per file, sharing a Joiner and a pdns.Map). A conn.log line
// parsed before its application log lines gets no names from them.
// Strings kept (names, uids) are cut to MaxNameLen bytes.
//
// # Errors
//
// Bad input never stops a Parser or Reader and never panics: each bad
// line is skipped and counted in [Stats].Malformed, and the first few are
// described ([LineError]: line number, log path, what was wrong, quoting
// it). A Reader's Next and Run return only read errors; lines longer than
// [WithMaxLineLength] are skipped as [ErrTooLong].
//
// # Limits
//
// Headerless TSV (LogAscii::include_meta=F, zeek-cut output) is not
// read: its lines are counted as [ErrNoHeader]. JSON with nested "id"
// objects (some log shippers' form) is not read. JSON strings are
// decoded as JSON only: the \xHH text Zeek's JSON writer puts for bytes
// that are not UTF-8 stays as text. The values of JSON keys this package
// does not read are checked only for balanced brackets and terminated
// strings. The Joiner and the passive-DNS map are bounded; see their
// documentation for what is evicted.
//
// # Speed
//
// Parsing a conn.log line allocates only the strings the record keeps
// (the uid, and the community_id when logged); see the benchmarks for
// lines per second.
package zeek
