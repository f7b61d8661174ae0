package httpguard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/severity"
	"github.com/exfilscore/exfilscore/window"
)

// Mode says which direction of an exchange leaves the trust boundary.
type Mode uint8

const (
	// Serving guards an API or file service: the server is the internal
	// side, the client the external one, and the response bytes leave
	// (upload); request bytes are download. The default.
	Serving Mode = iota
	// Egress guards a forward proxy or outbound gateway: the client is the
	// internal side, the request's destination host the external one, and
	// the request bytes leave (upload); response bytes are download.
	Egress
)

// String returns "serving" or "egress".
func (m Mode) String() string {
	switch m {
	case Serving:
		return "serving"
	case Egress:
		return "egress"
	}
	return "Mode(" + strconv.Itoa(int(m)) + ")"
}

// ParseMode returns the mode named s ("serving" or "egress").
func ParseMode(s string) (Mode, error) {
	switch s {
	case "serving":
		return Serving, nil
	case "egress":
		return Egress, nil
	}
	return 0, fmt.Errorf("httpguard: unknown mode %q (want serving or egress)", s)
}

// Scope says what containment refuses once an aggregate reaches the block
// severity.
type Scope uint8

const (
	// ScopePrincipal refuses the principal towards every destination for
	// the rest of the window (the default).
	ScopePrincipal Scope = iota
	// ScopeDestination refuses the principal only towards the destination
	// of the aggregate that reached the severity.
	ScopeDestination
)

// ProxyHeader names the header that trusted proxies write the client
// address into.
type ProxyHeader uint8

const (
	// XForwardedFor is the de facto X-Forwarded-For list.
	XForwardedFor ProxyHeader = iota
	// Forwarded is RFC 7239's Forwarded header (its for= parameters).
	Forwarded
)

// String returns the header's name.
func (h ProxyHeader) String() string {
	if h == Forwarded {
		return "Forwarded"
	}
	return "X-Forwarded-For"
}

// Option configures a Guard.
type Option interface{ apply(*config) error }

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	mode         Mode
	size         time.Duration
	policy       severity.Policy
	minLevel     severity.Level
	early        bool
	sink         exfil.Sink
	logger       *slog.Logger
	clock        func() time.Time
	realClock    bool // clock is time.Now: later reads may use the monotonic clock
	trusted      []netip.Prefix
	proxyHeader  ProxyHeader
	principalFn  func(*http.Request) string
	destFn       func(*http.Request) string
	block        severity.Level
	scope        Scope
	blockHandler http.Handler
	allowNets    []netip.Prefix
	allowNames   map[string]bool
	pathDepth    int
	maxAggs      int
	cidSeed      uint16
}

func defaultConfig() config {
	return config{
		size:      window.DefaultSize,
		policy:    severity.DefaultPolicy(),
		minLevel:  severity.Low,
		early:     true,
		logger:    slog.New(slog.DiscardHandler),
		clock:     time.Now,
		realClock: true,
		pathDepth: 2,
		maxAggs:   DefaultMaxAggregates,
	}
}

// DefaultMaxAggregates is the default bound on aggregates per window
// (WithMaxAggregates).
const DefaultMaxAggregates = 1 << 20

// ErrNoSink is returned by New without WithSink.
var ErrNoSink = errors.New("httpguard: no alert sink (use WithSink)")

// WithMode sets the direction (default Serving).
func WithMode(m Mode) Option {
	return optionFunc(func(c *config) error {
		if m != Serving && m != Egress {
			return fmt.Errorf("httpguard: unknown mode %v", m)
		}
		c.mode = m
		return nil
	})
}

// WithSink sets where alerts go (required): exfil.NewJSONLines for JSON
// lines, exfil.SinkFunc for a callback.
func WithSink(s exfil.Sink) Option {
	return optionFunc(func(c *config) error { c.sink = s; return nil })
}

// WithWindow sets the window length (default 15m). It must be at least one
// second and divide 24h evenly, as for the flow path (package window).
func WithWindow(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < time.Second || (24*time.Hour)%d != 0 {
			return fmt.Errorf("httpguard: window %v must be >= 1s and divide 24h evenly", d)
		}
		c.size = d
		return nil
	})
}

// WithPolicy sets the severity ladder (default severity.DefaultPolicy); it
// must validate.
func WithPolicy(p severity.Policy) Option {
	return optionFunc(func(c *config) error {
		if err := p.Validate(); err != nil {
			return err
		}
		c.policy = p
		return nil
	})
}

// WithMinSeverity drops alerts below l (default low). Containment does not
// depend on it.
func WithMinSeverity(l severity.Level) Option {
	return optionFunc(func(c *config) error {
		if l < severity.Low || l > severity.Critical {
			return fmt.Errorf("httpguard: minimum severity %q must be low..critical", l)
		}
		c.minLevel = l
		return nil
	})
}

// WithEarlyAlerts turns early alerts on or off (default on): an alert with
// stage "early" the moment an aggregate reaches a rung at or above the
// minimum severity, from the request whose bytes crossed it.
func WithEarlyAlerts(on bool) Option {
	return optionFunc(func(c *config) error { c.early = on; return nil })
}

