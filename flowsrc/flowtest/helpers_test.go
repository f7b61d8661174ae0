package flowtest_test

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"github.com/netsampler/goflow2/v2/decoders/netflow"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// decoded is a NetFlow v9 or IPFIX message as goflow2 decodes it, flattened
// for the tests.
type decoded struct {
	v9      netflow.NFv9Packet
	ipfix   netflow.IPFIXPacket
	sets    []any
	data    map[uint16][]map[flowtest.FieldKey][]byte // data records by set ID
	options map[uint16][]map[flowtest.FieldKey][]byte // options data records (scopes and options merged)
}

// decode decodes msg with goflow2 and a fresh template system.
func decode(t *testing.T, msg []byte) *decoded {
	t.Helper()
	return decodeWith(t, netflow.CreateTemplateSystem(), msg)
}

func decodeWith(t *testing.T, ts netflow.NetFlowTemplateSystem, msg []byte) *decoded {
	t.Helper()
	d := &decoded{
		data:    map[uint16][]map[flowtest.FieldKey][]byte{},
		options: map[uint16][]map[flowtest.FieldKey][]byte{},
	}
	if err := netflow.DecodeMessageVersion(bytes.NewBuffer(msg), ts, &d.v9, &d.ipfix); err != nil {
		t.Fatalf("goflow2 decode: %v", err)
	}
	d.sets = d.v9.FlowSets
	if d.ipfix.Version == 10 {
		d.sets = d.ipfix.FlowSets
	}
	for _, s := range d.sets {
		switch s := s.(type) {
		case netflow.DataFlowSet:
			for _, r := range s.Records {
				d.data[s.Id] = append(d.data[s.Id], values(t, r.Values))
			}
		case netflow.OptionsDataFlowSet:
			for _, r := range s.Records {
				m := values(t, r.ScopesValues)
				for k, v := range values(t, r.OptionsValues) {
					m[k] = v
				}
				d.options[s.Id] = append(d.options[s.Id], m)
			}
		case netflow.RawFlowSet:
			t.Errorf("goflow2 left set %d undecoded", s.Id)
		}
	}
	return d
}

// values flattens goflow2's decoded fields; goflow2 keeps the enterprise
// bit in the type of options fields, so it is cleared here.
func values(t *testing.T, fs []netflow.DataField) map[flowtest.FieldKey][]byte {
	t.Helper()
	m := make(map[flowtest.FieldKey][]byte, len(fs))
	for _, f := range fs {
		v, ok := f.Value.([]byte)
		if !ok {
			t.Fatalf("field %d: value of type %T", f.Type, f.Value)
		}
		k := flowtest.FieldKey{Type: f.Type, PEN: f.Pen}
		if f.PenProvided {
			k.Type &^= 0x8000
		}
		if _, dup := m[k]; dup {
			t.Fatalf("field %+v twice in one record", k)
		}
		m[k] = v
	}
	return m
}

// uintOf reads a big-endian unsigned number of any length up to 8 bytes.
func uintOf(t *testing.T, b []byte) uint64 {
	t.Helper()
	if len(b) > 8 {
		t.Fatalf("number of %d bytes", len(b))
	}
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v
}

func addrOf(t *testing.T, b []byte) netip.Addr {
	t.Helper()
	a, ok := netip.AddrFromSlice(b)
	if !ok {
		t.Fatalf("address of %d bytes", len(b))
	}
	return a
}

// ref holds the reference times a decoder needs for relative time fields.
type ref struct {
	boot   time.Time // sysUpTime 0 / systemInitTime
	export time.Time // header export time (whole seconds)
}

// timeOf decodes the time field typ (21, 22, 150-159) the way RFC 3954 and
// RFC 7011 define it, truncating to the field's resolution. It returns the
// time, whether it is a start (else an end), and the resolution.
func timeOf(t *testing.T, typ uint16, v []byte, r ref) (tm time.Time, start bool, res time.Duration) {
	t.Helper()
	n := uintOf(t, v)
	secs, frac := int64(n>>32)-2208988800, n&0xFFFFFFFF // NTP format
	switch typ {
	case 21, 22:
		return r.boot.Add(time.Duration(n) * time.Millisecond), typ == 22, time.Millisecond
	case 150, 151:
		return time.Unix(int64(n), 0).UTC(), typ == 150, time.Second
	case 152, 153:
		return time.UnixMilli(int64(n)).UTC(), typ == 152, time.Millisecond
	case 154, 155:
		us := int64(frac * 1_000_000 >> 32)
		return time.Unix(secs, us*1000).UTC(), typ == 154, time.Microsecond
	case 156, 157:
		return time.Unix(secs, int64(frac*1_000_000_000>>32)).UTC(), typ == 156, time.Nanosecond
	case 158, 159:
		return r.export.Add(-time.Duration(n) * time.Microsecond), typ == 158, time.Microsecond
	}
	t.Fatalf("not a time field: %d", typ)
	return time.Time{}, false, 0
}

// flowOf interprets a decoded record with the IANA meaning of its fields;
// fields it does not know go to Extra.
func flowOf(t *testing.T, m map[flowtest.FieldKey][]byte, r ref) flowtest.Flow {
	t.Helper()
	var f flowtest.Flow
	for k, v := range m {
		if k.PEN != 0 {
			addExtra(&f, k, v)
			continue
		}
		switch k.Type {
		case 1:
			f.Bytes = uintOf(t, v)
		case 2:
			f.Packets = uintOf(t, v)
		case 4:
			f.Proto = uint8(uintOf(t, v))
		case 6:
			f.TCPFlags = uint8(uintOf(t, v))
		case 7:
			f.SrcPort = uint16(uintOf(t, v))
		case 11:
			f.DstPort = uint16(uintOf(t, v))
		case 8, 27:
			f.Src = addrOf(t, v)
		case 12, 28:
			f.Dst = addrOf(t, v)
		case 32, 139:
			f.ICMPType, f.ICMPCode = v[0], v[1]
		case 34:
			f.SamplingInterval = uint32(uintOf(t, v))
		case 48:
			f.SamplerID = uint8(uintOf(t, v))
		case 21, 22, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159:
			tm, start, _ := timeOf(t, k.Type, v, r)
			if start {
				f.Start = tm
			} else {
				f.End = tm
			}
		default:
			addExtra(&f, k, v)
		}
	}
	return f
}

func addExtra(f *flowtest.Flow, k flowtest.FieldKey, v []byte) {
	if f.Extra == nil {
		f.Extra = map[flowtest.FieldKey][]byte{}
	}
	f.Extra[k] = v
}
