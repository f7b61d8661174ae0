package flowsrc_test

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
	"github.com/exfilscore/exfilscore/flowsrc/pcap"
	"github.com/exfilscore/exfilscore/internal/thirdparty"
)

// The differential tests below hold the fast path (compiled templates) to
// the goflow2 path: the same datagrams, given to a decoder of each path,
// must give the same records (every field), the same errors and the same
// counters.

// pathPair is one decoder per path, fed the same datagrams, and a third
// decoder on the fast path that hands its records over in runs
// (DecodeRuns), which must give exactly what Decode gives.
type pathPair struct {
	fast, slow, runs *flowsrc.DatagramDecoder
	records          int // records emitted by each (they are compared)
}

func newPathPair(opts ...flowsrc.DecoderOption) *pathPair {
	return &pathPair{
		fast: flowsrc.NewDatagramDecoder(append(opts, flowsrc.WithDecodePath(flowsrc.PathFast))...),
		slow: flowsrc.NewDatagramDecoder(append(opts, flowsrc.WithDecodePath(flowsrc.PathGoflow2))...),
		runs: flowsrc.NewDatagramDecoder(append(opts, flowsrc.WithDecodePath(flowsrc.PathFast))...),
	}
}

// decode gives dg to both decoders and returns a description of the first
// difference, or "".
func (p *pathPair) decode(exporter netip.Addr, at time.Time, dg []byte) string {
	var fastRecs, slowRecs []flowsrc.Record
	fastErr := p.fast.Decode(exporter, at, dg, func(r *flowsrc.Record) { fastRecs = append(fastRecs, *r) })
	slowErr := p.slow.Decode(exporter, at, dg, func(r *flowsrc.Record) { slowRecs = append(slowRecs, *r) })
	var runRecs []flowsrc.Record
	badRun := 0
	runsErr := p.runs.DecodeRuns(exporter, at, dg, func(rs []flowsrc.Record) {
		if len(rs) == 0 || len(rs) > flowsrc.RunLen {
			badRun = len(rs)
		}
		runRecs = append(runRecs, rs...)
	})
	p.records += len(slowRecs)
	addrEq := cmp.Comparer(func(a, b netip.Addr) bool { return a == b })
	if diff := cmp.Diff(slowRecs, fastRecs, addrEq); diff != "" {
		return fmt.Sprintf("records differ (-goflow2 +fast):\n%s", diff)
	}
	if fe, se := describeDecodeError(fastErr), describeDecodeError(slowErr); fe != se {
		return fmt.Sprintf("errors differ:\n  goflow2: %s\n  fast:    %s", se, fe)
	}
	if badRun != 0 {
		return fmt.Sprintf("DecodeRuns handed over a run of %d records", badRun)
	}
	if diff := cmp.Diff(fastRecs, runRecs, addrEq); diff != "" {
		return fmt.Sprintf("records differ (-Decode +DecodeRuns):\n%s", diff)
	}
	if fe, re := describeDecodeError(fastErr), describeDecodeError(runsErr); fe != re {
		return fmt.Sprintf("errors differ:\n  Decode:     %s\n  DecodeRuns: %s", fe, re)
	}
	return ""
}

// stats returns a description of a difference in the decoders' counters,
// or "".
func (p *pathPair) stats() string {
	if fs, ss := p.fast.Stats(), p.slow.Stats(); fs != ss {
		return fmt.Sprintf("stats differ:\n  goflow2: %+v\n  fast:    %+v", ss, fs)
	}
	if fs, rs := p.fast.Stats(), p.runs.Stats(); fs != rs {
		return fmt.Sprintf("stats differ:\n  Decode:     %+v\n  DecodeRuns: %+v", fs, rs)
	}
	return ""
}

// describeDecodeError flattens a Decode error for comparison: every field
// of the *DecodeError, except that of the underlying error (goflow2's own
// error on one path, ours on the other) only its presence and whether it
// is an unexpected EOF are compared.
func describeDecodeError(err error) string {
	if err == nil {
		return "<nil>"
	}
	var de *flowsrc.DecodeError
	if !errors.As(err, &de) {
		return "not a *DecodeError: " + err.Error()
	}
	return fmt.Sprintf("format=%v exporter=%v domain=%d set=%d offset=%d kind=%q detail=%q more=%d err=%t eof=%t",
		de.Format, de.Exporter, de.Domain, de.SetID, de.Offset, de.Kind, de.Detail, de.More,
		de.Err != nil, errors.Is(de.Err, io.ErrUnexpectedEOF))
}

// pathCase is a sequence of datagrams from one exporter: templates and
// options first, the datagram under test last.
type pathCase struct {
	name string
	dgs  [][]byte
}

// padLastSet appends n zero bytes inside the last set of a NetFlow v9
// (set at offset 20) or IPFIX (offset 16) message that holds one set, and
// fixes the set and message lengths.
func padLastSet(msg []byte, n int) []byte {
	out := append(append([]byte(nil), msg...), make([]byte, n)...)
	set := 20
	if binary.BigEndian.Uint16(out) == 10 {
		set = 16
		binary.BigEndian.PutUint16(out[2:], uint16(len(out)))
	}
	binary.BigEndian.PutUint16(out[set+2:], binary.BigEndian.Uint16(out[set+2:])+uint16(n))
	return out
}

// lastSet returns the offset of the last set of a NetFlow v9 or IPFIX
// message whose sets are well formed, or -1.
func lastSet(msg []byte) int {
	off := 20
	if binary.BigEndian.Uint16(msg) == 10 {
		off = 16
	}
	last := -1
	for len(msg)-off >= 4 {
		n := int(binary.BigEndian.Uint16(msg[off+2:]))
		if n < 4 || off+n > len(msg) {
			return -1
		}
		last, off = off, off+n
	}
	return last
}

