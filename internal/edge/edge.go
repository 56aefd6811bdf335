package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"hash/maphash"
	"io/fs"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origin"
)

// Source is what the edge reads from the store.
type Source interface {
	// Changes returns what changed after revision since, and the revision
	// now. complete is false when the store cannot tell (its feed was
	// pruned): the edge then loads everything again.
	Changes(ctx context.Context, since int64) (changes []Change, rev int64, complete bool, err error)
	// Load returns the state of the given sites (all sites for nil) and the
	// revision it reflects at least.
	Load(ctx context.Context, siteIDs []int64) ([]SiteState, int64, error)
	// LoadCertificates returns the certificates with the given ids as the
	// store holds them now, each with its RSA twin if it has one (under
	// cert.TwinID), with what SiteState.Certificates carries. An id it
	// does not return is a certificate that no longer exists.
	LoadCertificates(ctx context.Context, ids []string) ([]cert.Certificate, error)
}

// Change is one change of what the edge serves.
type Change struct {
	SiteID int64
	// CertificateID, when set, says that only this certificate of the site
	// changed (added, replaced or deleted): the edge reloads just that
	// certificate. "" says something else of the site changed (the site,
	// its records, HTTPS or feature settings, origin or client CAs…): the
	// edge reloads the whole site.
	CertificateID string
}

// Edge serves certificates and proxies requests. Set its fields, call Start,
// then use TLSConfig, HTTPSHandler and HTTPHandler. It is safe for
// concurrent use once started.
type Edge struct {
	Source Source        // required
	Sealer domain.Sealer // required: opens the certificates' (and origin client certificates') private keys
	// Log receives the edge's events; nil means slog.Default().
	Log *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Poll is how often the edge asks the store for changes; 0 means 250ms.
	Poll time.Duration
	// Wake, when set, signals that this process just committed a change.
	Wake <-chan struct{}
	// ACME, when set, answers /.well-known/acme-challenge/ on plain HTTP.
	ACME func(host, token string) (string, bool)
	// ACMETLS, when set, gives the certificate that answers a TLS-ALPN-01
	// validation for host, and ACMETLSProtocol names its ALPN protocol.
	ACMETLS         func(host string) (*tls.Certificate, bool)
	ACMETLSProtocol string
	// Handshakes, when set, is told the outcome of every TLS handshake of
	// ServeHTTPS and ServeHTTP3 (for the metrics).
	Handshakes HandshakeObserver
	// HandshakeTimeout bounds a TLS handshake of ServeHTTPS, from the
	// connection's accept, and a QUIC one of ServeHTTP3; 0 means 10
	// seconds.
	HandshakeTimeout time.Duration
	// OriginTimeout bounds the wait for an origin's response headers; 0
	// means 60 seconds.
	OriginTimeout time.Duration
	// RequireVerified serves only active sites; without it pending sites
	// (new ones whose ownership is not proven yet) are served too.
	RequireVerified bool
	// Origins makes every connection to an origin, under the origin policy
	// (the ranges the operator allows, the node's own listeners) and
	// through its resolver; nil means an origin.Dialer with the default
	// policy (public addresses only) and the system's resolver.
	Origins *origin.Dialer
	// HTTPSPort is the public port of the HTTPS listener, for redirects to
	// HTTPS; "" or "443" leaves the port out of the redirect.
	HTTPSPort string
	// Snapshot, when set, is a local file the edge keeps what it serves in.
	// Started while the store cannot be read, the edge serves the snapshot
	// until the store answers, then reloads everything from the store.
	Snapshot string
	// SnapshotEvery is the least time between two writes of the snapshot
	// (more when a write takes long: at most a twentieth of the time is
	// spent writing); 0 means 10 seconds.
	SnapshotEvery time.Duration
	// MaxPassthroughs caps the connections passed through to the origins
	// of paused sites at once, in all; 0 means 10000. MaxSitePassthroughs
	// caps them for each site; 0 means 1000. Beyond a cap, a handshake for
	// a paused host fails as for an unknown host (see passguard.go).
	MaxPassthroughs     int
	MaxSitePassthroughs int
	// Tickets, when set, turns session resumption on: TLS 1.3 and 1.2
	// session tickets sealed with these keys, a resumed session accepted
	// only while the index would still serve it (see resume.go). nil: no
	// tickets, every handshake is a full one.
	Tickets TicketKeys
	// ResumeHybrid keeps the post-quantum hybrid key exchange on resumed
	// TLS 1.3 handshakes. Without it, a resumption of a session that came
	// from a post-quantum key exchange uses X25519, at about half the cost
	// (see resumekex.go for what that gives up).
	ResumeHybrid bool
	// Staples, when set, is where the OCSP responses to staple are read
	// (see staple.go): once started, then every Poll.
	Staples StapleSource
	// NoSNIHost, when set, is the host that answers a client sending no SNI
	// (one dialling the edge by its address): such a handshake is answered
	// as if it had named this host, unless the host's HttpsNoSniDeny is on.
	// "" refuses every handshake without SNI (see sni.go).
	NoSNIHost string
	// HTTP3Port, when set, is the public UDP port of the HTTP/3 listener
	// (see http3.go), advertised by Alt-Svc; "" advertises none.
	HTTP3Port string
	// AccessLog, when set, receives a line for every request the edge
	// answers (see accesslog.go); nil logs none.
	AccessLog AccessLogger
	// CertCache is how many certificates the edge keeps ready to serve
	// (private key unsealed and checked against its leaf) at once; the
	// others are built again from their sealed copy on their next
	// handshake (see certcache.go). 0 means DefaultCertCache.
	CertCache int

	// The passthrough's bounds (see passthrough.go), for tests: 0 or ""
	// means helloTimeout, passIdle and port 443.
	helloTimeout  time.Duration
	passIdle      time.Duration
	originTLSPort string

	seed   maphash.Seed
	index  atomic.Pointer[Index]
	update sync.Mutex // one refresh at a time stores indexes
	// pending are the changes ApplyCommitted kept for the refresh under
	// way; applied, under update, the revision of each certificate that
	// ApplyCommitted applied ahead of the index's revision (committed.go).
	pendingMu sync.Mutex
	pending   []Committed
	applied   map[string]int64
	configs   sync.Map // HostPolicy.key() → *tls.Config
	base      *tls.Config
	proxy     *proxy
	stale     atomic.Bool               // the last refresh failed
	passes    passGuard                 // the pass-throughs under way
	staples   staples                   // the OCSP responses (staple.go)
	cache     atomic.Pointer[certCache] // the certificates built for handshakes (certcache.go)
	builds    atomic.Int64              // certificates built (keys unsealed), for tests

	snapMu  sync.Mutex // one snapshot write at a time
	snapGen uint64     // the generation of the index the snapshot file holds; 0 before the first write
}

