package ioc

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file converts internationalised domain names to their ASCII form
// (A-labels, "xn--…", RFC 5891) with Punycode (RFC 3492).
//
// golang.org/x/net/idna would do the UTS #46 mapping in full, but it needs
// golang.org/x/text, which this module does not require. toALabels does the
// part of the mapping that matters for indicator names: lower-casing,
// full-width ASCII, the ideographic full stops, U+1E9E. It rejects, with a
// clear error, what it cannot map the way UTS #46 does (combining
// diacritical marks, i.e. text that may not be in NFC, compatibility and
// presentation forms, title-case letters, symbols). Within those limits its
// output equals x/net/idna's (see the package documentation).

const (
	pcBase        = 36
	pcTMin        = 1
	pcTMax        = 26
	pcSkew        = 38
	pcDamp        = 700
	pcInitialBias = 72
	pcInitialN    = 128
	acePrefix     = "xn--"
	maxPunyInput  = 256 // runes in a label: far above what fits in 63 bytes
)

var (
	errPunyOverflow = reason("invalid Punycode: overflow")
	errPunyDigit    = reason("invalid Punycode: bad digit")
	errPunyEnd      = reason("invalid Punycode: truncated")
	errNotNFC       = reason("combining diacritical mark: give the name in NFC or in its xn-- form")
	errUTF8         = reason("domain name is not valid UTF-8")
)

// pcAdapt is the bias adaptation function of RFC 3492 section 6.1.
func pcAdapt(delta, numPoints int, first bool) int {
	if first {
		delta /= pcDamp
	} else {
		delta /= 2
	}
	delta += delta / numPoints
	k := 0
	for delta > ((pcBase-pcTMin)*pcTMax)/2 {
		delta /= pcBase - pcTMin
		k += pcBase
	}
	return k + (pcBase-pcTMin+1)*delta/(delta+pcSkew)
}

// pcThreshold returns t for position k and the current bias.
func pcThreshold(k, bias int) int {
	switch {
	case k <= bias:
		return pcTMin
	case k >= bias+pcTMax:
		return pcTMax
	}
	return k - bias
}

// pcDigit encodes d (0 to 35) as a lower-case Punycode digit.
func pcDigit(d int) byte {
	if d < 26 {
		return byte('a' + d)
	}
	return byte('0' + d - 26)
}

// punyEncode returns the Punycode encoding of label (RFC 3492 section
// 6.3), without the "xn--" prefix.
func punyEncode(label []rune) (string, error) {
	if len(label) > maxPunyInput {
		return "", errLabelLen
	}
	var out []byte
	for _, r := range label {
		if r < 0x80 {
			out = append(out, byte(r))
		}
	}
	b := len(out)
	h := b
	if b > 0 {
		out = append(out, '-')
	}
	n, delta, bias := pcInitialN, 0, pcInitialBias
	const maxInt = int(^uint(0) >> 1)
	for h < len(label) {
		m := rune(utf8.MaxRune + 1)
		for _, r := range label {
			if int(r) >= n && r < m {
				m = r
			}
		}
		if (int(m) - n) > (maxInt-delta)/(h+1) {
			return "", errPunyOverflow
		}
		delta += (int(m) - n) * (h + 1)
		n = int(m)
		for _, r := range label {
			if int(r) < n {
				delta++
			}
			if int(r) != n {
				continue
			}
			q := delta
			for k := pcBase; ; k += pcBase {
				t := pcThreshold(k, bias)
				if q < t {
					break
				}
				out = append(out, pcDigit(t+(q-t)%(pcBase-t)))
				q = (q - t) / (pcBase - t)
			}
			out = append(out, pcDigit(q))
			bias = pcAdapt(delta, h+1, h == b)
			delta = 0
			h++
		}
		delta++
		n++
	}
	return string(out), nil
}

