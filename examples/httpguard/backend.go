package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// backend is the handler the guard wraps: a file server of -dir in serving
// mode; in egress mode a reverse proxy to -upstream, or without it a
// forward proxy (absolute-URL requests through httputil.ReverseProxy,
// CONNECT through a hijacked tunnel, whose bytes the guard counts both
// ways).
func (o *options) backend(log *slog.Logger) http.Handler {
	if o.mode != "egress" {
		return http.FileServer(http.Dir(o.dir))
	}
	// Never the environment's HTTP_PROXY: the proxy would call itself.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	if o.upstream != "" {
		u, _ := url.Parse(o.upstream) // validated by guardOptions
		return &httputil.ReverseProxy{Transport: tr, ErrorLog: errLog, Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.SetXForwarded()
		}}
	}
	forward := &httputil.ReverseProxy{Transport: tr, ErrorLog: errLog, Rewrite: func(*httputil.ProxyRequest) {}}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodConnect:
			tunnel(w, r, log)
		case r.URL.IsAbs() && r.URL.Host != "":
			forward.ServeHTTP(w, r)
		default:
			http.Error(w, "httpguard: a forward proxy wants an absolute URL or CONNECT", http.StatusBadRequest)
		}
	})
}

// tunnel serves CONNECT: dial the target, hijack the client's connection,
// copy both ways until both sides are done.
func tunnel(w http.ResponseWriter, r *http.Request, log *slog.Logger) {
	dst, err := net.DialTimeout("tcp", r.Host, 10*time.Second)
	if err != nil {
		http.Error(w, "httpguard: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer dst.Close()
	client, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "httpguard: CONNECT needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	defer client.Close()
	brw.WriteString("HTTP/1.1 200 Connection Established\r\n\r\n")
	if err := brw.Flush(); err != nil {
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	pipe := func(to net.Conn, from io.Reader) {
		defer wg.Done()
		if _, err := io.Copy(to, from); err != nil { // containment cut it, or a side failed
			client.Close()
			dst.Close()
			return
		}
		closeWrite(to)
	}
	go pipe(dst, brw)    // client -> target: the upload
	go pipe(client, dst) // target -> client
	wg.Wait()
	log.Debug("httpguard: tunnel closed", "target", r.Host)
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
