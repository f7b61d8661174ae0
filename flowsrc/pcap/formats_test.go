package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var frameA = ipv4UDP("192.0.2.1", "192.0.2.2", 5000, 2055, []byte("nf"))

func TestPcapFormats(t *testing.T) {
	ts1 := time.Unix(1700000000, 123456789).UTC()
	ts2 := time.Unix(4000000000, 999999999).UTC() // past 2038: ts_sec is unsigned
	cut := ether(etherIPv4, ipv4UDP("192.0.2.1", "192.0.2.2", 5000, 2055, make([]byte, 200)))
	tests := []struct {
		name  string
		o     order
		magic uint32
		res   time.Duration
	}{
		{"le usec", binary.LittleEndian, 0xa1b2c3d4, time.Microsecond},
		{"be usec", binary.BigEndian, 0xa1b2c3d4, time.Microsecond},
		{"le nsec", binary.LittleEndian, 0xa1b23c4d, time.Nanosecond},
		{"be nsec", binary.BigEndian, 0xa1b23c4d, time.Nanosecond},
		{"le modified", binary.LittleEndian, 0xa1b2cd34, time.Microsecond},
		{"be modified", binary.BigEndian, 0xa1b2cd34, time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := pcapFile(tt.o, tt.magic, linkEthernet,
				rec{t: ts1, data: ether(etherIPv4, frameA)},
				rec{t: ts2, data: ether(0x0806, make([]byte, 28))},
				rec{t: ts2, data: cut[:60], orig: len(cut)},
			)
			got, st, err := readAll(t, data)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 2 {
				t.Fatalf("got %d packets, want 2", len(got))
			}
			if want := ts1.Truncate(tt.res); !got[0].Time.Equal(want) || got[0].Time.Location() != time.UTC {
				t.Errorf("time = %v, want %v UTC", got[0].Time, want)
			}
			if want := ts2.Truncate(tt.res); !got[1].Time.Equal(want) {
				t.Errorf("time = %v, want %v", got[1].Time, want)
			}
			if got[0].Frame != 1 || got[1].Frame != 3 {
				t.Errorf("frames = %d, %d, want 1, 3", got[0].Frame, got[1].Frame)
			}
			if !got[1].Truncated || got[1].Length != len(cut) || got[1].DstPort != 2055 || len(got[1].Payload) != 60-14-28 {
				t.Errorf("cut frame = %+v", got[1])
			}
			want := Stats{Frames: 3, Packets: 2, Skipped: 1, NonIP: 1, Truncated: 1}
			if st != want {
				t.Errorf("stats = %+v, want %+v", st, want)
			}
		})
	}
}

func TestPcapngByteOrders(t *testing.T) {
	for _, o := range []order{binary.LittleEndian, binary.BigEndian} {
		t.Run(o.String(), func(t *testing.T) {
			w := &ngWriter{o: o}
			w.shb(o, w.opt(3, []byte("test writer")))
			w.idb(linkEthernet, 0, w.opt(2, []byte("eth0")))
			w.epb(0, 1700000000123456, ether(etherIPv4, frameA), 0)
			got, st, err := readAll(t, w.b)
			if err != nil {
				t.Fatal(err)
			}
			want := pkt("192.0.2.1", "192.0.2.2", protoUDP, 5000, 2055, "nf")
			want.Time, want.Length = time.Unix(1700000000, 123456000).UTC(), 60
			if len(got) != 1 {
				t.Fatalf("got %d packets; stats %+v", len(got), st)
			}
			if d := cmp.Diff(want, got[0], cmpOpts...); d != "" {
				t.Errorf("packet (-want +got):\n%s", d)
			}
		})
	}
}

