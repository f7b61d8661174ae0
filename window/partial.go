package window

import (
	"math/bits"
	"net/netip"
	"time"

	"github.com/exfilscore/exfilscore/internal/uniq"
)

// A partial is one Writer's private totals for one window: a Key packed
// into 12 bytes of its entry (an IPv4 address is its own 32-bit value; an
// IPv6 address, rare in practice, is an id in an append-only address
// table; application protocols are 8-bit ids), an open-addressing index
// over 56-byte entries stored in chunks, and an open-addressing set of
// (entry, flow hash) pairs for unique_flows.
// Nothing in it is shared while its Writer owns it; once handed over it is
// read and merged by the engine only.
type partial struct {
	start int64 // window start, ns since the epoch
	ts    timeSplit

	addrs   chunked[addrRec] // interned addresses: IPv6 and the zero Addr
	addrIdx table            // slot → address id+1

	apps    []string // id → application protocol; apps[0] == ""
	appHash []uint64
	lastApp string
	lastID  uint8

	ents   chunked[entry]
	keyIdx table // slot → tag << slotIDBits | entry id+1
	wides  []acc // full-precision totals of entries flagged wide

	// Flow set: one word per (entry, flow) pair, (entry id+1) << 32 | the
	// flow's 32-bit fingerprint (see flowPrint); 0 marks an empty slot.
	flows []uint64
	nflow int

	// Sketches of the entries flagged flagSketch: an entry whose flow set
	// reaches sketchAt fingerprints adds its further flows to a
	// HyperLogLog counter of its own instead (its earlier fingerprints
	// stay in the set; the key's count at close is the union of both).
	// sketches[:nsketch] are in use; the rest are kept for reuse.
	sketches []*uniq.Counter
	nsketch  int
	// pend[i] holds hashes for sketches[i] not yet added: a busy key's
	// registers are updated sketchBatch at a time, so that their cache
	// misses overlap. sketchOf adds them before anyone reads the sketch.
	pend []sketchPend
}

const sketchBatch = 32

type sketchPend struct {
	n int
	h [sketchBatch]uint64
}

// sketchAt is the number of distinct flows of one entry in one partial
// from which its further flows go to a sketch instead of the flow set.
// Beyond uniq.ExactLimit the count is an estimate anyway; the sketch
// turns the random access into the window-sized flow set, which each
// record of a busy key paid, into an access to the key's own 16 KiB of
// registers, which stay in cache while the key is busy. Above it the
// sketch (16 KiB) also costs less memory than the set (8-16 bytes a flow).
const sketchAt = 1024

// entry is a key's running totals and unique-flow state in 56 bytes: the
// packed key, then counters narrowed to what one key of one window needs
// in practice (1 TiB each way, 2^24 packets each way, 2^22 flow records,
// last seen − window start and the duration last − first seen in 82 bits
// of nanoseconds between them, split by the window size: see timeSplit).
// A key whose totals would not fit is moved, once and exactly, to p.wides
// (flagWide), where every counter is 64 bits: the narrowing costs memory
// for those keys (72 bytes each), never precision.
//
// 56 bytes rather than one 64-byte cache line: an entry straddles two
// lines in six of eight positions (Prefetch loads both); aggregating
// known keys costs some 8% more for it, adding new ones less (benchmarks/
// BENCHMARKS.md, 2026-12-06, second session).
type entry struct {
	// addresses: an IPv4 value, or an id in addrs (flagSrcID, flagDstID)
	src, dst uint32
	k2       uint32 // dst port << 16 | proto << 8 | app id
	// Distinct flows in this partial; with flagSketch, the index in
	// sketches; with flagOne, the one flow's fingerprint.
	uniq uint32
	up   uint64 // upload bytes (40 bits) | packets up << 40; with flagWide, the index in wides
	down uint64 // download bytes (40 bits) | packets down << 40
	lg   uint64 // largest flow bytes (40 bits) | its src port << 40 | flags << 56
	tm   uint64 // last seen − window start (lastBits) | duration << lastBits (its low 64 − lastBits bits)
	x    uint64 // largest flow's dst port | mark << 16 | flows << 24 (22 bits) | duration >> (64 − lastBits) << 46
}

