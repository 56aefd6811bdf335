package edge

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
)

// mtlsWorld is an edge serving example.com (www. open, secure. and
// api. asking for client certificates) and other.com, with an origin that
// records what it is sent.
type mtlsWorld struct {
	t         *testing.T
	src       *memSource
	e         *Edge
	addr      string
	st        SiteState
	issuer    *pkitest.CA // plays the site's own client CA
	uploaded  *pkitest.CA // plays an uploaded client CA
	mu        sync.Mutex
	seen      http.Header
	originURL string
}

func newMTLSWorld(t *testing.T) *mtlsWorld {
	f := newFixture(t)
	w := &mtlsWorld{t: t, src: newMemSource()}
	origin := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.mu.Lock()
		w.seen = r.Header.Clone()
		w.mu.Unlock()
		io.WriteString(rw, "origin")
	}))
	t.Cleanup(origin.Close)
	addr := strings.TrimPrefix(origin.URL, "http://")
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	o, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.other.com")
	w.issuer = pkitest.NewCA(t, "Site Client CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	w.uploaded = pkitest.NewCA(t, "Uploaded Client CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	w.st = siteState(1, "example.com", site.SiteActive, c)
	w.st.Routes = []Route{{Name: "*.example.com", Origin: addr}}
	other := siteState(2, "other.com", site.SiteActive, o)
	other.Routes = []Route{{Name: "www.other.com", Origin: addr}}
	w.src.put(other)
	w.src.put(w.st)
	w.e, w.addr = startEdge(t, w.src, f.sealer)
	return w
}

// bind sets the site's client CAs (the issuer's active certificates as
// given) and applies it to the edge.
func (w *mtlsWorld) bind(cas ...ClientCA) {
	w.st.ClientCAs = cas
	w.src.put(w.st)
	w.e.Refresh(context.Background())
}

func fp(der []byte) string {
	s := sha256.Sum256(der)
	return hex.EncodeToString(s[:])
}

func clientLeaf(t *testing.T, ca *pkitest.CA, cn string) (*pkitest.Leaf, tls.Certificate) {
	leaf := ca.Leaf(t, pkitest.LeafOptions{CommonName: cn, ClientAuth: true, KeyType: "ecdsa-p256",
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)})
	pair, err := tls.X509KeyPair([]byte(leaf.CertPEM), []byte(leaf.KeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return leaf, pair
}

// client is an HTTP client of the edge presenting cert (none for nil).
func (w *mtlsWorld) client(cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, w.addr)
		}}, Timeout: 5 * time.Second}
}

// get fetches url with a forged client certificate header, and returns
// the status (0 when the connection failed) and what the origin saw.
func (w *mtlsWorld) get(c *http.Client, url string) (int, http.Header, error) {
	w.mu.Lock()
	w.seen = nil
	w.mu.Unlock()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Client-Cert-Verified", "SUCCESS")
	req.Header.Set("X-Client-Cert-Subject", "CN=forged")
	req.Header.Set("x-client-cert_fingerprint-sha256", "forged")
	req.Header.Set("Client-Cert", ":Zm9yZ2Vk:")
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	return resp.StatusCode, w.seen, nil
}

