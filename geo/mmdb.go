package geo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// MMDB is a [Provider] over one or more MaxMind DB (.mmdb) files: MaxMind
// GeoLite2/GeoIP2, DB-IP and IPinfo databases. The country comes from the
// first file, in the order given, whose record for the address has one;
// the ASN and organisation come together from the first record with an
// ASN (see the package documentation).
//
// Files are read into memory, verified, and swapped in atomically by
// [MMDB.Reload], [MMDB.ReloadChanged] and [MMDB.Run]; a file that fails to
// load leaves its previous version in use. Lookups never wait for a
// reload and never see a half-loaded state.
//
// An MMDB is safe for concurrent use. It must not be copied.
type MMDB struct {
	cur atomic.Pointer[snapshot]

	cfg   config
	paths []string

	mu     sync.Mutex // serialises reloads and guards files and closed
	files  []fileState
	closed bool

	lookupErrors atomic.Uint64
	reloads      atomic.Uint64
	reloadErrors atomic.Uint64
}

// snapshot is an immutable set of loaded databases (one per path, in
// order) and the cache of answers computed from exactly these databases.
type snapshot struct {
	dbs   []*database
	cache *addrCache // nil when caching is off
}

// database is one loaded, verified file.
type database struct {
	path   string
	reader *maxminddb.Reader
	// data decodes the data section, where Result.Offset points: the
	// record decoder reads it with cursors and stops early, which a
	// Result.Decode callback may not do.
	data     *mmdbdata.Decoder
	layout   layout
	gives    fields
	ipv4Only bool
	stat     fileStat
	loadedAt time.Time
}

// fileStat identifies a version of a file.
type fileStat struct {
	size     int64
	mtime    time.Time
	dev, ino uint64
}

// fileState is the reload bookkeeping of one path (guarded by MMDB.mu).
type fileState struct {
	reloads uint64
	err     error
	// failed is the version last tried without success, so that a broken
	// file is reported once, not at every poll.
	failed    fileStat
	hasFailed bool
	// statErr is the last error of stat(2) on the path, likewise.
	statErr string
}

