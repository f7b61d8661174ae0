package flowsrc

import (
	"net/netip"
	"time"
)

// Record is one normalised flow record: what every source in this package
// yields and what the rest of exfilscore consumes.
//
// A Record is a plain value; it holds no references into the datagram it was
// decoded from (strings are copied), so it stays valid after the decoder
// moves on. The zero Record is invalid (see IsValid).
//
// Naming follows Suricata's EVE flow events: Src is the side the source
// reports as the sender of this record (for a unidirectional NetFlow record
// the packets' source; for Suricata/Zeek the client), BytesToServer and
// PktsToServer count Src→Dst traffic, BytesToClient and PktsToClient
// Dst→Src traffic. A unidirectional record fills only the ToServer side.
// Counters are already multiplied by SamplingRate.
type Record struct {
	// Start and End bound the flow in absolute UTC time. End is the time
	// the windowed aggregator files the record under.
	Start, End time.Time

	// Src and Dst are the endpoints; ports are 0 for protocols without
	// ports. For ICMP and ICMPv6, ports are 0 and ICMPType/ICMPCode are set.
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16
	// Proto is the IP protocol number (6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6).
	Proto uint8
	// ICMPType and ICMPCode are valid when HasICMP is true.
	ICMPType, ICMPCode uint8
	HasICMP            bool

	// AppProto is the application protocol in Suricata's names ("tls",
	// "http", ...) when the source knows it; empty for NetFlow, IPFIX and
	// sFlow, which never guess it from the port.
	AppProto string

	// BytesToServer/PktsToServer count Src→Dst, BytesToClient/PktsToClient
	// Dst→Src, all after sampling correction.
	BytesToServer, BytesToClient uint64
	PktsToServer, PktsToClient   uint64

	// SamplingRate is the 1-in-N rate that was applied to the counters;
	// 1 when unsampled or unknown.
	SamplingRate uint32

	// TCPFlags is the cumulative OR of TCP flags when the source gives it.
	TCPFlags uint8

	// Initiator says what the source knows about who opened the
	// conversation.
	Initiator Initiator

	// Exporter is the address of the device that sent the datagram (or the
	// sensor that wrote the log).
	Exporter netip.Addr
	// ObservationDomain is the NetFlow v9 source ID, IPFIX observation
	// domain ID or sFlow sub-agent ID.
	ObservationDomain uint32

	// Names the source saw for the destination, when it has them: the TLS
	// server name, the HTTP Host (and the client's User-Agent, method and
	// the response's Content-Type), a DNS name that resolved to Dst, and
	// the TLS client fingerprints.
	SNI, HTTPHost, UserAgent, DNSName, JA3, JA4 string
	HTTPMethod, HTTPContentType                 string

	// SensorFlowID is the sensor's own identifier of the flow (Suricata's
	// flow_id in decimal, Zeek's uid); empty for NetFlow, IPFIX and sFlow.
	SensorFlowID string
	// SensorCommunityID is the community_id the sensor logged, kept as
	// written; the record's own Community ID is always computed (see
	// CommunityID), and the two can differ when the sensor is wrong (the
	// JSON form then carries both).
	SensorCommunityID string
	// ByteCountSource says what the byte counters count when the source
	// has a choice: "payload" (Zeek's orig_bytes/resp_bytes) or "ip" (IP
	// bytes, Zeek's orig_ip_bytes/resp_ip_bytes fallback); empty otherwise
	// (NetFlow, IPFIX and sFlow count IP bytes, Suricata counts packet
	// bytes).
	ByteCountSource string
}

// Initiator records what a source knows about which endpoint opened the
// conversation.
type Initiator uint8

const (
	// InitiatorUnknown: the source does not say (NetFlow v5/v9, most IPFIX,
	// sFlow). The exfil package decides with its documented rule.
	InitiatorUnknown Initiator = iota
	// InitiatorSrc: Src opened the conversation (Suricata, Zeek, IPFIX
	// biflowDirection=initiator).
	InitiatorSrc
	// InitiatorDst: Dst opened the conversation.
	InitiatorDst
)

// String returns "unknown", "src" or "dst".
func (i Initiator) String() string {
	switch i {
	case InitiatorSrc:
		return "src"
	case InitiatorDst:
		return "dst"
	}
	return "unknown"
}

// IsValid reports whether r has both addresses and an end time.
func (r *Record) IsValid() bool {
	return r.Src.IsValid() && r.Dst.IsValid() && !r.End.IsZero()
}
