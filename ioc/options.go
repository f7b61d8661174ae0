package ioc

import (
	"errors"
	"fmt"
	"time"
	"unicode/utf8"
)

// Option configures how a feed is parsed (by [Load], [Parse] and the
// ParseXxx functions) and, for a [Watcher], how it is watched. An option
// that does not apply to a format is ignored by it.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

// DefaultPollInterval is how often a Watcher checks its file by default.
const DefaultPollInterval = 5 * time.Second

type config struct {
	format      Format
	feed        string
	cols        CSVColumns
	comma       rune
	noURLHosts  bool
	mispNonIDS  bool
	expireAfter time.Duration
	lenient     bool
	interval    time.Duration
	onReload    func(w *Watcher, s *Set, err error)
}

func newConfig(opts []Option) (config, error) {
	c := config{interval: DefaultPollInterval}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&c); err != nil {
			return c, err
		}
	}
	return c, nil
}

// WithFormat forces the feed format instead of detecting it from the
// content (Load, Parse, NewWatcher).
func WithFormat(f Format) Option {
	return optionFunc(func(c *config) error {
		if f > FormatMISP {
			return fmt.Errorf("ioc: unknown format %d", f)
		}
		c.format = f
		return nil
	})
}

// WithFeedName names the feed (Match.Feed) instead of the base name of the
// file (Load, NewWatcher).
func WithFeedName(name string) Option {
	return optionFunc(func(c *config) error {
		c.feed = name
		return nil
	})
}

// WithCSVColumns maps the roles of a CSV feed to its column names. Empty
// fields keep their default (see CSVColumns); a column named here must be
// in the header.
func WithCSVColumns(cols CSVColumns) Option {
	return optionFunc(func(c *config) error {
		c.cols = cols
		return nil
	})
}

// WithCSVComma sets the field delimiter of a CSV feed instead of detecting
// it (',', ';' or tab) from the first line.
func WithCSVComma(r rune) Option {
	return optionFunc(func(c *config) error {
		if r == '"' || r == '\r' || r == '\n' || r == '#' || r == utf8.RuneError || !utf8.ValidRune(r) {
			return fmt.Errorf("ioc: invalid CSV delimiter %q", r)
		}
		c.comma = r
		return nil
	})
}

// WithoutURLHosts makes the parsers skip (and count) URL indicators
// instead of matching their host. By default the host of a URL indicator
// (a STIX url:value, a CSV or MISP url) becomes a domain or IP indicator:
// a URL on a shared host (a code-hosting or file-sharing site) then
// matches every flow to that host.
func WithoutURLHosts() Option {
	return optionFunc(func(c *config) error {
		c.noURLHosts = true
		return nil
	})
}

// WithMISPNonIDS makes the MISP parser also load the attributes whose
// to_ids flag is off. By default they are skipped and counted: MISP marks
// with to_ids the attributes fit for automated detection, the others are
// context (a victim's address, a sinkhole, a resolver).
func WithMISPNonIDS() Option {
	return optionFunc(func(c *config) error {
		c.mispNonIDS = true
		return nil
	})
}

// WithExpireAfter gives the indicators of feeds without an explicit
// validity period (CSV without a valid_until column, MISP) a validity of d
// after they were last seen: ValidUntil becomes last_seen + d, or
// first_seen + d without a last_seen (for MISP, the attribute's last_seen,
// else its timestamp). Indicators with neither keep no expiry. Zero (the
// default) disables it.
func WithExpireAfter(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < 0 {
			return errors.New("ioc: negative expiry")
		}
		c.expireAfter = d
		return nil
	})
}

// WithSkipMalformed makes the parsers skip (and count, see Set.Skipped)
// malformed entries, a bad address or a bad STIX pattern, instead of
// failing the whole feed. Syntax errors of the file itself (broken JSON,
// a CSV without a header) still fail.
func WithSkipMalformed() Option {
	return optionFunc(func(c *config) error {
		c.lenient = true
		return nil
	})
}

// WithPollInterval sets how often Watcher.Run checks the file for a change
// (default DefaultPollInterval).
func WithPollInterval(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 {
			return errors.New("ioc: poll interval must be positive")
		}
		c.interval = d
		return nil
	})
}

// WithOnReload registers f to be called by a Watcher after each reload
// attempt: with the new set on success, with the error (and a nil set)
// when the reload failed and the previous set stays live. f runs on the
// goroutine that reloads and must not call the Watcher's Reload or Poll.
func WithOnReload(f func(w *Watcher, s *Set, err error)) Option {
	return optionFunc(func(c *config) error {
		c.onReload = f
		return nil
	})
}
