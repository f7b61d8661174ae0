package suricata

import "time"

// parseTime parses an EVE timestamp: YYYY-MM-DDTHH:MM:SS, an optional
// fraction of 1 to 9 digits, and a UTC offset written ±HHMM (what Suricata
// writes, e.g. 2024-01-02T03:04:05.123456+0000), ±HH:MM or Z. Fields out of
// range (month 13, February 30, hour 24, second 60, offset hour over 23)
// are rejected; a timestamp without an offset is rejected because its
// zone is unknown. The result is in UTC.
func parseTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, ns := 19, 0
	if b[i] == '.' {
		i++
		n := 0
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			if n == 9 {
				return time.Time{}, false
			}
			ns = ns*10 + int(b[i]-'0')
			i++
			n++
		}
		if n == 0 {
			return time.Time{}, false
		}
		for ; n < 9; n++ {
			ns *= 10
		}
	}
	if i >= len(b) {
		return time.Time{}, false
	}
	off := 0
	switch z := b[i:]; {
	case len(z) == 1 && z[0] == 'Z':
	case (len(z) == 5 || len(z) == 6 && z[3] == ':') && (z[0] == '+' || z[0] == '-'):
		oh, ok1 := digits(z[1:3])
		om, ok2 := digits(z[len(z)-2:])
		if !ok1 || !ok2 || oh > 23 || om > 59 {
			return time.Time{}, false
		}
		off = (oh*60 + om) * 60
		if z[0] == '-' {
			off = -off
		}
	default:
		return time.Time{}, false
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, ns, time.UTC)
	return t.Add(-time.Duration(off) * time.Second), true
}

func digits(b []byte) (int, bool) {
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
