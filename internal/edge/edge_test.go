package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
)

// memSource is a Source held in memory: a hand-written fake of the edge's
// view of the store. fail makes every call fail, as an unreadable database
// would. put changes a whole site; putCert and deleteCert one certificate
// of a site, recorded as a certificate change.
type memSource struct {
	mu        sync.Mutex
	rev       int64
	sites     map[int64]SiteState
	feed      []memChange
	fail      bool
	full      int  // loads of every site
	siteLoads int  // sites loaded one by one
	certLoads int  // certificates loaded one by one
	partial   bool // the feed does not reach back far enough: the edge reloads everything
}

type memChange struct {
	rev int64
	Change
}

func newMemSource() *memSource {
	return &memSource{sites: map[int64]SiteState{}}
}

// setFail makes the source's reads fail (the store unreachable), or work
// again.
func (m *memSource) setFail(fail bool) {
	m.mu.Lock()
	m.fail = fail
	m.mu.Unlock()
}

func (m *memSource) put(st SiteState) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.rev++
	m.sites[st.ID] = st
	m.feed = append(m.feed, memChange{m.rev, Change{SiteID: st.ID}})
}

// putCert adds c to its site, or replaces the certificate with its id.
func (m *memSource) putCert(c cert.Certificate) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.sites[c.SiteID]
	certs := slices.DeleteFunc(slices.Clone(st.Certificates), func(x cert.Certificate) bool { return x.ID == c.ID })
	st.Certificates = append(certs, c)
	m.sites[c.SiteID] = st
	m.rev++
	m.feed = append(m.feed, memChange{m.rev, Change{SiteID: c.SiteID, CertificateID: c.ID}})
}

// deleteCert removes the certificate id of site.
func (m *memSource) deleteCert(site int64, id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.sites[site]
	st.Certificates = slices.DeleteFunc(slices.Clone(st.Certificates), func(x cert.Certificate) bool { return x.ID == id })
	m.sites[site] = st
	m.rev++
	m.feed = append(m.feed, memChange{m.rev, Change{SiteID: site, CertificateID: id}})
}

// deleteSite removes a site.
func (m *memSource) deleteSite(id int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sites, id)
	m.rev++
	m.feed = append(m.feed, memChange{m.rev, Change{SiteID: id}})
}

func (m *memSource) Changes(_ context.Context, since int64) ([]Change, int64, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, 0, false, errors.New("database is locked")
	}
	var out []Change
	for _, c := range m.feed {
		if c.rev > since {
			out = append(out, c.Change)
		}
	}
	return out, m.rev, !m.partial, nil
}

func (m *memSource) Load(_ context.Context, ids []int64) ([]SiteState, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, 0, errors.New("database is locked")
	}
	var out []SiteState
	if ids == nil {
		m.full++
		for _, st := range m.sites {
			out = append(out, st)
		}
		return out, m.rev, nil
	}
	for _, id := range ids {
		m.siteLoads++
		st, ok := m.sites[id]
		if !ok {
			st = SiteState{ID: id}
		}
		out = append(out, st)
	}
	return out, m.rev, nil
}

func (m *memSource) LoadCertificates(_ context.Context, ids []string) ([]cert.Certificate, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return nil, errors.New("database is locked")
	}
	var out []cert.Certificate
	for _, st := range m.sites {
		for _, c := range st.Certificates {
			if slices.Contains(ids, c.ID) || slices.ContainsFunc(ids, func(id string) bool { return cert.TwinID(id) == c.ID }) {
				m.certLoads++
				c.SiteID = st.ID
				out = append(out, c)
			}
		}
	}
	return out, nil
}

var now = time.Now()

// fixture mints certificates and seals their keys like the service does.
type fixture struct {
	t      testing.TB
	ca     *pkitest.CA
	inter  *pkitest.CA
	sealer *keyseal.Sealer
	n      int
}

