package flowtest

import (
	"encoding/binary"
	"fmt"
	"time"
)

// IPFIXHeader is the header of an IPFIX message (RFC 7011 section 3.1),
// plus the exporter's boot time that some fields are relative to.
type IPFIXHeader struct {
	// ExportTime is the exporter's clock when it sent the message; the
	// header carries whole seconds.
	ExportTime time.Time
	// Sequence counts the data records sent before this message in the
	// observation domain (see [IPFIX.DataRecords]).
	Sequence uint32
	// DomainID is the observation domain ID.
	DomainID uint32
	// SystemInit is the exporter's boot time, the reference of
	// flowStartSysUpTime (22) and flowEndSysUpTime (21), and the value of
	// systemInitTimeMilliseconds (160). It goes in no header field; set it
	// when a template has one of those fields.
	SystemInit time.Time
}

// IPFIXHeaderLen is the size of the IPFIX message header.
const IPFIXHeaderLen = 16

// IPFIX builds one IPFIX message: a header followed by the sets added in
// order. Each method appends one set and returns the builder for chaining.
// Sets are not padded (RFC 7011 makes padding optional). Data records are
// encoded as they are added, against the header given to [NewIPFIX] or
// [IPFIX.Reset].
//
// An IPFIX is not safe for concurrent use.
type IPFIX struct {
	h     IPFIXHeader
	enc   encoder
	sets  []byte
	nData int
}

// NewIPFIX returns a builder for a message with header h.
func NewIPFIX(h IPFIXHeader) *IPFIX {
	m := &IPFIX{}
	return m.Reset(h)
}

// Reset empties m for a new message with header h, keeping its buffer.
func (m *IPFIX) Reset(h IPFIXHeader) *IPFIX {
	m.h = h
	m.enc = encoder{export: time.Unix(h.ExportTime.Unix(), 0), boot: h.SystemInit}
	m.sets = m.sets[:0]
	m.nData = 0
	return m
}

// Template appends one template set (set ID 2) holding ts. Enterprise
// fields get the enterprise bit and their PEN. A template without fields
// is a template withdrawal. With no templates it appends nothing.
func (m *IPFIX) Template(ts ...Template) *IPFIX {
	if len(ts) == 0 {
		return m
	}
	b, start := beginSet(m.sets, 2)
	for _, t := range ts {
		b = binary.BigEndian.AppendUint16(b, t.ID)
		b = binary.BigEndian.AppendUint16(b, uint16(len(t.Fields)))
		b = appendFieldSpecs(b, t.Fields, true)
	}
	m.sets = endSet(b, start, false)
	return m
}

// OptionsTemplate appends one options template set (set ID 3) holding
// ots: field count, scope field count, the scope fields then the option
// fields. With no templates it appends nothing.
func (m *IPFIX) OptionsTemplate(ots ...OptionsTemplate) *IPFIX {
	if len(ots) == 0 {
		return m
	}
	b, start := beginSet(m.sets, 3)
	for _, ot := range ots {
		b = binary.BigEndian.AppendUint16(b, ot.ID)
		b = binary.BigEndian.AppendUint16(b, uint16(len(ot.Scopes)+len(ot.Options)))
		b = binary.BigEndian.AppendUint16(b, uint16(len(ot.Scopes)))
		b = appendFieldSpecs(b, ot.Scopes, true)
		b = appendFieldSpecs(b, ot.Options, true)
	}
	m.sets = endSet(b, start, false)
	return m
}

// Data appends one data set (set ID t.ID) with a record per flow laid out
// by t. With no flows it appends nothing.
func (m *IPFIX) Data(t Template, flows ...Flow) *IPFIX {
	if len(flows) == 0 {
		return m
	}
	b, start := beginSet(m.sets, t.ID)
	for i := range flows {
		b = m.enc.appendRecord(b, t.Fields, &flows[i])
	}
	m.sets = endSet(b, start, false)
	m.nData += len(flows)
	return m
}

// OptionsData appends one data set (set ID ot.ID) with an options data
// record per element of records: each scope and option field takes its
// value from the map (exactly the field's length, any length for a
// variable-length field; missing means zeros or empty). A scope and an
// option of the same key share the map entry. With no records it appends
// nothing.
func (m *IPFIX) OptionsData(ot OptionsTemplate, records ...map[FieldKey][]byte) *IPFIX {
	if len(records) == 0 {
		return m
	}
	b, start := beginSet(m.sets, ot.ID)
	for _, rec := range records {
		b = appendOptionsRecord(b, ot, rec)
	}
	m.sets = endSet(b, start, false)
	m.nData += len(records)
	return m
}

// DataRecords returns the number of data and options data records added
// so far: what the next message's Sequence must grow by (RFC 7011
// section 3.1).
func (m *IPFIX) DataRecords() int { return m.nData }

// AppendTo appends the message to b and returns the extended buffer. It
// panics if the message is longer than 65535 bytes.
func (m *IPFIX) AppendTo(b []byte) []byte {
	n := IPFIXHeaderLen + len(m.sets)
	if n > 0xFFFF {
		panic(fmt.Sprintf("flowtest: IPFIX message is %d bytes long, more than 65535", n))
	}
	b = binary.BigEndian.AppendUint16(b, 10)
	b = binary.BigEndian.AppendUint16(b, uint16(n))
	b = binary.BigEndian.AppendUint32(b, uint32(m.h.ExportTime.Unix()))
	b = binary.BigEndian.AppendUint32(b, m.h.Sequence)
	b = binary.BigEndian.AppendUint32(b, m.h.DomainID)
	return append(b, m.sets...)
}

// Bytes returns the message in a new slice. It panics if the message is
// longer than 65535 bytes.
func (m *IPFIX) Bytes() []byte {
	return m.AppendTo(make([]byte, 0, IPFIXHeaderLen+len(m.sets)))
}
