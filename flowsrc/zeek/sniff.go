package zeek

import "bytes"

// The formats Sniff reports.
const (
	// FormatTSV is Zeek's ASCII writer's tab-separated format with its
	// #-header.
	FormatTSV = "zeek-tsv"
	// FormatJSON is Zeek's JSON writer's format, one object per line.
	FormatJSON = "zeek-json"
)

// Sniff tells from the first bytes of a file (up to 64 KiB are looked at;
// gzip-compressed input is decompressed as far as the prefix allows)
// whether it is a Zeek conn.log: a TSV header whose #path is conn, or a
// first JSON object with "uid" and "id.orig_h" that is not marked as
// another log (by "_path", or, when the whole object is in the prefix, by
// lacking all of conn.log's own keys such as conn_state or orig_bytes).
// format is FormatTSV or FormatJSON.
func Sniff(prefix []byte) (format string, ok bool) {
	format, path := sniffPath(prefix)
	if path != pathConn {
		return "", false
	}
	return format, true
}

// sniffPath tells the format and log of a file from its first bytes:
// pathUnknown when it is not recognised as a Zeek log at all.
func sniffPath(prefix []byte) (format string, path logPath) {
	if len(prefix) > sniffLen {
		prefix = prefix[:sniffLen]
	}
	if len(prefix) >= 2 && prefix[0] == 0x1f && prefix[1] == 0x8b {
		prefix = gunzipPrefix(prefix)
	}
	for len(prefix) > 0 {
		line := prefix
		complete := false
		if i := bytes.IndexByte(prefix, '\n'); i >= 0 {
			line, prefix, complete = prefix[:i], prefix[i+1:], true
		} else {
			prefix = nil
		}
		line = bytes.TrimRight(line, "\r")
		trimmed := bytes.TrimLeft(line, " \t")
		switch {
		case len(trimmed) == 0:
			continue
		case line[0] == '#':
			if v, ok := bytes.CutPrefix(line, []byte("#path")); ok && len(v) > 0 && (v[0] == '\t' || v[0] == ' ') {
				// The separator of #path is the block's; any escape in
				// the value is decoded.
				if complete {
					return FormatTSV, pathOfOther(appendUnescape(nil, bytes.TrimLeft(v, " \t")))
				}
			}
			continue
		case trimmed[0] == '{':
			return FormatJSON, sniffJSON(trimmed)
		}
		return "", pathUnknown
	}
	return "", pathUnknown
}

// pathOfOther is pathOf, with pathOther for an empty path.
func pathOfOther(name []byte) logPath {
	if p := pathOf(name); p != pathUnknown {
		return p
	}
	return pathOther
}

// sniffJSON classifies the first JSON object of a file, which may be cut
// short by the end of the prefix.
func sniffJSON(line []byte) logPath {
	var s jsonScanner
	if s.begin(line) != nil {
		return pathUnknown
	}
	var have fieldSet
	var pathVal []byte
	ended := false
	for {
		key, v, done, err := s.next()
		if err != nil {
			break
		}
		if done {
			ended = true
			break
		}
		k := key.b
		if key.esc {
			k = appendJSONUnquote(nil, k)
		}
		id := lookupField(k)
		have |= 1 << id
		if id == fPath && v.kind == kString {
			pathVal = appendJSONUnquote(nil, v.b)
		}
	}
	if !have.has(fUID) || !have.has(fOrigH) {
		return pathUnknown
	}
	if pathVal != nil {
		return pathOfOther(pathVal)
	}
	if p := inferPath(have); p != pathUnknown {
		return p
	}
	if ended {
		return pathOther // a whole object with none of the four logs' keys
	}
	return pathConn // cut short before anything says otherwise
}
