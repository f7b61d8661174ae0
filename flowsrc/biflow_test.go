package flowsrc_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
	"github.com/exfilscore/exfilscore/flowsrc/pcap"
	"github.com/exfilscore/exfilscore/internal/thirdparty"
)

// IPFIX biflows (RFC 5103): one record carries both directions of a
// conversation, the Dst→Src counters in the reverse Information Elements
// (PEN 29305). The contract (issue 4):
//
//   - BytesToClient/PktsToClient are the reverse octet/packet counters
//     (reverse IE 1/2, else 85/86), scaled like the forward ones;
//   - Initiator follows biflowDirection (IE 239) when the record has it
//     (1 initiator: Src, 2 reverseInitiator: Dst; 0 arbitrary and
//     3 perimeter say nothing about who opened the conversation);
//   - a biflow record without IE 239 has Initiator = InitiatorSrc: the
//     forward direction's source is the initiator (RFC 5103 section 5.1,
//     direction by initiator, which YAF and ipfixprobe use);
//   - a uniflow record (no reverse IE) keeps NetFlow semantics: the
//     initiator is unknown unless IE 239 says it.

// biflowCaptures are the RFC 5103 captures of $EXFILSCORE_TESTDATA/netflow
// (see its README) and the number of biflow records tshark decodes in each.
var biflowCaptures = []struct {
	name    string
	biflows int
}{
	{"ak_ipfixprobe_biflow", 4}, // ipfixprobe: reverse octet/packetDeltaCount
	{"lsc_ipfix_yaf_biflow", 2}, // YAF: reverse octet/packetTotalCount
}

// TestBiflowConformance decodes the biflow captures and compares every
// record with tshark's decode: forward and reverse counters, and the
// initiator by the rule above.
func TestBiflowConformance(t *testing.T) {
	dir := thirdparty.Dir(t, "netflow")
	for _, c := range biflowCaptures {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range []flowsrc.DecodePath{flowsrc.PathFast, flowsrc.PathGoflow2} {
				t.Run(p.String(), func(t *testing.T) {
					biflowConform(t, dir, c.name, c.biflows, p)
				})
			}
		})
	}
}

func biflowConform(t *testing.T, dir, name string, wantBiflows int, path flowsrc.DecodePath) {
	rows := loadGroundTruth(t, dir, name)
	want := expectations(t, rows, packetHeaders(t, dir, name))
	extra := biflowGroundTruth(t, filepath.Join(dir, "groundtruth", name+".records.jsonl"))
	got := decodeCaptureFrames(t, filepath.Join(dir, "derived", name+".pcap"), flowsrc.NewDatagramDecoder(flowsrc.WithDecodePath(path)))

	if len(got) != len(want) {
		t.Errorf("decoded %d records, tshark %d", len(got), len(want))
	}
	byFrame := map[int][]flowsrc.Record{}
	for _, g := range got {
		byFrame[g.frame] = append(byFrame[g.frame], g.rec)
	}
	used := map[int][]bool{}
	biflows, reverseTraffic := 0, 0
	for i := range want {
		w := &want[i]
		g := byFrame[w.frame]
		if used[w.frame] == nil {
			used[w.frame] = make([]bool, len(g))
		}
		j := matchRecord(w, g, used[w.frame])
		if j < 0 {
			t.Errorf("frame %d %s: no decoded record %v:%d -> %v:%d proto %d", w.frame, w.label, w.src, w.srcPort, w.dst, w.dstPort, w.proto)
			continue
		}
		used[w.frame][j] = true
		r := &g[j]
		gt, ok := extra[frameRecord{w.frame, w.label}]
		if !ok {
			t.Fatalf("frame %d %s: not in the JSONL ground truth", w.frame, w.label)
		}
		at := fmt.Sprintf("frame %d %s %v:%d -> %v:%d", w.frame, w.label, w.src, w.srcPort, w.dst, w.dstPort)
		if gt.biflow {
			biflows++
		}
		if w.bytesRev > 0 {
			reverseTraffic++
		}
		if r.BytesToServer != w.bytes || r.PktsToServer != w.pkts {
			t.Errorf("%s: forward bytes/packets %d/%d, tshark %d/%d", at, r.BytesToServer, r.PktsToServer, w.bytes, w.pkts)
		}
		if r.BytesToClient != w.bytesRev || r.PktsToClient != w.pktsRev {
			t.Errorf("%s: reverse bytes/packets (BytesToClient/PktsToClient) %d/%d, tshark reverse octets/packets %d/%d",
				at, r.BytesToClient, r.PktsToClient, w.bytesRev, w.pktsRev)
		}
		if wi := gt.initiator(); r.Initiator != wi {
			t.Errorf("%s: Initiator %v, want %v (%s)", at, r.Initiator, wi, gt.why())
		}
	}
	if biflows != wantBiflows {
		t.Errorf("%d biflow records compared, the capture has %d", biflows, wantBiflows)
	}
	if reverseTraffic == 0 {
		t.Errorf("no record with reverse traffic: the reverse counters were not exercised")
	}
	t.Logf("%s: %d records, %d biflows, %d with reverse traffic", path, len(want), biflows, reverseTraffic)
}

