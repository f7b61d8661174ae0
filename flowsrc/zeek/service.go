package zeek

import "bytes"

// AppProto returns the application protocol, in Suricata's names (the
// names flowsrc.Record.AppProto uses), of a conn.log service field.
//
// Zeek lists every analyzer that confirmed the protocol, comma-separated,
// in the order they confirmed ("ssl,http", "gssapi,smb,ntlm"); newer
// versions also list analyzers that later failed, prefixed with "-". The
// first entry not prefixed with "-" is kept. A "spicy_" prefix (analyzers
// from Spicy packages such as spicy_tftp) is dropped. Zeek names that
// differ from Suricata's are mapped:
//
//	ssl                 → tls
//	dce_rpc             → dcerpc
//	krb, krb_tcp        → krb5
//	ldap_tcp, ldap_udp  → ldap
//	postgresql          → pgsql
//
// Every other name is kept as Zeek writes it: most are Suricata's too
// (http, dns, ssh, smtp, ftp, ftp-data, smb, ntp, dhcp, snmp, sip, rdp,
// rfb, mqtt, modbus, dnp3, imap, pop3, quic, websocket, tftp, irc, nfs,
// mysql, ike); the rest (gssapi, ntlm, radius, socks, ...) have no
// Suricata counterpart. "" for an empty field.
func AppProto(service string) string {
	return appProto([]byte(service), nil)
}

// appProto implements AppProto; intern, when not nil, keeps the names that
// are not constants so that a parser does not allocate them per line.
func appProto(service []byte, intern map[string]string) string {
	for len(service) > 0 {
		name := service
		if i := bytes.IndexByte(service, ','); i >= 0 {
			name, service = service[:i], service[i+1:]
		} else {
			service = nil
		}
		name = bytes.TrimSpace(name)
		if len(name) == 0 || name[0] == '-' {
			continue
		}
		name = bytes.TrimPrefix(name, []byte("spicy_"))
		if s := knownService(name); s != "" {
			return s
		}
		if intern != nil {
			if s, ok := intern[string(name)]; ok {
				return s
			}
			s := string(name)
			if len(intern) < maxIntern {
				intern[s] = s
			}
			return s
		}
		return string(name)
	}
	return ""
}

// maxIntern bounds a parser's table of uncommon service names.
const maxIntern = 256

// knownService maps the common Zeek service names to Suricata's, without
// allocating; "" when the name is not in the table.
func knownService(name []byte) string {
	switch string(name) {
	case "ssl":
		return "tls"
	case "dce_rpc":
		return "dcerpc"
	case "krb", "krb_tcp":
		return "krb5"
	case "ldap_tcp", "ldap_udp", "ldap":
		return "ldap"
	case "postgresql":
		return "pgsql"
	case "ike":
		return "ike"
	case "dtls":
		return "dtls"
	case "http":
		return "http"
	case "dns":
		return "dns"
	case "ssh":
		return "ssh"
	case "smtp":
		return "smtp"
	case "ftp":
		return "ftp"
	case "ftp-data":
		return "ftp-data"
	case "smb":
		return "smb"
	case "ntp":
		return "ntp"
	case "dhcp":
		return "dhcp"
	case "snmp":
		return "snmp"
	case "sip":
		return "sip"
	case "rdp":
		return "rdp"
	case "rfb":
		return "rfb"
	case "mqtt":
		return "mqtt"
	case "modbus":
		return "modbus"
	case "dnp3":
		return "dnp3"
	case "imap":
		return "imap"
	case "pop3":
		return "pop3"
	case "quic":
		return "quic"
	case "websocket":
		return "websocket"
	case "tftp":
		return "tftp"
	case "irc":
		return "irc"
	case "nfs":
		return "nfs"
	case "gssapi":
		return "gssapi"
	case "ntlm":
		return "ntlm"
	case "mysql":
		return "mysql"
	case "radius":
		return "radius"
	case "socks":
		return "socks"
	case "http2":
		return "http2"
	}
	return ""
}