// OpenMMDB opens the given .mmdb files and returns a Provider combining
// them. Each file is read into memory, its metadata database_type selects
// how its records map to Info (see the package documentation), and the
// whole file is verified (search tree, data section, metadata) before use.
// Any file that fails gives an error naming it (a [*DatabaseError]); all
// failures are joined.
func OpenMMDB(paths []string, opts ...Option) (*MMDB, error) {
	if len(paths) == 0 {
		return nil, ErrNoDatabase
	}
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	m := &MMDB{cfg: cfg, paths: append([]string(nil), paths...), files: make([]fileState, len(paths))}
	s := &snapshot{dbs: make([]*database, len(paths))}
	var errs []error
	for i, p := range paths {
		db, _, err := loadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.dbs[i] = db
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m.publish(s.dbs)
	for _, db := range s.dbs {
		cfg.logger.Info("geo: database loaded", "path", db.path, "type", db.reader.Metadata.DatabaseType,
			"layout", db.layout.String(), "fields", db.gives.String(),
			"build", db.reader.Metadata.BuildTime().UTC().Format(time.RFC3339), "bytes", db.stat.size)
	}
	return m, nil
}

// publish swaps in a new snapshot of dbs with an empty cache. The
// databases it replaces are not closed: they live in memory, and the
// garbage collector frees one when the last lookup that loaded the old
// snapshot has returned (see "Why in memory" in the package doc).
func (m *MMDB) publish(dbs []*database) {
	s := &snapshot{dbs: dbs}
	if m.cfg.cacheSize > 0 {
		s.cache = newAddrCache(m.cfg.cacheSize)
	}
	m.cur.Store(s)
}

// Lookup returns the country, ASN and organisation of addr. IPv4-mapped
// IPv6 addresses are looked up as the IPv4 address they carry; zones are
// ignored. ok is false when no database knows any of the three, and after
// Close. Lookup allocates nothing but, when the reader's string cache
// misses, the organisation's name.
func (m *MMDB) Lookup(addr netip.Addr) (Info, bool) {
	s := m.cur.Load()
	if s == nil || !addr.IsValid() {
		return Info{}, false
	}
	addr = addr.Unmap().WithZone("")
	if s.cache == nil {
		return m.lookup(s, addr)
	}
	if info, found, hit := s.cache.get(addr); hit {
		return info, found
	}
	info, found := m.lookup(s, addr)
	s.cache.put(addr, info, found)
	return info, found
}

// lookup asks the databases of s in order until the country and the AS
// are known. The ASN and organisation come from the first record with an
// ASN; without one, the organisation comes from the first record with an
// organisation. The two are never taken from different records.
func (m *MMDB) lookup(s *snapshot, addr netip.Addr) (Info, bool) {
	var info Info
	var have fields
	var orgOnly string
	for _, db := range s.dbs {
		need := db.gives &^ have
		if need == 0 || db.ipv4Only && addr.Is6() {
			continue
		}
		res := db.reader.Lookup(addr)
		if err := res.Err(); err != nil {
			m.lookupErrors.Add(1)
			continue
		}
		if !res.Found() {
			continue
		}
		rec := record{layout: db.layout, want: need}
		if err := rec.decode(db.data.CursorAt(uint(res.Offset()))); err != nil {
			m.lookupErrors.Add(1)
			continue
		}
		if need&fieldCountry != 0 && rec.country != "" {
			info.Country = rec.country
			have |= fieldCountry
		}
		if need&fieldAS != 0 {
			org := rec.organisation()
			switch {
			case rec.asn != 0:
				info.ASN, info.Org = rec.asn, org
				have |= fieldAS
			case orgOnly == "":
				orgOnly = org
			}
		}
		if have == fieldsAll {
			break
		}
	}
	if have&fieldAS == 0 {
		info.Org = orgOnly
	}
	return info, info != Info{}
}

// loadFile reads, opens and verifies one database file. read is the
// version of the file that was read (zero when reading failed).
func loadFile(path string) (db *database, read fileStat, err error) {
	data, st, err := readStable(path)
	if err != nil {
		return nil, fileStat{}, err
	}
	db, err = loadData(path, data, st)
	return db, st, err
}

// loadData opens and verifies the contents of a database file.
func loadData(path string, data []byte, st fileStat) (*database, error) {
	r, err := openVerified(data)
	if err != nil {
		e := &DatabaseError{Path: path, Op: "open", Err: err}
		if r != nil {
			e.Op, e.Type = "verify", r.Metadata.DatabaseType
		}
		return nil, e
	}
	l, f, ok := detect(r.Metadata.DatabaseType)
	if !ok {
		return nil, &DatabaseError{Path: path, Op: "open", Type: r.Metadata.DatabaseType, Err: ErrNoGeoFields}
	}
	return &database{
		path:     path,
		reader:   r,
		data:     mmdbdata.NewDecoder(dataSection(data, r.Metadata), 0, mmdbdata.WithStringCache()),
		layout:   l,
		gives:    f,
		ipv4Only: r.Metadata.IPVersion == 4,
		stat:     st,
		loadedAt: time.Now(),
	}, nil
}

// dataSection returns the data section of a database that OpenBytes
// accepted (so the bounds are known to be consistent): after the search
// tree and its 16-byte separator, up to the metadata marker (MaxMind DB
// format 2.0, "Database Sections").
func dataSection(data []byte, md maxminddb.Metadata) []byte {
	start := md.NodeCount*(md.RecordSize/4) + 16
	end := bytes.LastIndex(data, []byte("\xab\xcd\xefMaxMind.com"))
	return data[start:end]
}

// openVerified opens data as a MaxMind DB and verifies all of it: the
// record decoder walks data with cursors, which the library requires to be
// verified first. On a verification failure the reader is returned too,
// for its metadata.
func openVerified(data []byte) (*maxminddb.Reader, error) {
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, invalidError{err}
	}
	switch v := r.Metadata.BinaryFormatMajorVersion; {
	case v != 2:
		return r, invalidError{fmt.Errorf("binary format major version %d, want 2", v)}
	case r.Metadata.IPVersion != 4 && r.Metadata.IPVersion != 6:
		return r, invalidError{fmt.Errorf("ip_version %d, want 4 or 6", r.Metadata.IPVersion)}
	}
	if err := r.Verify(); err != nil {
		return r, invalidError{err}
	}
	return r, nil
}

