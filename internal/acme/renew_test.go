package acme_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/acme"
	"github.com/esacert/esacert/internal/acme/acmetest"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

type clock struct{ t atomic.Pointer[time.Time] }

func (c *clock) Now() time.Time  { return *c.t.Load() }
func (c *clock) Set(t time.Time) { c.t.Store(&t) }

// TestRenewal issues a certificate from Pebble, then moves the injected
// clock to its renewal time (a third of the lifetime left): the renewer
// renews it under the same Id. With the CA down at renewal time the old
// certificate stays, the failure is recorded, and the next attempt after
// the backoff succeeds.
// renewEnv is a certificate service issuing from an in-process Pebble,
// with an injected clock and HTTP-01 answered from the store.
type renewEnv struct {
	svc    *cert.Service
	sealer *keyseal.Sealer
	clk    *clock
	pebble acmetest.CA
	down   *atomic.Bool
	site   site.Site
	id     string // the certificate applied for, www.<site>
}

func newRenewEnv(t *testing.T, siteName string) *renewEnv {
	t.Helper()
	httpPort := acmetest.FreePort(t)
	var down atomic.Bool
	pebble := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort, Down: &down})
	dir, rootsFile := pebble.Directory, pebble.Roots
	store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	// The HTTP-01 answers, as the edge gives them.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(httpPort))
	if err != nil {
		t.Fatal(err)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if host == "" {
			host = r.Host
		}
		v, ok, _ := store.Challenge(r.Context(), host, strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/"), time.Now())
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(v))
	}))
	t.Cleanup(func() { ln.Close() })
	pemRoots, _ := os.ReadFile(rootsFile)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemRoots)
	iss := &acme.Issuer{CAs: map[string]acme.CA{"pebble": {Directory: dir}}, Challenges: store,
		HTTPClient: &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}}
	mk, _ := keyseal.Generate()
	sealer, _ := keyseal.New(mk)
	clk := &clock{}
	clk.Set(time.Now())
	sites := &site.Service{Store: store, Now: clk.Now}
	svc := &cert.Service{Sites: store, Certs: store, Repo: store, Frees: store, Issuer: iss, Sealer: sealer, Now: clk.Now}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, err := sites.CreateSite(t.Context(), site.CreateSiteInput{Name: siteName})
	if err != nil {
		t.Fatal(err)
	}
	res, _, err := svc.ApplyCertificate(t.Context(), st.ID, "www."+siteName, "pebble")
	if err != nil {
		t.Fatal(err)
	}
	return &renewEnv{svc: svc, sealer: sealer, clk: clk, pebble: pebble, down: &down, site: st, id: res[0].ID}
}

