// Package flowtest builds flow-export datagrams for tests, fuzz seeds and
// demos, the way net/http/httptest builds HTTP requests: small encoders of
// our own for NetFlow v5, NetFlow v9 (RFC 3954), IPFIX (RFC 7011, with the
// Information Element numbers of RFC 7012) and sFlow v5
// (sflow.org/sflow_version_5.txt), written from those specifications.
//
// The main types are:
//
//   - [Flow]: one flow to encode (addresses, ports, counters, times, ...);
//   - [AppendV5]: a whole NetFlow v5 datagram;
//   - [V9] and [IPFIX]: message builders that append template sets,
//     options template sets, data sets and options data sets, then return
//     the datagram with [V9.Bytes] or [IPFIX.Bytes];
//   - [Template] and [OptionsTemplate], with the ready-made [V9Template]
//     and [IPFIXTemplate];
//   - [AppendSFlow]: an sFlow v5 datagram of flow samples, each carrying
//     one raw packet header, which [Packet] builds;
//   - [UDPFrame] and [PcapWriter]: wrap datagrams in Ethernet/IP/UDP frames
//     and write them to a classic pcap file for replay or for tshark.
//
// # How Flow fields map to template fields
//
// A data record is laid out by its template. For every field the encoder
// first looks in [Flow.Extra] (keyed by type and enterprise number); a value
// found there always wins. Otherwise, for IANA fields (PEN 0), it takes the
// value from the Flow:
//
//	1 octetDeltaCount / IN_BYTES, 85 octetTotalCount       Bytes
//	2 packetDeltaCount / IN_PKTS, 86 packetTotalCount      Packets
//	4 protocolIdentifier                                   Proto
//	6 tcpControlBits / TCP_FLAGS                           TCPFlags
//	7, 11 source/destinationTransportPort                  SrcPort, DstPort
//	8, 12 IPv4 source/destination address                  Src, Dst (zeros if not IPv4)
//	27, 28 IPv6 source/destination address                 Src, Dst (IPv4 as ::ffff:a.b.c.d)
//	32, 139 icmpTypeCodeIPv4/IPv6 (type<<8 | code)         ICMPType, ICMPCode
//	176, 178 icmpTypeIPv4/IPv6; 177, 179 icmpCode...       ICMPType; ICMPCode
//	34 samplingInterval                                    SamplingInterval
//	48 FLOW_SAMPLER_ID / samplerId                         SamplerID
//	22, 21 FIRST/LAST_SWITCHED, flowStart/EndSysUpTime     Start, End in ms since boot
//	150, 151 flowStart/EndSeconds                          Start, End
//	152, 153 flowStart/EndMilliseconds                     Start, End
//	154, 155 flowStart/EndMicroseconds (NTP format)        Start, End
//	156, 157 flowStart/EndNanoseconds (NTP format)         Start, End
//	158, 159 flowStart/EndDeltaMicroseconds                export time - Start, End
//	160 systemInitTimeMilliseconds                         the boot time
//
// "Boot" is ExportTime (truncated to the second, as the header carries it)
// minus Uptime for NetFlow v9, and [IPFIXHeader.SystemInit] for IPFIX, so
// that a decoder that does the arithmetic of the RFCs gets Start and End
// back to the millisecond. Any other field is written as zeros of its length
// (variable-length fields: empty).
//
// Numbers are written big-endian in the template's field length. A field
// shorter than the value's natural size (reduced-size encoding, RFC 7011
// section 6.2, such as a 4-byte IN_BYTES) receives the low-order bytes of
// the value: a value that does not fit is silently truncated, which is the
// caller's business. A longer field is zero-extended. Addresses follow the
// same rule. Fields of variable length (Length 0xFFFF, IPFIX only) receive
// the value in its natural size, prefixed by the one-byte length, or by 0xFF
// and a two-byte length from 255 bytes on.
//
// Values in Extra and in options data records must have exactly the field's
// length (nil or empty means zeros); anything else is a programming error
// and panics, as does a set or message longer than 65535 bytes.
//
// # Concurrency
//
// The builders [V9], [IPFIX] and [PcapWriter] are not safe for concurrent
// use; the functions are.
package flowtest
