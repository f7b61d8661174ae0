package window

import (
	"bytes"
	"cmp"
	"iter"
	"slices"
	"time"

	"github.com/exfilscore/exfilscore/internal/uniq"
)

// Closed is one closed window of an Engine built with NewEngineStream: the
// Writers' partials of that window, read in place. All yields its
// aggregates one at a time in one reused Aggregate, so closing a window
// costs memory per flow record (the grouping of flow hashes, 8 bytes each)
// and per key (a sort index, 16 bytes each), never an Aggregate per key.
//
// A Closed is valid only during the close callback.
type Closed struct {
	start, size int64
	ws, we      time.Time // start and end, for every Aggregate
	parts       []*closedPart
	agg         Aggregate
	count       int // keys, once a walk has reached the end; -1 before
	// from is where the aggregate a walk yielded last came from (one
	// entry per part that holds its key), for Ref.
	from []partEntry
	// refs holds, for each Ref of a window of several parts, the entries
	// of its key: refs[refEnds[r-1]:refEnds[r]].
	refs    []partEntry
	refEnds []uint32
}

// partEntry is entry id of a closed part.
type partEntry struct {
	cp *closedPart
	id uint32
}

// closedPart is one partial with its entries moved into key order (entry
// id i is the i-th key) and its flow hashes grouped by entry.
type closedPart struct {
	p    *partial
	n    uint32   // entries
	off  []uint32 // flows of entry id: hashes[off[id]:off[id+1]]
	hash []uint32 // flow fingerprints
}

// Start and End bound the window.
func (c *Closed) Start() time.Time { return c.ws }

// End is the window's end (exclusive).
func (c *Closed) End() time.Time { return c.we }

// Len returns the number of entries in the window's partials: the number
// of aggregates All yields when no key was split across Writers, an upper
// bound otherwise.
func (c *Closed) Len() int {
	n := 0
	for _, cp := range c.parts {
		n += int(cp.p.ents.n)
	}
	return n
}

// All yields every aggregate of the window in key order (CompareKeys),
// each key once: the records of a key added through several Writers are
// merged, its unique flows counted over the union of their flow hashes, so
// each Aggregate equals the one Aggregator would have built. The
// *Aggregate is reused: it is valid until the next step of the iteration
// and must not be kept (Aggregate.Merge into one of the caller's copies
// it). All may be called several times during the callback; every call
// yields the same sequence.
func (c *Closed) All() iter.Seq[*Aggregate] {
	return func(yield func(*Aggregate) bool) { c.walk(&c.agg, true, yield) }
}

// Totals is All without the unique-flow counts (Unique stays empty), for
// a pass that needs only keys and volumes: it skips the flow hashes. A
// step that needs the count after all takes a Ref for At.
func (c *Closed) Totals() iter.Seq[*Aggregate] {
	return func(yield func(*Aggregate) bool) { c.walk(&c.agg, false, yield) }
}

// Ref names one aggregate of a Closed, for At.
type Ref uint32

// Ref returns a reference to the aggregate the current step of All or
// Totals has yielded, which At fills again later in the same callback: a
// scorer that finds in one pass over Totals the few aggregates it
// reports can then fill only those, unique flows included, instead of
// walking every key a second time. Call it only during a step.
func (c *Closed) Ref() Ref {
	if len(c.parts) == 1 {
		return Ref(c.from[0].id)
	}
	c.refs = append(c.refs, c.from...)
	c.refEnds = append(c.refEnds, uint32(len(c.refs)))
	return Ref(len(c.refEnds) - 1)
}

// At fills the aggregate that r (from Ref) names, with its unique flows,
// into the Aggregate that All and Totals yield, and returns it: the same
// values All yields for it, valid until the next At or step of a walk.
func (c *Closed) At(r Ref) *Aggregate {
	c.entriesOf(r)
	c.fillFrom(&c.agg, c.from, true)
	return &c.agg
}

// entriesOf sets c.from to the entries of the key r names: one per part
// that holds it.
func (c *Closed) entriesOf(r Ref) {
	if len(c.parts) == 1 {
		c.from = append(c.from[:0], partEntry{c.parts[0], uint32(r)})
	} else {
		start := uint32(0)
		if r > 0 {
			start = c.refEnds[r-1]
		}
		c.from = append(c.from[:0], c.refs[start:c.refEnds[r]]...)
	}
}

