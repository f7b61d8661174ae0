// Package exfil is the facade of exfilscore: a Detector that turns flow
// records into scored data-exfiltration alerts.
//
// # Pipeline
//
// A caller builds a Detector with New and options (home net, window,
// lateness, severity policy, IOC matchers, GeoIP provider, sink), then
// feeds it flowsrc.Record values from as many goroutines as it likes with
// Observe. Each record is oriented by the initiator rule below; only
// conversations that an internal host opened towards an external host are
// kept. They are aggregated per window (tumbling, event time, see package
// window) and key (src_ip, dest_ip, dest_port, proto, app_proto). When a
// window closes, every aggregate is scored by package severity, checked
// against the IOC matchers, enriched by the geo provider and, when it
// reaches the minimum severity or matches an IOC, sent to the Sink as an
// Alert. Advance closes windows by wall-clock time in live mode; Flush
// closes every open window (end of a replay, shutdown).
//
// The key carries the IP protocol as well as the SPEC's four fields so
// that an alert's single proto field is always true: NetFlow records have
// no app_proto, and TCP/443 and QUIC (UDP/443) to one host would otherwise
// share an aggregate.
//
// # The initiator rule
//
// NetFlow v5/v9 records are unidirectional and do not say who opened the
// connection; cumulative TCP flags carry SYN and ACK in both directions, so
// they cannot tell. The client (initiator) of a record is decided in this
// order, and the first step that applies wins (Orient, InitiatorRule):
//
//  1. source: the source's own knowledge (Record.Initiator: Suricata and
//     Zeek know the client, IPFIX biflowDirection, Cisco NSEL initiator
//     counters);
//  2. tcp-syn: a TCP record whose flags have SYN without ACK was sent by
//     the client;
//  3. icmp-type: an ICMP/ICMPv6 reply type (echo reply, timestamp reply,
//     ...) was sent by the server, any other type by the client;
//  4. service-port: the side on a service port is the server when the
//     other side is not. Service ports are every port from 1 to 1023 and
//     the registered ports listed by ServicePorts (1433, 3306, 3389, 5432,
//     8080, 8443, ...);
//  5. lower-port: when both or neither side is on a service port, the
//     lower port is the server; with equal ports, the record's
//     destination.
//
// Client→server bytes are upload, server→client bytes download, so both
// directions of one conversation land on the same aggregate.
// unique_flows counts distinct normalised 5-tuples (client ip/port, server
// ip/port, proto): both directions of one connection are one flow.
//
// # Internal and external
//
// The home net (HomeNet) defaults to RFC 1918 (10.0.0.0/8, 172.16.0.0/12,
// 192.168.0.0/16); a configured list replaces the default. Owned but
// external-facing ranges (NewHomeNet's second argument) are never a
// destination. A record is kept only when its client is internal and its
// server neither internal nor owned: an inbound conversation to an
// internal server never alerts, however many bytes it returns.
//
// # Alerts
//
// Alert is SPEC §6's object; its JSON field names are the contract.
// severity decides the level and confidence (an IOC match on the
// destination makes any aggregate critical at 0.99); community_id is the
// Community ID v1 of the aggregate's largest flow record.
package exfil
