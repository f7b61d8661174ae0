package ioc

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Watcher is a Matcher over a feed file that it reloads when the file
// changes (Poll, Run) or on demand (Reload, for SIGHUP). A reload parses
// the file into a new Set and swaps it in atomically: lookups read the
// current Set through an atomic pointer and never wait for a reload, and a
// reload that fails (a malformed file, a file missing for a moment) leaves
// the previous Set live.
//
// A change is a new inode, size or modification time of the file at the
// path. Replace a feed by writing a new file and renaming it over the old
// one: a file rewritten in place may be read half-written (a reload that
// sees the file change while it reads it fails and is retried at the next
// poll, but one that reads between two writes sees a short, valid feed).
//
// A Watcher is safe for concurrent use. It starts no goroutine: call Run
// from one of yours, or Poll from your own loop.
type Watcher struct {
	path string
	cfg  config
	load func(path string, c *config) (*Set, fileID, error)

	cur atomic.Pointer[Set]

	mu       sync.Mutex // serialises reloads; guards the fields below
	id       fileID     // of the loaded file
	failedID fileID     // of the last file that failed to load
	lastErr  error

	reloads  atomic.Uint64
	failures atomic.Uint64
}

var (
	_ Matcher      = (*Watcher)(nil)
	_ TimedMatcher = (*Watcher)(nil)
)

// NewWatcher loads the feed file at path (see Load for the options) and
// returns a Watcher serving it. It fails if this first load fails.
func NewWatcher(path string, opts ...Option) (*Watcher, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	w := &Watcher{path: path, cfg: c, load: loadFile}
	s, id, err := w.load(path, &w.cfg)
	if err != nil {
		return nil, err
	}
	w.cur.Store(s)
	w.id = id
	return w, nil
}

// Path returns the path of the watched file.
func (w *Watcher) Path() string { return w.path }

// Set returns the current set. It never returns nil.
func (w *Watcher) Set() *Set { return w.cur.Load() }

// Reload loads the file now, whether it changed or not, and swaps the new
// set in. On failure the previous set stays live and the error is
// returned. Concurrent reloads are serialised.
func (w *Watcher) Reload() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reloadLocked()
}

func (w *Watcher) reloadLocked() error {
	s, id, err := w.load(w.path, &w.cfg)
	if err != nil {
		w.failures.Add(1)
		w.lastErr = err
		w.failedID = id // zero when unknown: the next poll tries again
		if w.cfg.onReload != nil {
			w.cfg.onReload(w, nil, err)
		}
		return err
	}
	w.cur.Store(s)
	w.id, w.failedID, w.lastErr = id, fileID{}, nil
	w.reloads.Add(1)
	if w.cfg.onReload != nil {
		w.cfg.onReload(w, s, nil)
	}
	return nil
}

// Poll reloads the file if it changed since it was loaded, and reports
// whether it did. A file version that failed to load is not tried again
// until it changes (or Reload is called). An error is a failed stat
// (the file is missing) or a failed reload; the previous set stays live.
func (w *Watcher) Poll() (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	id, err := statPath(w.path)
	if err != nil {
		return false, fmt.Errorf("ioc: %w", err)
	}
	if id == w.id || id == w.failedID {
		return false, nil
	}
	if err := w.reloadLocked(); err != nil {
		return false, err
	}
	return true, nil
}

// Run polls the file every poll interval (WithPollInterval) until ctx is
// done, and returns ctx.Err(). Reloads and failed reloads go to the
// WithOnReload function, and so does a failed stat (the file is missing),
// once until the error changes.
func (w *Watcher) Run(ctx context.Context) error {
	t := time.NewTicker(w.cfg.interval)
	defer t.Stop()
	var lastStat string
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
		before := w.failures.Load()
		_, err := w.Poll()
		switch {
		case err == nil:
			lastStat = ""
		case w.failures.Load() != before:
			// A failed load: reported by reloadLocked.
		case err.Error() != lastStat && w.cfg.onReload != nil:
			lastStat = err.Error()
			w.cfg.onReload(w, nil, err)
		}
	}
}

// WatcherStats are a Watcher's counters.
type WatcherStats struct {
	Reloads    uint64 // successful reloads after the first load
	Failures   uint64 // failed reloads
	Indicators int    // indicators of the current set
	LastError  error  // the last failed reload's error, nil after a success
}

// Stats returns the Watcher's counters.
func (w *Watcher) Stats() WatcherStats {
	w.mu.Lock()
	lastErr := w.lastErr
	w.mu.Unlock()
	return WatcherStats{
		Reloads:    w.reloads.Load(),
		Failures:   w.failures.Load(),
		Indicators: w.cur.Load().Len(),
		LastError:  lastErr,
	}
}

// Len returns the number of indicators of the current set.
func (w *Watcher) Len() int { return w.cur.Load().Len() }

// LookupAddr is Set.LookupAddr on the current set.
func (w *Watcher) LookupAddr(addr netip.Addr) (Match, bool) { return w.cur.Load().LookupAddr(addr) }

// LookupDomain is Set.LookupDomain on the current set.
func (w *Watcher) LookupDomain(name string) (Match, bool) { return w.cur.Load().LookupDomain(name) }

// LookupAddrAt is Set.LookupAddrAt on the current set.
func (w *Watcher) LookupAddrAt(addr netip.Addr, t time.Time) (Match, bool) {
	return w.cur.Load().LookupAddrAt(addr, t)
}

// LookupDomainAt is Set.LookupDomainAt on the current set.
func (w *Watcher) LookupDomainAt(name string, t time.Time) (Match, bool) {
	return w.cur.Load().LookupDomainAt(name, t)
}
