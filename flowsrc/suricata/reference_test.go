package suricata

// A slow, obvious decoder of EVE lines built on encoding/json, written
// from the package's documented rules without sharing its code (only the
// protocol-name data), for differential tests of the fast scanner.

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/exfilscore/exfilscore/flowsrc"
)

// refResult is what the reference makes of one line.
type refResult struct {
	kind      string // "blank", "malformed", "flow", "tls", "http", "dns", "other"
	eventType string
	why       string // for malformed: a description, for test messages
	rec       flowsrc.Record
	flowID    uint64
	hasFlowID bool
	names     names
	obs       []refObs // dns: passive-DNS observations, in order
	noName    int      // dns: answers without a name
}

type refObs struct {
	name string
	addr netip.Addr
}

// keep leaves out names longer than MaxNameLen.
func keep(s string) string {
	if len(s) > MaxNameLen {
		return ""
	}
	return s
}

func bad(why string) refResult { return refResult{kind: "malformed", why: why} }

// jget returns obj[key]: present is false for a missing key or null.
func jget(obj map[string]any, key string) (v any, present bool) {
	v, ok := obj[key]
	return v, ok && v != nil
}

func jstr(obj map[string]any, key string) (s string, present, wrong bool) {
	v, ok := jget(obj, key)
	if !ok {
		return "", false, false
	}
	s, ok = v.(string)
	return s, ok, !ok
}

func juint(obj map[string]any, key string, max uint64) (u uint64, present, wrong bool) {
	v, ok := jget(obj, key)
	if !ok {
		return 0, false, false
	}
	n, ok := v.(json.Number)
	if !ok {
		return 0, false, true
	}
	u, err := strconv.ParseUint(string(n), 10, 64)
	if err != nil || u > max {
		return 0, false, true
	}
	return u, true, false
}

func jobj(obj map[string]any, key string) (m map[string]any, present, wrong bool) {
	v, ok := jget(obj, key)
	if !ok {
		return nil, false, false
	}
	m, ok = v.(map[string]any)
	return m, ok, !ok
}