func TestPcapngTimestamps(t *testing.T) {
	tests := []struct {
		name   string
		resol  []byte // if_tsresol value, nil for the default
		offset int64
		ts     uint64
		want   time.Time
	}{
		{"default usec", nil, 0, 1700000000123456, time.Unix(1700000000, 123456000)},
		{"usec explicit", []byte{6}, 0, 1700000000123456, time.Unix(1700000000, 123456000)},
		{"nsec", []byte{9}, 0, 1700000000123456789, time.Unix(1700000000, 123456789)},
		{"msec", []byte{3}, 0, 1700000000123, time.Unix(1700000000, 123000000)},
		{"sec", []byte{0}, 0, 1700000000, time.Unix(1700000000, 0)},
		{"psec truncates", []byte{12}, 0, 12345678901234567, time.Unix(12345, 678901234)},
		{"1e-19", []byte{19}, 0, 12345678901234567890, time.Unix(1, 234567890)},
		{"1e-25", []byte{25}, 0, 1e18, time.Unix(0, 100)},
		{"1e-127", []byte{127}, 0, 1 << 63, time.Unix(0, 0)},
		{"2^-10", []byte{0x80 | 10}, 0, 1700000000<<10 | 512, time.Unix(1700000000, 500000000)},
		{"2^-30", []byte{0x80 | 30}, 0, 1700000000<<30 | 1<<28, time.Unix(1700000000, 250000000)},
		{"2^-20 truncates", []byte{0x80 | 20}, 0, 1, time.Unix(0, 953)},
		{"2^0", []byte{0x80}, 0, 1700000000, time.Unix(1700000000, 0)},
		{"2^-64", []byte{0x80 | 64}, 0, 1 << 63, time.Unix(0, 500000000)},
		{"2^-90", []byte{0x80 | 90}, 0, 1 << 63, time.Unix(0, 7)},
		{"2^-127", []byte{0x80 | 127}, 0, 1<<64 - 1, time.Unix(0, 0)},
		{"tsoffset", nil, 1600000000, 100000123456, time.Unix(1600100000, 123456000)},
		{"negative tsoffset nsec", []byte{9}, -1000, 1700000000000000001, time.Unix(1699999000, 1)},
	}
	for _, tt := range tests {
		for _, o := range []order{binary.LittleEndian, binary.BigEndian} {
			t.Run(tt.name+" "+o.String(), func(t *testing.T) {
				w := &ngWriter{}
				w.shb(o)
				var opts [][]byte
				if tt.resol != nil {
					opts = append(opts, w.opt(optTSResol, tt.resol))
				}
				if tt.offset != 0 {
					opts = append(opts, w.opt(optTSOffset, w.o.AppendUint64(nil, uint64(tt.offset))))
				}
				w.idb(linkRaw, 0, opts...)
				w.epb(0, tt.ts, frameA, 0)
				got, _, err := readAll(t, w.b)
				if err != nil || len(got) != 1 {
					t.Fatalf("got %d packets, err %v", len(got), err)
				}
				if !got[0].Time.Equal(tt.want) || got[0].Time.Location() != time.UTC {
					t.Errorf("time = %v, want %v", got[0].Time, tt.want.UTC())
				}
			})
		}
	}
}

