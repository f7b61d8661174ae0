package benchmarks

import (
	"encoding/binary"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/flowtest"
)

// Flags of the benchmark binary (pass them after the package list or
// after -args: go test -bench . -args -bench.records=10000000).
var (
	flagRecords = flag.Int("bench.records", 1_000_000,
		"NetFlow v9 records in the generated capture of BenchmarkEndToEnd (the issue's full run: 10000000)")
	flagKeys = flag.Int("bench.keys", 1_000_000,
		"distinct keys (internal sources) the records are drawn from, Zipf(s=1.1)")
	flagGoroutines = flag.String("bench.goroutines", "1,2",
		"comma-separated goroutine counts of every parallel sub-benchmark")
)

// Shape of the generated capture, as internal/cmd/gencapture writes it.
const (
	zipfS              = 1.1
	recordsPerDatagram = 30
	// blockDatagrams datagrams make a block; the first datagram of every
	// block carries the template, so a block can be decoded on its own by
	// a fresh exporter, and a goroutine's blocks form a valid stream.
	blockDatagrams = 100
	blockRecords   = blockDatagrams * recordsPerDatagram
	// benchSpan is the event time one pass over the benchmark capture
	// covers, as in internal/cmd/gencapture; captures of fewer than
	// benchDensity records cover proportionally less.
	benchSpan    = time.Hour
	benchDensity = 1_000_000
	// e2eLag is the crew lag of BenchmarkEndToEnd: goroutines stay within
	// (e2eLag+1)×p blocks of each other.
	e2eLag = 1
	// maxSkew is how far apart in event time the goroutines may be: under
	// the detector's default lateness (2 minutes), or records would be
	// late.
	maxSkew = 90 * time.Second
)

// benchBase is the event time of the benchmark capture's first record.
var benchBase = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// recordTime is the end time of record i of n spread evenly over span
// from base. It computes in microseconds: i × span in nanoseconds
// overflows int64 from 2.6M records over an hour.
func recordTime(base time.Time, span time.Duration, i, n int) time.Time {
	return base.Add(time.Duration(int64(i)*span.Microseconds()/int64(n)) * time.Microsecond)
}

// goroutineCounts parses -bench.goroutines.
func goroutineCounts(tb testing.TB) []int {
	var ps []int
	for f := range strings.SplitSeq(*flagGoroutines, ",") {
		p, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || p < 1 || p > 64 {
			tb.Fatalf("bad -bench.goroutines %q", *flagGoroutines)
		}
		ps = append(ps, p)
	}
	return ps
}

// zipfKeys returns a generator of key numbers in [0, keys) drawn
// Zipf(s=1.1) from rng, the rank of each key being a fixed random
// permutation, so that the hot keys are spread over the key space (and
// over addresses) instead of being the lowest numbers.
func zipfKeys(rng *rand.Rand, keys int) func() uint32 {
	z := rand.NewZipf(rng, zipfS, 1, uint64(keys-1))
	perm := rand.New(rand.NewPCG(7, 7)).Perm(keys)
	return func() uint32 { return uint32(perm[z.Uint64()]) }
}

// keySrc and keyDst are the endpoints of key k: internal source
// 10.x.y.z (k < 2^24) uploading to 198.51.100.(k mod 200):443.
func keySrc(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{10, byte(k >> 16), byte(k >> 8), byte(k)})
}

func keyDst(k uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 51, 100, byte(k % 200)})
}

// capture is a generated NetFlow v9 export held in memory: datagrams of
// 30 records, in blocks of blockDatagrams whose first datagram carries
// the template, over keys drawn Zipf(s=1.1), event time spread evenly over
// span from base. Pass c over the capture is shifted by c × span, so that
// event time keeps moving forward. Each block starts with its template, so
// any subset of the blocks, in order, is a valid stream for one exporter.
//
// Time in a pass must move slowly enough that a goroutine a few blocks
// ahead of another does not make the other's records late (see maxSkew).
// The benchmark capture of 10^6 records over an hour has blocks of 10.8 s.
type capture struct {
	base time.Time
	span time.Duration

	arena   []byte   // the datagrams, back to back
	offs    []int    // datagram i is arena[offs[i]:offs[i+1]]
	secs    []uint32 // each datagram's original UNIX Secs header field
	records int
	bytes   uint64 // sum of the records' IN_BYTES
}

// blocks returns the number of blocks.
func (c *capture) blocks() int { return (len(c.offs) - 1) / blockDatagrams }

