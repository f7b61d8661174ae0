package pcap

import (
	"bytes"
	"encoding/binary"
	"io"
	"runtime"
	"testing"
	"time"
)

// benchFile returns a capture of n Ethernet/IPv4/UDP frames with
// 64..1400-byte payloads, like a NetFlow export stream.
func benchFile(n int, ng bool) []byte {
	frames := make([][]byte, 16)
	for i := range frames {
		frames[i] = ether(etherIPv4, ipv4UDP("192.0.2.1", "192.0.2.2", 40000, 2055, make([]byte, 64+i*89)))
	}
	if ng {
		w := &ngWriter{}
		w.shb(binary.LittleEndian)
		w.idb(linkEthernet, 0)
		for i := range n {
			w.epb(0, uint64(1700000000_000000+i), frames[i%len(frames)], 0)
		}
		return w.b
	}
	recs := make([]rec, n)
	for i := range recs {
		recs[i] = rec{t: time.Unix(1700000000, int64(i)*1000), data: frames[i%len(frames)]}
	}
	return pcapFile(binary.LittleEndian, 0xa1b2c3d4, linkEthernet, recs...)
}

// TestNextAllocs pins the no-allocation promise of Next.
func TestNextAllocs(t *testing.T) {
	for name, data := range map[string][]byte{
		"pcap":      benchFile(3000, false),
		"pcapng":    benchFile(3000, true),
		"pcapng.gz": gzipped(benchFile(3000, true)),
	} {
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: Next allocates %v times per packet", name, allocs)
		}
	}
}

func BenchmarkReader(b *testing.B) {
	const n = 100_000
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"pcap", benchFile(n, false)},
		{"pcapng", benchFile(n, true)},
		{"pcap.gz", gzipped(benchFile(n, false))},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.data)))
			b.ReportAllocs()
			var ms0, ms1 runtime.MemStats
			runtime.ReadMemStats(&ms0)
			for b.Loop() {
				r, err := NewReader(bytes.NewReader(bc.data))
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for {
					_, err := r.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("read %d packets, want %d", got, n)
				}
			}
			runtime.ReadMemStats(&ms1)
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
			b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(n*b.N), "allocs/pkt")
		})
	}
}