func TestPcapngBlocks(t *testing.T) {
	w := &ngWriter{}
	// Section 1, little-endian: two interfaces.
	w.shb(binary.LittleEndian)
	w.block(4, []byte{1, 0, 4, 0, 192, 0, 2, 1, 'a', 0, 0, 0, 0, 0, 0, 0}) // name resolution
	w.idb(linkEthernet, 0)
	w.idb(linkRaw, 0, w.opt(optTSResol, []byte{9}))
	w.epb(1, 1700000000000000001, frameA, 0)                   // frame 1: raw, ns
	w.epb(0, 1700000000000002, ether(etherIPv4, frameA), 0)    // frame 2: ethernet, µs
	w.block(5, make([]byte, 20))                               // interface statistics
	w.block(0x00000bad, []byte("custom block, copyable"))      // custom
	w.block(0x12345678, nil)                                   // unknown
	w.epb(2, 0, frameA, 0)                                     // frame 3: no interface 2
	w.block(blockEPB, make([]byte, 16))                        // frame 4: body too short
	w.opb(1, 1700000000000000005, frameA)                      // frame 5: obsolete packet block
	w.block(blockEPB, w.o.AppendUint32(make([]byte, 12), 999)) // frame 6: captured length overruns
	// Section 2, big-endian: interfaces start again.
	w.shb(binary.BigEndian)
	w.idb(linkRaw, 40)
	w.epb(1, 0, frameA, 0)                       // frame 7: interface 1 was section 1's
	w.spb(cat(frameA, make([]byte, 20)), 60)     // frame 8: snapped to 40 bytes
	w.spb(frameA[:25], 25)                       // frame 9: short UDP header, complete packet
	w.epb(0, 1700000000000010, frameA[:30], 100) // frame 10: µs

	got, st, err := readAll(t, w.b)
	if err != nil {
		t.Fatal(err)
	}
	type frame struct {
		Frame     uint64
		Time      time.Time
		Length    int
		Payload   string
		Truncated bool
	}
	var frames []frame
	for _, p := range got {
		frames = append(frames, frame{p.Frame, p.Time, p.Length, string(p.Payload), p.Truncated})
	}
	want := []frame{
		{1, time.Unix(1700000000, 1).UTC(), 30, "nf", false},
		{2, time.Unix(1700000000, 2000).UTC(), 60, "nf", false},
		{5, time.Unix(1700000000, 5).UTC(), 30, "nf", false},
		{8, time.Time{}, 60, "nf", true},
		{9, time.Time{}, 25, "", true},
		{10, time.Unix(1700000000, 10000).UTC(), 100, "nf", true},
	}
	if d := cmp.Diff(want, frames); d != "" {
		t.Errorf("frames (-want +got):\n%s", d)
	}
	wantSt := Stats{Frames: 10, Packets: 6, Skipped: 4, Malformed: 4, Truncated: 3}
	if st != wantSt {
		t.Errorf("stats = %+v, want %+v", st, wantSt)
	}

	// Packet blocks that cannot be decoded are counted and skipped.
	w = &ngWriter{}
	w.shb(binary.BigEndian)
	w.spb(frameA, len(frameA))      // no interface yet
	w.block(blockSPB, []byte{0, 0}) // body too short
	w.idb(linkRaw, 0)
	w.block(blockOPB, make([]byte, 16)) // body too short
	w.opb(3, 0, frameA)                 // no interface 3
	w.opb(0, 0, frameA)                 // good
	got, st, err = readAll(t, w.b)
	if err != nil || len(got) != 1 || got[0].Frame != 5 {
		t.Fatalf("got %d packets, err %v", len(got), err)
	}
	wantSt = Stats{Frames: 5, Packets: 1, Skipped: 4, Malformed: 4}
	if st != wantSt {
		t.Errorf("stats = %+v, want %+v", st, wantSt)
	}
}