// TestClientCertificates: a host bound to client CAs refuses a visitor
// without a certificate or with another CA's at the handshake, serves one
// with a certificate of a bound CA and tells the origin who it is; a
// revoked certificate is refused on new connections and on the requests of
// an open one; other hosts and sites are untouched, and forged headers
// never reach an origin.
func TestClientCertificates(t *testing.T) {
	w := newMTLSWorld(t)
	issued, issuedPair := clientLeaf(t, w.issuer, "visitor-1")
	_, uploadedPair := clientLeaf(t, w.uploaded, "partner")
	stranger := pkitest.NewCA(t, "Stranger CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	_, strangerPair := clientLeaf(t, stranger, "stranger")
	issuerCA := ClientCA{ID: "issuer", Certs: [][]byte{w.issuer.Cert.Raw}, Hostnames: []string{"secure.example.com"},
		Issued: true, Active: []string{fp(issued.Cert.Raw)}}
	uploadedCA := ClientCA{ID: "upl", Certs: [][]byte{w.uploaded.Cert.Raw}, Hostnames: []string{"*.example.com"}}
	w.bind(issuerCA, uploadedCA)

	// www.example.com is bound to the uploaded CA (by its wildcard);
	// secure.example.com to both.
	if _, _, err := w.get(w.client(nil), "https://secure.example.com/"); err == nil {
		t.Error("no client certificate: served, want a failed handshake")
	}
	if _, _, err := w.get(w.client(&strangerPair), "https://secure.example.com/"); err == nil {
		t.Error("a certificate of another CA: served, want a failed handshake")
	}
	status, seen, err := w.get(w.client(&issuedPair), "https://secure.example.com/")
	if err != nil || status != 200 {
		t.Fatalf("an issued certificate: %d, %v", status, err)
	}
	want := map[string]string{
		"X-Client-Cert-Verified":           "SUCCESS",
		"X-Client-Cert-Subject":            "CN=visitor-1",
		"X-Client-Cert-Fingerprint-Sha256": fp(issued.Cert.Raw),
		"X-Client-Cert-Serial":             hex.EncodeToString(issued.Cert.SerialNumber.Bytes()),
		"Client-Cert":                      ":" + base64.StdEncoding.EncodeToString(issued.Cert.Raw) + ":",
	}
	for k, v := range want {
		if got := seen.Get(k); got != v {
			t.Errorf("origin saw %s: %q, want %q", k, got, v)
		}
	}
	if v := seen.Values("X-Client-Cert-Subject"); len(v) != 1 {
		t.Errorf("origin saw X-Client-Cert-Subject %q: the forged one was kept", v)
	}
	if _, ok := seen["X-Client-Cert_fingerprint-Sha256"]; ok {
		t.Error("the forged header with an underscore reached the origin")
	}
	if status, _, err := w.get(w.client(&uploadedPair), "https://www.example.com/"); err != nil || status != 200 {
		t.Errorf("a certificate of the uploaded CA on www: %d, %v", status, err)
	}
	// Another site, and forged headers on a host without mutual TLS.
	status, seen, err = w.get(w.client(nil), "https://www.other.com/")
	if err != nil || status != 200 {
		t.Fatalf("another site: %d, %v", status, err)
	}
	for k := range seen {
		if n := strings.ToLower(strings.ReplaceAll(k, "_", "-")); strings.HasPrefix(n, "x-client-cert-") || n == "client-cert" {
			t.Errorf("a visitor's %s reached the origin of a host without mutual TLS", k)
		}
	}

	// Revocation: an open keep-alive connection is answered 403 on its next
	// request, and a new handshake fails.
	keep := w.client(&issuedPair)
	if status, _, err := w.get(keep, "https://secure.example.com/"); err != nil || status != 200 {
		t.Fatalf("before revocation: %d, %v", status, err)
	}
	issuerCA.Active = nil
	w.bind(issuerCA, uploadedCA)
	if status, seen, err := w.get(keep, "https://secure.example.com/"); err != nil || status != 403 || seen != nil {
		t.Errorf("revoked, on the open connection: %d, %v, origin reached: %v; want 403 and no origin", status, err, seen != nil)
	}
	if _, _, err := w.get(w.client(&issuedPair), "https://secure.example.com/"); err == nil {
		t.Error("revoked, a new connection: served, want a failed handshake")
	}
	// The uploaded CA still works for the same host, and re-activation
	// (its fingerprint active again) lets the issued one in again.
	if status, _, err := w.get(w.client(&uploadedPair), "https://secure.example.com/"); err != nil || status != 200 {
		t.Errorf("uploaded CA after the revocation of another: %d, %v", status, err)
	}
	issuerCA.Active = []string{fp(issued.Cert.Raw)}
	w.bind(issuerCA, uploadedCA)
	if status, _, err := w.get(w.client(&issuedPair), "https://secure.example.com/"); err != nil || status != 200 {
		t.Errorf("re-activated: %d, %v", status, err)
	}

	// Plain HTTP to a host that asks for certificates is refused.
	plain := httptest.NewServer(w.e.HTTPHandler())
	defer plain.Close()
	req, _ := http.NewRequest("GET", plain.URL+"/", nil)
	req.Host = "secure.example.com"
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 403 {
		t.Errorf("plain HTTP to a host with mutual TLS: %v, %v; want 403", resp, err)
	} else {
		resp.Body.Close()
	}

	// Unbinding every CA: the host no longer asks, and the configuration
	// cache gives the default settings again.
	w.bind()
	if status, seen, err := w.get(w.client(nil), "https://secure.example.com/"); err != nil || status != 200 || seen.Get("X-Client-Cert-Verified") != "" {
		t.Errorf("unbound: %d, %v, verified header %q", status, err, seen.Get("X-Client-Cert-Verified"))
	}
}

// TestClientCertificateResumption: the edge issues no session tickets, so
// a client's session cache never resumes; and were tickets on, a resumed
// handshake of a revoked certificate would still fail, because crypto/tls
// runs VerifyConnection on resumed handshakes too.
func TestClientCertificateResumption(t *testing.T) {
	w := newMTLSWorld(t)
	issued, pair := clientLeaf(t, w.issuer, "visitor-2")
	ca := ClientCA{ID: "issuer", Certs: [][]byte{w.issuer.Cert.Raw}, Hostnames: []string{"secure.example.com"},
		Issued: true, Active: []string{fp(issued.Cert.Raw)}}
	w.bind(ca)
	cache := tls.NewLRUClientSessionCache(4)
	dial := func(addr string) (bool, error) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "secure.example.com",
			Certificates: []tls.Certificate{pair}, ClientSessionCache: cache})
		if err != nil {
			return false, err
		}
		defer conn.Close()
		// TLS 1.3: the server's verdict on the client certificate (and a
		// ticket) come after the handshake; a read surfaces them.
		conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		_, err = conn.Read(make([]byte, 1))
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			err = nil
		}
		return conn.ConnectionState().DidResume, err
	}
	for i := range 2 {
		resumed, err := dial(w.addr)
		if err != nil || resumed {
			t.Fatalf("connection %d: resumed %v, %v; want a full handshake that succeeds", i, resumed, err)
		}
	}

	// The same host's settings with session tickets on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	srv := w.e.TLSConfig().Clone()
	srv.SessionTicketsDisabled = false
	srv.GetConfigForClient = func(h *tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := w.e.configFor(h)
		if c == nil || err != nil {
			return c, err
		}
		c = c.Clone()
		c.SessionTicketsDisabled = false
		return c, nil
	}
	tl := tls.NewListener(ln, srv)
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if c.(*tls.Conn).Handshake() == nil {
					io.Copy(io.Discard, c)
				}
			}()
		}
	}()
	if _, err := dial(ln.Addr().String()); err != nil {
		t.Fatalf("first connection with tickets on: %v", err)
	}
	if resumed, err := dial(ln.Addr().String()); err != nil || !resumed {
		t.Fatalf("second connection with tickets on: resumed %v, %v; want a resumption (the test relies on it)", resumed, err)
	}
	ca.Active = nil
	w.bind(ca)
	if resumed, err := dial(ln.Addr().String()); err == nil {
		t.Errorf("a resumed session of a revoked certificate was accepted (resumed %v)", resumed)
	}
}

