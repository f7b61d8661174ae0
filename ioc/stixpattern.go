package ioc

import (
	"fmt"
	"strings"
)

// This file parses STIX 2.1 patterns (STIX 2.1 section 9) and finds their
// sufficient comparisons: those whose match alone makes the pattern match.
//
//	[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'evil.example']
//
// has two ('198.51.100.1' and 'evil.example'); an observation expression
// joined with OR contributes those of each side; AND, FOLLOWEDBY, NOT and
// qualifiers (WITHIN, REPEATS, START/STOP) contribute none, since one
// indicator value cannot satisfy them alone. The whole grammar is parsed,
// so that a valid pattern this package does not use is told apart from a
// malformed one.

// maxPatternLen bounds the pattern text; maxPatternDepth its nesting.
const (
	maxPatternLen   = 1 << 20
	maxPatternDepth = 64
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tLBrack
	tRBrack
	tLParen
	tRParen
	tComma
	tColon
	tDot
	tStar
	tOp     // = != <> < <= > >=
	tString // 'text'; text holds the unescaped value
	tTyped  // t'…', h'…', b'…'
	tNumber
	tIdent // identifier or keyword
)

type token struct {
	kind tokKind
	text string
	pos  int // byte offset in the pattern
}

// lexPattern splits a pattern into tokens.
func lexPattern(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
			continue
		case c == '[':
			toks = append(toks, token{tLBrack, "[", i})
		case c == ']':
			toks = append(toks, token{tRBrack, "]", i})
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
		case c == ',':
			toks = append(toks, token{tComma, ",", i})
		case c == ':':
			toks = append(toks, token{tColon, ":", i})
		case c == '.':
			toks = append(toks, token{tDot, ".", i})
		case c == '*':
			toks = append(toks, token{tStar, "*", i})
		case c == '=':
			toks = append(toks, token{tOp, "=", i})
		case c == '!' || c == '<' || c == '>':
			op := string(c)
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				op += string(s[i+1])
			} else if c == '!' {
				return nil, fmt.Errorf("unexpected '!' at %d", i)
			}
			if op == "<>" {
				toks = append(toks, token{tOp, "!=", i})
			} else {
				toks = append(toks, token{tOp, op, i})
			}
			i += len(op)
			continue
		case c == '\'':
			text, n, err := lexString(s[i:])
			if err != nil {
				return nil, fmt.Errorf("%v at %d", err, i)
			}
			toks = append(toks, token{tString, text, i})
			i += n
			continue
		case c == '-' || c == '+' || '0' <= c && c <= '9':
			j := i + 1
			for j < len(s) && ('0' <= s[j] && s[j] <= '9' || s[j] == '.') {
				j++
			}
			if j == i+1 && (c == '-' || c == '+') {
				return nil, fmt.Errorf("unexpected %q at %d", c, i)
			}
			toks = append(toks, token{tNumber, s[i:j], i})
			i = j
			continue
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
			if (c == 't' || c == 'h' || c == 'b') && i+1 < len(s) && s[i+1] == '\'' {
				text, n, err := lexString(s[i+1:])
				if err != nil {
					return nil, fmt.Errorf("%v at %d", err, i)
				}
				toks = append(toks, token{tTyped, string(c) + text, i})
				i += 1 + n
				continue
			}
			j := i + 1
			for j < len(s) && (s[j] == '_' || s[j] == '-' || 'a' <= s[j] && s[j] <= 'z' || 'A' <= s[j] && s[j] <= 'Z' || '0' <= s[j] && s[j] <= '9') {
				j++
			}
			toks = append(toks, token{tIdent, s[i:j], i})
			i = j
			continue
		default:
			return nil, fmt.Errorf("unexpected %q at %d", c, i)
		}
		i++
	}
	return append(toks, token{tEOF, "", len(s)}), nil
}

// lexString reads a quoted string literal at the start of s and returns
// its value and length. Only \' and \\ are escapes.
func lexString(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\'':
			return b.String(), i + 1, nil
		case '\\':
			if i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '\\') {
				b.WriteByte(s[i+1])
				i++
				continue
			}
			return "", 0, fmt.Errorf("bad escape in string")
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, fmt.Errorf("unterminated string")
}

