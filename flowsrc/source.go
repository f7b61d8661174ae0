package flowsrc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc/pcap"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// DrainTime is how long ServeUDP keeps reading buffered datagrams after its
// context ends.
const DrainTime = 100 * time.Millisecond

// ServeUDP reads export datagrams from conn until ctx is done or conn
// fails, decoding each with dec (the exporter is the datagram's source
// address, the arrival time the wall clock) and calling emit for every
// record. Datagrams that do not decode are counted by dec and skipped.
// When ctx ends it keeps reading for DrainTime so that datagrams already in
// the socket buffer are not lost, then returns ctx.Err(); it does not close
// conn. emit (and the callbacks of opts) are called from this goroutine
// only.
func ServeUDP(ctx context.Context, conn net.PacketConn, dec *DatagramDecoder, emit func(*Record), opts ...ServeOption) error {
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	stopping := false
	stop := context.AfterFunc(ctx, func() { conn.SetReadDeadline(time.Now().Add(DrainTime)) })
	defer stop()
	buf := make([]byte, maxDatagram)
	for {
		if cfg.idle > 0 && ctx.Err() == nil {
			conn.SetReadDeadline(time.Now().Add(cfg.idle))
		} else if ctx.Err() != nil && !stopping {
			stopping = true
			conn.SetReadDeadline(time.Now().Add(DrainTime))
		}
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				if ctx.Err() != nil {
					if cfg.onIdle != nil {
						cfg.onIdle()
					}
					return ctx.Err()
				}
				if cfg.onIdle != nil {
					cfg.onIdle()
				}
				continue
			}
			return fmt.Errorf("flowsrc: read %s: %w", conn.LocalAddr(), err)
		}
		var exporter netip.Addr
		if ua, ok := from.(*net.UDPAddr); ok {
			exporter = ua.AddrPort().Addr().Unmap()
		}
		// Errors are counted in dec.Stats; the records before the bad
		// part were emitted.
		_ = dec.Decode(exporter, time.Now(), buf[:n], emit)
		if cfg.onDatagram != nil {
			cfg.onDatagram()
		}
	}
}

// ServeOption configures ServeUDP.
type ServeOption func(*serveConfig)

type serveConfig struct {
	idle       time.Duration
	onIdle     func()
	onDatagram func()
}

// OnIdle makes ServeUDP call f whenever no datagram arrived for d (and
// once more before it returns), e.g. to sync an aggregator's writer that
// would otherwise hold closed windows back.
func OnIdle(d time.Duration, f func()) ServeOption {
	return func(c *serveConfig) { c.idle, c.onIdle = d, f }
}

// OnDatagram makes ServeUDP call f after each datagram's records were
// emitted, e.g. to hand a batch of records on.
func OnDatagram(f func()) ServeOption {
	return func(c *serveConfig) { c.onDatagram = f }
}

// ReplayStats counts what ReplayPcap read.
type ReplayStats struct {
	// Packets is the number of IP packets read; UDP those of them that were
	// UDP with a payload.
	Packets, UDP uint64
	// Decoded counts UDP payloads recognised as an export format;
	// NotFlow those that were not (other traffic in the capture).
	Decoded, NotFlow uint64
	// DecodeErrors counts recognised datagrams that decoded with an error
	// (the decoder's Stats say which part was dropped and why).
	DecodeErrors uint64
	// Fragments counts non-first IP fragments, which cannot be decoded.
	Fragments uint64
	// Capture is the pcap reader's own frame accounting.
	Capture pcap.Stats
}

// ReplayPcap reads a pcap or pcapng stream (gzip-compressed or not) and
// decodes the UDP payloads that SniffFormat recognises as NetFlow v5/v9,
// IPFIX or sFlow, whatever their port, in file order. The exporter of each
// datagram is the packet's source address and its arrival time the capture
// timestamp, so a replay runs in event time. emit is called for every
// record. A capture that ends mid-file returns the stats so far and the
// error.
func ReplayPcap(r io.Reader, dec *DatagramDecoder, emit func(*Record)) (ReplayStats, error) {
	return replayPcap(r, func(src netip.Addr, t time.Time, payload []byte) error {
		return dec.Decode(src, t, payload, emit)
	})
}

// ReplayPcapRuns is ReplayPcap for a consumer that takes records in runs
// (see DatagramDecoder.DecodeRuns).
func ReplayPcapRuns(r io.Reader, dec *DatagramDecoder, emit func([]Record)) (ReplayStats, error) {
	return replayPcap(r, func(src netip.Addr, t time.Time, payload []byte) error {
		return dec.DecodeRuns(src, t, payload, emit)
	})
}

func replayPcap(r io.Reader, decode func(netip.Addr, time.Time, []byte) error) (ReplayStats, error) {
	var st ReplayStats
	pr, err := pcap.NewReader(r)
	if err != nil {
		return st, err
	}
	for {
		p, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			st.Capture = pr.Stats()
			return st, err
		}
		st.Packets++
		if p.Fragment {
			st.Fragments++
			continue
		}
		if p.Proto != 17 || len(p.Payload) == 0 {
			continue
		}
		st.UDP++
		if _, ok := SniffFormat(p.Payload); !ok {
			st.NotFlow++
			continue
		}
		st.Decoded++
		if err := decode(p.Src.Unmap(), p.Time, p.Payload); err != nil {
			st.DecodeErrors++
		}
	}
	st.Capture = pr.Stats()
	return st, nil
}
