package ioc

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// parser is the state every feed parser shares: the set being built, the
// options, and the first malformed entry with the count of the others.
type parser struct {
	b     *builder
	c     *config
	feed  string
	first *ParseError
	bad   int
}

func newParser(feed string, f Format, c *config) *parser {
	return &parser{b: newBuilder(feed, f, 0), c: c, feed: feed}
}

// where locates an entry for Skip.First.
func where(line int, object string) string {
	switch {
	case line > 0 && object != "":
		return fmt.Sprintf("line %d %s", line, object)
	case line > 0:
		return fmt.Sprintf("line %d", line)
	}
	return object
}

// fail records a malformed entry: an error, or with WithSkipMalformed a
// skip.
func (p *parser) fail(line int, object, text string, err error) {
	if p.c.lenient {
		p.b.skip("malformed: "+err.Error(), where(line, object))
		return
	}
	if p.bad++; p.first == nil {
		p.first = &ParseError{Feed: p.feed, Line: line, Object: object, Text: text, Err: err}
	}
}

// add adds a canonical indicator after checking its evidence.
func (p *parser) add(ind Indicator, object string) {
	if err := checkMeta(&ind); err != nil {
		p.fail(ind.Line, object, ind.Value, err)
		return
	}
	p.b.add(ind)
}

// result returns the set, or the first malformed entry's error.
func (p *parser) result() (*Set, error) {
	if p.first != nil {
		p.first.More = p.bad - 1
		return nil, p.first
	}
	return p.b.finish(), nil
}

// valueSpec is how to read the value of a typed indicator (a CSV type
// column, a MISP attribute type).
type valueSpec uint8

const (
	specUnknown  valueSpec = iota // not a network indicator: skipped
	specInfer                     // anything ParseList accepts, a URL or host:port
	specAddr                      // an address or a prefix
	specDomain                    // a domain name
	specURL                       // a URL: its host
	specHostPort                  // host:port, [v6]:port
	specPipePort                  // host|port (MISP composite)
	specDomainIP                  // domain|ip (MISP composite): both
)

// typeSpecs maps the type names of CSV feeds (abuse.ch, vendors) and MISP
// attribute types to how their value reads. Names are lower-case.
var typeSpecs = map[string]valueSpec{
	"": specInfer, "indicator": specInfer, "ioc": specInfer,

	"ip": specAddr, "ipv4": specAddr, "ipv6": specAddr, "ipv4-addr": specAddr, "ipv6-addr": specAddr,
	"ip-dst": specAddr, "ip-src": specAddr, "ip_address": specAddr, "ipaddress": specAddr, "ip-addr": specAddr,
	"ip_addr": specAddr, "ipv4-address": specAddr, "ipv6-address": specAddr, "address": specAddr, "addr": specAddr,
	"dst_ip": specAddr, "src_ip": specAddr, "ip-address": specAddr,
	"cidr": specAddr, "net": specAddr, "network": specAddr, "netblock": specAddr, "prefix": specAddr, "subnet": specAddr,
	"ipv4-net": specAddr, "ipv6-net": specAddr, "ipv4-cidr": specAddr, "ipv6-cidr": specAddr, "ip-range": specAddr,

	"domain": specDomain, "hostname": specDomain, "fqdn": specDomain, "host": specDomain, "domain-name": specDomain,
	"domain_name": specDomain, "domainname": specDomain, "dns": specDomain,

	"url": specURL,

	"ip:port": specHostPort, "ip_port": specHostPort, "ipport": specHostPort, "host:port": specHostPort,

	"ip-dst|port": specPipePort, "ip-src|port": specPipePort, "hostname|port": specPipePort,

	"domain|ip": specDomainIP,
}

// typedValue reads value per spec and returns its one or two indicators.
func typedValue(spec valueSpec, value string) ([]Indicator, error) {
	switch spec {
	case specInfer:
		switch {
		case strings.Contains(value, "://"):
			ind, err := urlHost(value)
			return []Indicator{ind}, err
		case strings.Count(value, ":") == 1 || strings.HasPrefix(value, "["):
			ind, err := hostPort(value)
			return []Indicator{ind}, err
		}
		ind, err := parseIndicator(value)
		return []Indicator{ind}, err
	case specAddr:
		if strings.IndexByte(value, '/') >= 0 {
			v, err := canonicalPrefix(value)
			return []Indicator{{Value: v, Kind: KindCIDR}}, err
		}
		v, err := canonicalAddr(value)
		return []Indicator{{Value: v, Kind: KindIP}}, err
	case specDomain:
		v, err := canonicalDomain(value)
		return []Indicator{{Value: v, Kind: KindDomain}}, err
	case specURL:
		ind, err := urlHost(value)
		return []Indicator{ind}, err
	case specHostPort:
		ind, err := hostPort(value)
		return []Indicator{ind}, err
	case specPipePort:
		host, port, ok := strings.Cut(value, "|")
		if !ok {
			return nil, reason("want host|port")
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return nil, reason("bad port")
		}
		ind, err := parseIndicator(host)
		return []Indicator{ind}, err
	case specDomainIP:
		d, ip, ok := strings.Cut(value, "|")
		if !ok {
			return nil, reason("want domain|ip")
		}
		dv, err := canonicalDomain(d)
		if err != nil {
			return nil, err
		}
		av, err := canonicalAddr(ip)
		if err != nil {
			return nil, err
		}
		return []Indicator{{Value: dv, Kind: KindDomain}, {Value: av, Kind: KindIP}}, nil
	}
	return nil, reason("unsupported type")
}

// timeLayouts are the timestamp forms feeds use; those without a zone are
// UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 MST",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

// parseTime reads a feed timestamp: RFC 3339, "2006-01-02 15:04:05" (UTC),
// a date, or Unix seconds.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if strings.Trim(s, "0123456789") == "" && len(s) <= 12 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return time.Unix(n, 0).UTC(), nil
		}
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			if t.Year() < 1970 || t.Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, reason(fmt.Sprintf("bad timestamp %q", s))
}

// parseConfidence reads a confidence: an integer or a percentage from 0 to
// 100, or a fraction from 0.0 to 1.0. Empty means unknown (0).
func parseConfidence(s string) (int, error) {
	s = strings.TrimSpace(strings.TrimSuffix(s, "%"))
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) {
		return 0, reason(fmt.Sprintf("bad confidence %q", s))
	}
	if strings.IndexByte(s, '.') >= 0 && f <= 1 {
		f *= 100
	}
	if f < 0 || f > 100 {
		return 0, reason(fmt.Sprintf("confidence %q outside 0 to 100", s))
	}
	return int(math.Round(f)), nil
}

// expire applies WithExpireAfter to ind: ValidUntil from last (or first)
// seen when the feed gave none.
func (c *config) expire(ind *Indicator, first, last time.Time) {
	if c.expireAfter <= 0 || !ind.ValidUntil.IsZero() {
		return
	}
	base := last
	if base.IsZero() {
		base = first
	}
	if !base.IsZero() {
		ind.ValidUntil = base.Add(c.expireAfter)
	}
}

// joinNames returns the distinct non-empty names, sorted, joined with ", ".
func joinNames(names []string) string {
	var out []string
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n != "" && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}