func newFixture(t testing.TB) *fixture {
	k, _ := keyseal.Generate()
	s, _ := keyseal.New(k)
	ca := pkitest.NewCA(t, "Edge Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	return &fixture{t: t, ca: ca, inter: ca.Intermediate(t, "Edge Intermediate", now.Add(-time.Hour), now.Add(365*24*time.Hour)), sealer: s}
}

// certificate mints a certificate for names, as the store would hand it to the edge.
func (f *fixture) certificate(kt pkitest.KeyType, notAfter time.Time, names ...string) (cert.Certificate, *pkitest.Leaf) {
	f.t.Helper()
	leaf := f.inter.Leaf(f.t, pkitest.LeafOptions{DNSNames: names, KeyType: kt, NotBefore: now.Add(-2 * time.Hour), NotAfter: notAfter})
	p, err := certcheck.Check(leaf.ChainPEM, leaf.KeyPEM, notAfter.Add(-time.Minute))
	if err != nil {
		f.t.Fatal(err)
	}
	f.n++
	c := cert.Certificate{ID: strings.Repeat("0", 31) + string(rune('a'+f.n)), Type: cert.TypeUpload, Info: p.Info}
	for _, x := range p.Chain {
		c.ChainPEM += string(pemOf(x))
	}
	if c.SealedKey, err = cert.SealKey(f.sealer, c.ID, []byte(leaf.KeyPEM)); err != nil {
		f.t.Fatal(err)
	}
	return c, leaf
}

// replacement mints an ECDSA certificate for names that replaces the one
// with id: the same id, as SetCertificate's Update keeps it, and its key
// sealed for that id.
func (f *fixture) replacement(id string, notAfter time.Time, names ...string) (cert.Certificate, *pkitest.Leaf) {
	f.t.Helper()
	c, leaf := f.certificate("ecdsa-p256", notAfter, names...)
	c.ID = id
	var err error
	if c.SealedKey, err = cert.SealKey(f.sealer, id, []byte(leaf.KeyPEM)); err != nil {
		f.t.Fatal(err)
	}
	return c, leaf
}

func siteState(id int64, name, status string, certs ...cert.Certificate) SiteState {
	return SiteState{ID: id, Site: &site.Site{ID: id, Name: name, Status: status}, Certificates: certs, Policy: DefaultSitePolicy()}
}

// pausedSite is the active site paused.test, paused, whose www.paused.test
// goes to origin: its handshakes are passed through to the origin.
func pausedSite(id int64, origin string, certs ...cert.Certificate) SiteState {
	st := siteState(id, "paused.test", site.SiteActive, certs...)
	st.Routes = []Route{{Name: "www.paused.test", Origin: origin}}
	st.Settings.Paused = true
	return st
}

// startEdge starts an edge on src and a TLS listener in front of it.
func startEdge(t testing.TB, src Source, sealer domain.Sealer) (*Edge, string) {
	t.Helper()
	return serveEdge(t, &Edge{Source: src, Sealer: sealer, Poll: time.Hour})
}

// loopbackOrigins allows the tests' origins, which listen on loopback, as
// an operator does with --private-origins 127.0.0.0/8.
var loopbackOrigins = &origin.Dialer{Policy: origin.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}}