// patAtom is a sufficient comparison: object type, property path, and one
// value compared with = (or a member of IN) or ISSUBSET.
type patAtom struct {
	objType, path, op, value string
}

// patResult is what a sub-expression contributes: its sufficient
// comparisons, or why it has none.
type patResult struct {
	atoms []patAtom
	why   string // reason there are none
}

func none(why string) patResult { return patResult{why: why} }

// union is the result of an OR of results: all their atoms.
func union(rs []patResult) patResult {
	var out patResult
	for _, r := range rs {
		out.atoms = append(out.atoms, r.atoms...)
		if out.why == "" {
			out.why = r.why
		}
	}
	return out
}

type patParser struct {
	toks  []token
	i     int
	depth int
	// ignored counts comparisons dropped from an OR that other
	// comparisons satisfy alone (an OR-ed file hash beside an address).
	ignored int
}

// parsePattern parses a STIX pattern and returns its sufficient
// comparisons (empty with a reason when it has none), and the number of
// OR-ed comparisons it could not use.
func parsePattern(s string) (patResult, int, error) {
	if len(s) > maxPatternLen {
		return patResult{}, 0, fmt.Errorf("pattern longer than %d bytes", maxPatternLen)
	}
	toks, err := lexPattern(s)
	if err != nil {
		return patResult{}, 0, err
	}
	p := &patParser{toks: toks}
	r, err := p.observations()
	if err != nil {
		return patResult{}, 0, err
	}
	if t := p.peek(); t.kind != tEOF {
		return patResult{}, 0, p.unexpected(t)
	}
	if len(r.atoms) > 0 {
		return patResult{atoms: r.atoms}, p.ignored, nil
	}
	return r, 0, nil
}

