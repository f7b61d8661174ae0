package ioc

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Format is a feed file format.
type Format uint8

// Feed formats. FormatAuto detects the format from the content.
const (
	FormatAuto Format = iota // detect from the content
	FormatList               // plain list, one indicator a line
	FormatCSV                // CSV with a header (abuse.ch, vendors)
	FormatSTIX               // STIX 2.1 bundle
	FormatMISP               // MISP event(s) in JSON
)

var formatNames = [...]string{"auto", "list", "csv", "stix", "misp"}

// String returns the format's name: "auto", "list", "csv", "stix" or
// "misp".
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", f)
}

// ParseFormat returns the format with the given name (as String returns
// it, case-insensitive).
func ParseFormat(name string) (Format, error) {
	for i, n := range formatNames {
		if strings.EqualFold(n, name) {
			return Format(i), nil
		}
	}
	return 0, fmt.Errorf("ioc: unknown feed format %q (want one of %s)", name, strings.Join(formatNames[:], ", "))
}

// SplitSpec splits a feed given as "format:path" ("stix:intel/bundle.json")
// into its format and path. A spec without a known format name before its
// first colon is a path of format FormatAuto.
func SplitSpec(spec string) (Format, string) {
	if name, path, ok := strings.Cut(spec, ":"); ok && path != "" {
		if f, err := ParseFormat(name); err == nil && f != FormatAuto {
			return f, path
		}
	}
	return FormatAuto, spec
}

// detectLen is how much of the input DetectFormat looks at.
const detectLen = 64 << 10

// DetectFormat guesses the format of a feed from its start (a few
// kilobytes suffice): JSON whose first key is "Event" or "response" (or an
// array of such objects) is MISP, other JSON is STIX; text whose first
// line that is not a comment has a ',', ';' or tab is CSV, other text a
// plain list.
func DetectFormat(head []byte) Format {
	head = bytes.TrimPrefix(head, []byte(utf8BOM))
	trimmed := bytes.TrimLeft(head, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		dec := json.NewDecoder(bytes.NewReader(trimmed))
		for range 3 {
			tok, err := dec.Token()
			if err != nil {
				break
			}
			if key, ok := tok.(string); ok {
				if key == "Event" || key == "response" {
					return FormatMISP
				}
				break
			}
		}
		return FormatSTIX
	}
	for line := range bytes.SplitSeq(head, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		if bytes.ContainsAny(line, ",;\t") {
			return FormatCSV
		}
		return FormatList
	}
	// Only comments: an abuse.ch CSV export with no entry has its header
	// in a comment.
	for line := range bytes.SplitSeq(head, []byte{'\n'}) {
		if text := bytes.TrimSpace(bytes.TrimLeft(line, "#")); bytes.Count(text, []byte{','}) >= 2 {
			return FormatCSV
		}
	}
	return FormatList
}

// Parse reads a feed of the format given by WithFormat, or detected from
// the content (DetectFormat), and returns the Set of its indicators,
// named feed.
func Parse(r io.Reader, feed string, opts ...Option) (*Set, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return parse(r, feed, &c)
}

func parse(r io.Reader, feed string, c *config) (*Set, error) {
	f := c.format
	if f == FormatAuto {
		br := bufio.NewReaderSize(r, detectLen)
		head, err := br.Peek(detectLen)
		if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
			return nil, &ParseError{Feed: feed, Err: err}
		}
		f, r = DetectFormat(head), br
	}
	switch f {
	case FormatList:
		return parseList(r, feed, c)
	case FormatCSV:
		return parseCSV(r, feed, c)
	case FormatSTIX:
		return parseSTIX(r, feed, c)
	case FormatMISP:
		return parseMISP(r, feed, c)
	}
	return nil, fmt.Errorf("ioc: unknown format %v", f)
}

// Load reads the feed file at path: its format is given by WithFormat or
// detected from the content, its name by WithFeedName or the base name of
// path. A *ParseError names the file in its File field.
func Load(path string, opts ...Option) (*Set, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s, _, err := loadFile(path, &c)
	return s, err
}

// loadFile loads path and returns the identity of the file it read, also
// when the content is malformed (so that a Watcher does not parse that
// version again). It fails when the file changed while it was read.
func loadFile(path string, c *config) (*Set, fileID, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fileID{}, fmt.Errorf("ioc: %w", err)
	}
	defer f.Close()
	before, err := statID(f)
	if err != nil {
		return nil, fileID{}, fmt.Errorf("ioc: %w", err)
	}
	feed := c.feed
	if feed == "" {
		feed = filepath.Base(path)
	}
	s, err := parse(f, feed, c)
	if err != nil {
		if pe, ok := err.(*ParseError); ok {
			pe.File = path
		} else {
			err = fmt.Errorf("ioc: file %q: %w", path, err)
		}
		if after, serr := statID(f); serr == nil && after == before {
			return nil, before, err
		}
		return nil, fileID{}, err
	}
	after, err := statID(f)
	if err != nil {
		return nil, fileID{}, fmt.Errorf("ioc: %w", err)
	}
	if after != before {
		return nil, fileID{}, fmt.Errorf("ioc: file %q changed while it was read", path)
	}
	return s, before, nil
}
