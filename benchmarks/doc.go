// Package benchmarks measures exfilscore against the issue-3 targets and
// against goflow2 v2, in a module of its own so that the library's go.mod
// stays free of what only the comparison needs.
//
// It has no API: everything is in the tests. BENCHMARKS.md says how to
// run them and records the results. The benchmarks are
//
//   - BenchmarkEndToEnd: NetFlow v9 datagrams → alerts. exfilscore
//     (flowsrc.DatagramDecoder → exfil.Detector → a sink that counts the
//     alerts) next to goflow2's NetFlow pipe (decode + protobuf producer →
//     a formatter that counts the messages) on the same datagrams;
//   - BenchmarkAggregator: window.Aggregator on pre-decoded window.Obs next
//     to a mutex+map baseline and a pre-keyed array ceiling;
//   - BenchmarkIOCCheck: ioc.Set.LookupAddr with 10^6 indicators;
//
// each with one and two goroutines (-bench.goroutines); and
//
//   - BenchmarkScoring: what closing and scoring one window of the
//     end-to-end capture costs the goroutine that scores it (the work
//     exfil.Detector.Run does beside the ingest goroutines), per key
//     scored and per record of the window, with the window's records
//     added through one Writer and through two (writers=2: block by
//     block, as the two goroutines of BenchmarkEndToEnd add them, so
//     that most keys are split between the Writers and merged at close).
//
// The data is generated in memory when the benchmark that uses it starts
// (a top-level benchmark function runs once per process) and dropped when
// it ends: a NetFlow v9 capture of -bench.records records (default 10^6; the issue's
// full run is 10^7, about 390 MB of datagrams) over -bench.keys keys
// (default 10^6) drawn Zipf(s=1.1), laid out as internal/cmd/gencapture
// writes it; 2^20 observations over the same keys for the aggregators;
// 10^6 indicators and 2^20 queries for the IOC check. Runs longer than the
// data cycle through it; the capture's event time is shifted by its span
// on every pass, so windows keep closing.
//
// Work is split into chunks (a block of 100 datagrams that starts with the
// template, 2^15 observations, 2^13 lookups); goroutine g of p does chunks
// g, g+p, g+2p, ... Goroutine 0 does one chunk per b.Loop iteration, the
// others run freely alongside it; in BenchmarkEndToEnd no goroutine may
// get more than one chunk ahead of another, which keeps the exporters
// within a few blocks (seconds) of each other in event time, as real ones
// are. b.N counts goroutine 0's chunks, so ns/op is replaced by per-item
// metrics: ns/record (wall time per record, all goroutines together),
// records/s, allocs/record and B/record (bytes allocated), and for the IOC
// check ns/lookup and lookups/s. BenchmarkAggregator adds B/key, the live
// heap per key after every key has been opened once; BenchmarkEndToEnd
// adds keys/record for exfilscore, the aggregates scored per record (the
// IOC checks a record costs), and alerts/key, the share of them that
// raise an alert. On Linux every
// benchmark reports cpus-others, the CPUs that other processes (or the
// hypervisor) kept busy during the measurement: results with cpus-others
// well above 0 were taken on a busy machine and are not comparable.
//
// The tests (go test ./...) run every benchmark body on tiny data and check
// the rig: the crew's chunk order and lag bound, both pipelines seeing
// every record with the same byte counts, no record late with several
// goroutines, the aggregators agreeing key by key, the IOC hit rate.
package benchmarks
