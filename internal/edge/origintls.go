package edge

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/origincert"
)

// target is where one proxied request goes, as its host's origin rules
// (OriginPolicy) and its route say.
type target struct {
	scheme  string        // http or https
	addr    string        // host:port
	host    string        // the Host header
	sni     string        // https: the server name sent and verified
	verify  bool          // https: verify the certificate against the system roots and trust's CAs
	timeout time.Duration // the response header timeout; 0: the edge's default
	// trust is the site's origin CAs (and client certificates), nil when
	// it has none; https with verify only.
	trust *siteOrigin
	// client is the origin client certificate to present when the origin
	// asks for one; https with OriginMtls on and a certificate for the
	// host only.
	client *originClient
}

// targetKey is the context key of a proxied request's *target.
type targetKey struct{}

// targetOf resolves where r goes: rt's origin, changed by the origin
// policy of r's host.
func targetOf(r *http.Request, rt *route) *target {
	op := rt.site.policy().For(hostOf(r)).Origin
	t := &target{scheme: "http", addr: rt.origin, host: r.Host, timeout: op.ReadTimeout}
	if rt.originHost != "" {
		t.host = rt.originHost
	}
	if op.Host != "" {
		t.host = op.Host
	}
	switch op.Scheme {
	case "https":
		t.scheme = "https"
	case "follow":
		if r.TLS != nil {
			t.scheme = "https"
		}
	}
	host, port, err := net.SplitHostPort(rt.origin)
	if err != nil {
		host = rt.origin
	}
	if t.scheme == "https" {
		port = "443"
		if op.HTTPSPort > 0 {
			port = strconv.Itoa(op.HTTPSPort)
		}
		t.sni, t.verify = op.SNI, op.Verify
		if t.sni == "" {
			t.sni = hostWithoutPort(t.host)
		}
		if so := rt.site.origin(); so != nil {
			if t.verify && so.caKey != "" {
				t.trust = so
			}
			if op.Mtls {
				t.client = so.clientFor(hostOf(r))
			}
		}
	} else if op.HTTPPort > 0 {
		port = strconv.Itoa(op.HTTPPort)
	}
	t.addr = net.JoinHostPort(host, port)
	return t
}

func hostWithoutPort(h string) string {
	if hh, _, err := net.SplitHostPort(h); err == nil {
		return hh
	}
	return h
}

// siteOrigin is what a site configures for the edge's TLS to its origins:
// the origin CAs trusted beside the system roots (OriginVerify) and the
// origin client certificates presented to origins that ask for one
// (OriginMtls). It is immutable once built; the pool is built on first use.
type siteOrigin struct {
	cas     []origincert.CA     // ID and CertPEM only, for the snapshot
	clients []origincert.Client // newest first; what the edge uses only, for the snapshot
	// caKey is a digest of the CA set ("" for none): connections verified
	// against one set are never reused under another.
	caKey string

	poolOnce sync.Once
	pool     *x509.CertPool

	byHost map[string]*originClient // hostname-level, by exact hostname
	byWild map[string]*originClient // hostname-level, by the parent of a "*." hostname
	site   *originClient            // the newest site-level one, or nil
}

// originClient is an origin client certificate as the edge presents it.
type originClient struct {
	id     string
	chain  [][]byte // DER, leaf first
	sealed []byte   // the private key, sealed with origincert.ClientAAD(id)
}

