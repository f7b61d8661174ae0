package ioc

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// replaceFile writes content to a new file and renames it over path, as a
// feed updater should.
func replaceFile(t testing.TB, path, content string) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tmp.WriteString(content); err != nil {
		t.Fatal(err)
	}
	if err := tmp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		t.Fatal(err)
	}
}

type hookLog struct {
	mu     sync.Mutex
	events []string
}

func (h *hookLog) hook(w *Watcher, s *Set, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err != nil {
		h.events = append(h.events, "error: "+err.Error())
		return
	}
	h.events = append(h.events, fmt.Sprintf("loaded %d", s.Len()))
}

func (h *hookLog) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.events...)
}

func TestWatcherPoll(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.txt")
	replaceFile(t, path, "192.0.2.1\n")
	var log hookLog
	w, err := NewWatcher(path, WithOnReload(log.hook))
	if err != nil {
		t.Fatal(err)
	}
	a1, a2 := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	if _, ok := w.LookupAddr(a1); !ok || w.Len() != 1 || w.Path() != path {
		t.Fatal("first load not served")
	}
	if changed, err := w.Poll(); changed || err != nil {
		t.Errorf("Poll on an unchanged file = %v, %v", changed, err)
	}

	replaceFile(t, path, "192.0.2.2\nevil.example\n")
	if changed, err := w.Poll(); !changed || err != nil {
		t.Fatalf("Poll after a replacement = %v, %v", changed, err)
	}
	if _, ok := w.LookupAddr(a2); !ok || w.Len() != 2 {
		t.Error("new set not served after Poll")
	}
	if _, ok := w.LookupAddr(a1); ok {
		t.Error("old indicator still served")
	}

	// A malformed replacement: the previous set stays live.
	replaceFile(t, path, "192.0.2.3\nnot an indicator\n")
	changed, err := w.Poll()
	var pe *ParseError
	if changed || !errors.As(err, &pe) || pe.File != path || pe.Line != 2 {
		t.Fatalf("Poll after a bad replacement = %v, %v", changed, err)
	}
	if _, ok := w.LookupAddr(a2); !ok {
		t.Error("the previous set is not live after a failed reload")
	}
	// The bad version is not tried again...
	if changed, err := w.Poll(); changed || err != nil {
		t.Errorf("Poll of the same bad file = %v, %v; want no retry", changed, err)
	}
	// ...but Reload tries it.
	if err := w.Reload(); err == nil {
		t.Error("Reload of a bad file succeeded")
	}
	// A missing file: a stat error, the set stays.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Poll(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Poll of a missing file = %v", err)
	}
	if _, ok := w.LookupDomain("www.evil.example"); !ok {
		t.Error("the set is not live while the file is missing")
	}
	replaceFile(t, path, "192.0.2.4\n")
	if changed, err := w.Poll(); !changed || err != nil {
		t.Errorf("Poll after the file came back = %v, %v", changed, err)
	}
	st := w.Stats()
	if st.Reloads != 2 || st.Failures != 2 || st.LastError != nil || st.Indicators != 1 {
		t.Errorf("Stats = %+v", st)
	}
	got := log.get()
	if len(got) != 4 || got[0] != "loaded 2" || !strings.HasPrefix(got[1], "error: ioc: file") || got[3] != "loaded 1" {
		t.Errorf("hook events = %q", got)
	}
	// Reload of an unchanged file reloads.
	if err := w.Reload(); err != nil || w.Stats().Reloads != 3 {
		t.Errorf("Reload = %v, stats %+v", err, w.Stats())
	}
}

func TestNewWatcherErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := NewWatcher(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("NewWatcher(missing) = %v", err)
	}
	path := filepath.Join(dir, "bad.txt")
	replaceFile(t, path, "1.2.3\n")
	if _, err := NewWatcher(path); !errors.Is(err, ErrBadIndicator) {
		t.Errorf("NewWatcher(bad) = %v", err)
	}
	if _, err := NewWatcher(path, WithPollInterval(-time.Second)); err == nil {
		t.Error("NewWatcher with a negative interval succeeded")
	}
}

