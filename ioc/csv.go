package ioc

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// CSVColumns names the columns of a CSV feed that hold each role. An empty
// field means the default: the first header cell (compared
// case-insensitively) among the role's usual names, listed with each
// field. Only Indicator is required.
type CSVColumns struct {
	Indicator   string // indicator, ioc, ioc_value, value, dst_ip, dstip, ip, ip_address, domain, hostname, host, url
	Type        string // type, ioc_type, indicator_type; without it the type is inferred from the value
	Malware     string // malware, malware_family, family, malware_printable
	ThreatActor string // threat_actor, actor
	Confidence  string // confidence, confidence_level
	FirstSeen   string // first_seen, first_seen_utc, firstseen, dateadded, date_added
	LastSeen    string // last_seen, last_seen_utc, lastseen, last_online
	ValidFrom   string // valid_from
	ValidUntil  string // valid_until, expires, expiration
}

// CSV column roles, indices into csvDefaults.
const (
	colIndicator = iota
	colType
	colMalware
	colActor
	colConfidence
	colFirstSeen
	colLastSeen
	colValidFrom
	colValidUntil
	numCols
)

// csvRoles are the role names of ParseCSVColumns, by role.
var csvRoles = [numCols]string{"indicator", "type", "malware", "threat_actor", "confidence", "first_seen", "last_seen", "valid_from", "valid_until"}

// csvDefaults are the default column names of each role, by preference.
var csvDefaults = [numCols][]string{
	colIndicator:  {"indicator", "ioc", "ioc_value", "value", "dst_ip", "dstip", "ip", "ip_address", "domain", "hostname", "host", "url"},
	colType:       {"type", "ioc_type", "indicator_type"},
	colMalware:    {"malware", "malware_family", "family", "malware_printable"},
	colActor:      {"threat_actor", "actor"},
	colConfidence: {"confidence", "confidence_level"},
	colFirstSeen:  {"first_seen", "first_seen_utc", "firstseen", "dateadded", "date_added"},
	colLastSeen:   {"last_seen", "last_seen_utc", "lastseen", "last_online"},
	colValidFrom:  {"valid_from"},
	colValidUntil: {"valid_until", "expires", "expiration"},
}

// names returns the columns as an array by role.
func (cc CSVColumns) names() [numCols]string {
	return [numCols]string{cc.Indicator, cc.Type, cc.Malware, cc.ThreatActor, cc.Confidence, cc.FirstSeen, cc.LastSeen, cc.ValidFrom, cc.ValidUntil}
}

// ParseCSVColumns reads a column mapping written as comma-separated
// role=column pairs, such as "indicator=dst_ip,malware=malware". The roles
// are indicator, type, malware, threat_actor, confidence, first_seen,
// last_seen, valid_from and valid_until.
func ParseCSVColumns(s string) (CSVColumns, error) {
	var cols [numCols]string
	for pair := range strings.SplitSeq(s, ",") {
		pair = strings.TrimSpace(pair)
		if pair == "" {
			continue
		}
		role, col, ok := strings.Cut(pair, "=")
		role, col = strings.TrimSpace(role), strings.TrimSpace(col)
		if !ok || col == "" {
			return CSVColumns{}, fmt.Errorf("ioc: CSV column mapping %q: want role=column", pair)
		}
		i := -1
		for j, r := range csvRoles {
			if strings.EqualFold(r, role) {
				i = j
			}
		}
		if i < 0 {
			return CSVColumns{}, fmt.Errorf("ioc: CSV column mapping %q: unknown role %q (want one of %s)", pair, role, strings.Join(csvRoles[:], ", "))
		}
		cols[i] = col
	}
	return CSVColumns{cols[0], cols[1], cols[2], cols[3], cols[4], cols[5], cols[6], cols[7], cols[8]}, nil
}

// ParseCSV reads a CSV feed and returns the Set of its indicators, named
// feed. See the package documentation for the format; options that apply:
// WithCSVColumns, WithCSVComma, WithoutURLHosts, WithExpireAfter,
// WithSkipMalformed.
//
// Every row is checked. If any row is bad, ParseCSV returns a nil Set and
// a *ParseError for the first one, whose More field counts the others.
// Rows of an unsupported type (a file hash) are skipped and counted.
func ParseCSV(r io.Reader, feed string, opts ...Option) (*Set, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return parseCSV(r, feed, &c)
}

