package pcap

import (
	"bytes"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/internal/thirdparty"
)

// testdata returns the third-party test data directory, or skips.
func testdata(t *testing.T) string { return thirdparty.Dir(t) }

// readFile reads every packet of a capture file, keyed by frame number.
func readFile(t *testing.T, path string) (map[uint64]Packet, Stats) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	got, st, err := readAll(t, data)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	m := make(map[uint64]Packet, len(got))
	for _, p := range got {
		m[p.Frame] = p
	}
	return m, st
}

// tsv is a tshark field dump: a header line, then one row per frame.
type tsv struct{ thirdparty.TSV }

func readTSV(t *testing.T, path string) tsv { return tsv{thirdparty.ReadTSV(t, path)} }

// get returns the first value of a column ("" if absent or empty).
func (d tsv) get(row []string, name string) string {
	v, _, _ := strings.Cut(d.Cell(row, name), ",")
	return v
}

// either returns the first non-empty of two columns (ip.src / ipv6.src).
func (d tsv) either(row []string, a, b string) string {
	if v := d.get(row, a); v != "" {
		return v
	}
	return d.get(row, b)
}

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	if s == "" {
		return 0
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q: %v", s, err)
	}
	return n
}

// epoch parses tshark's frame.time_epoch ("1680655485.099595000") exactly.
func epoch(t *testing.T, s string) time.Time {
	t.Helper()
	sec, frac, _ := strings.Cut(s, ".")
	frac = (frac + "000000000")[:9]
	return time.Unix(int64(atoi(t, sec)), int64(atoi(t, frac))).UTC()
}

