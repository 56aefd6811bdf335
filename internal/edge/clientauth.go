package edge

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"net/http"
	"sort"
	"strings"
	"sync"

	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/clientcert"
)

// Mutual TLS from visitors. On a host bound to client CAs (uploaded ones,
// and the site's own CA whose certificates esacert issues), the edge asks
// for a client certificate in the handshake and accepts only one that
// chains to one of those CAs; for the site's own CA, only a certificate
// that is active (not revoked nor deleted). A visitor without one, or with
// another, fails the handshake (certificate_required or bad_certificate):
// nothing reaches the origin. Each request is checked again against the
// index being served, so a certificate revoked while its connection stays
// open is answered 403 from the next request on (within a poll of the
// change feed). Resumed sessions are not a way around: crypto/tls resumes
// on such a host only a session that carries a client certificate, and
// VerifyConnection, which it runs on resumed handshakes too, checks that
// certificate against the current index (see resume.go).
//
// The verified identity reaches the origin in headers (clientHeaders);
// those header names are taken out of every visitor's request first, on
// every host.

// ClientCA is a CA whose certificates the edge accepts from a site's
// visitors on the hostnames bound to it.
type ClientCA struct {
	ID        string
	Certs     [][]byte // the CA's certificates, DER
	Hostnames []string // names of the site; "*.parent" binds the names one label under parent
	// Issued marks the site's own client CA: of its certificates only the
	// active ones are accepted, listed by their SHA-256 fingerprints (hex).
	Issued bool
	Active []string
}

// ClientCAs builds a site's ClientCAs from its uploaded client CAs, its
// own client CA (nil when it has none) and the fingerprints of its active
// client certificates. A CA bound to no hostname is left out.
func ClientCAs(cas []clientca.CA, issuer *clientcert.Issuer, active []string) []ClientCA {
	var out []ClientCA
	for _, c := range cas {
		if len(c.Hostnames) > 0 {
			out = append(out, ClientCA{ID: c.ID, Certs: pemDER(c.CertPEM), Hostnames: c.Hostnames})
		}
	}
	if issuer != nil && len(issuer.Hostnames) > 0 {
		out = append(out, ClientCA{ID: issuer.ID, Certs: pemDER(issuer.CertPEM), Hostnames: issuer.Hostnames,
			Issued: true, Active: active})
	}
	return out
}

// pemDER returns the DER of every CERTIFICATE block of text.
func pemDER(text string) [][]byte {
	var out [][]byte
	rest := []byte(text)
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			return out
		}
		if blk.Type == "CERTIFICATE" {
			out = append(out, blk.Bytes)
		}
	}
}

// trustedCA is a ClientCA as the edge checks certificates against it.
type trustedCA struct {
	id     string
	certs  []*x509.Certificate
	roots  map[[32]byte]bool // SHA-256 of each certificate's DER
	issued bool
	active map[string]bool // issued: hex SHA-256 of the active certificates
	key    string          // identifies the certificates, for tls.Config caching
}

// clientAuth is a site's mutual TLS: its CAs by the hostnames bound.
type clientAuth struct {
	cas   []ClientCA // as given, for the snapshot
	exact map[string][]*trustedCA
	wild  map[string][]*trustedCA // parent → the CAs bound to *.parent
	hosts sync.Map                // the set's key → *hostAuth
}

// hostAuth is what one host asks of its visitors: the union of its CAs.
type hostAuth struct {
	cas  []*trustedCA
	pool *x509.CertPool
	key  string
}

// newClientAuth prepares a site's ClientCAs; nil when none binds a hostname.
func newClientAuth(cas []ClientCA) *clientAuth {
	if len(cas) == 0 {
		return nil
	}
	a := &clientAuth{cas: cas, exact: map[string][]*trustedCA{}, wild: map[string][]*trustedCA{}}
	for _, c := range cas {
		t := &trustedCA{id: c.ID, roots: map[[32]byte]bool{}, issued: c.Issued}
		sum := sha256.New()
		for _, der := range c.Certs {
			crt, err := x509.ParseCertificate(der)
			if err != nil || !crt.IsCA { // only a CA signs what is accepted
				continue
			}
			t.certs = append(t.certs, crt)
			t.roots[sha256.Sum256(der)] = true
			sum.Write(der)
		}
		if len(t.certs) == 0 {
			continue
		}
		t.key = hex.EncodeToString(sum.Sum(nil)[:16])
		if c.Issued {
			t.key += "+issued" // the same CA uploaded too is another entry: it accepts every certificate
			t.active = make(map[string]bool, len(c.Active))
			for _, fp := range c.Active {
				t.active[strings.ToLower(fp)] = true
			}
		}
		for _, h := range c.Hostnames {
			h = normalize(h)
			if p, ok := strings.CutPrefix(h, "*."); ok {
				a.wild[p] = append(a.wild[p], t)
			} else {
				a.exact[h] = append(a.exact[h], t)
			}
		}
	}
	return a
}

// clientAuthFor returns what host asks of its visitors, or nil when it
// asks no client certificate.
func (s *siteConf) clientAuthFor(host string) *hostAuth {
	a := s.clients()
	if a == nil {
		return nil
	}
	list := a.exact[host]
	if p := parent(host); p != "" {
		if w := a.wild[p]; len(w) > 0 {
			list = append(append([]*trustedCA(nil), list...), w...)
		}
	}
	if len(list) == 0 {
		return nil
	}
	if len(list) == 1 { // the usual case: no key to build
		return a.hostAuth(list[0].key, list)
	}
	keys := make([]string, 0, len(list))
	seen := map[string]bool{}
	var cas []*trustedCA
	for _, t := range list {
		if !seen[t.key] {
			seen[t.key] = true
			keys = append(keys, t.key)
			cas = append(cas, t)
		}
	}
	sort.Strings(keys)
	return a.hostAuth(strings.Join(keys, ","), cas)
}

