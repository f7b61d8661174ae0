package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/severity"
)

type options struct {
	mode, listen, dir, upstream, block, scope, minSeverity, policy string
	principalHeader, trusted, proxyHeader, allow, allowPrincipals  string
	window                                                         time.Duration
	demo, verbose                                                  bool
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	var o options
	fs := flag.NewFlagSet("httpguard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.mode, "mode", "serving", "serving (response bytes leave) or egress (request bytes leave)")
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "TCP `address` to listen on")
	fs.StringVar(&o.dir, "dir", ".", "serving: the `directory` served at /")
	fs.StringVar(&o.upstream, "upstream", "", "egress: reverse proxy to this `URL` (empty: a forward proxy for absolute-URL requests and CONNECT)")
	fs.StringVar(&o.block, "block", "", "contain clients that reach this `severity` (low, medium, high, critical; empty: detect only)")
	fs.StringVar(&o.scope, "scope", "principal", "what containment refuses: principal, or destination (principal and destination)")
	fs.DurationVar(&o.window, "window", 15*time.Minute, "window length (divides 24h)")
	fs.StringVar(&o.minSeverity, "min-severity", "low", "lowest severity to report")
	fs.StringVar(&o.policy, "policy", "", "severity ladder JSON `file` (replaces the SPEC defaults)")
	fs.StringVar(&o.principalHeader, "principal-header", "", "request header whose value names the principal (an API key header); default: the client address")
	fs.StringVar(&o.trusted, "trusted-proxies", "", "`CIDRs` of proxies whose forwarding header names the client")
	fs.StringVar(&o.proxyHeader, "proxy-header", "x-forwarded-for", "the header trusted proxies write: x-forwarded-for or forwarded")
	fs.StringVar(&o.allow, "allow", "", "`CIDRs` never contained (clients; in egress also destinations)")
	fs.StringVar(&o.allowPrincipals, "allow-principal", "", "principal `names` never contained, comma-separated")
	fs.BoolVar(&o.demo, "demo", false, "run the built-in demo on loopback and exit")
	fs.BoolVar(&o.verbose, "v", false, "debug logging on stderr")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return &o, nil
}

// guardOptions turns the flags into the guard's options.
func (o *options) guardOptions(sink exfil.Sink, log *slog.Logger) ([]httpguard.Option, error) {
	mode, err := httpguard.ParseMode(o.mode)
	if err != nil {
		return nil, err
	}
	min, err := severity.ParseLevel(o.minSeverity)
	if err != nil {
		return nil, err
	}
	opts := []httpguard.Option{httpguard.WithSink(sink), httpguard.WithLogger(log), httpguard.WithMode(mode),
		httpguard.WithWindow(o.window), httpguard.WithMinSeverity(min)}
	if o.block != "" {
		l, err := severity.ParseLevel(o.block)
		if err != nil {
			return nil, err
		}
		opts = append(opts, httpguard.WithBlock(l))
	}
	switch o.scope {
	case "principal":
	case "destination":
		opts = append(opts, httpguard.WithBlockScope(httpguard.ScopeDestination))
	default:
		return nil, fmt.Errorf("unknown -scope %q (want principal or destination)", o.scope)
	}
	if o.policy != "" {
		f, err := os.Open(o.policy)
		if err != nil {
			return nil, err
		}
		p, err := severity.LoadPolicy(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		opts = append(opts, httpguard.WithPolicy(p))
	}
	if h := o.principalHeader; h != "" {
		opts = append(opts, httpguard.WithPrincipal(func(r *http.Request) string { return r.Header.Get(h) }))
	}
	if o.trusted != "" {
		ps, err := prefixes(o.trusted)
		if err != nil {
			return nil, err
		}
		h := httpguard.XForwardedFor
		switch strings.ToLower(o.proxyHeader) {
		case "x-forwarded-for":
		case "forwarded":
			h = httpguard.Forwarded
		default:
			return nil, fmt.Errorf("unknown -proxy-header %q", o.proxyHeader)
		}
		opts = append(opts, httpguard.WithTrustedProxies(h, ps...))
	}
	if o.allow != "" || o.allowPrincipals != "" {
		ps, err := prefixes(o.allow)
		if err != nil {
			return nil, err
		}
		var names []string
		if o.allowPrincipals != "" {
			names = strings.Split(o.allowPrincipals, ",")
		}
		opts = append(opts, httpguard.WithAllowlist(ps, names))
	}
	if mode == httpguard.Egress && o.upstream != "" {
		u, err := url.Parse(o.upstream)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("-upstream %q: want an http or https URL", o.upstream)
		}
		dest := u.Host
		if u.Port() == "" {
			dest = u.Host + ":" + map[string]string{"http": "80", "https": "443"}[u.Scheme]
		}
		opts = append(opts, httpguard.WithDestination(func(*http.Request) string { return dest }))
	}
	return opts, nil
}

// prefixes parses a comma-separated CIDR list (a bare address is a /32 or
// /128).
func prefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, err
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}
