package goflowpb_test

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/goflowpb"
)

// FuzzReader feeds arbitrary streams to the Reader (with detection and
// with each separator), to Decode and DecodeBare, and to Sniff. Nothing
// may panic; every record returned is valid; every error is an *Error (or
// io.EOF); a sticky error stays; the counters add up; Sniff never accepts
// a complete message that Decode rejects as malformed.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"flows-nl.bin", "flows-nosep.bin", "flows-mapped.bin", "edge.bin"} {
		f.Add(readGolden(f, name))
	}
	good := flowMsg().delim()
	f.Add(good)
	f.Add(stream("\n", good, flowMsg().bytes(fSrcAddr, []byte{1}).delim(), good))
	f.Add(append(good, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f))
	f.Add(msg(nil).varint(2, 1).varint(38, 1e9).delim())
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, opts := range [][]goflowpb.Option{nil, {goflowpb.WithSeparator("")}, {goflowpb.WithSeparator("\n")}, {goflowpb.WithMaxMessageSize(64)}} {
			r := goflowpb.NewReader(bytes.NewReader(data), opts...)
			var sticky error
			for i := 0; i < len(data)+2; i++ {
				var rec flowsrc.Record
				err := r.Next(&rec)
				if err == nil {
					if !rec.IsValid() || rec.Start.After(rec.End) || rec.SamplingRate == 0 {
						t.Fatalf("invalid record %+v", rec)
					}
					continue
				}
				if err == io.EOF {
					sticky = err
					break
				}
				var e *goflowpb.Error
				if !errors.As(err, &e) {
					t.Fatalf("error %v (%T) is not an *Error", err, err)
				}
				if e.Offset < 0 || e.Offset > int64(len(data)) {
					t.Fatalf("error offset %d outside the %d-byte stream", e.Offset, len(data))
				}
				if rec != (flowsrc.Record{}) {
					t.Fatalf("record not zeroed on error")
				}
				if !errors.Is(err, goflowpb.ErrMalformed) {
					sticky = err
					break
				}
			}
			if sticky != nil {
				var rec flowsrc.Record
				if err := r.Next(&rec); err != sticky {
					t.Fatalf("after %v, Next returned %v", sticky, err)
				}
			}
			st := r.Stats()
			if st.Messages != st.Records+st.NotFlow+st.Malformed || st.Bytes > int64(len(data)) {
				t.Fatalf("inconsistent stats %+v for %d bytes", st, len(data))
			}
		}

		var rec flowsrc.Record
		errD := goflowpb.Decode(data, &rec)
		if errD == nil && !rec.IsValid() {
			t.Fatalf("Decode: invalid record %+v", rec)
		}
		if goflowpb.Sniff(data) && errors.Is(errD, goflowpb.ErrMalformed) {
			t.Fatalf("Sniff accepted a message Decode rejects: %v", errD)
		}
		if err := goflowpb.DecodeBare(data, &rec); err == nil && !rec.IsValid() {
			t.Fatalf("DecodeBare: invalid record %+v", rec)
		}
	})
}
