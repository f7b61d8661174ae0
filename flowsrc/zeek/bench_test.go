package zeek_test

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/exfilscore/exfilscore/flowsrc/zeek"
)

// benchConns generates n distinct conn.log entries (TSV cells), like a
// busy sensor's: mostly TCP with a service, some UDP DNS, a few IPv6.
func benchConns(n int) []map[string]string {
	rows := make([]map[string]string, n)
	services := []string{"ssl", "http", "dns", "-", "ssl,http", "ssh"}
	for i := range rows {
		t := ts0.Add(time.Duration(i) * 1537 * time.Microsecond)
		orig, resp := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), fmt.Sprintf("198.51.%d.%d", i>>8&255, i&255)
		if i%10 == 9 {
			orig, resp = fmt.Sprintf("2001:db8:%x::%x", i>>8, i&255), fmt.Sprintf("2001:db8:ffff::%x", i)
		}
		proto, svc := "tcp", services[i%len(services)]
		if svc == "dns" {
			proto = "udp"
		}
		rows[i] = map[string]string{
			"ts": epoch(t), "uid": fmt.Sprintf("C%017d", i), "id.orig_h": orig, "id.orig_p": fmt.Sprint(1024 + i%60000),
			"id.resp_h": resp, "id.resp_p": fmt.Sprint([]int{443, 80, 53, 8080, 443, 22}[i%6]), "proto": proto, "service": svc,
			"duration": fmt.Sprintf("%d.%06d", i%100, i*7919%1000000), "orig_bytes": fmt.Sprint(i * 31 % 100000),
			"resp_bytes": fmt.Sprint(i * 977 % 10000000), "conn_state": "SF", "local_orig": "T", "local_resp": "F",
			"missed_bytes": "0", "history": "ShADadFf", "orig_pkts": fmt.Sprint(i%50 + 1), "orig_ip_bytes": fmt.Sprint(i*31%100000 + 40*(i%50+1)),
			"resp_pkts": fmt.Sprint(i%70 + 1), "resp_ip_bytes": fmt.Sprint(i*977%10000000 + 40*(i%70+1)), "tunnel_parents": "(empty)",
		}
	}
	return rows
}

func benchLines(b *testing.B, form string, n int) (header string, lines [][]byte) {
	fields := append(append([]string(nil), connFields...), "ip_proto")
	for _, row := range benchConns(n) {
		row["ip_proto"] = map[string]string{"tcp": "6", "udp": "17"}[row["proto"]]
		var s string
		switch form {
		case "tsv":
			s = tsvRow(fields, row)
		case "json":
			s = jsonRow(b, asJSON(row))
		case "json-iso":
			m := asJSON(row)
			var t float64
			fmt.Sscan(row["ts"], &t)
			m["ts"] = time.Unix(0, int64(t*1e6)*1e3).UTC().Format("2006-01-02T15:04:05.000000Z")
			s = jsonRow(b, m)
		}
		lines = append(lines, []byte(s))
	}
	if form == "tsv" {
		header = tsvHeader("conn", fields)
	}
	return header, lines
}

// BenchmarkParser measures Parser.Line on generated conn.log lines: the
// per-line cost of a follower (no I/O).
func BenchmarkParser(b *testing.B) {
	for _, form := range []string{"tsv", "json", "json-iso"} {
		for _, joined := range []bool{false, true} {
			name := form
			if joined {
				name += "/joiner+pdns"
			}
			b.Run(name, func(b *testing.B) {
				header, lines := benchLines(b, form, 4096)
				var opts []zeek.Option
				if joined {
					// Every destination resolved in the passive-DNS map,
					// and an ssl.log entry (JSON) before every fourth
					// connection, taken by its conn line.
					m := pdns.New(0)
					var mixed [][]byte
					for i, row := range benchConns(len(lines)) {
						m.Observe(fmt.Sprintf("host%d.example.com", i), netip.MustParseAddr(row["id.resp_h"]))
						if i%4 == 0 {
							mixed = append(mixed, []byte(jsonRow(b, map[string]any{"ts": 1.5, "uid": row["uid"], "_path": "ssl",
								"id.orig_h": row["id.orig_h"], "id.orig_p": 1, "id.resp_h": row["id.resp_h"], "id.resp_p": 443,
								"server_name": fmt.Sprintf("sni%d.example.com", i), "ja3": "e7d705a3286e19ea42f587b344ee6865"})))
						}
						mixed = append(mixed, lines[i])
					}
					lines = mixed
					opts = append(opts, zeek.WithPDNS(m))
				}
				p := zeek.NewParser(opts...)
				for _, h := range strings.SplitAfter(header, "\n") {
					if h != "" {
						p.Line([]byte(h), 0, nil)
					}
				}
				n := 0
				emit := func(*flowsrc.Record) { n++ }
				var size int64
				for _, l := range lines {
					size += int64(len(l))
				}
				b.SetBytes(size / int64(len(lines)))
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					p.Line(lines[i], int64(i), emit)
					i++
					if i == len(lines) {
						i = 0
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lines/s")
				if st := p.Stats(); st.Malformed != 0 || n == 0 && b.N > 8 {
					b.Fatalf("%+v", st)
				}
			})
		}
	}
}

// BenchmarkReader measures a Reader over a generated conn.log held in
// memory (line splitting included).
func BenchmarkReader(b *testing.B) {
	for _, form := range []string{"tsv", "json"} {
		b.Run(form, func(b *testing.B) {
			header, lines := benchLines(b, form, 8192)
			data := append([]byte(header), bytes.Join(lines, nil)...)
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				r := zeek.NewReader(bytes.NewReader(data))
				if err := r.Run(nil); err != nil {
					b.Fatal(err)
				}
				if st := r.Stats(); st.Records != uint64(len(lines)) {
					b.Fatalf("%+v", st)
				}
			}
			b.ReportMetric(float64(b.N*len(lines))/b.Elapsed().Seconds(), "lines/s")
		})
	}
}
