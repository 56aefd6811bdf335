package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// h3Edge starts e with an HTTP/3 listener on a UDP port of its own beside
// its TLS listener, as a node does, and returns the TLS listener's and the
// UDP socket's addresses.
func h3Edge(t testing.TB, e *Edge) (*Edge, string, string) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, e.HTTP3Port, _ = net.SplitHostPort(pc.LocalAddr().String())
	e, addr := serveEdge(t, e)
	srv := e.HTTP3Server(e.HTTPSHandler(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	go e.ServeHTTP3(srv, pc)
	t.Cleanup(func() {
		srv.Close()
		pc.Close()
	})
	return e, addr, pc.LocalAddr().String()
}

// h3Get makes one request over a new HTTP/3 connection (quic-go's client)
// to udpAddr for https://host/, trusting roots, and returns the answer
// with its body read.
func h3Get(t *testing.T, udpAddr, host string, roots *x509.CertPool) (*http.Response, string, error) {
	t.Helper()
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		QUICConfig:      &quic.Config{HandshakeIdleTimeout: 30 * time.Second},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, udpAddr, tlsCfg, cfg) // the host named, the edge's address
		},
	}
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/h3-path", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// TestHTTP3: Http3 and the Alt-Svc settings (HTTPS basic and application
// configurations, global and per host), through quic-go's HTTP/3 client and
// crypto/tls clients: a host with Http3 on is answered over QUIC with the
// certificate a TLS handshake gets, and proxied to its origin; a host with
// Http3 off, a paused site's host and an unknown host refuse the QUIC
// handshake; Alt-Svc follows the settings; a replaced certificate is what
// the next QUIC handshake gets.
func TestHTTP3(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	// The origin advertises an alternative of its own: the edge's answers
	// carry only what the host's settings say.
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Alt-Svc", `h3=":9"; ma=60`)
		io.WriteString(w, "origin for "+r.Host+r.URL.Path)
	}))
	defer origin.Close()
	originAddr := strings.TrimPrefix(origin.URL, "http://")

	rule := func(host string) string { return `(http.host eq "` + host + `")` }
	basic := func(id int64, host string, b httpsconf.HTTPSBasic) httpsconf.HTTPSConfig {
		b.ConfigID, b.SiteID, b.ConfigType = id, 1, httpsconf.ConfigGlobal
		if host != "" {
			b.ConfigType, b.Rule, b.RuleEnable, b.Sequence = httpsconf.ConfigRule, rule(host), "on", int(id)
		}
		return b.Config()
	}
	app := func(id int64, host string, a httpsconf.HTTPSApplication) httpsconf.HTTPSConfig {
		a.ConfigID, a.SiteID, a.ConfigType = id, 1, httpsconf.ConfigGlobal
		if host != "" {
			a.ConfigType, a.Rule, a.RuleEnable, a.Sequence = httpsconf.ConfigRule, rule(host), "on", int(id)
		}
		return a.Config()
	}
	configs := []httpsconf.HTTPSConfig{
		// Http3 on site-wide, AltSvc on with its defaults site-wide.
		basic(1, "", httpsconf.HTTPSBasic{Http3: "on"}),
		app(2, "", httpsconf.HTTPSApplication{AltSvc: "on"}),
		// A max age and persist.
		app(3, "persist.example.com", httpsconf.HTTPSApplication{AltSvcMa: "600", AltSvcPersist: "on"}),
		// Clear.
		app(4, "clear.example.com", httpsconf.HTTPSApplication{AltSvcClear: "on"}),
		// AltSvc off: nothing advertised, h3 still answered.
		app(5, "quiet.example.com", httpsconf.HTTPSApplication{AltSvc: "off"}),
		// Http3 off: no QUIC, and no h3 advertised although AltSvc is on.
		basic(6, "tcp.example.com", httpsconf.HTTPSBasic{Http3: "off"}),
		// TLS 1.3 off: QUIC cannot be.
		basic(7, "old.example.com", httpsconf.HTTPSBasic{Tls13: "off"}),
		// HTTPS off.
		basic(8, "nohttps.example.com", httpsconf.HTTPSBasic{Https: "off"}),
	}
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Policy = sitePolicy(sitePolicies(configs), 1)
	for _, h := range []string{"www", "persist", "clear", "quiet", "tcp", "old", "nohttps"} {
		st.Routes = append(st.Routes, Route{Name: h + ".example.com", Origin: originAddr})
	}
	c2, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.org")
	paused := siteState(2, "example.org", site.SiteActive, c2)
	paused.Policy = sitePolicy(sitePolicies([]httpsconf.HTTPSConfig{
		{Family: httpsconf.FamilyHTTPSBasic, SiteID: 2, ConfigID: 20, ConfigType: httpsconf.ConfigGlobal, Settings: map[string]string{"Http3": "on"}},
	}), 2)
	paused.Settings = sitesetting.Settings{Paused: true}
	paused.Routes = []Route{{Name: "www.example.org", Origin: originAddr}}
	src := newMemSource()
	src.put(st)
	src.put(paused)
	e, addr, udp := h3Edge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour})
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert)
	roots.AddCert(f.inter.Cert) // the chain served may stop below the root
	port := e.HTTP3Port

	// Alt-Svc on the HTTPS (TCP) answers.
	tcp := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	defer tcp.CloseIdleConnections()
	for host, want := range map[string]string{
		"www.example.com":     `h3=":` + port + `"; ma=86400`,
		"persist.example.com": `h3=":` + port + `"; ma=600; persist=1`,
		"clear.example.com":   "clear",
		"quiet.example.com":   "",
		"tcp.example.com":     "",
		"old.example.com":     "",
	} {
		resp, err := tcp.Get("https://" + host + "/")
		if err != nil {
			t.Fatalf("%s over TCP: %v", host, err)
		}
		resp.Body.Close()
		if got := strings.Join(resp.Header.Values("Alt-Svc"), ", "); got != want || resp.StatusCode != 200 {
			t.Errorf("%s over TCP: %d, Alt-Svc %q, want %q", host, resp.StatusCode, got, want)
		}
	}

	// Over HTTP/3: the hosts with Http3 on are proxied to their origin,
	// with the certificate verified against the CA.
	for _, host := range []string{"www.example.com", "persist.example.com", "quiet.example.com", "clear.example.com"} {
		resp, body, err := h3Get(t, udp, host, roots)
		if err != nil {
			t.Fatalf("%s over HTTP/3: %v", host, err)
		}
		if resp.StatusCode != 200 || body != "origin for "+host+"/h3-path" || resp.ProtoMajor != 3 {
			t.Errorf("%s over HTTP/3: %s %d %q", host, resp.Proto, resp.StatusCode, body)
		}
		if resp.TLS == nil || resp.TLS.Version != tls.VersionTLS13 || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(mustLeaf(t, c).SerialNumber) != 0 {
			t.Errorf("%s over HTTP/3: not served the site's certificate over TLS 1.3", host)
		}
	}
	resp, _, err := h3Get(t, udp, "persist.example.com", roots)
	if err != nil || strings.Join(resp.Header.Values("Alt-Svc"), ", ") != `h3=":`+port+`"; ma=600; persist=1` {
		t.Errorf("HTTP/3 answer's Alt-Svc: %v %v", err, resp)
	}

	// Refused: Http3 off, TLS 1.3 off, HTTPS off, a paused site, no site.
	for _, host := range []string{"tcp.example.com", "old.example.com", "nohttps.example.com", "www.example.org", "unknown.example.net"} {
		if _, _, err := h3Get(t, udp, host, roots); err == nil {
			t.Errorf("%s answered over HTTP/3", host)
		} else if !isHandshakeRefusal(err) {
			t.Errorf("%s over HTTP/3: %v, want a refused handshake", host, err)
		}
	}

	// A certificate replaced on the site: the next QUIC handshake gets it.
	c3, _ := f.certificate("ecdsa-p256", now.Add(90*24*time.Hour), "*.example.com")
	st.Certificates = []cert.Certificate{c3}
	src.put(st)
	e.Refresh(context.Background())
	resp, _, err = h3Get(t, udp, "www.example.com", roots)
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.TLS.PeerCertificates[0].SerialNumber; got.Cmp(mustLeaf(t, c3).SerialNumber) != 0 {
		t.Errorf("after the certificate was replaced, HTTP/3 still served serial %v", got)
	}

	// Http3 turned off for the whole site: refused from then on, and no
	// longer advertised.
	configs[0] = basic(1, "", httpsconf.HTTPSBasic{Http3: "off"})
	st.Policy = sitePolicy(sitePolicies(configs), 1)
	src.put(st)
	e.Refresh(context.Background())
	if _, _, err := h3Get(t, udp, "www.example.com", roots); err == nil {
		t.Error("www.example.com still answered over HTTP/3 after Http3 was turned off")
	}
	resp, err = tcp.Get("https://www.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Values("Alt-Svc"); len(got) != 0 {
		t.Errorf("Alt-Svc %q after Http3 was turned off", got)
	}
}

