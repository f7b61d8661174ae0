package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
	"github.com/exfilscore/exfilscore/severity"
)

// demoFileSize is the size of the demo's export: with the SPEC ladder, the
// first download is low (1 MB at 2:1), the third crosses high (10 MB at
// 5:1).
const demoFileSize = 4 << 20

// runDemo serves a file behind the guard on loopback and runs a scripted
// client: alice (API key header) downloads the export until she is
// contained, then bob downloads it once. Alerts go to stdout as JSON lines,
// the story and the summary to stderr. It uses the default 15-minute
// window and the SPEC ladder; containment at -block (default high).
func runDemo(ctx context.Context, o *options, stdout, stderr io.Writer, log *slog.Logger) int {
	dir, err := os.MkdirTemp("", "httpguard-demo")
	if err != nil {
		log.Error("httpguard: demo", "err", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "export.bin"), make([]byte, demoFileSize), 0o600); err != nil {
		log.Error("httpguard: demo", "err", err)
		return 1
	}
	block := severity.High
	if o.block != "" {
		if block, err = severity.ParseLevel(o.block); err != nil || block == severity.None {
			fmt.Fprintln(stderr, "httpguard: -block:", o.block)
			return 2
		}
	}
	sink := exfil.NewJSONLines(stdout)
	guard, err := httpguard.New(httpguard.WithSink(sink), httpguard.WithLogger(log), httpguard.WithBlock(block),
		httpguard.WithPrincipal(func(r *http.Request) string { return r.Header.Get("X-Api-Key") }))
	if err != nil {
		log.Error("httpguard: demo", "err", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Error("httpguard: demo", "err", err)
		return 1
	}
	srv := &http.Server{Handler: guard.Handler(http.FileServer(http.Dir(dir))), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String() + "/export.bin"
	fmt.Fprintf(stderr, "demo: %s (4 MiB) behind the guard: serving mode, 15-minute window, SPEC ladder, containment at %s\n", url, block)

	client := &http.Client{Timeout: 30 * time.Second}
	contained := false
	for i := 1; i <= 20 && !contained && ctx.Err() == nil; i++ {
		code, n, retry, err := fetch(ctx, client, url, "alice")
		switch {
		case code == http.StatusTooManyRequests:
			fmt.Fprintf(stderr, "demo: alice, download %d: refused, 429 Too Many Requests, Retry-After %s s\n", i, retry)
			contained = true
		case err != nil:
			fmt.Fprintf(stderr, "demo: alice, download %d: cut after %d bytes (%v)\n", i, n, err)
		default:
			fmt.Fprintf(stderr, "demo: alice, download %d: %d %d bytes\n", i, code, n)
		}
	}
	code, n, _, err := fetch(ctx, client, url, "bob")
	fmt.Fprintf(stderr, "demo: bob, download 1: %d %d bytes, err %v (other principals are unaffected)\n", code, n, err)

	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(shutdown)
	guard.Flush()
	summary(stderr, guard, sink)
	if st := guard.Stats(); !contained || st.Alerts == 0 || st.Refused == 0 {
		fmt.Fprintln(stderr, "demo: FAILED: alice was not contained")
		return 1
	}
	fmt.Fprintln(stderr, "demo: ok: alerts on stdout, alice contained, bob served")
	return 0
}

// fetch downloads url as the principal key; n counts the body bytes read.
func fetch(ctx context.Context, c *http.Client, url, key string) (code int, n int64, retry string, err error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, 0, "", err
	}
	req.Header.Set("X-Api-Key", key)
	req.Header.Set("User-Agent", "httpguard-demo/1")
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, "", err
	}
	defer resp.Body.Close()
	n, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, n, resp.Header.Get("Retry-After"), err
}
