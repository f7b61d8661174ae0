package suricata

// Sniff reports whether prefix, the first bytes of a file, looks like EVE
// JSON: after optional white space (and a UTF-8 byte order mark) comes a
// JSON object whose members, read in order up to "event_type", are valid
// JSON and whose event_type is a string. The prefix may end anywhere after
// that member; a few hundred bytes are enough for Suricata's lines, which
// put event_type among the first members. Zeek's JSON logs, which have no
// event_type, are not EVE.
func Sniff(prefix []byte) bool {
	b := prefix
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		b = b[3:]
	}
	var sc scanner
	sc.reset(b)
	if sc.peek() != '{' || !sc.open('{') {
		return false
	}
	for first := true; ; first = false {
		key, end, ok := sc.member(first)
		if !ok || end {
			return false
		}
		if sc.is(key, "event_type") {
			if sc.peek() != '"' {
				return false
			}
			_, ok := sc.str()
			return ok
		}
		if !sc.skip() {
			return false
		}
	}
}
