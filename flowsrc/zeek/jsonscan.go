package zeek

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON scanner for Zeek's JSON lines: one object per line, flat
// (records are flattened to dotted keys), with strings, numbers, booleans,
// null and arrays (sets and vectors) as values. It does not allocate: keys
// and values are returned as sub-slices of the line. The members it does
// not read are checked for balanced brackets and terminated strings only.

// valueKind is the type of a field value, for both formats.
type valueKind uint8

const (
	kAbsent valueKind = iota
	kUnset            // TSV unset marker, JSON null
	kEmpty            // TSV empty marker (empty string, set or vector)
	kText             // TSV field text (may hold \xHH escapes)
	kString           // JSON string contents (may hold JSON escapes)
	kNumber           // JSON number
	kBool             // JSON true or false
	kArray            // JSON array, brackets included
	kObject           // JSON object, braces included
)

// value is one field of the current line.
type value struct {
	b    []byte
	kind valueKind
	esc  bool // b holds escapes to decode
}

var (
	errJSONSyntax = errors.New("invalid JSON")
	errJSONDepth  = errors.New("JSON nested too deeply")
	errJSONEnd    = errors.New("JSON object not terminated")
)

// maxDepth bounds the nesting of values the scanner skips.
const maxDepth = 64

// jsonScanner walks the members of one JSON object.
type jsonScanner struct {
	b     []byte
	i     int
	first bool
	stack []byte
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) && isSpace(s.b[s.i]) {
		s.i++
	}
}

// begin starts scanning b, which must begin (after white space) with '{'.
func (s *jsonScanner) begin(b []byte) error {
	s.b, s.i, s.first = b, 0, true
	s.skipSpace()
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return errJSONSyntax
	}
	s.i++
	return nil
}

// next returns the next member. At the end of the object it returns
// done=true after checking that only white space follows.
func (s *jsonScanner) next() (key value, v value, done bool, err error) {
	s.skipSpace()
	if s.i >= len(s.b) {
		return key, v, false, errJSONEnd
	}
	if s.b[s.i] == '}' {
		if !s.first {
			return key, v, false, errJSONSyntax // trailing comma
		}
		s.i++
		s.skipSpace()
		if s.i != len(s.b) {
			return key, v, false, errJSONSyntax
		}
		return key, v, true, nil
	}
	if s.b[s.i] != '"' {
		return key, v, false, errJSONSyntax
	}
	if key, err = s.str(); err != nil {
		return key, v, false, err
	}
	s.skipSpace()
	if s.i >= len(s.b) {
		return key, v, false, errJSONEnd
	}
	if s.b[s.i] != ':' {
		return key, v, false, errJSONSyntax
	}
	s.i++
	if v, err = s.value(); err != nil {
		return key, v, false, err
	}
	s.skipSpace()
	if s.i >= len(s.b) {
		return key, v, false, errJSONEnd
	}
	switch s.b[s.i] {
	case ',':
		s.i++
		s.first = false
		s.skipSpace()
		if s.i < len(s.b) && s.b[s.i] == '}' {
			return key, v, false, errJSONSyntax
		}
	case '}':
		s.first = true // the next call ends the object
	default:
		return key, v, false, errJSONSyntax
	}
	return key, v, false, nil
}

// str scans a string starting at the opening quote and returns its
// contents.
func (s *jsonScanner) str() (value, error) {
	s.i++ // opening quote
	start := s.i
	esc := false
	for s.i < len(s.b) {
		for s.i < len(s.b) && !strStop[s.b[s.i]] {
			s.i++
		}
		if s.i == len(s.b) {
			break
		}
		c := s.b[s.i]
		switch {
		case c == '"':
			v := value{b: s.b[start:s.i], kind: kString, esc: esc}
			s.i++
			return v, nil
		case c == '\\':
			esc = true
			s.i++
			if s.i >= len(s.b) {
				return value{}, errJSONEnd
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if s.i+4 >= len(s.b) {
					return value{}, errJSONEnd
				}
				for k := 1; k <= 4; k++ {
					if hexVal(s.b[s.i+k]) < 0 {
						return value{}, errJSONSyntax
					}
				}
				s.i += 5
			default:
				return value{}, errJSONSyntax
			}
		case c < 0x20:
			return value{}, errJSONSyntax
		default:
			s.i++
		}
	}
	return value{}, errJSONEnd
}

