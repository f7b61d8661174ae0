package suricata

import "testing"

func TestParseProto(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int // -1: rejected
	}{
		{"TCP", 6}, {"UDP", 17}, {"ICMP", 1}, {"IPv6-ICMP", 58}, {"SCTP", 132}, {"GRE", 47},
		{"ESP", 50}, {"tcp", 6}, {"ipv6-icmp", 58}, {"IPV6-ICMP", 58}, {"IP-in-IP", 4}, {"IPv4", 4},
		{"OSPF", 89}, {"OSPFIGP", 89}, {"IS-IS", 124}, {"Mobility", 135}, {"UDPLite", 136},
		{"Ethernet", 143}, {"HOPOPT", 0}, {"TP++", 39}, {"A/N", 107}, {"AX.25", 93},
		{"0", 0}, {"47", 47}, {"047", 47}, {"255", 255}, {"253", 253}, {"001", 1},
		{"256", -1}, {"0047", -1}, {"-1", -1}, {"", -1}, {"Any", -1}, {"PROTO:047", -1},
		{"TCPX", -1}, {"RSVP-E2E-IGNORE-AND-MORE", -1}, {"4a", -1},
	} {
		got, ok := parseProto([]byte(c.in))
		if c.want < 0 && ok || c.want >= 0 && (!ok || int(got) != c.want) {
			t.Errorf("parseProto(%q) = %d, %v, want %d", c.in, got, ok, c.want)
		}
	}
}

// Every name in the table maps back to its number, whatever its case.
func TestProtoNamesRoundTrip(t *testing.T) {
	for n, list := range protoNames {
		for _, name := range list {
			for _, s := range []string{name, asciiLower(name)} {
				if got, ok := parseProto([]byte(s)); !ok || int(got) != n {
					t.Errorf("parseProto(%q) = %d, %v, want %d", s, got, ok, n)
				}
			}
		}
	}
}
