package zeek_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/exfilscore/exfilscore/flowsrc/zeek"
)

func gz(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func readAll(t *testing.T, r *zeek.Reader) []flowsrc.Record {
	t.Helper()
	var recs []flowsrc.Record
	for {
		var rec flowsrc.Record
		err := r.Next(&rec)
		if err == io.EOF {
			return recs
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
}

func TestReader(t *testing.T) {
	_, _, _, mixed := appLogs(t)
	connTSV, connJSON := connLines(t)
	text := mixed + connTSV + connJSON
	want, _ := parse(text)
	if len(want) != 12 {
		t.Fatalf("%d records from parse", len(want))
	}
	for name, in := range map[string][]byte{
		"plain":      []byte(text),
		"crlf":       []byte(strings.ReplaceAll(text, "\n", "\r\n")),
		"no newline": []byte(strings.TrimSuffix(text, "\n")),
		"gzip":       gz(t, text),
	} {
		for _, rd := range []io.Reader{bytes.NewReader(in), iotest.OneByteReader(bytes.NewReader(in))} {
			r := zeek.NewReader(rd)
			got := readAll(t, r)
			if d := diff(want, got); d != "" {
				t.Errorf("%s (-want +got):\n%s", name, d)
			}
			st := r.Stats()
			if st.Records != 12 || st.Malformed != 0 || st.Joined != 4 {
				t.Errorf("%s: %+v", name, st)
			}
			checkSum(t, st)
			if err := r.Next(new(flowsrc.Record)); err != io.EOF {
				t.Errorf("%s: Next after the end: %v", name, err)
			}
		}
	}

	j := zeek.NewJoiner(0)
	if r := zeek.NewReader(strings.NewReader(""), zeek.WithJoiner(j)); r.Parser().Joiner() != j {
		t.Error("Reader's parser does not use the given Joiner")
	}

	// Run gives the same records.
	var got []flowsrc.Record
	r := zeek.NewReader(strings.NewReader(text))
	if err := r.Run(func(rec *flowsrc.Record) { got = append(got, *rec) }); err != nil {
		t.Fatal(err)
	}
	if d := diff(want, got); d != "" {
		t.Errorf("Run (-want +got):\n%s", d)
	}

	// A read error ends the stream with the error, after the records
	// before it.
	boom := errors.New("boom")
	r = zeek.NewReader(io.MultiReader(strings.NewReader(connTSV), iotest.ErrReader(boom)))
	n := 0
	err := r.Run(func(*flowsrc.Record) { n++ })
	if !errors.Is(err, boom) || n != 6 {
		t.Errorf("read error: %v after %d records", err, n)
	}
	// A broken gzip stream too.
	broken := gz(t, text)
	r = zeek.NewReader(bytes.NewReader(broken[:len(broken)/2]))
	if err := r.Run(nil); err == nil {
		t.Error("truncated gzip: no error")
	}
}

func TestReaderLongLines(t *testing.T) {
	vals, _ := tcpConn()
	row := tsvRow(connFields, vals)
	long := strings.Repeat("x", 200<<10) + "\n" // over the 64 KiB buffer
	text := tsvHeader("conn", connFields) + row + long + row + strings.Repeat("y", 300) + "\n" + row + long[:1000]
	r := zeek.NewReader(strings.NewReader(text), zeek.WithMaxLineLength(256))
	got := readAll(t, r)
	st := r.Stats()
	if len(got) != 3 || st.Malformed != 3 {
		t.Fatalf("%d records, stats %+v", len(got), st)
	}
	checkSum(t, st)
	for i, line := range []int64{10, 12, 14} {
		if e := st.Errors[i]; !errors.Is(&e, zeek.ErrTooLong) || e.Line != line {
			t.Errorf("error %d: %v", i, &e)
		}
	}
	// Under the default limit the 200 KiB line is read (and is malformed
	// TSV), and the next line is still found.
	r = zeek.NewReader(strings.NewReader(text))
	got = readAll(t, r)
	if st := r.Stats(); len(got) != 3 || st.Malformed != 3 || errors.Is(&st.Errors[0], zeek.ErrTooLong) {
		t.Errorf("default limit: %d records, %+v", len(got), st.Errors)
	}
}

func TestReadFiles(t *testing.T) {
	_, httpTSV, dnsTSV, _ := appLogs(t)
	connTSV, _ := connLines(t)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// JSON ssl.log without _path, recognised by its keys.
	sslJSON := jsonRow(t, map[string]any{"ts": 1.5, "uid": "Cssl", "id.orig_h": "10.1.2.3", "id.orig_p": 51234,
		"id.resp_h": "198.51.100.7", "id.resp_p": 443, "server_name": "files.example.net", "cipher": "x",
		"ja3": "e7d705a3286e19ea42f587b344ee6865", "ja4": "t13d1516h2_8daaf6152771_02713d6af862"})
	files := []string{
		write("conn.log", []byte(connTSV+"1.0\tbroken\n")), // listed first, read last
		write("ssl.log", []byte(sslJSON)),
		write("http.log", []byte(httpTSV)),
		write("dns.00:00:00-01:00:00.log.gz", gz(t, dnsTSV)),
	}
	var got []flowsrc.Record
	st, err := zeek.ReadFiles(func(r *flowsrc.Record) { got = append(got, *r) }, files, zeek.WithPDNS(pdns.New(0)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(wantNames) {
		t.Fatalf("%d records", len(got))
	}
	for _, r := range got {
		if d := diff(wantNames[r.SensorFlowID], namesOf(r)); d != "" {
			t.Errorf("%s (-want +got):\n%s", r.SensorFlowID, d)
		}
	}
	if st.Records != 6 || st.SSL != 1 || st.HTTP != 2 || st.DNS != 2 || st.Malformed != 1 || st.Errors[0].File != files[0] || st.Errors[0].Line != 15 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(st.Errors[0].Error(), "conn.log line 15 (conn)") {
		t.Errorf("error text %q", st.Errors[0].Error())
	}
	checkSum(t, st)

	if _, err := zeek.ReadFiles(nil, append(files, filepath.Join(dir, "missing.log"))); err == nil {
		t.Error("missing file: no error")
	}
}

func TestSniff(t *testing.T) {
	vals, _ := tcpConn()
	conn := tsvHeader("conn", connFields) + tsvRow(connFields, vals)
	connJSON := jsonRow(t, asJSON(vals))
	sslTSV, _, dnsTSV, mixed := appLogs(t)
	cases := []struct {
		name   string
		in     []byte
		format string
	}{
		{"tsv conn", []byte(conn), zeek.FormatTSV},
		{"tsv conn, btest comment", []byte("### BTest\n" + conn), zeek.FormatTSV},
		{"tsv conn, header only", []byte(conn[:strings.Index(conn, "#fields")]), zeek.FormatTSV},
		{"gzip tsv conn", gz(t, conn), zeek.FormatTSV},
		{"json conn", []byte(connJSON), zeek.FormatJSON},
		{"json conn, cut", []byte(`{"ts":1517422326.539915,"uid":"CxHo3m4N8uGxrMlcl2","id.orig_h":"10.55.100.100","id.orig_p":618`), zeek.FormatJSON},
		{"json conn with _path", []byte(`{"_path":"conn","ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}`), zeek.FormatJSON},
		{"gzip json conn", gz(t, connJSON), zeek.FormatJSON},
		{"tsv ssl", []byte(sslTSV), ""},
		{"tsv dns", []byte(dnsTSV), ""},
		{"json ssl", []byte(mixed), ""},
		{"json dns _path", []byte(`{"_path":"dns","ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1"}`), ""},
		{"json files.log", []byte(`{"ts":1.0,"uid":"C1","id.orig_h":"10.0.0.1","fuid":"F1","mime_type":"text/plain"}` + "\n"), ""},
		{"tsv cut in #path", []byte("#separator \\x09\n#path\tco"), ""},
		{"suricata eve", []byte(`{"timestamp":"2024-05-06T07:08:09.000000+0000","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1"}`), ""},
		{"text", []byte("hello\n"), ""},
		{"empty", nil, ""},
		{"netflow", []byte{0, 9, 0, 1, 2, 3}, ""},
	}
	for _, c := range cases {
		format, ok := zeek.Sniff(c.in)
		if format != c.format || ok != (c.format != "") {
			t.Errorf("%s: Sniff = %q, %v; want %q", c.name, format, ok, c.format)
		}
	}
}
