package suricata

import (
	"unicode/utf16"
	"unicode/utf8"
)

// maxDepth is the deepest nesting of arrays and objects accepted, the same
// limit as encoding/json's, so that both agree on which lines are valid.
const maxDepth = 10000

// span is the position of a JSON string's contents (between the quotes) in
// the line. esc says it holds a backslash escape, hi that it holds a byte
// >= 0x80; a span with neither is its own decoded value.
type span struct {
	off, end int32
	esc, hi  bool
}

// plain reports whether the raw bytes are the decoded value.
func (s span) plain() bool { return !s.esc && !s.hi }

// scanner is a validating JSON reader over one line. Every method that
// reads a value returns false when the line is not valid JSON (RFC 8259, as
// encoding/json.Valid judges it) and then leaves the reason in err and the
// byte offset in errAt.
type scanner struct {
	b     []byte
	i     int
	depth int
	err   string
	errAt int
	// scratch holds unescaped strings while they are compared.
	scratch []byte
	// kinds records, per nesting level below the value skip started at,
	// whether the container is an object.
	kinds bitstack
}

func (s *scanner) reset(b []byte) {
	s.b, s.i, s.depth, s.err, s.errAt = b, 0, 0, "", 0
}

func (s *scanner) fail(msg string) bool {
	if s.err == "" {
		s.err, s.errAt = msg, s.i
	}
	return false
}

func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return // the common case: EVE lines have no white space
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next byte after white space, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// strClass: 0 ordinary ASCII, 1 quote, 2 backslash, 3 control character
// (invalid), 4 byte >= 0x80.
var strClass = func() (t [256]uint8) {
	for c := 0; c < 0x20; c++ {
		t[c] = 3
	}
	t['"'] = 1
	t['\\'] = 2
	for c := 0x80; c < 0x100; c++ {
		t[c] = 4
	}
	return t
}()

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// str reads a string at s.i (which must be '"') and returns the span of its
// contents.
func (s *scanner) str() (span, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return span{}, s.fail("expected string")
	}
	s.i++
	sp := span{off: int32(s.i)}
	b := s.b
	i := s.i
	for i < len(b) {
		switch strClass[b[i]] {
		case 0:
			i++
		case 1:
			sp.end = int32(i)
			s.i = i + 1
			return sp, true
		case 2:
			sp.esc = true
			if i+1 >= len(b) {
				s.i = i
				return span{}, s.fail("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
					s.i = i
					return span{}, s.fail("invalid \\u escape in string")
				}
				i += 6
			default:
				s.i = i
				return span{}, s.fail("invalid escape in string")
			}
		case 3:
			s.i = i
			return span{}, s.fail("control character in string")
		default:
			sp.hi = true
			i++
		}
	}
	s.i = i
	return span{}, s.fail("unterminated string")
}

// num reads a number at s.i and returns its text. It checks the JSON
// grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) num() ([]byte, bool) {
	b, i := s.b, s.i
	start := i
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	default:
		s.i = i
		return nil, s.fail("invalid number")
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return nil, s.fail("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			s.i = i
			return nil, s.fail("invalid number")
		}
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			i++
		}
	}
	s.i = i
	return b[start:i], true
}

// lit reads the literal word (true, false, null) at s.i.
func (s *scanner) lit(word string) bool {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.fail("invalid literal")
	}
	s.i += len(word)
	return true
}