// serveEdge starts e, quiet unless it has a Log, and a TLS listener in
// front of it. Origins on loopback are allowed unless e says otherwise.
func serveEdge(t testing.TB, e *Edge) (*Edge, string) {
	t.Helper()
	if e.Log == nil {
		e.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.Origins == nil {
		e.Origins = loopbackOrigins
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return e, listenTLS(t, e, "tcp", "127.0.0.1:0")
}

// listenTLS serves e's HTTPS on a listener of its own at address, as a
// node does (through Edge.ServeHTTPS), and returns the listener's address.
func listenTLS(t testing.TB, e *Edge, network, address string) string {
	t.Helper()
	ln, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	return serveTLS(t, e, ln)
}

// serveTLS serves e's HTTPS on ln, as a node does (through Edge.ServeHTTPS),
// and returns the listener's address.
func serveTLS(t testing.TB, e *Edge, ln net.Listener) string {
	t.Helper()
	serveHTTPSOn(t, e, ln, &http.Server{ReadHeaderTimeout: 5 * time.Second})
	return ln.Addr().String()
}

// serveHTTPSOn serves e's HTTPS on ln with srv, through Edge.ServeHTTPS;
// srv's handler is the edge's, and its ErrorLog a quiet one, unless it has
// its own. srv is closed when the test ends; the channel gets what
// ServeHTTPS returns.
func serveHTTPSOn(t testing.TB, e *Edge, ln net.Listener, srv *http.Server) <-chan error {
	t.Helper()
	if srv.Handler == nil {
		srv.Handler = e.HTTPSHandler()
	}
	if srv.ErrorLog == nil {
		srv.ErrorLog = quietErrorLog()
	}
	served := make(chan error, 1)
	go func() { served <- e.ServeHTTPS(srv, ln) }()
	t.Cleanup(func() { srv.Close() })
	return served
}

// listenHTTPS is serveHTTPSOn on a loopback listener of its own, whose
// address it returns.
func listenHTTPS(t testing.TB, e *Edge, srv *http.Server) (string, <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String(), serveHTTPSOn(t, e, ln, srv)
}

// quietErrorLog is an http.Server's ErrorLog that writes nothing.
func quietErrorLog() *log.Logger {
	return slog.NewLogLogger(slog.NewTextHandler(io.Discard, nil), slog.LevelError)
}

// shutdownAtOnce shuts srv down and fails the test unless Shutdown
// returned within 3 seconds (net/http waits 5 for a connection it thinks
// new); with is what the server held open, for the message.
func shutdownAtOnce(t *testing.T, srv *http.Server, with string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	begun := time.Now()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if took := time.Since(begun); took > 3*time.Second {
		t.Errorf("Shutdown took %s with %s, want it to return at once", took, with)
	}
}

// closedByPeer reads conn for up to ten seconds and reports whether the
// read ended because its other end closed it (not by the deadline), with
// the read's error.
func closedByPeer(conn net.Conn) (bool, error) {
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err := conn.Read(make([]byte, 1))
	return err != nil && !isTimeout(err), err
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// handshake connects with SNI name and returns the served chain.
func handshake(t *testing.T, addr, name string, cfg *tls.Config) ([]*x509.Certificate, error) {
	t.Helper()
	c := &tls.Config{ServerName: name, InsecureSkipVerify: true}
	if cfg != nil {
		c = cfg.Clone()
		c.ServerName, c.InsecureSkipVerify = name, true
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, c)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates, nil
}

// TestPendingSitesBySetting: a pending site (a new one whose ownership is not
// proven yet) is served as an active one is, unless the edge requires
// verified sites; then it is served from the moment it becomes active.
func TestPendingSitesBySetting(t *testing.T) {
	f := newFixture(t)
	leaf, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.pending.net")
	for _, requireVerified := range []bool{false, true} {
		t.Run(fmt.Sprintf("require_verified=%v", requireVerified), func(t *testing.T) {
			src := newMemSource()
			src.put(siteState(2, "pending.net", site.SitePending, leaf))
			src.put(siteState(3, "moved.net", site.SiteMoved, leaf))
			e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, RequireVerified: requireVerified})
			_, err := handshake(t, addr, "www.pending.net", nil)
			if served := err == nil; served == requireVerified {
				t.Fatalf("pending site served: %v (%v), want %v", served, err, !requireVerified)
			}
			if _, err := handshake(t, addr, "www.moved.net", nil); err == nil {
				t.Error("a moved site is served")
			}
			src.put(siteState(2, "pending.net", site.SiteActive, leaf))
			e.Refresh(context.Background())
			if _, err := handshake(t, addr, "www.pending.net", nil); err != nil {
				t.Errorf("the site, now active, is not served: %v", err)
			}
		})
	}
}

func TestCertificateSelection(t *testing.T) {
	f := newFixture(t)
	ecdsaWWW, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	rsaWWW, _ := f.certificate("rsa-2048", now.Add(90*24*time.Hour), "www.example.com")
	wild, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	expired, _ := f.certificate("ecdsa-p256", now.Add(-time.Hour), "old.example.org")
	outside, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "api.example.com", "www.other.org")
	offlineCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.offline.net")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, ecdsaWWW, rsaWWW, wild, outside))
	src.put(siteState(2, "offline.net", site.SiteOffline, offlineCert))
	src.put(siteState(3, "example.org", site.SiteActive, expired))
	_, addr := startEdge(t, src, f.sealer)

	rsaOnly := &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}}
	tests := []struct {
		name   string
		host   string
		client *tls.Config
		want   string // SAN of the served leaf, or "" for a failed handshake
	}{
		{"ok/exact_ecdsa_for_a_modern_client", "www.example.com", nil, "ecdsa:www.example.com"},
		{"ok/exact_rsa_for_an_rsa_only_client", "www.example.com", rsaOnly, "rsa:www.example.com"},
		{"ok/upper_case_and_dot", "WWW.Example.COM.", nil, "ecdsa:www.example.com"},
		{"ok/wildcard", "shop.example.com", nil, "ecdsa:*.example.com"},
		{"ok/exact_before_wildcard", "api.example.com", nil, "ecdsa:api.example.com"},
		{"ok/expired_when_nothing_else", "old.example.org", nil, "ecdsa:old.example.org"},
		{"fail/two_labels_deep", "a.b.example.com", nil, ""},
		{"fail/name_outside_the_site", "www.other.org", nil, ""},
		{"fail/unknown_name", "nothing.test", nil, ""},
		{"fail/offline_site", "www.offline.net", nil, ""},
		{"fail/no_sni", "", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain, err := handshake(t, addr, tt.host, tt.client)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("handshake for %q succeeded with %v", tt.host, chain[0].DNSNames)
				}
				if tt.host != "" && !strings.Contains(err.Error(), "unrecognized name") {
					t.Errorf("handshake failed with %v, want unrecognized_name", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("handshake for %q: %v", tt.host, err)
			}
			alg := "ecdsa"
			if chain[0].PublicKeyAlgorithm == x509.RSA {
				alg = "rsa"
			}
			if got := alg + ":" + chain[0].DNSNames[0]; got != tt.want {
				t.Errorf("served %s, want %s", got, tt.want)
			}
			// The chain goes out leaf first, then its issuer.
			if len(chain) != 2 || chain[0].CheckSignatureFrom(chain[1]) != nil {
				t.Errorf("chain is not leaf then issuer")
			}
		})
	}
}