const (
	bytesBits = 40
	maxBytes  = 1<<bytesBits - 1 // bytes each way, and the largest flow's
	maxPkts   = 1<<(64-bytesBits) - 1
	flowsBits = 22
	maxFlows  = 1<<flowsBits - 1
	durHigh   = 24 + flowsBits // the duration's high bits in x
	timeBits  = 64 + 64 - durHigh

	flagWide  = 1
	flagSrcID = 2 // src is an id in addrs, not an IPv4 address
	flagDstID = 4 // dst is an id in addrs
	flagsAddr = flagSrcID | flagDstID
	// flagSketch: the entry's further flows go to sketches[uniq[id]].
	flagSketch = 8
	// flagSeeded: the entry's sketch holds its flow-set fingerprints too.
	flagSeeded = 16
	// flagOne: the entry has one distinct flow, whose fingerprint is in
	// its uniq slot instead of the flow set.
	flagOne = 32
)

func (e *entry) upBytes() uint64   { return e.up & maxBytes }
func (e *entry) downBytes() uint64 { return e.down & maxBytes }
func (e *entry) pktsUp() uint64    { return e.up >> bytesBits }
func (e *entry) pktsDown() uint64  { return e.down >> bytesBits }
func (e *entry) lgBytes() uint64   { return e.lg & maxBytes }
func (e *entry) flowN() uint64     { return e.x >> 24 & maxFlows }
func (e *entry) mark() uint8       { return uint8(e.x >> 16) }
func (e *entry) flags() uint8      { return uint8(e.lg >> 56) }
func (e *entry) setMark(m uint8)   { e.x = e.x&^(0xff<<16) | uint64(m)<<16 }
func (e *entry) setFlag(f uint8)   { e.lg |= uint64(f) << 56 }
func (e *entry) clearFlag(f uint8) { e.lg &^= uint64(f) << 56 }
func (e *entry) wide() bool        { return e.flags()&flagWide != 0 }
func (e *entry) wideIdx() uint32   { return uint32(e.up) }
func (e *entry) lsport() uint16    { return uint16(e.lg >> bytesBits) }
func (e *entry) ldport() uint16    { return uint16(e.x) }
func (e *entry) dstPort() uint16   { return uint16(e.k2 >> 16) }
func (e *entry) proto() uint8      { return uint8(e.k2 >> 8) }
func (e *entry) app() uint8        { return uint8(e.k2) }
func (e *entry) portProto() uint32 { return e.k2 >> 8 }
func (e *entry) addrFlags() uint8  { return e.flags() & flagsAddr }

// timeSplit is how an entry's 82 bits of time are shared: lastBits for
// last seen − window start, which is below the window size, and the rest
// for the duration last − first seen: 42 bits (73 minutes) with 15-minute
// windows, 40 (18 minutes) with hourly ones, 35 (34 s) with daily ones.
type timeSplit struct {
	lastBits uint8
	maxLast  int64
	maxDur   int64
}

func splitFor(size int64) timeSplit {
	lb := uint8(bits.Len64(uint64(size - 1)))
	return timeSplit{lastBits: lb, maxLast: 1<<lb - 1, maxDur: 1<<(timeBits-lb) - 1}
}

func (t *timeSplit) lastOff(e *entry) int64 { return int64(e.tm) & t.maxLast }
func (t *timeSplit) dur(e *entry) int64 {
	return int64(e.tm>>t.lastBits | e.x>>durHigh<<(64-t.lastBits))
}
func (t *timeSplit) firstOff(e *entry) int64 { return t.lastOff(e) - t.dur(e) }

// fits reports whether totals of these sizes fit the compact entry of a
// partial whose window starts at start; first and last are ns since the
// epoch. Times are compared as they are, never as offsets that could wrap
// (last − maxDur could only for a window in the first weeks of 1677).
func (t *timeSplit) fits(start int64, flows, up, down, pu, pd, largest uint64, first, last int64) bool {
	lo := last - start
	return flows <= maxFlows && up <= maxBytes && down <= maxBytes && largest <= maxBytes &&
		pu <= maxPkts && pd <= maxPkts && last >= start && lo >= 0 && lo <= t.maxLast && first <= last && first >= last-t.maxDur
}