// punyDecode decodes a Punycode label (RFC 3492 section 6.2) given without
// the "xn--" prefix. Digits are accepted in either case.
func punyDecode(s string) ([]rune, error) {
	var out []rune
	rest := s
	if i := strings.LastIndexByte(s, '-'); i >= 0 {
		for j := 0; j < i; j++ {
			if s[j] >= 0x80 {
				return nil, errPunyDigit
			}
			out = append(out, rune(s[j]))
		}
		rest = s[i+1:]
	}
	n, i, bias := pcInitialN, 0, pcInitialBias
	const maxInt = int(^uint(0) >> 1)
	for pos := 0; pos < len(rest); {
		oldi, w := i, 1
		for k := pcBase; ; k += pcBase {
			if pos >= len(rest) {
				return nil, errPunyEnd
			}
			var d int
			switch c := rest[pos]; {
			case 'a' <= c && c <= 'z':
				d = int(c - 'a')
			case 'A' <= c && c <= 'Z':
				d = int(c - 'A')
			case '0' <= c && c <= '9':
				d = int(c-'0') + 26
			default:
				return nil, errPunyDigit
			}
			pos++
			if d > (maxInt-i)/w {
				return nil, errPunyOverflow
			}
			i += d * w
			t := pcThreshold(k, bias)
			if d < t {
				break
			}
			if w > maxInt/(pcBase-t) {
				return nil, errPunyOverflow
			}
			w *= pcBase - t
		}
		if len(out) >= maxPunyInput {
			return nil, errLabelLen
		}
		bias = pcAdapt(i-oldi, len(out)+1, oldi == 0)
		if i/(len(out)+1) > utf8.MaxRune-n {
			return nil, errPunyOverflow
		}
		n += i / (len(out) + 1)
		i %= len(out) + 1
		if n > utf8.MaxRune || (0xD800 <= n && n <= 0xDFFF) {
			return nil, errPunyOverflow
		}
		out = append(out, 0)
		copy(out[i+1:], out[i:])
		out[i] = rune(n)
		i++
	}
	return out, nil
}

// decomposed lists the letters (beyond the blocks mapRune rejects as a
// whole) that UTS #46 maps through a compatibility or canonical
// decomposition or a composition exclusion: ligatures, ordinal indicators,
// Indic nukta forms, Tibetan composites, polytonic Greek with oxia, Arabic
// mathematical letters, variation selectors. Found by comparing toALabels
// with golang.org/x/net/idna on every code point (done outside this
// repository); mapRune rejects them rather than give a different A-label.
var decomposed = [][2]rune{
	{0x00AA, 0x00AA}, {0x00BA, 0x00BA}, {0x0132, 0x0133}, {0x013F, 0x0140}, {0x0149, 0x0149},
	{0x01C4, 0x01CC}, {0x01F1, 0x01F3}, {0x03D0, 0x03D6}, {0x03F0, 0x03FF}, {0x0587, 0x0587},
	{0x0675, 0x0678}, {0x0958, 0x095F}, {0x09DC, 0x09DF}, {0x0A33, 0x0A33}, {0x0A36, 0x0A36},
	{0x0A59, 0x0A5E}, {0x0B5C, 0x0B5D}, {0x0E33, 0x0E33}, {0x0EB3, 0x0EB3}, {0x0EDC, 0x0EDD},
	{0x0F43, 0x0F43}, {0x0F4D, 0x0F4D}, {0x0F52, 0x0F52}, {0x0F57, 0x0F57}, {0x0F5C, 0x0F5C},
	{0x0F69, 0x0F69}, {0x0F73, 0x0F73}, {0x0F75, 0x0F79}, {0x0F81, 0x0F81}, {0x0F93, 0x0F93},
	{0x0F9D, 0x0F9D}, {0x0FA2, 0x0FA2}, {0x0FA7, 0x0FA7}, {0x0FAC, 0x0FAC}, {0x0FB9, 0x0FB9},
	{0x180B, 0x180F}, {0x1E9A, 0x1E9A}, {0x1F70, 0x1FFF}, {0x2C7C, 0x2C7D}, {0x2D6F, 0x2D6F},
	{0x309F, 0x309F}, {0x30FF, 0x30FF}, {0xA69C, 0xA69D}, {0xA770, 0xA770}, {0xA7F2, 0xA7F9},
	{0xAB5C, 0xAB5F}, {0xAB69, 0xAB69}, {0x10780, 0x107BF}, {0x1E030, 0x1E08F}, {0x1EE00, 0x1EEFF},
	{0x1FBF0, 0x1FBF9}, {0xE0000, 0xE0FFF},
}

