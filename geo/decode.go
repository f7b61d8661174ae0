package geo

import (
	"strings"

	"github.com/oschwald/maxminddb-golang/v2/mmdbdata"
)

// layout is the record structure of a database, chosen from its metadata
// database_type.
type layout uint8

const (
	// layoutMaxMind: GeoIP2/GeoLite2 and DB-IP (which copies MaxMind's
	// schema): country.iso_code, autonomous_system_number,
	// autonomous_system_organization, organization/isp, and the same AS
	// keys under traits (Enterprise, DB-IP "compat=Enterprise").
	layoutMaxMind layout = iota
	// layoutIPinfo: IPinfo's flat records: country_code (Lite) or a
	// two-letter country (country_asn), asn as the string "AS123", as_name
	// (name in the ASN database).
	layoutIPinfo
	// layoutGeneric: an unknown vendor; both conventions are tried.
	layoutGeneric
)

func (l layout) String() string {
	switch l {
	case layoutMaxMind:
		return "maxmind"
	case layoutIPinfo:
		return "ipinfo"
	default:
		return "generic"
	}
}

// fields says which parts of Info a database can give. ASN and Org form
// one group: they always come from the same record.
type fields uint8

const (
	fieldCountry fields = 1 << iota
	fieldAS
	fieldsAll = fieldCountry | fieldAS
)

func (f fields) String() string {
	switch f {
	case fieldCountry:
		return "country"
	case fieldAS:
		return "asn,org"
	case fieldsAll:
		return "country,asn,org"
	}
	return "none"
}

// detect maps a metadata database_type to the record layout and the fields
// it holds. ok is false for MaxMind and DB-IP types that hold no country or
// AS data (Anonymous-IP, Connection-Type, Domain, ...).
func detect(dbType string) (l layout, f fields, ok bool) {
	t := strings.ToLower(dbType)
	has := func(s string) bool { return strings.Contains(t, s) }
	switch {
	case strings.HasPrefix(t, "ipinfo"):
		// Lite, country_asn and the bundles hold both; the single-purpose
		// files hold one, which costs only a decode that finds nothing.
		return layoutIPinfo, fieldsAll, true
	case strings.HasPrefix(t, "geoip"), strings.HasPrefix(t, "geolite"), strings.HasPrefix(t, "dbip"):
		switch {
		case has("enterprise"), has("location") && has("isp"):
			return layoutMaxMind, fieldsAll, true
		case has("city"), has("country"):
			return layoutMaxMind, fieldCountry, true
		case has("asn"), has("isp"):
			return layoutMaxMind, fieldAS, true
		}
		return layoutMaxMind, 0, false
	}
	return layoutGeneric, fieldsAll, true
}

// Bounds on what a record may make a lookup do: strings longer than these
// are ignored as malformed rather than copied, and a map's keys are read
// up to maxKeys (real records have about a dozen).
const (
	maxCountryLen = 8
	maxOrgLen     = 1024
	maxKeys       = 256
)

// record is the narrow, reflection-free decoder of one database record.
// It walks the record's map with the library's cursors, reads only the
// keys that give country, ASN and organisation, skips other values
// without decoding them (and without following their pointers), and stops
// as soon as it has everything it was asked for: in a City record the
// country comes third, and location, postal, registered_country,
// subdivisions and traits are never touched.
type record struct {
	layout layout
	want   fields

	country string
	asn     uint32
	org     string // the AS organisation
	// Fallbacks for a record without an AS organisation, in this order:
	// organization and isp (GeoIP2-ISP, traits), name (IPinfo ASN).
	orgName, ispName, asName string
}

// organisation is the AS organisation, or the fallback when the record
// has none.
func (r *record) organisation() string {
	switch {
	case r.org != "":
		return r.org
	case r.orgName != "":
		return r.orgName
	case r.ispName != "":
		return r.ispName
	}
	return r.asName
}

// done reports whether the record gave everything wanted, so that the
// rest of it need not be read.
func (r *record) done() bool {
	return (r.want&fieldCountry == 0 || r.country != "") &&
		(r.want&fieldAS == 0 || r.asn != 0 && r.org != "")
}

// decode reads the record at c. A record that is not a map gives nothing;
// a value of an unexpected kind or size is skipped; only a structurally
// broken record is an error.
func (r *record) decode(c mmdbdata.Cursor) error {
	kind, err := c.Kind()
	if err != nil || kind != mmdbdata.KindMap {
		return err
	}
	m, err := c.Map()
	if err != nil {
		return err
	}
	var next mmdbdata.Cursor
	for range maxKeys {
		key, val, ok := m.Next(next)
		if !ok {
			return m.Err()
		}
		if next, err = r.top(key, val); err != nil || r.done() {
			return err
		}
	}
	return nil
}

