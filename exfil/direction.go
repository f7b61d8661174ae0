package exfil

import (
	"net/netip"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// servicePorts are registered ports (>= 1024) that the initiator rule treats
// as server ports, like the well-known ports below 1024.
var servicePorts = map[uint16]bool{
	1080: true, 1194: true, 1433: true, 1521: true, 1723: true, 1883: true,
	2049: true, 2375: true, 2376: true, 3128: true, 3268: true, 3269: true,
	3306: true, 3389: true, 4443: true, 5060: true, 5061: true, 5222: true,
	5432: true, 5671: true, 5672: true, 5900: true, 5985: true, 5986: true,
	6379: true, 6443: true, 6667: true, 8000: true, 8008: true, 8080: true,
	8081: true, 8443: true, 8883: true, 8888: true, 9000: true, 9092: true,
	9200: true, 9418: true, 9443: true, 11211: true, 27017: true,
}

// ServicePorts returns the registered ports (>= 1024) that the initiator
// rule treats as service ports, in addition to every port below 1024.
func ServicePorts() []uint16 {
	out := make([]uint16, 0, len(servicePorts))
	for p := range servicePorts {
		out = append(out, p)
	}
	return out
}

// servicePortBits is servicePorts and every port from 1 to 1023 as a bit
// set: the initiator rule asks for both ports of every record, and a map
// lookup was a noticeable part of the per-record cost.
var servicePortBits = func() *[1 << 16 / 64]uint64 {
	var b [1 << 16 / 64]uint64
	for p := 1; p < 1024; p++ {
		b[p/64] |= 1 << (p % 64)
	}
	for p := range servicePorts {
		b[p/64] |= 1 << (p % 64)
	}
	return &b
}()

func isServicePort(p uint16) bool { return servicePortBits[p/64]&(1<<(p%64)) != 0 }

const (
	tcpSYN = 0x02
	tcpACK = 0x10
)

// InitiatorRule names the step of the initiator rule that decided a
// record's direction.
type InitiatorRule uint8

const (
	// RuleSource: the source knew the client (Suricata, Zeek, IPFIX
	// biflowDirection, NSEL initiator counters).
	RuleSource InitiatorRule = iota + 1
	// RuleSYN: a TCP record whose flags carry SYN without ACK was sent by
	// the initiator.
	RuleSYN
	// RuleICMP: an ICMP request type was sent by the initiator, a reply
	// type by the responder.
	RuleICMP
	// RuleServicePort: the side on a service port is the server.
	RuleServicePort
	// RuleLowerPort: both or neither side on a service port; the lower port
	// is the server (equal ports: the record's destination).
	RuleLowerPort
)

// String returns the rule's name as used in alert reasons.
func (r InitiatorRule) String() string {
	switch r {
	case RuleSource:
		return "source"
	case RuleSYN:
		return "tcp-syn"
	case RuleICMP:
		return "icmp-type"
	case RuleServicePort:
		return "service-port"
	case RuleLowerPort:
		return "lower-port"
	}
	return "unknown"
}

// Conversation is a flow record seen from the initiator's side: Client
// opened it towards Server; Upload is client→server, Download
// server→client.
type Conversation struct {
	Client, Server         netip.Addr
	ClientPort, ServerPort uint16
	Proto                  uint8
	Upload, Download       uint64
	PktsUp, PktsDown       uint64
	// Reversed is true when the record's Src is the server.
	Reversed bool
	Rule     InitiatorRule
}

// Orient applies the initiator rule (see the package documentation) to r.
// It does not allocate.
func Orient(r *flowsrc.Record) Conversation {
	rev, rule := decideReversed(r)
	c := Conversation{Proto: r.Proto, Rule: rule, Reversed: rev}
	if !rev {
		c.Client, c.Server = r.Src.Unmap(), r.Dst.Unmap()
		c.ClientPort, c.ServerPort = r.SrcPort, r.DstPort
		c.Upload, c.Download = r.BytesToServer, r.BytesToClient
		c.PktsUp, c.PktsDown = r.PktsToServer, r.PktsToClient
	} else {
		c.Client, c.Server = r.Dst.Unmap(), r.Src.Unmap()
		c.ClientPort, c.ServerPort = r.DstPort, r.SrcPort
		c.Upload, c.Download = r.BytesToClient, r.BytesToServer
		c.PktsUp, c.PktsDown = r.PktsToClient, r.PktsToServer
	}
	return c
}

// icmpReply maps ICMP/ICMPv6 reply types to their request type.
func icmpReply(proto, typ uint8) (req uint8, ok bool) {
	if proto == 1 {
		switch typ {
		case 0:
			return 8, true
		case 14:
			return 13, true
		case 16:
			return 15, true
		case 18:
			return 17, true
		}
		return 0, false
	}
	switch typ {
	case 129:
		return 128, true
	case 131:
		return 130, true
	case 134:
		return 133, true
	case 136:
		return 135, true
	}
	return 0, false
}

func decideReversed(r *flowsrc.Record) (reversed bool, rule InitiatorRule) {
	switch r.Initiator {
	case flowsrc.InitiatorSrc:
		return false, RuleSource
	case flowsrc.InitiatorDst:
		return true, RuleSource
	}
	if r.Proto == 6 && r.TCPFlags&tcpSYN != 0 && r.TCPFlags&tcpACK == 0 {
		return false, RuleSYN
	}
	if r.HasICMP && (r.Proto == 1 || r.Proto == 58) {
		_, reply := icmpReply(r.Proto, r.ICMPType)
		return reply, RuleICMP
	}
	ss, ds := isServicePort(r.SrcPort), isServicePort(r.DstPort)
	switch {
	case ds && !ss:
		return false, RuleServicePort
	case ss && !ds:
		return true, RuleServicePort
	}
	return r.SrcPort < r.DstPort, RuleLowerPort
}