// TestConformanceNetflow checks every NetFlow/IPFIX/sFlow capture against
// tshark's per-packet dump: timestamp to the nanosecond, exporter address
// and UDP ports of every cflow/sflow frame.
func TestConformanceNetflow(t *testing.T) {
	dir := filepath.Join(testdata(t), "netflow")
	var files []string
	for _, pattern := range []string{"pcaps/*/*.pcap", "derived/*.pcap"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 70 {
		t.Fatalf("found %d captures under %s, want the 79 of the README", len(files), dir)
	}
	checked, withTruth := 0, 0
	for _, path := range files {
		name := strings.TrimSuffix(filepath.Base(path), ".pcap")
		t.Run(name, func(t *testing.T) {
			pkts, st := readFile(t, path)
			if st.Packets == 0 {
				t.Fatalf("no packets; stats %+v", st)
			}
			truth := filepath.Join(dir, "groundtruth", name+".packets.tsv")
			if _, err := os.Stat(truth); err != nil {
				return // akvorado template/data halves, only used merged in derived/
			}
			withTruth++
			d := readTSV(t, truth)
			for _, row := range d.Rows {
				frame := atoi(t, d.get(row, "frame.number"))
				p, ok := pkts[frame]
				if !ok {
					t.Errorf("frame %d: not returned", frame)
					continue
				}
				want := epoch(t, d.get(row, "frame.time_epoch"))
				// With occurrence=a the columns also hold the headers
				// that sFlow samples carry; the first value of the
				// outer header's family is the exporter.
				col := "ipv6.src"
				if p.Src.Is4() {
					col = "ip.src"
				}
				src, err := netip.ParseAddr(d.get(row, col))
				if err != nil {
					t.Errorf("frame %d: source %v, tshark's %s is %q", frame, p.Src, col, d.get(row, col))
					continue
				}
				sp, dp := atoi(t, d.get(row, "udp.srcport")), atoi(t, d.get(row, "udp.dstport"))
				if !p.Time.Equal(want) || p.Src != src || p.Proto != protoUDP ||
					uint64(p.SrcPort) != sp || uint64(p.DstPort) != dp || len(p.Payload) == 0 {
					t.Errorf("frame %d: got %v %v proto %d %d>%d (%d payload bytes), want %v %v udp %d>%d",
						frame, p.Time, p.Src, p.Proto, p.SrcPort, p.DstPort, len(p.Payload), want, src, sp, dp)
				}
				checked++
			}
		})
	}
	if withTruth < 70 || checked < 150 {
		t.Errorf("checked %d frames in %d files with ground truth; the data set is incomplete", checked, withTruth)
	}
	t.Logf("checked %d frames of %d captures against tshark", checked, withTruth)
}

// communityIDCapture maps a ground-truth file name to its capture.
func communityIDCapture(name string) string {
	switch {
	case name == "spec_pcaps_combined":
		return "spec/pcaps/combined.pcap.gz"
	case strings.HasPrefix(name, "spec_pcaps_"):
		return "spec/pcaps/" + strings.TrimPrefix(name, "spec_pcaps_") + ".pcap"
	case strings.HasPrefix(name, "zeek-baselines_traces_"):
		return "zeek-baselines/traces/" + strings.TrimPrefix(name, "zeek-baselines_traces_") + ".pcap"
	case strings.HasPrefix(name, "zeek-baselines_"):
		return "zeek-baselines/" + strings.TrimPrefix(name, "zeek-baselines_") + ".pcap"
	case strings.HasPrefix(name, "suricata-verify_"):
		return "suricata-verify/" + strings.TrimPrefix(name, "suricata-verify_") + "/input.pcap"
	}
	return ""
}

// TestConformanceCommunityID checks addresses, protocol, ports and ICMP
// type/code of every frame of the Community ID captures (spec, Zeek and
// suricata-verify, one gzip-compressed) against tshark: a frame without an
// IP layer in tshark's dump must be skipped, every other one returned.
func TestConformanceCommunityID(t *testing.T) {
	dir := filepath.Join(testdata(t), "communityid")
	truths, err := filepath.Glob(filepath.Join(dir, "groundtruth", "*.seed0.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(truths) < 9 {
		t.Fatalf("found %d ground-truth files under %s", len(truths), dir)
	}
	checked := 0
	for _, truth := range truths {
		name := strings.TrimSuffix(filepath.Base(truth), ".seed0.tsv")
		t.Run(name, func(t *testing.T) {
			capture := communityIDCapture(name)
			if capture == "" {
				t.Fatalf("no capture known for %s", truth)
			}
			pkts, st := readFile(t, filepath.Join(dir, capture))
			d := readTSV(t, truth)
			if st.Frames != uint64(len(d.Rows)) {
				t.Errorf("read %d frames, tshark %d", st.Frames, len(d.Rows))
			}
			for _, row := range d.Rows {
				frame := atoi(t, d.get(row, "frame.number"))
				p, ok := pkts[frame]
				src := d.either(row, "ip.src", "ipv6.src")
				if src == "" {
					if ok {
						t.Errorf("frame %d: returned %+v, tshark finds no IP", frame, p)
					}
					continue
				}
				if !ok {
					t.Errorf("frame %d: not returned", frame)
					continue
				}
				checked++
				dst := d.either(row, "ip.dst", "ipv6.dst")
				proto := uint8(atoi(t, d.either(row, "ip.proto", "ipv6.nxt")))
				var sp, dp, typ, code uint64
				switch proto {
				case protoTCP:
					sp, dp = atoi(t, d.get(row, "tcp.srcport")), atoi(t, d.get(row, "tcp.dstport"))
				case protoUDP:
					sp, dp = atoi(t, d.get(row, "udp.srcport")), atoi(t, d.get(row, "udp.dstport"))
				case protoSCTP:
					sp, dp = atoi(t, d.get(row, "sctp.srcport")), atoi(t, d.get(row, "sctp.dstport"))
				case protoICMP:
					typ, code = atoi(t, d.get(row, "icmp.type")), atoi(t, d.get(row, "icmp.code"))
				case protoICMPv6:
					typ, code = atoi(t, d.get(row, "icmpv6.type")), atoi(t, d.get(row, "icmpv6.code"))
				}
				got := []string{p.Src.String(), p.Dst.String(), strconv.Itoa(int(p.Proto)),
					strconv.Itoa(int(p.SrcPort)), strconv.Itoa(int(p.DstPort)),
					strconv.Itoa(int(p.ICMPType)), strconv.Itoa(int(p.ICMPCode))}
				want := []string{netip.MustParseAddr(src).String(), netip.MustParseAddr(dst).String(), strconv.Itoa(int(proto)),
					strconv.FormatUint(sp, 10), strconv.FormatUint(dp, 10),
					strconv.FormatUint(typ, 10), strconv.FormatUint(code, 10)}
				if !slices.Equal(got, want) {
					t.Errorf("frame %d: got %v, want %v (src dst proto sport dport type code)", frame, got, want)
				}
			}
		})
	}
	t.Logf("checked %d frames against tshark", checked)
}

// TestConformanceReadAll reads every capture in the test data without
// error and finds IP packets in each.
func TestConformanceReadAll(t *testing.T) {
	dir := testdata(t)
	n := 0
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !(strings.HasSuffix(path, ".pcap") || strings.HasSuffix(path, ".pcapng") || strings.HasSuffix(path, ".pcap.gz")) {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.HasPrefix(data, []byte("version https://git-lfs")) {
			return nil
		}
		n++
		_, st, err := readAll(t, data)
		if err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if st.Packets == 0 && !strings.Contains(path, "arp") {
			t.Errorf("%s: no IP packets; stats %+v", path, st)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("read only %d captures", n)
	}
}
