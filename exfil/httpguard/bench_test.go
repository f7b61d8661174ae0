package httpguard_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/severity"
)

// nopWriter is a ResponseWriter that allocates nothing, so that a benchmark
// of direct ServeHTTP calls measures the middleware alone.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *nopWriter) WriteHeader(int)             {}
func (w *nopWriter) Flush()                      {}

var hello = []byte("hello, world\n")

func helloHandler(w http.ResponseWriter, r *http.Request) { w.Write(hello) }

// benchRequest is a typical API request: 7 header fields, no body.
func benchRequest(remote string) *http.Request {
	r := httptest.NewRequest("GET", "http://api.example.test/v1/items/42?fields=name", nil)
	r.RemoteAddr = remote
	r.Header.Set("User-Agent", "bench-client/1.0")
	r.Header.Set("Accept", "application/json")
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.Header.Set("Authorization", "Bearer 0123456789abcdef0123456789abcdef")
	r.Header.Set("X-Request-Id", "7f9c2ba4-e88f-11e3-8c4f-000000000001")
	r.Header.Set("Cookie", "session=abcdef0123456789")
	r.Header.Set("Connection", "keep-alive")
	return r
}

func benchGuard(tb testing.TB, opts ...httpguard.Option) *httpguard.Guard {
	g, err := httpguard.New(append([]httpguard.Option{httpguard.WithSink(exfil.SinkFunc(func(*exfil.Alert) {}))}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return g
}

// BenchmarkOverhead is the per-request cost of the middleware: direct
// ServeHTTP calls on a reused request and writer, bare handler against
// guarded ones.
func BenchmarkOverhead(b *testing.B) {
	cases := []struct {
		name string
		h    func() http.Handler
	}{
		{"bare", func() http.Handler { return http.HandlerFunc(helloHandler) }},
		{"serving", func() http.Handler { return benchGuard(b).Handler(http.HandlerFunc(helloHandler)) }},
		{"serving+block", func() http.Handler {
			return benchGuard(b, httpguard.WithBlock(severity.High)).Handler(http.HandlerFunc(helloHandler))
		}},
		{"egress", func() http.Handler {
			return benchGuard(b, httpguard.WithMode(httpguard.Egress)).Handler(http.HandlerFunc(helloHandler))
		}},
		{"serving+key", func() http.Handler {
			return benchGuard(b, httpguard.WithPrincipal(func(r *http.Request) string { return r.Header.Get("X-Request-Id") })).
				Handler(http.HandlerFunc(helloHandler))
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			h := c.h()
			r := benchRequest("203.0.113.5:40000")
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkOverheadBody is BenchmarkOverhead for a request with a 1 KiB
// body the handler reads: the guard allocates its counting reader.
func BenchmarkOverheadBody(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		b.Run(fmt.Sprintf("guard=%v", guarded), func(b *testing.B) {
			var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.Write(hello)
			})
			if guarded {
				h = benchGuard(b, httpguard.WithMode(httpguard.Egress)).Handler(h)
			}
			r := benchRequest("10.0.0.5:40000")
			r.Method = "POST"
			data := bytes.NewReader(make([]byte, 1024))
			body := io.NopCloser(data)
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				data.Seek(0, io.SeekStart)
				r.Body = body
				h.ServeHTTP(w, r)
			}
		})
	}
}

// BenchmarkOverheadParallel runs the guarded handler from every CPU, each
// goroutine a principal of its own (no shared aggregate) or all one
// principal (one aggregate's lock).
func BenchmarkOverheadParallel(b *testing.B) {
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("shared-principal=%v", shared), func(b *testing.B) {
			h := benchGuard(b).Handler(http.HandlerFunc(helloHandler))
			var next atomic.Int32
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				remote := "203.0.113.5:1"
				if !shared {
					remote = fmt.Sprintf("203.0.113.%d:1", next.Add(1))
				}
				r := benchRequest(remote)
				w := &nopWriter{h: http.Header{}}
				for pb.Next() {
					h.ServeHTTP(w, r)
				}
			})
		})
	}
}

// BenchmarkLoopback is the throughput of a loopback server with and
// without the middleware: keep-alive clients from every CPU, 13-byte
// responses.
func BenchmarkLoopback(b *testing.B) {
	for _, guarded := range []bool{false, true} {
		b.Run(fmt.Sprintf("guard=%v", guarded), func(b *testing.B) {
			var h http.Handler = http.HandlerFunc(helloHandler)
			if guarded {
				h = benchGuard(b).Handler(h)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			tr := &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr}
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := cl.Get(srv.URL + "/v1/items/42")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
		})
	}
}

// The request path allocates nothing once a principal's aggregate exists.
func TestNoAllocsPerRequest(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		t.Skip("allocation counts differ under -cover and -race")
	}
	for name, opts := range map[string][]httpguard.Option{
		"serving":       nil,
		"serving+block": {httpguard.WithBlock(severity.High)},
		"egress":        {httpguard.WithMode(httpguard.Egress)},
	} {
		h := benchGuard(t, opts...).Handler(http.HandlerFunc(helloHandler))
		r := benchRequest("203.0.113.5:40000")
		w := &nopWriter{h: http.Header{}}
		h.ServeHTTP(w, r)
		if n := testing.AllocsPerRun(1000, func() { h.ServeHTTP(w, r) }); n != 0 {
			t.Errorf("%s: %v allocations per request", name, n)
		}
	}
}
