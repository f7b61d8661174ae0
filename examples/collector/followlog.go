package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
	"github.com/exfilscore/exfilscore/flowsrc/follow"
	"github.com/exfilscore/exfilscore/flowsrc/suricata"
)

// lineParser is a sensor log's line parser (Suricata EVE or Zeek).
type lineParser interface {
	Line(line []byte, lineNo int64, emit func(*flowsrc.Record)) error
}

// runFollow tails a live Suricata EVE or Zeek log (format found from its
// first line) until ctx is done, in live mode: early alerts, windows
// closed by the wall clock too. With a state file, the position reached
// is saved there (every few seconds and at the end) and a restart resumes
// from it: no line read twice, none skipped.
func (a *app) runFollow(ctx context.Context, path, statePath string) error {
	opts := follow.Options{
		OnEvent: func(e follow.Event) {
			a.log.Info("follow", "event", e.Kind.String(), "file", e.File, "detail", e.Detail)
		},
	}
	var mu sync.Mutex
	var pos follow.Position
	if statePath != "" {
		if b, err := os.ReadFile(statePath); err == nil {
			if err := json.Unmarshal(b, &pos); err != nil {
				return fmt.Errorf("-follow-state %s: %w", statePath, err)
			}
			opts.Start = &pos
			a.log.Info("follow resumes", "file", path, "line", pos.Line, "offset", pos.Offset)
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		opts.OnPosition = func(p follow.Position) { mu.Lock(); pos = p; mu.Unlock() }
	}
	save := func() {
		if statePath == "" {
			return
		}
		mu.Lock()
		b, _ := json.Marshal(pos)
		mu.Unlock()
		tmp := statePath + ".tmp"
		err := os.WriteFile(tmp, b, 0o644)
		if err == nil {
			err = os.Rename(tmp, statePath)
		}
		if err != nil {
			a.log.Warn("follow: cannot save the position", "file", statePath, "err", err)
		}
	}

	srcs, stop := a.start(1, false)
	src := srcs[0]
	var parser lineParser
	var bad uint64
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if a.det != nil {
					a.det.Advance(now)
				}
				if n%5 == 4 {
					save()
				}
			}
		}
	})
	a.log.Info("following", "file", path)
	err := follow.Follow(ctx, path, opts, func(line []byte, n int64) error {
		if parser == nil {
			p, format := a.parserFor(line)
			if p == nil {
				if len(line) == 0 {
					return nil
				}
				return fmt.Errorf("%s line %d: neither Suricata EVE JSON nor a Zeek conn.log", path, n)
			}
			a.log.Info("follow format", "file", path, "format", format)
			parser = p
		}
		if perr := parser.Line(line, n, src.emit); perr != nil {
			if bad++; bad <= 8 {
				a.log.Warn("follow: bad line", "file", path, "err", perr)
			}
		}
		src.flush()
		return nil
	})
	cancel()
	wg.Wait()
	src.flush()
	stop()
	save()
	if err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return a.finish("follow")
}

// parserFor picks the parser of a log from one of its lines.
func (a *app) parserFor(line []byte) (lineParser, string) {
	switch {
	case suricata.Sniff(line):
		return suricata.NewParser(suricata.WithPDNS(a.names)), formatEVE
	case sniffZeek(line):
		return newZeekLineParser(a), formatZeek
	}
	return nil, ""
}
