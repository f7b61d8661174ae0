// Package uniq counts distinct values: it is the sketch behind an
// aggregate's unique_flows field (distinct 5-tuples per key and window).
//
// The main type is [Counter]. It counts distinct 64-bit hashes exactly up
// to [ExactLimit] (64) distinct values, then switches, once and for good,
// to a HyperLogLog sketch of precision 14 (2^14 one-byte registers) read
// with Ertl's improved estimator ("New cardinality estimation algorithms
// for HyperLogLog sketches", 2017). The estimate's relative standard error
// is about 1.04/√16384 ≈ 0.81% for large counts and much smaller below a
// few thousand; a test pins the relative error at or below 2% from 65 to
// 10 million distinct values over several seeds. Callers hash what they
// count with [Hash64] (or any hash whose bits are uniformly distributed).
//
// Counters are mergeable: [Counter.Merge] of two partial counters leaves
// exactly the counter that would have been built from the union of their
// inputs (same exact set, or bit-identical registers), whatever phase each
// is in, so partial aggregates from several goroutines, collectors or
// restarts combine without loss. [Counter.MarshalBinary] and
// [Counter.UnmarshalBinary] carry a counter across processes in a
// versioned, canonical format (equal counters encode to equal bytes).
//
// # Memory
//
// A Counter is 88 bytes (on 64-bit platforms), including room for 8
// distinct values inline, so a counter that never sees more than 8 distinct
// values allocates nothing. From the 9th to the 64th distinct value it
// holds one extra 512-byte array; from the 65th on it holds the 16,384-byte
// register array as well (≈ 16.6 KiB in all). [Counter.Reset] keeps both
// arrays for reuse, so a reused counter does not allocate again.
//
// Encoded sizes: 3 + 8n bytes for n exact values (at most 515), 5 + 3k
// bytes for a sketch with k non-zero registers when k ≤ 5460 (sparse
// form), else 16,387 bytes (dense form).
//
// # Concurrency
//
// A Counter is not safe for concurrent use; callers shard their counters
// (one per key and window) and serialise access to each. A Counter must
// not be copied after first use (go vet reports copies): a copy would
// share its arrays with the original. To duplicate one, Merge it into an
// empty Counter.
package uniq