// top decodes one top-level key's value and returns its successor (the
// zero Cursor when the record is done).
func (r *record) top(key []byte, val mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	wantC, wantAS := r.want&fieldCountry != 0, r.want&fieldAS != 0
	ipinfo, maxmind := r.layout != layoutMaxMind, r.layout != layoutIPinfo
	switch string(key) {
	case "country":
		if !wantC {
			break
		}
		kind, err := val.Kind()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if kind == mmdbdata.KindMap && maxmind {
			return r.isoCode(val)
		}
		if kind == mmdbdata.KindString && ipinfo && r.country == "" {
			// country_asn: the ISO code; Lite: the country's name, which
			// isCountryCode rejects (Lite gives country_code).
			s, next, err := readString(val, maxCountryLen)
			if isCountryCode(s) {
				r.country = s
			}
			return next, err
		}
	case "country_code":
		if wantC && ipinfo {
			s, next, err := readString(val, maxCountryLen)
			if s != "" {
				r.country = s
			}
			return next, err
		}
	case "autonomous_system_number":
		if wantAS && maxmind {
			return r.asNumber(val)
		}
	case "autonomous_system_organization":
		if wantAS && maxmind {
			s, next, err := readString(val, maxOrgLen)
			if s != "" {
				r.org = s
			}
			return next, err
		}
	case "organization":
		if wantAS && maxmind {
			s, next, err := readString(val, maxOrgLen)
			if s != "" {
				r.orgName = s
			}
			return next, err
		}
	case "isp":
		if wantAS && maxmind {
			s, next, err := readString(val, maxOrgLen)
			if s != "" {
				r.ispName = s
			}
			return next, err
		}
	case "traits":
		if wantAS && maxmind {
			return r.traits(val)
		}
	case "asn":
		if wantAS && ipinfo {
			return r.asNumber(val)
		}
	case "as_name":
		if wantAS && ipinfo {
			s, next, err := readString(val, maxOrgLen)
			if s != "" {
				r.org = s
			}
			return next, err
		}
	case "name":
		if wantAS && r.layout == layoutIPinfo {
			s, next, err := readString(val, maxOrgLen)
			r.asName = s
			return next, err
		}
	}
	return val.Skip()
}

// isoCode reads country.iso_code from the map at c.
func (r *record) isoCode(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	m, err := c.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for range maxKeys {
		key, val, ok := m.Next(next)
		if !ok {
			break
		}
		if string(key) == "iso_code" {
			var s string
			s, next, err = readString(val, maxCountryLen)
			r.country = s
			if err == nil && r.done() {
				return mmdbdata.Cursor{}, nil
			}
		} else {
			next, err = val.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
	}
	return m.End()
}

// traits reads the AS keys of the traits map (GeoIP2 Enterprise, DB-IP
// compat=Enterprise); top-level keys take precedence.
func (r *record) traits(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	if kind != mmdbdata.KindMap {
		return c.Skip()
	}
	m, err := c.Map()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	var next mmdbdata.Cursor
	for range maxKeys {
		key, val, ok := m.Next(next)
		if !ok {
			break
		}
		var s string
		switch string(key) {
		case "autonomous_system_number":
			if r.asn == 0 {
				next, err = r.asNumber(val)
			} else {
				next, err = val.Skip()
			}
		case "autonomous_system_organization":
			s, next, err = readString(val, maxOrgLen)
			if r.org == "" {
				r.org = s
			}
		case "organization":
			s, next, err = readString(val, maxOrgLen)
			if r.orgName == "" {
				r.orgName = s
			}
		case "isp":
			s, next, err = readString(val, maxOrgLen)
			if r.ispName == "" {
				r.ispName = s
			}
		default:
			next, err = val.Skip()
		}
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if r.done() {
			return mmdbdata.Cursor{}, nil
		}
	}
	return m.End()
}

// asNumber reads an AS number given as an unsigned integer (MaxMind,
// DB-IP) or as the string "AS123" (IPinfo). Anything else, and numbers
// outside 1..2^32-1, leave the ASN unknown.
func (r *record) asNumber(c mmdbdata.Cursor) (mmdbdata.Cursor, error) {
	kind, err := c.Kind()
	if err != nil {
		return mmdbdata.Cursor{}, err
	}
	switch kind {
	case mmdbdata.KindUint16, mmdbdata.KindUint32, mmdbdata.KindUint64:
		v, next, err := c.ReadUint()
		if err != nil {
			return mmdbdata.Cursor{}, err
		}
		if v <= 1<<32-1 {
			r.asn = uint32(v)
		}
		return next, nil
	case mmdbdata.KindString:
		s, next, err := readString(c, 16)
		if n, ok := parseASN(s); ok {
			r.asn = n
		}
		return next, err
	}
	return c.Skip()
}

// readString reads a string of at most max bytes at c and returns it with
// its successor. A value of another kind or a longer string is skipped and
// gives ""; only a structurally broken value is an error.
func readString(c mmdbdata.Cursor, max uint64) (string, mmdbdata.Cursor, error) {
	s, next, err := c.ReadStringMaxSize(max)
	if err == nil {
		return s, next, nil
	}
	next, err = c.Skip()
	return "", next, err
}

// isCountryCode reports whether s is two ASCII letters.
func isCountryCode(s string) bool {
	return len(s) == 2 && isLetter(s[0]) && isLetter(s[1])
}

func isLetter(b byte) bool { return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' }

// parseASN parses "AS123" (any case of "AS") or "123".
func parseASN(s string) (uint32, bool) {
	if len(s) >= 2 && (s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') {
		s = s[2:]
	}
	if s == "" || len(s) > 10 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + uint64(c-'0')
	}
	if n == 0 || n > 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}
