package exfil

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends a as one JSON object, without a newline: byte for
// byte what encoding/json writes for a with HTML escaping off (as
// JSONLines has always written), without reflection. The nested objects
// most alerts lack (dest_names, http, and c2.matches when there are
// matches) still go through encoding/json. A time outside the years 0 to
// 9999 is an error, as in encoding/json.
func (a *Alert) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"alert_id":`...)
	b = appendJSONString(b, a.AlertID)
	b = append(b, `,"stage":`...)
	b = appendJSONString(b, a.Stage)
	b = append(b, `,"alert_type":`...)
	b = appendJSONString(b, a.AlertType)
	b = append(b, `,"severity":`...)
	if !a.Severity.IsValid() {
		_, err := a.Severity.MarshalText()
		return b, err
	}
	b = appendJSONString(b, a.Severity.String())
	b = append(b, `,"confidence":`...)
	b = appendJSONFloat(b, a.Confidence)
	b = append(b, `,"src_ip":"`...)
	b = a.SrcIP.AppendTo(b)
	b = append(b, `","dest_ip":"`...)
	b = a.DestIP.AppendTo(b)
	b = append(b, `","dest_port":`...)
	b = strconv.AppendUint(b, uint64(a.DestPort), 10)
	b = append(b, `,"proto":`...)
	b = appendJSONString(b, a.Proto)
	b = append(b, `,"app_proto":`...)
	b = appendJSONString(b, a.AppProto)
	b = append(b, `,"window_start":`...)
	var err error
	if b, err = appendJSONTime(b, a.WindowStart); err != nil {
		return b, err
	}
	b = append(b, `,"window_end":`...)
	if b, err = appendJSONTime(b, a.WindowEnd); err != nil {
		return b, err
	}
	for _, f := range [...]struct {
		k string
		v uint64
	}{{`,"flow_count":`, a.FlowCount}, {`,"unique_flows":`, a.UniqueFlows},
		{`,"total_upload_bytes":`, a.TotalUploadBytes}, {`,"total_download_bytes":`, a.TotalDownloadBytes}} {
		b = append(b, f.k...)
		b = strconv.AppendUint(b, f.v, 10)
	}
	b = append(b, `,"upload_mb":`...)
	b = appendJSONFloat(b, a.UploadMB)
	b = append(b, `,"download_mb":`...)
	b = appendJSONFloat(b, a.DownloadMB)
	b = append(b, `,"upload_ratio":`...)
	b = appendJSONFloat(b, a.UploadRatio)
	b = append(b, `,"iocs_checked":`...)
	b = strconv.AppendInt(b, int64(a.IOCsChecked), 10)
	b = append(b, `,"malicious_iocs":`...)
	b = strconv.AppendInt(b, int64(a.MaliciousIOCs), 10)
	b = append(b, `,"c2":{"matches":`...)
	switch {
	case a.C2.Matches == nil:
		b = append(b, "null"...)
	case len(a.C2.Matches) == 0:
		b = append(b, "[]"...)
	default:
		if b, err = appendViaJSON(b, a.C2.Matches); err != nil {
			return b, err
		}
	}
	b = append(b, '}')
	if a.DestNames != nil {
		b = append(b, `,"dest_names":`...)
		if b, err = appendViaJSON(b, a.DestNames); err != nil {
			return b, err
		}
	}
	if a.DestCountry != "" {
		b = append(b, `,"dest_country":`...)
		b = appendJSONString(b, a.DestCountry)
	}
	if a.DestASN != 0 {
		b = append(b, `,"dest_asn":`...)
		b = strconv.AppendUint(b, uint64(a.DestASN), 10)
	}
	if a.DestOrg != "" {
		b = append(b, `,"dest_org":`...)
		b = appendJSONString(b, a.DestOrg)
	}
	b = append(b, `,"community_id":`...)
	b = appendJSONString(b, a.CommunityID)
	b = append(b, `,"reasons":`...)
	if a.Reasons == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range a.Reasons {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, r)
		}
		b = append(b, ']')
	}
	b = append(b, `,"rule":`...)
	b = appendJSONString(b, a.Rule)
	b = append(b, `,"first_seen":`...)
	if b, err = appendJSONTime(b, a.FirstSeen); err != nil {
		return b, err
	}
	b = append(b, `,"last_seen":`...)
	if b, err = appendJSONTime(b, a.LastSeen); err != nil {
		return b, err
	}
	b = append(b, `,"upload_packets":`...)
	b = strconv.AppendUint(b, a.UploadPackets, 10)
	b = append(b, `,"download_packets":`...)
	b = strconv.AppendUint(b, a.DownloadPackets, 10)
	if a.BlastRadius != 0 {
		b = append(b, `,"blast_radius":`...)
		b = strconv.AppendInt(b, int64(a.BlastRadius), 10)
	}
	if a.PCR != nil {
		b = append(b, `,"pcr":`...)
		b = appendJSONFloat(b, *a.PCR)
	}
	if a.Principal != "" {
		b = append(b, `,"principal":`...)
		b = appendJSONString(b, a.Principal)
	}
	if a.HTTP != nil {
		b = append(b, `,"http":`...)
		if b, err = appendViaJSON(b, a.HTTP); err != nil {
			return b, err
		}
	}
	return append(b, '}'), nil
}

// appendViaJSON appends v as encoding/json writes it with HTML escaping
// off.
func appendViaJSON(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return b, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil
}

// appendJSONTime appends t as time.Time.MarshalJSON does.
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, &json.UnsupportedValueError{Str: t.String()}
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), nil
}

// appendJSONFloat appends f as encoding/json does (shortest repr, 'e'
// form outside [1e-6, 1e21), its exponent without a leading zero). Alerts
// hold no NaN or infinity.
func appendJSONFloat(b []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s quoted as encoding/json does with HTML
// escaping off: \" \\ \b \f \n \r \t, other control characters as
// \u00XX, invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