func TestWatcherRun(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.csv")
	replaceFile(t, path, "indicator,malware\n192.0.2.1,v1\n")
	var log hookLog
	w, err := NewWatcher(path, WithPollInterval(5*time.Millisecond), WithOnReload(log.hook), WithFormat(FormatCSV))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s; hook events %q", what, log.get())
			}
			time.Sleep(time.Millisecond)
		}
	}
	replaceFile(t, path, "indicator,malware\n192.0.2.1,v2\n192.0.2.2,v2\n")
	waitFor("the reload", func() bool { return w.Len() == 2 })
	if m, _ := w.LookupAddr(netip.MustParseAddr("192.0.2.1")); m.MalwareFamily != "v2" {
		t.Errorf("after Run's reload: %+v", m)
	}
	// A missing file is reported once.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	waitFor("the missing file", func() bool { return len(log.get()) == 2 })
	time.Sleep(30 * time.Millisecond)
	replaceFile(t, path, "indicator\n192.0.2.3\n")
	waitFor("the file's return", func() bool { return w.Len() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v", err)
	}
	got := log.get()
	if len(got) != 3 || !strings.Contains(got[1], "no such file") {
		t.Errorf("hook events = %q", got)
	}
}

// TestWatcherSwapUnderLoad replaces the feed file again and again while
// goroutines look up indicators: every lookup of an indicator present in
// every version must match, and each reader must see the versions in
// order. Run it with -race.
func TestWatcherSwapUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.csv")
	version := func(v int) string {
		var b strings.Builder
		b.WriteString("indicator,malware\n")
		for i := range 250 {
			fmt.Fprintf(&b, "10.%d.%d.1,v%03d\n", v%200, i, v)
		}
		fmt.Fprintf(&b, "192.0.2.1,v%03d\nstable.example,v%03d\n", v, v)
		return b.String()
	}
	replaceFile(t, path, version(0))
	w, err := NewWatcher(path)
	if err != nil {
		t.Fatal(err)
	}
	const versions = 60
	var stop atomic.Bool
	var lookups, failures atomic.Int64
	var wg sync.WaitGroup
	stable := netip.MustParseAddr("192.0.2.1")
	errs := make(chan string, 8)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := ""
			for !stop.Load() {
				var m Match
				var ok bool
				if g%2 == 0 {
					m, ok = w.LookupAddrAt(stable, t0)
				} else {
					m, ok = w.LookupDomainAt("x.stable.example", t0)
				}
				lookups.Add(1)
				if !ok {
					failures.Add(1)
					continue
				}
				if m.MalwareFamily < last {
					select {
					case errs <- fmt.Sprintf("reader %d saw %s after %s", g, m.MalwareFamily, last):
					default:
					}
				}
				last = m.MalwareFamily
			}
		}()
	}
	for v := 1; v <= versions; v++ {
		replaceFile(t, path, version(v))
		changed, err := w.Poll()
		if err != nil || !changed {
			t.Fatalf("version %d: Poll = %v, %v", v, changed, err)
		}
		if m, _ := w.LookupAddr(stable); m.MalwareFamily != fmt.Sprintf("v%03d", v) {
			t.Fatalf("version %d not served after Poll: %+v", v, m)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if failures.Load() != 0 {
		t.Errorf("%d of %d lookups failed during reloads", failures.Load(), lookups.Load())
	}
	if w.Stats().Reloads != versions {
		t.Errorf("Reloads = %d, want %d", w.Stats().Reloads, versions)
	}
	t.Logf("%d lookups during %d reloads", lookups.Load(), versions)
}

// TestWatcherLookupsDoNotWait holds a reload in the middle of its parse
// and checks that lookups go on meanwhile, on the previous set.
func TestWatcherLookupsDoNotWait(t *testing.T) {
	path := filepath.Join(t.TempDir(), "feed.txt")
	replaceFile(t, path, "192.0.2.1\n")
	w, err := NewWatcher(path)
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	w.load = func(path string, c *config) (*Set, fileID, error) {
		close(started)
		<-release // a parse that takes forever
		return loadFile(path, c)
	}
	replaceFile(t, path, "192.0.2.2\n")
	reloaded := make(chan error)
	go func() { reloaded <- w.Reload() }()
	<-started
	done := make(chan int)
	go func() {
		n := 0
		for range 10000 {
			if _, ok := w.LookupAddr(netip.MustParseAddr("192.0.2.1")); ok {
				n++
			}
		}
		done <- n
	}()
	select {
	case n := <-done:
		if n != 10000 {
			t.Errorf("%d of 10000 lookups matched the previous set during the reload", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("lookups blocked while a reload was in progress")
	}
	close(release)
	if err := <-reloaded; err != nil {
		t.Fatal(err)
	}
	if _, ok := w.LookupAddr(netip.MustParseAddr("192.0.2.2")); !ok {
		t.Error("new set not served after the reload")
	}
}