// strStop marks the bytes that end a run of plain string contents.
var strStop = func() (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// value scans any value.
func (s *jsonScanner) value() (value, error) {
	s.skipSpace()
	if s.i >= len(s.b) {
		return value{}, errJSONEnd
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.str()
	case c == '{' || c == '[':
		start := s.i
		if err := s.skipNested(); err != nil {
			return value{}, err
		}
		kind := kArray
		if c == '{' {
			kind = kObject
		}
		return value{b: s.b[start:s.i], kind: kind}, nil
	case c == 't':
		return s.literal("true", kBool)
	case c == 'f':
		return s.literal("false", kBool)
	case c == 'n':
		return s.literal("null", kUnset)
	case c == '-' || c >= '0' && c <= '9':
		start := s.i
		s.i = scanNumber(s.b, s.i)
		if s.i < 0 {
			s.i = len(s.b)
			return value{}, errJSONSyntax
		}
		return value{b: s.b[start:s.i], kind: kNumber}, nil
	}
	return value{}, errJSONSyntax
}

func (s *jsonScanner) literal(lit string, kind valueKind) (value, error) {
	if len(s.b)-s.i < len(lit) {
		return value{}, errJSONEnd
	}
	if string(s.b[s.i:s.i+len(lit)]) != lit {
		return value{}, errJSONSyntax
	}
	v := value{b: s.b[s.i : s.i+len(lit)], kind: kind}
	s.i += len(lit)
	return v, nil
}

// scanNumber returns the end of the JSON number starting at i, or -1.
func scanNumber(b []byte, i int) int {
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if i < len(b) && b[i] == '0' {
		i++
	} else if digits() == 0 {
		return -1
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return -1
		}
	}
	return i
}

// skipNested skips an array or object, checking that brackets balance and
// strings end.
func (s *jsonScanner) skipNested() error {
	s.stack = s.stack[:0]
	for s.i < len(s.b) {
		switch c := s.b[s.i]; c {
		case '[', '{':
			if len(s.stack) == maxDepth {
				return errJSONDepth
			}
			s.stack = append(s.stack, c)
			s.i++
		case ']', '}':
			open := byte('[')
			if c == '}' {
				open = '{'
			}
			if len(s.stack) == 0 || s.stack[len(s.stack)-1] != open {
				return errJSONSyntax
			}
			s.stack = s.stack[:len(s.stack)-1]
			s.i++
			if len(s.stack) == 0 {
				return nil
			}
		case '"':
			if _, err := s.str(); err != nil {
				return err
			}
		default:
			s.i++
		}
	}
	return errJSONEnd
}

// arrayScanner walks the elements of a JSON array value (brackets
// included), strictly.
type arrayScanner struct {
	s    jsonScanner
	done bool
}

func newArrayScanner(arr []byte) arrayScanner {
	a := arrayScanner{s: jsonScanner{b: arr, i: 1}}
	a.s.skipSpace()
	if a.s.i < len(arr) && arr[a.s.i] == ']' {
		a.done = true
	}
	return a
}

// next returns the next element; ok is false at the end.
func (a *arrayScanner) next() (v value, ok bool, err error) {
	if a.done {
		return v, false, nil
	}
	if v, err = a.s.value(); err != nil {
		return v, false, err
	}
	a.s.skipSpace()
	if a.s.i >= len(a.s.b) {
		return v, false, errJSONEnd
	}
	switch a.s.b[a.s.i] {
	case ',':
		a.s.i++
	case ']':
		a.done = true
	default:
		return v, false, errJSONSyntax
	}
	return v, true, nil
}

// appendJSONUnquote appends the decoded contents of a JSON string (as
// returned by the scanner, already checked) to dst. Invalid surrogates
// become U+FFFD, as encoding/json does.
func appendJSONUnquote(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != '\\' || i+1 >= len(src) {
			dst = append(dst, c)
			continue
		}
		i++
		switch src[i] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, ok := hex4(src, i+1)
			if !ok {
				dst = append(dst, '\\', 'u')
				continue
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if r2, ok := hex4(src, i+3); ok && i+2 < len(src) && src[i+1] == '\\' && src[i+2] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						dst = utf8.AppendRune(dst, d)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\', '/'
			dst = append(dst, src[i])
		}
	}
	return dst
}

func hex4(b []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		h := hexVal(c)
		if h < 0 {
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	return r, true
}
