package suricata

import "sync/atomic"

// names are the app-layer names of one flow, gathered from its tls, http
// and dns events.
type names struct {
	sni, ja3, ja4           string
	host, ua, method, ctype string
	query                   string
}

// merge fills the empty fields of n from o: the first event that names a
// field wins.
func (n *names) merge(o *names) {
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&n.sni, o.sni)
	fill(&n.ja3, o.ja3)
	fill(&n.ja4, o.ja4)
	fill(&n.host, o.host)
	fill(&n.ua, o.ua)
	fill(&n.method, o.method)
	fill(&n.ctype, o.ctype)
	fill(&n.query, o.query)
}

func (n *names) app() bool {
	return n.sni != "" || n.ja3 != "" || n.ja4 != "" || n.host != "" || n.ua != "" ||
		n.method != "" || n.ctype != ""
}

// entry is a flow_id and the insertion it belongs to: a key may be
// removed and inserted again, and only the queue slot of its current
// insertion may evict it.
type entry struct {
	id, gen uint64
}

// fifo is a queue of at most max entries, in insertion order. It is never
// popped but by push when full, so it fills from index 0 before wrapping.
type fifo struct {
	buf  []entry
	head int
	max  int
}

// push appends x and returns the oldest entry when that had to go.
func (q *fifo) push(x entry) (old entry, full bool) {
	if len(q.buf) < q.max {
		q.buf = append(q.buf, x)
		return entry{}, false
	}
	old = q.buf[q.head]
	q.buf[q.head] = x
	q.head++
	if q.head == q.max {
		q.head = 0
	}
	return old, true
}

// pendingMap holds the names of flows whose flow event has not come yet.
// An entry is dropped when max newer flows have been added since it was,
// so at most max flows are pending.
type pendingMap struct {
	m       map[uint64]pendingEntry
	q       fifo
	gen     uint64
	evicted *atomic.Uint64
	size    *atomic.Int64
}

type pendingEntry struct {
	names
	gen uint64
}

func newPendingMap(max int, evicted *atomic.Uint64, size *atomic.Int64) pendingMap {
	return pendingMap{m: make(map[uint64]pendingEntry), q: fifo{max: max}, evicted: evicted, size: size}
}

// add merges n into the names of flow id.
func (pm *pendingMap) add(id uint64, n *names) {
	e, ok := pm.m[id]
	if !ok {
		pm.gen++
		e.gen = pm.gen
		if old, full := pm.q.push(entry{id, e.gen}); full {
			if o, ok := pm.m[old.id]; ok && o.gen == old.gen {
				delete(pm.m, old.id)
				pm.evicted.Add(1)
			}
		}
	}
	e.names.merge(n)
	pm.m[id] = e
	pm.size.Store(int64(len(pm.m)))
}

// take removes and returns the names of flow id.
func (pm *pendingMap) take(id uint64) (names, bool) {
	e, ok := pm.m[id]
	if !ok {
		return names{}, false
	}
	delete(pm.m, id)
	pm.size.Store(int64(len(pm.m)))
	return e.names, true
}

// recentSet remembers the flow_ids of the last max flow events.
type recentSet struct {
	m   map[uint64]uint64 // id -> gen of its newest insertion
	q   fifo
	gen uint64
}

func newRecentSet(max int) recentSet {
	return recentSet{m: make(map[uint64]uint64), q: fifo{max: max}}
}

func (rs *recentSet) add(id uint64) {
	rs.gen++
	rs.m[id] = rs.gen
	if old, full := rs.q.push(entry{id, rs.gen}); full {
		if g, ok := rs.m[old.id]; ok && g == old.gen {
			delete(rs.m, old.id)
		}
	}
}

func (rs *recentSet) has(id uint64) bool {
	_, ok := rs.m[id]
	return ok
}
