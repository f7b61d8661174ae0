package goflowpb_test

import (
	"encoding/binary"
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// msg builds protobuf messages by hand, field by field, for the cases
// goflow2 never writes (malformed input, odd encodings). The well-formed
// cases come from goflow2 itself (testdata/goflow2, see doc.go).
type msg []byte

// FlowMessage field numbers (goflow2 v2 pb/flow.proto).
const (
	fType           = 1
	fSamplingRate   = 3
	fSequenceNum    = 4
	fSrcAddr        = 6
	fDstAddr        = 7
	fBytes          = 9
	fPackets        = 10
	fSamplerAddress = 11
	fProto          = 20
	fSrcPort        = 21
	fDstPort        = 22
	fTCPFlags       = 26
	fICMPType       = 31
	fICMPCode       = 32
	fIPFlags        = 38
	fObsDomain      = 70
	fASPath         = 102
	fTimeReceived   = 110
	fTimeStart      = 111
	fTimeEnd        = 112
)

func (m msg) tag(field, wt int) msg {
	return binary.AppendUvarint(m, uint64(field)<<3|uint64(wt))
}

// varint appends a varint field.
func (m msg) varint(field int, v uint64) msg {
	return binary.AppendUvarint(m.tag(field, 0), v)
}

// bytes appends a length-delimited field.
func (m msg) bytes(field int, b []byte) msg {
	m = binary.AppendUvarint(m.tag(field, 2), uint64(len(b)))
	return append(m, b...)
}

// fixed32 and fixed64 append fixed-width fields (unknown ones: goflow2's
// schema has none).
func (m msg) fixed32(field int, v uint32) msg {
	return binary.LittleEndian.AppendUint32(m.tag(field, 5), v)
}

func (m msg) fixed64(field int, v uint64) msg {
	return binary.LittleEndian.AppendUint64(m.tag(field, 1), v)
}

// raw appends bytes as they are.
func (m msg) raw(b ...byte) msg { return append(m, b...) }

// delim returns m with its varint length prefix, as protodelim writes it.
func (m msg) delim() []byte {
	return append(binary.AppendUvarint(nil, uint64(len(m))), m...)
}

func addrBytes(s string) []byte { return netip.MustParseAddr(s).AsSlice() }

var (
	tNow   = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	tStart = tNow.Add(-30 * time.Second)
)

// flowMsg is a typical well-formed message: an IPv4 TCP flow.
func flowMsg() msg {
	return msg(nil).
		varint(fType, 4).
		varint(fSamplingRate, 10).
		varint(fSequenceNum, 77).
		bytes(fSrcAddr, addrBytes("10.1.2.3")).
		bytes(fDstAddr, addrBytes("203.0.113.9")).
		varint(fBytes, 1500).
		varint(fPackets, 3).
		bytes(fSamplerAddress, addrBytes("192.0.2.1")).
		varint(fProto, 6).
		varint(fSrcPort, 51000).
		varint(fDstPort, 443).
		varint(fTCPFlags, 0x1b).
		varint(fObsDomain, 42).
		varint(fTimeReceived, uint64(tNow.UnixNano())).
		varint(fTimeStart, uint64(tStart.UnixNano())).
		varint(fTimeEnd, uint64(tNow.Add(-time.Second).UnixNano()))
}

// golden returns the path of a file of testdata/goflow2.
func golden(name string) string { return filepath.Join("testdata", "goflow2", name) }

func readGolden(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(golden(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readGoldenJSON(t testing.TB, name string, v any) {
	t.Helper()
	if err := json.Unmarshal(readGolden(t, name), v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// datagram is an export datagram of testdata/goflow2/datagrams.json.
type datagram struct {
	SFlow    bool      `json:"sflow"`
	Exporter string    `json:"exporter"`
	Received time.Time `json:"received"`
	Payload  []byte    `json:"payload"`
}
