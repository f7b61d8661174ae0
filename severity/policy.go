package severity

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// MB is the size unit of the ladder and of every displayed volume:
// 1 MB = 1,048,576 bytes (SPEC §3), which some call a mebibyte.
const MB = 1 << 20

// MaxRulesPerLevel bounds the number of rules a rung may hold
// ([Policy.Validate], [LoadPolicy]).
const MaxRulesPerLevel = 64

// Rule is one condition of a rung: a flow meets it when
//
//	upload >= Ratio × download  and  upload >= MinUploadBytes
//
// The product is computed exactly in 128 bits, so it never overflows and a
// download of 0 meets any ratio. A Rule is a small comparable value.
type Rule struct {
	// Ratio is the least upload:download ratio, as Ratio:1.
	Ratio uint64 `json:"ratio"`
	// MinUploadBytes is the least upload volume, in bytes.
	MinUploadBytes uint64 `json:"min_upload_bytes"`
}

// Matches reports whether a flow that uploaded up bytes and downloaded
// down bytes meets r. Both thresholds are inclusive.
func (r Rule) Matches(up, down uint64) bool {
	if up < r.MinUploadBytes {
		return false
	}
	hi, lo := bits.Mul64(r.Ratio, down)
	return hi == 0 && up >= lo
}

// String returns the rule as "ratio>=5:1 and upload>=10MB". Sizes use the
// largest unit of [LoadPolicy] (KB, MB, GB, TB: powers of 1024) that
// divides them exactly, else bytes ("upload>=1500B").
func (r Rule) String() string {
	return string(appendRule(nil, r))
}

// appendRule appends r as [Rule.String] writes it.
func appendRule(b []byte, r Rule) []byte {
	b = append(b, "ratio>="...)
	b = strconv.AppendUint(b, r.Ratio, 10)
	b = append(b, ":1 and upload>="...)
	return appendSize(b, r.MinUploadBytes)
}

// Policy is the severity ladder. Each rung holds one or more rules, OR-ed;
// the ladder is evaluated from Critical down and the first rung with a
// matching rule gives the level (see [Evaluate]). A flow that meets no rule
// has level [None]. An IOC match is critical whatever the ladder says (see
// [Assess]); it needs no rule.
//
// The zero Policy has no rules and is invalid: start from [DefaultPolicy]
// or [LoadPolicy]. A Policy is a plain value: safe for concurrent reads,
// not for concurrent mutation of its slices. Callers that change a policy
// should call [Policy.Validate].
type Policy struct {
	Critical []Rule `json:"critical"`
	High     []Rule `json:"high"`
	Medium   []Rule `json:"medium"`
	Low      []Rule `json:"low"`
}

// DefaultPolicy returns the ladder of SPEC §4, in fresh slices the caller
// may modify:
//
//	critical  ratio >= 10:1 and upload >= 100 MB
//	high      ratio >= 5:1 and upload >= 10 MB, or ratio >= 2:1 and upload >= 100 MB
//	medium    ratio >= 2:1 and upload >= 10 MB
//	low       ratio >= 2:1 and upload >= 1 MB
func DefaultPolicy() Policy {
	return Policy{
		Critical: []Rule{{Ratio: 10, MinUploadBytes: 100 * MB}},
		High:     []Rule{{Ratio: 5, MinUploadBytes: 10 * MB}, {Ratio: 2, MinUploadBytes: 100 * MB}},
		Medium:   []Rule{{Ratio: 2, MinUploadBytes: 10 * MB}},
		Low:      []Rule{{Ratio: 2, MinUploadBytes: 1 * MB}},
	}
}

// rules returns the rung of level l (nil for None and invalid levels).
func (p *Policy) rules(l Level) []Rule {
	switch l {
	case Critical:
		return p.Critical
	case High:
		return p.High
	case Medium:
		return p.Medium
	case Low:
		return p.Low
	}
	return nil
}

// setRules replaces the rung of level l, which must be Low to Critical.
func (p *Policy) setRules(l Level, rs []Rule) {
	switch l {
	case Critical:
		p.Critical = rs
	case High:
		p.High = rs
	case Medium:
		p.Medium = rs
	case Low:
		p.Low = rs
	}
}

// Evaluate returns the level the ladder p gives a flow that uploaded up
// bytes and downloaded down bytes, and the index within that rung of the
// first matching rule; it returns (None, -1) when no rule matches. It does
// not look at IOCs or context (see [Assess]), does not allocate, and is
// meant for the hot path. p must not be nil. When several rules of the
// rung match, [Assess] names the one the flow exceeds most, which may not
// be the first.
func Evaluate(p *Policy, up, down uint64) (Level, int) {
	for i, r := range p.Critical {
		if r.Matches(up, down) {
			return Critical, i
		}
	}
	for i, r := range p.High {
		if r.Matches(up, down) {
			return High, i
		}
	}
	for i, r := range p.Medium {
		if r.Matches(up, down) {
			return Medium, i
		}
	}
	for i, r := range p.Low {
		if r.Matches(up, down) {
			return Low, i
		}
	}
	return None, -1
}

