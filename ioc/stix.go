package ioc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"
)

// ParseSTIX reads a STIX 2.1 (or 2.0) bundle and returns the Set of the
// indicators its indicator objects' patterns name, with the malware family
// and threat actor of the objects they are related to. See the package
// documentation for what is read; options that apply: WithoutURLHosts,
// WithSkipMalformed.
//
// The input is read into memory. A JSON syntax error fails the whole
// bundle; an indicator object with a malformed pattern or value gives a
// *ParseError naming the object (its index in "objects", its id, and the
// line where it starts), counting the other bad ones in More. Indicators
// this package cannot use (AND-ed or unsupported patterns, revoked,
// benign, non-STIX pattern types) are skipped and counted.
func ParseSTIX(r io.Reader, feed string, opts ...Option) (*Set, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return parseSTIX(r, feed, &c)
}

// stixObject holds the properties of STIX objects that matter here.
type stixObject struct {
	Type           string   `json:"type"`
	ID             string   `json:"id"`
	Name           string   `json:"name"`
	Modified       string   `json:"modified"`
	Pattern        string   `json:"pattern"`
	PatternType    string   `json:"pattern_type"`
	ValidFrom      string   `json:"valid_from"`
	ValidUntil     string   `json:"valid_until"`
	Labels         []string `json:"labels"`
	IndicatorTypes []string `json:"indicator_types"`
	Confidence     *int     `json:"confidence"`
	Revoked        bool     `json:"revoked"`

	RelationshipType string `json:"relationship_type"`
	SourceRef        string `json:"source_ref"`
	TargetRef        string `json:"target_ref"`
}

// stixItem is an object with where it is.
type stixItem struct {
	obj   stixObject
	index int
	line  int
	err   error // a JSON type error in the object (a string for a number...)
}

func (it *stixItem) object() string {
	if it.obj.ID != "" {
		return fmt.Sprintf("objects[%d] (%s)", it.index, it.obj.ID)
	}
	return fmt.Sprintf("objects[%d]", it.index)
}

// lineCounter turns increasing byte offsets into line numbers.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (lc *lineCounter) at(off int) int {
	if off < lc.off {
		lc.off, lc.line = 0, 1
	}
	off = min(off, len(lc.data))
	lc.line += bytes.Count(lc.data[lc.off:off], []byte{'\n'})
	lc.off = off
	return lc.line
}

// jsonError turns a JSON decoding error into a *ParseError with its line.
func jsonError(feed string, lc *lineCounter, base int64, object string, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &ParseError{Feed: feed, Line: lc.at(int(base + se.Offset)), Object: object, Err: fmt.Errorf("JSON: %w", err)}
	case errors.As(err, &te):
		return &ParseError{Feed: feed, Line: lc.at(int(base + te.Offset)), Object: object, Err: fmt.Errorf("JSON: %w", err)}
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &ParseError{Feed: feed, Line: lc.at(len(lc.data)), Object: object, Err: errors.New("JSON: unexpected end of input")}
	}
	return &ParseError{Feed: feed, Object: object, Err: fmt.Errorf("JSON: %w", err)}
}

// skipSpace returns the offset of the first byte at or after off that is
// not JSON white space or a comma.
func skipSpace(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// readSTIXObjects decodes the objects of a bundle (or of a TAXII envelope,
// or a bare array of objects), recording where each starts.
func readSTIXObjects(data []byte, feed string) ([]stixItem, error) {
	lc := &lineCounter{data: data, line: 1}
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonError(feed, lc, 0, "", err)
	}
	var items []stixItem
	readArray := func() error {
		for i := 0; dec.More(); i++ {
			start := skipSpace(data, int(dec.InputOffset()))
			it := stixItem{index: i, line: lc.at(start)}
			var te *json.UnmarshalTypeError
			if err := dec.Decode(&it.obj); errors.As(err, &te) {
				it.err = err
			} else if err != nil {
				return jsonError(feed, lc, 0, fmt.Sprintf("objects[%d]", i), err)
			}
			items = append(items, it)
		}
		if _, err := dec.Token(); err != nil { // ']'
			return jsonError(feed, lc, 0, "", err)
		}
		return nil
	}
	switch tok {
	case json.Delim('['):
		if err := readArray(); err != nil {
			return nil, err
		}
	case json.Delim('{'):
		seen := false
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, jsonError(feed, lc, 0, "", err)
			}
			switch key {
			case "objects":
				tok, err := dec.Token()
				if err != nil {
					return nil, jsonError(feed, lc, 0, "", err)
				}
				if tok != json.Delim('[') {
					return nil, &ParseError{Feed: feed, Line: lc.at(int(dec.InputOffset())), Err: errors.New(`STIX: "objects" is not an array`)}
				}
				if err := readArray(); err != nil {
					return nil, err
				}
				seen = true
			case "type":
				var typ string
				if err := dec.Decode(&typ); err != nil {
					return nil, jsonError(feed, lc, 0, "", err)
				}
				if typ != "bundle" {
					return nil, &ParseError{Feed: feed, Line: lc.at(int(dec.InputOffset())), Err: fmt.Errorf("STIX: top-level type %q, want a bundle", typ)}
				}
			default:
				var skip json.RawMessage
				if err := dec.Decode(&skip); err != nil {
					return nil, jsonError(feed, lc, 0, "", err)
				}
			}
		}
		if _, err := dec.Token(); err != nil { // '}'
			return nil, jsonError(feed, lc, 0, "", err)
		}
		if !seen {
			return nil, &ParseError{Feed: feed, Line: 1, Err: errors.New(`STIX: no "objects" array (not a bundle)`)}
		}
	default:
		return nil, &ParseError{Feed: feed, Line: 1, Err: errors.New("STIX: not a JSON object or array")}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &ParseError{Feed: feed, Line: lc.at(int(dec.InputOffset())), Err: errors.New("JSON: data after the bundle")}
	}
	return items, nil
}