func TestGzip(t *testing.T) {
	w := &ngWriter{}
	w.shb(binary.BigEndian)
	w.idb(linkEthernet, 0)
	w.epb(0, 1, ether(etherIPv4, frameA), 0)
	for name, data := range map[string][]byte{
		"pcap":   pcapFile(binary.LittleEndian, 0xa1b2c3d4, linkRaw, rec{t: t0, data: frameA}, rec{t: t0, data: frameA}),
		"pcapng": w.b,
	} {
		t.Run(name, func(t *testing.T) {
			plain, _, err := readAll(t, data)
			if err != nil {
				t.Fatal(err)
			}
			zipped, _, err := readAll(t, gzipped(data))
			if err != nil {
				t.Fatal(err)
			}
			if len(plain) == 0 {
				t.Fatal("no packets")
			}
			if d := cmp.Diff(plain, zipped, cmpOpts...); d != "" {
				t.Errorf("gzip differs (-plain +gzip):\n%s", d)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	le := binary.LittleEndian
	pcapHdr := pcapFile(le, 0xa1b2c3d4, linkRaw)
	shb := func(o order) []byte { w := &ngWriter{}; w.shb(o); return w.b }
	ng := func(blocks ...[]byte) []byte { return cat(append([][]byte{shb(le)}, blocks...)...) }
	// blk builds a raw little-endian block with the given lengths.
	blk := func(typ, lead uint32, body []byte, trail uint32) []byte {
		b := le.AppendUint32(le.AppendUint32(nil, typ), lead)
		return le.AppendUint32(append(b, body...), trail)
	}
	hugeGzip := gzipped(pcapFile(le, 0xa1b2c3d4, linkRaw, rec{t: t0, data: frameA}))
	tests := []struct {
		name    string
		data    []byte
		inNew   bool // the error comes from NewReader
		want    error
		packets int
	}{
		{"empty", nil, true, io.ErrUnexpectedEOF, 0},
		{"3 bytes", []byte{0xd4, 0xc3, 0xb2}, true, io.ErrUnexpectedEOF, 0},
		{"garbage", []byte("GET / HTTP/1.1\r\n\r\n"), true, ErrFormat, 0},
		{"pcap header cut", pcapHdr[:20], true, io.ErrUnexpectedEOF, 0},
		{"pcap version 1", with2(pcapHdr, 4, 1), true, ErrFormat, 0},
		{"pcap record header cut", cat(pcapHdr, make([]byte, 10)), false, io.ErrUnexpectedEOF, 0},
		{"pcap record data cut", pcapFile(le, 0xa1b2c3d4, linkRaw, rec{t: t0, data: frameA})[:50], false, io.ErrUnexpectedEOF, 0},
		{"pcap record too large", cat(pcapHdr, le.AppendUint32(make([]byte, 8), 16<<20+1), make([]byte, 4)), false, ErrTooLarge, 0},
		{"pcap record huge", cat(pcapHdr, le.AppendUint32(make([]byte, 8), 0xffffffff), make([]byte, 4)), false, ErrTooLarge, 0},
		{"pcap after good record", cat(pcapFile(le, 0xa1b2c3d4, linkRaw, rec{t: t0, data: frameA}), []byte{1}), false, io.ErrUnexpectedEOF, 1},
		{"shb cut", shb(le)[:10], true, io.ErrUnexpectedEOF, 0},
		{"shb body cut", shb(le)[:20], true, io.ErrUnexpectedEOF, 0},
		{"shb byte-order magic", with2(shb(le), 8, 0x99), true, ErrFormat, 0},
		{"shb version 2", with2(shb(le), 12, 2), true, ErrFormat, 0},
		{"shb length 24", with2(shb(le), 4, 24), true, ErrMalformed, 0},
		{"shb length odd", with2(shb(le), 4, 29), true, ErrMalformed, 0},
		{"shb length huge", with2(shb(le), 7, 0x7f), true, ErrTooLarge, 0},
		{"shb trailer", with2(shb(le), 27, 1), true, ErrMalformed, 0},
		{"second shb bad", ng(with2(shb(binary.BigEndian), 8, 0)), false, ErrFormat, 0},
		{"block length 8", ng(blk(5, 8, nil, 8)), false, ErrMalformed, 0},
		{"block length 13", ng(blk(5, 13, []byte{0}, 13)), false, ErrMalformed, 0},
		{"block length huge", ng(blk(5, 0xfffffffc, nil, 0)), false, ErrTooLarge, 0},
		{"block trailer", ng(blk(5, 16, []byte{0, 0, 0, 0}, 20)), false, ErrMalformed, 0},
		{"block cut", ng(blk(5, 16, []byte{0, 0, 0, 0}, 16))[:40], false, io.ErrUnexpectedEOF, 0},
		{"block header cut", ng([]byte{5, 0, 0}), false, io.ErrUnexpectedEOF, 0},
		{"idb short", ng(blk(1, 16, []byte{1, 0, 0, 0}, 16)), false, ErrMalformed, 0},
		{"idb option overruns", ng(blk(1, 24, []byte{1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 9, 0}, 24)), false, ErrMalformed, 0},
		{"gzip header", []byte{0x1f, 0x8b, 8, 0xff, 0, 0}, true, io.ErrUnexpectedEOF, 0},
		{"gzip cut", hugeGzip[:len(hugeGzip)-10], false, io.ErrUnexpectedEOF, 1},
		{"gzip of garbage", gzipped([]byte("not a capture")), true, ErrFormat, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.data))
			if tt.inNew {
				checkErr(t, err, tt.want)
				return
			}
			if err != nil {
				t.Fatalf("NewReader: %v", err)
			}
			n := 0
			for {
				_, err = r.Next()
				if err != nil {
					break
				}
				n++
			}
			checkErr(t, err, tt.want)
			if n != tt.packets {
				t.Errorf("got %d packets before the error, want %d", n, tt.packets)
			}
			if _, err2 := r.Next(); err2 != err {
				t.Errorf("second Next error = %v, want the same %v", err2, err)
			}
		})
	}
}

func checkErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
	var pe *ParseError
	if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "pcap: ") {
		t.Errorf("error %q is not a *ParseError prefixed \"pcap: \"", err)
	}
}