// set writes compact totals that fit (see fits) into e, keeping its flags.
func (t *timeSplit) set(e *entry, start int64, flows, up, down, pu, pd, largest uint64, lsport, ldport uint16, mark uint8, first, last int64) {
	lo, d := uint64(last-start), uint64(last-first)
	e.up = up | pu<<bytesBits
	e.down = down | pd<<bytesBits
	e.lg = largest | uint64(lsport)<<bytesBits | e.lg&(0xff<<56)
	e.tm = lo | d<<t.lastBits
	e.x = uint64(ldport) | uint64(mark)<<16 | flows<<24 | d>>(64-t.lastBits)<<durHigh
}

// acc is an entry's totals at full precision.
type acc struct {
	flows, up, down  uint64
	pktsUp, pktsDown uint64
	largest          uint64
	first, last      int64 // ns since the epoch
	lsport, ldport   uint16
	mark             uint8
}

// startOf returns the time first_seen takes from o (its start, or its end
// when the start is missing or after the end), as the reference does.
func startOf(o *Obs, end int64) int64 {
	if o.Start.IsZero() || o.Start.After(o.End) {
		return end
	}
	return o.Start.UnixNano()
}

// add folds o into a exactly like Aggregate.add.
func (a *acc) add(o *Obs, first, end int64) {
	a.flows++
	a.up += o.Upload
	a.down += o.Download
	a.pktsUp += o.PktsUp
	a.pktsDown += o.PktsDown
	if a.flows == 1 || first < a.first {
		a.first = first
	}
	if a.flows == 1 || end > a.last {
		a.last = end
	}
	if b := o.Upload + o.Download; b > a.largest || a.flows == 1 {
		a.largest, a.lsport, a.ldport = b, o.SrcPort, o.DstPort
	}
}

// merge folds b into a exactly like Aggregate.Merge.
func (a *acc) merge(b *acc) {
	if b.flows == 0 {
		return
	}
	a.mark = max(a.mark, b.mark)
	if a.flows == 0 || b.largest > a.largest {
		a.largest, a.lsport, a.ldport = b.largest, b.lsport, b.ldport
	}
	if a.flows == 0 || b.first < a.first {
		a.first = b.first
	}
	if a.flows == 0 || b.last > a.last {
		a.last = b.last
	}
	a.flows += b.flows
	a.up += b.up
	a.down += b.down
	a.pktsUp += b.pktsUp
	a.pktsDown += b.pktsDown
}

// addrRec is an address: its 16 bytes and its kind (0 for the zero Addr,
// 4 or 6). Only kinds 0 and 6 are interned; IPv4 records are built from
// their reference when needed (rec).
type addrRec struct {
	a    [16]byte
	kind uint8
}

func (r *addrRec) addr() netip.Addr {
	switch r.kind {
	case 4:
		return netip.AddrFrom4([4]byte(r.a[12:16]))
	case 6:
		return netip.AddrFrom16(r.a)
	}
	return netip.Addr{}
}

func (r *addrRec) hash() uint64 {
	if r.kind == 4 {
		return hash4(be32(r.a[12:16]))
	}
	return mix(mix2(le64(r.a[0:8])^uint64(r.kind), le64(r.a[8:16])))
}

// hash4 is the hash of the IPv4 address whose value is v.
func hash4(v uint32) uint64 { return mix(uint64(v) | 4<<32) }

func be32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// rec returns the address record of reference r (an id in addrs when id is
// set, else an IPv4 value).
func (p *partial) rec(r uint32, id bool) addrRec {
	if id {
		return *p.addrs.at(r)
	}
	return addrRec{a: [16]byte{10: 0xff, 11: 0xff, 12: byte(r >> 24), 13: byte(r >> 16), 14: byte(r >> 8), 15: byte(r)}, kind: 4}
}

// refHash returns the hash of reference r.
func (p *partial) refHash(r uint32, id bool) uint64 {
	if id {
		return p.addrs.at(r).hash()
	}
	return hash4(r)
}

// mix2 folds two words: the XOR of both halves of a 128-bit product of
// salted inputs.
func mix2(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a^0x243f6a8885a308d3, b^0x13198a2e03707344)
	return hi ^ lo
}

func keyHash(hs, hd uint64, portProto uint32, ah uint64) uint64 {
	return mix(hs ^ bits.RotateLeft64(hd, 29) ^ uint64(portProto)*0x9e3779b97f4a7c15 ^ ah)
}

func appStringHash(s string) uint64 {
	h := uint64(0xcbf29ce484222325)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 0x100000001b3
	}
	return mix(h)
}

// maxApps is the number of distinct application protocols (besides "")
// one partial can intern.
const maxApps = 255

