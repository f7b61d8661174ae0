package ioc

import (
	"bytes"
	"math/bits"
	"slices"
)

// lpm is an immutable longest-prefix-match table for the prefixes of one
// address family: a multibit trie with 8-bit strides, built once from all
// the prefixes and stored in flat slices (no pointers for the garbage
// collector to scan).
//
// A node at depth d (the root is at depth 0) stands for the addresses whose
// first d octets are the node's path. It holds the prefixes of lengths 8d
// to 8d+7 in a 256-bit set indexed as a complete binary tree: a prefix of
// relative length l (0 to 7) whose octet d is o has index 1<<l + o>>(8-l).
// Its children are indexed by octet d in another 256-bit set; the two sets
// make a node one 64-byte cache line. A child slot holds a node, or a leaf
// when the subtree holds a single prefix (of length 8d+8 or more): so a
// long prefix, and every prefix of a length multiple of 8 alone in its
// subtree, takes no chain of nodes. The values of a node (child references
// in octet order, then the prefixes' values in index order) start at
// base[node] in slots: the i-th set bit's value is at offset i.
//
// Lookup walks down the path of the address as far as children exist
// (at most 4 nodes for IPv4, 16 for IPv6), then back up, testing at each
// node the 8 prefixes on the path: the first one found (whose indicator is
// valid, see Set.pick) is the longest.
type lpm struct {
	nodes  []lpmNode
	base   []uint32  // by node: offset of its values in slots
	slots  []uint32  // child references, then prefix values (entry indices), per node
	leaves []lpmItem // single-prefix subtrees
}

// leafBit marks a child reference to a leaf; otherwise it is a node index.
const leafBit = 1 << 31

type lpmNode struct {
	kid [4]uint64 // bit o: a child for octet o
	pfx [4]uint64 // bit i: the prefix with index i (1 to 255)
}

// lpmItem is a prefix and its value: the entry index of its indicator.
// Only the first (bits+7)/8 octets of addr are significant; the others are
// zero (the prefix is masked).
type lpmItem struct {
	addr [16]byte
	bits uint8
	val  uint32
}

// contains reports whether the masked prefix it contains the address a.
func (it *lpmItem) contains(a *[16]byte) bool {
	n := int(it.bits) >> 3
	if !bytes.Equal(it.addr[:n], a[:n]) {
		return false
	}
	if r := it.bits & 7; r != 0 {
		mask := byte(0xff) << (8 - r)
		return a[n]&mask == it.addr[n]
	}
	return true
}

// buildLPM builds the table of items, which must be masked and distinct.
// It sorts items.
func buildLPM(items []lpmItem) lpm {
	var t lpm
	if len(items) == 0 {
		return t
	}
	slices.SortFunc(items, func(a, b lpmItem) int {
		if c := bytes.Compare(a.addr[:], b.addr[:]); c != 0 {
			return c
		}
		return int(a.bits) - int(b.bits)
	})
	n := len(items)
	t.slots = make([]uint32, 0, 2*n)
	t.leaves = make([]lpmItem, 0, n/2)
	t.nodes = make([]lpmNode, 0, n/8+1)
	t.base = make([]uint32, 0, n/8+1)
	t.build(items, 0)
	t.nodes = trim(t.nodes)
	t.base = trim(t.base)
	t.slots = trim(t.slots)
	t.leaves = trim(t.leaves)
	return t
}

// pfxIndex returns the index in its node of a prefix at depth d.
func pfxIndex(it *lpmItem, d int) uint {
	l := uint(int(it.bits) - 8*d)
	if l == 0 {
		return 1
	}
	return 1<<l + uint(it.addr[d])>>(8-l)
}

