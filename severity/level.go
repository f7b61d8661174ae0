package severity

import (
	"errors"
	"strconv"
	"strings"
)

// Level is a rung of the severity ladder. The zero value is [None]: no
// alert. Levels are ordered, so comparisons such as l >= High work. Only
// None through Critical are valid; see [Level.IsValid].
type Level uint8

// The levels of the ladder, from "no alert" to the most severe.
const (
	None Level = iota
	Low
	Medium
	High
	Critical
)

var levelNames = [...]string{
	None:     "none",
	Low:      "low",
	Medium:   "medium",
	High:     "high",
	Critical: "critical",
}

// ErrUnknownLevel is the sentinel wrapped by every [UnknownLevelError].
var ErrUnknownLevel = errors.New("severity: unknown level")

// UnknownLevelError reports a level name that [ParseLevel] does not know,
// or an out-of-range [Level] given to [Level.MarshalText]. It unwraps to
// [ErrUnknownLevel].
type UnknownLevelError struct {
	// Input is the rejected text.
	Input string
}

// Error returns `severity: unknown level "x"`; very long inputs are
// shortened in the message (not in Input).
func (e *UnknownLevelError) Error() string {
	return ErrUnknownLevel.Error() + " " + strconv.Quote(shorten(e.Input))
}

// Unwrap returns [ErrUnknownLevel].
func (e *UnknownLevelError) Unwrap() error { return ErrUnknownLevel }

// IsValid reports whether l is one of None, Low, Medium, High, Critical.
func (l Level) IsValid() bool { return l <= Critical }

// String returns the level's lower-case name ("none", "low", "medium",
// "high", "critical"), or "Level(N)" for an invalid level.
func (l Level) String() string {
	if l.IsValid() {
		return levelNames[l]
	}
	return "Level(" + strconv.Itoa(int(l)) + ")"
}

// AppendText appends the level's name to b (see [Level.String]). It fails
// with an [UnknownLevelError] for an invalid level, leaving b unchanged.
func (l Level) AppendText(b []byte) ([]byte, error) {
	if !l.IsValid() {
		return b, &UnknownLevelError{Input: l.String()}
	}
	return append(b, levelNames[l]...), nil
}

// MarshalText implements [encoding.TextMarshaler]: the level's name, so a
// Level is a JSON string such as "high". An invalid level is an error.
func (l Level) MarshalText() ([]byte, error) {
	return l.AppendText(nil)
}

// UnmarshalText implements [encoding.TextUnmarshaler] with [ParseLevel].
// On error l is left unchanged.
func (l *Level) UnmarshalText(text []byte) error {
	v, err := ParseLevel(string(text))
	if err != nil {
		return err
	}
	*l = v
	return nil
}

// ParseLevel returns the level named s, ignoring case ("High" is [High]).
// Any other text, including the empty string and names with surrounding
// spaces, is an [UnknownLevelError].
func ParseLevel(s string) (Level, error) {
	for l, name := range levelNames {
		if strings.EqualFold(s, name) {
			return Level(l), nil
		}
	}
	return None, &UnknownLevelError{Input: s}
}

// MustParseLevel is like [ParseLevel] but panics on error. Use it only for
// constants and tests.
func MustParseLevel(s string) Level {
	l, err := ParseLevel(s)
	if err != nil {
		panic(err)
	}
	return l
}

// shorten bounds the size of user input echoed in error messages.
func shorten(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
