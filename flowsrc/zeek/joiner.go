package zeek

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
)

// Names are what Zeek's application logs tell about one connection, keyed
// by its uid: ssl.log's server_name, ja3 and ja4, http.log's host,
// user_agent, method and first resp_mime_types entry, and dns.log's query
// (normalised: lower case, no trailing dot).
type Names struct {
	SNI, JA3, JA4                                string
	HTTPHost, UserAgent, HTTPMethod, HTTPContent string
	DNSQuery                                     string
}

// IsZero reports whether n holds no name.
func (n *Names) IsZero() bool { return *n == Names{} }

// merge fills the fields of n that are empty from o: the first value
// logged for a connection wins (the first HTTP request of a persistent
// connection, the first DNS query of a transaction's uid).
func (n *Names) merge(o *Names) {
	fill := func(dst *string, src string) {
		if *dst == "" {
			*dst = src
		}
	}
	fill(&n.SNI, o.SNI)
	fill(&n.JA3, o.JA3)
	fill(&n.JA4, o.JA4)
	fill(&n.HTTPHost, o.HTTPHost)
	fill(&n.UserAgent, o.UserAgent)
	fill(&n.HTTPMethod, o.HTTPMethod)
	fill(&n.HTTPContent, o.HTTPContent)
	fill(&n.DNSQuery, o.DNSQuery)
}

// DefaultJoinerCapacity is the capacity NewJoiner uses for capacity <= 0.
const DefaultJoinerCapacity = 1 << 16

const joinerShards = 16

// Joiner is a bounded map from Zeek uid to the Names the application logs
// gave for that connection. Parsers add to it from ssl.log, http.log and
// dns.log lines and take from it when the connection's conn.log line
// arrives: Take removes the entry, since Zeek writes one conn.log entry
// per connection, after the application log entries.
//
// The Joiner holds at most its capacity of uids (rounded up to a multiple
// of 16: it is split evenly over 16 shards by a hash of the uid). An entry
// is evicted, and counted, once capacity/16 newer uids have been added to
// its shard without its connection's conn.log line arriving: the entries
// of connections that never reach conn.log (a conn.log filtered or lost)
// age out first. Each uid costs about 250 bytes plus its names.
//
// A Joiner is safe for concurrent use, so that followers of ssl.log,
// http.log, dns.log and conn.log on several goroutines can share one.
type Joiner struct {
	seed    maphash.Seed
	shards  [joinerShards]joinShard
	evicted atomic.Uint64
}

type joinShard struct {
	mu    sync.Mutex
	m     map[string]joinEntry
	ring  []ringSlot // insertion order; a slot's uid may be gone already
	next  int
	limit int
	seq   uint64
	_     [32]byte
}

type joinEntry struct {
	names Names
	seq   uint64
}

type ringSlot struct {
	uid string
	seq uint64
}

// NewJoiner returns a Joiner holding at most capacity uids
// (DefaultJoinerCapacity when capacity <= 0).
func NewJoiner(capacity int) *Joiner {
	if capacity <= 0 {
		capacity = DefaultJoinerCapacity
	}
	j := &Joiner{seed: maphash.MakeSeed()}
	per := max(1, (capacity+joinerShards-1)/joinerShards)
	for i := range j.shards {
		j.shards[i].m = make(map[string]joinEntry)
		j.shards[i].limit = per
	}
	return j
}

func (j *Joiner) shard(uid string) *joinShard {
	return &j.shards[maphash.String(j.seed, uid)%joinerShards]
}

// Add records names for the connection uid, filling only the fields not
// already known for it. An empty uid or empty names are ignored.
func (j *Joiner) Add(uid string, n Names) {
	if uid == "" || n.IsZero() {
		return
	}
	s := j.shard(uid)
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.m[uid]; ok {
		e.names.merge(&n)
		s.m[uid] = e
		return
	}
	if len(s.ring) < s.limit {
		s.ring = append(s.ring, ringSlot{})
	} else {
		old := s.ring[s.next]
		if e, ok := s.m[old.uid]; ok && e.seq == old.seq {
			delete(s.m, old.uid)
			j.evicted.Add(1)
		}
	}
	s.seq++
	s.ring[s.next] = ringSlot{uid: uid, seq: s.seq}
	s.next = (s.next + 1) % s.limit
	s.m[uid] = joinEntry{names: n, seq: s.seq}
}

// Take returns the names recorded for uid and removes them.
func (j *Joiner) Take(uid string) (Names, bool) {
	if uid == "" {
		return Names{}, false
	}
	s := j.shard(uid)
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.m[uid]
	if ok {
		delete(s.m, uid)
	}
	return e.names, ok
}

// Len returns the number of uids held.
func (j *Joiner) Len() int {
	n := 0
	for i := range j.shards {
		s := &j.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Evicted returns the number of uids evicted to stay within capacity.
func (j *Joiner) Evicted() uint64 { return j.evicted.Load() }