// readStable reads a whole regular file and returns it with the identity
// of the version read; ErrChanged when the file changed while being read.
func readStable(path string) ([]byte, fileStat, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: fmt.Errorf("not a regular file (%v)", fi.Mode().Type())}
	}
	st := statOf(fi)
	if st.size == 0 {
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: invalidError{errors.New("file is empty")}}
	}
	if int64(int(st.size)) != st.size {
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: errors.New("file too large")}
	}
	data := make([]byte, st.size)
	if _, err := io.ReadFull(f, data); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err = ErrChanged // truncated under us
		}
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: err}
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n != 0 {
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: ErrChanged}
	}
	after, err := os.Stat(path)
	if err != nil || statOf(after) != st {
		return nil, fileStat{}, &DatabaseError{Path: path, Op: "read", Err: ErrChanged}
	}
	return data, st, nil
}

func statOf(fi os.FileInfo) fileStat {
	dev, ino := fileID(fi)
	return fileStat{size: fi.Size(), mtime: fi.ModTime(), dev: dev, ino: ino}
}

// Reload re-reads every file, whether it changed or not (what the
// collector does on SIGHUP). Files that load and verify are swapped in
// together; a file that fails keeps its previous version in use and
// contributes a [*DatabaseError] to the returned (joined) error.
func (m *MMDB) Reload() error {
	return m.reload(true)
}

// ReloadChanged re-reads the files whose size, modification time or
// inode changed since they were loaded, as [MMDB.Run] does at each poll.
// A version of a file that already failed to load is not tried again (nor
// reported again) until the file changes once more.
func (m *MMDB) ReloadChanged() error {
	return m.reload(false)
}

func (m *MMDB) reload(force bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	cur := m.cur.Load()
	dbs := append([]*database(nil), cur.dbs...)
	var errs []error
	for i, p := range m.paths {
		fs := &m.files[i]
		var seen fileStat // the version stat(2) shows now (polling only)
		if !force {
			fi, err := os.Stat(p)
			if err != nil {
				if msg := err.Error(); msg != fs.statErr {
					fs.statErr = msg
					fs.err = &DatabaseError{Path: p, Op: "stat", Err: err}
					errs = append(errs, fs.err)
				}
				continue
			}
			fs.statErr = ""
			seen = statOf(fi)
			if seen == dbs[i].stat || fs.hasFailed && seen == fs.failed {
				continue
			}
		}
		db, read, err := loadFile(p)
		if err != nil {
			fs.err = err
			errs = append(errs, err)
			switch {
			case errors.Is(err, ErrChanged):
				fs.hasFailed = false // a copy in progress: try again next time
			case read != (fileStat{}):
				fs.failed, fs.hasFailed = read, true
			case !force:
				fs.failed, fs.hasFailed = seen, true
			}
			continue
		}
		dbs[i] = db
		fs.reloads++
		fs.err, fs.hasFailed, fs.statErr = nil, false, ""
		m.reloads.Add(1)
		m.cfg.logger.Info("geo: database reloaded", "path", db.path, "type", db.reader.Metadata.DatabaseType,
			"build", db.reader.Metadata.BuildTime().UTC().Format(time.RFC3339), "bytes", db.stat.size)
	}
	for i := range dbs {
		if dbs[i] != cur.dbs[i] {
			m.publish(dbs)
			break
		}
	}
	m.reloadErrors.Add(uint64(len(errs)))
	for _, err := range errs {
		m.cfg.logger.Warn("geo: database not reloaded, previous version stays in use", "err", err)
	}
	return errors.Join(errs...)
}

