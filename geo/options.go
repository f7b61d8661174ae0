package geo

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// DefaultPollInterval is how often [MMDB.Run] checks the database files for
// a change unless [WithPollInterval] says otherwise.
const DefaultPollInterval = time.Minute

// Option configures [OpenMMDB].
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	poll      time.Duration
	cacheSize int
	logger    *slog.Logger
}

func defaultConfig() config {
	return config{
		poll:   DefaultPollInterval,
		logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
}

// WithPollInterval sets how often [MMDB.Run] looks at the files' size,
// modification time and inode (default [DefaultPollInterval]). It must be
// positive.
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return fmt.Errorf("geo: WithPollInterval(%v): interval must be positive", d)
		}
		c.poll = d
		return nil
	})
}

// WithCache puts a bounded address cache of about entries addresses in
// front of the databases (default: no cache). It pays on skewed traffic,
// where a few destinations make most lookups, and costs on uniform traffic
// over many addresses: see the package documentation for the figures. The
// cache is emptied when a database is reloaded. entries must be positive.
func WithCache(entries int) Option {
	return optionFunc(func(c *config) error {
		if entries <= 0 {
			return fmt.Errorf("geo: WithCache(%d): size must be positive", entries)
		}
		c.cacheSize = entries
		return nil
	})
}

// WithLogger sets the logger for reloads and reload errors (default:
// discard). Lookups never log.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l == nil {
			return fmt.Errorf("geo: WithLogger(nil)")
		}
		c.logger = l
		return nil
	})
}