// frameRecord names one tshark record: frame number and record label
// ("Flow 3").
type frameRecord struct {
	frame int
	label string
}

// gtBiflow is what tshark says about a record's direction.
type gtBiflow struct {
	biflow bool // the record has RFC 5103 reverse IEs (tshark: rev.* fields)
	hasDir bool // the record has biflowDirection (IE 239)
	dir    uint64
}

func (b gtBiflow) initiator() flowsrc.Initiator {
	if b.hasDir {
		switch b.dir {
		case 1:
			return flowsrc.InitiatorSrc
		case 2:
			return flowsrc.InitiatorDst
		}
		return flowsrc.InitiatorUnknown
	}
	if b.biflow {
		return flowsrc.InitiatorSrc
	}
	return flowsrc.InitiatorUnknown
}

func (b gtBiflow) why() string {
	switch {
	case b.hasDir:
		return "biflowDirection " + strconv.FormatUint(b.dir, 10)
	case b.biflow:
		return "RFC 5103 biflow without biflowDirection: the forward source is the initiator"
	}
	return "uniflow record without biflowDirection"
}

// biflowGroundTruth reads a records.jsonl file: per data record, whether
// tshark decoded reverse IEs and biflowDirection. A template that declares
// IE 239 whose records show no biflowDirection value fails the test, so
// that an unknown tshark field name cannot make the check vacuous.
func biflowGroundTruth(t *testing.T, path string) map[frameRecord]gtBiflow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type entry struct {
		Frame  string              `json:"frame"`
		Kind   string              `json:"kind"`
		Record string              `json:"record"`
		Fields map[string][]string `json:"fields"`
	}
	out := map[frameRecord]gtBiflow{}
	templates239 := 0
	dirs := 0
	dec := json.NewDecoder(f)
	for {
		var e entry
		if err := dec.Decode(&e); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if e.Kind == "template" {
			if slices.Contains(e.Fields["cflow.template_ipfix_field_type"], "239") {
				templates239++
			}
			continue
		}
		if e.Kind != "data" {
			continue
		}
		fr, err := strconv.Atoi(e.Frame)
		if err != nil {
			t.Fatalf("%s: frame %q", path, e.Frame)
		}
		var b gtBiflow
		for k, v := range e.Fields {
			if strings.HasPrefix(k, "rev.") {
				b.biflow = true
			}
			if k == "cflow.biflow_direction" && len(v) > 0 {
				b.hasDir, b.dir = true, atou(v[0])
				dirs++
			}
		}
		out[frameRecord{fr, e.Record}] = b
	}
	if templates239 > 0 && dirs == 0 {
		t.Fatalf("%s: %d templates declare biflowDirection (IE 239) but no record has cflow.biflow_direction: fix the field name", path, templates239)
	}
	return out
}

// decodeCaptureFrames decodes every UDP payload of a capture with d and
// returns the records with their frame numbers; decode errors fail t.
func decodeCaptureFrames(t *testing.T, path string, d *flowsrc.DatagramDecoder) []gotRecord {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcap.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var got []gotRecord
	for {
		p, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Proto != 17 || len(p.Payload) == 0 {
			continue
		}
		frame := int(p.Frame)
		if err := d.Decode(p.Src, p.Time, p.Payload, func(rec *flowsrc.Record) {
			got = append(got, gotRecord{frame: frame, rec: *rec})
		}); err != nil {
			t.Errorf("frame %d: %v", frame, err)
		}
	}
	return got
}