// Run polls the files every poll interval ([WithPollInterval]) and reloads
// those that changed, logging reloads and errors, until ctx is done or the
// MMDB is closed. It returns nil then. Run starts no goroutine; call it in
// one of yours.
func (m *MMDB) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if err := m.ReloadChanged(); errors.Is(err, ErrClosed) {
				return nil
			}
		}
	}
}

// Close releases the databases. Lookups after Close return false; lookups
// running concurrently with Close finish normally (the memory of a
// database is freed by the garbage collector once no lookup uses it).
func (m *MMDB) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	m.cur.Store(nil)
	return nil
}

// DatabaseInfo describes one loaded database file.
type DatabaseInfo struct {
	// Path is the file as given to OpenMMDB.
	Path string
	// Type is the metadata database_type ("GeoLite2-City").
	Type string
	// Layout is how records are read: "maxmind" (GeoIP2, GeoLite2,
	// DB-IP), "ipinfo" or "generic" (an unknown type: both conventions).
	Layout string
	// Fields is what the file is asked for: "country", "asn,org" or
	// "country,asn,org".
	Fields string
	// BuildTime is the metadata build_epoch.
	BuildTime time.Time
	// Size is the file's size in bytes (held in memory).
	Size int64
	// LoadedAt is when the version in use was loaded.
	LoadedAt time.Time
	// Reloads counts the versions swapped in after the first load.
	Reloads uint64
	// Err is the error of the last reload attempt when it failed (the
	// version in use is then the previous one), nil otherwise.
	Err error
}

// Databases describes the loaded files, in the order given to OpenMMDB;
// nil after Close.
func (m *MMDB) Databases() []DatabaseInfo {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.cur.Load()
	if s == nil {
		return nil
	}
	out := make([]DatabaseInfo, len(s.dbs))
	for i, db := range s.dbs {
		md := db.reader.Metadata
		out[i] = DatabaseInfo{
			Path:      db.path,
			Type:      md.DatabaseType,
			Layout:    db.layout.String(),
			Fields:    db.gives.String(),
			BuildTime: md.BuildTime().UTC(),
			Size:      db.stat.size,
			LoadedAt:  db.loadedAt,
			Reloads:   m.files[i].reloads,
			Err:       m.files[i].err,
		}
	}
	return out
}

// Stats are the counters of an MMDB since it was opened.
type Stats struct {
	// CacheHits and CacheMisses count lookups answered by the address
	// cache or not (zero without WithCache); CacheEvictions the entries
	// it dropped to make room; CacheEntries is its current size. The
	// cache is emptied (and its counters restart) when a file is reloaded.
	CacheHits, CacheMisses, CacheEvictions uint64
	CacheEntries                           int
	// LookupErrors counts database lookups or record decodes that failed
	// (the database then contributes nothing to that answer). Verified
	// databases do not produce them; non-zero means a reader defect.
	LookupErrors uint64
	// Reloads counts file versions swapped in; ReloadErrors failed
	// reload attempts (each also returned or logged).
	Reloads, ReloadErrors uint64
}

// Stats returns the current counters.
func (m *MMDB) Stats() Stats {
	st := Stats{
		LookupErrors: m.lookupErrors.Load(),
		Reloads:      m.reloads.Load(),
		ReloadErrors: m.reloadErrors.Load(),
	}
	if s := m.cur.Load(); s != nil && s.cache != nil {
		s.cache.stats(&st)
	}
	return st
}