// isHandshakeRefusal reports whether err is a QUIC connection closed by
// the server during the TLS handshake (a TLS alert as a CRYPTO_ERROR).
func isHandshakeRefusal(err error) bool {
	var te *quic.TransportError
	return errors.As(err, &te) && te.ErrorCode.IsCryptoError()
}

// mustLeaf parses the leaf of a certificate as the store hands it.
func mustLeaf(t *testing.T, c cert.Certificate) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(c.ChainPEM))
	if b == nil {
		t.Fatal("no PEM block in the chain")
	}
	leaf, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}

// h3Client is an HTTP/3 client (quic-go's) that dials udpAddr whatever the
// URL's host, with cfg (nil: trust nothing, verify nothing).
func h3Client(udpAddr string, cfg *tls.Config) *http3.Transport {
	if cfg == nil {
		cfg = &tls.Config{InsecureSkipVerify: true}
	}
	return &http3.Transport{
		TLSClientConfig: cfg,
		QUICConfig:      &quic.Config{HandshakeIdleTimeout: 30 * time.Second},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, udpAddr, tlsCfg, qc)
		},
	}
}

// h3Do makes one GET of url on a new connection of a new transport from
// mk, and returns the answer with its body read.
func h3Do(mk func() *http3.Transport, url string) (*http.Response, string, error) {
	tr := mk()
	defer tr.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}

