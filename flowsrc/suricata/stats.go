package suricata

import (
	"sync"
	"sync/atomic"
)

// Limits of what Stats keeps.
const (
	// MaxMalformedSamples is how many malformed lines Stats describes in
	// full (the first ones); all of them are counted.
	MaxMalformedSamples = 8
	// MaxEventTypes is how many distinct skipped event types Stats counts
	// by name; lines of further types are counted under OtherEventTypes.
	MaxEventTypes = 64
	// OtherEventTypes is the Skipped key for event types beyond
	// MaxEventTypes, and for names longer than 64 bytes.
	OtherEventTypes = "(other)"
	// MaxNameLen is the longest name (TLS server name, HTTP field, JA3,
	// JA4, DNS name) kept for a flow or the passive-DNS map; a longer one
	// is left out and counted in Stats.LongNames, so that the bounded
	// maps stay bounded in bytes too.
	MaxNameLen = 1024
)

// Stats is a snapshot of a Parser's (or Reader's) counters. Every line is
// counted: as blank, as malformed, as a flow record, as a TLS, HTTP or DNS
// event, or as skipped under its event type.
type Stats struct {
	// Lines is the number of lines read; Blank those that were empty or
	// white space only.
	Lines, Blank uint64
	// Records is the number of flow events turned into records.
	Records uint64
	// TLS, HTTP and DNS count the app-layer events read.
	TLS, HTTP, DNS uint64
	// Skipped counts the lines of every other event type ("netflow",
	// "alert", "stats", ...) by event_type.
	Skipped map[string]uint64
	// Malformed counts lines that were not a JSON object, had no string
	// event_type, or had a field this package reads with a wrong type,
	// an invalid value or (in a flow event) missing. MalformedLines
	// describes the first MaxMalformedSamples of them.
	Malformed      uint64
	MalformedLines []LineError

	// Joined counts records that received names (SNI, HTTP host, ...)
	// from app-layer events of the same flow_id.
	Joined uint64
	// NoFlowID counts TLS, HTTP and DNS events that named something but
	// had no flow_id, so their names could not be joined to a flow.
	NoFlowID uint64
	// Late counts app-layer events that came after their flow's flow
	// event: their names reached no record.
	Late uint64
	// Evicted counts flows whose names were dropped from the pending map,
	// full before their flow event came; Pending is the number of flows
	// whose names are waiting now.
	Evicted uint64
	Pending int

	// DNSAnswers counts the A/AAAA answers given to the passive-DNS map;
	// DNSNoName those that could not be, for want of a name (a grouped
	// answer without the query name).
	DNSAnswers, DNSNoName uint64
	// DNSNamed counts records whose DNSName came from the passive-DNS map,
	// DNSQueryNamed those named by their own DNS query (a flow to a
	// resolver).
	DNSNamed, DNSQueryNamed uint64
	// LongNames counts names left out for being longer than MaxNameLen.
	LongNames uint64
}

type counters struct {
	lines, blank, records   atomic.Uint64
	tls, http, dns          atomic.Uint64
	malformed               atomic.Uint64
	joined, noFlowID, late  atomic.Uint64
	evicted                 atomic.Uint64
	pending                 atomic.Int64
	dnsAnswers, dnsNoName   atomic.Uint64
	dnsNamed, dnsQueryNamed atomic.Uint64
	longNames               atomic.Uint64
	other                   [MaxEventTypes + 1]atomic.Uint64

	mu        sync.Mutex
	samples   []LineError // guarded by mu
	typeNames []string    // guarded by mu; typeNames[i] counts in other[i]
}

func (c *counters) snapshot() Stats {
	s := Stats{
		Lines:         c.lines.Load(),
		Blank:         c.blank.Load(),
		Records:       c.records.Load(),
		TLS:           c.tls.Load(),
		HTTP:          c.http.Load(),
		DNS:           c.dns.Load(),
		Malformed:     c.malformed.Load(),
		Joined:        c.joined.Load(),
		NoFlowID:      c.noFlowID.Load(),
		Late:          c.late.Load(),
		Evicted:       c.evicted.Load(),
		Pending:       int(c.pending.Load()),
		DNSAnswers:    c.dnsAnswers.Load(),
		DNSNoName:     c.dnsNoName.Load(),
		DNSNamed:      c.dnsNamed.Load(),
		DNSQueryNamed: c.dnsQueryNamed.Load(),
		LongNames:     c.longNames.Load(),
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s.MalformedLines = append([]LineError(nil), c.samples...)
	s.Skipped = make(map[string]uint64, len(c.typeNames)+1)
	for i, name := range c.typeNames {
		s.Skipped[name] = c.other[i].Load()
	}
	if n := c.other[MaxEventTypes].Load(); n != 0 {
		s.Skipped[OtherEventTypes] = n
	}
	return s
}

// addSample keeps e if fewer than MaxMalformedSamples are kept.
func (c *counters) addSample(e *LineError) {
	c.mu.Lock()
	if len(c.samples) < MaxMalformedSamples {
		c.samples = append(c.samples, *e)
	}
	c.mu.Unlock()
}

// otherTypes maps skipped event types to their counter; it belongs to the
// parsing goroutine (the names are published to Stats under counters.mu).
type otherTypes struct {
	idx map[string]int
}

func (o *otherTypes) count(c *counters, name []byte) {
	i, ok := o.idx[string(name)]
	if !ok {
		i = MaxEventTypes
		if len(o.idx) < MaxEventTypes && len(name) <= maxQuoted {
			i = len(o.idx)
			s := string(name)
			o.idx[s] = i
			c.mu.Lock()
			c.typeNames = append(c.typeNames, s)
			c.mu.Unlock()
		}
	}
	c.other[i].Add(1)
}
