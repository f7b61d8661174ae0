package communityid

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"testing"
)

// referenceSum is a slow, obvious transcription of the spec used for
// differential testing: build the byte string step by step, hash it.
func referenceSum(seed uint16, f Flow) ([sha1.Size]byte, bool) {
	src, dst := f.Src.Unmap().WithZone(""), f.Dst.Unmap().WithZone("")
	if !src.IsValid() || !dst.IsValid() || src.BitLen() != dst.BitLen() {
		return [sha1.Size]byte{}, false
	}
	counterparts := map[uint8]map[uint16]uint16{
		1:  {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17},
		58: {128: 129, 129: 128, 130: 131, 131: 130, 133: 134, 134: 133, 135: 136, 136: 135, 139: 140, 140: 139, 144: 145, 145: 144},
	}
	sport, dport := f.SrcPort, f.DstPort
	oneWay := false
	if m, icmp := counterparts[f.Proto]; icmp {
		if c, ok := m[sport]; ok {
			dport = c
		} else {
			oneWay = true
		}
	}
	if !oneWay {
		if c := src.Compare(dst); c > 0 || (c == 0 && sport > dport) {
			src, dst = dst, src
			sport, dport = dport, sport
		}
	}
	var in bytes.Buffer
	binary.Write(&in, binary.BigEndian, seed)
	in.Write(src.AsSlice())
	in.Write(dst.AsSlice())
	in.WriteByte(f.Proto)
	in.WriteByte(0)
	switch f.Proto {
	case 1, 6, 17, 58, 132:
		binary.Write(&in, binary.BigEndian, sport)
		binary.Write(&in, binary.BigEndian, dport)
	}
	return sha1.Sum(in.Bytes()), true
}

func TestInputLayout(t *testing.T) {
	for _, tc := range []struct {
		name string
		seed uint16
		f    Flow
		want string // hex of the SHA-1 input
	}{
		{"tcp4", 1, Flow{netip.MustParseAddr("5.6.7.8"), netip.MustParseAddr("1.2.3.4"), 6, 3344, 1122},
			"0001" + "01020304" + "05060708" + "06" + "00" + "0462" + "0d10"},
		{"rsvp6", 0x0102, Flow{netip.MustParseAddr("fe80::2"), netip.MustParseAddr("fe80::1"), 46, 9, 9},
			"0102" + "fe800000000000000000000000000001" + "fe800000000000000000000000000002" + "2e" + "00"},
		{"icmp one-way keeps order", 0, Flow{netip.MustParseAddr("5.6.7.8"), netip.MustParseAddr("1.2.3.4"), 1, 11, 1},
			"0000" + "05060708" + "01020304" + "01" + "00" + "000b" + "0001"},
		{"icmp echo reply", 0, Flow{netip.MustParseAddr("5.6.7.8"), netip.MustParseAddr("1.2.3.4"), 1, 0, 0},
			"0000" + "01020304" + "05060708" + "01" + "00" + "0008" + "0000"},
		{"same ip", 0, Flow{netip.MustParseAddr("::ffff:9.9.9.9"), netip.MustParseAddr("9.9.9.9"), 17, 53, 52},
			"0000" + "09090909" + "09090909" + "11" + "00" + "0034" + "0035"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf [maxInput]byte
			n := New(tc.seed).input(&buf, tc.f)
			if got := hex.EncodeToString(buf[:n]); got != tc.want {
				t.Errorf("input\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

// FuzzHasher checks the Hasher against referenceSum and its own invariants
// on arbitrary tuples (addresses from 4- or 16-byte slices; other lengths
// give the invalid address).
func FuzzHasher(f *testing.F) {
	f.Add(uint16(0), []byte{1, 2, 3, 4}, []byte{5, 6, 7, 8}, uint8(6), uint16(1122), uint16(3344))
	f.Add(uint16(1), []byte{9, 9, 9, 9}, []byte{9, 9, 9, 9}, uint8(17), uint16(53), uint16(52))
	f.Add(uint16(7), bytes.Repeat([]byte{0xfe}, 16), bytes.Repeat([]byte{0x80}, 16), uint8(58), uint16(129), uint16(0))
	f.Add(uint16(0), []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}, []byte{5, 6, 7, 8}, uint8(1), uint16(3), uint16(1))
	f.Add(uint16(0), []byte{}, []byte{1, 2, 3, 4}, uint8(46), uint16(0), uint16(0))
	f.Fuzz(func(t *testing.T, seed uint16, a, b []byte, proto uint8, sport, dport uint16) {
		src, _ := netip.AddrFromSlice(a)
		dst, _ := netip.AddrFromSlice(b)
		fl := Flow{Src: src, Dst: dst, Proto: proto, SrcPort: sport, DstPort: dport}
		h := New(seed)
		want, ok := referenceSum(seed, fl)
		got := h.Sum(fl)
		if got != want {
			t.Fatalf("%+v seed %d: Sum %x, reference %x", fl, seed, got, want)
		}
		s := h.String(fl)
		x := string(h.AppendHex(nil, fl))
		if !ok {
			if s != "" || x != "" {
				t.Fatalf("%+v: no ID expected, got %q %q", fl, s, x)
			}
			return
		}
		if s != "1:"+base64.StdEncoding.EncodeToString(got[:]) || x != "1:"+hex.EncodeToString(got[:]) {
			t.Fatalf("%+v: forms disagree: %q %q %x", fl, s, x, got)
		}
		if proto != 1 && proto != 58 {
			rev := Flow{Src: dst, Dst: src, Proto: proto, SrcPort: dport, DstPort: sport}
			if h.Sum(rev) != got {
				t.Fatalf("%+v: reverse differs", fl)
			}
		}
	})
}