// SnapshotAt sets s to the snapshot of the aggregate that r (from Ref)
// names: what At(r).Snapshot() returns. A key with at most
// uniq.ExactLimit flow fingerprints over the Writers that held it, and no
// sketch (most keys), has its unique flows counted from them without
// building the Aggregate's counter: a partial keeps each flow of an entry
// once, so a key one Writer held has as many flows as fingerprints, and a
// split key the number of distinct ones among its parts'. Other keys go
// through At. Like At, it reuses the Aggregate that the walks yield.
func (c *Closed) SnapshotAt(r Ref, s *Snapshot) {
	c.entriesOf(r)
	m := uint32(0)
	for _, pe := range c.from {
		if pe.cp.p.ents.at(pe.id).flags()&flagSketch != 0 {
			m = uniq.ExactLimit + 1
			break
		}
		m += pe.cp.off[pe.id+1] - pe.cp.off[pe.id]
	}
	if m > uniq.ExactLimit {
		s.copyFrom(c.At(r))
		return
	}
	c.fillFrom(&c.agg, c.from, false)
	s.copyFrom(&c.agg)
	if len(c.from) > 1 {
		var set printSet
		for _, pe := range c.from {
			for _, fp := range pe.cp.hash[pe.cp.off[pe.id]:pe.cp.off[pe.id+1]] {
				set.add(fp)
			}
		}
		m = set.n
	}
	s.UniqueFlows = uint64(m)
}

// printSet counts distinct flow fingerprints, up to uniq.ExactLimit of
// them: an open-addressing set at most half full.
type printSet struct {
	slots [2 * uniq.ExactLimit]uint32 // 0: empty
	zero  bool                        // fingerprint 0 was added
	n     uint32
}

func (s *printSet) add(fp uint32) {
	if fp == 0 {
		if !s.zero {
			s.zero = true
			s.n++
		}
		return
	}
	const mask = len(s.slots) - 1
	for i := int(fp*0x9e3779b1>>25) & mask; ; i = (i + 1) & mask {
		switch s.slots[i] {
		case fp:
			return
		case 0:
			s.slots[i] = fp
			s.n++
			return
		}
	}
}

// distinct counts the keys of the window (split keys once): known from
// any complete walk, else counted by one.
func (c *Closed) distinct() int {
	if c.count < 0 {
		c.walk(nil, false, func(*Aggregate) bool { return true })
	}
	return c.count
}

// cmpEntries orders entry x of part p and entry y of part q as
// CompareKeys orders their keys, on the packed keys themselves.
func cmpEntries(p *partial, x *entry, q *partial, y *entry) int {
	if c := cmpRefs(p, x.src, x.flags()&flagSrcID != 0, q, y.src, y.flags()&flagSrcID != 0); c != 0 {
		return c
	}
	if c := cmpRefs(p, x.dst, x.flags()&flagDstID != 0, q, y.dst, y.flags()&flagDstID != 0); c != 0 {
		return c
	}
	if c := cmp.Compare(x.portProto(), y.portProto()); c != 0 {
		return c
	}
	return cmp.Compare(p.apps[x.app()], q.apps[y.app()])
}

// cmpRefs orders address reference r of p and s of q as netip.Addr.Compare
// orders their addresses.
func cmpRefs(p *partial, r uint32, rid bool, q *partial, s uint32, sid bool) int {
	if !rid && !sid {
		return cmp.Compare(r, s)
	}
	a, b := p.rec(r, rid), q.rec(s, sid)
	if c := cmp.Compare(a.kind, b.kind); c != 0 {
		return c
	}
	return bytes.Compare(a.a[:], b.a[:])
}