// chunked is an append-only array stored in fixed-size chunks, so growing
// it never copies and wastes at most one chunk.
type chunked[T any] struct {
	chunks [][]T
	n      uint32
}

const (
	chunkBits = 10
	chunkLen  = 1 << chunkBits
)

func (c *chunked[T]) at(i uint32) *T { return &c.chunks[i>>chunkBits][i&(chunkLen-1)] }

func (c *chunked[T]) push() (uint32, *T) {
	i := c.n
	if int(i>>chunkBits) == len(c.chunks) {
		c.chunks = append(c.chunks, make([]T, chunkLen))
	}
	c.n++
	p := c.at(i)
	var zero T
	*p = zero
	return i, p
}

// table is an open-addressing index of ids+1 (0 is empty), linear probing,
// at most 13/16 full. Its size is any number of slots, not a power of
// two: a hash's home slot is its high 32 bits scaled to the size (a
// multiply, not a mask), so that the table grows by half instead of
// doubling: 4.9 to 7.4 bytes a key instead of 5.3 to 10.7 (a power of two
// at most 3/4 full). Fuller than 13/16, probes for new keys lengthen.
type table struct {
	slots []uint32
	n     int
}

// minSlots is a table's smallest size.
const minSlots = 1024

// home returns the slot where hash h's probe starts.
func (t *table) home(h uint64) uint64 { return (h >> 32) * uint64(len(t.slots)) >> 32 }

// next returns the slot after i.
func (t *table) next(i uint64) uint64 {
	if i++; i == uint64(len(t.slots)) {
		return 0
	}
	return i
}

// init empties t and sizes it to n slots, reusing its memory when it can.
func (t *table) init(n int) {
	if cap(t.slots) >= n {
		t.slots = t.slots[:n]
		clear(t.slots)
	} else {
		t.slots = make([]uint32, n)
	}
	t.n = 0
}

func (t *table) full() bool { return (t.n+1)*16 > len(t.slots)*13 }

// grown is the size t grows to when full.
func grown(n int) int { return n + n/2 }

// indexSize returns the size of a table that holds n ids without growing:
// the size that growth from minSlots reaches for n.
func indexSize(n int) int {
	l := minSlots
	for (n+1)*16 > l*13 {
		l = grown(l)
	}
	return l
}

// newPartial returns an empty partial for windows of size ns.
func newPartial(size int64) *partial {
	p := &partial{ts: splitFor(size)}
	p.addrIdx.init(minSlots)
	p.keyIdx.init(minSlots)
	p.flows = make([]uint64, 1<<10)
	p.apps = append(p.apps, "")
	p.appHash = append(p.appHash, appStringHash(""))
	return p
}

// reset empties p for another window, keeping its memory.
func (p *partial) reset(start int64) {
	p.start = start
	p.addrs.n = 0
	p.addrIdx.init(len(p.addrIdx.slots))
	p.apps, p.appHash = p.apps[:1], p.appHash[:1]
	p.lastApp, p.lastID = "", 0
	// The key index starts at the size the last window's keys needed:
	// clearing it costs less than growing it again (each growth rehashes
	// every entry, a cache miss each). Sized by those keys, not by the
	// table, so that one burst window does not leave every later one a
	// huge table to clear.
	p.keyIdx.init(indexSize(int(p.ents.n)))
	p.ents.n = 0
	p.wides = p.wides[:0]
	clear(p.flows)
	p.nflow = 0
	for i, c := range p.sketches[:p.nsketch] {
		c.Reset()
		p.pend[i].n = 0
	}
	p.nsketch = 0
}

// addFlowTo records flow hash fh for entry id (e): the first flow's
// fingerprint in the entry's uniq slot (most keys of a window have one
// flow: they never touch the flow set), the second and further ones in
// the flow set, or in the entry's sketch once it has one; an entry whose
// set count reaches sketchAt gets one.
func (p *partial) addFlowTo(id uint32, e *entry, fh uint64) {
	u := &e.uniq
	switch f := e.flags(); {
	case f&flagSketch != 0:
		b := &p.pend[*u]
		b.h[b.n] = printHash(flowPrint(fh))
		if b.n++; b.n == sketchBatch {
			p.sketches[*u].AddMany(b.h[:])
			b.n = 0
		}
		return
	case f&flagOne != 0:
		fp := flowPrint(fh)
		if fp == *u {
			return
		}
		p.addPrint(uint64(id+1)<<32 | uint64(*u))
		p.addPrint(uint64(id+1)<<32 | uint64(fp))
		*u = 2
		e.clearFlag(flagOne)
		return
	case *u == 0:
		*u = flowPrint(fh)
		e.setFlag(flagOne)
		return
	}
	if p.addFlow(id, fh) {
		if *u++; *u >= sketchAt {
			p.toSketch(e, u)
		}
	}
}

