package flowtest_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// tsharkFields are the fields the test asks tshark for, in column order.
var tsharkFields = []string{
	"frame.number",
	"cflow.version",
	"cflow.srcaddr", "cflow.srcaddrv6", "cflow.dstaddr", "cflow.dstaddrv6",
	"cflow.srcport", "cflow.dstport", "cflow.octets", "cflow.packets",
	"cflow.abstimestart", "cflow.timestart", "cflow.timeend",
	"sflow.flow_sample.sampling_rate", "sflow_245.header.frame_length",
	"ip.src", "ip.dst", "ipv6.src", "ipv6.dst",
	"tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
}

// TestTshark writes one datagram of each format into a pcap file and checks
// that tshark, an independent decoder, finds the same addresses, ports and
// counters in it.
func TestTshark(t *testing.T) {
	tshark, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not on PATH: skipping the cross-check against Wireshark's dissectors")
	}
	export := time.Date(2024, 6, 1, 8, 30, 0, 0, time.UTC)
	start, end := export.Add(-time.Minute), export.Add(-time.Second)
	fl := func(src, dst string, sp, dp uint16, proto uint8, bytes, pkts uint64) flowtest.Flow {
		return flowtest.Flow{
			Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sp, DstPort: dp,
			Proto: proto, Bytes: bytes, Packets: pkts, Start: start, End: end,
		}
	}
	v5 := fl("10.0.0.1", "203.0.113.9", 51000, 443, 6, 123456, 321)
	v9a := fl("10.0.0.2", "198.51.100.7", 40001, 8443, 6, 7_000_000_000, 5_000_000)
	v9b := fl("2001:db8::2", "2001:db8:1::7", 40002, 53, 17, 999, 9)
	ipa := fl("172.16.5.5", "192.0.2.99", 33333, 22, 6, 4444, 44)
	ipb := fl("fd00::5", "2001:db8:2::99", 33334, 123, 17, 76, 1)
	sfa := fl("10.10.10.10", "203.0.113.200", 12345, 80, 6, 0, 0)
	sfb := fl("2001:db8::10", "2001:db8::20", 23456, 5060, 17, 0, 0)

	tpl4, tpl6 := flowtest.V9Template(256, false), flowtest.V9Template(257, true)
	itpl4, itpl6 := flowtest.IPFIXTemplate(256, false), flowtest.IPFIXTemplate(257, true)
	datagrams := []struct {
		port    uint16
		payload []byte
	}{
		{2055, flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: export, Uptime: time.Hour}, []flowtest.Flow{v5})},
		{2055, flowtest.NewV9(flowtest.V9Header{ExportTime: export, Uptime: time.Hour, SourceID: 1}).
			Template(tpl4, tpl6).Data(tpl4, v9a).Data(tpl6, v9b).Bytes()},
		{4739, flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export, DomainID: 1}).
			Template(itpl4, itpl6).Data(itpl4, ipa).Data(itpl6, ipb).Bytes()},
		{6343, flowtest.AppendSFlow(nil, flowtest.SFlowHeader{Agent: netip.MustParseAddr("192.0.2.254"), Uptime: time.Hour},
			[]flowtest.SFlowSample{
				{Sequence: 1, SamplingRate: 512, Frame: flowtest.Packet(sfa, 1000, 10), FrameLength: 1058},
				{Sequence: 2, SamplingRate: 512, Frame: flowtest.Packet(sfb, 100, 0)},
			})},
	}

	var pcap bytes.Buffer
	w, err := flowtest.NewPcapWriter(&pcap)
	if err != nil {
		t.Fatal(err)
	}
	exporter := netip.MustParseAddr("192.0.2.1")
	collector := netip.MustParseAddr("192.0.2.2")
	for i, d := range datagrams {
		frame := flowtest.UDPFrame(netip.AddrPortFrom(exporter, 50000), netip.AddrPortFrom(collector, d.port), d.payload)
		if err := w.WriteFrame(export.Add(time.Duration(i)*time.Millisecond), frame); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "flows.pcap")
	if err := os.WriteFile(file, pcap.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|", "-E", "separator=/t"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	cmd := exec.CommandContext(ctx, tshark, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "HOME="+t.TempDir())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	rows := map[int]map[string][]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		cols := strings.Split(line, "\t")
		if len(cols) != len(tsharkFields) {
			t.Fatalf("tshark line has %d columns, want %d: %q", len(cols), len(tsharkFields), line)
		}
		n, _ := strconv.Atoi(cols[0])
		row := map[string][]string{}
		for i, c := range cols {
			if c != "" {
				row[tsharkFields[i]] = strings.Split(c, "|")
			}
		}
		rows[n] = row
	}
	if len(rows) != len(datagrams) {
		t.Fatalf("tshark read %d frames, want %d:\n%s", len(rows), len(datagrams), out)
	}

	// want checks that tshark found every value of field in frame n, in order.
	want := func(n int, field string, vals ...string) {
		t.Helper()
		if got := rows[n][field]; !slices.Equal(got, vals) {
			t.Errorf("frame %d: %s = %q, want %q", n, field, got, vals)
		}
	}
	// contains checks that the values are among those of field in frame n
	// (ip.src also lists the outer header's address).
	contains := func(n int, field string, vals ...string) {
		t.Helper()
		for _, v := range vals {
			if !slices.Contains(rows[n][field], v) {
				t.Errorf("frame %d: %s = %q, want it to contain %q", n, field, rows[n][field], v)
			}
		}
	}
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }

	want(1, "cflow.version", "5")
	want(1, "cflow.srcaddr", "10.0.0.1")
	want(1, "cflow.dstaddr", "203.0.113.9")
	want(1, "cflow.srcport", "51000")
	want(1, "cflow.dstport", "443")
	want(1, "cflow.octets", "123456")
	want(1, "cflow.packets", "321")

	want(2, "cflow.version", "9")
	want(2, "cflow.srcaddr", "10.0.0.2")
	want(2, "cflow.dstaddr", "198.51.100.7")
	want(2, "cflow.srcaddrv6", "2001:db8::2")
	want(2, "cflow.dstaddrv6", "2001:db8:1::7")
	want(2, "cflow.srcport", "40001", "40002")
	want(2, "cflow.dstport", "8443", "53")
	want(2, "cflow.octets", u(v9a.Bytes), u(v9b.Bytes))
	want(2, "cflow.packets", u(v9a.Packets), u(v9b.Packets))

	// sysUptime-relative: one hour of uptime, the flow started 60 s and
	// ended 1 s before the export time.
	want(2, "cflow.timestart", "3540.000000000", "3540.000000000")
	want(2, "cflow.timeend", "3599.000000000", "3599.000000000")

	want(3, "cflow.version", "10")
	want(3, "cflow.srcaddr", "172.16.5.5")
	want(3, "cflow.dstaddr", "192.0.2.99")
	want(3, "cflow.srcaddrv6", "fd00::5")
	want(3, "cflow.dstaddrv6", "2001:db8:2::99")
	want(3, "cflow.srcport", "33333", "33334")
	want(3, "cflow.dstport", "22", "123")
	want(3, "cflow.octets", "4444", "76")
	want(3, "cflow.packets", "44", "1")
	for _, ts := range rows[3]["cflow.abstimestart"] {
		if !strings.Contains(ts, "08:29:00.000000000") {
			t.Errorf("frame 3: flowStartMilliseconds = %q, want 08:29:00.000", ts)
		}
	}

	want(4, "sflow.flow_sample.sampling_rate", "512", "512")
	want(4, "sflow_245.header.frame_length", "1058", strconv.Itoa(len(flowtest.Packet(sfb, 100, 0))))
	contains(4, "ip.src", "10.10.10.10")
	contains(4, "ip.dst", "203.0.113.200")
	contains(4, "ipv6.src", "2001:db8::10")
	contains(4, "ipv6.dst", "2001:db8::20")
	want(4, "tcp.srcport", "12345")
	want(4, "tcp.dstport", "80")
	contains(4, "udp.srcport", "23456")
	contains(4, "udp.dstport", "5060")
}