func (e *Edge) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// poll is how often the edge reads the store's changes and staples
// (Edge.Poll, 250ms by default).
func (e *Edge) poll() time.Duration {
	if e.Poll > 0 {
		return e.Poll
	}
	return 250 * time.Millisecond
}

func (e *Edge) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// Start loads the whole index and follows the store's changes until ctx
// ends. It returns an error only when the first load fails.
func (e *Edge) Start(ctx context.Context) error {
	e.seed = maphash.MakeSeed()
	e.base = &tls.Config{
		MinVersion:         tls.VersionTLS11,
		NextProtos:         []string{"h2", "http/1.1"},
		GetCertificate:     e.GetCertificate,
		GetConfigForClient: e.configFor,
		// Without ticket keys, no resumption. With them, a resumed session
		// is checked against the index (resume.go), so that it cannot
		// outlive a certificate's deletion, a site's deletion or HTTPS
		// turned off for its host.
		SessionTicketsDisabled: e.Tickets == nil,
	}
	if e.Tickets != nil {
		e.base.GetConfigForClient = e.resumableConfigFor
		e.base.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
			return e.wrapSession(nil, cs, ss)
		}
		e.base.UnwrapSession = func(ticket []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
			return e.unwrapSession(nil, ticket, cs)
		}
	}
	e.proxy = newProxy(e.log(), e.OriginTimeout, e.origins())
	e.proxy.origin.sealer = e.Sealer // opens origin client certificates' keys
	start := time.Now()
	states, rev, err := e.Source.Load(ctx, nil)
	if err != nil {
		if e.Snapshot == "" {
			return err
		}
		ix, hdr, sites, serr := loadSnapshot(e.seed, e.Snapshot, e.now(), e.RequireVerified)
		if serr != nil {
			if errors.Is(serr, fs.ErrNotExist) {
				return fmt.Errorf("%w (and there is no snapshot to start from: %s)", err, e.Snapshot)
			}
			return fmt.Errorf("%w (and the snapshot %s cannot be used: %v)", err, e.Snapshot, serr)
		}
		e.index.Store(ix)
		e.stale.Store(true)
		e.log().Warn("edge cannot read the store; serving its snapshot until it can", "error", err,
			"snapshot", e.Snapshot, "written", hdr.Written.UTC().Format(time.RFC3339), "sites", sites,
			"names", ix.Names(), "revision", hdr.Rev, "took_ms", time.Since(start).Milliseconds())
		if e.Staples != nil {
			n, err := e.loadStapleSnapshot() // staple_snapshot.go
			switch {
			case err == nil:
				e.log().Info("edge staples the OCSP responses of its snapshot until it reads the store", "responses", n)
			case !errors.Is(err, fs.ErrNotExist):
				e.log().Warn("edge cannot use the OCSP responses of its snapshot", "error", err)
			}
		}
	} else {
		ix := load(e.seed, states, rev, e.now(), e.RequireVerified)
		e.index.Store(ix)
		e.log().Info("edge index loaded", "sites", len(states), "names", ix.Names(), "revision", rev,
			"took_ms", time.Since(start).Milliseconds())
	}
	go e.follow(ctx)
	if e.Staples != nil {
		go e.followStaples(ctx) // handshakes go on, without staples, until it has read them
	}
	if e.Snapshot != "" {
		go e.keepSnapshot(ctx)
	}
	return nil
}