// cutLastSet returns msg cut to n bytes inside its last set (at set),
// with the set and message lengths fixed to match: a set that ends inside
// a record.
func cutLastSet(msg []byte, set, n int) []byte {
	out := append([]byte(nil), msg[:n]...)
	binary.BigEndian.PutUint16(out[set+2:], uint16(n-set))
	if binary.BigEndian.Uint16(out) == 10 {
		binary.BigEndian.PutUint16(out[2:], uint16(n))
	}
	return out
}

// pathCases returns generated datagram sequences covering what the fast
// path decodes: NetFlow v9 and IPFIX, IPv4 and IPv6, reduced-size,
// oversized and zero-length fields, variable-length fields, enterprise and
// RFC 5103 reverse fields, every time IE, sampler IDs and sampling
// options, padding, and records the mapping refuses.
func pathCases() []pathCase {
	var cases []pathCase
	add := func(name string, dgs ...[]byte) { cases = append(cases, pathCase{name, dgs}) }

	f := tcpFlow()
	f6 := f
	f6.Src, f6.Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	mapped := f
	mapped.Src, mapped.Dst = netip.MustParseAddr("::ffff:10.1.2.3"), netip.MustParseAddr("::ffff:203.0.113.9")
	udp := f
	udp.Proto, udp.SrcPort, udp.DstPort, udp.TCPFlags = 17, 5353, 53, 0
	icmp := flowtest.Flow{Src: f.Src, Dst: f.Dst, Proto: 1, ICMPType: 3, ICMPCode: 1, Bytes: 84, Packets: 1, Start: f.Start, End: f.End}
	icmp6 := flowtest.Flow{Src: f6.Src, Dst: f6.Dst, Proto: 58, ICMPType: 129, Bytes: 104, Packets: 1, Start: f.Start, End: f.End}
	big := f
	big.Bytes, big.Packets = 1<<40+7, 1<<33+3
	v4flows := []flowtest.Flow{f, udp, icmp, big}
	v6flows := []flowtest.Flow{f6, mapped, icmp6}

	v9h := v9Header(7)
	ih := flowtest.IPFIXHeader{ExportTime: export, DomainID: 3, SystemInit: export.Add(-2 * time.Hour)}
	v9 := func() *flowtest.V9 { return flowtest.NewV9(v9h) }
	ipfix := func() *flowtest.IPFIX { return flowtest.NewIPFIX(ih) }

	// Standard templates, templates in their own datagram and in the
	// same datagram as the data.
	for _, v6 := range []bool{false, true} {
		flows := v4flows
		if v6 {
			flows = v6flows
		}
		name := fmt.Sprintf("ipv6=%t", v6)
		t9, ti := flowtest.V9Template(256, v6), flowtest.IPFIXTemplate(256, v6)
		add("v9 standard "+name, v9().Template(t9).Bytes(), v9().Data(t9, flows...).Bytes())
		add("ipfix standard "+name, ipfix().Template(ti).Bytes(), ipfix().Data(ti, flows...).Bytes())
		add("v9 same datagram "+name, v9().Template(t9).Data(t9, flows...).Data(t9, flows[0]).Bytes())
		add("ipfix same datagram "+name, ipfix().Template(ti).Data(ti, flows...).Bytes())
	}
	// Both address families in one record: IPv4 wins unless both are
	// 0.0.0.0.
	both := flowtest.Template{ID: 260, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 27, Length: 16}, {Type: 28, Length: 16}, {Type: 4, Length: 1}, {Type: 1, Length: 4}}}
	add("ipfix both families", ipfix().Template(both).Data(both, f, f6).Bytes())

	// Reduced-size, oversized and zero-length fields; wrong-size
	// addresses; duplicated fields (the last usable one wins).
	reduced := flowtest.Template{ID: 270, Fields: []flowtest.Field{
		{Type: 1, Length: 3}, {Type: 2, Length: 2}, {Type: 4, Length: 1}, {Type: 6, Length: 1}, {Type: 7, Length: 1}, {Type: 8, Length: 4},
		{Type: 11, Length: 3}, {Type: 12, Length: 4}, {Type: 21, Length: 4}, {Type: 22, Length: 4}, {Type: 85, Length: 5}, {Type: 86, Length: 7},
	}}
	odd := flowtest.Template{ID: 271, Fields: []flowtest.Field{
		{Type: 1, Length: 9}, {Type: 85, Length: 0}, {Type: 2, Length: 16}, {Type: 86, Length: 6}, {Type: 8, Length: 16}, {Type: 8, Length: 4},
		{Type: 12, Length: 4}, {Type: 12, Length: 2}, {Type: 27, Length: 4}, {Type: 4, Length: 0}, {Type: 4, Length: 1}, {Type: 7, Length: 2},
		{Type: 7, Length: 9}, {Type: 11, Length: 2}, {Type: 152, Length: 8}, {Type: 152, Length: 6}, {Type: 153, Length: 4}, {Type: 154, Length: 4},
		{Type: 23, Length: 8}, {Type: 24, Length: 4}, {Type: 6, Length: 2}, {Type: 0x8008, Length: 4},
	}}
	for _, tpl := range []flowtest.Template{reduced, odd} {
		add(fmt.Sprintf("v9 sizes %d", tpl.ID), v9().Template(tpl).Data(tpl, v4flows...).Bytes())
		add(fmt.Sprintf("ipfix sizes %d", tpl.ID), ipfix().Template(tpl).Data(tpl, v4flows...).Bytes())
	}
	// NetFlow v9 OUT_BYTES/OUT_PKTS only (IPFIX ignores 23/24).
	out := flowtest.Template{ID: 272, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 23, Length: 4}, {Type: 24, Length: 4}}}
	outRec := flowtest.Flow{Src: f.Src, Dst: f.Dst, Proto: 6, Extra: map[flowtest.FieldKey][]byte{{Type: 23}: flowtest.BigEndian(5000, 4), {Type: 24}: flowtest.BigEndian(5, 4)}}
	add("v9 out counters", v9().Template(out).Data(out, outRec).Bytes())
	add("ipfix out counters", ipfix().Template(out).Data(out, outRec).Bytes())

	// Variable-length fields: strings (1- and 3-byte length prefixes),
	// and fields the mapping reads, given variable length.
	vf := f6
	vf.Extra = map[flowtest.FieldKey][]byte{{Type: 82}: []byte("xe-0/0/1"), {Type: 96}: []byte(strings.Repeat("n", 300)), {Type: 94}: nil}
	vtpl := flowtest.Template{ID: 280, Fields: append(append([]flowtest.Field(nil), flowtest.IPFIXTemplate(0, true).Fields...),
		flowtest.Field{Type: 82, Length: flowtest.Variable}, flowtest.Field{Type: 96, Length: flowtest.Variable}, flowtest.Field{Type: 94, Length: flowtest.Variable})}
	vmapped := flowtest.Template{ID: 281, Fields: []flowtest.Field{
		{Type: 8, Length: flowtest.Variable}, {Type: 12, Length: flowtest.Variable}, {Type: 4, Length: flowtest.Variable},
		{Type: 1, Length: flowtest.Variable}, {Type: 2, Length: flowtest.Variable}, {Type: 7, Length: flowtest.Variable},
		{Type: 11, Length: 2}, {Type: 152, Length: flowtest.Variable}, {Type: 153, Length: 8}, {Type: 82, Length: flowtest.Variable},
	}}
	vonly := flowtest.Template{ID: 282, Fields: []flowtest.Field{{Type: 82, Length: flowtest.Variable}}}
	add("ipfix variable", ipfix().Template(vtpl, vmapped).Bytes(), ipfix().Data(vtpl, vf, vf).Data(vmapped, v4flows...).Bytes())
	add("ipfix variable only", ipfix().Template(vonly).Data(vonly, vf, f).Bytes())
	add("v9 variable", v9().Template(vmapped).Data(vmapped, v4flows...).Bytes())
	add("ipfix variable padded", ipfix().Template(vtpl).Bytes(), padLastSet(ipfix().Data(vtpl, vf).Bytes(), 7))
	add("ipfix variable padded mapped", ipfix().Template(vmapped).Bytes(), padLastSet(ipfix().Data(vmapped, f).Bytes(), 40))

	// Enterprise fields: never standard IEs, except the RFC 5103 reverse
	// counters of IPFIX biflows.
	ent := flowtest.Template{ID: 290, Fields: []flowtest.Field{
		{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 7, Length: 2}, {Type: 11, Length: 2},
		{Type: 1, Length: 8}, {Type: 2, Length: 4}, {Type: 8, Length: 4, PEN: 9}, {Type: 1, Length: 8, PEN: 12345},
		{Type: 1, Length: 8, PEN: 29305}, {Type: 2, Length: 4, PEN: 29305}, {Type: 85, Length: 8, PEN: 29305}, {Type: 86, Length: 3, PEN: 29305},
		{Type: 6, Length: 1, PEN: 29305}, {Type: 152, Length: 8, PEN: 29305}, {Type: 239, Length: 1},
	}}
	entTotals := flowtest.Template{ID: 291, Fields: []flowtest.Field{
		{Type: 27, Length: 16}, {Type: 28, Length: 16}, {Type: 4, Length: 1}, {Type: 85, Length: 8}, {Type: 86, Length: 8},
		{Type: 85, Length: 8, PEN: 29305}, {Type: 86, Length: flowtest.Variable, PEN: 29305}, {Type: 1, Length: 9, PEN: 29305},
	}}
	biflows := make([]flowtest.Flow, 3)
	for i := range biflows {
		b := f
		b.Extra = map[flowtest.FieldKey][]byte{
			{Type: 8, PEN: 9}: {192, 0, 2, 99}, {Type: 1, PEN: 12345}: flowtest.BigEndian(77, 8),
			{Type: 1, PEN: 29305}: flowtest.BigEndian(uint64(6207*i), 8), {Type: 2, PEN: 29305}: flowtest.BigEndian(9, 4),
			{Type: 85, PEN: 29305}: flowtest.BigEndian(1<<20, 8), {Type: 86, PEN: 29305}: flowtest.BigEndian(17, 3),
			{Type: 239}: {byte(i)},
		}
		biflows[i] = b
	}
	tot := f6
	tot.Extra = map[flowtest.FieldKey][]byte{{Type: 85, PEN: 29305}: flowtest.BigEndian(4242, 8), {Type: 86, PEN: 29305}: {0, 7}}
	add("ipfix enterprise and reverse", ipfix().Template(ent, entTotals).Data(ent, biflows...).Data(entTotals, tot).Bytes())
	add("v9 enterprise types", v9().Template(ent).Data(ent, biflows...).Bytes())

	// Every time IE, alone and in pairs, in both versions; IPFIX
	// sysUpTime with systemInitTime inline, from options data, or absent.
	timeCase := func(id uint16, fields ...flowtest.Field) flowtest.Template {
		return flowtest.Template{ID: id, Fields: append([]flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 1, Length: 4}}, fields...)}
	}
	tf := f
	tf.Extra = map[flowtest.FieldKey][]byte{
		{Type: 322}: flowtest.BigEndian(uint64(f.End.Unix()), 4),
		{Type: 323}: flowtest.BigEndian(uint64(f.End.UnixMilli()), 8),
		{Type: 324}: flowtest.BigEndian(uint64(f.End.Unix()+2208988800)<<32|0x8000_0000, 8),
		{Type: 325}: flowtest.BigEndian(uint64(f.End.Unix()+2208988800)<<32|0x1234_5678, 8),
	}
	zeroTimes := tf
	zeroTimes.Start, zeroTimes.End = time.Unix(0, 0), time.Unix(0, 0)
	var timeTpls []flowtest.Template
	id := uint16(300)
	for _, pair := range [][2]uint16{{156, 157}, {154, 155}, {152, 153}, {150, 151}, {158, 159}, {22, 21}} {
		for _, fields := range [][]flowtest.Field{
			{{Type: pair[0], Length: 8}, {Type: pair[1], Length: 8}},
			{{Type: pair[0], Length: 4}, {Type: pair[1], Length: 4}},
			{{Type: pair[0], Length: 8}},
			{{Type: pair[1], Length: 4}},
		} {
			timeTpls = append(timeTpls, timeCase(id, fields...))
			id++
		}
	}
	for _, obs := range []flowtest.Field{{Type: 322, Length: 4}, {Type: 323, Length: 8}, {Type: 324, Length: 8}, {Type: 325, Length: 8}} {
		timeTpls = append(timeTpls, timeCase(id, obs), timeCase(id+1, flowtest.Field{Type: 152, Length: 8}, obs))
		id += 2
	}
	timeTpls = append(timeTpls, timeCase(id, flowtest.Field{Type: 22, Length: 4}, flowtest.Field{Type: 21, Length: 4}, flowtest.Field{Type: 160, Length: 8}), timeCase(id+1))
	for _, tpl := range timeTpls {
		flows := []flowtest.Flow{tf, zeroTimes}
		add(fmt.Sprintf("v9 times %d", tpl.ID), v9().Template(tpl).Data(tpl, flows...).Bytes())
		add(fmt.Sprintf("ipfix times %d", tpl.ID), ipfix().Template(tpl).Data(tpl, flows...).Bytes())
	}
	initOpts := flowtest.OptionsTemplate{ID: 400, Scopes: []flowtest.Field{{Type: 149, Length: 4}}, Options: []flowtest.Field{{Type: 160, Length: 8}}}
	upTpl := timeCase(401, flowtest.Field{Type: 22, Length: 4}, flowtest.Field{Type: 21, Length: 4})
	initRec := map[flowtest.FieldKey][]byte{{Type: 160}: flowtest.BigEndian(uint64(ih.SystemInit.UnixMilli()), 8)}
	add("ipfix uptime with options init", ipfix().OptionsTemplate(initOpts).OptionsData(initOpts, initRec).Template(upTpl).Bytes(), ipfix().Data(upTpl, tf, f).Bytes())
	add("ipfix uptime, init in the same datagram", ipfix().Template(upTpl).Data(upTpl, tf).OptionsTemplate(initOpts).OptionsData(initOpts, initRec).Data(upTpl, tf).Bytes())
	add("ipfix uptime without init", ipfix().Template(upTpl).Data(upTpl, tf).Bytes())
	lateInit := flowtest.IPFIXHeader{ExportTime: export, DomainID: 3, SystemInit: export.Add(time.Minute)} // flows before the announced init
	add("ipfix uptime before init", flowtest.NewIPFIX(lateInit).OptionsTemplate(initOpts).OptionsData(initOpts, map[flowtest.FieldKey][]byte{{Type: 160}: flowtest.BigEndian(uint64(lateInit.SystemInit.UnixMilli()), 8)}).
		Template(upTpl).Data(upTpl, tf).Bytes())
	wrap := v9Header(7)
	wrap.Uptime = 2 * time.Second // flows from before a 32-bit uptime wrap
	add("v9 uptime wrap", flowtest.NewV9(wrap).Template(upTpl).Data(upTpl, tf).Bytes())

	// Sampling: inline rates, and rates from options data per sampler ID
	// (v9 IE 48, IPFIX selectorId 302), domain-wide and single-sampler.
	sampled := flowtest.Template{ID: 410, Fields: append(append([]flowtest.Field(nil), flowtest.V9Template(0, false).Fields...), flowtest.Field{Type: 48, Length: 1})}
	inline := flowtest.Template{ID: 411, Fields: append(append([]flowtest.Field(nil), flowtest.V9Template(0, false).Fields...), flowtest.Field{Type: 34, Length: 4})}
	inline50 := flowtest.Template{ID: 412, Fields: append(append([]flowtest.Field(nil), flowtest.V9Template(0, false).Fields...), flowtest.Field{Type: 50, Length: 4}, flowtest.Field{Type: 305, Length: 4}, flowtest.Field{Type: 306, Length: 4})}
	so := flowtest.OptionsTemplate{ID: 413, Scopes: []flowtest.Field{{Type: 1, Length: 4}}, Options: []flowtest.Field{{Type: 48, Length: 1}, {Type: 50, Length: 4}}}
	domainWide := flowtest.OptionsTemplate{ID: 414, Scopes: []flowtest.Field{{Type: 1, Length: 4}}, Options: []flowtest.Field{{Type: 34, Length: 4}}}
	var sflows []flowtest.Flow
	for i := range 5 {
		s := f
		s.SamplerID, s.SamplingInterval, s.SrcPort = uint8(i), uint32(10*i), uint16(40000+i)
		s.Extra = map[flowtest.FieldKey][]byte{{Type: 50}: flowtest.BigEndian(uint64(i%2*77), 4), {Type: 305}: flowtest.BigEndian(1, 4), {Type: 306}: flowtest.BigEndian(uint64(i*3), 4)}
		sflows = append(sflows, s)
	}
	samplerRec := func(id, rate uint64) map[flowtest.FieldKey][]byte {
		return map[flowtest.FieldKey][]byte{{Type: 48}: flowtest.BigEndian(id, 1), {Type: 50}: flowtest.BigEndian(rate, 4)}
	}
	add("v9 sampler IDs", v9().OptionsTemplate(so).OptionsData(so, samplerRec(1, 100), samplerRec(2, 1000)).Template(sampled).Bytes(), v9().Data(sampled, sflows...).Bytes())
	add("v9 single sampler", v9().OptionsTemplate(so).OptionsData(so, samplerRec(3, 64)).Template(sampled, flowtest.V9Template(256, false)).Bytes(),
		v9().Data(sampled, sflows...).Data(flowtest.V9Template(256, false), f).Bytes())
	add("v9 domain-wide rate", v9().OptionsTemplate(domainWide).OptionsData(domainWide, map[flowtest.FieldKey][]byte{{Type: 34}: flowtest.BigEndian(20, 4)}).Template(sampled).Bytes(),
		v9().Data(sampled, sflows...).OptionsTemplate(so).OptionsData(so, samplerRec(1, 5)).Data(sampled, sflows...).Bytes())
	add("v9 inline rates", v9().Template(inline, inline50).Data(inline, sflows...).Data(inline50, sflows...).Bytes())
	sel := flowtest.OptionsTemplate{ID: 415, Scopes: []flowtest.Field{{Type: 302, Length: 4}}, Options: []flowtest.Field{{Type: 305, Length: 4}, {Type: 306, Length: 4}}}
	selTpl := flowtest.Template{ID: 416, Fields: append(append([]flowtest.Field(nil), flowtest.IPFIXTemplate(0, false).Fields...), flowtest.Field{Type: 302, Length: 4})}
	var selFlows []flowtest.Flow
	for i := range 3 {
		s := f
		s.Extra = map[flowtest.FieldKey][]byte{{Type: 302}: flowtest.BigEndian(uint64(i), 4)}
		selFlows = append(selFlows, s)
	}
	selRec := func(id, interval, space uint64) map[flowtest.FieldKey][]byte {
		return map[flowtest.FieldKey][]byte{{Type: 302}: flowtest.BigEndian(id, 4), {Type: 305}: flowtest.BigEndian(interval, 4), {Type: 306}: flowtest.BigEndian(space, 4)}
	}
	add("ipfix selector IDs", ipfix().OptionsTemplate(sel).OptionsData(sel, selRec(1, 1, 99), selRec(2, 2, 7)).Template(selTpl).Data(selTpl, selFlows...).Bytes())

	// ICMP type/code IEs, port alternatives, Cisco NSEL bidirectional
	// counters, biflowDirection, PSAMP packet reports, records without
	// addresses.
	icmpTpl := flowtest.Template{ID: 420, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 27, Length: 16}, {Type: 28, Length: 16}, {Type: 4, Length: 1},
		{Type: 11, Length: 2}, {Type: 32, Length: 2}, {Type: 139, Length: 2}, {Type: 1, Length: 4}}}
	icmpTpl2 := flowtest.Template{ID: 421, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 178, Length: 1}, {Type: 179, Length: 1}, {Type: 177, Length: 1}, {Type: 11, Length: 2}}}
	alt := flowtest.Template{ID: 422, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 180, Length: 2}, {Type: 183, Length: 2}, {Type: 181, Length: 1}, {Type: 1, Length: 8}}}
	altRec := f
	altRec.Extra = map[flowtest.FieldKey][]byte{{Type: 180}: {0x13, 0x88}, {Type: 183}: {0, 80}, {Type: 181}: {53}}
	nsel := flowtest.Template{ID: 423, Fields: []flowtest.Field{{Type: 8, Length: 4}, {Type: 12, Length: 4}, {Type: 4, Length: 1}, {Type: 7, Length: 2}, {Type: 11, Length: 2},
		{Type: 231, Length: 4}, {Type: 232, Length: 4}, {Type: 298, Length: 8}, {Type: 299, Length: 8}, {Type: 323, Length: 8}, {Type: 2, Length: 4}}}
	nselRec := f
	nselRec.Extra = map[flowtest.FieldKey][]byte{{Type: 231}: flowtest.BigEndian(9000, 4), {Type: 232}: flowtest.BigEndian(120000, 4), {Type: 323}: flowtest.BigEndian(uint64(f.End.UnixMilli()), 8)}
	nselPkts := nselRec
	nselPkts.Extra = map[flowtest.FieldKey][]byte{{Type: 232}: flowtest.BigEndian(1, 4), {Type: 298}: flowtest.BigEndian(7, 8), {Type: 299}: flowtest.BigEndian(9, 8)}
	frame := flowtest.Packet(flowtest.Flow{Src: f.Src, Dst: f.Dst, SrcPort: 443, DstPort: 28911, Proto: 6, TCPFlags: 0x10}, 1000, 42)
	psamp := flowtest.Template{ID: 424, Fields: []flowtest.Field{{Type: 312, Length: 2}, {Type: 315, Length: flowtest.Variable}}}
	psampFixed := flowtest.Template{ID: 425, Fields: []flowtest.Field{{Type: 224, Length: 2}, {Type: 313, Length: 40}, {Type: 315, Length: 0}}}
	psampRecs := []flowtest.Flow{
		{Extra: map[flowtest.FieldKey][]byte{{Type: 312}: flowtest.BigEndian(1518, 2), {Type: 315}: frame[:64]}},
		{Extra: map[flowtest.FieldKey][]byte{{Type: 315}: frame[:10]}},
		{},
	}
	psampFixedRec := flowtest.Flow{Extra: map[flowtest.FieldKey][]byte{{Type: 224}: flowtest.BigEndian(1400, 2), {Type: 313}: frame[14:54]}}
	noAddr := flowtest.Template{ID: 426, Fields: []flowtest.Field{{Type: 4, Length: 1}, {Type: 1, Length: 8}, {Type: 8, Length: 4}}}
	add("ipfix icmp", ipfix().Template(icmpTpl, icmpTpl2).Data(icmpTpl, icmp, icmp6, f).Data(icmpTpl2, icmp, icmp6).Bytes())
	add("v9 icmp", v9().Template(icmpTpl, icmpTpl2).Data(icmpTpl, icmp, icmp6, f).Data(icmpTpl2, icmp, icmp6).Bytes())
	add("ipfix ports and nsel", ipfix().Template(alt, nsel).Data(alt, altRec, icmp).Data(nsel, nselRec, nselPkts).Bytes())
	add("v9 nsel", v9().Template(nsel).Data(nsel, nselRec, nselPkts, icmp).Bytes())
	add("ipfix psamp", ipfix().Template(psamp, psampFixed).Data(psamp, psampRecs...).Data(psampFixed, psampFixedRec, flowtest.Flow{}).Bytes())
	add("v9 no addresses", v9().Template(noAddr).Data(noAddr, f, icmp).Bytes())

	// Padding: zeros after the last set, inside a data set shorter and
	// longer than a record (the latter read as records, as goflow2
	// does), and in the variable-length cases above.
	t9 := flowtest.V9Template(256, false)
	ti := flowtest.IPFIXTemplate(256, false)
	add("v9 padding after sets", v9().Template(t9).Bytes(), append(v9().Data(t9, f).Bytes(), make([]byte, 13)...))
	add("v9 padding in set", v9().Template(t9).Bytes(), padLastSet(v9().Data(t9, f, udp).Bytes(), 3))
	add("v9 padding longer than a record", v9().Template(t9).Bytes(), padLastSet(v9().Data(t9, f).Bytes(), 80))
	add("ipfix padding in set", ipfix().Template(ti).Bytes(), padLastSet(ipfix().Data(ti, f).Bytes(), 5))
	ipad := ipfix().Template(ti).Data(ti, f).Bytes()
	add("ipfix padding after message", append(ipad, 0, 0, 0, 0, 0, 0))

	// Template life cycle: resent unchanged (the compiled plan is kept),
	// redefined with another layout, withdrawn, another domain, data
	// before its template, a template never sent.
	redef := flowtest.Template{ID: 256, Fields: flowtest.IPFIXTemplate(0, true).Fields}
	other := ih
	other.DomainID = 4
	add("ipfix template life cycle",
		ipfix().Template(ti).Data(ti, f).Bytes(),
		ipfix().Template(ti).Data(ti, f, udp).Bytes(),
		ipfix().Template(redef).Data(redef, f6).Bytes(),
		ipfix().Template(flowtest.Template{ID: 256}).Data(redef, f6).Bytes(),
		flowtest.NewIPFIX(other).Template(ti).Data(ti, f).Bytes(),
		ipfix().Data(redef, f6).Template(redef).Data(redef, f6).Template(flowtest.Template{ID: 2}).Data(redef, f6).Bytes())
	add("v9 redefinition", v9().Template(t9).Data(t9, f).Bytes(), v9().Template(flowtest.V9Template(256, true)).Data(flowtest.V9Template(256, true), f6).Bytes(),
		v9().Data(flowtest.V9Template(257, false), f).Bytes())
	return cases
}

