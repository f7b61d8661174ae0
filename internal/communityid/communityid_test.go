package communityid_test

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/exfilscore/exfilscore/internal/communityid"
)

// vector is one published tuple → Community ID fact.
type vector struct {
	name         string
	seed         uint16
	hex          bool // want is the spec's --no-base64 form
	src, dst     string
	proto        uint8
	sport, dport uint16
	want         string
}

func (v vector) flow() communityid.Flow {
	return communityid.Flow{
		Src:     netip.MustParseAddr(v.src),
		Dst:     netip.MustParseAddr(v.dst),
		Proto:   v.proto,
		SrcPort: v.sport,
		DstPort: v.dport,
	}
}

// specVectors are the three hand-picked tables of the spec's
// baseline/README.md (default, seed=1, no base64). Port-less protocols
// (RSVP) have "-" there and 0 here: the ports are not hashed.
var specVectors = []vector{
	{"TCP: Bidirectional flow, out ...", 0, false, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
	{"TCP: ... and back", 0, false, "5.6.7.8", "1.2.3.4", 6, 3344, 1122, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
	{"UDP: Bidirectional flow, out ...", 0, false, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="},
	{"UDP: ... and back", 0, false, "5.6.7.8", "1.2.3.4", 17, 3344, 1122, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="},
	{"SCTP: Bidirectional flow, out ...", 0, false, "1.2.3.4", "5.6.7.8", 132, 1122, 3344, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="},
	{"SCTP: ... and back", 0, false, "5.6.7.8", "1.2.3.4", 132, 3344, 1122, "1:EKt4MsxuyaE6mL+hmrEkQ9csDD8="},
	{"ICMP: ICMP flow treatment via types/codes: echo request ...", 0, false, "1.2.3.4", "5.6.7.8", 1, 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="},
	{"ICMP: ... and response", 0, false, "5.6.7.8", "1.2.3.4", 1, 0, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="},
	{"ICMP: Unidirectional ICMP treatment", 0, false, "1.2.3.4", "5.6.7.8", 1, 11, 0, "1:f/YiSyWqczrTgfUCZlBUnvHRcPk="},
	{"ICMP6: ICMP flow treatment via types/codes: echo request ...", 0, false, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 58, 128, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="},
	{"ICMP6: ... and response", 0, false, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 58, 129, 0, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="},
	{"ICMP6: Unidirectional treatment", 0, false, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 58, 146, 0, "1:fYC8+pz24E+EhANP1EZhpX0Dw10="},
	{"RSVP: Example of port-less but bidirectional protocol, out ...", 0, false, "1.2.3.4", "5.6.7.8", 46, 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768="},
	{"RSVP: ... and back", 0, false, "5.6.7.8", "1.2.3.4", 46, 0, 0, "1:ikv3kmf89luf73WPz1jOs49S768="},
	{"RSVP: Port-less example for IPv6, out ...", 0, false, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 46, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="},
	{"RSVP: ... and back", 0, false, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 46, 0, 0, "1:wQ/2mwrnXP4lmJcHdGL5ePjR+e0="},
	{"TCP: Bidirectional flow, out ...", 1, false, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
	{"TCP: ... and back", 1, false, "5.6.7.8", "1.2.3.4", 6, 3344, 1122, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
	{"UDP: Bidirectional flow, out ...", 1, false, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
	{"UDP: ... and back", 1, false, "5.6.7.8", "1.2.3.4", 17, 3344, 1122, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
	{"SCTP: Bidirectional flow, out ...", 1, false, "1.2.3.4", "5.6.7.8", 132, 1122, 3344, "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
	{"SCTP: ... and back", 1, false, "5.6.7.8", "1.2.3.4", 132, 3344, 1122, "1:uitchpn5MMGAQKBJh7bIr/bAr7s="},
	{"ICMP: ICMP flow treatment via types/codes: echo request ...", 1, false, "1.2.3.4", "5.6.7.8", 1, 8, 0, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
	{"ICMP: ... and response", 1, false, "5.6.7.8", "1.2.3.4", 1, 0, 0, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
	{"ICMP: Unidirectional ICMP treatment", 1, false, "1.2.3.4", "5.6.7.8", 1, 11, 0, "1:1DD7cWGC/Yg91YGsQeni8du3pIA="},
	{"ICMP6: ICMP flow treatment via types/codes: echo request ...", 1, false, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 58, 128, 0, "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
	{"ICMP6: ... and response", 1, false, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 58, 129, 0, "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
	{"ICMP6: Unidirectional treatment", 1, false, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 58, 146, 0, "1:Cv4IKJe56BNkF0MBW2YxQ3Nwc3s="},
	{"RSVP: Example of port-less but bidirectional protocol, out ...", 1, false, "1.2.3.4", "5.6.7.8", 46, 0, 0, "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
	{"RSVP: ... and back", 1, false, "5.6.7.8", "1.2.3.4", 46, 0, 0, "1:/buhqeOmaRCopOZFy9HnoJd5XW8="},
	{"RSVP: Port-less example for IPv6, out ...", 1, false, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 46, 0, 0, "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
	{"RSVP: ... and back", 1, false, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 46, 0, 0, "1:j6EyyfBzL4vWKHFXgUqb5Az3OxM="},
	{"TCP: Bidirectional flow, out ...", 0, true, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:c026f7386ef200559e95a53276ed03fb5db908b3"},
	{"TCP: ... and back", 0, true, "5.6.7.8", "1.2.3.4", 6, 3344, 1122, "1:c026f7386ef200559e95a53276ed03fb5db908b3"},
	{"UDP: Bidirectional flow, out ...", 0, true, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:d0cbbd227431eb3e1988264cffb1d78b658c84e8"},
	{"UDP: ... and back", 0, true, "5.6.7.8", "1.2.3.4", 17, 3344, 1122, "1:d0cbbd227431eb3e1988264cffb1d78b658c84e8"},
	{"SCTP: Bidirectional flow, out ...", 0, true, "1.2.3.4", "5.6.7.8", 132, 1122, 3344, "1:10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f"},
	{"SCTP: ... and back", 0, true, "5.6.7.8", "1.2.3.4", 132, 3344, 1122, "1:10ab7832cc6ec9a13a98bfa19ab12443d72c0c3f"},
	{"ICMP: ICMP flow treatment via types/codes: echo request ...", 0, true, "1.2.3.4", "5.6.7.8", 1, 8, 0, "1:72ba1d4472f6144b078dbbf752446b7dbb386d9d"},
	{"ICMP: ... and response", 0, true, "5.6.7.8", "1.2.3.4", 1, 0, 0, "1:72ba1d4472f6144b078dbbf752446b7dbb386d9d"},
	{"ICMP: Unidirectional ICMP treatment", 0, true, "1.2.3.4", "5.6.7.8", 1, 11, 0, "1:7ff6224b25aa733ad381f5026650549ef1d170f9"},
	{"ICMP6: ICMP flow treatment via types/codes: echo request ...", 0, true, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 58, 128, 0, "1:d1b7fb872309530b777cc103ef3f0b21f46905ea"},
	{"ICMP6: ... and response", 0, true, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 58, 129, 0, "1:d1b7fb872309530b777cc103ef3f0b21f46905ea"},
	{"ICMP6: Unidirectional treatment", 0, true, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 58, 146, 0, "1:7d80bcfa9cf6e04f8484034fd44661a57d03c35d"},
	{"RSVP: Example of port-less but bidirectional protocol, out ...", 0, true, "1.2.3.4", "5.6.7.8", 46, 0, 0, "1:8a4bf79267fcf65b9fef758fcf58ceb38f52efaf"},
	{"RSVP: ... and back", 0, true, "5.6.7.8", "1.2.3.4", 46, 0, 0, "1:8a4bf79267fcf65b9fef758fcf58ceb38f52efaf"},
	{"RSVP: Port-less example for IPv6, out ...", 0, true, "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", 46, 0, 0, "1:c10ff69b0ae75cfe259897077462f978f8d1f9ed"},
	{"RSVP: ... and back", 0, true, "fe80:1011:1213:1415:1617:1819:1A1B:1C1D", "fe80:0001:0203:0405:0607:0809:0A0B:0C0D", 46, 0, 0, "1:c10ff69b0ae75cfe259897077462f978f8d1f9ed"},
}

// zeekVectors are the checks of Zeek's bifs.community_id.v1 btest baseline.
// Zeek passes ICMPv6 as "icmp" ports with IPv6 addresses and reports
// proto=1; it hashes them as ICMPv6, so they are typed as proto 58 here.
// The two proto=65535 checks ("no ID") cannot be expressed with a uint8
// protocol and are left out.
var zeekVectors = []vector{
	{"tcp", 0, false, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:wCb3OG7yAFWelaUydu0D+125CLM="},
	{"udp", 0, false, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg="},
	{"icmp echo", 0, false, "1.2.3.4", "5.6.7.8", 1, 8, 0, "1:crodRHL2FEsHjbv3UkRrfbs4bZ0="},
	{"icmp6 echo", 0, false, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 58, 128, 129, "1:0bf7hyMJUwt3fMED7z8LIfRpBeo="},
	{"tcp seed1", 1, false, "1.2.3.4", "5.6.7.8", 6, 1122, 3344, "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk="},
	{"udp seed1", 1, false, "1.2.3.4", "5.6.7.8", 17, 1122, 3344, "1:OShq+iKDAMVouh/4bMxB9Sz4amw="},
	{"icmp echo seed1", 1, false, "1.2.3.4", "5.6.7.8", 1, 8, 0, "1:9pr4ZGTICiuZoIh90RRYE2RyXpU="},
	{"icmp6 echo seed1", 1, false, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 58, 128, 129, "1:IO27GQzPuCtNnwFvjWALMHu5tJE="},
	{"proto 10", 0, false, "1.2.3.4", "5.6.7.8", 10, 0, 0, "1:7bYuQ7nyGBIQn7uDcQ5WraAnhWI="},
	{"proto 10 ipv6 seed1", 1, false, "fe80:1:203:405:607:809:a0b:c0d", "fe80:1011:1213:1415:1617:1819:1a1b:1c1d", 10, 0, 0, "1:rcMO2BlHXpMNFXyyWqSDUQCBRBc="},
	// scripts.policy.protocols.conn.community-id-logging/conn.log.cut
	{"conn.log get.pcap", 0, false, "141.142.228.5", "192.150.187.43", 6, 59856, 80, "1:yvyB8h+3dnggTZW0UEITWCst97w="},
}

// suricataVerifyVectors are the expectations of suricata-verify's
// community-id-{ipv4,ipv6,sameip} tests (tuples read off their pcaps).
var suricataVerifyVectors = []vector{
	{"ipv4 seed7", 7, false, "172.26.0.39", "172.217.14.206", 6, 35958, 443, "1:IwiTNfuO7aCaamMijl+7/X9uLx0="},
	{"ipv6 seed7 a", 7, false, "2600:1f13:f8:d400:3a6:303c:e011:18eb", "2001:4860:4860::8888", 6, 33892, 443, "1:PGf+a0eBbs1OhuPtJmsF0Sm51v4="},
	{"ipv6 seed7 b", 7, false, "2600:1f13:f8:d400:3a6:303c:e011:18eb", "2607:f8b0:400a:800::200e", 6, 60202, 443, "1:ptJhMvufAbB5nLDNW77cB800wFM="},
	// Same address on both sides: the ports decide the order.
	{"sameip seed1", 1, false, "192.168.0.254", "192.168.0.254", 6, 56162, 3306, "1:IJQHtzXv/tXud3FtXIufkDsfEd4="},
}

// checkVector hashes v in the form it names and compares with v.want.
func checkVector(t *testing.T, v vector) {
	t.Helper()
	h := communityid.New(v.seed)
	f := v.flow()
	got := id(h, v.hex, f)
	if got != v.want {
		t.Errorf("%+v: got %q, want %q", f, got, v.want)
	}
}

// id returns the hex or base64 ID of f.
func id(h communityid.Hasher, hexForm bool, f communityid.Flow) string {
	if hexForm {
		return string(h.AppendHex(nil, f))
	}
	return h.String(f)
}

func TestSpecBaselineTables(t *testing.T) {
	for _, v := range specVectors {
		t.Run(fmt.Sprintf("seed%d/hex=%t/%s", v.seed, v.hex, v.name), func(t *testing.T) {
			checkVector(t, v)
		})
	}
}

func TestZeekBifs(t *testing.T) {
	for _, v := range zeekVectors {
		t.Run(v.name, func(t *testing.T) { checkVector(t, v) })
	}
}

func TestSuricataVerify(t *testing.T) {
	for _, v := range suricataVerifyVectors {
		t.Run(v.name, func(t *testing.T) { checkVector(t, v) })
	}
}

// reverse returns f seen from the other side.
func reverse(f communityid.Flow) communityid.Flow {
	return communityid.Flow{Src: f.Dst, Dst: f.Src, Proto: f.Proto, SrcPort: f.DstPort, DstPort: f.SrcPort}
}

func TestDirectionIndependent(t *testing.T) {
	all := append(append(append([]vector{}, specVectors...), zeekVectors...), suricataVerifyVectors...)
	for _, v := range all {
		if v.proto == 1 || v.proto == 58 {
			continue // ICMP replies change the type, not just the side
		}
		h := communityid.New(v.seed)
		f := v.flow()
		if a, b := h.Sum(f), h.Sum(reverse(f)); a != b {
			t.Errorf("%+v: forward %x != reverse %x", f, a, b)
		}
	}
}

func TestICMP(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.1")
	b := netip.MustParseAddr("10.0.0.2")
	a6 := netip.MustParseAddr("2001:db8::1")
	b6 := netip.MustParseAddr("2001:db8::2")
	var h communityid.Hasher
	pairs := []struct {
		name             string
		proto            uint8
		req, reply, code uint16
	}{
		{"echo", 1, 8, 0, 0},
		{"timestamp", 1, 13, 14, 0},
		{"information", 1, 15, 16, 0},
		{"router", 1, 10, 9, 0},
		{"mask", 1, 17, 18, 0},
		{"echo6", 58, 128, 129, 0},
		{"mld", 58, 130, 131, 0},
		{"router6", 58, 133, 134, 0},
		{"neighbor", 58, 135, 136, 0},
		{"node info", 58, 139, 140, 0},
		{"home agent", 58, 144, 145, 0},
	}
	for _, p := range pairs {
		t.Run(p.name, func(t *testing.T) {
			src, dst := a, b
			if p.proto == 58 {
				src, dst = a6, b6
			}
			// The request from dst to src still orders by address; the
			// reply travels back with the counterpart type and any code.
			req := communityid.Flow{Src: dst, Dst: src, Proto: p.proto, SrcPort: p.req, DstPort: p.code}
			rep := communityid.Flow{Src: src, Dst: dst, Proto: p.proto, SrcPort: p.reply, DstPort: 7}
			if h.String(req) != h.String(rep) {
				t.Errorf("request %+v and reply %+v differ: %s vs %s", req, rep, h.String(req), h.String(rep))
			}
			// The ID equals that of a plain ported flow with (type, counterpart).
			plain := communityid.Flow{Src: dst, Dst: src, Proto: p.proto, SrcPort: p.req, DstPort: p.reply}
			if h.String(req) != h.String(plain) {
				t.Errorf("request %+v: %s, want same as %+v: %s", req, h.String(req), plain, h.String(plain))
			}
		})
	}

	// One-way types keep the given direction and hash the code.
	for _, tc := range []struct {
		proto    uint8
		src, dst netip.Addr
		typ      uint16
	}{{1, a, b, 3}, {1, a, b, 11}, {1, a, b, 5}, {58, a6, b6, 1}, {58, a6, b6, 3}, {58, a6, b6, 137}, {58, a6, b6, 143}} {
		fwd := communityid.Flow{Src: tc.src, Dst: tc.dst, Proto: tc.proto, SrcPort: tc.typ, DstPort: 1}
		back := communityid.Flow{Src: tc.dst, Dst: tc.src, Proto: tc.proto, SrcPort: tc.typ, DstPort: 1}
		if h.Sum(fwd) == h.Sum(back) {
			t.Errorf("one-way %+v hashes like its reverse", fwd)
		}
		other := fwd
		other.DstPort = 2
		if h.Sum(fwd) == h.Sum(other) {
			t.Errorf("one-way %+v: code not hashed", fwd)
		}
	}
}

func TestSamePortsAndAddresses(t *testing.T) {
	// Equal addresses: ordering falls back to the ports.
	x := netip.MustParseAddr("192.168.0.254")
	f := communityid.Flow{Src: x, Dst: x, Proto: 17, SrcPort: 53, DstPort: 5353}
	var h communityid.Hasher
	if h.String(f) != h.String(reverse(f)) {
		t.Errorf("same-address flow depends on direction")
	}
	// Ports are ignored for port-less protocols.
	g := communityid.Flow{Src: x, Dst: netip.MustParseAddr("1.1.1.1"), Proto: 46, SrcPort: 1, DstPort: 2}
	g2 := g
	g2.SrcPort, g2.DstPort = 0, 0
	if h.String(g) != h.String(g2) {
		t.Errorf("ports hashed for proto 46")
	}
}

func TestUnmap(t *testing.T) {
	var h communityid.Hasher
	v4 := communityid.Flow{Src: netip.MustParseAddr("1.2.3.4"), Dst: netip.MustParseAddr("5.6.7.8"), Proto: 6, SrcPort: 1122, DstPort: 3344}
	want := "1:wCb3OG7yAFWelaUydu0D+125CLM="
	for _, f := range []communityid.Flow{
		{Src: netip.MustParseAddr("::ffff:1.2.3.4"), Dst: netip.MustParseAddr("::ffff:5.6.7.8"), Proto: 6, SrcPort: 1122, DstPort: 3344},
		{Src: netip.MustParseAddr("::ffff:1.2.3.4"), Dst: netip.MustParseAddr("5.6.7.8"), Proto: 6, SrcPort: 1122, DstPort: 3344},
		{Src: netip.MustParseAddr("5.6.7.8"), Dst: netip.MustParseAddr("::ffff:1.2.3.4"), Proto: 6, SrcPort: 3344, DstPort: 1122},
		v4,
	} {
		if got := h.String(f); got != want {
			t.Errorf("%+v: got %q, want %q", f, got, want)
		}
	}
	// A zone does not change the ID.
	z := communityid.Flow{Src: netip.MustParseAddr("fe80::1%eth0"), Dst: netip.MustParseAddr("fe80::2"), Proto: 17, SrcPort: 1, DstPort: 2}
	nz := z
	nz.Src = nz.Src.WithZone("")
	if h.String(z) != h.String(nz) {
		t.Errorf("zone changes the ID")
	}
}

func TestNoID(t *testing.T) {
	v4 := netip.MustParseAddr("1.2.3.4")
	v6 := netip.MustParseAddr("2001:db8::1")
	h := communityid.New(3)
	for _, f := range []communityid.Flow{
		{},
		{Src: v4, Proto: 6, SrcPort: 1, DstPort: 2},
		{Dst: v4, Proto: 6, SrcPort: 1, DstPort: 2},
		{Src: v4, Dst: v6, Proto: 6, SrcPort: 1, DstPort: 2},
		{Src: v6, Dst: v4, Proto: 17},
	} {
		if got := h.String(f); got != "" {
			t.Errorf("String(%+v) = %q, want \"\"", f, got)
		}
		if got := h.Sum(f); got != ([sha1.Size]byte{}) {
			t.Errorf("Sum(%+v) = %x, want zero", f, got)
		}
		b := []byte("keep")
		if got := h.AppendBase64(b, f); string(got) != "keep" {
			t.Errorf("AppendBase64(%+v) = %q, want unchanged", f, got)
		}
		if got := h.AppendHex(b, f); string(got) != "keep" {
			t.Errorf("AppendHex(%+v) = %q, want unchanged", f, got)
		}
	}
}

func TestFormsAgree(t *testing.T) {
	for _, v := range specVectors {
		h := communityid.New(v.seed)
		f := v.flow()
		sum := h.Sum(f)
		if want := "1:" + base64.StdEncoding.EncodeToString(sum[:]); h.String(f) != want {
			t.Errorf("%+v: String %q != base64(Sum) %q", f, h.String(f), want)
		}
		if want := "1:" + hex.EncodeToString(sum[:]); string(h.AppendHex(nil, f)) != want {
			t.Errorf("%+v: AppendHex %q != hex(Sum) %q", f, h.AppendHex(nil, f), want)
		}
		pre := []byte("x=")
		if got := string(h.AppendBase64(pre, f)); got != "x="+h.String(f) {
			t.Errorf("AppendBase64 with prefix: %q", got)
		}
	}
}

func TestSeed(t *testing.T) {
	if got := (communityid.Hasher{}).Seed(); got != 0 {
		t.Errorf("zero Hasher seed = %d", got)
	}
	if got := communityid.New(0xbeef).Seed(); got != 0xbeef {
		t.Errorf("New(0xbeef).Seed() = %#x", got)
	}
	f := specVectors[0].flow()
	if (communityid.Hasher{}).String(f) != communityid.New(0).String(f) {
		t.Error("zero Hasher differs from New(0)")
	}
	if communityid.New(1).String(f) == communityid.New(256).String(f) {
		t.Error("seed byte order ignored")
	}
}

func TestAllocs(t *testing.T) {
	h := communityid.New(1)
	f4 := specVectors[0].flow()
	f6 := communityid.Flow{Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2"), Proto: 58, SrcPort: 128}
	buf := make([]byte, 0, 64)
	for _, f := range []communityid.Flow{f4, f6} {
		if n := testing.AllocsPerRun(100, func() { buf = h.AppendBase64(buf[:0], f) }); n != 0 {
			t.Errorf("AppendBase64 allocates %v times", n)
		}
		if n := testing.AllocsPerRun(100, func() { buf = h.AppendHex(buf[:0], f) }); n != 0 {
			t.Errorf("AppendHex allocates %v times", n)
		}
		if n := testing.AllocsPerRun(100, func() { _ = h.Sum(f) }); n != 0 {
			t.Errorf("Sum allocates %v times", n)
		}
	}
	if !strings.HasPrefix(string(buf), "1:") {
		t.Errorf("buffer %q", buf)
	}
}

func BenchmarkHasher(b *testing.B) {
	h := communityid.New(0)
	flows := map[string]communityid.Flow{
		"ipv4-tcp":   specVectors[0].flow(),
		"ipv6-icmp6": {Src: netip.MustParseAddr("2001:db8::2"), Dst: netip.MustParseAddr("2001:db8::1"), Proto: 58, SrcPort: 129},
	}
	for name, f := range flows {
		b.Run("AppendBase64/"+name, func(b *testing.B) {
			buf := make([]byte, 0, 64)
			b.ReportAllocs()
			for b.Loop() {
				buf = h.AppendBase64(buf[:0], f)
			}
		})
		b.Run("Sum/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Sum(f)
			}
		})
		b.Run("String/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.String(f)
			}
		})
	}
}
