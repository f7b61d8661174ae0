package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

type options struct {
	listen, sflow, replay, homenet, minSeverity, policy string
	follow, followState                                 string
	window, lateness                                    time.Duration
	iocs, geoip                                         listFlag
	dumpFlows, demo, verbose, early                     bool
	cpuProfile, memProfile                              string
	cidSeed                                             uint
	lanes                                               int
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// parseFlags reads the command line; false means a usage error, already
// reported on stderr.
func parseFlags(args []string, stderr io.Writer) (options, bool) {
	var o options
	fs := flag.NewFlagSet("collector", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.listen, "listen", ":2055", "UDP address for NetFlow v5/v9 and IPFIX")
	fs.StringVar(&o.sflow, "sflow", ":6343", "UDP address for sFlow v5 (empty: off)")
	fs.StringVar(&o.replay, "replay", "", "replay a `file` in event time, then exit: a pcap/pcapng capture of export datagrams, a Suricata EVE JSON or Zeek conn.log (TSV or JSON) log, or a goflow2 protobuf file; gzip accepted; format detected from content")
	fs.StringVar(&o.follow, "follow", "", "tail a live Suricata EVE or Zeek conn.log `file` (tail -F: rotation and truncation survived)")
	fs.StringVar(&o.followState, "follow-state", "", "with -follow: `file` keeping the position reached, so a restart resumes there")
	fs.BoolVar(&o.dumpFlows, "dump-flows", false, "print decoded flow records as JSON lines instead of alerts")
	fs.BoolVar(&o.demo, "demo", false, "run the built-in demo: an in-process NetFlow v9 exporter over loopback UDP")
	fs.StringVar(&o.homenet, "homenet", "", "internal `CIDRs`, comma-separated (replaces the RFC 1918 default)")
	fs.DurationVar(&o.window, "window", 15*time.Minute, "window length")
	fs.DurationVar(&o.lateness, "lateness", 2*time.Minute, "allowed lateness before a window closes")
	fs.Var(&o.iocs, "ioc", "IOC feed `file`: a plain list, CSV, STIX 2.1 bundle or MISP event, detected from content or forced as list:FILE, csv:FILE, stix:FILE, misp:FILE; repeatable, reloaded on change and SIGHUP")
	fs.Var(&o.geoip, "geoip", "MaxMind-format `file` (.mmdb: GeoLite2/GeoIP2 Country or City and ASN, DB-IP, IPinfo) for dest_country, dest_asn, dest_org; repeatable, reloaded on change and SIGHUP")
	fs.StringVar(&o.policy, "policy", "", "severity ladder JSON `file` (replaces the SPEC defaults; validated)")
	fs.StringVar(&o.minSeverity, "min-severity", "low", "lowest severity to report: low, medium, high, critical")
	fs.UintVar(&o.cidSeed, "community-id-seed", 0, "Community ID seed")
	fs.BoolVar(&o.verbose, "v", false, "debug logging on stderr")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile to `file` (go tool pprof)")
	fs.StringVar(&o.memProfile, "memprofile", "", "write a heap profile to `file` at exit (go tool pprof)")
	fs.IntVar(&o.lanes, "lanes", 0, "`n` aggregation lanes, and SO_REUSEPORT sockets per listening address (0: one per CPU; a capture replayed with fewer than 4 lanes is aggregated by its reader instead)")
	fs.BoolVar(&o.early, "early", false, "early alerts the moment a rung is reached (default: on when listening, off under -replay)")
	if err := fs.Parse(args); err != nil {
		return o, false
	}
	early := o.replay == "" // live, -follow and demo
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "early" {
			early = o.early // an explicit -early or -early=false wins
		}
	})
	o.early = early
	if o.replay != "" && o.follow != "" {
		fmt.Fprintln(stderr, "collector: -replay and -follow exclude each other")
		return o, false
	}
	if o.lanes < 0 {
		fmt.Fprintf(stderr, "collector: -lanes %d must not be negative\n", o.lanes)
		return o, false
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "collector: unexpected argument %q\n", fs.Arg(0))
		return o, false
	}
	return o, true
}
