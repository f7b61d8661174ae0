package flowtest

import (
	"encoding/binary"
	"time"
)

// V9Header is the header of a NetFlow v9 export packet (RFC 3954
// section 5.1).
type V9Header struct {
	// ExportTime is the exporter's clock when it sent the packet; the
	// header carries whole seconds (UNIX Secs).
	ExportTime time.Time
	// Uptime is the exporter's sysUpTime at ExportTime.
	Uptime time.Duration
	// Sequence counts the export packets sent before this one.
	Sequence uint32
	// SourceID identifies the exporter's observation domain.
	SourceID uint32
}

// V9HeaderLen is the size of the NetFlow v9 packet header.
const V9HeaderLen = 20

// V9 builds one NetFlow v9 export packet: a header followed by the
// flowsets added in order. Each method appends one flowset and returns the
// builder for chaining. Data records are encoded as they are added, against
// the header given to [NewV9] or [V9.Reset].
//
// A V9 is not safe for concurrent use.
type V9 struct {
	h     V9Header
	enc   encoder
	sets  []byte
	count int
}

// NewV9 returns a builder for a packet with header h.
func NewV9(h V9Header) *V9 {
	m := &V9{}
	return m.Reset(h)
}

// Reset empties m for a new packet with header h, keeping its buffer.
func (m *V9) Reset(h V9Header) *V9 {
	m.h = h
	export := time.Unix(h.ExportTime.Unix(), 0)
	m.enc = encoder{export: export, boot: export.Add(-h.Uptime)}
	m.sets = m.sets[:0]
	m.count = 0
	return m
}

// Template appends one template flowset (flowset ID 0) holding ts.
// With no templates it appends nothing.
func (m *V9) Template(ts ...Template) *V9 {
	if len(ts) == 0 {
		return m
	}
	b, start := beginSet(m.sets, 0)
	for _, t := range ts {
		b = binary.BigEndian.AppendUint16(b, t.ID)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Fields)))
		b = appendFieldSpecs(b, t.Fields, false)
	}
	m.sets = endSet(b, start, true)
	m.count += len(ts)
	return m
}

// OptionsTemplate appends one options template flowset (flowset ID 1)
// holding ots. Scope and option lengths are written in bytes, as RFC 3954
// specifies; the flowset is padded to 4 bytes at its end. With no
// templates it appends nothing.
func (m *V9) OptionsTemplate(ots ...OptionsTemplate) *V9 {
	if len(ots) == 0 {
		return m
	}
	b, start := beginSet(m.sets, 1)
	for _, ot := range ots {
		b = binary.BigEndian.AppendUint16(b, ot.ID)
		b = binary.BigEndian.AppendUint16(b, uint16(4*len(ot.Scopes)))
		b = binary.BigEndian.AppendUint16(b, uint16(4*len(ot.Options)))
		b = appendFieldSpecs(b, ot.Scopes, false)
		b = appendFieldSpecs(b, ot.Options, false)
	}
	m.sets = endSet(b, start, true)
	m.count += len(ots)
	return m
}

// Data appends one data flowset (flowset ID t.ID) with a record per flow
// laid out by t, padded to 4 bytes. With no flows it appends nothing.
func (m *V9) Data(t Template, flows ...Flow) *V9 {
	if len(flows) == 0 {
		return m
	}
	b, start := beginSet(m.sets, t.ID)
	for i := range flows {
		b = m.enc.appendRecord(b, t.Fields, &flows[i])
	}
	m.sets = endSet(b, start, true)
	m.count += len(flows)
	return m
}

// OptionsData appends one data flowset (flowset ID ot.ID) with an options
// data record per element of records: each scope and option field takes
// its value from the map (exactly the field's length; missing means zeros).
// A scope and an option of the same type share the map entry. With no
// records it appends nothing.
func (m *V9) OptionsData(ot OptionsTemplate, records ...map[FieldKey][]byte) *V9 {
	if len(records) == 0 {
		return m
	}
	b, start := beginSet(m.sets, ot.ID)
	for _, rec := range records {
		b = appendOptionsRecord(b, ot, rec)
	}
	m.sets = endSet(b, start, true)
	m.count += len(records)
	return m
}

// Count returns the number of records added so far: templates, options
// templates, data and options data records, what the header's Count
// field says (RFC 3954 section 5.1).
func (m *V9) Count() int { return m.count }

// AppendTo appends the packet to b and returns the extended buffer.
func (m *V9) AppendTo(b []byte) []byte {
	b = binary.BigEndian.AppendUint16(b, 9)
	b = binary.BigEndian.AppendUint16(b, uint16(m.count))
	b = binary.BigEndian.AppendUint32(b, uint32(m.h.Uptime.Milliseconds()))
	b = binary.BigEndian.AppendUint32(b, uint32(m.h.ExportTime.Unix()))
	b = binary.BigEndian.AppendUint32(b, m.h.Sequence)
	b = binary.BigEndian.AppendUint32(b, m.h.SourceID)
	return append(b, m.sets...)
}

// Bytes returns the packet in a new slice.
func (m *V9) Bytes() []byte {
	return m.AppendTo(make([]byte, 0, V9HeaderLen+len(m.sets)))
}