// toSketch gives entry e (whose uniq slot is u) a sketch.
func (p *partial) toSketch(e *entry, u *uint32) {
	if p.nsketch == len(p.sketches) {
		p.sketches = append(p.sketches, new(uniq.Counter))
		p.pend = append(p.pend, sketchPend{})
	}
	*u = uint32(p.nsketch)
	p.nsketch++
	e.setFlag(flagSketch)
}

// sketchOf returns entry e's sketch (id its id), nil when it has none.
func (p *partial) sketchOf(id uint32, e *entry) *uniq.Counter {
	if e.flags()&flagSketch == 0 {
		return nil
	}
	c := p.sketches[e.uniq]
	if b := &p.pend[e.uniq]; b.n > 0 {
		c.AddMany(b.h[:b.n])
		b.n = 0
	}
	return c
}

// unique returns the local count of distinct flows of entry id (e):
// exact below sketchAt, beyond it the sketch's estimate. The first time
// it is asked of a sketched entry, the entry's fingerprints in the flow
// set are added to its sketch (one pass over the set, at most once per
// entry and window, and only when an early mark needs the count), so that
// the estimate covers all its flows.
func (p *partial) unique(id uint32, e *entry) uint64 {
	c := p.sketchOf(id, e)
	if c == nil {
		if e.flags()&flagOne != 0 {
			return 1
		}
		return uint64(e.uniq)
	}
	if e.flags()&flagSeeded == 0 {
		tag := uint64(id + 1)
		for _, w := range p.flows {
			if w>>32 == tag {
				c.Add(printHash(uint32(w)))
			}
		}
		e.setFlag(flagSeeded)
	}
	return c.Count()
}

// ref returns the reference of a in p (its value for IPv4, which needs no
// table; an id for any other address, interned) and its hash; ok is false
// for an address with a zone.
func (p *partial) ref(a netip.Addr) (r uint32, id bool, h uint64, ok bool) {
	if a.Is4() {
		b := a.As4()
		v := be32(b[:])
		return v, false, hash4(v), true
	}
	var rec addrRec
	if a.Is6() {
		if a.Zone() != "" {
			return 0, false, 0, false
		}
		rec.kind = 6
	}
	rec.a = a.As16()
	h = rec.hash()
	return p.internAddr(&rec, h), true, h, true
}

// addrFlags returns the entry flags of a key whose src and dst references
// are ids (sid, did).
func addrFlags(sid, did bool) uint8 {
	var f uint8
	if sid {
		f |= flagSrcID
	}
	if did {
		f |= flagDstID
	}
	return f
}

func (p *partial) internAddr(r *addrRec, h uint64) uint32 {
	t := &p.addrIdx
	for i := t.home(h); ; i = t.next(i) {
		s := t.slots[i]
		if s == 0 {
			if t.full() {
				p.growAddrs()
				return p.internAddr(r, h)
			}
			id, q := p.addrs.push()
			*q = *r
			t.slots[i] = id + 1
			t.n++
			return id
		}
		if *p.addrs.at(s - 1) == *r {
			return s - 1
		}
	}
}

func (p *partial) growAddrs() {
	t := &p.addrIdx
	t.slots = make([]uint32, grown(len(t.slots)))
	for id := uint32(0); id < p.addrs.n; id++ {
		i := t.home(p.addrs.at(id).hash())
		for t.slots[i] != 0 {
			i = t.next(i)
		}
		t.slots[i] = id + 1
	}
}

// appID interns s; ok is false when the table is full.
func (p *partial) appID(s string) (uint8, uint64, bool) {
	if s == "" {
		return 0, p.appHash[0], true
	}
	if s == p.lastApp {
		return p.lastID, p.appHash[p.lastID], true
	}
	for i := 1; i < len(p.apps); i++ {
		if p.apps[i] == s {
			p.lastApp, p.lastID = s, uint8(i)
			return uint8(i), p.appHash[i], true
		}
	}
	if len(p.apps) > maxApps {
		return 0, 0, false
	}
	p.apps = append(p.apps, s)
	p.appHash = append(p.appHash, appStringHash(s))
	p.lastApp, p.lastID = s, uint8(len(p.apps)-1)
	return p.lastID, p.appHash[p.lastID], true
}

