package geo

import (
	"errors"
	"fmt"
)

// Sentinel errors. Test with errors.Is on the errors of [OpenMMDB],
// [MMDB.Reload] and [MMDB.ReloadChanged]; the [*DatabaseError] wrapping
// them names the file.
var (
	// ErrNoDatabase: OpenMMDB was given no file.
	ErrNoDatabase = errors.New("geo: no database file given")
	// ErrNoGeoFields: the database is of a known type that holds none of
	// country, ASN and organisation (GeoIP2-Anonymous-IP, -Connection-Type,
	// -Domain and the like).
	ErrNoGeoFields = errors.New("geo: database holds no country, ASN or organisation")
	// ErrInvalid: the file is not a valid MaxMind DB (bad or missing
	// metadata, corrupt search tree or data section, failed verification).
	ErrInvalid = errors.New("geo: invalid MaxMind DB file")
	// ErrChanged: the file changed while it was being read (a copy in
	// progress); the next poll tries again.
	ErrChanged = errors.New("geo: file changed while being read")
	// ErrClosed: the MMDB was closed.
	ErrClosed = errors.New("geo: provider closed")
)

// DatabaseError reports a database file that could not be opened or
// reloaded. When it comes from a reload, the previously loaded version of
// the file stays in use.
type DatabaseError struct {
	// Path is the file as given to OpenMMDB.
	Path string
	// Op is what failed: "stat", "read", "open" or "verify".
	Op string
	// Type is the database's metadata database_type when it was read.
	Type string
	// Err is the cause; errors.Is finds the sentinels above through it.
	Err error
}

// Error implements error.
func (e *DatabaseError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("geo: %s %q (database_type %q): %v", e.Op, e.Path, e.Type, e.Err)
	}
	return fmt.Sprintf("geo: %s %q: %v", e.Op, e.Path, e.Err)
}

// Unwrap returns the cause.
func (e *DatabaseError) Unwrap() error { return e.Err }

// invalid marks err as ErrInvalid while keeping the library's message.
type invalidError struct{ err error }

func (e invalidError) Error() string { return e.err.Error() }

func (e invalidError) Unwrap() []error { return []error{ErrInvalid, e.err} }