// walk yields the aggregates in key order into g, with their unique flows
// when unique is set; with g nil it only walks the keys and yields nil. A
// walk that reaches the end records the number of keys (c.count).
func (c *Closed) walk(g *Aggregate, unique bool, yield func(*Aggregate) bool) {
	n := 0
	if len(c.parts) == 1 {
		cp := c.parts[0]
		for id := range cp.n {
			if g != nil {
				c.fill(g, cp, id, unique)
				c.from = append(c.from[:0], partEntry{cp, id})
			}
			if !yield(g) {
				return
			}
		}
		c.count = int(cp.n)
		return
	}
	// k-way merge of the parts' sorted entries; equal keys merge.
	heads := make([]uint32, len(c.parts))
	cur := make([]*entry, len(c.parts)) // the head entry of each part, nil when done
	for i, cp := range c.parts {
		if cp.n > 0 {
			cur[i] = cp.p.ents.at(0)
		}
	}
	for {
		lo := -1
		for i, cp := range c.parts {
			if cur[i] != nil && (lo < 0 || cmpEntries(cp.p, cur[i], c.parts[lo].p, cur[lo]) < 0) {
				lo = i
			}
		}
		if lo < 0 {
			c.count = n
			return
		}
		lp, le := c.parts[lo].p, cur[lo]
		c.from = c.from[:0]
		for i, cp := range c.parts {
			if cur[i] == nil || (i != lo && cmpEntries(cp.p, cur[i], lp, le) != 0) {
				continue
			}
			c.from = append(c.from, partEntry{cp, heads[i]})
			if heads[i]++; heads[i] < cp.n {
				cur[i] = cp.p.ents.at(heads[i])
			} else {
				cur[i] = nil
			}
		}
		if g != nil {
			c.fillFrom(g, c.from, unique)
		}
		n++
		if !yield(g) {
			return
		}
	}
}

// fillFrom sets g to the aggregate of the entries of from (one key, an
// entry in each part that holds it), with its unique flows when unique is
// set.
func (c *Closed) fillFrom(g *Aggregate, from []partEntry, unique bool) {
	pe := from[0]
	if len(from) == 1 {
		c.fill(g, pe.cp, pe.id, unique)
		return
	}
	// A split key: its parts' totals are merged first, then converted
	// once.
	e := pe.cp.p.ents.at(pe.id)
	a := pe.cp.p.toAcc(e)
	for _, pe := range from[1:] {
		b := pe.cp.p.toAcc(pe.cp.p.ents.at(pe.id))
		a.merge(&b)
	}
	c.fillAcc(g, pe.cp, e, &a)
	if unique {
		// Sketches first: a key with one is past the exact phase, and
		// its fingerprints then go straight to the registers.
		for _, pe := range from {
			pe.cp.addSketch(g, pe.id)
		}
		for _, pe := range from {
			pe.cp.addPrints(g, pe.id)
		}
	}
}

// fill sets g to entry id of cp.
func (c *Closed) fill(g *Aggregate, cp *closedPart, id uint32, unique bool) {
	e := cp.p.ents.at(id)
	a := cp.p.toAcc(e)
	c.fillAcc(g, cp, e, &a)
	if unique {
		cp.addSketch(g, id)
		cp.addPrints(g, id)
	}
}

// fillAcc sets g to the key of entry e of cp with the totals a, its
// unique-flow counter empty.
func (c *Closed) fillAcc(g *Aggregate, cp *closedPart, e *entry, a *acc) {
	cp.p.keyTo(e, &g.Key)
	g.WindowStart, g.WindowEnd = c.ws, c.we
	a.fill(g)
	g.Unique.Reset()
}

// addSketch merges the sketch of entry id of cp, if it has one, into
// g's unique-flow counter. A counter merged with a sketch before its
// exact values are added holds the same registers as one fed the other
// way round, without an exact phase to go through first.
func (cp *closedPart) addSketch(g *Aggregate, id uint32) {
	if c := cp.p.sketchOf(id, cp.p.ents.at(id)); c != nil {
		g.Unique.Merge(c)
	}
}

// addPrints adds the fingerprints of entry id of cp in its flow set to
// g's unique-flow counter.
func (cp *closedPart) addPrints(g *Aggregate, id uint32) {
	for _, h := range cp.hash[cp.off[id]:cp.off[id+1]] {
		g.Unique.Add(printHash(h))
	}
}

