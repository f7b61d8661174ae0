package zeek

import (
	"net/netip"

	"github.com/exfilscore/exfilscore/flowsrc/pdns"
)

// Option configures a Parser, a Reader or ReadFiles.
type Option interface {
	apply(*config)
}

type config struct {
	joiner    *Joiner
	pdns      *pdns.Map
	path      logPath
	pathName  []byte
	sensor    netip.Addr
	maxErrors int
	maxLine   int
}

func newConfig(opts []Option) config {
	c := config{maxErrors: DefaultMaxErrors, maxLine: DefaultMaxLineLength}
	for _, o := range opts {
		if o != nil {
			o.apply(&c)
		}
	}
	if c.joiner == nil {
		c.joiner = NewJoiner(0)
	}
	return c
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithJoiner makes the parser share j: application log lines add to it and
// conn.log lines take from it. Give the same Joiner to the parsers of the
// application logs and of conn.log when they are separate streams. Without
// it each parser has its own (DefaultJoinerCapacity), which joins the logs
// of a single mixed stream.
func WithJoiner(j *Joiner) Option {
	return optionFunc(func(c *config) { c.joiner = j })
}

// WithPDNS makes dns.log answers feed m (the A and AAAA answers that are
// addresses, under the query name) and gives conn records to an address m
// knows its name in DNSName. Sources share one map by passing the same m.
func WithPDNS(m *pdns.Map) Option {
	return optionFunc(func(c *config) { c.pdns = m })
}

// WithPath names the log of lines that do not name theirs: JSON lines
// without "_path" and TSV blocks without #path ("conn", "ssl", "http" or
// "dns"; anything else makes their lines OtherPath). Without it such a
// line's log is recognised from its keys (conn.log's byte and packet
// counters, conn_state or history; dns.log's qtype_name, rcode, answers...;
// http.log's resp_mime_types, referrer...; ssl.log's server_name, cipher,
// ja3...). A line's own _path and a block's #path always win.
func WithPath(path string) Option {
	return optionFunc(func(c *config) {
		c.path = pathOf([]byte(path))
		c.pathName = []byte(path)
	})
}

// WithSensor sets the Exporter of every record: the address of the sensor
// that wrote the logs (Zeek's logs do not say).
func WithSensor(addr netip.Addr) Option {
	return optionFunc(func(c *config) { c.sensor = addr.Unmap() })
}

// WithMaxErrors sets how many LineErrors Stats keeps (DefaultMaxErrors;
// 0 keeps none). Every malformed line is counted whatever the limit.
func WithMaxErrors(n int) Option {
	return optionFunc(func(c *config) { c.maxErrors = max(0, n) })
}

// DefaultMaxLineLength is the longest line a Reader accepts by default.
const DefaultMaxLineLength = 1 << 20

// WithMaxLineLength sets the longest line, in bytes, a Reader accepts
// (DefaultMaxLineLength); longer lines are skipped and counted as
// ErrTooLong. Parser.Line takes whatever it is given.
func WithMaxLineLength(n int) Option {
	return optionFunc(func(c *config) {
		if n > 0 {
			c.maxLine = n
		}
	})
}