// stixTime parses a STIX timestamp (RFC 3339, UTC).
func stixTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, reason(fmt.Sprintf("bad timestamp %q", s))
	}
	return t.UTC(), nil
}

// maxRelDepth bounds the chains of relationships followed from an
// indicator (indicates, then attributed-to).
const maxRelDepth = 4

func parseSTIX(r io.Reader, feed string, c *config) (*Set, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &ParseError{Feed: feed, Err: err}
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	items, err := readSTIXObjects(data, feed)
	if err != nil {
		return nil, err
	}
	p := newParser(feed, FormatSTIX, c)

	// Index the objects and relationships; keep the latest version of
	// each indicator.
	names := map[string]*stixItem{}  // id → malware, threat-actor, intrusion-set, campaign
	rels := map[string][]*stixItem{} // source id → relationships
	latest := map[string]int{}       // indicator id → index in inds
	var inds []*stixItem
	for i := range items {
		it := &items[i]
		if it.err != nil {
			switch it.obj.Type {
			case "", "indicator", "malware", "threat-actor", "intrusion-set", "campaign", "relationship":
				p.fail(it.line, it.object(), "", fmt.Errorf("JSON: %w", it.err))
			}
			continue
		}
		switch it.obj.Type {
		case "indicator":
			if j, ok := latest[it.obj.ID]; ok && it.obj.ID != "" {
				old := inds[j]
				if newer(it.obj.Modified, old.obj.Modified) {
					inds[j] = it
					p.b.skip("superseded version of an indicator", where(old.line, old.object()))
				} else {
					p.b.skip("superseded version of an indicator", where(it.line, it.object()))
				}
				continue
			}
			latest[it.obj.ID] = len(inds)
			inds = append(inds, it)
		case "malware", "threat-actor", "intrusion-set", "campaign":
			names[it.obj.ID] = it
		case "relationship":
			rels[it.obj.SourceRef] = append(rels[it.obj.SourceRef], it)
		}
	}

	for _, it := range inds {
		p.stixIndicator(it, names, rels)
	}
	return p.result()
}

// newer reports whether STIX timestamp a is later than b (an unparsable
// one is older than anything).
func newer(a, b string) bool {
	ta, errA := stixTime(a)
	tb, errB := stixTime(b)
	switch {
	case errA != nil:
		return false
	case errB != nil:
		return true
	}
	return ta.After(tb)
}

// related returns the malware family and threat actor names related to an
// indicator: the malware, threat actors, intrusion sets and campaigns it
// indicates, and what those are attributed to.
func related(id string, names map[string]*stixItem, rels map[string][]*stixItem) (malware, actors []string) {
	seen := map[string]bool{id: true}
	var walk func(id string, relType string, depth int)
	walk = func(id, relType string, depth int) {
		if depth > maxRelDepth {
			return
		}
		for _, rel := range rels[id] {
			if rel.obj.RelationshipType != relType || seen[rel.obj.TargetRef] {
				continue
			}
			target, ok := names[rel.obj.TargetRef]
			if !ok {
				continue
			}
			seen[rel.obj.TargetRef] = true
			switch target.obj.Type {
			case "malware":
				malware = append(malware, target.obj.Name)
			case "threat-actor", "intrusion-set":
				actors = append(actors, target.obj.Name)
			}
			walk(target.obj.ID, "attributed-to", depth+1)
		}
	}
	walk(id, "indicates", 1)
	return malware, actors
}

