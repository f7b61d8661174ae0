package severity

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MaxPolicySize is the largest policy file [LoadPolicy] reads, in bytes.
const MaxPolicySize = 1 << 20

// LoadPolicy reads a ladder from JSON and validates it with
// [Policy.Validate]. The file replaces the whole ladder: a rung that is
// absent (or null) is empty, it does not fall back to [DefaultPolicy], and
// the result must still validate (so "low" is always required). Example:
//
//	{
//	  "critical": [{"ratio": 10, "min_upload_bytes": "100MB"}],
//	  "high":     [{"ratio": 5, "min_upload_bytes": "10MB"}, {"ratio": "2:1", "min_upload_bytes": "100 MiB"}],
//	  "medium":   [{"ratio": 2, "min_upload_bytes": 10485760}],
//	  "low":      [{"ratio": 2, "min_upload_bytes": "1MB"}]
//	}
//
// The format is strict. The top level is an object whose keys are exactly
// "critical", "high", "medium", "low" (lower case, each at most once); each
// rung is an array of at most [MaxRulesPerLevel] rule objects with exactly
// the keys "ratio" and "min_upload_bytes", both required. Unknown keys,
// duplicate keys, trailing data and files over [MaxPolicySize] are
// rejected.
//
//   - ratio is a whole JSON number (10), or a string "10" or "10:1".
//   - min_upload_bytes is a whole JSON number of bytes, or a string: digits,
//     optional spaces, and an optional unit, case-insensitive: B, KB, MB,
//     GB, TB or KiB, MiB, GiB, TiB. Both spellings are powers of 1024, as
//     everywhere in exfilscore: "1MB" = "1MiB" = 1,048,576 bytes (see [MB]).
//     Fractions ("1.5MB") and exponents (1e6) are rejected.
//
// Errors are [*PolicyError] values (several joined for Validate) that
// name the line, rung, rule index and value; all match [ErrInvalidPolicy]
// with [errors.Is]. A read error from r is returned wrapped, not as a
// policy error. On error the returned Policy is the zero value.
//
// [json.Marshal] of a Policy gives a file that LoadPolicy reads back.
func LoadPolicy(r io.Reader) (Policy, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxPolicySize+1))
	if err != nil {
		return Policy{}, fmt.Errorf("severity: reading policy: %w", err)
	}
	if len(data) > MaxPolicySize {
		return Policy{}, &PolicyError{Index: -1, Reason: fmt.Sprintf("larger than %d bytes", MaxPolicySize)}
	}
	ps := &policyParser{data: data, dec: json.NewDecoder(bytes.NewReader(data))}
	p, err := ps.policy()
	if err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	return p, nil
}

// policyParser walks a policy file token by token, so that it controls key
// spelling, duplicates and limits, and knows where each value sits.
type policyParser struct {
	data []byte
	dec  *json.Decoder
}

// lineAt returns the 1-based line of byte offset off.
func (ps *policyParser) lineAt(off int64) int {
	if off < 0 {
		off = 0
	}
	if off > int64(len(ps.data)) {
		off = int64(len(ps.data))
	}
	return 1 + bytes.Count(ps.data[:off], []byte{'\n'})
}

// fail builds a PolicyError at byte offset off.
func (ps *policyParser) fail(off int64, l Level, index int, field, value, reason string) *PolicyError {
	return &PolicyError{Line: ps.lineAt(off), Level: l, Index: index, Field: field, Value: value, Reason: reason}
}

// decodeErr turns a decoder error into a PolicyError, using the syntax
// error's own offset when it has one.
func (ps *policyParser) decodeErr(err error, l Level, index int) *PolicyError {
	off := ps.dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		off = se.Offset
	}
	reason := "malformed JSON"
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		reason = "unexpected end of input"
		err = nil
	}
	e := ps.fail(off, l, index, "", "", reason)
	e.Err = err
	return e
}

// token reads the next token, reporting errors at (l, index).
func (ps *policyParser) token(l Level, index int) (json.Token, error) {
	tok, err := ps.dec.Token()
	if err != nil {
		return nil, ps.decodeErr(err, l, index)
	}
	return tok, nil
}