// inRanges reports whether r is in one of the sorted, disjoint ranges rs.
func inRanges(r rune, rs [][2]rune) bool {
	lo, hi := 0, len(rs)
	for lo < hi {
		m := (lo + hi) / 2
		switch {
		case r < rs[m][0]:
			hi = m
		case r > rs[m][1]:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

// isIDNADot reports whether r separates labels: the full stop and the
// three dots UTS #46 maps to it.
func isIDNADot(r rune) bool {
	return r == '.' || r == '\u3002' || r == '\uFF0E' || r == '\uFF61'
}

// mapRune maps one rune of a Unicode name as UTS #46 does for lookup, or
// rejects it. It appends the result to label.
func mapRune(label []rune, r rune) ([]rune, error) {
	switch {
	case r < 0x80:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		return append(label, r), nil
	case 0xFF01 <= r && r <= 0xFF5E: // full-width ASCII
		return mapRune(label, r-0xFEE0)
	case r == 0x1E9E: // capital sharp s
		return append(label, 's', 's'), nil
	case 0x0300 <= r && r <= 0x036F, 0x1AB0 <= r && r <= 0x1AFF, 0x1DC0 <= r && r <= 0x1DFF, 0x20D0 <= r && r <= 0x20FF, r == 0x3099, r == 0x309A:
		return nil, errNotNFC
	case 0x1100 <= r && r <= 0x11FF, // conjoining jamo: NFC composes them
		0x2000 <= r && r <= 0x2BFF,                             // punctuation, letter-like symbols, number forms...
		0x3130 <= r && r <= 0x318F,                             // Hangul compatibility jamo
		0x3200 <= r && r <= 0x33FF,                             // enclosed and compatibility CJK
		0xF900 <= r && r <= 0xFAFF,                             // CJK compatibility ideographs
		0xFB00 <= r && r <= 0xFDFF,                             // presentation forms
		0xFE00 <= r && r <= 0xFE0F,                             // variation selectors
		0xFE30 <= r && r <= 0xFEFF,                             // compatibility and small forms, Arabic presentation forms B
		0xFF00 <= r && r <= 0xFFEF,                             // half-width forms
		0x13A0 <= r && r <= 0x13FF, 0xAB70 <= r && r <= 0xABBF, // Cherokee: UTS #46 folds to upper case
		0x1D400 <= r && r <= 0x1D7FF, // mathematical alphanumerics
		0x1F100 <= r && r <= 0x1F1FF, // enclosed alphanumerics
		0x2F800 <= r && r <= 0x2FA1F, // CJK compatibility supplement
		unicode.Is(unicode.Lt, r),
		inRanges(r, decomposed),
		r == 0x130,                              // capital I with dot: UTS #46 maps it to two runes
		unicode.In(r, unicode.Lm) && r < 0x2000: // modifier letters, many compatibility-mapped
		return nil, reason(fmt.Sprintf("character %q (U+%04X) is not supported in a Unicode domain name: give its xn-- form", r, r))
	}
	lower := unicode.ToLower(r)
	// A variant letter ("ſ", the micro sign, Cyrillic rounded ve) is
	// folded by UTS #46 to the lower case of its upper case, which
	// ToLower does not give. Final sigma is kept as it is: it is a
	// deviation character, kept by non-transitional processing.
	if lower != 'ς' && unicode.ToLower(unicode.ToUpper(lower)) != lower {
		return nil, reason(fmt.Sprintf("character %q (U+%04X) is not supported in a Unicode domain name: give its xn-- form", r, r))
	}
	if !unicode.IsLetter(lower) && !unicode.Is(unicode.Nd, lower) && !unicode.IsMark(lower) {
		return nil, reason(fmt.Sprintf("character %q (U+%04X) is not allowed in a domain name", r, r))
	}
	return append(label, lower), nil
}

// toALabels converts a domain name with non-ASCII characters to its ASCII
// form: each label with a non-ASCII character becomes "xn--" and its
// Punycode. The result is lower-case but not otherwise validated (that is
// canonicalDomain's job).
func toALabels(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", errUTF8
	}
	var b strings.Builder
	label := make([]rune, 0, 64)
	flush := func() error {
		ascii := true
		for _, r := range label {
			if r >= 0x80 {
				ascii = false
				break
			}
		}
		if ascii {
			for _, r := range label {
				b.WriteByte(byte(r))
			}
			return nil
		}
		if unicode.IsMark(label[0]) {
			return reason("domain label starts with a combining mark")
		}
		if len(label) >= 4 && string(label[:4]) == acePrefix {
			return reason("label starts with xn-- but is not ASCII")
		}
		enc, err := punyEncode(label)
		if err != nil {
			return err
		}
		b.WriteString(acePrefix)
		b.WriteString(enc)
		return nil
	}
	for _, r := range name {
		if isIDNADot(r) {
			if err := flush(); err != nil {
				return "", err
			}
			b.WriteByte('.')
			label = label[:0]
			continue
		}
		var err error
		if label, err = mapRune(label, r); err != nil {
			return "", err
		}
	}
	if err := flush(); err != nil {
		return "", err
	}
	return b.String(), nil
}

// checkALabel validates an ASCII label starting with "xn--" (lower-case):
// its Punycode must decode to a name with a non-ASCII character and encode
// back to the same label.
func checkALabel(label string) error {
	dec, err := punyDecode(label[len(acePrefix):])
	if err != nil {
		return err
	}
	ascii := true
	for _, r := range dec {
		if r >= 0x80 {
			ascii = false
		}
		if r < 0x80 && 'A' <= r && r <= 'Z' {
			return reason("invalid xn-- label: decodes to upper case")
		}
	}
	if ascii {
		return reason("invalid xn-- label: decodes to ASCII")
	}
	enc, err := punyEncode(dec)
	if err != nil {
		return err
	}
	if acePrefix+enc != label {
		return reason("invalid xn-- label: not in canonical Punycode")
	}
	return nil
}
