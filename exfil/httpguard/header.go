package httpguard

import (
	"net/http"
	"strings"
)

// Header sizes are counted as HTTP/1.1 puts them on the wire: a start line,
// one "Name: value\r\n" line per value, and the blank line. See the package
// documentation for what this leaves out and for HTTP/2.

// continueSize is the size of the automatic "HTTP/1.1 100 Continue\r\n\r\n"
// that net/http sends at a request body's first read.
const continueSize = len("HTTP/1.1 100 Continue\r\n\r\n")

// requestHeadSize is the size of r's request line and header block.
func requestHeadSize(r *http.Request) uint64 {
	uri := len(r.RequestURI)
	if uri == 0 && r.URL != nil { // a request built by hand, not parsed by a server
		uri = max(len(r.URL.Path), 1)
		if r.URL.RawQuery != "" {
			uri += 1 + len(r.URL.RawQuery)
		}
	}
	n := len(r.Method) + 1 + uri + 1 + len(r.Proto) + 2
	if r.Host != "" { // net/http moves Host out of the header map
		n += len("Host: ") + len(r.Host) + 2
	}
	return uint64(n + fieldsSize(r.Header, false) + 2)
}

// statusLineSize is the size of net/http's status line for code.
func statusLineSize(code int) int {
	if text := http.StatusText(code); text != "" {
		return len("HTTP/1.1 ") + digits(code) + 1 + len(text) + 2
	}
	// "%03d status code %d\r\n"
	return len("HTTP/1.1 ") + max(digits(code), 3) + len(" status code ") + digits(code) + 2
}

// digits is the number of decimal digits of n >= 0.
func digits(n int) int {
	d := 1
	for n >= 10 {
		n /= 10
		d++
	}
	return d
}

// responseHeadSize is the size of a response head with status code and
// header map h: the status line, h's fields (trailer declarations under
// http.TrailerPrefix excluded; for 1xx also Content-Length and
// Transfer-Encoding, as net/http writes them) and the blank line.
func responseHeadSize(code int, h http.Header) uint64 {
	informational := code >= 100 && code <= 199 && code != http.StatusSwitchingProtocols
	return uint64(statusLineSize(code) + fieldsSize(h, informational) + 2)
}

// fieldsSize sums "Name: value\r\n" over h.
func fieldsSize(h http.Header, informational bool) int {
	n := 0
	for k, vs := range h {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		if informational && (k == "Content-Length" || k == "Transfer-Encoding") {
			continue
		}
		for _, v := range vs {
			n += len(k) + 2 + len(v) + 2
		}
	}
	return n
}
