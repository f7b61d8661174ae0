package exfil

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/internal/uniq"
	"github.com/exfilscore/exfilscore/window"
)

// TestBlastRadius checks blastRadius against a map of sets on random
// IPv4 and IPv6 destinations, repeated pairs and sources in runs, over
// windows of different sizes that reuse one closeScratch as onClose does
// (a big window, small ones, an empty one, a big one again), so that
// nothing of a window leaks into the next and a burst's buffers go.
func TestBlastRadius(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	dsts := make([]netip.Addr, 60)
	for i := range dsts {
		if i%3 == 0 {
			dsts[i] = netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(i)})
		} else {
			dsts[i] = netip.AddrFrom4([4]byte{198, 51, byte(i), byte(r.IntN(256))})
		}
	}
	var sc closeScratch
	for w, runs := range []int{5000, 500, 7, 0, 500, 5000} {
		sc.reset()
		b := &sc.blast
		want := map[netip.Addr]map[int]bool{}
		for run := range runs {
			for range 1 + r.IntN(6) {
				d := dsts[r.IntN(len(dsts))]
				b.add(d, run)
				if want[d] == nil {
					want[d] = map[int]bool{}
				}
				want[d][run] = true
			}
		}
		b.count()
		for _, d := range dsts {
			if got := b.of(d); got != len(want[d]) {
				t.Errorf("window %d: %v: %d sources, want %d", w, d, got, len(want[d]))
			}
		}
		if got := b.of(netip.MustParseAddr("203.0.113.1")); got != 0 {
			t.Errorf("window %d: unseen destination: %d sources", w, got)
		}
		if runs == 7 && cap(b.pairs4) > 4096 {
			t.Errorf("window %d: the burst's buffer (capacity %d) was kept for %d pairs", w, cap(b.pairs4), len(b.pairs4))
		}
	}
}

func TestIsServicePort(t *testing.T) {
	for p := range 1 << 16 {
		want := p != 0 && (p < 1024 || servicePorts[uint16(p)])
		if got := isServicePort(uint16(p)); got != want {
			t.Fatalf("isServicePort(%d) = %v, want %v", p, got, want)
		}
	}
}

// TestFlowHashV4 checks that IPv4 flows hash as the 37 bytes of their
// IPv4-mapped 5-tuple (the IPv6 path), so that counters built before the
// IPv4 shortcut merge with new ones.
func TestFlowHashV4(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	for range 10000 {
		var c4, s4 [4]byte
		for i := range 4 {
			c4[i], s4[i] = byte(r.Uint32()), byte(r.Uint32())
		}
		c, s := netip.AddrFrom4(c4), netip.AddrFrom4(s4)
		cp, sp, proto := uint16(r.Uint32()), uint16(r.Uint32()), uint8(r.Uint32())
		if got, want := flowHash(c, s, cp, sp, proto), flowHashBytes(c, s, cp, sp, proto); got != want {
			t.Fatalf("flowHash(%v, %v, %d, %d, %d) = %#x, want %#x", c, s, cp, sp, proto, got, want)
		}
	}
}

// flowHashBytes is flowHash without the IPv4 shortcut.
func flowHashBytes(c, s netip.Addr, cp, sp uint16, proto uint8) uint64 {
	var b [37]byte
	c16, s16 := c.As16(), s.As16()
	copy(b[:], c16[:])
	copy(b[16:], s16[:])
	b[32], b[33], b[34], b[35], b[36] = byte(cp>>8), byte(cp), byte(sp>>8), byte(sp), proto
	return uniq.Hash64(b[:])
}

// BenchmarkFlowHash hashes IPv4 5-tuples with flowHash and with the
// bytes it stands for.
func BenchmarkFlowHash(b *testing.B) {
	c, s := netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("198.51.100.7")
	var sink uint64
	for _, impl := range []struct {
		name string
		f    func(c, s netip.Addr, cp, sp uint16, proto uint8) uint64
	}{{"shortcut", flowHash}, {"bytes", flowHashBytes}} {
		b.Run(impl.name, func(b *testing.B) {
			cp := uint16(0)
			for b.Loop() {
				cp++
				sink += impl.f(c, s, cp, 443, 6)
			}
		})
	}
	_ = sink
}

// TestHomeNetMatchesPrefixes checks Internal, Owned and External, which
// test IPv4 addresses as integers, against netip.Prefix.Contains on
// random prefixes (every length 0-32, IPv4-mapped ones too) and addresses
// (IPv4, IPv4-mapped, IPv6).
func TestHomeNetMatchesPrefixes(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	addr := func() netip.Addr {
		var b [4]byte
		for i := range b {
			b[i] = byte(r.IntN(4)) // few values: prefixes match often
		}
		a := netip.AddrFrom4(b)
		switch r.IntN(5) {
		case 0:
			return netip.AddrFrom16(a.As16()) // IPv4-mapped
		case 1:
			return netip.AddrFrom16([16]byte{0xfd, 15: b[3]})
		}
		return a
	}
	prefixes := func() []netip.Prefix {
		ps := make([]netip.Prefix, r.IntN(4))
		for i := range ps {
			a := addr()
			bits := r.IntN(a.BitLen() + 1)
			ps[i], _ = a.Prefix(bits)
		}
		return ps
	}
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range ps {
			if p.Addr().Is4In6() && p.Bits() >= 96 {
				p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
			}
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	for range 2000 {
		internal, owned := prefixes(), prefixes()
		h := NewHomeNet(internal, owned)
		for range 50 {
			a := addr()
			wi, wo := in(internal, a), in(owned, a)
			if h.Internal(a) != wi || h.Owned(a) != wo || h.External(a) != (!wi && !wo) {
				t.Fatalf("home net %v owned %v, %v: Internal %t Owned %t External %t, want %t %t %t",
					internal, owned, a, h.Internal(a), h.Owned(a), h.External(a), wi, wo, !wi && !wo)
			}
		}
	}
}

// BenchmarkHomeNet classifies IPv4 addresses, as every record's two
// endpoints are, against the default home net and against netip.Prefix
// containment of the same prefixes.
func BenchmarkHomeNet(b *testing.B) {
	h := DefaultHomeNet()
	addrs := make([]netip.Addr, 1024)
	r := rand.New(rand.NewPCG(3, 3))
	for i := range addrs {
		addrs[i] = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
	}
	var sink int
	b.Run("words", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if h.External(addrs[i&1023]) {
				sink++
			}
			i++
		}
	})
	b.Run("prefixes", func(b *testing.B) {
		i := 0
		for b.Loop() {
			a := addrs[i&1023].Unmap()
			if !contains(h.internal, a) && !contains(h.owned, a) {
				sink++
			}
			i++
		}
	})
	_ = sink
}

