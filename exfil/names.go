package exfil

import (
	"net/netip"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/pdns"
	"github.com/exfilscore/exfilscore/ioc"
)

// DestNames are the names a sensor saw for an alert's destination address:
// TLS server names, HTTP Host headers and DNS names that resolved to it,
// most recent first (at most pdns.MaxNames of each). NetFlow, IPFIX and
// sFlow carry none; Suricata and Zeek do.
type DestNames struct {
	SNI      []string `json:"sni,omitempty"`
	HTTPHost []string `json:"http_host,omitempty"`
	DNS      []string `json:"dns,omitempty"`
}

// nameTables remember, per destination address, the names records carried
// for it: bounded (pdns.Map, CLOCK eviction), so a flood of names costs a
// fixed amount of memory.
type nameTables struct {
	sni, http, dns *pdns.Map
}

func newNameTables(capacity int) *nameTables {
	return &nameTables{sni: pdns.New(capacity), http: pdns.New(capacity), dns: pdns.New(capacity)}
}

// hasNames reports whether r carries a destination name.
func hasNames(r *flowsrc.Record) bool { return r.SNI != "" || r.HTTPHost != "" || r.DNSName != "" }

// observe files r's names under dst.
func (t *nameTables) observe(dst netip.Addr, r *flowsrc.Record) {
	if r.SNI != "" {
		t.sni.Observe(r.SNI, dst)
	}
	if r.HTTPHost != "" {
		t.http.Observe(hostOnly(r.HTTPHost), dst)
	}
	if r.DNSName != "" {
		t.dns.Observe(r.DNSName, dst)
	}
}

// lookup returns the names filed under dst, nil when there are none.
func (t *nameTables) lookup(dst netip.Addr) *DestNames {
	sni, host, dns := t.sni.Names(dst), t.http.Names(dst), t.dns.Names(dst)
	if sni == nil && host == nil && dns == nil {
		return nil // without allocating: most destinations have no name
	}
	return &DestNames{SNI: sni, HTTPHost: host, DNS: dns}
}

// hostOnly strips a port from an HTTP Host value ("example.com:8080",
// "[2001:db8::1]:443").
func hostOnly(h string) string {
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().String()
	}
	if i := lastColon(h); i > 0 && h[0] != '[' {
		return h[:i]
	}
	return h
}

func lastColon(s string) int {
	n := 0
	at := -1
	for i := 0; i < len(s); i++ {
		if s[i] == ':' {
			n++
			at = i
		}
	}
	if n != 1 {
		return -1 // none, or a bare IPv6 address
	}
	return at
}

// recordDomainHit reports whether one of r's names matches a domain IOC.
func recordDomainHit(m ioc.Multi, r *flowsrc.Record) bool {
	for _, n := range [...]string{r.SNI, hostOnly(r.HTTPHost), r.DNSName} {
		if n != "" {
			if _, hit := m.LookupDomainAt(n, r.End); hit {
				return true
			}
		}
	}
	return false
}

// appendNameMatches appends the domain IOC matches of names, each marked
// with what it matched on, and returns the number of names checked.
func appendNameMatches(dst []ioc.Match, m ioc.Multi, names *DestNames, t time.Time) ([]ioc.Match, int) {
	if names == nil {
		return dst, 0
	}
	checked := 0
	for _, kind := range [...]struct {
		on    string
		names []string
	}{{"sni", names.SNI}, {"http_host", names.HTTPHost}, {"dns", names.DNS}} {
		for _, n := range kind.names {
			checked++
			at := len(dst)
			dst = m.AppendDomainMatchesAt(dst, n, t)
			for i := at; i < len(dst); i++ {
				dst[i].MatchedOn = kind.on
			}
		}
	}
	return dst, checked
}