// ErrInvalidPolicy is the sentinel wrapped by every [PolicyError].
var ErrInvalidPolicy = errors.New("severity: invalid policy")

// PolicyError describes one problem of a policy, found by [Policy.Validate]
// or [LoadPolicy]. It unwraps to [ErrInvalidPolicy] and, for errors of the
// JSON decoder or of the reader, to that error too.
type PolicyError struct {
	// Line is the 1-based line of the policy file where the problem was
	// found, or 0 when not from a file (Validate).
	Line int
	// Level is the rung concerned, or None for the file as a whole.
	Level Level
	// Index is the rule's index within its rung (as in the JSON array),
	// or -1 for the rung as a whole.
	Index int
	// Field is "ratio" or "min_upload_bytes" when one field is at fault.
	Field string
	// Value is the offending value: the JSON text from a file (so strings
	// keep their quotes), the number or the rule from Validate.
	Value string
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, if any.
	Err error
}

// Error returns a message such as
// `severity: invalid policy: line 4: high rule 1: min_upload_bytes "10XB": unknown unit "XB"`.
func (e *PolicyError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidPolicy.Error())
	if e.Line > 0 {
		b.WriteString(": line ")
		b.WriteString(strconv.Itoa(e.Line))
	}
	if e.Level != None {
		b.WriteString(": ")
		b.WriteString(e.Level.String())
		if e.Index >= 0 {
			b.WriteString(" rule ")
			b.WriteString(strconv.Itoa(e.Index))
		}
	}
	if e.Field != "" || e.Value != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
		if e.Field != "" && e.Value != "" {
			b.WriteByte(' ')
		}
		b.WriteString(shorten(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(e.Reason)
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns [ErrInvalidPolicy] and the underlying error, if any.
func (e *PolicyError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrInvalidPolicy}
	}
	return []error{ErrInvalidPolicy, e.Err}
}

// Validate reports every problem of p, joined with [errors.Join]; each is
// a [*PolicyError]. A valid policy has:
//
//   - at most [MaxRulesPerLevel] rules per rung;
//   - Ratio >= 1 and MinUploadBytes >= 1 in every rule;
//   - at least one Low rule (Critical, High and Medium may be empty, but
//     only from the top: see the next point);
//   - a monotone ladder: for every rule R of Critical, High or Medium
//     there is a rule S in the rung just below with S.Ratio <= R.Ratio and
//     S.MinUploadBytes <= R.MinUploadBytes. So each rung is no easier than
//     the one below, a flow that meets a rung meets every rung below it,
//     and a non-empty rung never sits above an empty one.
func (p Policy) Validate() error {
	var errs []error
	for l := Critical; l >= Low; l-- {
		rs := p.rules(l)
		if len(rs) > MaxRulesPerLevel {
			errs = append(errs, &PolicyError{Level: l, Index: -1,
				Reason: fmt.Sprintf("%d rules, at most %d allowed", len(rs), MaxRulesPerLevel)})
		}
		for i, r := range rs {
			if r.Ratio == 0 {
				errs = append(errs, &PolicyError{Level: l, Index: i, Field: "ratio", Value: "0",
					Reason: "must be at least 1"})
			}
			if r.MinUploadBytes == 0 {
				errs = append(errs, &PolicyError{Level: l, Index: i, Field: "min_upload_bytes", Value: "0",
					Reason: "must be at least 1"})
			}
		}
	}
	if len(p.Low) == 0 {
		errs = append(errs, &PolicyError{Level: Low, Index: -1, Reason: "at least one rule is required"})
	}
	for l := Critical; l > Low; l-- {
		lower := l - 1
		for i, r := range p.rules(l) {
			if !covered(r, p.rules(lower)) {
				errs = append(errs, &PolicyError{Level: l, Index: i, Value: r.String(),
					Reason: fmt.Sprintf("easier than the %s rung: no %s rule has ratio <= %d and min_upload_bytes <= %d",
						lower, lower, r.Ratio, r.MinUploadBytes)})
			}
		}
	}
	return errors.Join(errs...)
}

// covered reports whether some rule of lower is no stricter than r on both
// thresholds, so that every flow meeting r meets it.
func covered(r Rule, lower []Rule) bool {
	for _, s := range lower {
		if s.Ratio <= r.Ratio && s.MinUploadBytes <= r.MinUploadBytes {
			return true
		}
	}
	return false
}
