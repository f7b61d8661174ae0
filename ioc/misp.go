package ioc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// ParseMISP reads MISP events in JSON, as a MISP feed publishes them (one
// {"Event": {...}} per file), as the REST API returns them
// ({"response": [{"Event": …}, …]}) or as an array of {"Event": …}, and
// returns the Set of the indicators of their network attributes. See the
// package documentation for what is read; options that apply:
// WithMISPNonIDS, WithoutURLHosts, WithExpireAfter, WithSkipMalformed.
//
// The input is read into memory. A JSON syntax or type error fails the
// whole file with the line it is on; an attribute with a malformed value
// gives a *ParseError naming it (its path, uuid and line), counting the
// other bad ones in More. Attributes of other types, deleted ones and,
// by default, those whose to_ids flag is off are skipped and counted.
func ParseMISP(r io.Reader, feed string, opts ...Option) (*Set, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	return parseMISP(r, feed, &c)
}

// mispTypes are the MISP attribute types read, and how.
var mispTypes = map[string]valueSpec{
	"ip-dst": specAddr, "ip-src": specAddr,
	"ip-dst|port": specPipePort, "ip-src|port": specPipePort,
	"domain": specDomain, "hostname": specDomain,
	"domain|ip": specDomainIP, "hostname|port": specPipePort,
	"url": specURL,
}

// mispFlag is a MISP boolean: true/false, "1"/"0", 1/0, "true"/"false" or
// null. Anything else sets bad, for the attribute to be reported.
type mispFlag struct {
	v, bad bool
}

// UnmarshalJSON reads any of the forms; it never fails.
func (f *mispFlag) UnmarshalJSON(b []byte) error {
	switch s := strings.Trim(string(b), `"`); s {
	case "true", "1", "True":
		*f = mispFlag{v: true}
	case "false", "0", "", "null", "False":
		*f = mispFlag{}
	default:
		*f = mispFlag{bad: true}
	}
	return nil
}

// mispText is a MISP string that may also be a number or null. Anything
// else sets bad.
type mispText struct {
	s   string
	bad bool
}

// UnmarshalJSON reads a string, a number or null.
func (t *mispText) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = mispText{s: s}
	case string(b) == "null":
		*t = mispText{}
	case len(b) > 0 && (b[0] == '-' || '0' <= b[0] && b[0] <= '9'):
		*t = mispText{s: string(b)}
	default:
		*t = mispText{bad: true}
	}
	return nil
}

type mispTag struct {
	Name string `json:"name"`
}

type mispGalaxy struct {
	Type          string `json:"type"`
	GalaxyCluster []struct {
		Value string `json:"value"`
	} `json:"GalaxyCluster"`
}

type mispAttribute struct {
	UUID      string       `json:"uuid"`
	Type      string       `json:"type"`
	Value     mispText     `json:"value"`
	ToIDS     mispFlag     `json:"to_ids"`
	Deleted   mispFlag     `json:"deleted"`
	Timestamp mispText     `json:"timestamp"`
	FirstSeen mispText     `json:"first_seen"`
	LastSeen  mispText     `json:"last_seen"`
	Tag       []mispTag    `json:"Tag"`
	Galaxy    []mispGalaxy `json:"Galaxy"`
}

type mispEvent struct {
	UUID      string          `json:"uuid"`
	Tag       []mispTag       `json:"Tag"`
	Galaxy    []mispGalaxy    `json:"Galaxy"`
	Attribute []mispAttribute `json:"Attribute"`
	Object    []struct {
		Attribute []mispAttribute `json:"Attribute"`
	} `json:"Object"`
}

type mispWrapper struct {
	Event *mispEvent `json:"Event"`
}

type mispDoc struct {
	Event    *mispEvent    `json:"Event"`
	Response []mispWrapper `json:"response"`
}