// runPathCase decodes c with both paths: the sequence as is, every prefix
// of its last datagram, its last set cut at every length, and random
// corruptions of it (deterministic).
func runPathCase(t *testing.T, c pathCase, rng *rand.Rand, step, corruptions int) (fast, slow uint64, records int) {
	t.Helper()
	run := func(what string, last []byte) {
		t.Helper()
		p := newPathPair(flowsrc.WithMaxTemplates(64), flowsrc.WithMaxSamplers(8))
		dgs := append(append([][]byte(nil), c.dgs[:len(c.dgs)-1]...), last)
		for i, dg := range dgs {
			if d := p.decode(exporterA, received, dg); d != "" {
				t.Fatalf("%s, datagram %d (%x): %s", what, i, dg, d)
			}
		}
		if d := p.stats(); d != "" {
			t.Fatalf("%s: %s", what, d)
		}
		ff, fs := flowsrc.PathSets(p.fast)
		sf, _ := flowsrc.PathSets(p.slow)
		if sf != 0 {
			t.Fatalf("%s: the goflow2 decoder decoded %d data sets on the fast path", what, sf)
		}
		fast += ff
		slow += fs
		records += p.records
	}
	last := c.dgs[len(c.dgs)-1]
	run("whole", last)
	for n := 0; n < len(last); n += step {
		run(fmt.Sprintf("prefix %d", n), last[:n])
	}
	if set := lastSet(last); set >= 0 {
		for n := set + 4; n < len(last); n += step {
			run(fmt.Sprintf("set cut at %d", n), cutLastSet(last, set, n))
		}
	}
	for i := range corruptions {
		m := append([]byte(nil), last...)
		for range 1 + rng.IntN(3) {
			pos := rng.IntN(len(m))
			switch rng.IntN(3) {
			case 0:
				m[pos] ^= 1 << rng.IntN(8)
			case 1:
				m[pos] = 0
			default:
				m[pos] = byte(rng.Uint32())
			}
		}
		run(fmt.Sprintf("corruption %d", i), m)
	}
	return fast, slow, records
}

