// Command httpguard runs exfilscore's HTTP middleware in front of a static
// file server (serving) or a proxy (egress): it scores the bytes each
// client moves across the boundary, writes alerts as JSON lines on stdout
// and, with -block, contains clients that reach a severity. Logs and
// summaries go to stderr.
//
//	httpguard [-mode serving|egress] [-listen ADDR] [-dir DIR] [-upstream URL]
//	          [-block SEVERITY] [-scope principal|destination] [-window 15m]
//	          [-min-severity low] [-policy FILE] [-principal-header NAME]
//	          [-trusted-proxies CIDR,...] [-proxy-header x-forwarded-for|forwarded]
//	          [-allow CIDR,...] [-allow-principal NAME,...] [-demo] [-v]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/exfilscore/exfilscore/exfil"
	"github.com/exfilscore/exfilscore/exfil/httpguard"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "httpguard:", err)
		}
		return 2
	}
	level := slog.LevelInfo
	if o.verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if o.demo {
		return runDemo(ctx, o, stdout, stderr, log)
	}
	sink := exfil.NewJSONLines(stdout)
	opts, err := o.guardOptions(sink, log)
	if err != nil {
		fmt.Fprintln(stderr, "httpguard:", err)
		return 2
	}
	guard, err := httpguard.New(opts...)
	if err != nil {
		fmt.Fprintln(stderr, "httpguard:", err)
		return 2
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		log.Error("httpguard: listen", "err", err)
		return 1
	}
	srv := &http.Server{Handler: guard.Handler(o.backend(log)), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	log.Info("httpguard: listening", "addr", ln.Addr().String(), "mode", guard.Mode().String(), "block", o.block)
	go guard.Run(ctx)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case <-ctx.Done():
	case err := <-errc:
		log.Error("httpguard: serve", "err", err)
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutdown) // in-flight requests finish first, so their bytes are reported
	guard.Flush()
	summary(stderr, guard, sink)
	return 0
}

// summary writes the guard's counters to stderr as one JSON object.
func summary(w io.Writer, g *httpguard.Guard, sink *exfil.JSONLines) {
	b, _ := json.Marshal(struct {
		Summary httpguard.Stats `json:"httpguard_summary"`
		Written uint64          `json:"alerts_written"`
	}{g.Stats(), sink.Count()})
	fmt.Fprintf(w, "%s\n", b)
	if err := sink.Err(); err != nil {
		fmt.Fprintln(w, "httpguard: writing alerts:", err)
	}
}