func TestHotUpdatesAndStaleStore(t *testing.T) {
	f := newFixture(t)
	a, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "a.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, a))
	e, addr := startEdge(t, src, f.sealer)
	if _, err := handshake(t, addr, "a.example.com", nil); err != nil {
		t.Fatal(err)
	}
	// A new certificate on the site, and the first one removed.
	b, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "b.example.com")
	src.put(siteState(1, "example.com", site.SiteActive, b))
	e.Refresh(context.Background())
	if _, err := handshake(t, addr, "b.example.com", nil); err != nil {
		t.Fatalf("new certificate not served: %v", err)
	}
	if _, err := handshake(t, addr, "a.example.com", nil); err == nil {
		t.Fatal("deleted certificate still served")
	}
	// The store becomes unreadable: the last index keeps serving.
	src.setFail(true)
	e.Refresh(context.Background())
	if _, err := handshake(t, addr, "b.example.com", nil); err != nil {
		t.Fatalf("stopped serving when the store went away: %v", err)
	}
	src.setFail(false)
	src.put(SiteState{ID: 1}) // the site is deleted
	e.Refresh(context.Background())
	if _, err := handshake(t, addr, "b.example.com", nil); err == nil {
		t.Fatal("a deleted site is still served")
	}
	if e.Index().Names() != 0 {
		t.Errorf("names left after the site's deletion: %d", e.Index().Names())
	}
}