// TestHTTP3ClientCertificates: a host bound to a client CA asks for a
// client certificate over QUIC too, and the origin is told about it.
func TestHTTP3ClientCertificates(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	var mu sync.Mutex
	var seen http.Header
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Header.Clone()
		mu.Unlock()
		io.WriteString(w, "origin")
	}))
	defer origin.Close()
	issuer := pkitest.NewCA(t, "Site Client CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	issued, pair := clientLeaf(t, issuer, "visitor-1")
	stranger := pkitest.NewCA(t, "Stranger CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	_, strangerPair := clientLeaf(t, stranger, "stranger")
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "*.example.com", Origin: strings.TrimPrefix(origin.URL, "http://")}}
	st.Policy = sitePolicy(sitePolicies([]httpsconf.HTTPSConfig{
		{Family: httpsconf.FamilyHTTPSBasic, SiteID: 1, ConfigID: 1, ConfigType: httpsconf.ConfigGlobal, Settings: map[string]string{"Http3": "on"}},
	}), 1)
	st.ClientCAs = []ClientCA{{ID: "issuer", Certs: [][]byte{issuer.Cert.Raw}, Hostnames: []string{"secure.example.com"},
		Issued: true, Active: []string{fp(issued.Cert.Raw)}}}
	src := newMemSource()
	src.put(st)
	e, _, udp := h3Edge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour})
	with := func(p *tls.Certificate) func() *http3.Transport {
		return func() *http3.Transport {
			cfg := &tls.Config{InsecureSkipVerify: true}
			if p != nil {
				cfg.Certificates = []tls.Certificate{*p}
			}
			return h3Client(udp, cfg)
		}
	}
	if _, _, err := h3Do(with(nil), "https://secure.example.com/"); err == nil {
		t.Error("no client certificate: answered over HTTP/3")
	}
	if _, _, err := h3Do(with(&strangerPair), "https://secure.example.com/"); err == nil {
		t.Error("a certificate of another CA: answered over HTTP/3")
	}
	resp, body, err := h3Do(with(&pair), "https://secure.example.com/")
	if err != nil || resp.StatusCode != 200 || body != "origin" {
		t.Fatalf("an issued certificate over HTTP/3: %v %v %q", err, resp, body)
	}
	mu.Lock()
	got := seen.Get("X-Client-Cert-Fingerprint-Sha256")
	mu.Unlock()
	if got != fp(issued.Cert.Raw) {
		t.Errorf("the origin was told fingerprint %q", got)
	}
	if resp, _, err := h3Do(with(nil), "https://www.example.com/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("a host without client certificates over HTTP/3: %v %v", err, resp)
	}

	// Revoked while a QUIC connection is open: its next request is
	// answered 403 (an answer an HTTP/3 client accepts: no Connection
	// header), and a new connection is refused.
	tr := with(&pair)()
	defer tr.Close()
	get := func() (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://secure.example.com/", nil)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	if resp, err := get(); err != nil || resp.StatusCode != 200 {
		t.Fatalf("before the revocation: %v %v", err, resp)
	}
	st.ClientCAs[0].Active = nil
	src.put(st)
	e.Refresh(context.Background())
	if resp, err := get(); err != nil || resp.StatusCode != 403 {
		t.Errorf("revoked, on the open connection: %v %v, want 403", err, resp)
	}
	if _, _, err := h3Do(with(&pair), "https://secure.example.com/"); err == nil {
		t.Error("revoked: a new QUIC connection was answered")
	}
}

