package suricata

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/exfilscore/exfilscore/flowsrc"
)

func readAll(t *testing.T, r *Reader) ([]flowsrc.Record, error) {
	t.Helper()
	var out []flowsrc.Record
	for {
		var rec flowsrc.Record
		err := r.Next(&rec)
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestReader(t *testing.T) {
	var in bytes.Buffer
	in.Write(genTLS(1))
	in.WriteString("\r\n\n")
	in.Write(genNetflow(1))
	in.WriteString("\n")
	in.Write(genFlow(1, "tls"))
	in.WriteString("\r\n")
	in.WriteString(`{"event_type":"flow","broken` + "\n")
	in.Write(genFlow(2, "http")) // last line without a newline
	recs, err := readAll(t, NewReader(iotest.OneByteReader(&in)))
	if err != io.EOF {
		t.Fatalf("err %v", err)
	}
	if len(recs) != 2 || recs[0].SNI != "host1.example.com" || recs[1].AppProto != "http" {
		t.Fatalf("records %+v", recs)
	}
}

func TestReaderLineNumbersAndStats(t *testing.T) {
	lines := []string{string(genFlow(1, "tls")), "{bad", "", string(genNetflow(1)), `{"event_type":"flow"}`, string(genFlow(2, "tls"))}
	r := NewReader(strings.NewReader(strings.Join(lines, "\n") + "\n"))
	recs, err := readAll(t, r)
	if err != io.EOF || len(recs) != 2 {
		t.Fatalf("%d records, err %v", len(recs), err)
	}
	st := r.Stats()
	if st.Lines != 6 || st.Records != 2 || st.Blank != 1 || st.Malformed != 2 || st.Skipped["netflow"] != 1 {
		t.Errorf("stats %+v", st)
	}
	if len(st.MalformedLines) != 2 || st.MalformedLines[0].Line != 2 || st.MalformedLines[1].Line != 5 ||
		st.MalformedLines[1].Field != "src_ip" {
		t.Errorf("malformed %+v", st.MalformedLines)
	}
	if r.Parser().Stats().Lines != 6 {
		t.Error("Parser() is not the reader's parser")
	}
}

func TestReaderLongLines(t *testing.T) {
	long := `{"event_type":"alert","payload":"` + strings.Repeat("A", 300<<10) + `"}`
	for _, max := range []int{1 << 10, 1 << 20} {
		in := strings.Join([]string{string(genFlow(1, "tls")), long, string(genFlow(2, "tls")), long}, "\n")
		r := NewReader(strings.NewReader(in), WithMaxLineSize(max))
		recs, err := readAll(t, r)
		if err != io.EOF || len(recs) != 2 {
			t.Fatalf("max %d: %d records, err %v", max, len(recs), err)
		}
		st := r.Stats()
		if max < len(long) {
			if st.Malformed != 2 || st.MalformedLines[0].Line != 2 || st.MalformedLines[0].Reason != ReasonTooLong ||
				st.MalformedLines[1].Line != 4 || st.MalformedLines[0].Value != "307235" || st.MalformedLines[0].EventType != "" {
				t.Errorf("max %d: stats %+v", max, st)
			}
		} else if st.Malformed != 0 || st.Skipped["alert"] != 2 {
			t.Errorf("max %d: stats %+v", max, st)
		}
		if st.Lines != 4 {
			t.Errorf("max %d: %d lines", max, st.Lines)
		}
	}
	// A line exactly at the limit is accepted; one byte more is not.
	line := genFlow(1, "tls")
	for _, c := range []struct {
		max  int
		recs int
	}{{len(line), 1}, {len(line) - 1, 0}} {
		r := NewReader(bytes.NewReader(append(append([]byte(nil), line...), '\n')), WithMaxLineSize(c.max))
		if recs, _ := readAll(t, r); len(recs) != c.recs {
			t.Errorf("max %d: %d records", c.max, len(recs))
		}
	}
}

func TestReaderError(t *testing.T) {
	boom := errors.New("boom")
	r := NewReader(io.MultiReader(bytes.NewReader(append(genFlow(1, "tls"), '\n')), iotest.ErrReader(boom)))
	recs, err := readAll(t, r)
	if len(recs) != 1 || !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "suricata: read line 2: ") {
		t.Fatalf("%d records, err %v", len(recs), err)
	}
	var rec flowsrc.Record
	if err2 := r.Next(&rec); !errors.Is(err2, boom) {
		t.Errorf("second call: %v", err2)
	}
	if recs, err := readAll(t, NewReader(strings.NewReader(""))); len(recs) != 0 || err != io.EOF {
		t.Errorf("empty input: %d records, %v", len(recs), err)
	}
}

// Lines around the size of the read buffer, with and without a final
// newline, are read whole.
func TestReaderBufferBoundaries(t *testing.T) {
	for _, size := range []int{readBufferSize - 1, readBufferSize, readBufferSize + 1, 2*readBufferSize + 3} {
		for _, nl := range []string{"", "\n", "\r\n"} {
			pad := size - len(`{"event_type":"alert","p":""}`)
			line := `{"event_type":"alert","p":"` + strings.Repeat("x", pad) + `"}`
			sep := nl
			if sep == "" {
				sep = "\n"
			}
			r := NewReader(strings.NewReader(line + sep + string(genFlow(1, "tls")) + nl))
			recs, err := readAll(t, r)
			st := r.Stats()
			if err != io.EOF || len(recs) != 1 || st.Lines != 2 || st.Skipped["alert"] != 1 || st.Malformed != 0 {
				t.Errorf("size %d %q: %d records, err %v, stats %+v", size, nl, len(recs), err, st)
			}
			// Alone, without anything after it.
			r = NewReader(strings.NewReader(line + nl))
			if _, err := readAll(t, r); err != io.EOF || r.Stats().Skipped["alert"] != 1 || r.Stats().Lines != 1 {
				t.Errorf("size %d %q alone: err %v, stats %+v", size, nl, err, r.Stats())
			}
		}
	}
}
