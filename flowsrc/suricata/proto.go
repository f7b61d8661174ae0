package suricata

// protoNames lists, per IP protocol number, the names an EVE proto field
// may carry: the IANA "Protocol Numbers" registry keyword first, then the
// spellings Suricata's own table uses where they differ. Numbers 61, 63,
// 68, 99 and 114 have no keyword (Suricata writes "Any" for all five, so
// that name cannot be mapped back and is rejected). Names are matched
// without regard to ASCII case.
var protoNames = [...][]string{
	0: {"HOPOPT"}, 1: {"ICMP"}, 2: {"IGMP"}, 3: {"GGP"}, 4: {"IPv4", "IP-in-IP"},
	5: {"ST"}, 6: {"TCP"}, 7: {"CBT"}, 8: {"EGP"}, 9: {"IGP"},
	10: {"BBN-RCC-MON"}, 11: {"NVP-II"}, 12: {"PUP"}, 13: {"ARGUS"}, 14: {"EMCON"},
	15: {"XNET"}, 16: {"CHAOS"}, 17: {"UDP"}, 18: {"MUX"}, 19: {"DCN-MEAS"},
	20: {"HMP"}, 21: {"PRM"}, 22: {"XNS-IDP"}, 23: {"TRUNK-1"}, 24: {"TRUNK-2"},
	25: {"LEAF-1"}, 26: {"LEAF-2"}, 27: {"RDP"}, 28: {"IRTP"}, 29: {"ISO-TP4"},
	30: {"NETBLT"}, 31: {"MFE-NSP"}, 32: {"MERIT-INP"}, 33: {"DCCP"}, 34: {"3PC"},
	35: {"IDPR"}, 36: {"XTP"}, 37: {"DDP"}, 38: {"IDPR-CMTP"}, 39: {"TP++"},
	40: {"IL"}, 41: {"IPv6"}, 42: {"SDRP"}, 43: {"IPv6-Route"}, 44: {"IPv6-Frag"},
	45: {"IDRP"}, 46: {"RSVP"}, 47: {"GRE"}, 48: {"DSR"}, 49: {"BNA"},
	50: {"ESP"}, 51: {"AH"}, 52: {"I-NLSP"}, 53: {"SWIPE"}, 54: {"NARP"},
	55: {"Min-IPv4", "MOBILE"}, 56: {"TLSP"}, 57: {"SKIP"}, 58: {"IPv6-ICMP"}, 59: {"IPv6-NoNxt"},
	60: {"IPv6-Opts"}, 62: {"CFTP"}, 64: {"SAT-EXPAK"},
	65: {"KRYPTOLAN"}, 66: {"RVD"}, 67: {"IPPC"}, 69: {"SAT-MON"},
	70: {"VISA"}, 71: {"IPCV", "IPCU"}, 72: {"CPNX"}, 73: {"CPHB"}, 74: {"WSN"},
	75: {"PVP"}, 76: {"BR-SAT-MON"}, 77: {"SUN-ND"}, 78: {"WB-MON"}, 79: {"WB-EXPAK"},
	80: {"ISO-IP"}, 81: {"VMTP"}, 82: {"SECURE-VMTP"}, 83: {"VINES"}, 84: {"TTP", "IPTM"},
	85: {"NSFNET-IGP"}, 86: {"DGP"}, 87: {"TCF"}, 88: {"EIGRP"}, 89: {"OSPFIGP", "OSPF"},
	90: {"Sprite-RPC"}, 91: {"LARP"}, 92: {"MTP"}, 93: {"AX.25"}, 94: {"IPIP", "OS"},
	95: {"MICP"}, 96: {"SCC-SP"}, 97: {"ETHERIP"}, 98: {"ENCAP"},
	100: {"GMTP"}, 101: {"IFMP"}, 102: {"PNNI"}, 103: {"PIM"}, 104: {"ARIS"},
	105: {"SCPS"}, 106: {"QNX"}, 107: {"A/N"}, 108: {"IPComp"}, 109: {"SNP"},
	110: {"Compaq-Peer"}, 111: {"IPX-in-IP"}, 112: {"VRRP"}, 113: {"PGM"},
	115: {"L2TP"}, 116: {"DDX"}, 117: {"IATP"}, 118: {"STP"}, 119: {"SRP"},
	120: {"UTI"}, 121: {"SMP"}, 122: {"SM"}, 123: {"PTP"}, 124: {"ISIS over IPv4", "IS-IS"},
	125: {"FIRE"}, 126: {"CRTP"}, 127: {"CRUDP"}, 128: {"SSCOPMCE"}, 129: {"IPLT"},
	130: {"SPS"}, 131: {"PIPE"}, 132: {"SCTP"}, 133: {"FC"}, 134: {"RSVP-E2E-IGNORE"},
	135: {"Mobility Header", "Mobility"}, 136: {"UDPLite"}, 137: {"MPLS-in-IP"}, 138: {"manet"}, 139: {"HIP"},
	140: {"Shim6"}, 141: {"WESP"}, 142: {"ROHC"}, 143: {"Ethernet"}, 144: {"AGGFRAG"},
	145: {"NSH"},
}

// maxProtoName is the longest name in protoNames.
const maxProtoName = 16

// protoByName maps lower-cased names to numbers.
var protoByName = func() map[string]uint8 {
	m := make(map[string]uint8)
	for n, names := range protoNames {
		for _, name := range names {
			b := []byte(name)
			lower(b)
			if len(b) > maxProtoName {
				panic("suricata: protocol name longer than maxProtoName: " + name)
			}
			m[string(b)] = uint8(n)
		}
	}
	return m
}()

func lower(b []byte) {
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
}

// parseProto returns the protocol number of an EVE proto value: a name
// (see protoNames) or a decimal number 0-255 (Suricata writes the number,
// zero-padded to three digits by some versions, for protocols without a
// name).
func parseProto(b []byte) (uint8, bool) {
	switch string(b) {
	case "TCP":
		return 6, true
	case "UDP":
		return 17, true
	case "ICMP":
		return 1, true
	case "IPv6-ICMP":
		return 58, true
	}
	if len(b) == 0 {
		return 0, false
	}
	if v, ok := digits(b); ok {
		if len(b) > 3 || v > 255 {
			return 0, false
		}
		return uint8(v), true
	}
	if len(b) > maxProtoName {
		return 0, false
	}
	var buf [maxProtoName]byte
	n := copy(buf[:], b)
	lower(buf[:n])
	v, ok := protoByName[string(buf[:n])]
	return v, ok
}