// hostAuth returns the hostAuth of the CAs cas, whose key is key, made on
// first need and then shared by every host with the same CAs.
func (a *clientAuth) hostAuth(key string, cas []*trustedCA) *hostAuth {
	if h, ok := a.hosts.Load(key); ok {
		return h.(*hostAuth)
	}
	h := &hostAuth{cas: cas, pool: x509.NewCertPool(), key: key}
	for _, t := range cas {
		for _, c := range t.certs {
			h.pool.AddCert(c)
		}
	}
	actual, _ := a.hosts.LoadOrStore(key, h)
	return actual.(*hostAuth)
}

// errClientCert is a client certificate the host does not accept (now).
var errClientCert = errors.New("edge: the client certificate is not accepted for this host")

// accepts checks verified chains (built against the host's pool) against
// the host's CAs as they are now: the chain's root must be one of them
// and, for the site's own CA, the certificate must be active.
func (h *hostAuth) accepts(chains [][]*x509.Certificate) error {
	for _, chain := range chains {
		if len(chain) == 0 {
			continue
		}
		root := sha256.Sum256(chain[len(chain)-1].Raw)
		for _, t := range h.cas {
			if !t.roots[root] {
				continue
			}
			if !t.issued {
				return nil
			}
			leaf := sha256.Sum256(chain[0].Raw)
			if t.active[hex.EncodeToString(leaf[:])] {
				return nil
			}
		}
	}
	return errClientCert
}

// requireClientCert makes c, a host's configuration, ask for and verify a
// client certificate against h's CAs, and check it against the index being
// served when the handshake (a resumed one too) completes.
func (e *Edge) requireClientCert(c *tls.Config, h *hostAuth) {
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = h.pool
	c.VerifyConnection = e.verifyClient
}

// verifyClient checks a handshake's client certificate against what its
// host asks now.
func (e *Edge) verifyClient(cs tls.ConnectionState) error {
	host := e.connHost(&cs) // the SNI, or the NoSNIHost (sni.go)
	site := e.index.Load().siteOf(host)
	if site == nil {
		return errClientCert
	}
	h := site.clientAuthFor(host)
	if h == nil {
		return nil // the host no longer asks for one
	}
	return h.accepts(cs.VerifiedChains)
}

// clientIdentity is the verified client certificate of a request, as the
// origin is told it.
type clientIdentity struct {
	subject, issuer, fingerprint, serial, der string
}

type identityKey struct{}

// checkClient checks the client certificate of r, which arrived over TLS
// for host, against what host asks now. It returns r with the identity to
// forward, or false when r must be refused (no certificate, or one that is
// no longer accepted: revoked, deleted, or its CA unbound).
func checkClient(r *http.Request, site *siteConf, host string) (*http.Request, bool) {
	h := site.clientAuthFor(host)
	if h == nil {
		return r, true
	}
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || h.accepts(r.TLS.VerifiedChains) != nil {
		return r, false
	}
	leaf := r.TLS.VerifiedChains[0][0]
	fp := sha256.Sum256(leaf.Raw)
	id := &clientIdentity{subject: headerSafe(leaf.Subject.String()), issuer: headerSafe(leaf.Issuer.String()),
		fingerprint: hex.EncodeToString(fp[:]), serial: hex.EncodeToString(leaf.SerialNumber.Bytes()),
		der: ":" + base64.StdEncoding.EncodeToString(leaf.Raw) + ":"}
	return r.WithContext(context.WithValue(r.Context(), identityKey{}, id)), true
}

// headerSafe escapes what may not stand in a header value: bytes below
// space, DEL and non-ASCII bytes become %XX, and so does % itself.
func headerSafe(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x7f || c == '%' {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// The headers that tell an origin the visitor's verified client
// certificate. Client-Cert is RFC 9440's (the DER as a structured-field
// byte sequence).
const (
	HeaderClientCertVerified    = "X-Client-Cert-Verified" // SUCCESS
	HeaderClientCertSubject     = "X-Client-Cert-Subject"  // RFC 2253 form
	HeaderClientCertIssuer      = "X-Client-Cert-Issuer"
	HeaderClientCertFingerprint = "X-Client-Cert-Fingerprint-Sha256" // lowercase hex
	HeaderClientCertSerial      = "X-Client-Cert-Serial"             // lowercase hex
	HeaderClientCert            = "Client-Cert"
	HeaderClientCertChain       = "Client-Cert-Chain" // never sent; stripped
)

// clientHeaders takes every client certificate header a visitor sent out
// of out (any X-Client-Cert-* header, Client-Cert and Client-Cert-Chain, in
// any case, and with underscores for dashes, which some origins take for
// the same name), then sets the ones of in's verified identity, if any.
func clientHeaders(out http.Header, in *http.Request) {
	for name := range out {
		n := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
		if strings.HasPrefix(n, "x-client-cert-") || n == "client-cert" || n == "client-cert-chain" {
			delete(out, name)
		}
	}
	id, ok := in.Context().Value(identityKey{}).(*clientIdentity)
	if !ok {
		return
	}
	out.Set(HeaderClientCertVerified, "SUCCESS")
	out.Set(HeaderClientCertSubject, id.subject)
	out.Set(HeaderClientCertIssuer, id.issuer)
	out.Set(HeaderClientCertFingerprint, id.fingerprint)
	out.Set(HeaderClientCertSerial, id.serial)
	out.Set(HeaderClientCert, id.der)
}