// Galaxy (cluster) types that name threat actors and malware families.
var (
	mispActorGalaxies = map[string]bool{
		"threat-actor": true, "mitre-intrusion-set": true, "mitre-enterprise-attack-intrusion-set": true,
		"microsoft-activity-group": true, "intrusion-set": true,
	}
	mispMalwareGalaxies = map[string]bool{
		"malpedia": true, "mitre-malware": true, "mitre-enterprise-attack-malware": true, "ransomware": true,
		"botnet": true, "rat": true, "banker": true, "stealer": true, "backdoor": true, "android": true,
		"tool": true, "mitre-tool": true, "mitre-enterprise-attack-tool": true,
	}
	// mispConfidence maps the misp:confidence-level taxonomy.
	mispConfidence = map[string]int{
		"completely-confident": 100, "usually-confident": 75, "fairly-confident": 50, "rarely-confident": 25,
	}
)

// mispEvidence is what tags and galaxies say.
type mispEvidence struct {
	malware, actors []string
	confidence      int
}

// read adds the evidence of tags and galaxies.
func (ev *mispEvidence) read(tags []mispTag, galaxies []mispGalaxy) {
	for _, t := range tags {
		name, ok := strings.CutPrefix(t.Name, "misp-galaxy:")
		if ok {
			typ, val, ok := strings.Cut(name, "=")
			if !ok {
				continue
			}
			val = strings.Trim(val, `"`)
			switch {
			case mispActorGalaxies[typ]:
				ev.actors = append(ev.actors, val)
			case mispMalwareGalaxies[typ]:
				ev.malware = append(ev.malware, val)
			}
			continue
		}
		if level, ok := strings.CutPrefix(t.Name, "misp:confidence-level="); ok {
			if c, ok := mispConfidence[strings.Trim(level, `"`)]; ok {
				ev.confidence = c
			}
		}
	}
	for _, g := range galaxies {
		for _, cl := range g.GalaxyCluster {
			switch {
			case mispActorGalaxies[g.Type]:
				ev.actors = append(ev.actors, cl.Value)
			case mispMalwareGalaxies[g.Type]:
				ev.malware = append(ev.malware, cl.Value)
			}
		}
	}
}

func parseMISP(r io.Reader, feed string, c *config) (*Set, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &ParseError{Feed: feed, Err: err}
	}
	data = bytes.TrimPrefix(data, []byte(utf8BOM))
	lc := &lineCounter{data: data, line: 1}
	type namedEvent struct {
		ev   *mispEvent
		path string
	}
	var events []namedEvent
	switch trimmed := bytes.TrimLeft(data, " \t\r\n"); {
	case len(trimmed) > 0 && trimmed[0] == '[':
		var list []mispWrapper
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, jsonError(feed, lc, 0, "", err)
		}
		for i, w := range list {
			events = append(events, namedEvent{w.Event, fmt.Sprintf("[%d].Event", i)})
		}
	default:
		var doc mispDoc
		if err := json.Unmarshal(data, &doc); err != nil {
			return nil, jsonError(feed, lc, 0, "", err)
		}
		if doc.Event != nil {
			events = append(events, namedEvent{doc.Event, "Event"})
		}
		for i, w := range doc.Response {
			events = append(events, namedEvent{w.Event, fmt.Sprintf("response[%d].Event", i)})
		}
	}
	if len(events) == 0 {
		return nil, &ParseError{Feed: feed, Line: 1, Err: errors.New(`MISP: no "Event" (not a MISP event; a feed's manifest.json lists events, it does not hold them)`)}
	}
	p := newParser(feed, FormatMISP, c)
	lines := uuidLines(data)
	for _, ne := range events {
		if ne.ev == nil {
			p.fail(0, ne.path, "", errors.New("MISP: missing or null Event"))
			continue
		}
		var ev mispEvidence
		ev.read(ne.ev.Tag, ne.ev.Galaxy)
		for i := range ne.ev.Attribute {
			p.mispAttribute(&ne.ev.Attribute[i], &ev, fmt.Sprintf("%s.Attribute[%d]", ne.path, i), lines)
		}
		for j := range ne.ev.Object {
			for i := range ne.ev.Object[j].Attribute {
				p.mispAttribute(&ne.ev.Object[j].Attribute[i], &ev, fmt.Sprintf("%s.Object[%d].Attribute[%d]", ne.path, j, i), lines)
			}
		}
	}
	return p.result()
}

