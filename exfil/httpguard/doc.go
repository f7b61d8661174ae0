// Package httpguard is exfilscore as net/http middleware: it scores the
// bytes each principal moves across the trust boundary of an HTTP service,
// on the windows and severity ladder of the flow path, sends
// exfil.Alert values to an exfil.Sink, and can contain a principal that
// reaches a chosen severity.
//
// Main types: Guard (New, Guard.Handler or Guard.Middleware, Flush, Run,
// Stats), Option (With...), Mode, Scope, Block.
//
//	guard, err := httpguard.New(httpguard.WithSink(exfil.NewJSONLines(os.Stdout)), httpguard.WithBlock(severity.High))
//	if err != nil { ... }
//	go guard.Run(ctx)       // close windows on time
//	defer guard.Flush()     // after the server stopped: report every open window
//	http.ListenAndServe(":8080", guard.Handler(mux))
//
// # Direction
//
// The direction comes from the mode, never from addresses, so a loopback
// service is guarded like any other:
//
//   - Serving (the default: an API or file service): the server is the
//     internal side (src_ip: the connection's local address), the client
//     the external one (dest_ip: the client address; dest_port 0, a
//     client's ephemeral ports being no part of the key). Response bytes
//     leave: they are the upload; request bytes are the download.
//   - Egress (a forward proxy or outbound gateway): the client is the
//     internal side (src_ip), the request's destination the external one
//     (dest_ip when the host is an IP literal, else empty with the name in
//     dest_names.http_host; dest_port explicit or from the scheme).
//     Request bytes leave: they are the upload; response bytes are the
//     download. WithDestination names the destination when the handler
//     is a reverse proxy to a fixed upstream.
//
// # Principals
//
// A request's client address is its RemoteAddr. When the peer is in a
// trusted proxy prefix (WithTrustedProxies), the client is read from the
// one forwarding header those proxies write (X-Forwarded-For or RFC 7239
// Forwarded; the other is ignored, since clients can forge it) by the
// rightmost-untrusted rule: walking the list from the right, the first
// entry that is not a trusted proxy is the client; when every entry is
// trusted, the leftmost is; when the rightmost untrusted entry is not an
// address ("unknown", an obfuscated "_id", garbage), the proxy that wrote
// it stands in and Stats.BadForwarded counts it. The principal is the
// client address, or the name a key function returns (WithPrincipal: an
// API key, user or tenant), which alerts then carry in "principal".
//
// # Windows, aggregates and alerts
//
// Bytes are aggregated per window and per (principal, internal address,
// destination, IP protocol): the same tumbling windows as the flow path
// (15 minutes by default, aligned to the Unix epoch in UTC), placed by the
// wall clock of WithClock at the moment the bytes are counted, so a long
// download that spans a window boundary is split at the boundary. There is
// no lateness: a window closes the moment the clock passes its end, when a
// request, Advance or Run notices. Each aggregate is scored with the
// severity.Policy of the flow path (severity.Evaluate on every count,
// severity.Assess for alerts): flow_count is the number of requests (a
// transfer still in progress when its window closes counts in the next
// window too, as a flow exporter's active timeout splits a long flow),
// unique_flows the number of distinct client connections, app_proto is
// "http", proto "TCP" (HTTP/3: "UDP").
//
// An early alert goes out the moment an aggregate first reaches a rung at
// or above the minimum severity (WithEarlyAlerts, on by default), from the
// goroutine whose bytes crossed it; a final alert at the window's close
// for every aggregate at or above the minimum, or reported early, or
// contained. Flush reports every open aggregate at once (shutdown), so no
// counted byte goes unreported. Both stages share a stable alert_id per
// aggregate and window. The evidence (alert "http") names the mode, the
// method, host, path prefix and user agent of the request that moved the
// most bytes out, and the containment counts. Final alerts carry the
// window context of the flow path, with principals as the sources:
// blast_radius (distinct principals uploading to the destination) and pcr
// (the principal's producer-consumer ratio). community_id is the client
// connection's in serving mode when the client is the peer (not
// forwarded), else empty: the flow that carried an egress request's bytes
// to the destination is the proxy's own connection, which the middleware
// does not see. Packet counts are unknown at this layer and stay 0. IOC
// matching is not done here.
//
// Why not window.Engine: its keys are address tuples, while a principal
// may be a name and an egress destination a host name; and containment
// needs each aggregate's running totals on the request path, which the
// Engine keeps in per-goroutine partials merged only at close. The guard
// keeps its own per-window state instead: 64 shards of maps by principal,
// each aggregate behind its own mutex, and the window itself swapped
// atomically at its end.
//
// # Counting
//
// Bytes are counted as they stream, never by buffering: the request body
// through a wrapped reader, the response through a wrapped
// http.ResponseWriter that keeps http.Flusher (and FlushError),
// io.ReaderFrom (sendfile: handed on in 256 KiB steps, each counted),
// io.StringWriter, http.Hijacker (only when the server's writer is one, as
// for HTTP/1), and the rest of http.ResponseController through Unwrap.
// Counted are:
//
//   - the request head as HTTP/1.1 writes it: the request line
//     (method, request-target as received, protocol), "Host: ...", one
//     "Name: value" line per header value, CRLFs; then every body byte the
//     handler reads (as net/http hands it over: chunked framing removed,
//     content codings such as gzip kept, so compressed bodies count
//     compressed). Body bytes the handler never reads are not counted;
//   - each response head: 1xx heads (103 Early Hints, an explicit 100, and
//     the automatic "100 Continue" net/http sends at the first body read
//     of an Expect: 100-continue request), and the final status line and
//     the header fields the handler set, as of WriteHeader (or the first
//     Write, Flush or ReadFrom, or the handler's return);
//   - every response body byte net/http accepted from the handler (what a
//     gzip handler inside the guard writes, it counts compressed; a HEAD
//     response's body, which net/http discards, is not counted);
//   - on a hijacked connection, every byte read and written, both ways.
//
// Not counted: the header fields net/http adds on its own after the
// handler (Date, Content-Length, Transfer-Encoding, Connection, a sniffed
// Content-Type: at most some 120 bytes a response), chunk framing (a few
// bytes a chunk), trailers, and TLS and TCP/IP overhead. For HTTP/1.x the
// count is therefore exact for a response whose handler sets those fields
// itself, and within those bounds otherwise. For HTTP/2 and HTTP/3 the
// heads are counted as their HTTP/1.1 rendering (":path" as the
// request-target, the protocol as "HTTP/2.0"), which overstates the
// HPACK/QPACK-compressed wire size, and bodies count the DATA payload
// without frame headers: the figure is of the same order as the wire, not
// exact. A write accepted by net/http but lost with a broken connection
// counts: the guard sees what the handler handed over.
//
// # Containment
//
// WithBlock(level) turns containment on. When an aggregate reaches the
// level, its principal (ScopePrincipal, the default) or the principal
// towards that destination only (ScopeDestination) is contained for the
// rest of the window: each later request is refused before the handler
// runs, with 429 Too Many Requests and a Retry-After of the seconds left in
// the window (or the handler of WithBlockHandler, after Retry-After is
// set; BlockFromContext describes the block). Transfers in progress are
// cut in the direction that leaves: in serving mode the response (the
// write that reached the level completes; later writes return
// ErrContained and, when the handler returns, the guard panics with
// http.ErrAbortHandler, the net/http way to abort a response: HTTP/1
// closes the connection before the final chunk or the promised length, so
// the client sees a truncated transfer, not a short success; HTTP/2 resets
// the stream and the connection lives on. The panic is raised in the
// guard's frame, after the handler returned, never through the handler's
// code; a recovering middleware outside the guard must re-panic
// http.ErrAbortHandler); in egress mode the request body (reads return
// ErrContained, so a proxy stops forwarding); on a hijacked connection the
// connection is closed. Requests whose client address (or, in egress
// mode, destination address) is in the prefixes of WithAllowlist, or
// whose principal it names, are never refused or cut; they are still
// counted and alerted, marked allowlisted. Every containment, refusal and
// cut is logged (WithLogger) and counted (Stats). The request path reads
// containment with two atomic loads on the aggregate it already holds.
//
// # Cost
//
// A request takes one of 64 shard locks (by principal) and its
// aggregate's lock a few times, reads the clock once plus the monotonic
// clock once per body write, and allocates nothing when it has no body (the
// per-request state is pooled); a request with a body costs one small
// counting reader, which is not pooled because a reverse proxy's transport
// may still read it after the handler returned.
//
// # Limits
//
// State is per window and bounded by WithMaxAggregates (requests beyond it
// are served but neither aggregated nor contained, and counted). One
// principal spreading bytes over many destinations is scored per
// destination, as in the flow path; ScopePrincipal then contains it
// everywhere once one aggregate reaches the level. http.CloseNotifier and
// http.Pusher are not forwarded (deprecated; use Request.Context).
// The guard does not read the wall clock except through WithClock, reads
// no flags or environment and starts no goroutine (Run is the caller's).
package httpguard