// parseUint returns the value of an unsigned decimal integer in JSON
// number text; false for a sign, fraction, exponent or overflow.
func parseUint(t []byte) (uint64, bool) {
	if len(t) == 0 || len(t) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, false
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// openObject consumes '{' and enters a nesting level.
func (s *scanner) open(c byte) bool {
	if s.i >= len(s.b) || s.b[s.i] != c {
		if c == '{' {
			return s.fail("expected object")
		}
		return s.fail("expected array")
	}
	s.depth++
	if s.depth > maxDepth {
		return s.fail("exceeded max depth")
	}
	s.i++
	return true
}

// member advances to the next member of an object whose '{' has been
// consumed: first is true before the first member. It returns the key and
// leaves s.i at the value; end is true (and the '}' consumed) when the
// object is closed.
func (s *scanner) member(first bool) (key span, end, ok bool) {
	c := s.peek()
	if c == '}' && first {
		s.i++
		s.depth--
		return span{}, true, true
	}
	if !first {
		switch c {
		case '}':
			s.i++
			s.depth--
			return span{}, true, true
		case ',':
			s.i++
			s.ws()
		default:
			return span{}, false, s.fail("expected ',' or '}' after object member")
		}
	}
	key, ok = s.str()
	if !ok {
		return span{}, false, false
	}
	if s.peek() != ':' {
		return span{}, false, s.fail("expected ':' after object key")
	}
	s.i++
	s.ws()
	return key, false, true
}

// element advances to the next element of an array whose '[' has been
// consumed, like member.
func (s *scanner) element(first bool) (end, ok bool) {
	c := s.peek()
	if c == ']' && first {
		s.i++
		s.depth--
		return true, true
	}
	if !first {
		switch c {
		case ']':
			s.i++
			s.depth--
			return true, true
		case ',':
			s.i++
			s.ws()
		default:
			return false, s.fail("expected ',' or ']' after array element")
		}
	}
	return false, true
}

// skip reads and checks one value of any type at s.i. Nested arrays and
// objects are walked iteratively, so depth costs no stack.
func (s *scanner) skip() bool {
	switch c := s.peek(); c {
	case '"':
		_, ok := s.str()
		return ok
	case '{', '[':
		return s.skipNested()
	}
	return s.scalar()
}

// scalar reads a number, true, false or null.
func (s *scanner) scalar() bool {
	c := s.peek()
	switch c {
	case 't':
		return s.lit("true")
	case 'f':
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	if c == '-' || '0' <= c && c <= '9' {
		_, ok := s.num()
		return ok
	}
	if s.i >= len(s.b) {
		return s.fail("unexpected end of line")
	}
	return s.fail("invalid character")
}

func (s *scanner) skipNested() bool {
	base := s.depth
	kinds := &s.kinds // kinds[d]: the container at depth base+d+1 is an object
	for {
		// A value starts here.
		switch c := s.peek(); c {
		case '"':
			if _, ok := s.str(); !ok {
				return false
			}
		case '{', '[':
			if !s.open(c) {
				return false
			}
			kinds.set(s.depth-base-1, c == '{')
			// Empty container, or its first member/element.
			if c == '{' {
				_, end, ok := s.member(true)
				if !ok {
					return false
				}
				if !end {
					continue
				}
			} else {
				end, ok := s.element(true)
				if !ok {
					return false
				}
				if !end {
					continue
				}
			}
		default:
			if !s.scalar() {
				return false
			}
		}
		// A value ended: close containers or move to the next item.
		for {
			if s.depth == base {
				return true
			}
			var end, ok bool
			if kinds.get(s.depth - base - 1) {
				_, end, ok = s.member(false)
			} else {
				end, ok = s.element(false)
			}
			if !ok {
				return false
			}
			if !end {
				break
			}
		}
	}
}

// bitstack is a stack of maxDepth bits, one per nesting level.
type bitstack struct {
	w [maxDepth/64 + 1]uint64
}

func (b *bitstack) set(i int, v bool) {
	if v {
		b.w[i>>6] |= 1 << (i & 63)
	} else {
		b.w[i>>6] &^= 1 << (i & 63)
	}
}

func (b *bitstack) get(i int) bool { return b.w[i>>6]&(1<<(i&63)) != 0 }

// bytes returns the decoded value of sp: the line's own bytes when the
// string is plain, otherwise the string decoded into s.scratch (valid until
// the next call).
func (s *scanner) bytes(sp span) []byte {
	raw := s.b[sp.off:sp.end]
	if sp.plain() || !sp.esc && utf8.Valid(raw) {
		return raw
	}
	s.scratch = appendUnescaped(s.scratch[:0], raw)
	return s.scratch
}

// is reports whether the decoded value of sp equals v.
func (s *scanner) is(sp span, v string) bool {
	if sp.plain() {
		return string(s.b[sp.off:sp.end]) == v
	}
	return string(s.bytes(sp)) == v
}

// appendUnescaped appends the decoded value of a JSON string's raw contents
// (already checked by str) to dst, as encoding/json decodes it: escapes are
// resolved, a \u escape of a lone surrogate and every byte of an invalid
// UTF-8 sequence become U+FFFD.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == '\\':
			switch raw[i+1] {
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
				r := hex4(raw[i+2:])
				i += 6
				if utf16.IsSurrogate(r) {
					r2 := rune(-1)
					if i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
						r2 = hex4(raw[i+2:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						i += 6
						r = dec
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, raw[i+1])
			}
			i += 2
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, raw[i:i+size]...)
			}
			i += size
		}
	}
	return dst
}

func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