// obsViaOrient is the observation of r as Orient describes the
// conversation: what Writer.prepare must give.
func obsViaOrient(r *flowsrc.Record) window.Obs {
	c := Orient(r)
	o := window.Obs{
		Key:   window.Key{Src: c.Client, Dst: c.Server, DstPort: c.ServerPort, Proto: c.Proto, AppProto: r.AppProto},
		Start: r.Start, End: r.End,
		Upload: c.Upload, Download: c.Download, PktsUp: c.PktsUp, PktsDown: c.PktsDown,
		SrcPort: c.ClientPort, DstPort: c.ServerPort,
	}
	if r.HasICMP {
		typ := r.ICMPType
		if c.Reversed {
			if req, ok := icmpReply(r.Proto, typ); ok {
				typ = req
			}
		}
		o.Key.DstPort = 0
		o.SrcPort, o.DstPort = uint16(typ), uint16(r.ICMPCode)
	}
	o.FlowHash = flowHash(c.Client, c.Server, o.SrcPort, o.DstPort, c.Proto)
	return o
}

// TestPrepareMatchesOrient holds Writer.prepare, which orients a record
// inline, to Orient on random records of every initiator rule: explicit
// initiator, SYN, ICMP and ICMPv6 requests and replies, service and
// ephemeral ports, IPv4, IPv6 and IPv4-mapped addresses, inside and
// outside the home network.
func TestPrepareMatchesOrient(t *testing.T) {
	d, err := New(WithSink(SinkFunc(func(*Alert) {})))
	if err != nil {
		t.Fatal(err)
	}
	w := d.NewWriter()
	defer w.Close()
	rng := rand.New(rand.NewPCG(5, 8))
	addrs := []netip.Addr{
		netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("192.168.7.7"), netip.MustParseAddr("::ffff:10.9.9.9"),
		netip.MustParseAddr("198.51.100.7"), netip.MustParseAddr("::ffff:203.0.113.5"), netip.MustParseAddr("fd00::1"),
		netip.MustParseAddr("2001:db8::5"),
	}
	ports := []uint16{0, 22, 53, 443, 3306, 8080, 40000, 50000, 65535}
	protos := []uint8{6, 17, 1, 58, 132}
	t0 := time.Date(2026, 11, 2, 2, 0, 0, 0, time.UTC)
	kept := 0
	for i := range 20000 {
		r := flowsrc.Record{
			Src: addrs[rng.IntN(len(addrs))], Dst: addrs[rng.IntN(len(addrs))],
			SrcPort: ports[rng.IntN(len(ports))], DstPort: ports[rng.IntN(len(ports))],
			Proto:         protos[rng.IntN(len(protos))],
			BytesToServer: rng.Uint64N(1 << 30), BytesToClient: rng.Uint64N(1 << 20),
			PktsToServer: rng.Uint64N(1000), PktsToClient: rng.Uint64N(1000),
			Start: t0.Add(time.Duration(i) * time.Millisecond), End: t0.Add(time.Duration(i+5) * time.Millisecond),
			AppProto: []string{"", "tls", "dns"}[rng.IntN(3)],
		}
		switch rng.IntN(4) {
		case 0:
			r.Initiator = flowsrc.InitiatorSrc
		case 1:
			r.Initiator = flowsrc.InitiatorDst
		}
		r.TCPFlags = uint8(rng.IntN(64))
		if (r.Proto == 1 || r.Proto == 58) && rng.IntN(4) != 0 {
			r.HasICMP = true
			r.ICMPType = []uint8{0, 8, 13, 14, 3, 128, 129, 135, 136}[rng.IntN(9)]
			r.ICMPCode = uint8(rng.IntN(4))
		}
		var got window.Obs
		ok := w.prepare(&r, &got)
		c := Orient(&r)
		wantOK := d.cfg.home.Internal(c.Client) && d.cfg.home.External(c.Server)
		if ok != wantOK {
			t.Fatalf("record %d %+v: prepare says %v, Orient and the home network %v", i, r, ok, wantOK)
		}
		if !ok {
			continue
		}
		kept++
		if want := obsViaOrient(&r); got != want {
			t.Fatalf("record %d %+v:\nprepare %+v\nOrient  %+v", i, r, got, want)
		}
	}
	if kept < 1000 {
		t.Fatalf("only %d outbound records: the test covers too little", kept)
	}
}