// csvHeader is a resolved header: the index of each role's column, -1
// when absent.
type csvHeader struct {
	idx    [numCols]int
	fields int
}

// resolveHeader finds the roles' columns in a header row. It reports
// whether the indicator column was found; err is about an explicitly
// mapped column that is missing.
// A row with an address or a URL in it is data, not a header.
func resolveHeader(row []string, cc CSVColumns) (csvHeader, bool, error) {
	h := csvHeader{fields: len(row)}
	norm := make([]string, len(row))
	for i, cell := range row {
		norm[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(cell, utf8BOM)))
		if ind, err := parseIndicator(norm[i]); err == nil && ind.Kind != KindDomain || strings.Contains(norm[i], "://") {
			return h, false, nil
		}
	}
	find := func(name string) int {
		name = strings.ToLower(strings.TrimSpace(name))
		for i, n := range norm {
			if n == name {
				return i
			}
		}
		return -1
	}
	explicit := cc.names()
	var missing error
	for role := range numCols {
		h.idx[role] = -1
		if name := explicit[role]; name != "" {
			if h.idx[role] = find(name); h.idx[role] < 0 && missing == nil {
				missing = fmt.Errorf("column %q (%s) not in the header", name, csvRoles[role])
			}
			continue
		}
		for _, name := range csvDefaults[role] {
			if i := find(name); i >= 0 {
				h.idx[role] = i
				break
			}
		}
	}
	if h.idx[colIndicator] < 0 {
		return h, false, missing
	}
	return h, true, missing
}

// detectComma picks the delimiter of a CSV line: ',' if present, else tab,
// else ';'.
func detectComma(line []byte) rune {
	switch {
	case bytes.IndexByte(line, ',') >= 0:
		return ','
	case bytes.IndexByte(line, '\t') >= 0:
		return '\t'
	case bytes.IndexByte(line, ';') >= 0:
		return ';'
	}
	return ','
}

func parseCSV(r io.Reader, feed string, c *config) (*Set, error) {
	p := newParser(feed, FormatCSV, c)
	br := bufio.NewReaderSize(r, maxLineLen)
	if b, _ := br.Peek(len(utf8BOM)); string(b) == utf8BOM {
		br.Discard(len(utf8BOM))
	}
	readErr := func(line int, err error) error {
		return &ParseError{Feed: feed, Line: line, Err: err}
	}

	// The leading comment block: its last line may be the header
	// (abuse.ch writes "# first_seen_utc,ioc_id,...").
	lines := 0
	var commentHeader string
	for {
		b, err := br.Peek(1)
		if len(b) == 0 {
			if err != nil && err != io.EOF {
				return nil, readErr(lines+1, err)
			}
			break
		}
		if b[0] != '#' && b[0] != '\n' && b[0] != '\r' {
			break
		}
		line, full, err := readLine(br)
		if err != nil {
			return nil, readErr(lines+1, err)
		}
		lines++
		if text := strings.TrimSpace(strings.TrimLeft(line, "#")); text != "" && full {
			commentHeader = text
		}
	}

	comma := c.comma
	if comma == 0 {
		head, _ := br.Peek(maxLineLen)
		if i := bytes.IndexByte(head, '\n'); i >= 0 {
			head = head[:i]
		}
		if len(bytes.TrimSpace(head)) == 0 && commentHeader != "" {
			head = []byte(commentHeader)
		}
		comma = detectComma(head)
	}
	newReader := func(r io.Reader) *csv.Reader {
		cr := csv.NewReader(r)
		cr.Comma = comma
		cr.Comment = '#'
		cr.FieldsPerRecord = -1
		cr.TrimLeadingSpace = true
		cr.ReuseRecord = true
		return cr
	}
	cr := newReader(br)
	csvErr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &ParseError{Feed: feed, Line: pe.Line + lines, Err: fmt.Errorf("CSV: %w", pe.Err)}
		}
		return readErr(0, err)
	}

	row, err := cr.Read()
	if err == io.EOF {
		return p.result() // comments only: an empty feed
	}
	if err != nil {
		return nil, csvErr(err)
	}
	h, ok, missing := resolveHeader(row, c.cols)
	firstIsData := false
	if !ok && commentHeader != "" {
		hrow, herr := newReader(strings.NewReader(commentHeader)).Read()
		if herr == nil {
			h, ok, missing = resolveHeader(hrow, c.cols)
			firstIsData = true
		}
	}
	if !ok || missing != nil {
		if missing == nil {
			want := csvDefaults[colIndicator]
			if c.cols.Indicator != "" {
				want = []string{c.cols.Indicator}
			}
			missing = fmt.Errorf("no header with an indicator column (looked for %q; map it with a column mapping)", want)
		}
		line, _ := cr.FieldPos(0)
		return nil, &ParseError{Feed: feed, Line: line + lines, Err: missing}
	}
	if !firstIsData {
		row, err = cr.Read()
	}
	for ; err == nil; row, err = cr.Read() {
		line, _ := cr.FieldPos(0)
		p.csvRow(row, &h, line+lines)
	}
	if err != io.EOF {
		return nil, csvErr(err)
	}
	return p.result()
}

