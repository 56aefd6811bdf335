// Package metrics exports a node's metrics in Prometheus's format, through
// the Prometheus Go client: the only package that imports it. The layers
// report to it through small interfaces they declare themselves
// (api.Observer, edge.HandshakeObserver, cert.AttemptObserver), which
// Metrics implements, and it reads the rest at scrape time through the
// functions in Sources, which the composition root (internal/node) fills
// in; it imports nothing of esacert but cert, for the types of those
// interfaces.
//
// What is exported, all under the prefix esacert_ (see New for each name):
//
//   - API requests by action and Code (a counter) and their latency by
//     action (a histogram). action is only ever an action esacert answers
//     (else ""), and Code one of the error table's, so that a client
//     cannot make up label values.
//   - The edge's TLS handshakes by transport (tcp, or quic for HTTP/3) and
//     outcome (served, unknown_name, alert, closed, protocol, passthrough;
//     see edge.HandshakeOutcomes) and their latency (without passthrough,
//     whose time is the passed-through connection's); the edge's index revision, how far it is behind the
//     store's revision (the change feed's lag), whether it is stale and how
//     many names it serves; its certificate cache's hits, misses (builds),
//     evictions, size and capacity.
//   - ACME orders by CA and result, failures by ApplyCode, their latency,
//     and renewals (orders for a certificate issued before) by result.
//   - Certificates, read from the store at most every 30 seconds (a scrape
//     in between is answered from what was read): their count by site,
//     type and status; each one's NotAfter; each free certificate's next
//     renewal (or retry) time and, while it fails, its consecutive
//     failures with the last ApplyCode.
//   - The database's connection pool (sql.DBStats) and its errors by where
//     they happened; whether the node is ready (as /readyz says); the Go
//     runtime and the process.
//
// # Cardinality
//
// Every label takes its values from a closed set (actions, Codes,
// transports, outcomes, configured CA names, ApplyCodes, certificate types and
// statuses) except site and certificate_id, which name the sites and the
// certificates themselves. The counts by site, type and status are a few
// series per site. The per-certificate series are one per certificate
// (NotAfter), plus one per free certificate (its next renewal), plus one per
// free certificate whose issuance is failing: at 100,000 certificates,
// 100,000 to 200,000 series, some 20 MB of text per scrape before
// compression. A node exports the certificate series only when Sources has
// Certificates (internal/node sets it on nodes with the renewer role, so a
// fleet of edges does not repeat them); an operator who does not want them
// per certificate drops esacert_certificate_.* with metric_relabel_configs
// and keeps the counts. The certificates' series are kept rendered as text
// between two reads of the store, so that a scrape in between only copies
// them: with 100,000 certificates, 22 MB of text held, a scrape in some
// 50 ms, the read every 30 seconds in some 2 s (BenchmarkCertificateScrape
// in internal/node).
//
// The metrics are served in Prometheus's text format (version 0.0.4),
// which every scraper reads, gzip-compressed when asked; not OpenMetrics
// nor the protobuf format (no exemplars, no native histograms).
package metrics