// keepSnapshot rewrites the snapshot when the index has changed, at most
// every SnapshotEvery, until ctx ends.
func (e *Edge) keepSnapshot(ctx context.Context) {
	every := e.SnapshotEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	failing := false
	for {
		start := time.Now()
		wrote, err := e.saveSnapshot(false)
		switch {
		case err != nil && !failing:
			e.log().Warn("edge cannot write its snapshot", "snapshot", e.Snapshot, "error", err)
		case err == nil && failing:
			e.log().Info("edge writes its snapshot again", "snapshot", e.Snapshot)
		}
		failing = err != nil
		wait := every
		if took := time.Since(start); wrote && 20*took > wait {
			wait = 20 * took
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// SaveSnapshot writes the snapshot now if the index changed since the last
// write, and reports whether it wrote. An index that came from the snapshot
// is not written back. The staples' file is written too when the staples
// changed (staple_snapshot.go). Shutting down, a node calls it for a last
// write.
func (e *Edge) SaveSnapshot() (bool, error) { return e.saveSnapshot(true) }

// saveSnapshot is SaveSnapshot; keepSnapshot's writes, not forced, write
// the staples' file only every so often (saveStapleSnapshot).
func (e *Edge) saveSnapshot(force bool) (bool, error) {
	if e.Snapshot == "" {
		return false, nil
	}
	e.snapMu.Lock()
	defer e.snapMu.Unlock()
	_, serr := e.saveStapleSnapshot(time.Now(), force)
	ix := e.index.Load()
	if ix == nil || ix.snapshot || ix.gen == e.snapGen { // an index is never changed, only replaced
		return false, serr
	}
	if err := saveSnapshot(e.Snapshot, ix, time.Now()); err != nil {
		return false, err
	}
	e.snapGen = ix.gen
	return true, serr
}

// Index returns the index being served.
func (e *Edge) Index() *Index { return e.index.Load() }

// follow applies the store's changes: at once when woken, else every Poll.
func (e *Edge) follow(ctx context.Context) {
	t := time.NewTicker(e.poll())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-e.Wake:
		}
		e.Refresh(ctx)
	}
}

// Refresh applies what changed since the index's revision. On an error it
// keeps the index it has, logs once, and tries again on the next call.
func (e *Edge) Refresh(ctx context.Context) {
	e.update.Lock()
	defer e.update.Unlock()
	defer e.drainCommitted() // what this process committed meanwhile, even when the store cannot be read
	ix := e.index.Load()
	err := e.refresh(ctx, ix)
	if err != nil {
		if !e.stale.Swap(true) {
			e.log().Error("edge cannot read the store; serving its last index", "revision", ix.rev, "error", err)
		}
		return
	}
	if e.stale.Swap(false) {
		e.log().Info("edge reads the store again", "revision", e.index.Load().rev)
	}
}

func (e *Edge) refresh(ctx context.Context, ix *Index) error {
	changes, rev, complete, err := e.Source.Changes(ctx, ix.rev)
	if err != nil {
		return err
	}
	if rev == ix.rev && !ix.snapshot {
		return nil
	}
	if !complete || ix.snapshot {
		// From a snapshot, the store's feed cannot be trusted to reach back
		// to its revision (the database may even have been restored to an
		// older one): load everything.
		states, rev, err := e.Source.Load(ctx, nil)
		if err != nil {
			return err
		}
		e.index.Store(load(e.seed, states, rev, e.now(), e.RequireVerified))
		e.certsGone(goneBetween(ix, states)) // staple.go
		e.log().Info("edge index reloaded", "revision", rev)
		return nil
	}
	sites, certs := plan(changes, ix)
	if len(sites) == 0 && len(certs) == 0 { // the revision moved without a site changing
		next := *ix
		next.rev, next.gen = rev, generations.Add(1)
		e.index.Store(&next)
		return nil
	}
	var states []SiteState
	if len(sites) > 0 {
		if states, _, err = e.Source.Load(ctx, sites); err != nil {
			return err
		}
	}
	var updates []certUpdate
	if len(certs) > 0 {
		var ids []string
		for _, u := range certs {
			ids = append(ids, u.ids...)
		}
		rows, err := e.Source.LoadCertificates(ctx, ids)
		if err != nil {
			return err
		}
		at := make(map[int64]int, len(certs))
		for i, u := range certs {
			at[u.site] = i
		}
		for _, c := range rows {
			if i, ok := at[c.SiteID]; ok {
				certs[i].certs = append(certs[i].certs, c)
			}
		}
		updates = certs
	}
	gone := goneOf(ix, states, updates)
	e.index.Store(ix.apply(states, updates, rev, e.now())) // under e.update: ix is still current
	e.certsGone(gone)                                      // staple.go
	return nil
}

// plan splits a batch of changes into the sites to reload whole and, for
// the sites whose only changes are certificate changes, the certificates
// to reload. A site the index does not hold is reloaded whole, and so is
// one most of whose certificates changed. The order
// of the changes does not matter: what is loaded is the store's state now,
// which is at least as new as every change of the batch (a certificate
// added then deleted in one batch is loaded as absent, so deleted).
func plan(changes []Change, ix *Index) (sites []int64, certs []certUpdate) {
	whole := map[int64]bool{}
	for _, c := range changes {
		if c.CertificateID == "" && !whole[c.SiteID] {
			whole[c.SiteID] = true
			sites = append(sites, c.SiteID)
		}
	}
	at := map[int64]int{}
	seen := map[string]bool{}
	for _, c := range changes {
		if whole[c.SiteID] || seen[c.CertificateID] {
			continue
		}
		if _, ok := ix.sites.Get(strconv.FormatInt(c.SiteID, 10)); !ok {
			whole[c.SiteID] = true
			sites = append(sites, c.SiteID)
			continue
		}
		seen[c.CertificateID] = true
		i, ok := at[c.SiteID]
		if !ok {
			i = len(certs)
			at[c.SiteID] = i
			certs = append(certs, certUpdate{site: c.SiteID})
		}
		certs[i].ids = append(certs[i].ids, c.CertificateID)
	}
	// A site most of whose certificates changed (such as one filled while
	// the edge could not read the store) is read faster whole.
	kept := certs[:0]
	for _, u := range certs {
		if e, _ := ix.sites.Get(strconv.FormatInt(u.site, 10)); len(u.ids) > wholeSiteAfter && len(u.ids) > e.certs.Len()/2 {
			sites = append(sites, u.site)
			continue
		}
		kept = append(kept, u)
	}
	return sites, kept
}

// wholeSiteAfter is how many certificate changes of one site in one batch
// the edge applies one by one whatever the site's size; past it, and past
// half the site's certificates, it reloads the site whole.
const wholeSiteAfter = 64

// Stale reports whether the last refresh failed: the edge serves its last
// good index.
func (e *Edge) Stale() bool { return e.stale.Load() }

// TLSConfig is the configuration of the HTTPS listener.
func (e *Edge) TLSConfig() *tls.Config { return e.base }

// GetCertificate picks the certificate for a handshake: for the host's
// exact name before a wildcard, one the client supports, preferring ECDSA
// and Ed25519 keys over RSA and the later NotAfter; an expired certificate
// only when nothing else covers the host. For a host that no active site
// with HTTPS on covers (nor for a paused site's host, nor for a site with
// IPv6 off on an IPv6 connection, nor for a name the host's SNI allowlist
// leaves out), it returns no certificate, so the handshake fails with
// unrecognized_name. A hello without SNI is for the NoSNIHost, if any
// (see sni.go). The returned certificate is
// shared and must not be modified.
func (e *Edge) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	host := e.helloHost(hello) // the SNI, or the NoSNIHost (sni.go)
	if host == "" {
		return noCertificate(hello)
	}
	ix := e.index.Load()
	now := e.now()
	exact, wild := ix.lookupExact(host), candidates(nil)
	if !anyUsable(exact, host, now, hello.Conn) {
		wild = ix.lookupWild(host)
	}
	var fallback *tls.Certificate
	for _, set := range [2]candidates{exact, wild} {
		for _, sv := range set {
			if !sv.site.answers(host, hello.Conn) {
				continue
			}
			expired := !sv.usableAt(now)
			ent := e.materialize(sv) // certcache.go
			if ent.c == nil {
				continue
			}
			c := e.staple(sv, ent, host, now)
			if c == nil { // Must-Staple without a good response (staple.go)
				continue
			}
			if expired {
				if fallback == nil {
					fallback = c
				}
				continue
			}
			if len(set) == 1 && len(wild)+len(exact) == 1 || supports(hello, ent, c) { // certcache.go
				return c, nil
			}
			if fallback == nil {
				fallback = c
			}
		}
	}
	if fallback != nil {
		return fallback, nil
	}
	return noCertificate(hello)
}