func (p *partial) entryHash(e *entry) uint64 {
	f := e.addrFlags()
	return keyHash(p.refHash(e.src, f&flagSrcID != 0), p.refHash(e.dst, f&flagDstID != 0), e.portProto(), p.appHash[e.app()])
}

// A key index slot holds the entry's id+1 in its low slotIDBits bits and,
// above them, a tag of the key's hash, so that a probe loads only the
// entries whose tag matches (one in 64 of the others).
const (
	slotIDBits = 26
	slotIDMask = 1<<slotIDBits - 1
	// maxEntries is the number of keys one partial holds; more are
	// rejected (a Writer would then hold some 4 GiB for one window).
	maxEntries = slotIDMask - 1
)

func slotTag(kh uint64) uint32 { return uint32(kh) >> slotIDBits << slotIDBits }

// lookup finds or inserts the entry of (src, dst, k2, address flags af)
// whose hash is kh. A new entry is zeroed. ok is false when p is full (maxEntries).
func (p *partial) lookup(kh uint64, src, dst, k2 uint32, af uint8) (id uint32, e *entry, ok bool) {
	t := &p.keyIdx
	tag := slotTag(kh)
	for i := t.home(kh); ; i = t.next(i) {
		s := t.slots[i]
		if s == 0 {
			if p.ents.n >= maxEntries {
				return 0, nil, false
			}
			if t.full() {
				p.growKeys()
				return p.lookup(kh, src, dst, k2, af)
			}
			id, e := p.ents.push()
			e.src, e.dst, e.k2 = src, dst, k2
			e.lg = uint64(af) << 56
			t.slots[i] = tag | (id + 1)
			t.n++
			return id, e, true
		}
		if s&^slotIDMask != tag {
			continue
		}
		e := p.ents.at(s&slotIDMask - 1)
		if e.src == src && e.dst == dst && e.k2 == k2 && e.addrFlags() == af {
			return s&slotIDMask - 1, e, true
		}
	}
}

func (p *partial) growKeys() {
	t := &p.keyIdx
	n := t.n
	t.init(grown(len(t.slots))) // in a recycled partial's memory when it can (see reset)
	t.n = n
	for id := uint32(0); id < p.ents.n; id++ {
		kh := p.entryHash(p.ents.at(id))
		i := t.home(kh)
		for t.slots[i] != 0 {
			i = t.next(i)
		}
		t.slots[i] = slotTag(kh) | (id + 1)
	}
}

// flowPrint is the 32-bit fingerprint a flow set keeps of a FlowHash.
// Two distinct flows of one key collide with probability 2^-32 per pair
// (one key with 10^4 flows: about 1 in 86 000 that any pair does).
func flowPrint(h uint64) uint32 { return uint32(h) ^ uint32(h>>32) }

// printHash widens a fingerprint back to a well-mixed 64-bit hash for the
// unique-flow counter.
func printHash(fp uint32) uint64 { return mix(uint64(fp) | 1<<40) }

// addFlow records flow hash fh for entry id in the flow set and reports
// whether it is new.
func (p *partial) addFlow(id uint32, fh uint64) bool {
	return p.addPrint(uint64(id+1)<<32 | uint64(flowPrint(fh)))
}

func (p *partial) addPrint(w uint64) bool {
	mask := uint64(len(p.flows) - 1)
	shift := 64 - uint(bits.TrailingZeros(uint(len(p.flows))))
	for i := mix(w) >> shift; ; i = (i + 1) & mask {
		s := p.flows[i]
		if s == 0 {
			if (p.nflow+1)*8 > len(p.flows)*7 {
				p.growFlows()
				return p.addPrint(w)
			}
			p.flows[i] = w
			p.nflow++
			return true
		}
		if s == w {
			return false
		}
	}
}

func (p *partial) growFlows() {
	old := p.flows
	n := 2 * len(old)
	p.flows = make([]uint64, n)
	mask := uint64(n - 1)
	shift := 64 - uint(bits.TrailingZeros(uint(n)))
	for _, w := range old {
		if w == 0 {
			continue
		}
		i := mix(w) >> shift
		for p.flows[i] != 0 {
			i = (i + 1) & mask
		}
		p.flows[i] = w
	}
}