// TestHTTP3Resumption: with ticket keys, a QUIC connection resumes as a
// TCP one does, and only while the certificate it was issued for is still
// the one served.
func TestHTTP3Resumption(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "origin") }))
	defer origin.Close()
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "www.example.com", Origin: strings.TrimPrefix(origin.URL, "http://")}}
	st.Policy = sitePolicy(sitePolicies([]httpsconf.HTTPSConfig{
		{Family: httpsconf.FamilyHTTPSBasic, SiteID: 1, ConfigID: 1, ConfigType: httpsconf.ConfigGlobal, Settings: map[string]string{"Http3": "on"}},
	}), 1)
	src := newMemSource()
	src.put(st)
	keys := &ticketkeyKeeper{}
	keys.init(t, f)
	e, _, udp := h3Edge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Tickets: keys.k})
	cache := tls.NewLRUClientSessionCache(8)
	mk := func() *http3.Transport {
		return h3Client(udp, &tls.Config{InsecureSkipVerify: true, ClientSessionCache: cache})
	}
	resp, _, err := h3Do(mk, "https://www.example.com/")
	if err != nil || resp.TLS.DidResume {
		t.Fatalf("first connection: %v, resumed %v", err, resp != nil && resp.TLS.DidResume)
	}
	resumed := false
	for i := 0; i < 3 && !resumed; i++ { // the ticket arrives after the handshake: it may not be there yet
		resp, _, err = h3Do(mk, "https://www.example.com/")
		if err != nil {
			t.Fatal(err)
		}
		resumed = resp.TLS.DidResume
	}
	if !resumed {
		t.Fatal("a QUIC connection with a ticket did not resume")
	}
	// The certificate replaced: the ticket no longer resumes.
	c2, _ := f.certificate("ecdsa-p256", now.Add(90*24*time.Hour), "www.example.com")
	st.Certificates = []cert.Certificate{c2}
	src.put(st)
	e.Refresh(context.Background())
	resp, _, err = h3Do(mk, "https://www.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	if resp.TLS.DidResume || resp.TLS.PeerCertificates[0].SerialNumber.Cmp(mustLeaf(t, c2).SerialNumber) != 0 {
		t.Errorf("after the certificate was replaced: resumed %v, not served the new one", resp.TLS.DidResume)
	}
}