// TestEveryPrefix cuts valid files at every byte: the reader must end with
// io.EOF at record/block boundaries and io.ErrUnexpectedEOF elsewhere,
// having returned the packets before the cut.
func TestEveryPrefix(t *testing.T) {
	var boundaries []int
	recs := []rec{{t: t0, data: frameA}, {t: t0, data: ether(etherIPv4, frameA)}, {t: t0, data: ether(0x0806, nil)}}
	pc := pcapFile(binary.BigEndian, 0xa1b23c4d, linkEthernet)
	boundaries = append(boundaries, len(pc))
	for _, r := range recs {
		pc = append(pc, pcapFile(binary.BigEndian, 0xa1b23c4d, linkEthernet, r)[24:]...)
		boundaries = append(boundaries, len(pc))
	}
	w := &ngWriter{}
	w.shb(binary.LittleEndian)
	ngBounds := []int{len(w.b)}
	w.idb(linkRaw, 0)
	ngBounds = append(ngBounds, len(w.b))
	w.epb(0, 5, frameA, 0)
	ngBounds = append(ngBounds, len(w.b))
	w.shb(binary.BigEndian)
	ngBounds = append(ngBounds, len(w.b))
	w.idb(linkRaw, 0)
	ngBounds = append(ngBounds, len(w.b))
	w.spb(frameA, len(frameA))
	ngBounds = append(ngBounds, len(w.b))

	for _, f := range []struct {
		name   string
		data   []byte
		bounds []int
	}{{"pcap", pc, boundaries}, {"pcapng", w.b, ngBounds}} {
		full, _, err := readAll(t, f.data)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n <= len(f.data); n++ {
			got, _, err := readAll(t, f.data[:n])
			switch {
			case n < f.bounds[0]:
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("%s[:%d]: error %v, want unexpected EOF", f.name, n, err)
				}
			case slices.Contains(f.bounds, n):
				if err != nil {
					t.Errorf("%s[:%d]: error %v at a boundary", f.name, n, err)
				}
			default:
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Errorf("%s[:%d]: error %v, want unexpected EOF", f.name, n, err)
				}
			}
			if d := cmp.Diff(full[:len(got)], got, cmpOpts...); d != "" {
				t.Errorf("%s[:%d]: packets differ from the full file's:\n%s", f.name, n, d)
			}
		}
	}
}

// TestLyingLengthNoHugeAllocation checks that a length field claiming
// 16 MiB over a few bytes of data does not allocate 16 MiB.
func TestLyingLengthNoHugeAllocation(t *testing.T) {
	le := binary.LittleEndian
	pc := cat(pcapFile(le, 0xa1b2c3d4, linkRaw), le.AppendUint32(make([]byte, 8), 16<<20), make([]byte, 4), make([]byte, 100))
	w := &ngWriter{}
	w.shb(le)
	ng := cat(w.b, le.AppendUint32(le.AppendUint32(nil, blockEPB), 16<<20), make([]byte, 100))
	for name, data := range map[string][]byte{"pcap": pc, "pcapng": ng} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, _, err := readAll(t, data)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s: error %v, want unexpected EOF", name, err)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
			t.Errorf("%s: allocated %d bytes for a %d-byte input", name, n, len(data))
		}
	}
}