// build appends the node at depth d for items, sorted by address then
// length, and returns its index.
func (t *lpm) build(items []lpmItem, d int) uint32 {
	idx := uint32(len(t.nodes))
	t.nodes = append(t.nodes, lpmNode{})
	t.base = append(t.base, uint32(len(t.slots)))
	var n lpmNode

	// The node's own prefixes, and the others grouped by octet d. A
	// prefix of the node sorts before the longer ones with its octet d
	// (its later octets are zero, its length shorter), so the groups are
	// contiguous.
	var here []lpmItem
	var groups [][]lpmItem
	for i := 0; i < len(items); {
		if int(items[i].bits) < 8*d+8 {
			here = append(here, items[i])
			i++
			continue
		}
		o := items[i].addr[d]
		j := i + 1
		for j < len(items) && items[j].addr[d] == o {
			j++
		}
		n.kid[o>>6] |= 1 << (o & 63)
		groups = append(groups, items[i:j])
		i = j
	}
	// Reserve the node's slots: children first, then prefixes.
	kidBase := len(t.slots)
	t.slots = append(t.slots, make([]uint32, len(groups)+len(here))...)
	slices.SortFunc(here, func(a, b lpmItem) int { return int(pfxIndex(&a, d)) - int(pfxIndex(&b, d)) })
	for i := range here {
		pi := pfxIndex(&here[i], d)
		n.pfx[pi>>6] |= 1 << (pi & 63)
		t.slots[kidBase+len(groups)+i] = here[i].val
	}
	t.nodes[idx] = n
	for i, g := range groups {
		var ref uint32
		if len(g) == 1 {
			ref = leafBit | uint32(len(t.leaves))
			t.leaves = append(t.leaves, g[0])
		} else {
			ref = t.build(g, d+1)
		}
		t.slots[kidBase+i] = ref
	}
	return idx
}

// shortPaths[o] has the bits of the indices of the prefixes of relative
// lengths 0 to 5 on the path of octet o (all below 64).
var shortPaths = func() (m [256]uint64) {
	for o := range 256 {
		for l := range 6 {
			m[o] |= 1 << (1<<l + o>>(8-l))
		}
	}
	return m
}()

// rank256 returns the number of bits of s below bit i.
func rank256(s *[4]uint64, i uint) uint32 {
	w := i >> 6
	n := bits.OnesCount64(s[w] & (1<<(i&63) - 1))
	for j := range w {
		n += bits.OnesCount64(s[j])
	}
	return uint32(n)
}

// count256 returns the number of bits of s.
func count256(s *[4]uint64) uint32 {
	return uint32(bits.OnesCount64(s[0]) + bits.OnesCount64(s[1]) + bits.OnesCount64(s[2]) + bits.OnesCount64(s[3]))
}

// lookup returns the value of the longest prefix containing a that
// s.pick accepts at tn, pick being called from the longest candidate to
// the shortest. The unused octets of a (beyond 4 for IPv4) are ignored.
func (t *lpm) lookup(a *[16]byte, s *Set, tn int64, check bool) (uint32, bool) {
	if len(t.nodes) == 0 {
		return 0, false
	}
	var path [16]uint32
	d, n := 0, uint32(0)
	for {
		path[d] = n
		node := &t.nodes[n]
		o := uint(a[d])
		if node.kid[o>>6]&(1<<(o&63)) == 0 {
			break
		}
		ref := t.slots[t.base[n]+rank256(&node.kid, o)]
		if ref&leafBit != 0 {
			leaf := &t.leaves[ref&^leafBit]
			if leaf.contains(a) {
				if i, ok := s.pick(leaf.val, tn, check); ok {
					return i, true
				}
			}
			break
		}
		n = ref
		d++
	}
	for ; d >= 0; d-- {
		node := &t.nodes[path[d]]
		o := uint(a[d])
		// The prefixes on the path of octet o: relative lengths 7 and 6
		// have one index each (in words 2-3 and 1), lengths 0 to 5 their
		// indices in word 0.
		for l := uint(7); l >= 6; l-- {
			pi := 1<<l + o>>(8-l)
			if node.pfx[pi>>6]&(1<<(pi&63)) != 0 {
				if i, ok := s.pick(t.value(path[d], node, pi), tn, check); ok {
					return i, true
				}
			}
		}
		for x := node.pfx[0] & shortPaths[o]; x != 0; {
			pi := uint(63 - bits.LeadingZeros64(x)) // the longest first
			if i, ok := s.pick(t.value(path[d], node, pi), tn, check); ok {
				return i, true
			}
			x &^= 1 << pi
		}
	}
	return 0, false
}

// value returns the value of the prefix with index pi of node n.
func (t *lpm) value(n uint32, node *lpmNode, pi uint) uint32 {
	return t.slots[t.base[n]+count256(&node.kid)+rank256(&node.pfx, pi)]
}
