package goflowpb_test

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/goflowpb"
)

func TestDecodeMapping(t *testing.T) {
	a := addrBytes
	tests := []struct {
		name  string
		m     msg
		check func(t *testing.T, r flowsrc.Record)
	}{
		{"typical", flowMsg(), func(t *testing.T, r flowsrc.Record) {
			if r.BytesToServer != 15000 || r.PktsToServer != 30 || r.SamplingRate != 10 || r.ObservationDomain != 42 ||
				r.TCPFlags != 0x1b || r.SrcPort != 51000 || r.DstPort != 443 || !r.Start.Equal(tStart) || !r.End.Equal(tNow.Add(-time.Second)) ||
				r.Exporter.String() != "192.0.2.1" || r.Src.String() != "10.1.2.3" || r.Dst.String() != "203.0.113.9" {
				t.Errorf("%+v", r)
			}
		}},
		{"last occurrence wins", flowMsg().varint(fSrcPort, 7).bytes(fSrcAddr, a("10.0.0.9")), func(t *testing.T, r flowsrc.Record) {
			if r.SrcPort != 7 || r.Src.String() != "10.0.0.9" {
				t.Errorf("%+v", r)
			}
		}},
		{"unknown fields of every wire type", flowMsg().varint(999, 1).bytes(998, []byte("eth0")).fixed32(5000, 7).fixed64(1<<28, 9).bytes(fASPath, []byte{1, 2, 3}).varint(fASPath, 64500),
			func(t *testing.T, r flowsrc.Record) {
				if r.BytesToServer != 15000 {
					t.Errorf("%+v", r)
				}
			}},
		{"non-minimal varint", msg(nil).raw(0xa0, 0x01, 0x86, 0x80, 0x00).bytes(fSrcAddr, a("10.0.0.1")).bytes(fDstAddr, a("10.0.0.2")).varint(fTimeReceived, 1e18),
			func(t *testing.T, r flowsrc.Record) {
				if r.Proto != 6 {
					t.Errorf("proto %d, want 6", r.Proto)
				}
			}},
		{"tcp flags keep the low byte", flowMsg().varint(fTCPFlags, 0x1c2), func(t *testing.T, r flowsrc.Record) {
			if r.TCPFlags != 0xc2 {
				t.Errorf("TCPFlags %#x", r.TCPFlags)
			}
		}},
		{"ICMP type from the destination port", flowMsg().varint(fProto, 1).varint(fSrcPort, 0).varint(fDstPort, 3<<8|1), func(t *testing.T, r flowsrc.Record) {
			if !r.HasICMP || r.ICMPType != 3 || r.ICMPCode != 1 || r.SrcPort != 0 || r.DstPort != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{"ICMP fields win over the port", flowMsg().varint(fProto, 1).varint(fDstPort, 3<<8|1).varint(fICMPCode, 4), func(t *testing.T, r flowsrc.Record) {
			if !r.HasICMP || r.ICMPType != 0 || r.ICMPCode != 4 {
				t.Errorf("%+v", r)
			}
		}},
		{"ICMP of a parsed packet without type/code: unknown", flowMsg().varint(fProto, 58).varint(fDstPort, 0).bytes(103, []byte{0, 2, 8}), func(t *testing.T, r flowsrc.Record) {
			if r.HasICMP || r.Proto != 58 || r.DstPort != 0 {
				t.Errorf("%+v", r)
			}
		}},
		{"sampling rate 0 is 1", flowMsg().varint(fSamplingRate, 0), func(t *testing.T, r flowsrc.Record) {
			if r.SamplingRate != 1 || r.BytesToServer != 1500 {
				t.Errorf("%+v", r)
			}
		}},
		{"no sampler address", msg(nil).bytes(fSrcAddr, a("10.0.0.1")).bytes(fDstAddr, a("::ffff:10.0.0.2")).varint(fTimeStart, 5e17),
			func(t *testing.T, r flowsrc.Record) {
				if r.Exporter.IsValid() || r.Dst.String() != "10.0.0.2" || !r.End.Equal(r.Start) || r.Start.UnixNano() != 5e17 {
					t.Errorf("%+v", r)
				}
			}},
		{"flow time beyond 2262 is absent", flowMsg().varint(fTimeStart, 1<<63).varint(fTimeEnd, 1<<63+5), func(t *testing.T, r flowsrc.Record) {
			if !r.Start.Equal(tNow) || !r.End.Equal(tNow) {
				t.Errorf("%+v", r)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r flowsrc.Record
			if err := goflowpb.Decode(tt.m.delim(), &r); err != nil {
				t.Fatal(err)
			}
			if !r.IsValid() || r.Start.After(r.End) {
				t.Errorf("invalid record %+v", r)
			}
			tt.check(t, r)
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	n := len(flowMsg())
	tests := []struct {
		name     string
		m        msg
		kind     error
		fieldOff int // -1: not about one field
		field    uint64
		text     string
	}{
		{"truncated tag", flowMsg().raw(0x80), goflowpb.ErrMalformed, n, 0, "truncated or overlong field tag"},
		{"truncated varint", flowMsg().raw(0x08, 0xff), goflowpb.ErrMalformed, n, 1, "field 1 type"},
		{"overlong varint", flowMsg().raw(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02), goflowpb.ErrMalformed, n, 1, "overlong"},
		{"field past the end", flowMsg().raw(0x32, 0x10, 1, 2, 3, 4), goflowpb.ErrMalformed, n, fSrcAddr, "length beyond the message (16)"},
		{"truncated fixed64", flowMsg().raw(0x09<<3|1, 1, 2), goflowpb.ErrMalformed, n, 9, "wrong wire type"},
		{"unknown fixed32 cut", flowMsg().raw(8<<3|5, 1), goflowpb.ErrMalformed, n, 8, "truncated fixed32"},
		{"wrong wire type for src_addr", flowMsg().varint(fSrcAddr, 5), goflowpb.ErrMalformed, n, fSrcAddr, "field 6 src_addr): malformed: wrong wire type (0)"},
		{"wrong wire type for bytes", flowMsg().bytes(fBytes, []byte{1}), goflowpb.ErrMalformed, n, fBytes, "wrong wire type (2)"},
		{"group", flowMsg().raw(8<<3 | 3), goflowpb.ErrMalformed, n, 8, "unsupported wire type (3)"},
		{"wire type 7", flowMsg().raw(8<<3 | 7), goflowpb.ErrMalformed, n, 8, "unsupported wire type (7)"},
		{"field number 0", flowMsg().raw(0x00, 0x01), goflowpb.ErrMalformed, n, 0, "invalid field number (0)"},
		{"5-byte address", flowMsg().bytes(fDstAddr, []byte{1, 2, 3, 4, 5}), goflowpb.ErrMalformed, n, fDstAddr, "address length not 4 or 16 (5)"},
		{"bad sampler address", flowMsg().bytes(fSamplerAddress, []byte{1}), goflowpb.ErrMalformed, n, fSamplerAddress, "sampler_address"},
		{"port above 65535", flowMsg().varint(fDstPort, 70000), goflowpb.ErrMalformed, n, fDstPort, "port above 65535 (70000)"},
		{"proto above 255", flowMsg().varint(fProto, 256), goflowpb.ErrMalformed, n, fProto, "protocol above 255 (256)"},
		{"ICMP code above 255", flowMsg().varint(fICMPCode, 300), goflowpb.ErrMalformed, n, fICMPCode, "ICMP type/code above 255 (300)"},
		{"no time", msg(nil).bytes(fSrcAddr, addrBytes("10.0.0.1")).bytes(fDstAddr, addrBytes("10.0.0.2")), goflowpb.ErrMalformed, -1, 0, "no usable time"},
		{"goflow2 v1 message", msg(nil).varint(fType, 2).varint(2, 1714979310).varint(fIPFlags, 1714979300).varint(5, 1714979309).
			bytes(fSrcAddr, addrBytes("10.0.0.1")).bytes(fDstAddr, addrBytes("10.0.0.2")), goflowpb.ErrMalformed, -1, 0, "goflow2 v1"},
		{"no addresses", msg(nil).varint(fTimeReceived, 1e18).varint(fBytes, 60), goflowpb.ErrNotFlow, -1, 0, "not a flow"},
		{"one address", msg(nil).varint(fTimeReceived, 1e18).bytes(fSrcAddr, addrBytes("10.0.0.1")), goflowpb.ErrNotFlow, -1, 0, "no source or destination"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, bare := range []bool{false, true} {
				r := flowsrc.Record{Proto: 99}
				var err error
				if bare {
					err = goflowpb.DecodeBare(tt.m, &r)
				} else {
					err = goflowpb.Decode(tt.m.delim(), &r)
				}
				var e *goflowpb.Error
				if !errors.As(err, &e) || !errors.Is(err, tt.kind) {
					t.Fatalf("error %v, want an *Error wrapping %v", err, tt.kind)
				}
				if e.Offset != 0 || e.Message != 0 || e.FieldOffset != tt.fieldOff || e.Field != tt.field {
					t.Errorf("error %+v, want field offset %d field %d", e, tt.fieldOff, tt.field)
				}
				if !strings.Contains(err.Error(), tt.text) || !strings.HasPrefix(err.Error(), "goflowpb: message 0 at offset 0") {
					t.Errorf("error text %q, want it to contain %q", err, tt.text)
				}
				if r != (flowsrc.Record{}) {
					t.Errorf("record not zeroed: %+v", r)
				}
			}
		})
	}
}

func TestDecodeFraming(t *testing.T) {
	m := flowMsg()
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bare message", m},
		{"one byte more", append(m.delim(), 0)},
		{"one byte less", m.delim()[:len(m.delim())-1]},
		{"overlong prefix", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
	}
	for _, tt := range tests {
		var r flowsrc.Record
		if err := goflowpb.Decode(tt.b, &r); !errors.Is(err, goflowpb.ErrFraming) {
			t.Errorf("%s: error %v, want ErrFraming", tt.name, err)
		}
	}
}

// stream concatenates delimited messages with sep after each.
func stream(sep string, msgs ...[]byte) []byte {
	var b []byte
	for _, m := range msgs {
		b = append(b, m...)
		b = append(b, sep...)
	}
	return b
}

// next reads one record and returns the error.
func next(r *goflowpb.Reader) (flowsrc.Record, error) {
	var rec flowsrc.Record
	err := r.Next(&rec)
	return rec, err
}

func TestReaderSkipsMalformed(t *testing.T) {
	good := flowMsg().delim()
	bad := flowMsg().bytes(fSrcAddr, []byte{1, 2, 3}).delim()
	arp := msg(nil).varint(fTimeReceived, 1e18).varint(30, 0x806).delim()
	for _, sep := range []string{"", "\n"} {
		data := stream(sep, good, bad, arp, good)
		r := goflowpb.NewReader(bytes.NewReader(data))
		if _, err := next(r); err != nil {
			t.Fatal(err)
		}
		_, err := next(r)
		var e *goflowpb.Error
		wantOff := int64(len(good) + len(sep))
		if !errors.As(err, &e) || !errors.Is(err, goflowpb.ErrMalformed) || e.Offset != wantOff || e.Message != 1 || e.Field != fSrcAddr {
			t.Fatalf("sep %q: error %v, want ErrMalformed at offset %d, message 1", sep, err, wantOff)
		}
		if _, err := next(r); err != nil { // the ARP message is skipped, the good one read
			t.Fatalf("sep %q: after the malformed message: %v", sep, err)
		}
		if _, err := next(r); err != io.EOF {
			t.Fatalf("sep %q: %v, want io.EOF", sep, err)
		}
		st := r.Stats()
		if st.Messages != 4 || st.Records != 2 || st.Malformed != 1 || st.NotFlow != 1 || st.Bytes != int64(len(data)) || st.Separator != sep {
			t.Errorf("sep %q: Stats %+v", sep, st)
		}
	}
}

func TestReaderFraming(t *testing.T) {
	good := flowMsg().delim()
	tests := []struct {
		name    string
		data    []byte
		opts    []goflowpb.Option
		records int    // read before the error
		kind    error  // the error's Kind
		off     int64  // its offset
		eof     bool   // wraps io.ErrUnexpectedEOF
		text    string // in its message
	}{
		{"stream ends in a prefix", append(stream("", good), 0x80), nil, 1, goflowpb.ErrFraming, int64(len(good)), true, "inside a length prefix"},
		{"stream ends in a message", append(stream("\n", good), good[:20]...), nil, 1, goflowpb.ErrFraming, int64(len(good) + 1), true, "after 19 of the message's"},
		{"overlong prefix", stream("", good, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}), nil, 1, goflowpb.ErrFraming, int64(len(good)), false, "overlong"},
		{"too large", stream("", good, good), []goflowpb.Option{goflowpb.WithMaxMessageSize(len(good) - 2)}, 0, goflowpb.ErrTooLarge, 0, false, "exceeds"},
		{"missing separator", stream("", good, good, good), []goflowpb.Option{goflowpb.WithSeparator("\r\n")}, 1, goflowpb.ErrFraming, int64(len(good)), false, `expected the separator "\r\n" after message 0`},
		{"separator lost after detection", append(stream("\n", good), stream("", good, good)...), nil, 2, goflowpb.ErrFraming, int64(2*len(good) + 1), false, "expected the separator"},
		{"partial separator at the end", append(append([]byte(nil), good...), '\r'), []goflowpb.Option{goflowpb.WithSeparator("\r\n")}, 1, goflowpb.ErrFraming, int64(len(good)), false, `found "\r"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := goflowpb.NewReader(bytes.NewReader(tt.data), tt.opts...)
			for i := 0; i < tt.records; i++ {
				if _, err := next(r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			rec, err := next(r)
			var e *goflowpb.Error
			if !errors.As(err, &e) || !errors.Is(err, tt.kind) || e.Offset != tt.off || errors.Is(err, io.ErrUnexpectedEOF) != tt.eof {
				t.Fatalf("error %v, want %v at offset %d (unexpected EOF %v)", err, tt.kind, tt.off, tt.eof)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q, want %q in it", err, tt.text)
			}
			if rec != (flowsrc.Record{}) {
				t.Errorf("record not zeroed: %+v", rec)
			}
			if _, err2 := next(r); err2 != err {
				t.Errorf("second call: %v, want the same error", err2)
			}
		})
	}
}

func TestReaderCleanEnds(t *testing.T) {
	good := flowMsg().delim()
	tests := []struct {
		name string
		data []byte
		opts []goflowpb.Option
		n    int
	}{
		{"empty", nil, nil, 0},
		{"one message, no separator", good, nil, 1},
		{"one message and its separator", stream("\n", good), nil, 1},
		{"last separator missing", stream("\n", good, good)[:2*len(good)+1], nil, 2},
		{"explicit separator", stream("--", good, good), []goflowpb.Option{goflowpb.WithSeparator("--")}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte at a time, to cross every boundary of the buffer.
			r := goflowpb.NewReader(iotest.OneByteReader(bytes.NewReader(tt.data)), tt.opts...)
			for i := 0; i < tt.n; i++ {
				if _, err := next(r); err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
			}
			if _, err := next(r); err != io.EOF {
				t.Fatalf("%v, want io.EOF", err)
			}
		})
	}
}

func TestReaderLargeMessage(t *testing.T) {
	// A message larger than the 64 KiB read buffer (a long custom field).
	big := flowMsg().bytes(998, bytes.Repeat([]byte("x"), 200_000)).delim()
	good := flowMsg().delim()
	r := goflowpb.NewReader(iotest.HalfReader(bytes.NewReader(stream("\n", good, big, good))))
	for i := 0; i < 3; i++ {
		rec, err := next(r)
		if err != nil || rec.BytesToServer != 15000 {
			t.Fatalf("record %d: %v %+v", i, err, rec)
		}
	}
	if _, err := next(r); err != io.EOF {
		t.Fatalf("%v, want io.EOF", err)
	}

	// Cut short: the error says how much arrived.
	r = goflowpb.NewReader(bytes.NewReader(big[:100_000]))
	_, err := next(r)
	if !errors.Is(err, goflowpb.ErrFraming) || !errors.Is(err, io.ErrUnexpectedEOF) || !strings.Contains(err.Error(), "after 99997 of the message's 200") {
		t.Fatalf("error %v", err)
	}
	if r.Offset() != 100_000 {
		t.Errorf("Offset %d, want 100000", r.Offset())
	}
}

func TestReaderIOError(t *testing.T) {
	boom := errors.New("disk on fire")
	r := goflowpb.NewReader(io.MultiReader(bytes.NewReader(flowMsg().delim()), iotest.ErrReader(boom)))
	if _, err := next(r); err != nil {
		t.Fatal(err)
	}
	_, err := next(r)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "goflowpb: read at offset") {
		t.Fatalf("error %v, want the reader's error wrapped", err)
	}
	if _, err2 := next(r); err2 != err {
		t.Errorf("second call %v, want the same error", err2)
	}
}