// blockSpan is the event time a block covers.
func (c *capture) blockSpan() time.Duration { return c.span / time.Duration(c.blocks()) }

// datagram returns datagram i of block b of pass pass, with its export
// time shifted by pass × span. It rewrites the header in place: the
// caller must own block b for the time of the call (a crew whose
// goroutines stay a few blocks apart, over a capture of many more blocks,
// guarantees it; see benchCapture).
func (c *capture) datagram(b, i, pass int) []byte {
	n := b*blockDatagrams + i
	dg := c.arena[c.offs[n]:c.offs[n+1]:c.offs[n+1]]
	binary.BigEndian.PutUint32(dg[8:12], c.secs[n]+uint32(pass)*uint32(c.span/time.Second))
	return dg
}

// newCapture generates a capture of at least n records (rounded up to
// whole blocks) over keys keys, starting at base and covering span (a
// whole number of seconds).
func newCapture(n, keys int, base time.Time, span time.Duration) (*capture, error) {
	if n < 1 || keys < 2 || keys > 1<<24 || span < time.Second || span%time.Second != 0 {
		return nil, fmt.Errorf("benchmarks: need records >= 1, 2 <= keys <= 2^24 and a span of whole seconds, have %d, %d and %v", n, keys, span)
	}
	nb := (n + blockRecords - 1) / blockRecords
	n = nb * blockRecords
	nd := nb * blockDatagrams
	c := &capture{
		base:    base,
		span:    span,
		arena:   make([]byte, 0, nd*(flowtest.V9HeaderLen+4+recordsPerDatagram*38)+nb*64),
		offs:    make([]int, 1, nd+1),
		secs:    make([]uint32, 0, nd),
		records: n,
	}
	tpl := flowtest.V9Template(256, false)
	rng := rand.New(rand.NewPCG(1, 1))
	nextKey := zipfKeys(rng, keys)
	m := flowtest.NewV9(flowtest.V9Header{})
	fl := make([]flowtest.Flow, recordsPerDatagram)
	for d, i := 0, 0; d < nd; d++ {
		at := recordTime(base, span, i, n)
		for j := range fl {
			k := nextKey()
			b := uint64(rng.IntN(1 << 20))
			fl[j] = flowtest.Flow{
				Src: keySrc(k), SrcPort: uint16(1024 + rng.IntN(60000)),
				Dst: keyDst(k), DstPort: 443, Proto: 6,
				Bytes: b, Packets: 1 + b/1400, Start: at.Add(-time.Second), End: at, TCPFlags: 0x1b,
			}
			c.bytes += b
			i++
		}
		m.Reset(flowtest.V9Header{ExportTime: at, Uptime: 24*time.Hour + at.Sub(base), Sequence: uint32(d), SourceID: 1})
		if d%blockDatagrams == 0 {
			m.Template(tpl)
		}
		m.Data(tpl, fl...)
		c.arena = m.AppendTo(c.arena)
		c.offs = append(c.offs, len(c.arena))
		c.secs = append(c.secs, binary.BigEndian.Uint32(c.arena[c.offs[d]+8:]))
	}
	return c, nil
}

// benchCapture returns the capture of -bench.records records over
// -bench.keys keys and checks that crews of up to maxP goroutines stay
// within maxSkew and never work on the same block at once. A top-level benchmark function runs
// once per process, so the data is generated once, and it is garbage once
// the benchmark that uses it is over: it does not weigh on the garbage
// collector of the benchmarks that follow.
func benchCapture(b *testing.B, maxP int) *capture {
	span := benchSpan
	if *flagRecords < benchDensity {
		span = (benchSpan*time.Duration(*flagRecords)/benchDensity + time.Second).Truncate(time.Second)
	}
	c, err := newCapture(*flagRecords, *flagKeys, benchBase, span)
	if err != nil {
		b.Fatal(err)
	}
	if skew := c.blockSpan() * time.Duration((e2eLag+1)*maxP); skew > maxSkew {
		b.Fatalf("%d goroutines with blocks of %v: they may be %v apart in event time (> %v): use more -bench.records",
			maxP, c.blockSpan(), skew, maxSkew)
	}
	if apart := 2 * (e2eLag + 1) * maxP; c.blocks() < apart {
		b.Fatalf("%d goroutines need a capture of at least %d blocks of %d records, have %d: use more -bench.records",
			maxP, apart, blockRecords, c.blocks())
	}
	return c
}