// uuidLines returns the line of each "uuid": "…" member in data (the
// first, for a uuid given twice), in one pass.
func uuidLines(data []byte) map[string]int {
	lines := map[string]int{}
	key := []byte(`"uuid"`)
	line, off := 1, 0
	for {
		i := bytes.Index(data[off:], key)
		if i < 0 {
			return lines
		}
		line += bytes.Count(data[off:off+i], []byte{'\n'})
		off += i + len(key)
		j := off
		for j < len(data) && (data[j] == ' ' || data[j] == '\t' || data[j] == '\r' || data[j] == '\n' || data[j] == ':') {
			j++
		}
		if j >= len(data) || data[j] != '"' {
			continue
		}
		end := bytes.IndexByte(data[j+1:], '"')
		if end < 0 {
			return lines
		}
		if u := string(data[j+1 : j+1+end]); lines[u] == 0 {
			lines[u] = line + bytes.Count(data[off:j], []byte{'\n'})
		}
	}
}

// mispAttribute adds the indicators of one attribute.
func (p *parser) mispAttribute(a *mispAttribute, ev *mispEvidence, path string, lines map[string]int) {
	object := path
	if a.UUID != "" {
		object = fmt.Sprintf("%s (%s)", path, a.UUID)
	}
	line := lines[a.UUID]
	spec, ok := mispTypes[a.Type]
	switch {
	case !ok:
		p.b.skip(fmt.Sprintf("unsupported attribute type %q", a.Type), where(line, object))
		return
	case a.Deleted.bad || a.ToIDS.bad:
		p.fail(line, object, "", reason("bad to_ids or deleted flag"))
		return
	case a.Value.bad:
		p.fail(line, object, "", reason("value is not a string"))
		return
	case a.Deleted.v:
		p.b.skip("deleted attribute", where(line, object))
		return
	case !a.ToIDS.v && !p.c.mispNonIDS:
		p.b.skip("to_ids is false", where(line, object))
		return
	case spec == specURL && p.c.noURLHosts:
		p.b.skip("URL (URL hosts off)", where(line, object))
		return
	}
	value := strings.TrimSpace(a.Value.s)
	inds, err := typedValue(spec, value)
	if err != nil {
		p.fail(line, object, value, err)
		return
	}
	own := mispEvidence{}
	own.read(a.Tag, a.Galaxy)
	malware, actors, conf := own.malware, own.actors, own.confidence
	if len(malware) == 0 {
		malware = ev.malware
	}
	if len(actors) == 0 {
		actors = ev.actors
	}
	if conf == 0 {
		conf = ev.confidence
	}
	var first, last time.Time
	if p.c.expireAfter > 0 {
		var err error
		if first, err = parseTime(a.FirstSeen.s); err == nil {
			last, err = parseTime(a.LastSeen.s)
		}
		if err == nil && last.IsZero() {
			last, err = parseTime(a.Timestamp.s)
		}
		if err == nil && (a.FirstSeen.bad || a.LastSeen.bad || a.Timestamp.bad) {
			err = reason("bad first_seen, last_seen or timestamp")
		}
		if err != nil {
			p.fail(line, object, "", err)
			return
		}
	}
	for _, ind := range inds {
		ind.Line = line
		ind.MalwareFamily, ind.ThreatActor, ind.Confidence = joinNames(malware), joinNames(actors), conf
		p.c.expire(&ind, first, last)
		p.add(ind, object)
	}
}