func TestDecodePathsGenerated(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	step, corruptions := 1, 100
	if raceEnabled || testing.Short() {
		step, corruptions = 5, 20
	}
	var fast, slow uint64
	records := 0
	for _, c := range pathCases() {
		t.Run(c.name, func(t *testing.T) {
			f, s, n := runPathCase(t, c, rng, step, corruptions)
			fast, slow, records = fast+f, slow+s, records+n
		})
	}
	t.Logf("%d records compared; the fast decoder took the fast path for %d data sets, goflow2 for %d (options data)", records, fast, slow)
	if fast < 1000 || records < 5000 {
		t.Errorf("fast path taken for only %d data sets, %d records compared", fast, records)
	}
}

// TestDecodePathsCaptures decodes every third-party capture with both
// paths.
func TestDecodePathsCaptures(t *testing.T) {
	dir := thirdparty.Dir(t, "netflow")
	caps, err := filepath.Glob(filepath.Join(dir, "derived", "*.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	err = filepath.WalkDir(filepath.Join(dir, "pcaps"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".pcap") {
			caps = append(caps, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(caps) < 90 {
		t.Fatalf("only %d captures under %s", len(caps), dir)
	}
	var fast, slow uint64
	records, datagrams := 0, 0
	for _, path := range caps {
		rel, _ := filepath.Rel(dir, path)
		t.Run(rel, func(t *testing.T) {
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := pcap.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			p := newPathPair()
			for {
				pkt, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if pkt.Proto != 17 || len(pkt.Payload) == 0 {
					continue
				}
				datagrams++
				if d := p.decode(pkt.Src, pkt.Time, pkt.Payload); d != "" {
					t.Errorf("frame %d: %s", pkt.Frame, d)
				}
			}
			if d := p.stats(); d != "" {
				t.Error(d)
			}
			ff, fs := flowsrc.PathSets(p.fast)
			if sf, _ := flowsrc.PathSets(p.slow); sf != 0 {
				t.Errorf("the goflow2 decoder decoded %d data sets on the fast path", sf)
			}
			fast, slow, records = fast+ff, slow+fs, records+p.records
		})
	}
	t.Logf("%d captures, %d datagrams, %d records compared; fast path: %d data sets, goflow2: %d (options data)", len(caps), datagrams, records, fast, slow)
	if fast == 0 {
		t.Error("the fast path was never taken")
	}
}

// FuzzDecodePaths feeds arbitrary datagrams to a decoder of each path:
// setup (templates, options), then data twice (so that templates in data
// apply to its own data sets the second time), then setup again. Records,
// errors and counters must be identical.
func FuzzDecodePaths(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add([]byte(nil), s)
	}
	for _, c := range pathCases() {
		var setup []byte
		if len(c.dgs) > 1 {
			setup = c.dgs[0]
		}
		f.Add(setup, c.dgs[len(c.dgs)-1])
	}
	f.Fuzz(func(t *testing.T, setup, data []byte) {
		p := newPathPair(flowsrc.WithMaxTemplates(16), flowsrc.WithMaxSamplers(8))
		for i, dg := range [][]byte{setup, data, data, setup} {
			if d := p.decode(exporterA, received, dg); d != "" {
				t.Fatalf("datagram %d: %s", i, d)
			}
		}
		if d := p.stats(); d != "" {
			t.Fatal(d)
		}
	})
}

// TestFastPathAllocations pins the fast path's promise: once the templates
// are known, decoding a data datagram allocates nothing, per record or per
// datagram.
func TestFastPathAllocations(t *testing.T) {
	now := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	flows := make([]flowtest.Flow, 30)
	for i := range flows {
		flows[i] = flowtest.Flow{
			Src: netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}), Dst: netip.AddrFrom4([4]byte{203, 0, 113, byte(i)}),
			SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6, Bytes: uint64(1500 * i), Packets: uint64(i + 1),
			Start: now.Add(-time.Minute), End: now.Add(-time.Second), TCPFlags: 0x1b, SamplerID: uint8(i % 3),
			Extra: map[flowtest.FieldKey][]byte{{Type: 82}: []byte("ge-0/0/1")},
		}
	}
	vh := flowtest.V9Header{ExportTime: now, Uptime: time.Hour, SourceID: 1}
	ih := flowtest.IPFIXHeader{ExportTime: now, DomainID: 1, SystemInit: now.Add(-time.Hour)}
	v9t := flowtest.V9Template(256, false)
	v9s := flowtest.Template{ID: 257, Fields: append(append([]flowtest.Field(nil), v9t.Fields...), flowtest.Field{Type: 48, Length: 1})}
	so := flowtest.OptionsTemplate{ID: 258, Scopes: []flowtest.Field{{Type: 1, Length: 4}}, Options: []flowtest.Field{{Type: 48, Length: 1}, {Type: 50, Length: 4}}}
	it := flowtest.IPFIXTemplate(256, false)
	up := flowtest.Template{ID: 257, Fields: append(append([]flowtest.Field(nil), flowtest.V9Template(0, true).Fields...), flowtest.Field{Type: 82, Length: flowtest.Variable})}
	initOpts := flowtest.OptionsTemplate{ID: 258, Scopes: []flowtest.Field{{Type: 149, Length: 4}}, Options: []flowtest.Field{{Type: 160, Length: 8}}}
	flows6 := append([]flowtest.Flow(nil), flows...)
	for i := range flows6 {
		flows6[i].Src, flows6[i].Dst = netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	}
	tests := []struct {
		name      string
		setup, dg []byte
	}{
		{"netflow v9", flowtest.NewV9(vh).Template(v9t).Bytes(), flowtest.NewV9(vh).Data(v9t, flows...).Bytes()},
		{"netflow v9 with sampler options", flowtest.NewV9(vh).OptionsTemplate(so).
			OptionsData(so, map[flowtest.FieldKey][]byte{{Type: 48}: {1}, {Type: 50}: {0, 0, 0, 100}}, map[flowtest.FieldKey][]byte{{Type: 48}: {2}, {Type: 50}: {0, 0, 0, 10}}).
			Template(v9s).Bytes(), flowtest.NewV9(vh).Data(v9s, flows...).Bytes()},
		{"ipfix", flowtest.NewIPFIX(ih).Template(it).Bytes(), flowtest.NewIPFIX(ih).Data(it, flows...).Bytes()},
		{"ipfix ipv6, uptime, variable length", flowtest.NewIPFIX(ih).OptionsTemplate(initOpts).
			OptionsData(initOpts, map[flowtest.FieldKey][]byte{{Type: 160}: flowtest.BigEndian(uint64(ih.SystemInit.UnixMilli()), 8)}).Template(up).Bytes(),
			flowtest.NewIPFIX(ih).Data(up, flows6...).Bytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := flowsrc.NewDatagramDecoder()
			if err := d.Decode(exporterA, received, tt.setup, nil); err != nil {
				t.Fatal(err)
			}
			fast0, slow0 := flowsrc.PathSets(d) // options data: goflow2
			n := 0
			emit := func(*flowsrc.Record) { n++ }
			allocs := testing.AllocsPerRun(100, func() {
				if err := d.Decode(exporterA, received, tt.dg, emit); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("%v allocations per datagram, want 0", allocs)
			}
			if fast, slow := flowsrc.PathSets(d); n != 101*30 || fast-fast0 != 101 || slow != slow0 {
				t.Errorf("%d records, %d data sets on the fast path, %d through goflow2", n, fast, slow)
			}
		})
	}
}

