package suricata

import "fmt"

// Generated EVE lines in Suricata 7's layout and member order, for tests
// and benchmarks.

func genFlowID(i int) uint64 { return 1000000000000000 + uint64(i)*7919 }

func genClient(i int) string { return fmt.Sprintf("10.%d.%d.%d", i>>16&0xff, i>>8&0xff, i&0xff|1) }

func genServer(i int) string { return fmt.Sprintf("203.0.%d.%d", i>>8&0x3f, i&0xff) }

// genFlow returns a TCP flow event of about 650 bytes.
func genFlow(i int, appProto string) []byte {
	return fmt.Appendf(nil, `{"timestamp":"2024-01-02T03:04:%02d.%06d+0000","flow_id":%d,"in_iface":"eth0","event_type":"flow","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":443,"proto":"TCP","app_proto":"%s","flow":{"pkts_toserver":%d,"pkts_toclient":%d,"bytes_toserver":%d,"bytes_toclient":%d,"start":"2024-01-02T03:03:%02d.%06d+0000","end":"2024-01-02T03:04:%02d.%06d+0000","age":60,"state":"closed","reason":"timeout","alerted":false},"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg=","tcp":{"tcp_flags":"1b","tcp_flags_ts":"1b","tcp_flags_tc":"1b","syn":true,"fin":true,"psh":true,"ack":true,"state":"closed","ts_max_regions":1,"tc_max_regions":1}}`,
		i%60, i%1000000, genFlowID(i), genClient(i), 1024+i%60000, genServer(i), appProto,
		10+i%100, 12+i%90, 1000+i*37%100000, 5000+i*91%1000000, i%60, i%1000000, i%60, (i+1)%1000000)
}

// genNetflow returns one of the two netflow events Suricata writes per flow.
func genNetflow(i int) []byte {
	return fmt.Appendf(nil, `{"timestamp":"2024-01-02T03:04:05.000000+0000","flow_id":%d,"in_iface":"eth0","event_type":"netflow","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":443,"proto":"TCP","app_proto":"tls","netflow":{"pkts":10,"bytes":1000,"start":"2024-01-02T03:03:05.000000+0000","end":"2024-01-02T03:04:05.000000+0000","age":60,"min_ttl":64,"max_ttl":64},"tcp":{"tcp_flags":"1b","syn":true,"fin":true,"psh":true,"ack":true},"community_id":"1:LQU9qZlK+B5F3KDmev6m5PMibrg="}`,
		genFlowID(i), genClient(i), 1024+i%60000, genServer(i))
}

// genTLS returns a tls event of flow i.
func genTLS(i int) []byte {
	return fmt.Appendf(nil, `{"timestamp":"2024-01-02T03:03:05.100000+0000","flow_id":%d,"in_iface":"eth0","event_type":"tls","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":443,"proto":"TCP","tls":{"subject":"CN=host%d.example.com","issuerdn":"C=US, O=Let's Encrypt, CN=R3","serial":"04:A1:B2","fingerprint":"aa:bb:cc","sni":"host%d.example.com","version":"TLS 1.3","notbefore":"2024-01-01T00:00:00","notafter":"2024-04-01T00:00:00","ja3":{"hash":"e7d705a3286e19ea42f587b344ee6865","string":"771,4865-4866-4867,0-23-65281,29-23-24,0"},"ja3s":{"hash":"f4febc55ea12b31ae17cfb7e614afda8","string":"771,4865,43-51"},"ja4":"t13d1516h2_8daaf6152771_02713d6af862"}}`,
		genFlowID(i), genClient(i), 1024+i%60000, genServer(i), i%1000, i%1000)
}

// genHTTP returns an http event of flow i.
func genHTTP(i int) []byte {
	return fmt.Appendf(nil, `{"timestamp":"2024-01-02T03:03:05.200000+0000","flow_id":%d,"in_iface":"eth0","event_type":"http","src_ip":"%s","src_port":%d,"dest_ip":"%s","dest_port":80,"proto":"TCP","tx_id":0,"http":{"hostname":"www%d.example.org","url":"\/upload\/part%d","http_user_agent":"Mozilla\/5.0 (X11; Linux x86_64) curl\/8.5","http_content_type":"application\/json","http_method":"POST","protocol":"HTTP\/1.1","status":200,"length":%d}}`,
		genFlowID(i), genClient(i), 1024+i%60000, genServer(i), i%1000, i, i*13%100000)
}

// genDNSAnswer returns a v2 dns answer (detailed and grouped) naming
// genServer(target) host<target>.example.com, in DNS flow i.
func genDNSAnswer(i, target int) []byte {
	return fmt.Appendf(nil, `{"timestamp":"2024-01-02T03:03:04.900000+0000","flow_id":%d,"in_iface":"eth0","event_type":"dns","src_ip":"%s","src_port":%d,"dest_ip":"10.0.0.53","dest_port":53,"proto":"UDP","dns":{"version":2,"type":"answer","id":%d,"flags":"8180","qr":true,"rd":true,"ra":true,"rrname":"host%d.example.com","rrtype":"A","rcode":"NOERROR","answers":[{"rrname":"host%d.example.com","rrtype":"A","ttl":300,"rdata":"%s"}],"grouped":{"A":["%s"]}}}`,
		genFlowID(i), genClient(i), 1024+i%60000, i&0xffff, target%1000, target%1000, genServer(target), genServer(target))
}

// genOther returns lines of event types the parser skips.
func genOther(i int) []byte {
	if i%2 == 0 {
		return fmt.Appendf(nil, `{"timestamp":"2024-01-02T03:04:05.000000+0000","event_type":"stats","stats":{"uptime":%d,"capture":{"kernel_packets":%d,"kernel_drops":0},"decoder":{"pkts":%d,"bytes":%d,"ipv4":%d,"ipv6":0}}}`, i, i*10, i*10, i*1000, i*10)
	}
	return fmt.Appendf(nil, `{"timestamp":"2024-01-02T03:04:05.000000+0000","flow_id":%d,"event_type":"alert","src_ip":"%s","src_port":1234,"dest_ip":"%s","dest_port":443,"proto":"TCP","alert":{"action":"allowed","gid":1,"signature_id":2000001,"rev":1,"signature":"ET POLICY test \"quoted\"","category":"Policy","severity":3},"app_proto":"tls","flow":{"pkts_toserver":3,"pkts_toclient":2,"bytes_toserver":300,"bytes_toclient":200,"start":"2024-01-02T03:04:00.000000+0000"}}`, genFlowID(i), genClient(i), genServer(i))
}

// genMixed returns a realistic mix: per flow its app events first, then
// the flow event and its two netflow events, plus some other events.
func genMixed(n int) [][]byte {
	var lines [][]byte
	for i := 0; len(lines) < n; i++ {
		switch i % 4 {
		case 0:
			lines = append(lines, genDNSAnswer(i+1000000, i), genTLS(i), genFlow(i, "tls"))
		case 1:
			lines = append(lines, genHTTP(i), genFlow(i, "http"))
		case 2:
			lines = append(lines, genFlow(i, "failed"))
		case 3:
			lines = append(lines, genFlow(i, "tls"), genOther(i))
		}
		lines = append(lines, genNetflow(i), genNetflow(i))
	}
	return lines[:n]
}
