// Package edge serves the sites' certificates: TLS termination by SNI with
// certificates chosen per client, hot updates from the store's change feed,
// the sites' HTTPS settings, and a reverse proxy to each proxied record's
// origin.
//
// The edge holds an immutable Index that it swaps atomically: a handshake
// reads one Index without locks, and an update builds a new Index that
// shares everything but the names it touches with the old one (see pmap).
// The Source reports each change with its site and, for a certificate
// change, the certificate: a site whose only changes are certificate
// changes is updated one certificate at a time (Source.LoadCertificates
// reads just those rows; each certificate's old names leave the index and
// its new ones enter it), any other change reloads the site whole (Load),
// as does a batch that changed most of a site's certificates.
// Each site keeps its certificates in a persistent hash trie by id
// (hamt.go), each certificate knowing its names, so that a certificate
// update costs the names it changes whatever the size of its site.
// Private keys are unsealed lazily, on a certificate's first handshake, so
// that an edge with many certificates starts fast; the built certificates
// (unsealed key, chain; no parsed leaf) live in a bounded cache and are rebuilt from
// the sealed copy after an eviction (certcache.go), so memory does not grow
// with every certificate ever served. The leaves and sealed keys of a bulk
// load (the first load, a reload, the snapshot), most of an Index's bytes,
// are kept in chunks mapped outside Go's heap, given back when no
// certificate points into them (arena.go), so that the collector's
// headroom is not taken on them. When the store cannot be read, the edge
// keeps serving its last Index and says so in the log. With Snapshot set
// it also keeps that Index in a local file (see snapshot.go), so that an
// edge started while the store cannot be read serves what it served
// before, until the store answers and it loads everything again; the file
// is read as a stream, the Index built site by site while another
// goroutine decodes.
//
// What the edge serves follows from the domain's rows (States, in state.go):
// the sites and their certificates, the routes of their proxied records,
// their HTTPS configurations resolved into per-host policies (settings.go),
// and their feature settings (features.go): a paused site's HTTPS
// connections are passed through to its origin undecrypted, by way of the
// listener that Listener wraps (passthrough.go). ServeHTTPS serves the
// HTTPS listener with net/http: its goroutine for a connection does the
// handshake, and the edge is told when it ends, so that each handshake's
// outcome and time can be told (handshake.go). The SNI
// settings (HttpsNoSniDeny, HttpsSniVerify, HttpsSniWhitelist) and the host
// that answers clients without SNI are in sni.go; the access log's hook,
// which writes through an AccessLogger (internal/accesslog), in
// accesslog.go. HTTP/3 (QUIC, through quic-go's http3 package) for the hosts
// with Http3 on, and the Alt-Svc header that advertises it, are in
// http3.go; the QUIC handshakes are told to the same HandshakeObserver as
// the TCP ones, in http3hs.go. Session resumption, with every resumed
// session checked against the Index, is in resume.go; the key exchange of a
// resumed TLS 1.3 handshake (X25519 for a session from a post-quantum one)
// in resumekex.go, reading the ticket off the ClientHello (resumehello.go).
// The edge reads them through its own Source; it imports the domain's nouns
// for their types, never the store or the api.
package edge