func (p *patParser) peek() token { return p.toks[p.i] }
func (p *patParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// isKW reports whether t is the keyword kw (case-insensitive).
func isKW(t token, kw string) bool { return t.kind == tIdent && strings.EqualFold(t.text, kw) }

func (p *patParser) unexpected(t token) error {
	if t.kind == tEOF {
		return fmt.Errorf("unexpected end of pattern")
	}
	return fmt.Errorf("unexpected %q at %d", t.text, t.pos)
}

func (p *patParser) expect(k tokKind, what string) (token, error) {
	t := p.next()
	if t.kind != k {
		return t, fmt.Errorf("want %s, got %q at %d", what, t.text, t.pos)
	}
	return t, nil
}

func (p *patParser) enter() error {
	if p.depth++; p.depth > maxPatternDepth {
		return fmt.Errorf("pattern nested deeper than %d", maxPatternDepth)
	}
	return nil
}

// observations: obsOr (FOLLOWEDBY obsOr)*.
func (p *patParser) observations() (patResult, error) {
	if err := p.enter(); err != nil {
		return patResult{}, err
	}
	defer func() { p.depth-- }()
	r, err := p.obsOr()
	if err != nil {
		return r, err
	}
	seq := false
	for isKW(p.peek(), "FOLLOWEDBY") {
		p.next()
		if _, err := p.obsOr(); err != nil {
			return r, err
		}
		seq = true
	}
	if seq {
		return none("FOLLOWEDBY pattern"), nil
	}
	return r, nil
}

// obsOr: obsAnd (OR obsAnd)*.
func (p *patParser) obsOr() (patResult, error) {
	r, err := p.obsAnd()
	if err != nil {
		return r, err
	}
	rs := []patResult{r}
	for isKW(p.peek(), "OR") {
		p.next()
		r, err := p.obsAnd()
		if err != nil {
			return r, err
		}
		rs = append(rs, r)
	}
	return p.or(rs), nil
}

// or unions OR-ed results, counting the sides without atoms as ignored
// when another side has some.
func (p *patParser) or(rs []patResult) patResult {
	if len(rs) == 1 {
		return rs[0]
	}
	u := union(rs)
	if len(u.atoms) > 0 {
		for _, r := range rs {
			if len(r.atoms) == 0 {
				p.ignored++
			}
		}
	}
	return u
}

// obsAnd: obsUnit (AND obsUnit)*.
func (p *patParser) obsAnd() (patResult, error) {
	r, err := p.obsUnit()
	if err != nil {
		return r, err
	}
	and := false
	for isKW(p.peek(), "AND") {
		p.next()
		if _, err := p.obsUnit(); err != nil {
			return r, err
		}
		and = true
	}
	if and {
		return none("AND-ed observations"), nil
	}
	return r, nil
}

// obsUnit: '[' comparisons ']' qualifier* | '(' observations ')' qualifier*.
func (p *patParser) obsUnit() (patResult, error) {
	var r patResult
	var err error
	switch t := p.next(); t.kind {
	case tLBrack:
		if r, err = p.cmpOr(); err != nil {
			return r, err
		}
		if _, err = p.expect(tRBrack, "']'"); err != nil {
			return r, err
		}
	case tLParen:
		if r, err = p.observations(); err != nil {
			return r, err
		}
		if _, err = p.expect(tRParen, "')'"); err != nil {
			return r, err
		}
	default:
		return r, p.unexpected(t)
	}
	qualified := false
	for {
		t := p.peek()
		switch {
		case isKW(t, "WITHIN"):
			p.next()
			if _, err := p.expect(tNumber, "a number of seconds"); err != nil {
				return r, err
			}
			if t := p.next(); !isKW(t, "SECONDS") {
				return r, fmt.Errorf("want SECONDS, got %q at %d", t.text, t.pos)
			}
		case isKW(t, "REPEATS"):
			p.next()
			if _, err := p.expect(tNumber, "a count"); err != nil {
				return r, err
			}
			if t := p.next(); !isKW(t, "TIMES") {
				return r, fmt.Errorf("want TIMES, got %q at %d", t.text, t.pos)
			}
		case isKW(t, "START"):
			p.next()
			if t := p.next(); t.kind != tTyped || t.text[0] != 't' {
				return r, fmt.Errorf("want a t'timestamp' after START at %d", t.pos)
			}
			if t := p.next(); !isKW(t, "STOP") {
				return r, fmt.Errorf("want STOP, got %q at %d", t.text, t.pos)
			}
			if t := p.next(); t.kind != tTyped || t.text[0] != 't' {
				return r, fmt.Errorf("want a t'timestamp' after STOP at %d", t.pos)
			}
		default:
			if qualified {
				return none("qualified observation (WITHIN, REPEATS, START/STOP)"), nil
			}
			return r, nil
		}
		qualified = true
	}
}

// cmpOr: cmpAnd (OR cmpAnd)*.
func (p *patParser) cmpOr() (patResult, error) {
	if err := p.enter(); err != nil {
		return patResult{}, err
	}
	defer func() { p.depth-- }()
	r, err := p.cmpAnd()
	if err != nil {
		return r, err
	}
	rs := []patResult{r}
	for isKW(p.peek(), "OR") {
		p.next()
		r, err := p.cmpAnd()
		if err != nil {
			return r, err
		}
		rs = append(rs, r)
	}
	return p.or(rs), nil
}

// cmpAnd: cmpUnit (AND cmpUnit)*.
func (p *patParser) cmpAnd() (patResult, error) {
	r, err := p.cmpUnit()
	if err != nil {
		return r, err
	}
	and := false
	for isKW(p.peek(), "AND") {
		p.next()
		if _, err := p.cmpUnit(); err != nil {
			return r, err
		}
		and = true
	}
	if and {
		return none("AND-ed comparisons"), nil
	}
	return r, nil
}

// cmpUnit: '(' cmpOr ')' | EXISTS path | path [NOT] op literal.
func (p *patParser) cmpUnit() (patResult, error) {
	t := p.peek()
	switch {
	case t.kind == tLParen:
		p.next()
		r, err := p.cmpOr()
		if err != nil {
			return r, err
		}
		_, err = p.expect(tRParen, "')'")
		return r, err
	case isKW(t, "EXISTS"):
		p.next()
		if _, _, err := p.path(); err != nil {
			return patResult{}, err
		}
		return none("EXISTS comparison"), nil
	}
	objType, path, err := p.path()
	if err != nil {
		return patResult{}, err
	}
	negated := false
	if isKW(p.peek(), "NOT") {
		p.next()
		negated = true
	}
	op := p.next()
	var values []string
	strs := true
	switch {
	case op.kind == tOp:
		v, isStr, err := p.literal()
		if err != nil {
			return patResult{}, err
		}
		values, strs = []string{v}, isStr
	case isKW(op, "IN"):
		if _, err := p.expect(tLParen, "'(' after IN"); err != nil {
			return patResult{}, err
		}
		for p.peek().kind != tRParen {
			if len(values) > 0 {
				if _, err := p.expect(tComma, "','"); err != nil {
					return patResult{}, err
				}
			}
			v, isStr, err := p.literal()
			if err != nil {
				return patResult{}, err
			}
			values = append(values, v)
			strs = strs && isStr
		}
		p.next()
	case isKW(op, "LIKE"), isKW(op, "MATCHES"), isKW(op, "ISSUBSET"), isKW(op, "ISSUPERSET"):
		t, err := p.expect(tString, "a string")
		if err != nil {
			return patResult{}, err
		}
		values = []string{t.text}
	default:
		return patResult{}, fmt.Errorf("want a comparison operator, got %q at %d", op.text, op.pos)
	}
	opName := strings.ToUpper(op.text)
	desc := fmt.Sprintf("comparison %s:%s %s", objType, path, opName)
	if negated {
		return none("negated " + desc), nil
	}
	var supported bool
	switch {
	case !strs:
		supported = false
	case objType == "ipv4-addr" || objType == "ipv6-addr":
		supported = path == "value" && (opName == "=" || opName == "IN" || opName == "ISSUBSET")
	case objType == "domain-name" || objType == "url":
		supported = path == "value" && (opName == "=" || opName == "IN")
	case objType == "network-traffic":
		supported = path == "dst_ref.value" && (opName == "=" || opName == "IN" || opName == "ISSUBSET")
	}
	if !supported {
		return none("unsupported " + desc), nil
	}
	if len(values) == 0 {
		return none("empty IN set"), nil
	}
	r := patResult{}
	for _, v := range values {
		r.atoms = append(r.atoms, patAtom{objType: objType, path: path, op: opName, value: v})
	}
	return r, nil
}

// path reads objectType ':' component ('.' component | '[' index ']')*
// and returns the type and the rest, components joined with '.'.
func (p *patParser) path() (string, string, error) {
	t, err := p.expect(tIdent, "an object type")
	if err != nil {
		return "", "", err
	}
	objType := t.text
	if _, err := p.expect(tColon, "':' after the object type"); err != nil {
		return "", "", err
	}
	var parts []string
	switch t := p.next(); t.kind {
	case tIdent, tString:
		parts = append(parts, t.text)
	default:
		return "", "", fmt.Errorf("want a property name, got %q at %d", t.text, t.pos)
	}
	for {
		switch p.peek().kind {
		case tDot:
			p.next()
			switch t := p.next(); t.kind {
			case tIdent, tString:
				parts = append(parts, t.text)
			default:
				return "", "", fmt.Errorf("want a property name, got %q at %d", t.text, t.pos)
			}
		case tLBrack:
			// A list index: [n] or [*]. An observation never starts
			// right after a path, so '[' here is an index.
			p.next()
			switch t := p.next(); t.kind {
			case tNumber, tStar:
				parts[len(parts)-1] += "[" + t.text + "]"
			default:
				return "", "", fmt.Errorf("want a list index, got %q at %d", t.text, t.pos)
			}
			if _, err := p.expect(tRBrack, "']'"); err != nil {
				return "", "", err
			}
		default:
			return objType, strings.Join(parts, "."), nil
		}
	}
}

// literal reads a literal and reports whether it is a plain string.
func (p *patParser) literal() (string, bool, error) {
	t := p.next()
	switch {
	case t.kind == tString:
		return t.text, true, nil
	case t.kind == tTyped, t.kind == tNumber, isKW(t, "true"), isKW(t, "false"):
		return t.text, false, nil
	}
	return "", false, fmt.Errorf("want a literal, got %q at %d", t.text, t.pos)
}
