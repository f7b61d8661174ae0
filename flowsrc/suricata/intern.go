package suricata

// interner returns one shared string per distinct value for fields that
// repeat across flows (app_proto, HTTP method and content type, user
// agents, JA3/JA4, server names), so records and pending entries do not
// each hold their own copy. It holds at most limit values and starts over
// when full, so it never grows with hostile input.
type interner struct {
	m     map[string]string
	limit int
}

func newInterner(limit int) interner {
	return interner{m: make(map[string]string), limit: limit}
}

// maxInterned is the longest value kept in an interner.
const maxInterned = 256

// get returns b as a string, shared with earlier calls for the same bytes.
func (in *interner) get(b []byte) string {
	if len(b) > maxInterned {
		return string(b)
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.m) >= in.limit {
		clear(in.m)
	}
	in.m[s] = s
	return s
}
