package goflowpb_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"testing"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/goflowpb"
)

func TestSniffGoflow2(t *testing.T) {
	var values [][]byte
	readGoldenJSON(t, "kafka-values.json", &values)
	for i, v := range values {
		if !goflowpb.Sniff(v) {
			t.Errorf("Kafka value %d not recognised", i)
		}
	}
	for _, name := range []string{"flows-nl.bin", "flows-nosep.bin", "flows-mapped.bin", "edge.bin"} {
		data := readGolden(t, name)
		for _, n := range []int{512, 64, 40} {
			if !goflowpb.Sniff(data[:min(n, len(data))]) {
				t.Errorf("%s: first %d bytes not recognised", name, n)
			}
		}
	}
	// A message cut after three fields is not enough to tell.
	m := flowMsg().delim()
	if goflowpb.Sniff(m[:8]) {
		t.Errorf("8 bytes (3 whole fields) recognised")
	}
}

func TestSniffOthers(t *testing.T) {
	var dgs []datagram
	readGoldenJSON(t, "datagrams.json", &dgs)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("x"))
	zw.Close()
	others := map[string][]byte{
		"empty":            nil,
		"zero length":      {0x00, 0x08, 0x01},
		"pcap":             {0xd4, 0xc3, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0},
		"pcap big-endian":  {0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x02, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 1},
		"pcap ns":          {0x4d, 0x3c, 0xb2, 0xa1, 0x02, 0x00, 0x04, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0},
		"pcapng":           {0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1c, 0, 0, 0},
		"gzip":             gz.Bytes(),
		"EVE JSON":         []byte(`{"timestamp":"2024-05-06T07:08:09.000000+0000","flow_id":1,"event_type":"flow","src_ip":"10.0.0.1"}` + "\n"),
		"Zeek conn.log":    []byte("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n#unset_field\t-\n#path\tconn\n"),
		"Zeek JSON":        []byte(`{"ts":1714979289.1,"uid":"C1","id.orig_h":"10.0.0.1"}`),
		"CSV":              []byte("src,dst,bytes\n10.0.0.1,10.0.0.2,100\n"),
		"text":             []byte("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor\n"),
		"goflow2 JSON":     []byte(`{"type":"SFLOW_5","time_received_ns":1714979310254000000,"sequence_num":1}`),
		"varint then junk": {0x05, 0xff, 0xff, 0xff, 0xff, 0xff},
		"wrong wire type":  msg(nil).varint(fSrcAddr, 1).varint(fTimeReceived, 1e18).varint(fProto, 6).varint(fBytes, 1).delim(),
		"bad flow type":    msg(nil).varint(fType, 9).varint(fSamplingRate, 1).varint(fSequenceNum, 1).varint(fBytes, 1).varint(fPackets, 1).delim()[:9],
		"no time":          msg(nil).bytes(fSrcAddr, addrBytes("10.0.0.1")).bytes(fDstAddr, addrBytes("10.0.0.2")).varint(fProto, 6).delim(),
		"unknown fields":   msg(nil).varint(5000, 1).varint(5001, 1).varint(5002, 1).varint(5003, 1).varint(5004, 1).delim()[:12],
	}
	for i, dg := range dgs {
		others["datagram "+string(rune('0'+i))] = dg.Payload
	}
	for name, b := range others {
		if goflowpb.Sniff(b) {
			t.Errorf("%s recognised as goflow2", name)
		}
		// Nothing sniffed false must be readable either (no panic, and the
		// reader reports an error or EOF rather than inventing records).
		r := goflowpb.NewReader(bytes.NewReader(b))
		var rec flowsrc.Record
		for range 100 {
			if err := r.Next(&rec); err != nil {
				break
			}
		}
	}
}

// TestSniffAgreesWithDecode: a complete message that Sniff accepts
// decodes (to a record or ErrNotFlow).
func TestSniffAgreesWithDecode(t *testing.T) {
	for _, m := range []msg{flowMsg(), msg(nil).varint(fTimeReceived, 1e18).varint(fBytes, 1).varint(30, 0x806).varint(fSamplingRate, 2)} {
		b := m.delim()
		if !goflowpb.Sniff(b) {
			t.Fatalf("% x not recognised", b)
		}
		var rec flowsrc.Record
		if err := goflowpb.Decode(b, &rec); err != nil && err.(*goflowpb.Error).Kind != goflowpb.ErrNotFlow {
			t.Errorf("Sniff true, Decode %v", err)
		}
	}
	// The length prefix alone, without a byte of message.
	if goflowpb.Sniff(binary.AppendUvarint(nil, 100)) {
		t.Errorf("a bare length prefix recognised")
	}
}