// newSiteOrigin builds what a site's origin CAs and client certificates
// make of its origin TLS, or nil when it has none.
func newSiteOrigin(cas []origincert.CA, clients []origincert.Client) *siteOrigin {
	if len(cas) == 0 && len(clients) == 0 {
		return nil
	}
	so := &siteOrigin{}
	if len(cas) > 0 {
		pems := make([]string, 0, len(cas))
		for _, c := range cas {
			so.cas = append(so.cas, origincert.CA{ID: c.ID, CertPEM: c.CertPEM})
			pems = append(pems, c.CertPEM)
		}
		slices.Sort(pems)
		sum := sha256.New()
		for _, p := range pems {
			fmt.Fprintf(sum, "%d:%s", len(p), p)
		}
		so.caKey = hex.EncodeToString(sum.Sum(nil)[:16])
	}
	sorted := slices.Clone(clients)
	slices.SortStableFunc(sorted, func(a, b origincert.Client) int { // newest first, then by id
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	for _, c := range sorted {
		oc := &originClient{id: c.ID, sealed: c.SealedKey, chain: pemBlocks(c.ChainPEM)}
		if len(oc.chain) == 0 || len(oc.sealed) == 0 {
			continue
		}
		so.clients = append(so.clients, origincert.Client{ID: c.ID, Scope: c.Scope, ChainPEM: c.ChainPEM,
			SealedKey: c.SealedKey, Hostnames: c.Hostnames, Created: c.Created})
		switch c.Scope {
		case origincert.ScopeSite:
			if so.site == nil {
				so.site = oc
			}
		default:
			for _, h := range c.Hostnames {
				h = normalize(h)
				m, name := &so.byHost, h
				if p, ok := strings.CutPrefix(h, "*."); ok {
					m, name = &so.byWild, p
				}
				if *m == nil {
					*m = map[string]*originClient{}
				}
				if _, taken := (*m)[name]; !taken {
					(*m)[name] = oc
				}
			}
		}
	}
	return so
}

// pemBlocks returns the DER of the PEM blocks of text.
func pemBlocks(text string) [][]byte {
	var out [][]byte
	rest := []byte(text)
	for {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			return out
		}
		out = append(out, blk.Bytes)
	}
}

// clientFor returns the origin client certificate presented for host: the
// newest hostname-level one naming it (exactly, else by a "*." wildcard one
// label up), else the newest site-level one, else nil.
func (so *siteOrigin) clientFor(host string) *originClient {
	if c := so.byHost[host]; c != nil {
		return c
	}
	if p := parent(host); p != "" {
		if c := so.byWild[p]; c != nil {
			return c
		}
	}
	return so.site
}

// roots returns the pool an origin's certificate is verified against: the
// system roots and the site's origin CAs.
func (so *siteOrigin) roots() *x509.CertPool {
	so.poolOnce.Do(func() {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		for _, c := range so.cas {
			pool.AppendCertsFromPEM([]byte(c.CertPEM))
		}
		so.pool = pool
	})
	return so.pool
}

// originTransport sends each request over a transport made for its
// target's TLS settings and timeout, so that a pooled connection is only
// reused by requests that would have made it the same way: the same SNI and
// verification, the same trusted CAs and the same client certificate. A
// new CA or client certificate makes a new key, so changes apply to the
// next connection. Every connection is dialed by the origin Dialer.
type originTransport struct {
	origins *origin.Dialer
	timeout time.Duration // the edge's default response header timeout
	// sealer opens origin client certificates' keys; nil presents none.
	sealer domain.Sealer
	mu     sync.Mutex
	byKey  map[string]*keptTransport
	keys   map[string]*clientKey // origin client certificate id → its key, opened once
}

// keptTransport is a transport and when it was last handed out.
type keptTransport struct {
	tr   *http.Transport
	used time.Time
}

// clientKey is an origin client certificate with its key opened, once.
type clientKey struct {
	sealed []byte
	once   sync.Once
	cert   *tls.Certificate
	err    error
}

// maxOriginTransports bounds the transports kept (and the client keys
// opened); beyond it the idle connections of all are closed and the set
// starts again.
const maxOriginTransports = 4096

// originIdle is how long a transport no request used keeps its place: when
// a new transport is made, those unused for longer (made for CA sets or
// client certificates that are gone) are dropped and their idle
// connections closed.
const originIdle = 90 * time.Second

func (o *originTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t, _ := r.Context().Value(targetKey{}).(*target)
	if t == nil {
		return nil, errors.New("edge: a proxied request without a target")
	}
	return o.transport(t).RoundTrip(r)
}

// transportKey names the transport of t's settings.
func (o *originTransport) transportKey(t *target, timeout time.Duration) string {
	key := t.scheme + "|" + timeout.String()
	if t.scheme == "https" {
		key += "|" + t.sni + "|" + strconv.FormatBool(t.verify)
		if t.trust != nil {
			key += "|ca:" + t.trust.caKey
		}
		if t.client != nil {
			key += "|client:" + t.client.id
		}
	}
	return key
}

func (o *originTransport) transport(t *target) *http.Transport {
	timeout := t.timeout
	if timeout <= 0 {
		timeout = o.timeout
	}
	key := o.transportKey(t, timeout)
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	if kt := o.byKey[key]; kt != nil {
		kt.used = now
		return kt.tr
	}
	if o.byKey == nil || len(o.byKey) >= maxOriginTransports {
		for _, kt := range o.byKey {
			kt.tr.CloseIdleConnections()
		}
		o.byKey, o.keys = map[string]*keptTransport{}, map[string]*clientKey{}
	}
	for k, kt := range o.byKey {
		if now.Sub(kt.used) > originIdle {
			kt.tr.CloseIdleConnections()
			delete(o.byKey, k)
		}
	}
	tr := &http.Transport{
		Proxy:                 nil, // origins are reached directly
		DialContext:           o.origins.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       originIdle,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
	}
	if t.scheme == "https" {
		tr.TLSClientConfig = &tls.Config{ServerName: t.sni, InsecureSkipVerify: !t.verify, MinVersion: tls.VersionTLS12}
		if t.trust != nil {
			tr.TLSClientConfig.RootCAs = t.trust.roots()
		}
		if c := t.client; c != nil {
			tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				return o.clientCert(c)
			}
		}
		tr.ForceAttemptHTTP2 = true
		tr.TLSHandshakeTimeout = 10 * time.Second
	}
	o.byKey[key] = &keptTransport{tr: tr, used: now}
	return tr
}