// WithLogger sets the logger for containment events (default: discard).
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) error {
		if l != nil {
			c.logger = l
		}
		return nil
	})
}

// WithClock sets the wall clock that places bytes in windows and times
// Retry-After (default time.Now). Tests inject a fake one.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		if now == nil {
			return errors.New("httpguard: nil clock")
		}
		c.clock, c.realClock = now, false
		return nil
	})
}

// WithTrustedProxies trusts header h from peers in the given prefixes: a
// request whose peer (RemoteAddr) is a trusted proxy is attributed to the
// rightmost address of h that is not a trusted proxy. The other header is
// never read, since a client can forge any header its proxies do not
// write. Without this option, the client is RemoteAddr.
func WithTrustedProxies(h ProxyHeader, proxies ...netip.Prefix) Option {
	return optionFunc(func(c *config) error {
		if h != XForwardedFor && h != Forwarded {
			return fmt.Errorf("httpguard: unknown proxy header %d", h)
		}
		for _, p := range proxies {
			if !p.IsValid() {
				return fmt.Errorf("httpguard: invalid trusted proxy prefix %v", p)
			}
			c.trusted = append(c.trusted, p.Masked())
		}
		c.proxyHeader = h
		return nil
	})
}

// WithPrincipal sets the key function that names a request's principal
// (an API key, user or tenant). It is called once per request and must be
// safe for concurrent use; an empty result falls back to the client
// address. Alerts and logs name the principal (Alert.Principal), and
// containment refuses it wherever it comes from: return an identifier (a
// key id, a user name, a hash), never a secret such as the key itself.
func WithPrincipal(key func(r *http.Request) string) Option {
	return optionFunc(func(c *config) error { c.principalFn = key; return nil })
}

// WithDestination sets how egress mode names a request's destination, as
// "host" or "host:port" (default: the request's URL host for absolute-form
// and CONNECT requests, else its Host header). A reverse proxy to a fixed
// upstream returns the upstream's host. Ignored in serving mode, where the
// destination is the client.
func WithDestination(dest func(r *http.Request) string) Option {
	return optionFunc(func(c *config) error { c.destFn = dest; return nil })
}

// WithBlock turns containment on: once an aggregate reaches severity l, its
// principal (see WithBlockScope) is refused for the rest of the window, and
// its transfers in progress in the leaving direction are cut (see the
// package documentation).
func WithBlock(l severity.Level) Option {
	return optionFunc(func(c *config) error {
		if l < severity.Low || l > severity.Critical {
			return fmt.Errorf("httpguard: block severity %q must be low..critical", l)
		}
		c.block = l
		return nil
	})
}

// WithBlockScope sets what containment refuses (default ScopePrincipal).
func WithBlockScope(s Scope) Option {
	return optionFunc(func(c *config) error {
		if s != ScopePrincipal && s != ScopeDestination {
			return fmt.Errorf("httpguard: unknown block scope %d", s)
		}
		c.scope = s
		return nil
	})
}

// WithBlockHandler replaces the default refusal (429 Too Many Requests with
// a short text body). The Retry-After header is set before h runs, and
// BlockFromContext(r.Context()) describes the block.
func WithBlockHandler(h http.Handler) Option {
	return optionFunc(func(c *config) error { c.blockHandler = h; return nil })
}

// WithAllowlist exempts from containment the requests whose client address
// is in one of prefixes (in egress mode also those whose destination
// address is: a sanctioned upload target), and the principals named in
// principals (key function names; client addresses are matched by
// prefixes). Exempt traffic is still counted and alerted, marked
// "allowlisted"; it is never refused or cut.
func WithAllowlist(prefixes []netip.Prefix, principals []string) Option {
	return optionFunc(func(c *config) error {
		for _, p := range prefixes {
			if !p.IsValid() {
				return fmt.Errorf("httpguard: invalid allowlist prefix %v", p)
			}
			c.allowNets = append(c.allowNets, p.Masked())
		}
		for _, n := range principals {
			if n == "" {
				return errors.New("httpguard: empty allowlisted principal")
			}
			if c.allowNames == nil {
				c.allowNames = make(map[string]bool)
			}
			c.allowNames[n] = true
		}
		return nil
	})
}

// WithPathDepth sets how many path segments the evidence's path_prefix
// keeps (default 2: "/files/reports/q3.pdf" gives "/files/reports").
func WithPathDepth(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 0 || n > 64 {
			return fmt.Errorf("httpguard: path depth %d: want 0 to 64", n)
		}
		c.pathDepth = n
		return nil
	})
}

// WithMaxAggregates bounds the aggregates kept per window (default
// DefaultMaxAggregates), so that a flood of principals costs a fixed amount
// of memory. Requests that would open an aggregate beyond the bound are
// served but not aggregated (nor contained); Stats counts them and their
// bytes.
func WithMaxAggregates(n int) Option {
	return optionFunc(func(c *config) error {
		if n < 1 {
			return fmt.Errorf("httpguard: max aggregates %d: want at least 1", n)
		}
		c.maxAggs = n
		return nil
	})
}

// WithCommunityIDSeed sets the Community ID seed (default 0).
func WithCommunityIDSeed(seed uint16) Option {
	return optionFunc(func(c *config) error { c.cidSeed = seed; return nil })
}