// object reads a JSON object whose keys must be in keys (exact spelling,
// each at most once) and calls value for each key with its index in keys;
// value must consume the key's value.
func (ps *policyParser) object(l Level, index int, what string, keys []string, required bool, value func(k int) error) error {
	off := ps.offset()
	tok, err := ps.token(l, index)
	if err != nil {
		return err
	}
	if tok != json.Delim('{') {
		return ps.fail(off, l, index, "", describe(tok), what+" must be a JSON object")
	}
	var seen uint64
	for ps.dec.More() {
		off := ps.offset()
		tok, err := ps.token(l, index)
		if err != nil {
			return err
		}
		key, _ := tok.(string) // in an object the decoder only yields string keys here
		k := -1
		for i, name := range keys {
			if key == name {
				k = i
				break
			}
		}
		if k < 0 {
			return ps.fail(off, l, index, "", strconv.Quote(shorten(key)),
				"unknown key in "+what+" (want "+strings.Join(keys, ", ")+")")
		}
		if seen&(1<<k) != 0 {
			return ps.fail(off, l, index, "", strconv.Quote(key), "duplicate key in "+what)
		}
		seen |= 1 << k
		if err := value(k); err != nil {
			return err
		}
	}
	if _, err := ps.token(l, index); err != nil { // the closing '}'
		return err
	}
	for i, name := range keys {
		if required && seen&(1<<i) == 0 {
			return ps.fail(off, l, index, name, "", "required")
		}
	}
	return nil
}

var levelKeys = []string{"critical", "high", "medium", "low"}
var levelOfKey = [...]Level{Critical, High, Medium, Low}
var ruleKeys = []string{"ratio", "min_upload_bytes"}

// policy parses the whole file (without validating it).
func (ps *policyParser) policy() (Policy, error) {
	var p Policy
	if len(bytes.TrimSpace(ps.data)) == 0 {
		return p, &PolicyError{Index: -1, Reason: "empty input"}
	}
	err := ps.object(None, -1, "policy", levelKeys, false, func(k int) error {
		l := levelOfKey[k]
		rs, err := ps.rung(l)
		if err != nil {
			return err
		}
		p.setRules(l, rs)
		return nil
	})
	if err != nil {
		return Policy{}, err
	}
	off := ps.offset()
	if _, err := ps.dec.Token(); err != io.EOF {
		return Policy{}, ps.fail(off, None, -1, "", "", "trailing data after the policy object")
	}
	return p, nil
}

// rung parses the array of rules of level l; null gives no rules.
func (ps *policyParser) rung(l Level) ([]Rule, error) {
	off := ps.offset()
	tok, err := ps.token(l, -1)
	if err != nil {
		return nil, err
	}
	if tok == nil {
		return nil, nil
	}
	if tok != json.Delim('[') {
		return nil, ps.fail(off, l, -1, "", describe(tok), "must be an array of rules")
	}
	var rs []Rule
	for ps.dec.More() {
		if len(rs) == MaxRulesPerLevel {
			return nil, ps.fail(ps.offset(), l, -1, "", "",
				fmt.Sprintf("more than %d rules", MaxRulesPerLevel))
		}
		r, err := ps.rule(l, len(rs))
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if _, err := ps.token(l, -1); err != nil { // the closing ']'
		return nil, err
	}
	return rs, nil
}

// rule parses rule number index of level l.
func (ps *policyParser) rule(l Level, index int) (Rule, error) {
	var r Rule
	err := ps.object(l, index, "rule", ruleKeys, true, func(k int) error {
		off := ps.offset()
		var raw json.RawMessage
		if err := ps.dec.Decode(&raw); err != nil {
			return ps.decodeErr(err, l, index)
		}
		var reason string
		if k == 0 {
			r.Ratio, reason = parseRatio(raw)
		} else {
			r.MinUploadBytes, reason = parseSize(raw)
		}
		if reason != "" {
			return ps.fail(off, l, index, ruleKeys[k], string(raw), reason)
		}
		return nil
	})
	return r, err
}

// offset returns the byte offset of the next token: the decoder's offset
// moved past JSON whitespace and the ',' and ':' separators, so that line
// numbers point at the token itself.
func (ps *policyParser) offset() int64 {
	off := ps.dec.InputOffset()
	for off < int64(len(ps.data)) {
		switch ps.data[off] {
		case ' ', '\t', '\n', '\r', ',', ':':
			off++
			continue
		}
		break
	}
	return off
}

// describe names a token for an error message.
func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return string(t)
	case string:
		return strconv.Quote(shorten(t))
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'g', -1, 64)
	}
	return fmt.Sprint(tok)
}