// anyUsable reports whether a candidate may serve host on conn: unexpired,
// and its site has HTTPS on for the host and terminates TLS on conn. Only
// then is the wildcard lookup unneeded.
func anyUsable(c candidates, host string, now time.Time, conn net.Conn) bool {
	for _, sv := range c {
		if sv.usableAt(now) && sv.site.answers(host, conn) {
			return true
		}
	}
	return false
}

// h2Possible reports whether HTTP/2 can work with a policy's TLS settings:
// it needs TLS 1.2 or later and, below 1.3, an ECDHE AEAD suite (RFC 7540 §9.2).
func h2Possible(hp *HostPolicy) bool {
	if hp.MaxVersion < tls.VersionTLS12 {
		return false
	}
	if hp.MaxVersion >= tls.VersionTLS13 || hp.CipherSuites == nil {
		return true
	}
	for _, id := range hp.CipherSuites {
		name := tls.CipherSuiteName(id)
		if strings.HasPrefix(name, "TLS_ECDHE_") && (strings.Contains(name, "_GCM_") || strings.Contains(name, "CHACHA20")) {
			return true
		}
	}
	return false
}

// acmeTLS reports whether hello is a CA's TLS-ALPN-01 validation.
func (e *Edge) acmeTLS(hello *tls.ClientHelloInfo) bool {
	return e.ACMETLS != nil && len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == e.ACMETLSProtocol
}

