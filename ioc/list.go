package ioc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// maxLineLen bounds the memory used for one line of a list. Longer lines are
// accepted only when the indicator and the start of its comment fit.
const maxLineLen = 64 << 10

// maxQuoted bounds the text quoted in the error about an overlong line.
const maxQuoted = 64

// utf8BOM is the UTF-8 byte order mark, skipped at the start of a list.
const utf8BOM = "\xef\xbb\xbf"

// ParseList reads a plain indicator list (see the package documentation for
// the format) and returns the Set of its indicators, named feed.
//
// Every line is checked. If any line is bad, ParseList returns a nil Set and
// a *ParseError for the first bad line, whose More field counts the others.
// A read error from r is returned wrapped, with the line it happened on.
func ParseList(r io.Reader, feed string) (*Set, error) {
	return parseList(r, feed, &config{})
}

// parseList is ParseList with options (WithSkipMalformed).
func parseList(r io.Reader, feed string, c *config) (*Set, error) {
	p := newParser(feed, FormatList, c)
	br := bufio.NewReaderSize(r, maxLineLen)
	for lineNo := 1; ; lineNo++ {
		raw, err := br.ReadSlice('\n')
		if len(raw) == 0 && err != nil {
			if err == io.EOF {
				break
			}
			return nil, fmt.Errorf("ioc: feed %q line %d: %w", feed, lineNo, err)
		}
		if lineNo == 1 {
			raw = bytes.TrimPrefix(raw, []byte(utf8BOM))
		}
		complete := !errors.Is(err, bufio.ErrBufferFull)
		if i := bytes.IndexByte(raw, '#'); i >= 0 {
			raw, complete = raw[:i], true
		}
		raw = bytes.TrimSpace(raw)
		switch {
		case !complete:
			p.fail(lineNo, "", quotePrefix(raw), errTooLong)
		case len(raw) > 0:
			text := string(raw)
			ind, perr := parseIndicator(text)
			if perr != nil {
				p.fail(lineNo, "", text, perr)
				break
			}
			ind.Line = lineNo
			p.b.add(ind)
		}
		// Skip the rest of an overlong line.
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n')
		}
		if err != nil && err != io.EOF {
			return nil, fmt.Errorf("ioc: feed %q line %d: %w", feed, lineNo, err)
		}
	}
	return p.result()
}

// quotePrefix returns the start of an overlong line for an error message.
func quotePrefix(b []byte) string {
	if len(b) > maxQuoted {
		return string(b[:maxQuoted]) + "..."
	}
	return string(b)
}

// LoadListFile reads the plain indicator list at path with ParseList. The
// feed name is the base name of path. (Load reads every format.)
func LoadListFile(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("ioc: %w", err)
	}
	defer f.Close()
	return ParseList(f, filepath.Base(path))
}

// baseName returns the last element of path.
func baseName(path string) string { return filepath.Base(path) }