// update folds o into entry e (id) of p: the compact fast path, or the
// wide one when a value does not fit.
func (p *partial) update(id uint32, e *entry, o *Obs, first, end int64) {
	if e.wide() {
		p.wides[e.wideIdx()].add(o, first, end)
		return
	}
	f, l := first, end
	n := e.flowN()
	if n != 0 {
		f, l = min(f, p.start+p.ts.firstOff(e)), max(l, p.start+p.ts.lastOff(e))
	}
	// Each term is checked before it is summed: the sums cannot wrap.
	b := o.Upload + o.Download
	lg, lsp, ldp := e.lgBytes(), e.lsport(), e.ldport()
	if n == 0 || b > lg {
		lg, lsp, ldp = b, o.SrcPort, o.DstPort
	}
	if o.Upload > maxBytes || o.Download > maxBytes || o.PktsUp > maxPkts || o.PktsDown > maxPkts ||
		!p.ts.fits(p.start, n+1, e.upBytes()+o.Upload, e.downBytes()+o.Download, e.pktsUp()+o.PktsUp, e.pktsDown()+o.PktsDown, lg, f, l) {
		a := p.toAcc(e)
		a.add(o, first, end)
		p.goWide(e, &a)
		return
	}
	p.ts.set(e, p.start, n+1, e.upBytes()+o.Upload, e.downBytes()+o.Download, e.pktsUp()+o.PktsUp, e.pktsDown()+o.PktsDown,
		lg, lsp, ldp, e.mark(), f, l)
}

// toAcc reads entry e at full precision.
func (p *partial) toAcc(e *entry) acc {
	if e.wide() {
		a := p.wides[e.wideIdx()]
		a.mark = e.mark()
		return a
	}
	return acc{
		flows: e.flowN(), up: e.upBytes(), down: e.downBytes(),
		pktsUp: e.pktsUp(), pktsDown: e.pktsDown(),
		largest: e.lgBytes(), lsport: e.lsport(), ldport: e.ldport(),
		first: p.start + p.ts.firstOff(e), last: p.start + p.ts.lastOff(e), mark: e.mark(),
	}
}

// goWide moves e's totals to a (which already holds them) in p.wides.
func (p *partial) goWide(e *entry, a *acc) {
	e.up, e.down, e.tm = uint64(len(p.wides)), 0, 0
	e.lg = uint64(e.flags()|flagWide) << 56
	e.x = uint64(a.mark) << 16
	p.wides = append(p.wides, *a)
}

// store writes a into entry e, compactly when it fits.
func (p *partial) store(e *entry, a *acc) {
	if e.wide() {
		p.wides[e.wideIdx()] = *a
		e.setMark(a.mark)
		return
	}
	if !p.ts.fits(p.start, a.flows, a.up, a.down, a.pktsUp, a.pktsDown, a.largest, a.first, a.last) {
		p.goWide(e, a)
		return
	}
	p.ts.set(e, p.start, a.flows, a.up, a.down, a.pktsUp, a.pktsDown, a.largest, a.lsport, a.ldport, a.mark, a.first, a.last)
}

// keyTo rebuilds the Key of e into k.
func (p *partial) keyTo(e *entry, k *Key) {
	// Field by field: a Key built whole and then copied is written with
	// 8-byte stores and read back with 16-byte loads, which wait for the
	// stores to retire (a fifth of Closed.fill's time).
	f := e.addrFlags()
	k.Src, k.Dst = p.addrOf(e.src, f&flagSrcID != 0), p.addrOf(e.dst, f&flagDstID != 0)
	k.DstPort, k.Proto, k.AppProto = e.dstPort(), e.proto(), p.apps[e.app()]
}

// addrOf returns the address of reference r.
func (p *partial) addrOf(r uint32, id bool) netip.Addr {
	if id {
		return p.addrs.at(r).addr()
	}
	return netip.AddrFrom4([4]byte{byte(r >> 24), byte(r >> 16), byte(r >> 8), byte(r)})
}