// TestClientCAsInSnapshot: an edge started from its snapshot asks for
// client certificates as the one that wrote it did, and accepts the same.
func TestClientCAsInSnapshot(t *testing.T) {
	w := newMTLSWorld(t)
	issued, pair := clientLeaf(t, w.issuer, "visitor-3")
	w.bind(ClientCA{ID: "issuer", Certs: [][]byte{w.issuer.Cert.Raw}, Hostnames: []string{"secure.example.com"},
		Issued: true, Active: []string{fp(issued.Cert.Raw)}})
	path := filepath.Join(t.TempDir(), "snapshot")
	if err := saveSnapshot(path, w.e.Index(), time.Now()); err != nil {
		t.Fatal(err)
	}
	states, _, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []ClientCA
	for _, st := range states {
		if st.ID == 1 {
			got = st.ClientCAs
		}
	}
	if len(got) != 1 || got[0].ID != "issuer" || !got[0].Issued || len(got[0].Active) != 1 || got[0].Hostnames[0] != "secure.example.com" {
		t.Fatalf("ClientCAs read back from the snapshot: %+v", got)
	}
	down := newMemSource()
	down.fail = true
	_, addr := serveEdge(t, &Edge{Source: down, Sealer: w.e.Sealer, Poll: time.Hour, Snapshot: path})
	w.addr = addr
	if _, _, err := w.get(w.client(nil), "https://secure.example.com/"); err == nil {
		t.Error("from the snapshot, no client certificate: served")
	}
	if status, _, err := w.get(w.client(&pair), "https://secure.example.com/"); err != nil || status != 200 {
		t.Errorf("from the snapshot, the issued certificate: %d, %v", status, err)
	}
}
