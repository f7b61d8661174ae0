package suricata

import (
	"net/netip"

	"github.com/exfilscore/exfilscore/flowsrc/pdns"
)

// Defaults of the options.
const (
	// DefaultPendingCapacity is the number of flows whose app-layer names
	// are kept while waiting for their flow event (WithPendingCapacity).
	DefaultPendingCapacity = 1 << 16
	// DefaultMaxLineSize is the longest line a Reader accepts
	// (WithMaxLineSize).
	DefaultMaxLineSize = 4 << 20
)

// Option configures a Parser or a Reader.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	pdns        *pdns.Map
	sensor      netip.Addr
	pending     int
	maxLineSize int
}

func newConfig(opts []Option) config {
	c := config{pending: DefaultPendingCapacity, maxLineSize: DefaultMaxLineSize}
	for _, o := range opts {
		o.apply(&c)
	}
	if c.pdns == nil {
		c.pdns = pdns.New(0)
	}
	return c
}

// WithPDNS makes the parser learn DNS answers into m and name flows from
// it, so that several sources (Suricata and Zeek sensors, several files)
// share what each has seen. Without it each Parser has a private map of
// pdns.DefaultCapacity addresses. A nil m is ignored.
func WithPDNS(m *pdns.Map) Option {
	return optionFunc(func(c *config) {
		if m != nil {
			c.pdns = m
		}
	})
}

// WithSensor sets the Exporter address of every record: the address of the
// sensor that wrote the log. Without it Exporter is the invalid (zero)
// address, since EVE lines do not carry one.
func WithSensor(addr netip.Addr) Option {
	return optionFunc(func(c *config) { c.sensor = addr.Unmap() })
}

// WithPendingCapacity sets how many flows' app-layer names (TLS, HTTP,
// DNS query) are kept waiting for their flow event, and how many recently
// finished flows are remembered to recognise app events that come after
// their flow event. n <= 0 means DefaultPendingCapacity.
func WithPendingCapacity(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			n = DefaultPendingCapacity
		}
		c.pending = n
	})
}

// WithMaxLineSize sets the longest line a Reader accepts, in bytes; a
// longer line is skipped and counted as malformed. n <= 0 means
// DefaultMaxLineSize. Parser.Line takes whatever its caller gives it.
func WithMaxLineSize(n int) Option {
	return optionFunc(func(c *config) {
		if n <= 0 {
			n = DefaultMaxLineSize
		}
		c.maxLineSize = n
	})
}
