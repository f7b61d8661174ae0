package zeek

// fieldID names a Zeek log field this package reads, or a marker key that
// only helps tell which log a JSON line without "_path" belongs to.
type fieldID uint8

const (
	fNone fieldID = iota
	fTS
	fUID
	fOrigH
	fOrigP
	fRespH
	fRespP
	fProto
	fService
	fDuration
	fOrigBytes
	fRespBytes
	fOrigPkts
	fRespPkts
	fOrigIPBytes
	fRespIPBytes
	fCommunityID
	fIPProto
	fServerName
	fJA3
	fJA4
	fHost
	fUserAgent
	fMethod
	fRespMIME
	fQuery
	fAnswers
	fQtypeName
	fPath // "_path" of JSON lines
	// Marker keys: present only in one kind of log.
	fMarkConn
	fMarkSSL
	fMarkHTTP
	fMarkDNS
	numFields
)

// fieldNames are the Zeek names of the fields, for error messages.
var fieldNames = [numFields]string{
	fNone: "?", fTS: "ts", fUID: "uid", fOrigH: "id.orig_h", fOrigP: "id.orig_p",
	fRespH: "id.resp_h", fRespP: "id.resp_p", fProto: "proto", fService: "service",
	fDuration: "duration", fOrigBytes: "orig_bytes", fRespBytes: "resp_bytes",
	fOrigPkts: "orig_pkts", fRespPkts: "resp_pkts", fOrigIPBytes: "orig_ip_bytes",
	fRespIPBytes: "resp_ip_bytes", fCommunityID: "community_id", fIPProto: "ip_proto",
	fServerName: "server_name", fJA3: "ja3", fJA4: "ja4", fHost: "host",
	fUserAgent: "user_agent", fMethod: "method", fRespMIME: "resp_mime_types",
	fQuery: "query", fAnswers: "answers", fQtypeName: "qtype_name", fPath: "_path",
	fMarkConn: "(conn field)", fMarkSSL: "(ssl field)", fMarkHTTP: "(http field)", fMarkDNS: "(dns field)",
}

// lookupField returns the id of a Zeek field name, fNone for the fields
// this package does not read.
func lookupField(name []byte) fieldID {
	switch string(name) {
	case "ts":
		return fTS
	case "uid":
		return fUID
	case "id.orig_h":
		return fOrigH
	case "id.orig_p":
		return fOrigP
	case "id.resp_h":
		return fRespH
	case "id.resp_p":
		return fRespP
	case "proto":
		return fProto
	case "service":
		return fService
	case "duration":
		return fDuration
	case "orig_bytes":
		return fOrigBytes
	case "resp_bytes":
		return fRespBytes
	case "orig_pkts":
		return fOrigPkts
	case "resp_pkts":
		return fRespPkts
	case "orig_ip_bytes":
		return fOrigIPBytes
	case "resp_ip_bytes":
		return fRespIPBytes
	case "community_id":
		return fCommunityID
	case "ip_proto":
		return fIPProto
	case "server_name":
		return fServerName
	case "ja3":
		return fJA3
	case "ja4":
		return fJA4
	case "host":
		return fHost
	case "user_agent":
		return fUserAgent
	case "method":
		return fMethod
	case "resp_mime_types":
		return fRespMIME
	case "query":
		return fQuery
	case "answers":
		return fAnswers
	case "qtype_name":
		return fQtypeName
	case "_path":
		return fPath
	// Keys found in one log only (conn.log's are the byte and packet
	// counters above, plus these).
	case "conn_state", "history":
		return fMarkConn
	case "cipher", "curve", "resumed", "ssl_history", "cert_chain_fps",
		"next_protocol", "validation_status", "sni_matches_cert":
		return fMarkSSL
	case "referrer", "orig_mime_types", "resp_fuids", "orig_fuids", "info_code", "info_msg":
		return fMarkHTTP
	case "qtype", "qclass", "qclass_name", "rcode", "rcode_name", "TTLs", "AA", "TC", "RD", "RA":
		return fMarkDNS
	}
	return fNone
}

// fieldSet is a bit set of field ids.
type fieldSet uint64

func (s fieldSet) has(id fieldID) bool { return s&(1<<id) != 0 }

// logPath is the kind of log a line belongs to.
type logPath uint8

const (
	pathUnknown logPath = iota
	pathConn
	pathSSL
	pathHTTP
	pathDNS
	pathOther
)

// String returns the Zeek path name.
func (p logPath) String() string {
	switch p {
	case pathConn:
		return "conn"
	case pathSSL:
		return "ssl"
	case pathHTTP:
		return "http"
	case pathDNS:
		return "dns"
	case pathOther:
		return "other"
	}
	return "unknown"
}

// pathOf maps a #path or _path value to a logPath: pathOther for a log
// this package does not read.
func pathOf(name []byte) logPath {
	switch string(name) {
	case "conn":
		return pathConn
	case "ssl":
		return pathSSL
	case "http":
		return pathHTTP
	case "dns":
		return pathDNS
	case "":
		return pathUnknown
	}
	return pathOther
}

// inferPath guesses the log from the keys present: each of conn.log,
// dns.log, http.log and ssl.log has keys no other standard log has.
func inferPath(s fieldSet) logPath {
	switch {
	case s.has(fMarkConn) || s.has(fOrigBytes) || s.has(fRespBytes) || s.has(fOrigPkts) ||
		s.has(fRespPkts) || s.has(fOrigIPBytes) || s.has(fRespIPBytes):
		return pathConn
	case s.has(fMarkDNS) || s.has(fQtypeName) || s.has(fAnswers):
		return pathDNS
	case s.has(fMarkHTTP) || s.has(fRespMIME) || (s.has(fHost) && s.has(fMethod)):
		return pathHTTP
	case s.has(fMarkSSL) || s.has(fServerName) || s.has(fJA3) || s.has(fJA4):
		return pathSSL
	}
	return pathUnknown
}