// configFor returns the TLS settings of the host a client names, after
// passing the connection through when the host's site is paused.
func (e *Edge) configFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	host := normalize(hello.ServerName)
	if e.passThrough(hello, host) {
		return nil, errPassed
	}
	if host == "" {
		host = e.noSNIHost() // sni.go
	}
	if host == "" {
		return nil, nil
	}
	if e.acmeTLS(hello) {
		// A CA validating TLS-ALPN-01: only the challenge certificate answers.
		if c, ok := e.ACMETLS(host); ok {
			return &tls.Config{Certificates: []tls.Certificate{*c}, NextProtos: []string{e.ACMETLSProtocol},
				MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}, nil
		}
	}
	site := e.index.Load().siteOf(host)
	if site == nil || !site.terminates(hello.Conn) {
		return nil, nil
	}
	hp := site.policy().For(host)
	ha := site.clientAuthFor(host) // mutual TLS (clientauth.go)
	if ha == nil && hp.MinVersion == tls.VersionTLS11 && hp.MaxVersion == tls.VersionTLS13 && hp.VersionsOff == 0 &&
		hp.HTTP2 && hp.CipherSuites == nil {
		return nil, nil
	}
	k := hp.key()
	if ha != nil { // the CAs asked for are part of the settings
		k += "|client-cas:" + ha.key
	}
	c, ok := e.configs.Load(k)
	if !ok {
		c, _ = e.configs.LoadOrStore(k, e.hostConfig(hp, ha))
	}
	return e.versionConfig(c.(*tls.Config), k, hp, hello), nil
}

// hostConfig makes the TLS configuration of hp, asking for client
// certificates as ha says (nil: none).
func (e *Edge) hostConfig(hp *HostPolicy, ha *hostAuth) *tls.Config {
	c := e.base.Clone()
	c.GetConfigForClient = nil
	c.MinVersion, c.MaxVersion = hp.MinVersion, hp.MaxVersion
	c.CipherSuites = hp.CipherSuites
	if !hp.HTTP2 || !h2Possible(hp) {
		c.NextProtos = []string{"http/1.1"}
	}
	if ha != nil {
		e.requireClientCert(c, ha)
	}
	return c
}