func TestPolicies(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com", "example.com")
	st := siteState(1, "example.com", site.SiteActive, c)
	off := DefaultHostPolicy()
	off.HTTPS = false
	tls13 := DefaultHostPolicy()
	tls13.MinVersion = tls.VersionTLS13
	noH2 := DefaultHostPolicy()
	noH2.HTTP2 = false
	st.Policy.Hosts = map[string]HostPolicy{"off.example.com": off, "new.example.com": tls13, "old.example.com": noH2}
	src := newMemSource()
	src.put(st)
	_, addr := startEdge(t, src, f.sealer)

	if _, err := handshake(t, addr, "off.example.com", nil); err == nil {
		t.Error("HTTPS off still serves a certificate")
	}
	if _, err := handshake(t, addr, "new.example.com", &tls.Config{MaxVersion: tls.VersionTLS12}); err == nil {
		t.Error("a TLS 1.2 client got through a TLS 1.3-only host")
	}
	if _, err := handshake(t, addr, "new.example.com", nil); err != nil {
		t.Errorf("TLS 1.3 client refused: %v", err)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "old.example.com", InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
		t.Error("HTTP/2 negotiated although it is off")
	}
	conn.Close()
	conn, err = tls.Dial("tcp", addr, &tls.Config{ServerName: "example.com", InsecureSkipVerify: true, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("ALPN negotiated %q, want h2", p)
	}
	conn.Close()
}

func TestProxy(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	var (
		mu   sync.Mutex
		seen *http.Request
	)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Clone(context.Background())
		mu.Unlock()
		if r.URL.Path == "/slow" {
			time.Sleep(2 * time.Second)
		}
		if r.URL.Path == "/hints" {
			w.Header().Set("Link", "</style.css>; rel=preload; as=style")
			w.WriteHeader(http.StatusEarlyHints)
		}
		// A policy of the origin's own: the host's HSTS setting replaces
		// it where it is on, and it passes where it is not.
		w.Header().Set("Strict-Transport-Security", "max-age=1")
		io.WriteString(w, "hello from the origin")
	}))
	defer origin.Close()
	originAddr := strings.TrimPrefix(origin.URL, "http://")
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{
		{Name: "www.example.com", Origin: originAddr},
		{Name: "cname.example.com", Origin: originAddr, OriginHost: "origin.internal"},
		{Name: "down.example.com", Origin: "127.0.0.1:1"},
	}
	hsts := DefaultHostPolicy()
	hsts.HSTS = "max-age=3600; includeSubDomains"
	force := DefaultHostPolicy()
	force.Force, force.ForceCode = true, 308
	st.Policy.Hosts = map[string]HostPolicy{"www.example.com": hsts, "cname.example.com": force}
	src := newMemSource()
	src.put(st)
	e, addr := startEdge(t, src, f.sealer)
	e.proxy = newProxy(e.log(), 500*time.Millisecond, loopbackOrigins)

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get("https://www.example.com/path?q=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from the origin" {
		t.Fatalf("proxied answer %d %q", resp.StatusCode, body)
	}
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=3600; includeSubDomains" {
		t.Errorf("HSTS headers = %q, want the host's setting alone", got)
	}
	mu.Lock()
	got := seen
	mu.Unlock()
	if got.Host != "www.example.com" || got.Header.Get("X-Forwarded-Proto") != "https" ||
		got.Header.Get("X-Forwarded-Host") != "www.example.com" || got.Header.Get("X-Forwarded-For") != "127.0.0.1" ||
		got.URL.RequestURI() != "/path?q=1" {
		t.Errorf("origin saw Host %q, headers %v, URI %s", got.Host, got.Header, got.URL.RequestURI())
	}
	resp, err = client.Get("https://cname.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=1" {
		t.Errorf("HSTS headers of a host without the setting = %q, want the origin's", got)
	}
	mu.Lock()
	if seen.Host != "origin.internal" {
		t.Errorf("follow_origin_domain: origin saw Host %q", seen.Host)
	}
	mu.Unlock()
	for path, want := range map[string]int{"/": 502} {
		resp, err = client.Get("https://down.example.com" + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("down origin: %d, want %d", resp.StatusCode, want)
		}
	}
	resp, err = client.Get("https://www.example.com/slow")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 504 {
		t.Errorf("slow origin: %d, want 504", resp.StatusCode)
	}
	if got := resp.Header.Values("Strict-Transport-Security"); len(got) != 1 || got[0] != "max-age=3600; includeSubDomains" {
		t.Errorf("HSTS headers of the edge's page for a failed origin = %q, want the host's setting", got)
	}
	// After an informational answer (103 Early Hints) the host's HSTS is
	// still the final answer's, alone.
	resp, err = client.Get("https://www.example.com/hints")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Values("Strict-Transport-Security"); resp.StatusCode != 200 || len(got) != 1 || got[0] != "max-age=3600; includeSubDomains" {
		t.Errorf("after 103 Early Hints: %d, HSTS headers %q, want the host's setting alone", resp.StatusCode, got)
	}

	// Plain HTTP: forced hosts redirect, others are proxied.
	plain := httptest.NewServer(e.HTTPHandler())
	defer plain.Close()
	plainClient := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(host, path string) *http.Response {
		req, _ := http.NewRequest("GET", plain.URL+path, nil)
		req.Host = host
		resp, err := plainClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("cname.example.com", "/a?b=c"); r.StatusCode != 308 || r.Header.Get("Location") != "https://cname.example.com/a?b=c" {
		t.Errorf("HttpsForce: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := get("www.example.com", "/"); r.StatusCode != 200 {
		t.Errorf("plain HTTP proxy: %d", r.StatusCode)
	}
	if r := get("www.example.com", "/.well-known/acme-challenge/token"); r.StatusCode != 404 {
		t.Errorf("challenge path without ACME: %d", r.StatusCode)
	}
	if r := get("nobody.test", "/"); r.StatusCode != 404 {
		t.Errorf("unknown host: %d", r.StatusCode)
	}
}

// TestPage: the edge's own pages are a short HTML page, the text escaped,
// never cached.
func TestPage(t *testing.T) {
	rec := httptest.NewRecorder()
	page(rec, http.StatusNotFound, `No site on this edge serves <a&b>.`)
	want := "<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1><p>No site on this edge serves &lt;a&amp;b&gt;.</p><hr><p>esacert</p>\n"
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}
	if rec.Code != http.StatusNotFound || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || rec.Header().Get("Cache-Control") != "no-store" {
		t.Errorf("status %d, headers %v", rec.Code, rec.Header())
	}
	// The header's values are shared by every page: adding to one page's
	// header must not write into them.
	rec.Header().Add("Cache-Control", "private")
	rec = httptest.NewRecorder()
	page(rec, http.StatusNotFound, "No site on this edge serves ", `<a&b>`, ".")
	if diff := cmp.Diff(want, rec.Body.String()); diff != "" {
		t.Errorf("body from parts (-want +got):\n%s", diff)
	}
	if got := rec.Header().Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
		t.Errorf("Cache-Control of the next page: %q", got)
	}
	for _, s := range []string{"", "plain", `<>&'"`, `a<b>c&d'e"f`, "&&", "ü<ü"} {
		if got, want := string(appendEscaped([]byte("x"), s)), "x"+html.EscapeString(s); got != want {
			t.Errorf("appendEscaped(%q) = %q, want %q", s, got, want)
		}
	}
}

// TestProxyFailPages: an origin that cannot be reached is answered 502
// "could not be reached", one that timed out 504 "did not answer in time".
func TestProxyFailPages(t *testing.T) {
	p := newProxy(slog.New(slog.DiscardHandler), time.Second, nil)
	for _, c := range []struct {
		err    error
		status int
		text   string
	}{
		{errors.New("connection refused"), http.StatusBadGateway, "could not be reached"},
		{context.DeadlineExceeded, http.StatusGatewayTimeout, "did not answer in time"},
	} {
		rec := httptest.NewRecorder()
		p.fail(rec, httptest.NewRequest("GET", "https://www.example.com/", nil), c.err)
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.text) {
			t.Errorf("%v: %d %q, want %d with %q", c.err, rec.Code, rec.Body.String(), c.status, c.text)
		}
	}
}
