package zeek

import (
	"github.com/exfilscore/exfilscore/internal/addrtext"
	"math"
	"net/netip"
	"strconv"
	"time"
)

// parseUint parses a non-empty run of decimal digits, failing on overflow.
func parseUint(b []byte) (uint64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	var v uint64
	for _, c := range b {
		d := uint64(c - '0')
		if d > 9 {
			return 0, false
		}
		if v > (math.MaxUint64-d)/10 {
			return 0, false
		}
		v = v*10 + d
	}
	return v, true
}

// maxSeconds bounds times and intervals (about year 2255) so that
// nanosecond arithmetic cannot overflow.
const maxSeconds = 9e9

// parseSeconds parses a non-negative decimal number of seconds, as Zeek
// writes times and intervals ("1517336042.090842", "0.5", "3", "1e-06"),
// into whole seconds and nanoseconds. Digits past the ninth decimal are
// dropped. integral reports that the text had no fraction or exponent.
func parseSeconds(b []byte) (sec int64, nsec int64, integral, ok bool) {
	i := 0
	var v uint64
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		if v > 1e15 {
			return 0, 0, false, false
		}
		v = v*10 + uint64(b[i]-'0')
		i++
	}
	intDigits := i
	if i == len(b) {
		return int64(v), 0, true, intDigits > 0
	}
	fracDigits := 0
	if b[i] == '.' {
		i++
		scale := int64(1e8)
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int64(b[i]-'0') * scale
			scale /= 10
			fracDigits++
			i++
		}
		if intDigits == 0 && fracDigits == 0 {
			return 0, 0, false, false
		}
		if i == len(b) {
			return int64(v), nsec, false, true
		}
	}
	if b[i] != 'e' && b[i] != 'E' || intDigits == 0 && fracDigits == 0 || len(b) > 64 {
		return 0, 0, false, false
	}
	// Exponent form (the JSON writer's shortest double, e.g. 1e-06):
	// rare, so through strconv.
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || !(f >= 0 && f <= maxSeconds) {
		return 0, 0, false, false
	}
	// A double near an epoch time (1e9) holds about 0.2 µs: round such
	// values to the microsecond Zeek logs, smaller ones to the nanosecond.
	s := math.Floor(f)
	if f >= 1e6 {
		return int64(s), int64(math.Round((f-s)*1e6)) * 1e3, false, true
	}
	return int64(s), int64(math.Round((f - s) * 1e9)), false, true
}

// parseEpoch parses a time as Zeek writes it: epoch seconds with a
// fraction in TSV and in JSON (JSON::TS_EPOCH), integral epoch
// milliseconds (JSON::TS_MILLIS; any integer above 1e11, which as seconds
// would be past the year 5000), or ISO 8601 text (JSON::TS_ISO8601).
func parseEpoch(b []byte) (time.Time, bool) {
	if len(b) > 0 && b[0] >= '0' && b[0] <= '9' && (len(b) < 5 || b[4] != '-') {
		sec, nsec, integral, ok := parseSeconds(b)
		if !ok {
			return time.Time{}, false
		}
		if integral && sec > 1e11 {
			sec, nsec = sec/1000, (sec%1000)*1e6
		}
		if sec > maxSeconds {
			return time.Time{}, false
		}
		return time.Unix(sec, nsec).UTC(), true
	}
	return parseISO(b)
}

// parseISO parses "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)", Zeek's
// JSON::TS_ISO8601 form, without allocating; other RFC 3339 shapes go
// through time.Parse.
func parseISO(b []byte) (time.Time, bool) {
	if t, ok := parseISOFast(b); ok {
		return t, true
	}
	if len(b) > 64 {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil || t.Year() < 1970 || t.Unix() > maxSeconds {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func parseISOFast(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) int {
		v := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(b[0:4]), num(b[5:7]), num(b[8:10])
	hour, min, sec := num(b[11:13]), num(b[14:16]), num(b[17:19])
	if year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || min > 59 || sec > 59 || min < 0 || sec < 0 || hour < 0 {
		return time.Time{}, false
	}
	if day > daysIn(time.Month(month), year) {
		return time.Time{}, false
	}
	i := 19
	nsec := 0
	if b[i] == '.' {
		i++
		scale := int(1e8)
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			nsec += int(b[i]-'0') * scale
			scale /= 10
			i++
		}
		if i == start || i == len(b) {
			return time.Time{}, false
		}
	}
	offset := 0
	switch rest := b[i:]; {
	case len(rest) == 1 && (rest[0] == 'Z' || rest[0] == 'z'):
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		oh, om := num(rest[1:3]), num(rest[4:6])
		if oh < 0 || om < 0 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, min, sec, nsec, time.UTC).Add(-time.Duration(offset) * time.Second)
	if t.Unix() > maxSeconds || t.Unix() < 0 {
		return time.Time{}, false
	}
	return t, true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// parseAddr parses an IPv4 or IPv6 address as netip.ParseAddr does,
// without allocating for addresses without a zone (internal/addrtext).
func parseAddr(b []byte) (netip.Addr, bool) { return addrtext.Parse(b) }

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// appendUnescape appends src to dst with Zeek's ASCII writer escapes
// (\xHH, used for non-printable bytes, the separator and values that would
// read as the unset or empty marker) decoded, as Zeek's own reader does.
// Other backslashes are kept.
func appendUnescape(dst, src []byte) []byte {
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && i+3 < len(src) && src[i+1] == 'x' {
			hi, lo := hexVal(src[i+2]), hexVal(src[i+3])
			if hi >= 0 && lo >= 0 {
				dst = append(dst, byte(hi<<4|lo))
				i += 3
				continue
			}
		}
		dst = append(dst, c)
	}
	return dst
}
