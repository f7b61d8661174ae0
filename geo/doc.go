// Package geo enriches destination addresses with their country,
// autonomous system number and organisation (an alert's dest_country,
// dest_asn and dest_org).
//
// The main types are:
//
//   - [Provider], the interface the exfil Detector calls once per alert for
//     the destination address, with [ProviderFunc] to adapt a function;
//   - [MMDB], the provider over MaxMind DB (.mmdb) files — MaxMind GeoLite2
//     and GeoIP2, DB-IP, IPinfo — opened with [OpenMMDB], reloaded live;
//   - [Table], a static prefix table for tests, demos and small fixed
//     deployments.
//
// # Databases and their fields
//
// [OpenMMDB] takes one or more files. Each file's metadata database_type
// says how its records are read and what the file is asked for:
//
//	database_type                         reads                                  asked for
//	GeoLite2-/GeoIP2-Country, -City,      country.iso_code                       country
//	DBIP-Country*, DBIP-City*,
//	DBIP-Location (compat=City)
//	GeoLite2-ASN, GeoIP2-ISP,             autonomous_system_number,              ASN, org
//	DBIP-ASN* (compat=GeoLite2-ASN)       autonomous_system_organization
//	                                      (ISP: then organization, then isp)
//	GeoIP2-Enterprise, DBIP-Location-ISP, both of the above, the AS keys also    country, ASN, org
//	DB-IP "(compat=Enterprise)"           under traits
//	ipinfo ... (Lite, country_asn,        country_code, else a two-letter        country, ASN, org
//	asn, bundles)                         country; asn "AS123"; as_name
//	                                      (name in the ASN file)
//	anything else                         both conventions                       country, ASN, org
//
// MaxMind's databases without any of these (GeoIP2-Anonymous-IP,
// -Connection-Type, -Domain, ...) are refused with [ErrNoGeoFields]. The
// country is the geolocated country; registered_country and
// represented_country are not used. ISO codes are returned as the
// database spells them.
//
// Files combine in the order given: the country comes from the first file
// whose record for the address has one. The ASN and the organisation come
// together from the first record with an ASN; when no record has an ASN,
// the organisation comes from the first record that has one. An ASN is
// never paired with another record's organisation. A file is not asked for
// what earlier files already gave, and the lookup stops when everything is
// known: with a City and an ASN file, each is walked once.
//
// Addresses are looked up unmapped: ::ffff:192.0.2.1 is 192.0.2.1 (MaxMind
// IPv6 databases also alias it, IPv4-only databases only know this form);
// IPv6 zones are ignored; an IPv6 address in an IPv4-only database is not
// found.
//
// # Loading, verification and reload
//
// A file is read whole into memory (never memory-mapped), opened, and
// verified in full with the reader's Verify (search tree, data section,
// metadata) before it is used. A file that fails gives a [*DatabaseError]
// naming the file, what failed and the database_type when known;
// [ErrInvalid] classifies broken files (MaxMind's broken-pointer fixture,
// truncations, corruptions), and no input panics (FuzzOpen).
//
// [MMDB.Run] polls the files (size, modification time, device and inode;
// [WithPollInterval], default one minute) and reloads those that changed;
// [MMDB.ReloadChanged] does one such poll; [MMDB.Reload] re-reads every
// file regardless (what a collector does on SIGHUP). A reload opens and
// verifies the new version off the lookup path, then swaps a new immutable
// snapshot in with one atomic pointer store: lookups never wait and never
// see a half-loaded state. A version that fails to load keeps the previous
// one in use; the error is returned, logged ([WithLogger]) and shown in
// [MMDB.Databases], and the same broken version is not retried at every
// poll. A file that changes while being read ([ErrChanged]) is retried at
// the next poll.
//
// Why in memory: the lifetime of an old version is then the garbage
// collector's business. A lookup that loaded the old snapshot keeps it
// reachable until it returns; once no lookup holds it, it is freed. There
// is no reference count on the lookup path and no Close of a reader that a
// lookup might still be using. Memory-mapping would save the copy but an
// update that rewrites the file in place (cp over it, rather than the
// rename geoipupdate does) would change or truncate the mapping under
// running lookups (SIGBUS), and what was verified would no longer be what
// is read. The cost is the file's size in heap memory (pointer-free, so
// not scanned by the collector), twice during a reload, and the transient
// garbage of verification (BenchmarkOpen, an 18 MB City-shaped file on a
// loaded 2-core machine: reading 10-30 ms, verifying 0.7-1.2 s with
// 130 MB of short-lived allocations; a 60 MB GeoLite2-City takes about
// three times that, off the lookup path).
//
// Polling cannot see a rewrite that keeps size, modification time and
// inode; [MMDB.Reload] always re-reads.
//
// # Lookup cost and the cache
//
// A record is decoded by a narrow, reflection-free cursor walk that reads
// only the keys it needs and stops as soon as it has them; other values
// are skipped without being decoded. Lookups allocate nothing except,
// when the reader's string cache does not hold it, the organisation's
// name. BenchmarkDecode compares, per City+ASN lookup pair, this decoder
// with reflection into a narrow struct, DecodePath per field and a full
// record decode into maps. The cursor walk and DecodePath are within noise
// of each other (about 3 us per pair with the tree walks; DecodePath
// allocates twice per lookup and rescans the record for each field, which
// the ISP and IPinfo layouts would need four to six times), narrow-struct
// reflection is 5-30% slower with three allocations, and the full decode
// is 8-18 times slower with 150 allocations. The two tree walks are about
// two thirds of the cost: records and tree nodes of a large database are
// not in the CPU caches for uniformly spread destinations.
//
// [WithCache] puts a bounded, sharded, set-associative address cache
// (negative answers included, CLOCK eviction per bucket) in front of the
// databases. It is off by default because it only pays on skewed traffic.
// BenchmarkCachePays, City- and ASN-shaped databases of 400k IPv4 and 50k
// IPv6 networks, traffic over 1M distinct addresses, 64k-entry cache,
// paired timing on a shared 2-core machine:
//
//	traffic               hit ratio   cached vs uncached
//	Zipf (s = 1.1)        85%         2.1-2.7x faster (~0.7-1.2 us vs 1.6-3.2 us)
//	uniform               6%          6-15% slower
//
// A detector calls the provider once per alert, not per flow, so either
// way GeoIP is rarely a bottleneck; enable the cache when the same
// destinations recur across many alerts and lookups show in a profile.
// The cache is emptied when a file is reloaded.
//
// # Concurrency
//
// [MMDB] and [Table] are safe for concurrent use. Readers load an atomic
// snapshot pointer without locking; one mutex serialises reloads. Only
// the cache takes locks on the lookup path (a read lock per shard on a
// hit). [MMDB.Run] starts no goroutine: run it in yours and stop it with
// its context or [MMDB.Close].
//
// # Limits
//
//   - Country codes longer than 8 bytes and organisation names longer than
//     1024 bytes are ignored; an AS number outside 1 to 2^32-1, or an
//     IPinfo asn that is not "AS" and digits, leaves the ASN unknown; a
//     record's maps are read up to 256 keys.
//   - A database of an unknown vendor is read with both conventions; if it
//     uses other key names it opens but finds nothing.
//   - Polling relies on file metadata (see above).
package geo
