package suricata

import (
	"slices"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
)

// checkLine parses line with a fresh Parser and compares the outcome with
// the reference decoder.
func checkLine(t *testing.T, line []byte) {
	t.Helper()
	ref := refLine(line)
	p := NewParser()
	var got []flowsrc.Record
	err := p.Line(line, 7, func(r *flowsrc.Record) { got = append(got, *r) })
	st := p.Stats()
	if st.Lines != 1 {
		t.Fatalf("Lines = %d", st.Lines)
	}
	// Every line is counted exactly once.
	sum := st.Blank + st.Malformed + st.Records + st.TLS + st.HTTP + st.DNS
	for _, n := range st.Skipped {
		sum += n
	}
	if sum != 1 {
		t.Fatalf("line %q counted %d times: %+v", line, sum, st)
	}
	if (err != nil) != (ref.kind == "malformed") || (st.Malformed == 1) != (err != nil) {
		t.Fatalf("line %q: reference says %s (%s), parser err %v", line, ref.kind, ref.why, err)
	}
	if err != nil {
		le, ok := err.(*LineError)
		if !ok || le.Line != 7 || len(st.MalformedLines) != 1 || le.Error() == "" {
			t.Fatalf("error %#v, stats %+v", err, st)
		}
		return
	}
	if (len(got) == 1) != (ref.kind == "flow") || len(got) > 1 {
		t.Fatalf("line %q: reference %s, %d records", line, ref.kind, len(got))
	}
	switch ref.kind {
	case "blank":
		if st.Blank != 1 {
			t.Fatalf("blank not counted: %+v", st)
		}
	case "flow":
		g := got[0]
		if !g.Start.Equal(ref.rec.Start) || !g.End.Equal(ref.rec.End) || g.Start.Location() != ref.rec.Start.Location() {
			t.Fatalf("line %q: times %v %v, reference %v %v", line, g.Start, g.End, ref.rec.Start, ref.rec.End)
		}
		g.Start, g.End = ref.rec.Start, ref.rec.End
		if g != ref.rec {
			t.Fatalf("line %q:\n got %+v\nwant %+v", line, g, ref.rec)
		}
		if st.Records != 1 {
			t.Fatalf("Records = %d", st.Records)
		}
	case "tls", "http":
		n := map[string]uint64{"tls": st.TLS, "http": st.HTTP}[ref.kind]
		if n != 1 {
			t.Fatalf("line %q: %s not counted: %+v", line, ref.kind, st)
		}
		checkPending(t, p, line, ref)
	case "dns":
		if st.DNS != 1 {
			t.Fatalf("line %q: dns not counted: %+v", line, st)
		}
		checkPending(t, p, line, ref)
		checkObs(t, p.PDNS(), line, ref)
		if int(st.DNSNoName) != ref.noName {
			t.Fatalf("line %q: DNSNoName %d, reference %d", line, st.DNSNoName, ref.noName)
		}
	case "other":
		if st.Skipped[ref.eventType] != 1 && st.Skipped[OtherEventTypes] != 1 {
			t.Fatalf("line %q: %q not counted: %+v", line, ref.eventType, st.Skipped)
		}
	}
}

func checkPending(t *testing.T, p *Parser, line []byte, ref refResult) {
	t.Helper()
	want := ref.names
	if !ref.hasFlowID || want == (names{}) {
		if len(p.pending.m) != 0 {
			t.Fatalf("line %q: pending %v", line, p.pending.m)
		}
		return
	}
	e, ok := p.pending.m[ref.flowID]
	if !ok || e.names != want {
		t.Fatalf("line %q: pending %+v, want %+v", line, e.names, want)
	}
}

func checkObs(t *testing.T, m *pdns.Map, line []byte, ref refResult) {
	t.Helper()
	per := map[[16]byte]int{}
	for _, o := range ref.obs {
		per[o.addr.As16()]++
	}
	for _, o := range ref.obs {
		name := pdns.Normalize(o.name)
		if name == "" || per[o.addr.As16()] > pdns.MaxNames {
			continue
		}
		if !slices.Contains(m.Names(o.addr), name) {
			t.Fatalf("line %q: pdns has %v for %v, want %q among them", line, m.Names(o.addr), o.addr, name)
		}
	}
	if len(ref.obs) == 0 && m.Len() != 0 {
		t.Fatalf("line %q: pdns learned %d addresses, reference none", line, m.Len())
	}
}

func fuzzSeeds() [][]byte {
	seeds := [][]byte{
		genFlow(1, "tls"), genNetflow(2), genTLS(3), genHTTP(4), genDNSAnswer(5, 6), genOther(7), genOther(8),
		[]byte(`{"event_type":"flow","src_ip":"fe80:0000:0000:0000:0200:86ff:fe05:80da","dest_ip":"ff02::2","proto":"IPv6-ICMP","icmp_type":133,"icmp_code":0,"flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":62,"bytes_toclient":0,"start":"2017-07-14T02:41:04.432799+0000","end":"2017-07-14T02:41:04.432799+0000"}}`),
		[]byte(`{"event_type":"flow","src_ip":"10.0.0.1","dest_ip":"10.0.0.2","proto":"047","flow":{"pkts_toserver":1,"pkts_toclient":0,"bytes_toserver":62,"bytes_toclient":0,"start":"2017-07-14T02:41:04Z","end":"2017-07-14T04:41:04.5+02:00"},"tcp":{"tcp_flags":"00"}}`),
		[]byte(`{"event_type":"dns","flow_id":9,"dns":{"type":"answer","id":1,"rrname":"a.example","rrtype":"A","ttl":5,"rdata":"192.0.2.1"}}`),
		[]byte(`{"event_type":"dns","flow_id":9,"dns":{"version":3,"type":"response","queries":[{"rrname":"Q.Example.","rrtype":"AAAA"}],"answers":[{"rrname":"c.example","rrtype":"CNAME","rdata":"d.example"},{"rrname":"d.example","rrtype":"AAAA","rdata":"2001:db8::1"}],"grouped":{"AAAA":["2001:db8::1"],"CNAME":["d.example"]}}}`),
		[]byte(`{"event_type":"dns","dns":{"version":2,"type":"answer","rrname":"g.example","grouped":{"A":["192.0.2.7","192.0.2.8"],"SOA":[{"mname":"x"}]}}}`),
		[]byte(`{"event_type":"fl\u006fw","src_ip":"1.2.3.4"}`),
		[]byte(`{"event_type":"tls","flow_id":1,"tls":{"sni":"caf\u00e9.example","ja3":null,"ja4":"t13"}}`),
		[]byte("  \r\n"), []byte(`[]`), []byte(`null`), []byte(`{"event_type":5}`), []byte(`{"a":[[[{}]]],"event_type":"x"}`),
		[]byte(`{"event_type":"flow"` + "\xff" + `}`), []byte(`{"event_type":"flow"} x`),
	}
	return seeds
}

// FuzzParseLine checks that the parser never panics and agrees with the
// encoding/json reference decoder on every line: which lines are
// malformed, the flow records, the names kept for joins and the DNS
// answers learned.
func FuzzParseLine(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		checkLine(t, line)
		_ = Sniff(line)
		checkTime(t, line)
	})
}