// mergeFrom folds b (same window) into p and reports false, leaving p
// partly merged, only when p's application table overflows (or, before
// touching anything, when the two could exceed maxEntries); the caller
// then falls back to merging Aggregates.
func (p *partial) mergeFrom(b *partial) bool {
	if int(p.ents.n)+int(b.ents.n) > maxEntries {
		return false
	}
	var appMap [maxApps + 1]uint8
	for i := 1; i < len(b.apps); i++ {
		id, _, ok := p.appID(b.apps[i])
		if !ok {
			return false
		}
		appMap[i] = id
	}
	addrMap := make([]uint32, b.addrs.n)
	addrH := make([]uint64, b.addrs.n)
	for i := uint32(0); i < b.addrs.n; i++ {
		r := b.addrs.at(i)
		addrH[i] = r.hash()
		addrMap[i] = p.internAddr(r, addrH[i])
	}
	entMap := make([]uint32, b.ents.n)
	for i := uint32(0); i < b.ents.n; i++ {
		be := b.ents.at(i)
		app := appMap[be.app()]
		f := be.addrFlags()
		src, dst, hs, hd := be.src, be.dst, hash4(be.src), hash4(be.dst)
		if f&flagSrcID != 0 {
			src, hs = addrMap[src], addrH[src]
		}
		if f&flagDstID != 0 {
			dst, hd = addrMap[dst], addrH[dst]
		}
		kh := keyHash(hs, hd, be.portProto(), p.appHash[app])
		id, e, _ := p.lookup(kh, src, dst, be.k2&^0xff|uint32(app), f) // cannot be full: see above
		entMap[i] = id
		if bs := b.sketchOf(i, be); bs != nil {
			if f := e.flags(); f&flagSketch == 0 {
				fp := e.uniq
				p.toSketch(e, &e.uniq)
				if f&flagOne != 0 { // its one flow moves into the sketch
					e.clearFlag(flagOne)
					p.sketchOf(id, e).Add(printHash(fp))
				}
			}
			p.sketchOf(id, e).Merge(bs)
		}
		ba := b.toAcc(be)
		if !e.wide() && e.flowN() == 0 {
			p.store(e, &ba)
			continue
		}
		a := p.toAcc(e)
		a.merge(&ba)
		p.store(e, &a)
	}
	// flowPrint of a 32-bit value is itself: fingerprints pass as hashes.
	for _, w := range b.flows {
		if w != 0 {
			id := entMap[w>>32-1]
			p.addFlowTo(id, p.ents.at(id), uint64(uint32(w)))
		}
	}
	for i := uint32(0); i < b.ents.n; i++ {
		if b.ents.at(i).flags()&flagOne != 0 {
			id := entMap[i]
			p.addFlowTo(id, p.ents.at(id), uint64(b.ents.at(i).uniq))
		}
	}
	return true
}

// aggregates converts p into Aggregates (unsorted), feeding each key's
// flow hashes to its unique-flow counter.
func (p *partial) aggregates(size int64) []*Aggregate {
	ws, we := time.Unix(0, p.start).UTC(), time.Unix(0, p.start+size).UTC()
	aggs := make([]Aggregate, p.ents.n)
	out := make([]*Aggregate, p.ents.n)
	for i := uint32(0); i < p.ents.n; i++ {
		e := p.ents.at(i)
		a := p.toAcc(e)
		g := &aggs[i]
		p.keyTo(e, &g.Key)
		g.WindowStart, g.WindowEnd = ws, we
		a.fill(g)
		out[i] = g
	}
	for _, w := range p.flows {
		if w != 0 {
			aggs[w>>32-1].Unique.Add(printHash(uint32(w)))
		}
	}
	for i := uint32(0); i < p.ents.n; i++ {
		e := p.ents.at(i)
		if e.flags()&flagOne != 0 {
			aggs[i].Unique.Add(printHash(e.uniq))
		}
		if c := p.sketchOf(i, e); c != nil {
			aggs[i].Unique.Merge(c)
		}
	}
	return out
}

// fill copies a's totals into g (not Key, window or Unique).
func (a *acc) fill(g *Aggregate) {
	g.FlowCount, g.Upload, g.Download = a.flows, a.up, a.down
	g.PktsUp, g.PktsDown = a.pktsUp, a.pktsDown
	g.FirstSeen, g.LastSeen = time.Unix(0, a.first).UTC(), time.Unix(0, a.last).UTC()
	g.LargestBytes, g.LargestSrcPort, g.LargestDstPort = a.largest, a.lsport, a.ldport
	g.Mark = a.mark
}
