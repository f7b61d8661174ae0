package geo

import (
	"errors"
	"fmt"

	"github.com/oschwald/maxminddb-golang/v2"
)

// OpenMMDBBytes builds an MMDB over in-memory database contents, one per
// element, bypassing files (tests and fuzzing only; it cannot reload).
func OpenMMDBBytes(datas [][]byte, opts ...Option) (*MMDB, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	m := &MMDB{cfg: cfg, files: make([]fileState, len(datas))}
	dbs := make([]*database, len(datas))
	var errs []error
	for i, d := range datas {
		name := fmt.Sprintf("bytes#%d", i)
		db, err := loadData(name, d, fileStat{size: int64(len(d))})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		m.paths = append(m.paths, name)
		dbs[i] = db
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	m.publish(dbs)
	return m, nil
}

// Detect exposes the database_type classification.
func Detect(dbType string) (layout string, fields string, ok bool) {
	l, f, ok := detect(dbType)
	return l.String(), f.String(), ok
}

// ParseASN exposes the AS number parser.
func ParseASN(s string) (uint32, bool) { return parseASN(s) }

// Readers returns the readers of the databases in use (benchmarks).
func (m *MMDB) Readers() []*maxminddb.Reader {
	var rs []*maxminddb.Reader
	for _, db := range m.cur.Load().dbs {
		rs = append(rs, db.reader)
	}
	return rs
}

// DecodeAt decodes the record of a found lookup result in the i-th
// database with the package's narrow cursor decoder (benchmarks).
func (m *MMDB) DecodeAt(i int, res maxminddb.Result) (Info, error) {
	db := m.cur.Load().dbs[i]
	rec := record{layout: db.layout, want: db.gives}
	if err := res.Err(); err != nil || !res.Found() {
		return Info{}, err
	}
	if err := rec.decode(db.data.CursorAt(uint(res.Offset()))); err != nil {
		return Info{}, err
	}
	return Info{Country: rec.country, ASN: rec.asn, Org: rec.organisation()}, nil
}