func TestRenewal(t *testing.T) {
	env := newRenewEnv(t, "renew.com")
	svc, sealer, clk, pebble, down, site := env.svc, env.sealer, env.clk, env.pebble, env.down, env.site
	res := []cert.ApplyResult{{ID: env.id}}
	opt := cert.RenewOptions{Owner: "test", RetryBase: time.Minute}
	if n, err := svc.RenewDue(t.Context(), opt); err != nil || n != 1 {
		t.Fatalf("RenewDue = %d, %v", n, err)
	}
	first, err := svc.Certificate(t.Context(), site.ID, res[0].ID)
	if err != nil || !first.Issued() || first.Status(clk.Now()) != cert.StatusOK {
		t.Fatalf("after the first run: %+v, %v", first.Free, err)
	}
	if n, _ := svc.RenewDue(t.Context(), opt); n != 0 {
		t.Fatalf("renewed %d certificates that are not due", n)
	}

	// At the renewal time, with the CA down: the old certificate stays.
	clk.Set(first.Free.Next.Add(time.Second))
	down.Store(true)
	if n, _ := svc.RenewDue(t.Context(), opt); n != 1 {
		t.Fatalf("the due certificate was not worked on: %d", n)
	}
	failed, _ := svc.Certificate(t.Context(), site.ID, res[0].ID)
	if failed.Info.FingerprintSHA256 != first.Info.FingerprintSHA256 || failed.Free.Code != acme.CodeUnreachable ||
		failed.Status(clk.Now()) == cert.StatusExpired || !failed.Issued() || !failed.Free.Next.After(clk.Now()) {
		t.Fatalf("after a failed renewal: status %s, free %+v", failed.Status(clk.Now()), failed.Free)
	}
	if n, _ := svc.RenewDue(t.Context(), opt); n != 0 {
		t.Fatal("retried before the backoff")
	}
	// The CA is back and the backoff has passed: renewed, same Id.
	down.Store(false)
	clk.Set(failed.Free.Next.Add(time.Second))
	if n, err := svc.RenewDue(t.Context(), opt); n != 1 || err != nil {
		t.Fatalf("retry: %d, %v", n, err)
	}
	renewed, _ := svc.Certificate(t.Context(), site.ID, res[0].ID)
	if renewed.ID != first.ID || renewed.Info.FingerprintSHA256 == first.Info.FingerprintSHA256 || renewed.Free.Code != 0 ||
		renewed.Free.Attempts != 0 || !renewed.Free.Next.After(clk.Now()) {
		t.Fatalf("after the renewal: %+v", renewed.Free)
	}
	if _, err := cert.OpenKey(sealer, renewed); err != nil {
		t.Fatalf("the renewed key does not open: %v", err)
	}

	// Later the CA moves the renewal window earlier (ACME Renewal
	// Information, as before a mass revocation): the periodic check picks
	// it up and the certificate is renewed then, not at its old time.
	if renewed.Free.ARICheck.IsZero() || !renewed.Free.ARICheck.Before(renewed.Free.Next) {
		t.Fatalf("no ARI check scheduled before the renewal time: %+v", renewed.Free)
	}
	leaf, err := x509.ParseCertificate(mustPEM(t, renewed.ChainPEM))
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(renewed.Free.ARICheck.Add(time.Second))
	window := clk.Now().Add(time.Hour)
	if err := pebble.SetRenewalWindow(leaf.SerialNumber, window, window.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n, err := svc.RenewDue(t.Context(), opt); n != 1 || err != nil {
		t.Fatalf("ARI check: %d, %v", n, err)
	}
	checked, _ := svc.Certificate(t.Context(), site.ID, res[0].ID)
	if !checked.Free.Next.Equal(window) || checked.Info.FingerprintSHA256 != renewed.Info.FingerprintSHA256 ||
		!checked.Free.ARICheck.After(clk.Now()) {
		t.Fatalf("after the ARI check: next %v (want %v), free %+v", checked.Free.Next, window, checked.Free)
	}
	if n, _ := svc.RenewDue(t.Context(), opt); n != 0 {
		t.Fatal("worked on a certificate whose check is done and renewal not due")
	}
	clk.Set(window.Add(time.Second))
	if n, err := svc.RenewDue(t.Context(), opt); n != 1 || err != nil {
		t.Fatalf("renewal in the ARI window: %d, %v", n, err)
	}
	again, _ := svc.Certificate(t.Context(), site.ID, res[0].ID)
	if again.Info.FingerprintSHA256 == renewed.Info.FingerprintSHA256 {
		t.Fatal("not renewed in the window the CA suggested")
	}
}

func mustPEM(t *testing.T, s string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatal("no PEM block")
	}
	return b.Bytes
}

// TestRenewerTakesOverAfterLease: a renewer claims a certificate and dies
// (it never finishes). While its lease holds, no other renewer touches the
// certificate, so the CA sees no second order; once the lease has passed
// another renewer issues it; the dead one's late answer is refused and
// changes nothing.
func TestRenewerTakesOverAfterLease(t *testing.T) {
	env := newRenewEnv(t, "lease.com")
	ctx := t.Context()
	now := env.clk.Now()
	claimed, err := env.svc.Frees.ClaimDue(ctx, now, "dead-node", now.Add(10*time.Minute), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue = %d, %v", len(claimed), err)
	}
	opt := cert.RenewOptions{Owner: "live-node", Lease: 10 * time.Minute}
	if n, err := env.svc.RenewDue(ctx, opt); n != 0 || err != nil {
		t.Fatalf("a leased certificate was worked on by another renewer: %d, %v", n, err)
	}
	env.clk.Set(now.Add(10*time.Minute + time.Second))
	if n, err := env.svc.RenewDue(ctx, opt); n != 1 || err != nil {
		t.Fatalf("after the lease: %d, %v", n, err)
	}
	issued, err := env.svc.Certificate(ctx, env.site.ID, env.id)
	if err != nil || !issued.Issued() || issued.Status(env.clk.Now()) != cert.StatusOK {
		t.Fatalf("not issued by the second renewer: %+v, %v", issued.Free, err)
	}
	late := claimed[0]
	late.Free.Status, late.Free.Message = cert.StatusApplyFailed, "late"
	if err := env.svc.Frees.FinishFree(ctx, late, "dead-node"); !errors.Is(err, cert.ErrCertNotFound) {
		t.Errorf("the dead renewer's late finish = %v, want it refused", err)
	}
	if after, _ := env.svc.Certificate(ctx, env.site.ID, env.id); after.Free.Status != "" || !after.Issued() {
		t.Errorf("the late finish changed the certificate: %+v", after.Free)
	}
}