// prepare moves p's entries into key order and groups its flow hashes by
// entry. The walks that follow then read the entries in memory order,
// instead of one cache miss per entry and walk; p's key index is stale
// afterwards (a closed partial is only read, then reset).
func prepare(p *partial) *closedPart {
	cp := &closedPart{p: p, n: p.ents.n}
	n := p.ents.n
	// Interned addresses (IPv6, the zero Addr) ranked in netip.Addr order.
	ids := make([]uint32, p.addrs.n)
	for i := range ids {
		ids[i] = uint32(i)
	}
	slices.SortFunc(ids, func(x, y uint32) int {
		a, b := p.addrs.at(x), p.addrs.at(y)
		if c := cmp.Compare(a.kind, b.kind); c != 0 {
			return c
		}
		return bytes.Compare(a.a[:], b.a[:])
	})
	rank := make([]uint32, p.addrs.n)
	for r, id := range ids {
		rank[id] = uint32(r)
	}
	// sortable maps a reference to a number in netip.Addr order: the zero
	// Addr, then IPv4 by value, then IPv6 by rank.
	sortable := func(r uint32, id bool) uint64 {
		switch {
		case !id:
			return 1<<32 | uint64(r)
		case p.addrs.at(r).kind == 0:
			return 0
		}
		return 2<<32 | uint64(rank[r])
	}
	appIDs := make([]uint8, len(p.apps))
	for i := range appIDs {
		appIDs[i] = uint8(i)
	}
	slices.SortFunc(appIDs, func(x, y uint8) int { return cmp.Compare(p.apps[x], p.apps[y]) })
	var appRank [maxApps + 1]uint8
	for r, id := range appIDs {
		appRank[id] = uint8(r)
	}
	sk := make([]sortKey, n)
	for i := range n {
		e := p.ents.at(i)
		sk[i] = sortKey{src: sortable(e.src, e.flags()&flagSrcID != 0), dst: sortable(e.dst, e.flags()&flagDstID != 0),
			lo: e.k2&^0xff | uint32(appRank[e.app()]), id: i}
	}
	sk = radixSort(sk, make([]sortKey, n))
	order := make([]uint32, n) // order[i]: the id of the i-th key
	newID := make([]uint32, n)
	for i := range sk {
		order[i] = sk[i].id
		newID[sk[i].id] = uint32(i)
	}
	p.permute(order)
	// The flow set grouped by (new) entry id: each entry's share of the
	// set is known from the entry itself (setShare), which saves a
	// counting pass over the set; the grouping checks the shares as it
	// goes, and counts them the long way if one was wrong.
	cp.off = make([]uint32, n+1)
	for i := range n {
		cp.off[i+1] = cp.off[i] + setShare(p.ents.at(i))
	}
	cp.hash = make([]uint32, cp.off[n])
	if !cp.group(p, newID, order) {
		clear(cp.off)
		for _, w := range p.flows {
			if w != 0 {
				cp.off[newID[w>>32-1]+1]++
			}
		}
		for i := range n {
			if p.ents.at(i).flags()&flagOne != 0 {
				cp.off[i+1]++
			}
		}
		for i := uint32(1); i <= n; i++ {
			cp.off[i] += cp.off[i-1]
		}
		cp.hash = make([]uint32, cp.off[n])
		cp.group(p, newID, order)
	}
	return cp
}

// setShare is the number of fingerprints entry e has in its partial's
// flow set, plus its one flow's (flagOne): the flow set holds every flow
// of an entry with several, until they reach sketchAt and the entry's
// further flows go to its sketch.
func setShare(e *entry) uint32 {
	switch f := e.flags(); {
	case f&flagOne != 0:
		return 1
	case f&flagSketch != 0:
		return sketchAt
	}
	return e.uniq
}

// group fills cp.hash with p's flow fingerprints in the ranges cp.off
// gives each entry (newID maps the set's entry ids to cp's; next is
// scratch, n long) and reports whether each entry had exactly its range's
// fingerprints.
func (cp *closedPart) group(p *partial, newID, next []uint32) bool {
	copy(next, cp.off[:cp.n])
	for _, w := range p.flows {
		if w != 0 {
			id := newID[w>>32-1]
			if next[id] == cp.off[id+1] {
				return false
			}
			cp.hash[next[id]] = uint32(w)
			next[id]++
		}
	}
	for i := range cp.n {
		if e := p.ents.at(i); e.flags()&flagOne != 0 {
			if next[i] == cp.off[i+1] {
				return false
			}
			cp.hash[next[i]] = e.uniq
			next[i]++
		}
	}
	for i := range cp.n {
		if next[i] != cp.off[i+1] {
			return false
		}
	}
	return true
}

// permute moves entry order[i] to id i, following the permutation's
// cycles in place; order is destroyed.
func (p *partial) permute(order []uint32) {
	for i := range uint32(len(order)) {
		if order[i] == i {
			continue
		}
		e := *p.ents.at(i)
		j := i
		for {
			k := order[j]
			order[j] = j
			if k == i {
				*p.ents.at(j) = e
				break
			}
			*p.ents.at(j) = *p.ents.at(k)
			j = k
		}
	}
}