func refLine(line []byte) refResult {
	if len(bytes.Trim(line, " \t\r\n")) == 0 {
		return refResult{kind: "blank"}
	}
	if !json.Valid(line) {
		return bad("invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return bad("decode: " + err.Error())
	}
	obj, ok := v.(map[string]any)
	if !ok || obj == nil {
		return bad("not an object")
	}
	et, present, wrong := jstr(obj, "event_type")
	if wrong || !present {
		return bad("event_type")
	}
	var r refResult
	switch et {
	case "flow":
		r = refFlow(obj)
	case "tls":
		r = refTLS(obj)
	case "http":
		r = refHTTP(obj)
	case "dns":
		r = refDNS(obj)
	default:
		r = refResult{kind: "other"}
	}
	r.eventType = et
	return r
}

func refFlowID(obj map[string]any, r *refResult) bool {
	id, present, wrong := juint(obj, "flow_id", 1<<64-1)
	r.flowID, r.hasFlowID = id, present
	return !wrong
}

var refTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$`)

func refTime(s string) (time.Time, bool) {
	if !refTimeRE.MatchString(s) {
		return time.Time{}, false
	}
	layout := "2006-01-02T15:04:05Z0700"
	if !strings.HasSuffix(s, "Z") {
		z := s[strings.LastIndexAny(s, "+-"):]
		if strings.Contains(z, ":") {
			layout = "2006-01-02T15:04:05Z07:00"
		}
		oh, _ := strconv.Atoi(z[1:3])
		om, _ := strconv.Atoi(z[len(z)-2:])
		if oh > 23 || om > 59 {
			return time.Time{}, false
		}
	}
	t, err := time.Parse(layout, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func refAddr(s string) (netip.Addr, bool) {
	if strings.Contains(s, "%") {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s)
	return a, err == nil
}

func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func refProto(s string) (uint8, bool) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		if len(s) > 3 {
			return 0, false
		}
		n, err := strconv.ParseUint(s, 10, 8)
		return uint8(n), err == nil
	}
	for n, list := range protoNames {
		for _, name := range list {
			if asciiLower(name) == asciiLower(s) {
				return uint8(n), true
			}
		}
	}
	return 0, false
}

func refFlow(obj map[string]any) refResult {
	r := refResult{kind: "flow"}
	if !refFlowID(obj, &r) {
		return bad("flow_id")
	}
	strs := map[string]string{}
	for _, k := range []string{"src_ip", "dest_ip", "proto", "app_proto", "community_id"} {
		s, present, wrong := jstr(obj, k)
		if wrong {
			return bad(k)
		}
		if present {
			strs[k] = s
		}
	}
	nums := map[string]uint64{}
	for k, max := range map[string]uint64{"src_port": 65535, "dest_port": 65535, "icmp_type": 255, "icmp_code": 255} {
		u, present, wrong := juint(obj, k, max)
		if wrong {
			return bad(k)
		}
		if present {
			nums[k] = u
		}
	}
	fl, flPresent, wrong := jobj(obj, "flow")
	if wrong {
		return bad("flow")
	}
	tcp, tcpPresent, wrong := jobj(obj, "tcp")
	if wrong {
		return bad("tcp")
	}
	var flags string
	var hasFlags bool
	if tcpPresent {
		if flags, hasFlags, wrong = jstr(tcp, "tcp_flags"); wrong {
			return bad("tcp.tcp_flags")
		}
	}
	if flPresent {
		for _, k := range []string{"start", "end"} {
			s, present, wrong := jstr(fl, k)
			if wrong {
				return bad("flow." + k)
			}
			if present {
				strs["flow."+k] = s
			}
		}
		for _, k := range []string{"bytes_toserver", "bytes_toclient", "pkts_toserver", "pkts_toclient"} {
			u, present, wrong := juint(fl, k, 1<<64-1)
			if wrong {
				return bad("flow." + k)
			}
			if present {
				nums["flow."+k] = u
			}
		}
	}
	for _, k := range []string{"src_ip", "dest_ip", "proto", "flow.start", "flow.end"} {
		if _, ok := strs[k]; !ok {
			return bad("missing " + k)
		}
	}
	for _, k := range []string{"flow.bytes_toserver", "flow.bytes_toclient", "flow.pkts_toserver", "flow.pkts_toclient"} {
		if _, ok := nums[k]; !ok {
			return bad("missing " + k)
		}
	}
	src, ok1 := refAddr(strs["src_ip"])
	dst, ok2 := refAddr(strs["dest_ip"])
	proto, ok3 := refProto(strs["proto"])
	start, ok4 := refTime(strs["flow.start"])
	end, ok5 := refTime(strs["flow.end"])
	if !(ok1 && ok2 && ok3 && ok4 && ok5) {
		return bad("value")
	}
	if end.Before(start) {
		return bad("end before start")
	}
	rec := flowsrc.Record{
		Start: start, End: end, Src: src, Dst: dst, Proto: proto,
		BytesToServer: nums["flow.bytes_toserver"], BytesToClient: nums["flow.bytes_toclient"],
		PktsToServer: nums["flow.pkts_toserver"], PktsToClient: nums["flow.pkts_toclient"],
		SamplingRate: 1, Initiator: flowsrc.InitiatorSrc,
		AppProto: strs["app_proto"], SensorCommunityID: strs["community_id"],
	}
	if proto == 1 || proto == 58 {
		if t, ok := nums["icmp_type"]; ok {
			rec.HasICMP, rec.ICMPType, rec.ICMPCode = true, uint8(t), uint8(nums["icmp_code"])
		}
	} else {
		_, hs := nums["src_port"]
		_, hd := nums["dest_port"]
		if (proto == 6 || proto == 17 || proto == 132) && !(hs && hd) {
			return bad("missing port")
		}
		rec.SrcPort, rec.DstPort = uint16(nums["src_port"]), uint16(nums["dest_port"])
	}
	if hasFlags {
		f, err := strconv.ParseUint(flags, 16, 8)
		if err != nil {
			return bad("tcp_flags value")
		}
		rec.TCPFlags = uint8(f)
	}
	if r.hasFlowID {
		rec.SensorFlowID = strconv.FormatUint(r.flowID, 10)
	}
	r.rec = rec
	return r
}

// refNamed reads the string fields keys of the object at key.
func refNamed(obj map[string]any, key string, keys ...string) (map[string]string, bool) {
	m, present, wrong := jobj(obj, key)
	if wrong {
		return nil, false
	}
	out := map[string]string{}
	if !present {
		return out, true
	}
	for _, k := range keys {
		s, present, wrong := jstr(m, k)
		if wrong {
			return nil, false
		}
		if present {
			out[k] = s
		}
	}
	return out, true
}

func refTLS(obj map[string]any) refResult {
	r := refResult{kind: "tls"}
	if !refFlowID(obj, &r) {
		return bad("flow_id")
	}
	m, ok := refNamed(obj, "tls", "sni", "ja4")
	if !ok {
		return bad("tls")
	}
	r.names.sni, r.names.ja4 = keep(m["sni"]), keep(m["ja4"])
	if tls, present, _ := jobj(obj, "tls"); present {
		ja3, ok := refNamed(tls, "ja3", "hash")
		if !ok {
			return bad("tls.ja3")
		}
		r.names.ja3 = keep(ja3["hash"])
	}
	return r
}

func refHTTP(obj map[string]any) refResult {
	r := refResult{kind: "http"}
	if !refFlowID(obj, &r) {
		return bad("flow_id")
	}
	m, ok := refNamed(obj, "http", "hostname", "http_user_agent", "http_method", "http_content_type")
	if !ok {
		return bad("http")
	}
	r.names.host, r.names.ua = keep(m["hostname"]), keep(m["http_user_agent"])
	r.names.method, r.names.ctype = keep(m["http_method"]), keep(m["http_content_type"])
	return r
}

func refDNS(obj map[string]any) refResult {
	r := refResult{kind: "dns"}
	if !refFlowID(obj, &r) {
		return bad("flow_id")
	}
	top, ok := refNamed(obj, "dns", "type", "rrname", "rrtype", "rdata")
	if !ok {
		return bad("dns")
	}
	dns, _, _ := jobj(obj, "dns")
	type ans struct {
		rrname, rrtype, rdata string
		hasRData              bool
	}
	var answers []ans
	var groupedA, groupedAAAA []string
	var query string
	var hasQuery bool
	if dns != nil {
		if v, present := jget(dns, "answers"); present {
			list, ok := v.([]any)
			if !ok {
				return bad("dns.answers")
			}
			for _, el := range list {
				m, ok := el.(map[string]any)
				if !ok {
					return bad("dns.answers element")
				}
				var a ans
				var wrong bool
				if a.rrname, _, wrong = jstr(m, "rrname"); wrong {
					return bad("dns.answers.rrname")
				}
				if a.rrtype, _, wrong = jstr(m, "rrtype"); wrong {
					return bad("dns.answers.rrtype")
				}
				a.rdata, a.hasRData, _ = jstr(m, "rdata")
				answers = append(answers, a)
			}
		}
		if g, present, wrong := jobj(dns, "grouped"); wrong {
			return bad("dns.grouped")
		} else if present {
			for key, dst := range map[string]*[]string{"A": &groupedA, "AAAA": &groupedAAAA} {
				v, present := jget(g, key)
				if !present {
					continue
				}
				list, ok := v.([]any)
				if !ok {
					return bad("dns.grouped." + key)
				}
				for _, el := range list {
					s, ok := el.(string)
					if !ok {
						return bad("dns.grouped." + key + " element")
					}
					*dst = append(*dst, s)
				}
			}
		}
		if v, present := jget(dns, "queries"); present {
			list, ok := v.([]any)
			if !ok {
				return bad("dns.queries")
			}
			for i, el := range list {
				m, ok := el.(map[string]any)
				if !ok {
					return bad("dns.queries element")
				}
				s, present, wrong := jstr(m, "rrname")
				if wrong {
					return bad("dns.queries.rrname")
				}
				if i == 0 && present {
					query, hasQuery = keep(s), true
				}
			}
		}
	}
	_, hasTopRData := top["rdata"]
	if !hasQuery {
		if s, ok := top["rrname"]; ok && !hasTopRData {
			query = keep(s)
		}
	}
	r.names.query = query
	kind := func(rrtype string) int {
		switch rrtype {
		case "A":
			return 4
		case "AAAA":
			return 6
		}
		return 0
	}
	addrOf := func(s string, want int) (netip.Addr, bool) {
		a, ok := refAddr(s)
		return a, ok && (want == 4) == a.Is4()
	}
	if t := top["type"]; t != "answer" && t != "response" {
		return r
	}
	observe := func(own string, a netip.Addr) {
		if own != "" {
			r.obs = append(r.obs, refObs{own, a})
		}
		if query != "" && query != own {
			r.obs = append(r.obs, refObs{query, a})
		}
		if own == "" && query == "" {
			r.noName++
		}
	}
	switch {
	case len(answers) > 0:
		type pair struct {
			own string
			a   netip.Addr
		}
		var ps []pair
		for _, a := range answers {
			want := kind(a.rrtype)
			if want == 0 {
				continue
			}
			if !a.hasRData {
				return bad("dns.answers.rdata missing")
			}
			addr, ok := addrOf(a.rdata, want)
			if !ok {
				return bad("dns.answers.rdata")
			}
			ps = append(ps, pair{keep(a.rrname), addr})
		}
		for _, p := range ps {
			observe(p.own, p.a)
		}
	case len(groupedA) > 0 || len(groupedAAAA) > 0:
		var as []netip.Addr
		for _, s := range groupedA {
			a, ok := addrOf(s, 4)
			if !ok {
				return bad("dns.grouped.A value")
			}
			as = append(as, a)
		}
		for _, s := range groupedAAAA {
			a, ok := addrOf(s, 6)
			if !ok {
				return bad("dns.grouped.AAAA value")
			}
			as = append(as, a)
		}
		for _, a := range as {
			if query != "" {
				r.obs = append(r.obs, refObs{query, a})
			} else {
				r.noName++
			}
		}
	case hasTopRData:
		if want := kind(top["rrtype"]); want != 0 {
			a, ok := addrOf(top["rdata"], want)
			if !ok {
				return bad("dns.rdata")
			}
			if own := keep(top["rrname"]); own != "" {
				r.obs = append(r.obs, refObs{own, a})
			} else {
				r.noName++
			}
		}
	}
	return r
}