// clientCert returns c with its key opened, opening it on first use (once
// per certificate id and sealed value). An origin that asks for a client
// certificate gets it whatever the CAs it names: the origin decides.
func (o *originTransport) clientCert(c *originClient) (*tls.Certificate, error) {
	o.mu.Lock()
	if o.keys == nil {
		o.keys = map[string]*clientKey{}
	}
	k := o.keys[c.id]
	if k == nil || !bytes.Equal(k.sealed, c.sealed) { // new, or re-sealed by a master key rotation
		if len(o.keys) >= maxOriginTransports {
			o.keys = map[string]*clientKey{}
		}
		k = &clientKey{sealed: c.sealed}
		o.keys[c.id] = k
	}
	o.mu.Unlock()
	k.once.Do(func() { k.cert, k.err = openClient(o.sealer, c) })
	return k.cert, k.err
}

// openClient unseals an origin client certificate's key and pairs it with
// its chain.
func openClient(sealer domain.Sealer, c *originClient) (*tls.Certificate, error) {
	if sealer == nil {
		return nil, fmt.Errorf("edge: no sealer to open origin client certificate %s", c.id)
	}
	pemKey, err := sealer.Open(c.sealed, origincert.ClientAAD(c.id))
	if err != nil {
		return nil, fmt.Errorf("edge: unseal the key of origin client certificate %s: %w: %v", c.id, domain.ErrKeyUnavailable, err)
	}
	key, err := certcheck.ParseStoredKey(string(pemKey))
	if err != nil {
		return nil, fmt.Errorf("edge: the key of origin client certificate %s: %w", c.id, err)
	}
	leaf, err := x509.ParseCertificate(c.chain[0])
	if err != nil {
		return nil, fmt.Errorf("edge: origin client certificate %s: %w", c.id, err)
	}
	return &tls.Certificate{Certificate: c.chain, PrivateKey: key, Leaf: leaf}, nil
}