// readLine reads one line (without its end) of at most maxLineLen bytes;
// full is false when it was longer (the rest is skipped).
func readLine(br *bufio.Reader) (line string, full bool, err error) {
	b, err := br.ReadSlice('\n')
	line, full = string(b), true
	for errors.Is(err, bufio.ErrBufferFull) {
		full = false
		_, err = br.ReadSlice('\n')
	}
	if err == io.EOF {
		err = nil
	}
	return strings.TrimRight(line, "\r\n"), full, err
}

// csvRow adds the indicators of one data row.
func (p *parser) csvRow(row []string, h *csvHeader, line int) {
	get := func(role int) (string, bool) {
		i := h.idx[role]
		if i < 0 {
			return "", true
		}
		if i >= len(row) {
			return "", false
		}
		return strings.TrimSpace(row[i]), true
	}
	value, ok := get(colIndicator)
	if !ok {
		p.fail(line, "", strings.Join(row, ","), fmt.Errorf("row has %d fields, the header %d", len(row), h.fields))
		return
	}
	if value == "" {
		p.b.skip("empty indicator", where(line, ""))
		return
	}
	typ, _ := get(colType)
	typ = strings.ToLower(typ)
	spec, known := typeSpecs[typ]
	if !known {
		p.b.skip(fmt.Sprintf("unsupported type %q", typ), where(line, ""))
		return
	}
	if spec == specURL || spec == specInfer && strings.Contains(value, "://") {
		if p.c.noURLHosts {
			p.b.skip("URL (URL hosts off)", where(line, ""))
			return
		}
	}
	// The fields share the record's string: copy the value so that the
	// set does not keep whole lines alive.
	inds, err := typedValue(spec, strings.Clone(value))
	if err != nil {
		p.fail(line, "", value, err)
		return
	}
	var proto Indicator
	proto.Line = line
	proto.MalwareFamily, _ = get(colMalware)
	proto.ThreatActor, _ = get(colActor)
	conf, _ := get(colConfidence)
	if proto.Confidence, err = parseConfidence(conf); err != nil {
		p.fail(line, "", conf, err)
		return
	}
	var times [4]time.Time
	for i, role := range []int{colValidFrom, colValidUntil, colFirstSeen, colLastSeen} {
		if role >= colValidFrom || p.c.expireAfter > 0 {
			s, _ := get(role)
			if times[i], err = parseTime(s); err != nil {
				p.fail(line, "", s, err)
				return
			}
		}
	}
	proto.ValidFrom, proto.ValidUntil = times[0], times[1]
	p.c.expire(&proto, times[2], times[3])
	for _, ind := range inds {
		ind.Line, ind.MalwareFamily, ind.ThreatActor, ind.Confidence = proto.Line, proto.MalwareFamily, proto.ThreatActor, proto.Confidence
		ind.ValidFrom, ind.ValidUntil = proto.ValidFrom, proto.ValidUntil
		p.add(ind, "")
	}
}