// TestReplayPcapRuns: a capture replayed in runs (ReplayPcapRuns) gives
// the records, in order, and the stats of ReplayPcap: long v9 datagrams
// (several runs each), v5, a datagram whose template is unknown, and a UDP
// packet that is no flow export.
func TestReplayPcapRuns(t *testing.T) {
	var buf strings.Builder
	w, err := flowtest.NewPcapWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	collector := netip.MustParseAddrPort("192.0.2.1:2055")
	at := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	write := func(exp string, payload []byte) {
		t.Helper()
		if err := w.WriteFrame(at, flowtest.UDPFrame(netip.MustParseAddrPort(exp), collector, payload)); err != nil {
			t.Fatal(err)
		}
	}
	flows := func(n, seed int) []flowtest.Flow {
		fl := make([]flowtest.Flow, n)
		for i := range fl {
			fl[i] = flowtest.Flow{Src: netip.AddrFrom4([4]byte{10, 0, byte(seed), byte(i)}), Dst: netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}),
				SrcPort: uint16(40000 + i), DstPort: 443, Proto: 6, Bytes: uint64(1000 * (i + 1)), Packets: uint64(i + 1),
				Start: at.Add(-time.Minute), End: at.Add(-time.Duration(i) * time.Second)}
		}
		return fl
	}
	tpl := flowtest.V9Template(300, false)
	write("192.0.2.9:5000", flowtest.NewV9(flowtest.V9Header{ExportTime: at, Uptime: time.Hour, SourceID: 7}).Data(tpl, flows(3, 9)...).Bytes()) // template unknown yet
	for _, n := range []int{0, 1, 31, 32, 33, 70} {
		write("192.0.2.9:5000", flowtest.NewV9(flowtest.V9Header{ExportTime: at, Uptime: time.Hour, SourceID: 7}).Template(tpl).Data(tpl, flows(n, n)...).Bytes())
	}
	write("192.0.2.5:5000", flowtest.AppendV5(nil, flowtest.V5Header{ExportTime: at, Uptime: 48 * time.Hour}, flows(30, 1)))
	write("192.0.2.12:53", []byte("not a flow datagram at all"))
	capture := buf.String()

	var want []flowsrc.Record
	wantSt, err := flowsrc.ReplayPcap(strings.NewReader(capture), flowsrc.NewDatagramDecoder(), func(r *flowsrc.Record) { want = append(want, *r) })
	if err != nil {
		t.Fatal(err)
	}
	var got []flowsrc.Record
	runs := 0
	gotSt, err := flowsrc.ReplayPcapRuns(strings.NewReader(capture), flowsrc.NewDatagramDecoder(), func(rs []flowsrc.Record) {
		runs++
		if len(rs) == 0 || len(rs) > flowsrc.RunLen {
			t.Errorf("run of %d records", len(rs))
		}
		got = append(got, rs...)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 100 || wantSt.DecodeErrors != 1 || wantSt.NotFlow != 1 {
		t.Fatalf("the capture does not cover the cases: %d records, stats %+v", len(want), wantSt)
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
		t.Errorf("records differ (-ReplayPcap +ReplayPcapRuns):\n%s", diff)
	}
	if gotSt != wantSt || runs <= len(want)/flowsrc.RunLen {
		t.Errorf("stats %+v in %d runs, want %+v", gotSt, runs, wantSt)
	}
}
