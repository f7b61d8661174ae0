// Package pdns is a bounded passive-DNS map: which names resolved to an
// address, learned from the DNS answers a sensor logged (Suricata dns
// events, Zeek dns.log), so that a later flow to that address can carry
// the name. Names are what domain IOCs and domain allowlist entries match.
//
// The map keeps at most a fixed number of addresses and up to MaxNames
// names per address, most recent first. When it is full, the address
// least recently observed or looked up is evicted (CLOCK second-chance
// approximation of LRU, per shard), and evictions are counted. It never
// grows beyond its capacity, whatever the input.
//
// A Map is safe for concurrent use; it is sharded so that sources on
// several goroutines rarely contend.
package pdns

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
)

// MaxNames is the number of names kept per address.
const MaxNames = 4

// DefaultCapacity is the capacity New uses for capacity <= 0.
const DefaultCapacity = 1 << 16

const shardCount = 16

// Map is a bounded passive-DNS map from answer address to names.
type Map struct {
	seed    maphash.Seed
	shards  [shardCount]shard
	evicted atomic.Uint64
	// observed is set by the first name observed: until then a lookup
	// answers without hashing or locking (a collector fed only NetFlow
	// looks up every alert's destination in maps that stay empty).
	observed atomic.Bool
}

type shard struct {
	mu    sync.Mutex
	index map[netip.Addr]int32
	slots []slot
	hand  int // CLOCK hand
	limit int
	_     [40]byte
}

type slot struct {
	addr  netip.Addr
	names [MaxNames]string
	used  bool // referenced since the hand last passed
}

// New returns a Map holding at most capacity addresses (DefaultCapacity
// when capacity <= 0).
func New(capacity int) *Map {
	if capacity <= 0 {
		capacity = DefaultCapacity
	}
	m := &Map{seed: maphash.MakeSeed()}
	per := (capacity + shardCount - 1) / shardCount
	for i := range m.shards {
		m.shards[i].index = make(map[netip.Addr]int32)
		m.shards[i].limit = per
	}
	return m
}

func (m *Map) shard(a netip.Addr) *shard {
	b := a.As16()
	return &m.shards[maphash.Bytes(m.seed, b[:])%shardCount]
}

// Normalize returns name in the form the map keeps: lower case, without a
// trailing dot. It returns "" for an empty name or the root.
func Normalize(name string) string {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// Observe records that name resolved to addr. The name is normalised (see
// Normalize) and the address unmapped; an empty name or invalid address is
// ignored. Observing a name the address already has moves it to the front.
func (m *Map) Observe(name string, addr netip.Addr) {
	name = Normalize(name)
	if name == "" || !addr.IsValid() {
		return
	}
	if !m.observed.Load() {
		m.observed.Store(true)
	}
	addr = addr.Unmap().WithZone("")
	s := m.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	if i, ok := s.index[addr]; ok {
		sl := &s.slots[i]
		sl.used = true
		pushFront(&sl.names, name)
		return
	}
	var i int
	if len(s.slots) < s.limit {
		i = len(s.slots)
		s.slots = append(s.slots, slot{})
	} else {
		i = s.victim()
		delete(s.index, s.slots[i].addr)
		m.evicted.Add(1)
	}
	s.slots[i] = slot{addr: addr, names: [MaxNames]string{name}}
	s.index[addr] = int32(i)
}

// victim advances the CLOCK hand to a slot not referenced since its last
// pass and returns it.
func (s *shard) victim() int {
	for {
		i := s.hand
		s.hand = (s.hand + 1) % len(s.slots)
		if !s.slots[i].used {
			return i
		}
		s.slots[i].used = false
	}
}

// pushFront puts name first, keeping the others in order and dropping a
// duplicate or the oldest.
func pushFront(names *[MaxNames]string, name string) {
	j := MaxNames - 1
	for k, n := range names {
		if n == name {
			j = k
			break
		}
	}
	copy(names[1:j+1], names[:j])
	names[0] = name
}

// Lookup returns the name that most recently resolved to addr.
func (m *Map) Lookup(addr netip.Addr) (name string, ok bool) {
	if !m.observed.Load() {
		return "", false
	}
	addr = addr.Unmap().WithZone("")
	s := m.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[addr]
	if !ok {
		return "", false
	}
	s.slots[i].used = true
	return s.slots[i].names[0], true
}

// Names returns up to MaxNames names that resolved to addr, most recent
// first, in a new slice; nil when there are none.
func (m *Map) Names(addr netip.Addr) []string {
	if !m.observed.Load() {
		return nil
	}
	addr = addr.Unmap().WithZone("")
	s := m.shard(addr)
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.index[addr]
	if !ok {
		return nil
	}
	s.slots[i].used = true
	var out []string
	for _, n := range s.slots[i].names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// Len returns the number of addresses held.
func (m *Map) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.index)
		s.mu.Unlock()
	}
	return n
}

// Evicted returns the number of addresses evicted to stay within capacity.
func (m *Map) Evicted() uint64 { return m.evicted.Load() }
