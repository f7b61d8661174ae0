package goflowpb

import (
	"math"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// sniffMaxSize is the largest length prefix Sniff accepts: goflow2's
// messages are a few hundred bytes, and a large prefix is what other
// formats' first bytes look like when read as a varint.
const sniffMaxSize = 1 << 20

// Sniff reports whether prefix, the first bytes of a stream or of a Kafka
// message, looks like goflow2's binary format: a varint length prefix
// followed by FlowMessage fields. It is conservative, to tell goflow2
// output from pcap, JSON lines, Zeek logs and export datagrams:
//
//   - the length must be 1 to 1 MiB;
//   - every field in prefix must be well formed, every FlowMessage field
//     must have the wire type of its schema, and the flow type, protocol,
//     ports and address lengths must be in range;
//   - when the whole message is in prefix, it must decode (as a record or
//     as a message without IP addresses) and carry a time field;
//   - when prefix ends inside the message, at least four whole fields
//     must precede the cut, all of them FlowMessage fields.
//
// Give it a few hundred bytes: a goflow2 message is usually whole in 512.
func Sniff(prefix []byte) bool {
	l, n := uvarint(prefix)
	if n <= 0 || l == 0 || l > sniffMaxSize {
		return false
	}
	body := prefix[n:]
	complete := uint64(len(body)) >= l
	if complete {
		body = body[:l]
	}
	fields, known, hasTime := 0, 0, false
	for i := 0; i < len(body); {
		tag, m := uvarint(body[i:])
		if m == 0 && !complete {
			break
		}
		if m <= 0 {
			return false
		}
		num, wt := tag>>3, uint8(tag&7)
		if num == 0 || num > maxFieldNumber {
			return false
		}
		isKnown, ok := knownField(num, wt)
		if isKnown && !ok {
			return false
		}
		j := i + m
		var v uint64
		var data []byte
		cut := false
		switch wt {
		case wireVarint:
			v, m = uvarint(body[j:])
			cut = m == 0
			if m < 0 {
				return false
			}
			j += m
		case wireFixed64:
			cut = len(body)-j < 8
			j += 8
		case wireFixed32:
			cut = len(body)-j < 4
			j += 4
		case wireBytes:
			ln, m := uvarint(body[j:])
			if m < 0 {
				return false
			}
			cut = m == 0 || ln > uint64(len(body)-j-m)
			if !cut {
				data = body[j+m : j+m+int(ln)]
				j += m + int(ln)
			}
		default:
			return false
		}
		if cut {
			if complete {
				return false
			}
			break
		}
		if !plausible(num, v, data) {
			return false
		}
		fields++
		if isKnown {
			known++
		}
		if num == fieldTimeReceivedNs || num == fieldTimeFlowStartNs || num == fieldTimeFlowEndNs {
			hasTime = true
		}
		i = j
	}
	if !complete {
		return fields >= 4 && known == fields
	}
	if !hasTime || known < 3 {
		return false
	}
	var rec flowsrc.Record
	p, ok := decodeBare(body, &rec)
	return ok || p.kind == ErrNotFlow
}

// plausible checks the value of one field for Sniff.
func plausible(num, v uint64, data []byte) bool {
	switch num {
	case fieldType:
		return v <= 4 // FLOWUNKNOWN, SFLOW_5, NETFLOW_V5, NETFLOW_V9, IPFIX
	case fieldProto:
		return v <= math.MaxUint8
	case fieldSrcPort, fieldDstPort:
		return v <= math.MaxUint16
	case fieldSrcAddr, fieldDstAddr, fieldSamplerAddress:
		return len(data) == 0 || len(data) == 4 || len(data) == 16
	}
	return true
}