// TestLargeFrames reads frames larger than the read buffer (IPv6
// jumbograms), which take the copying path.
func TestLargeFrames(t *testing.T) {
	big := make([]byte, 300_000)
	for i := range big {
		big[i] = byte(i)
	}
	jumbo := func(n int) []byte {
		p := ipv6("2001:db8::1", "2001:db8::2", protoHopByHop, cat(ext6(protoUDP, 1), []byte{0, 1, 0, 2, 0, 0, 0, 0}, big[:n]))
		p[4], p[5] = 0, 0
		return p
	}
	recs := []rec{{t: t0, data: jumbo(300_000)}, {t: t0, data: frameA}, {t: t0, data: jumbo(200_000)}, {t: t0, data: jumbo(131_000)}}
	w := &ngWriter{}
	w.shb(binary.BigEndian)
	w.idb(linkRaw, 0)
	for _, r := range recs {
		w.epb(0, 0, r.data, 0)
	}
	for name, data := range map[string][]byte{
		"pcap":      pcapFile(binary.LittleEndian, 0xa1b2c3d4, linkRaw, recs...),
		"pcapng":    w.b,
		"pcapng.gz": gzipped(w.b),
	} {
		got, _, err := readAll(t, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 4 {
			t.Fatalf("%s: %d packets", name, len(got))
		}
		for i, n := range []int{300_000, 2, 200_000, 131_000} {
			want := big[:n]
			if i == 1 {
				want = []byte("nf")
			}
			if !bytes.Equal(got[i].Payload, want) {
				t.Errorf("%s: packet %d payload of %d bytes differs (want %d)", name, i, len(got[i].Payload), n)
			}
		}
	}
}

// TestRoundTrip writes random packets with the test writer in several
// container variants and reads them back.
func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type orig struct {
		t            time.Time
		src, dst     netip.Addr
		proto        uint8
		sport, dport uint16
		payload      []byte
		frame        []byte
	}
	var pkts []orig
	for range 300 {
		o := orig{t: time.Unix(int64(rng.Uint32()), rng.Int64N(1e9)).UTC(), sport: uint16(rng.Uint32()), dport: uint16(rng.Uint32())}
		o.payload = make([]byte, rng.IntN(1400))
		for i := range o.payload {
			o.payload[i] = byte(rng.Uint32())
		}
		var a, b [16]byte
		for i := range a {
			a[i], b[i] = byte(rng.Uint32()), byte(rng.Uint32())
		}
		tcp := rng.IntN(2) == 0
		var l4 []byte
		o.proto = protoUDP
		if tcp {
			o.proto = protoTCP
			l4 = tcpHdr(o.sport, o.dport, make([]byte, 4*rng.IntN(11)), o.payload)
		} else {
			l4 = udpHdr(o.sport, o.dport, o.payload)
		}
		if rng.IntN(2) == 0 {
			o.src, o.dst = netip.AddrFrom4([4]byte(a[:4])), netip.AddrFrom4([4]byte(b[:4]))
			o.frame = ipv4(o.src.String(), o.dst.String(), o.proto, 0, make([]byte, 4*rng.IntN(11)), l4)
		} else {
			o.src, o.dst = netip.AddrFrom16(a), netip.AddrFrom16(b)
			o.frame = ipv6(o.src.String(), o.dst.String(), o.proto, l4)
		}
		o.frame = ether(etherIPv4+uint16(o.frame[0]>>4/6)*(etherIPv6-etherIPv4), o.frame, slices.Repeat([]uint16{etherVLAN}, rng.IntN(3))...)
		pkts = append(pkts, o)
	}
	var recs []rec
	w := &ngWriter{}
	w.shb(binary.BigEndian)
	w.idb(linkEthernet, 0, w.opt(optTSResol, []byte{9}))
	for _, o := range pkts {
		recs = append(recs, rec{t: o.t, data: o.frame})
		w.epb(0, uint64(o.t.UnixNano()), o.frame, 0)
	}
	files := map[string][]byte{
		"pcap nsec le": pcapFile(binary.LittleEndian, 0xa1b23c4d, linkEthernet, recs...),
		"pcap nsec be": pcapFile(binary.BigEndian, 0xa1b23c4d, linkEthernet, recs...),
		"pcapng nsec":  w.b,
	}
	for name, data := range files {
		got, st, err := readAll(t, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(pkts) || st.Packets != uint64(len(pkts)) {
			t.Fatalf("%s: %d packets, want %d", name, len(got), len(pkts))
		}
		for i, o := range pkts {
			g := got[i]
			if !g.Time.Equal(o.t) || g.Src != o.src || g.Dst != o.dst || g.Proto != o.proto ||
				g.SrcPort != o.sport || g.DstPort != o.dport || !bytes.Equal(g.Payload, o.payload) || g.Truncated {
				t.Fatalf("%s: packet %d = %+v, want %v %v>%v %d %d>%d", name, i, g, o.t, o.src, o.dst, o.proto, o.sport, o.dport)
			}
		}
	}
}
