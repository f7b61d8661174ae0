package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/zeek"
)

// sniffZeek reports whether head starts a Zeek conn.log (TSV or JSON), or,
// for a followed log, is the first line of a Zeek TSV header.
func sniffZeek(head []byte) bool {
	if _, ok := zeek.Sniff(head); ok {
		return true
	}
	return hasPrefix(head, "#separator ")
}

// replayZeek replays a Zeek conn.log into emit. When path is a file
// named conn*.log[.gz] and the ssl, http and dns logs of the same run lie
// beside it (ssl.log, ssl.log.gz, ...), they are read first, so that the
// records carry the names Zeek saw (joined by uid, and DNS answers into
// the passive-DNS map).
func (a *app) replayZeek(r io.Reader, path string, emit func(*flowsrc.Record)) error {
	start := time.Now()
	if apps := zeekSiblings(path); len(apps) > 0 {
		a.log.Info("zeek: joining names from", "files", apps)
		st, err := zeek.ReadFiles(emit, append(apps, path), zeek.WithPDNS(a.names))
		a.logZeek(st, time.Since(start))
		return err
	}
	zr := zeek.NewReader(r, zeek.WithPDNS(a.names))
	err := zr.Run(emit)
	a.logZeek(zr.Stats(), time.Since(start))
	return err
}

// zeekSiblings lists the application logs beside a conn.log.
func zeekSiblings(path string) []string {
	base := filepath.Base(path)
	if !strings.HasPrefix(base, "conn") {
		return nil
	}
	var out []string
	for _, name := range []string{"ssl", "http", "dns"} {
		for _, ext := range []string{".log", ".log.gz"} {
			p := filepath.Join(filepath.Dir(path), name+ext)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				out = append(out, p)
				break
			}
		}
	}
	return out
}

func (a *app) logZeek(st zeek.Stats, elapsed time.Duration) {
	a.log.Info("zeek read", "lines", st.Lines, "records", st.Records, "ssl", st.SSL, "http", st.HTTP, "dns", st.DNS,
		"joined", st.Joined, "other_path", st.OtherPath, "malformed", st.Malformed, "elapsed", elapsed)
	for _, le := range st.Errors {
		a.log.Warn("zeek malformed line", "err", le.Error())
	}
}

// zeekLines adapts zeek.Parser to a followed log's lineParser.
type zeekLines struct{ p *zeek.Parser }

func newZeekLineParser(a *app) lineParser {
	return zeekLines{zeek.NewParser(zeek.WithPDNS(a.names))}
}

func (z zeekLines) Line(line []byte, n int64, emit func(*flowsrc.Record)) error {
	z.p.Line(line, n, emit)
	return nil
}
