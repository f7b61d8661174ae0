package flowsrc

import (
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/exfilscore/exfilscore/internal/communityid"
)

// AppendJSON appends r as one JSON object (no newline) in the field names
// of the collector's -dump-flows output and SPEC §2: start, end, src_ip,
// src_port, dest_ip, dest_port, proto, app_proto, bytes_toserver,
// bytes_toclient, pkts_toserver, pkts_toclient, exporter,
// observation_domain, sampling_rate, tcp_flags, initiator, icmp_type and
// icmp_code (ICMP only), the sensor's names and identifiers when known
// (sni, http_host, http_method, http_content_type, user_agent, dns_name,
// ja3, ja4, flow_id, byte_count_source), community_id computed with the
// given seed, and sensor_community_id when the sensor logged one that
// differs from ours. Times are RFC 3339 UTC with nanoseconds.
func (r *Record) AppendJSON(b []byte, communityIDSeed uint16) []byte {
	b = append(b, `{"start":`...)
	b = appendTime(b, r.Start)
	b = append(b, `,"end":`...)
	b = appendTime(b, r.End)
	b = append(b, `,"src_ip":"`...)
	b = r.Src.AppendTo(b)
	b = append(b, `","src_port":`...)
	b = strconv.AppendUint(b, uint64(r.SrcPort), 10)
	b = append(b, `,"dest_ip":"`...)
	b = r.Dst.AppendTo(b)
	b = append(b, `","dest_port":`...)
	b = strconv.AppendUint(b, uint64(r.DstPort), 10)
	b = append(b, `,"proto":`...)
	b = strconv.AppendUint(b, uint64(r.Proto), 10)
	if r.HasICMP {
		b = append(b, `,"icmp_type":`...)
		b = strconv.AppendUint(b, uint64(r.ICMPType), 10)
		b = append(b, `,"icmp_code":`...)
		b = strconv.AppendUint(b, uint64(r.ICMPCode), 10)
	}
	b = append(b, `,"app_proto":`...)
	b = strconv.AppendQuote(b, r.AppProto)
	b = append(b, `,"bytes_toserver":`...)
	b = strconv.AppendUint(b, r.BytesToServer, 10)
	b = append(b, `,"bytes_toclient":`...)
	b = strconv.AppendUint(b, r.BytesToClient, 10)
	b = append(b, `,"pkts_toserver":`...)
	b = strconv.AppendUint(b, r.PktsToServer, 10)
	b = append(b, `,"pkts_toclient":`...)
	b = strconv.AppendUint(b, r.PktsToClient, 10)
	b = append(b, `,"exporter":"`...)
	if r.Exporter.IsValid() {
		b = r.Exporter.AppendTo(b)
	}
	b = append(b, `","observation_domain":`...)
	b = strconv.AppendUint(b, uint64(r.ObservationDomain), 10)
	b = append(b, `,"sampling_rate":`...)
	b = strconv.AppendUint(b, uint64(r.SamplingRate), 10)
	b = append(b, `,"tcp_flags":`...)
	b = strconv.AppendUint(b, uint64(r.TCPFlags), 10)
	b = append(b, `,"initiator":"`...)
	b = append(b, r.Initiator.String()...)
	b = append(b, '"')
	for _, f := range [...]struct{ k, v string }{
		{"sni", r.SNI}, {"http_host", r.HTTPHost}, {"http_method", r.HTTPMethod},
		{"http_content_type", r.HTTPContentType}, {"user_agent", r.UserAgent},
		{"dns_name", r.DNSName}, {"ja3", r.JA3}, {"ja4", r.JA4},
		{"flow_id", r.SensorFlowID}, {"byte_count_source", r.ByteCountSource},
	} {
		if f.v != "" {
			b = append(b, `,"`...)
			b = append(b, f.k...)
			b = append(b, `":`...)
			b = strconv.AppendQuote(b, f.v)
		}
	}
	b = append(b, `,"community_id":"`...)
	at := len(b)
	b = communityid.New(communityIDSeed).AppendBase64(b, r.communityFlow())
	ours := b[at:]
	b = append(b, '"')
	if r.SensorCommunityID != "" && r.SensorCommunityID != string(ours) {
		b = append(b, `,"sensor_community_id":`...)
		b = strconv.AppendQuote(b, r.SensorCommunityID)
	}
	return append(b, '}')
}

// communityFlow is the Community ID tuple of r: ICMP type and code stand in
// for the ports.
func (r *Record) communityFlow() communityid.Flow {
	f := communityid.Flow{Src: r.Src, Dst: r.Dst, Proto: r.Proto, SrcPort: r.SrcPort, DstPort: r.DstPort}
	if r.HasICMP {
		f.SrcPort, f.DstPort = uint16(r.ICMPType), uint16(r.ICMPCode)
	}
	return f
}

// CommunityID returns r's Community ID v1 (base64 form) with the given
// seed, or "" when r has no valid addresses.
func (r *Record) CommunityID(seed uint16) string {
	return communityid.New(seed).String(r.communityFlow())
}

func appendTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// RecordWriter writes records as JSON lines (the collector's -dump-flows).
// Safe for concurrent use.
type RecordWriter struct {
	mu   sync.Mutex
	w    io.Writer
	seed uint16
	buf  []byte
	n    uint64
	err  error
}

// NewRecordWriter returns a writer to w using the Community ID seed.
func NewRecordWriter(w io.Writer, communityIDSeed uint16) *RecordWriter {
	return &RecordWriter{w: w, seed: communityIDSeed}
}

// Write writes r as one line. After the first error every later record is
// dropped and the error returned again.
func (rw *RecordWriter) Write(r *Record) error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil {
		return rw.err
	}
	rw.buf = append(r.AppendJSON(rw.buf[:0], rw.seed), '\n')
	if _, err := rw.w.Write(rw.buf); err != nil {
		rw.err = err
		return err
	}
	rw.n++
	return nil
}

// Count returns the number of records written.
func (rw *RecordWriter) Count() uint64 {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.n
}

// Err returns the first write error.
func (rw *RecordWriter) Err() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return rw.err
}