// stixIndicator adds the indicators of one indicator object.
func (p *parser) stixIndicator(it *stixItem, names map[string]*stixItem, rels map[string][]*stixItem) {
	o := &it.obj
	at := where(it.line, it.object())
	switch {
	case o.Revoked:
		p.b.skip("revoked indicator", at)
		return
	case o.PatternType != "" && o.PatternType != "stix":
		p.b.skip(fmt.Sprintf("pattern_type %q", o.PatternType), at)
		return
	case slices.Contains(o.IndicatorTypes, "benign") || slices.Contains(o.Labels, "benign"):
		p.b.skip("benign indicator", at)
		return
	}
	proto := Indicator{Line: it.line}
	var err error
	if proto.ValidFrom, err = stixTime(o.ValidFrom); err != nil {
		p.fail(it.line, it.object(), o.ValidFrom, err)
		return
	}
	if proto.ValidUntil, err = stixTime(o.ValidUntil); err != nil {
		p.fail(it.line, it.object(), o.ValidUntil, err)
		return
	}
	if o.Confidence != nil {
		if *o.Confidence < 0 || *o.Confidence > 100 {
			p.fail(it.line, it.object(), fmt.Sprint(*o.Confidence), reason("confidence outside 0 to 100"))
			return
		}
		proto.Confidence = *o.Confidence
	}
	if err := checkMeta(&proto); err != nil {
		p.fail(it.line, it.object(), o.ValidUntil, err)
		return
	}
	res, ignored, err := parsePattern(o.Pattern)
	if err != nil {
		p.fail(it.line, it.object(), o.Pattern, fmt.Errorf("bad pattern: %w", err))
		return
	}
	if len(res.atoms) == 0 {
		p.b.skip(res.why, at)
		return
	}
	for range ignored {
		p.b.skip("unsupported comparison OR-ed with supported ones (ignored)", at)
	}
	malware, actors := related(o.ID, names, rels)
	proto.MalwareFamily, proto.ThreatActor = joinNames(malware), joinNames(actors)

	var vals []Indicator
	for _, a := range res.atoms {
		if a.objType == "url" && p.c.noURLHosts {
			p.b.skip("URL (URL hosts off)", at)
			continue
		}
		ind, err := stixValue(a)
		if err != nil {
			p.fail(it.line, it.object(), a.value, err)
			return
		}
		vals = append(vals, ind)
	}
	for _, ind := range vals {
		ind.Line = proto.Line
		ind.MalwareFamily, ind.ThreatActor, ind.Confidence = proto.MalwareFamily, proto.ThreatActor, proto.Confidence
		ind.ValidFrom, ind.ValidUntil = proto.ValidFrom, proto.ValidUntil
		p.add(ind, it.object())
	}
}

// stixValue returns the indicator of a sufficient comparison, checking the
// value against the object type.
func stixValue(a patAtom) (Indicator, error) {
	v := strings.TrimSpace(a.value)
	switch a.objType {
	case "ipv4-addr", "ipv6-addr", "network-traffic":
		if a.objType == "network-traffic" && !strings.ContainsAny(v, "/:") && strings.Trim(v, "0123456789.") != "" {
			if a.op == "ISSUBSET" {
				return Indicator{}, reason("ISSUBSET of a domain name")
			}
			d, err := canonicalDomain(v)
			return Indicator{Value: d, Kind: KindDomain}, err
		}
		var ind Indicator
		var fam netip.Addr
		if strings.IndexByte(v, '/') >= 0 {
			pv, err := canonicalPrefix(v)
			if err != nil {
				return ind, err
			}
			ind = Indicator{Value: pv, Kind: KindCIDR}
			fam = netip.MustParsePrefix(pv).Addr()
		} else {
			if a.op == "ISSUBSET" {
				return ind, reason("ISSUBSET of an address, want a CIDR")
			}
			av, err := canonicalAddr(v)
			if err != nil {
				return ind, err
			}
			ind = Indicator{Value: av, Kind: KindIP}
			fam = netip.MustParseAddr(av)
		}
		switch {
		case a.objType == "ipv4-addr" && !fam.Is4():
			return Indicator{}, reason("not an IPv4 address")
		case a.objType == "ipv6-addr" && fam.Is4() && !strings.Contains(v, ":"):
			return Indicator{}, reason("not an IPv6 address")
		}
		return ind, nil
	case "domain-name":
		d, err := canonicalDomain(v)
		return Indicator{Value: d, Kind: KindDomain}, err
	case "url":
		return urlHost(v)
	}
	return Indicator{}, reason("unsupported object type " + a.objType)
}
