package notify_test

import (
	"context"
	"crypto"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/notify"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
	"github.com/esacert/esacert/internal/webhook"
)

// t0 is where the tests' clocks start.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// clock is a settable clock, safe for concurrent use.
type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) Now() time.Time          { return *c.t.Load() }
func (c *clock) Set(t time.Time)         { c.t.Store(&t) }
func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// env is one database opened twice (two nodes' store handles), holding the
// site example.com, with certificate use cases on the first handle.
type env struct {
	stores [2]*sqlstore.Store
	certs  *cert.Service
	site   site.Site
	clk    *clock
	ca     *pkitest.CA
	issuer *issuer
}

// dialects runs fn on a SQLite file and, when ESACERT_TEST_POSTGRES_DSN is
// set, on a fresh PostgreSQL database.
func dialects(t *testing.T, fn func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite:"+filepath.Join(t.TempDir(), "esacert.db")) })
	t.Run("postgres", func(t *testing.T) { fn(t, storetest.PostgresDatabase(t)) })
}

func newEnv(t *testing.T, dsn string) *env {
	t.Helper()
	e := &env{clk: &clock{}}
	e.clk.Set(t0)
	for i := range e.stores {
		s, err := sqlstore.Open(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		e.stores[i] = s
	}
	k, _ := keyseal.Generate()
	sealer, _ := keyseal.New(k)
	sites := &site.Service{Store: e.stores[0], Now: e.clk.Now}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, err := sites.CreateSite(t.Context(), site.CreateSiteInput{Name: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	e.site = st
	e.ca = pkitest.NewCA(t, "Notify Test Root", t0.Add(-365*day), t0.Add(10*365*day))
	e.issuer = &issuer{ca: e.ca, clk: e.clk}
	limits := site.DefaultLimits() // no certificate quota: the fleet test needs a dozen
	for tier, l := range limits {
		l.CustomCerts = 0
		limits[tier] = l
	}
	e.certs = &cert.Service{Sites: e.stores[0], Certs: e.stores[0], Repo: e.stores[0], Sealer: sealer,
		Frees: e.stores[0], Issuer: e.issuer, Now: e.clk.Now, Limits: limits}
	return e
}

// upload puts an uploaded certificate for name, valid until notAfter, on
// the site (replacing the one with id, when set) and returns its id.
func (e *env) upload(t *testing.T, name string, notAfter time.Time, id string) string {
	t.Helper()
	leaf := e.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{name}, NotBefore: e.clk.Now().Add(-day), NotAfter: notAfter})
	c, err := e.certs.SetCertificate(t.Context(), cert.SetInput{SiteID: e.site.ID, Type: cert.TypeUpload,
		CertPEM: leaf.ChainPEM, KeyPEM: leaf.KeyPEM, ID: id, Update: id != ""})
	if err != nil {
		t.Fatal(err)
	}
	return c.ID
}

// service is a notifier on store i (node i).
func (e *env) service(i int, channels ...notify.Channel) *notify.Service {
	return &notify.Service{Store: e.stores[i], Channels: channels, Owner: "node-" + string(rune('a'+i)), Now: e.clk.Now}
}

// issuer is a fake ACME CA: it issues 90-day certificates from ca, or
// fails with fail while that is set.
type issuer struct {
	ca   *pkitest.CA
	clk  *clock
	mu   sync.Mutex
	fail *cert.IssueError
}

func (i *issuer) setFail(e *cert.IssueError) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.fail = e
}

func (i *issuer) Issue(_ context.Context, _ string, domains []string, key crypto.Signer) ([]byte, error) {
	i.mu.Lock()
	fail := i.fail
	i.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	now := i.clk.Now()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, DNSNames: domains, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * day),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, i.ca.Cert, key.Public(), i.ca.Key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func (i *issuer) HasCA(ca string) bool { return ca == "lets_encrypt" }
func (i *issuer) CanWildcard() bool    { return false }
func (i *issuer) SuggestedRenewal(context.Context, string, *x509.Certificate) (time.Time, bool) {
	return time.Time{}, false
}

// receiver is a generic webhook endpoint over TLS that checks each
// request's signature and records the notices it took. It answers with
// status(n) for its n-th request (from 1); nil means 204.
type receiver struct {
	*httptest.Server
	secret string
	status func(n int) int

	mu       sync.Mutex
	requests int
	bad      []string          // requests whose signature did not check out
	took     []notify.Notice   // notices answered with a 2xx, in order
	seen     map[string]int    // requests per notice id, whatever the answer
	stamps   map[string]string // notice id → the last timestamp it was sent with
}

func newReceiver(t *testing.T, secret string, status func(n int) int) *receiver {
	t.Helper()
	r := &receiver{secret: secret, status: status, seen: map[string]int{}, stamps: map[string]string{}}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	ts := req.Header.Get(webhook.HeaderTimestamp)
	m := hmac.New(sha256.New, []byte(r.secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	var n notify.Notice
	err := json.Unmarshal(body, &n)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	if err != nil || req.Header.Get(webhook.HeaderSignature) != "sha256="+hex.EncodeToString(m.Sum(nil)) ||
		req.Header.Get(webhook.HeaderNotice) != n.ID || req.Header.Get(webhook.HeaderEvent) != n.Event {
		r.bad = append(r.bad, string(body))
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	r.seen[n.ID]++
	r.stamps[n.ID] = ts
	status := http.StatusNoContent
	if r.status != nil {
		status = r.status(r.requests)
	}
	if status < 300 {
		r.took = append(r.took, n)
	}
	w.WriteHeader(status)
}

// taken returns the notices taken so far and checks every signature was good.
func (r *receiver) taken(t *testing.T) []notify.Notice {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		t.Fatalf("%d requests failed the signature check, the first: %s", len(r.bad), r.bad[0])
	}
	return append([]notify.Notice(nil), r.took...)
}

// channel is a generic webhook channel to r.
func (r *receiver) channel(t *testing.T, name string, clk *clock, events ...string) notify.Channel {
	t.Helper()
	s, err := webhook.New(webhook.TypeWebhook, r.URL+"/hook", r.secret, webhook.Options{Client: r.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return notify.Channel{Name: name, Events: events, Sender: s}
}

// round runs Detect then Deliver and returns what each did.
func round(t *testing.T, s *notify.Service) (detected, delivered int) {
	t.Helper()
	d, err := s.Detect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Deliver(t.Context())
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	return d, n
}