// TestBiflowInitiator holds the initiator rule on generated IPFIX records,
// on both decoding paths: biflowDirection when present, else InitiatorSrc
// for a biflow (any reverse counter), else unknown.
func TestBiflowInitiator(t *testing.T) {
	rev := func(typ, length uint16) flowtest.Field { return flowtest.Field{Type: typ, Length: length, PEN: 29305} }
	dir := flowtest.Field{Type: 239, Length: 1}
	revDelta := map[flowtest.FieldKey][]byte{{Type: 1, PEN: 29305}: flowtest.BigEndian(6207, 4), {Type: 2, PEN: 29305}: flowtest.BigEndian(9, 4)}
	revTotal := map[flowtest.FieldKey][]byte{{Type: 85, PEN: 29305}: flowtest.BigEndian(200, 8), {Type: 86, PEN: 29305}: flowtest.BigEndian(2, 8)}
	with := func(m map[flowtest.FieldKey][]byte, k flowtest.FieldKey, v []byte) map[flowtest.FieldKey][]byte {
		out := map[flowtest.FieldKey][]byte{k: v}
		for kk, vv := range m {
			out[kk] = vv
		}
		return out
	}
	tests := []struct {
		name             string
		fields           []flowtest.Field
		extra            map[flowtest.FieldKey][]byte
		revBytes, revPkt uint64
		want             flowsrc.Initiator
	}{
		{"biflow, reverse delta counters, no IE 239", []flowtest.Field{rev(1, 4), rev(2, 4)}, revDelta, 6207, 9, flowsrc.InitiatorSrc},
		{"biflow, reverse total counters, no IE 239", []flowtest.Field{rev(85, 8), rev(86, 8)}, revTotal, 200, 2, flowsrc.InitiatorSrc},
		{"biflow, no reverse traffic, no IE 239", []flowtest.Field{rev(1, 4), rev(2, 4)}, nil, 0, 0, flowsrc.InitiatorSrc},
		{"biflow, IE 239 initiator", []flowtest.Field{rev(1, 4), rev(2, 4), dir}, with(revDelta, dir.Key(), []byte{1}), 6207, 9, flowsrc.InitiatorSrc},
		{"biflow, IE 239 reverseInitiator", []flowtest.Field{rev(1, 4), rev(2, 4), dir}, with(revDelta, dir.Key(), []byte{2}), 6207, 9, flowsrc.InitiatorDst},
		{"biflow, IE 239 arbitrary", []flowtest.Field{rev(1, 4), rev(2, 4), dir}, with(revDelta, dir.Key(), []byte{0}), 6207, 9, flowsrc.InitiatorUnknown},
		{"biflow, IE 239 perimeter", []flowtest.Field{rev(1, 4), rev(2, 4), dir}, with(revDelta, dir.Key(), []byte{3}), 6207, 9, flowsrc.InitiatorUnknown},
		{"uniflow, no IE 239", nil, nil, 0, 0, flowsrc.InitiatorUnknown},
		{"uniflow, IE 239 reverseInitiator", []flowtest.Field{dir}, map[flowtest.FieldKey][]byte{dir.Key(): {2}}, 0, 0, flowsrc.InitiatorDst},
		{"other PEN with the reverse counter numbers: uniflow", []flowtest.Field{{Type: 1, Length: 4, PEN: 29306}},
			map[flowtest.FieldKey][]byte{{Type: 1, PEN: 29306}: flowtest.BigEndian(7, 4)}, 0, 0, flowsrc.InitiatorUnknown},
	}
	base := flowtest.IPFIXTemplate(0, false).Fields
	for _, p := range []flowsrc.DecodePath{flowsrc.PathFast, flowsrc.PathGoflow2} {
		for i, tt := range tests {
			t.Run(p.String()+"/"+tt.name, func(t *testing.T) {
				f := tcpFlow()
				f.Extra = tt.extra
				tpl := flowtest.Template{ID: uint16(256 + i), Fields: append(slices.Clone(base), tt.fields...)}
				got := decodeOK(t, flowsrc.NewDatagramDecoder(flowsrc.WithDecodePath(p)), exporterA,
					flowtest.NewIPFIX(flowtest.IPFIXHeader{ExportTime: export}).Template(tpl).Data(tpl, f).Bytes())
				w := want(f, exporterA, 0)
				w.BytesToClient, w.PktsToClient = tt.revBytes, tt.revPkt
				w.Initiator = tt.want
				diffRecords(t, got, []flowsrc.Record{w})
			})
		}
	}
}
