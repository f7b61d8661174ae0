package exfil

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"strconv"
	"time"

	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
	"github.com/exfilscore/exfilscore/window"
)

// AlertType is the value of every alert's alert_type field.
const AlertType = "data_exfiltration"

// Alert is one scored aggregate: an internal source's conversation with an
// external destination during one window. Its JSON form (one object per
// line) is the contract of SPEC §6; field names are exactly these. An Alert
// is a plain value, not safe for concurrent mutation.
type Alert struct {
	// AlertID is stable for a key and window: an early alert and the final
	// one of the same aggregate share it, so a consumer can upsert.
	AlertID string `json:"alert_id"`
	// Stage is "early" for an alert raised the moment a running aggregate
	// reached a rung (or matched an IOC), "final" at window close.
	Stage      string         `json:"stage"`
	AlertType  string         `json:"alert_type"`
	Severity   severity.Level `json:"severity"`
	Confidence float64        `json:"confidence"`

	SrcIP    netip.Addr `json:"src_ip"`
	DestIP   netip.Addr `json:"dest_ip"`
	DestPort uint16     `json:"dest_port"`
	Proto    string     `json:"proto"`
	AppProto string     `json:"app_proto"`

	WindowStart time.Time `json:"window_start"`
	WindowEnd   time.Time `json:"window_end"`

	FlowCount          uint64  `json:"flow_count"`
	UniqueFlows        uint64  `json:"unique_flows"`
	TotalUploadBytes   uint64  `json:"total_upload_bytes"`
	TotalDownloadBytes uint64  `json:"total_download_bytes"`
	UploadMB           float64 `json:"upload_mb"`
	DownloadMB         float64 `json:"download_mb"`
	UploadRatio        float64 `json:"upload_ratio"`

	IOCsChecked   int `json:"iocs_checked"`
	MaliciousIOCs int `json:"malicious_iocs"`
	C2            C2  `json:"c2"`

	// DestNames are the names sensors saw for dest_ip (TLS SNI, HTTP
	// Host, DNS answers); omitted when there are none (NetFlow).
	DestNames *DestNames `json:"dest_names,omitempty"`

	DestCountry string `json:"dest_country,omitempty"`
	DestASN     uint32 `json:"dest_asn,omitempty"`
	DestOrg     string `json:"dest_org,omitempty"`

	CommunityID string   `json:"community_id"`
	Reasons     []string `json:"reasons"`

	// Context.

	// Rule is the ladder rule that set the severity ("ioc" for an IOC match).
	Rule string `json:"rule"`
	// FirstSeen and LastSeen bound the aggregate's records.
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// UploadPackets and DownloadPackets count packets per direction.
	UploadPackets   uint64 `json:"upload_packets"`
	DownloadPackets uint64 `json:"download_packets"`
	// BlastRadius is the number of distinct internal sources that uploaded
	// to this destination in the window (this source included). Known at
	// window close only: omitted from early alerts.
	BlastRadius int `json:"blast_radius,omitempty"`
	// PCR is the source host's producer-consumer ratio over all its
	// outbound conversations in the window: (up − down) / (up + down),
	// from −1 (pure consumer) to 1 (pure producer), two decimals. Final
	// alerts only.
	PCR *float64 `json:"pcr,omitempty"`

	// Principal names who the bytes are attributed to, when the source
	// knows more than an address: an HTTP guard's client address, API key,
	// user or tenant (package exfil/httpguard). Omitted for flow alerts.
	Principal string `json:"principal,omitempty"`
	// HTTP is the evidence of an alert raised by an HTTP guard; omitted for
	// flow alerts.
	HTTP *HTTPEvidence `json:"http,omitempty"`
}

// HTTPEvidence is what an HTTP guard (package exfil/httpguard) saw of an
// aggregate's requests.
type HTTPEvidence struct {
	// Mode is "egress" (request bytes leave: a forward proxy or outbound
	// gateway) or "serving" (response bytes leave: an API or file service).
	Mode string `json:"mode"`
	// Method, Host, PathPrefix and UserAgent describe the request that moved
	// the most bytes out of the trust boundary in the aggregate. PathPrefix
	// is the path cut after a few segments, never the query.
	Method     string `json:"method"`
	Host       string `json:"host"`
	PathPrefix string `json:"path_prefix"`
	UserAgent  string `json:"user_agent,omitempty"`
	// Blocked counts the aggregate's requests refused by containment (429
	// or the guard's block handler); Cut counts its transfers cut mid-stream.
	Blocked uint64 `json:"blocked"`
	Cut     uint64 `json:"cut"`
	// Contained is true when containment refuses the principal (or this
	// principal and destination) for the rest of the window.
	Contained bool `json:"contained,omitempty"`
	// Allowlisted is true when the aggregate is exempt from containment.
	Allowlisted bool `json:"allowlisted,omitempty"`
}

// Alert stages.
const (
	StageEarly = "early"
	StageFinal = "final"
)

// AlertID returns the alert_id of key k in the window starting at start:
// the first 16 bytes of the SHA-256 of the key and the window, in hex.
func AlertID(k window.Key, start time.Time) string {
	var id [32]byte
	return string(appendAlertID(id[:0], k, start))
}

// appendAlertID appends AlertID(k, start) to dst.
func appendAlertID(dst []byte, k window.Key, start time.Time) []byte {
	var b [64]byte
	s16, d16 := k.Src.As16(), k.Dst.As16()
	copy(b[0:16], s16[:])
	copy(b[16:32], d16[:])
	binary.BigEndian.PutUint16(b[32:], k.DstPort)
	b[34] = k.Proto
	binary.BigEndian.PutUint64(b[35:], uint64(start.UnixNano()))
	// One buffer and one digest on the stack: the ID is built for every
	// alert.
	in := append(b[:43], k.AppProto...)
	sum := sha256.Sum256(in)
	return hex.AppendEncode(dst, sum[:16])
}

// C2 holds the IOC evidence of an alert.
type C2 struct {
	Matches []ioc.Match `json:"matches"`
}

// ProtoName returns the alert's name of an IP protocol number: "TCP",
// "UDP", "ICMP", "IPv6-ICMP", else the number in decimal.
func ProtoName(p uint8) string {
	switch p {
	case 6:
		return "TCP"
	case 17:
		return "UDP"
	case 1:
		return "ICMP"
	case 58:
		return "IPv6-ICMP"
	}
	return strconv.Itoa(int(p))
}
