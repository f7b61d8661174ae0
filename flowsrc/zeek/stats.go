package zeek

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Sentinel errors classifying a line that could not be used. Test a
// LineError's Err with errors.Is.
var (
	// ErrMalformed: the line is not valid TSV for its header, not valid
	// JSON, or a field this package reads has a value it cannot parse (or
	// a required one is missing).
	ErrMalformed = errors.New("zeek: malformed line")
	// ErrNoHeader: a TSV data line before any #fields header.
	ErrNoHeader = errors.New("zeek: TSV line without a #fields header")
	// ErrTooLong: the line exceeds the Reader's maximum line length.
	ErrTooLong = errors.New("zeek: line too long")
)

// LineError describes one line that was skipped.
type LineError struct {
	// File is the file name when the line came through ReadFiles.
	File string
	// Line is the 1-based line number the caller gave (Reader counts
	// lines from 1).
	Line int64
	// Path is the log path of the line when known ("conn", "dns", ...).
	Path string
	// Err is ErrMalformed, ErrNoHeader or ErrTooLong.
	Err error
	// Detail says what was wrong, quoting the offending value.
	Detail string
}

// Error implements error: "zeek: conn.log line 12 (conn): malformed line:
// field "id.orig_p": not a port: "70000"".
func (e *LineError) Error() string {
	var b strings.Builder
	b.WriteString("zeek: ")
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteByte(' ')
	}
	b.WriteString("line ")
	b.WriteString(strconv.FormatInt(e.Line, 10))
	if e.Path != "" {
		b.WriteString(" (")
		b.WriteString(e.Path)
		b.WriteByte(')')
	}
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.Err.Error(), "zeek: "))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *LineError) Unwrap() error { return e.Err }

// DefaultMaxErrors is how many LineErrors Stats keeps by default.
const DefaultMaxErrors = 10

// maxOtherPaths is how many distinct other log paths Stats names.
const maxOtherPaths = 8

// Stats counts what a Parser (or Reader) did with its lines. Every line is
// counted under exactly one of Headers, Blank, Records, SSL, HTTP, DNS,
// OtherPath and Malformed, so Lines is their sum.
type Stats struct {
	// Lines is the number of lines handed to the parser.
	Lines uint64
	// Headers counts lines starting with '#': TSV header directives and
	// comments.
	Headers uint64
	// Blank counts empty lines (or lines of white space only).
	Blank uint64
	// Records counts conn.log entries turned into records (and emitted).
	Records uint64
	// SSL, HTTP and DNS count the application log entries read.
	SSL, HTTP, DNS uint64
	// OtherPath counts data lines of logs this package does not read
	// (weird, files, x509, ...), skipped; OtherPaths names the first
	// few such paths ("(unknown)" for JSON lines that neither name their
	// log nor look like one of the four).
	OtherPath  uint64
	OtherPaths []string
	// Malformed counts skipped lines; Errors describes the first of them
	// (WithMaxErrors, DefaultMaxErrors).
	Malformed uint64
	Errors    []LineError

	// Joined counts records that took names from the Joiner (their uid
	// had ssl, http or dns entries).
	Joined uint64
	// Resolved counts records whose DNSName came from the passive-DNS map.
	Resolved uint64
	// Observed counts (query, address) pairs from dns.log answers given
	// to the passive-DNS map.
	Observed uint64
	// Truncated counts names cut to MaxNameLen bytes.
	Truncated uint64
}

// add adds o's counters to s and appends its errors and paths.
func (s *Stats) add(o Stats, maxErrors int) {
	s.Lines += o.Lines
	s.Headers += o.Headers
	s.Blank += o.Blank
	s.Records += o.Records
	s.SSL += o.SSL
	s.HTTP += o.HTTP
	s.DNS += o.DNS
	s.OtherPath += o.OtherPath
	for _, p := range o.OtherPaths {
		if len(s.OtherPaths) < maxOtherPaths && !contains(s.OtherPaths, p) {
			s.OtherPaths = append(s.OtherPaths, p)
		}
	}
	s.Malformed += o.Malformed
	for _, e := range o.Errors {
		if len(s.Errors) < maxErrors {
			s.Errors = append(s.Errors, e)
		}
	}
	s.Joined += o.Joined
	s.Resolved += o.Resolved
	s.Observed += o.Observed
	s.Truncated += o.Truncated
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// String summarises s on one line, for logs.
func (s Stats) String() string {
	return fmt.Sprintf("lines=%d records=%d ssl=%d http=%d dns=%d headers=%d blank=%d other_path=%d malformed=%d joined=%d resolved=%d observed=%d",
		s.Lines, s.Records, s.SSL, s.HTTP, s.DNS, s.Headers, s.Blank, s.OtherPath, s.Malformed, s.Joined, s.Resolved, s.Observed)
}