// parseRatio reads a ratio: a whole JSON number, or a string "N" or
// "N:1". It returns a reason when raw is not one.
func parseRatio(raw json.RawMessage) (uint64, string) {
	const want = `must be a whole number or a string such as "10:1"`
	s, isString, ok := scalar(raw)
	if !ok {
		return 0, want
	}
	if isString {
		s = strings.TrimSuffix(s, ":1")
	}
	if !allDigits(s) {
		return 0, want
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, "out of range"
	}
	return n, ""
}

// parseSize reads a size: a whole JSON number of bytes, or a string as
// documented on LoadPolicy. It returns a reason when raw is not one.
func parseSize(raw json.RawMessage) (uint64, string) {
	const want = `must be a whole number of bytes or a string such as "10MB"`
	s, isString, ok := scalar(raw)
	if !ok {
		return 0, want
	}
	if !isString {
		if !allDigits(s) {
			return 0, want
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return 0, "out of range"
		}
		return n, ""
	}
	n, reason := parseSizeString(s)
	return n, reason
}

// sizeUnits maps the unit suffixes of parseSizeString to their multiples.
var sizeUnits = []struct {
	name string
	mult uint64
}{
	{"", 1}, {"B", 1},
	{"KB", 1 << 10}, {"KiB", 1 << 10},
	{"MB", 1 << 20}, {"MiB", 1 << 20},
	{"GB", 1 << 30}, {"GiB", 1 << 30},
	{"TB", 1 << 40}, {"TiB", 1 << 40},
}

// parseSizeString parses "1048576", "10MB", "10 MiB", "2gb".
func parseSizeString(s string) (uint64, string) {
	i := 0
	for i < len(s) && '0' <= s[i] && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, `must start with digits, as in "10MB"`
	}
	n, err := strconv.ParseUint(s[:i], 10, 64)
	if err != nil {
		return 0, "out of range"
	}
	unit := strings.TrimLeft(s[i:], " ")
	for _, u := range sizeUnits {
		if strings.EqualFold(unit, u.name) {
			if n > ^uint64(0)/u.mult {
				return 0, "out of range"
			}
			return n * u.mult, ""
		}
	}
	return 0, "unknown unit " + strconv.Quote(shorten(unit)) + " (want B, KB, MB, GB, TB or KiB, MiB, GiB, TiB)"
}

// formatSize writes n with the largest unit that divides it exactly; the
// result parses back to n with parseSizeString.
func formatSize(n uint64) string { return string(appendSize(nil, n)) }

// appendSize appends n as formatSize writes it.
func appendSize(b []byte, n uint64) []byte {
	if n != 0 {
		for _, u := range [...]struct {
			name string
			mult uint64
		}{{"TB", 1 << 40}, {"GB", 1 << 30}, {"MB", 1 << 20}, {"KB", 1 << 10}} {
			if n%u.mult == 0 {
				return append(strconv.AppendUint(b, n/u.mult, 10), u.name...)
			}
		}
	}
	return append(strconv.AppendUint(b, n, 10), 'B')
}

// scalar returns the text of a JSON string (unquoted) or number; ok is
// false for other values and for strings that do not decode.
func scalar(raw json.RawMessage) (s string, isString, ok bool) {
	if len(raw) == 0 {
		return "", false, false
	}
	switch c := raw[0]; {
	case c == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false, false
		}
		return s, true, true
	case c == '-' || ('0' <= c && c <= '9'):
		return string(raw), false, true
	}
	return "", false, false
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
