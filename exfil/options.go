package exfil

import (
	"errors"
	"fmt"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"io"
	"log/slog"
	"runtime"
	"time"

	"github.com/exfilscore/exfilscore/geo"
	"github.com/exfilscore/exfilscore/ioc"
	"github.com/exfilscore/exfilscore/severity"
	"github.com/exfilscore/exfilscore/window"
)

// Option configures a Detector.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	home     HomeNet
	size     time.Duration
	lateness time.Duration
	policy   severity.Policy
	minLevel severity.Level
	iocs     ioc.Multi
	geo      geo.Provider
	sink     Sink
	logger   *slog.Logger
	cidSeed  uint16
	shards   int
	early    bool
	nameCap  int
	backlog  int
}

func defaultConfig() config {
	return config{
		home:     DefaultHomeNet(),
		size:     window.DefaultSize,
		lateness: window.DefaultLateness,
		policy:   severity.DefaultPolicy(),
		minLevel: severity.Low,
		logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		shards:   min(4*runtime.GOMAXPROCS(0), 64),
		nameCap:  pdns.DefaultCapacity,
	}
}

// WithHomeNet replaces the default home net (RFC 1918).
func WithHomeNet(h HomeNet) Option {
	return optionFunc(func(c *config) error {
		if len(h.internal) == 0 {
			return errors.New("exfil: home net has no internal prefix")
		}
		c.home = h
		return nil
	})
}

// WithWindow sets the window length (default 15m; must divide 24h).
func WithWindow(d time.Duration) Option {
	return optionFunc(func(c *config) error { c.size = d; return nil })
}

// WithLateness sets the allowed lateness (default 2m).
func WithLateness(d time.Duration) Option {
	return optionFunc(func(c *config) error { c.lateness = d; return nil })
}

// WithPolicy sets the severity ladder; it must validate.
func WithPolicy(p severity.Policy) Option {
	return optionFunc(func(c *config) error {
		if err := p.Validate(); err != nil {
			return err
		}
		c.policy = p
		return nil
	})
}

// WithMinSeverity drops alerts below l (default low). IOC matches are
// critical and always pass.
func WithMinSeverity(l severity.Level) Option {
	return optionFunc(func(c *config) error {
		if l < severity.Low || l > severity.Critical {
			return fmt.Errorf("exfil: minimum severity %q must be low..critical", l)
		}
		c.minLevel = l
		return nil
	})
}

// WithIOC adds indicator matchers; every destination is checked against
// all of them.
func WithIOC(m ...ioc.Matcher) Option {
	return optionFunc(func(c *config) error {
		for _, x := range m {
			if x == nil {
				return errors.New("exfil: nil IOC matcher")
			}
			c.iocs = append(c.iocs, x)
		}
		return nil
	})
}

// WithGeo sets the GeoIP/ASN provider for dest_country, dest_asn and
// dest_org.
func WithGeo(p geo.Provider) Option {
	return optionFunc(func(c *config) error { c.geo = p; return nil })
}

// WithSink sets where alerts go (required).
func WithSink(s Sink) Option {
	return optionFunc(func(c *config) error { c.sink = s; return nil })
}

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	})
}

// WithCommunityIDSeed sets the Community ID seed (default 0).
func WithCommunityIDSeed(seed uint16) Option {
	return optionFunc(func(c *config) error { c.cidSeed = seed; return nil })
}

// WithShards sets how many Writers, each behind its own lock, serve
// Detector.Observe (default 4 × GOMAXPROCS, at most 64). Records are
// spread over them by address pair. Goroutines that own a Writer
// (Detector.NewWriter) do not use them.
func WithShards(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 || n > 1024 {
			return fmt.Errorf("exfil: %d shards: want 1 to 1024", n)
		}
		c.shards = n
		return nil
	})
}

// WithNameCapacity bounds how many destination addresses the Detector
// remembers names for, per kind of name (SNI, HTTP Host, DNS; default
// pdns.DefaultCapacity each): the names records carry for their
// destination, shown on its alerts (dest_names) and checked against domain
// IOCs. The least recently used addresses are forgotten first.
func WithNameCapacity(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("exfil: name capacity %d: want at least 1", n)
		}
		c.nameCap = n
		return nil
	})
}

// WithEarlyAlerts turns early alerts on or off (default off). When on,
// every new key is checked against the IOC matchers at its first record,
// and the moment a running aggregate reaches a rung at or above the
// minimum severity (or matches an IOC) an alert with stage "early" is sent
// from the Observe call that crossed it; a higher rung reached later sends
// a new early alert. The final alert at window close carries the same
// alert_id, and is sent even when the aggregate ended below the minimum
// (severity "none" included) so that a consumer upserting by alert_id
// sees the outcome.
func WithEarlyAlerts(on bool) Option {
	return optionFunc(func(c *config) error { c.early = on; return nil })
}

// WithRunBacklog bounds how many closed windows may wait to be scored
// while Run runs: a goroutine feeding records that closes one more waits
// until Run takes one (window.WithMaxQueued). A replay, whose records come
// as fast as a file is read, wants 1: scoring overlaps with reading, and
// memory stays bounded however slow scoring is. The default, 0, never
// makes a feeding goroutine wait, for live sources that must keep reading
// their sockets.
func WithRunBacklog(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 0 {
			return fmt.Errorf("exfil: run backlog %d must not be negative", n)
		}
		c.backlog = n
		return nil
	})
}
