package flowsrc

import "sync/atomic"

// DecoderStats is a snapshot of a DatagramDecoder's counters. Every part of
// a datagram that was not turned into a Record is counted under exactly one
// drop reason: nothing is lost silently.
type DecoderStats struct {
	// Datagrams seen per format, whether or not they decoded cleanly.
	NetFlowV5, NetFlowV9, IPFIX, SFlow uint64
	// Records is the number of flow records emitted.
	Records uint64
	// OptionsRecords counts NetFlow v9/IPFIX options data records (read
	// for sampling and system init time, never emitted).
	OptionsRecords uint64
	// Templates counts template and options template records accepted.
	Templates uint64
	// CounterSamples counts sFlow counter samples (counted, not emitted).
	CounterSamples uint64
	// PaddingRecords counts all-zero v9/IPFIX data records (0.0.0.0 to
	// 0.0.0.0, protocol 0, no bytes or packets) read from the zero padding
	// at the end of a set: not flows, not emitted.
	PaddingRecords uint64
	// Drops counts skipped parts by reason.
	Drops DropStats
}

// DropStats counts the parts of datagrams that were skipped, by reason.
// A part is a whole datagram, a set, a template, a sample or a record,
// whichever was the unit that had to be skipped.
type DropStats struct {
	Malformed       uint64 // ErrMalformed
	UnknownFormat   uint64 // ErrUnknownFormat (whole datagrams)
	TemplateMissing uint64 // ErrTemplateMissing (data sets)
	Unsupported     uint64 // ErrUnsupported
	Limit           uint64 // ErrLimit
}

// Total returns the sum of all drop reasons.
func (s DropStats) Total() uint64 {
	return s.Malformed + s.UnknownFormat + s.TemplateMissing + s.Unsupported + s.Limit
}

type dropKind uint8

const (
	dropMalformed dropKind = iota
	dropUnknownFormat
	dropTemplateMissing
	dropUnsupported
	dropLimit
	numDropKinds
)

func dropKindOf(kind error) dropKind {
	switch kind {
	case ErrUnknownFormat:
		return dropUnknownFormat
	case ErrTemplateMissing:
		return dropTemplateMissing
	case ErrUnsupported:
		return dropUnsupported
	case ErrLimit:
		return dropLimit
	}
	return dropMalformed
}

type counters struct {
	datagrams      [FormatSFlow + 1]atomic.Uint64
	records        atomic.Uint64
	options        atomic.Uint64
	templates      atomic.Uint64
	counterSamples atomic.Uint64
	padding        atomic.Uint64
	drops          [numDropKinds]atomic.Uint64

	// Data sets decoded per path (not in DecoderStats: both paths must
	// give the same DecoderStats).
	fastSets, goflowSets atomic.Uint64
}

func (c *counters) snapshot() DecoderStats {
	return DecoderStats{
		NetFlowV5:      c.datagrams[FormatNetFlowV5].Load(),
		NetFlowV9:      c.datagrams[FormatNetFlowV9].Load(),
		IPFIX:          c.datagrams[FormatIPFIX].Load(),
		SFlow:          c.datagrams[FormatSFlow].Load(),
		Records:        c.records.Load(),
		OptionsRecords: c.options.Load(),
		Templates:      c.templates.Load(),
		CounterSamples: c.counterSamples.Load(),
		PaddingRecords: c.padding.Load(),
		Drops: DropStats{
			Malformed:       c.drops[dropMalformed].Load(),
			UnknownFormat:   c.drops[dropUnknownFormat].Load(),
			TemplateMissing: c.drops[dropTemplateMissing].Load(),
			Unsupported:     c.drops[dropUnsupported].Load(),
			Limit:           c.drops[dropLimit].Load(),
		},
	}
}
