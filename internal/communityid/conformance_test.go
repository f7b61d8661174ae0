package communityid_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/exfilscore/exfilscore/internal/communityid"
	"github.com/exfilscore/exfilscore/internal/thirdparty"
)

// testdataDir returns $EXFILSCORE_TESTDATA/communityid or skips t.
func testdataDir(t *testing.T) string { return thirdparty.Dir(t, "communityid") }

// groundtruthName parses "<pcap>.seed<N>[-nob64].tsv".
var groundtruthName = regexp.MustCompile(`\.seed(\d+)(-nob64)?\.tsv$`)

// TestConformanceTshark checks every tshark ground-truth row that carries a
// Community ID against our hash of the row's tuple.
func TestConformanceTshark(t *testing.T) {
	dir := testdataDir(t)
	files, err := filepath.Glob(filepath.Join(dir, "groundtruth", "*.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no ground truth in %s", dir)
	}
	total := 0
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			m := groundtruthName.FindStringSubmatch(path)
			if m == nil {
				t.Fatalf("file name %q has no .seedN[-nob64].tsv suffix", path)
			}
			seed, err := strconv.ParseUint(m[1], 10, 16)
			if err != nil {
				t.Fatal(err)
			}
			total += checkTSV(t, path, communityid.New(uint16(seed)), m[2] != "")
		})
	}
	t.Logf("%d files, %d rows with a Community ID matched", len(files), total)
}

// checkTSV checks one tshark file and returns the number of rows with an ID.
func checkTSV(t *testing.T, path string, h communityid.Hasher, hexForm bool) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		t.Fatalf("%s: empty", path)
	}
	col := map[string]int{}
	for i, name := range strings.Split(sc.Text(), "\t") {
		col[name] = i
	}
	for _, name := range []string{"frame.number", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "ip.proto", "ipv6.nxt",
		"tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "sctp.srcport", "sctp.dstport",
		"icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code", "communityid"} {
		if _, ok := col[name]; !ok {
			t.Fatalf("%s: header lacks column %q", path, name)
		}
	}
	checked := 0
	for line := 2; sc.Scan(); line++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != len(col) {
			t.Errorf("%s:%d: %d fields, header has %d", path, line, len(fields), len(col))
			continue
		}
		get := func(name string) string { return fields[col[name]] }
		want := get("communityid")
		flow, err := tsvFlow(get)
		if want == "" {
			// tshark gives no ID to packets without IP (ARP); we must not
			// have a tuple for them either.
			if err == nil {
				t.Errorf("%s:%d (frame %s): tshark has no ID but the row has tuple %+v", path, line, get("frame.number"), flow)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s:%d (frame %s): %v", path, line, get("frame.number"), err)
			continue
		}
		checked++
		if got := id(h, hexForm, flow); got != want {
			t.Errorf("%s:%d (frame %s): %+v seed %d: got %q, tshark %q", path, line, get("frame.number"), flow, h.Seed(), got, want)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return checked
}

// tsvFlow builds the tuple of one tshark row. With -E occurrence=f every
// column holds the first (outermost) occurrence, so an ICMP error keeps its
// outer IP header and ICMP type/code while the transport ports in the row
// belong to the quoted inner packet and are ignored.
func tsvFlow(get func(string) string) (communityid.Flow, error) {
	var f communityid.Flow
	src, dst, proto := get("ip.src"), get("ip.dst"), get("ip.proto")
	if src == "" {
		src, dst, proto = get("ipv6.src"), get("ipv6.dst"), get("ipv6.nxt")
	}
	if src == "" || dst == "" || proto == "" {
		return f, fmt.Errorf("no IP tuple")
	}
	var err error
	if f.Src, err = netip.ParseAddr(src); err != nil {
		return f, err
	}
	if f.Dst, err = netip.ParseAddr(dst); err != nil {
		return f, err
	}
	p, err := strconv.ParseUint(proto, 10, 8)
	if err != nil {
		return f, err
	}
	f.Proto = uint8(p)
	var sport, dport string
	switch f.Proto {
	case 6:
		sport, dport = get("tcp.srcport"), get("tcp.dstport")
	case 17:
		sport, dport = get("udp.srcport"), get("udp.dstport")
	case 132:
		sport, dport = get("sctp.srcport"), get("sctp.dstport")
	case 1:
		sport, dport = get("icmp.type"), get("icmp.code")
	case 58:
		sport, dport = get("icmpv6.type"), get("icmpv6.code")
	default:
		return f, nil
	}
	if sport == "" || dport == "" {
		return f, fmt.Errorf("proto %d without ports", f.Proto)
	}
	sp, err := strconv.ParseUint(sport, 10, 16)
	if err != nil {
		return f, err
	}
	dp, err := strconv.ParseUint(dport, 10, 16)
	if err != nil {
		return f, err
	}
	f.SrcPort, f.DstPort = uint16(sp), uint16(dp)
	return f, nil
}

// baselineEntry is one record of the spec's baseline_*.json.
type baselineEntry struct {
	Proto       uint8   `json:"proto"`
	Saddr       string  `json:"saddr"`
	Daddr       string  `json:"daddr"`
	Sport       *uint16 `json:"sport"`
	Dport       *uint16 `json:"dport"`
	CommunityID string  `json:"communityid"`
}

// TestConformanceSpecBaseline checks the spec authors' baseline JSON files
// (pycommunityid's community-id-pcap over combined.pcap.gz).
func TestConformanceSpecBaseline(t *testing.T) {
	dir := testdataDir(t)
	for _, tc := range []struct {
		file    string
		seed    uint16
		hexForm bool
	}{
		{"baseline_deflt.json", 0, false},
		{"baseline_seed1.json", 1, false},
		{"baseline_nob64.json", 0, true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, "spec", "baseline", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			var entries []baselineEntry
			if err := json.Unmarshal(data, &entries); err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				t.Fatal("no entries")
			}
			h := communityid.New(tc.seed)
			for i, e := range entries {
				f := communityid.Flow{Src: netip.MustParseAddr(e.Saddr), Dst: netip.MustParseAddr(e.Daddr), Proto: e.Proto}
				if (e.Sport == nil) != (e.Dport == nil) {
					t.Errorf("entry %d: only one port", i)
					continue
				}
				if e.Sport != nil {
					f.SrcPort, f.DstPort = *e.Sport, *e.Dport
				}
				if got := id(h, tc.hexForm, f); got != e.CommunityID {
					t.Errorf("entry %d %+v: got %q, want %q", i, f, got, e.CommunityID)
				}
			}
		})
	}
}
