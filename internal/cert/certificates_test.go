package cert_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitetest"
)

var t0 = sitetest.T0

// newService is a Service on a real SQLite file, with a settable clock and
// one site, example.com.
func newService(t *testing.T) (*cert.Service, *sitetest.Clock, site.Site) {
	e := sitetest.New(t)
	return &cert.Service{Sites: e.Store, Certs: e.Store, Repo: e.Store, Sealer: e.Sealer, Now: e.Clock.Now}, e.Clock, e.Site
}

// TestStatusFollowsTheClock: OK, then Expiring within 30 days of NotAfter,
// then Expired, as the injected clock moves; ValidOnly and
// CertificatesByRecord follow.
func TestStatusFollowsTheClock(t *testing.T) {
	svc, clk, site := newService(t)
	ctx := t.Context()
	ca := pkitest.NewCA(t, "Clock Root", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(60 * 24 * time.Hour)})
	c, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, CertPEM: leaf.ChainPEM, KeyPEM: leaf.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		at        time.Time
		status    string
		validOnly int
	}{
		{t0, cert.StatusOK, 1},
		{leaf.Cert.NotAfter.Add(-30*24*time.Hour - time.Second), cert.StatusOK, 1},
		{leaf.Cert.NotAfter.Add(-30 * 24 * time.Hour), cert.StatusExpiring, 1},
		{leaf.Cert.NotAfter.Add(-time.Second), cert.StatusExpiring, 1},
		{leaf.Cert.NotAfter, cert.StatusExpired, 0},
	}
	for _, st := range steps {
		clk.T = st.at
		got, err := svc.Certificate(ctx, site.ID, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if s := got.Status(svc.Time()); s != st.status {
			t.Errorf("at %v: Status = %s, want %s", st.at, s, st.status)
		}
		if _, n, _, err := svc.ListCertificates(ctx, site.ID, "", true, domain.Page{Limit: 10}); err != nil || n != st.validOnly {
			t.Errorf("at %v: ValidOnly count = %d, %v; want %d", st.at, n, err, st.validOnly)
		}
		m, _, err := svc.CertificatesByRecord(ctx, site.ID, []string{"www.example.com"}, false)
		if err != nil || m[0].Status != st.status {
			t.Errorf("at %v: by record = %+v, %v; want %s", st.at, m, err, st.status)
		}
	}
}

func TestSetCertificateRules(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	ca := pkitest.NewCA(t, "Rules Root", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	leaf := func(names ...string) *pkitest.Leaf {
		return ca.Leaf(t, pkitest.LeafOptions{DNSNames: names, NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(60 * 24 * time.Hour)})
	}
	a := leaf("a.example.com")
	first, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, Name: "keep-me", CertPEM: a.ChainPEM, KeyPEM: a.KeyPEM})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("replace_without_name_keeps_it", func(t *testing.T) {
		b := leaf("b.example.com")
		if _, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, ID: first.ID, CertPEM: b.ChainPEM, KeyPEM: b.KeyPEM}); err != nil {
			t.Fatal(err)
		}
		got, _ := svc.Certificate(ctx, site.ID, first.ID)
		if got.Name != "keep-me" || got.Info.SANs[0] != "b.example.com" {
			t.Errorf("after replace: name %q, SANs %v", got.Name, got.Info.SANs)
		}
	})
	t.Run("derived_name", func(t *testing.T) {
		c := leaf("c.example.com")
		got, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, CertPEM: c.ChainPEM, KeyPEM: c.KeyPEM})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(got.Name, "c.example.com-") || len(got.Name) != len("c.example.com-")+8 {
			t.Errorf("derived name %q", got.Name)
		}
	})
	t.Run("duplicate_wins_over_quota", func(t *testing.T) {
		for _, n := range []string{"d", "e", "f"} {
			l := leaf(n + ".example.com")
			if _, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, Name: n, CertPEM: l.ChainPEM, KeyPEM: l.KeyPEM}); err != nil && !errors.Is(err, cert.ErrCertQuota) {
				t.Fatal(err)
			}
		}
		// The site is full (basic: 5); sending an existing name again is a duplicate.
		g := leaf("g.example.com")
		_, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, Name: "keep-me", CertPEM: g.ChainPEM, KeyPEM: g.KeyPEM})
		if !errors.Is(err, cert.ErrCertNameExists) {
			t.Fatalf("SetCertificate of a taken name on a full site = %v, want ErrCertNameExists", err)
		}
		_, err = svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, Name: "new-one", CertPEM: g.ChainPEM, KeyPEM: g.KeyPEM})
		if !errors.Is(err, cert.ErrCertQuota) {
			t.Fatalf("one more on a full site = %v, want ErrCertQuota", err)
		}
	})
	t.Run("blank_is_missing", func(t *testing.T) {
		_, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, CertPEM: " \r\n", KeyPEM: a.KeyPEM})
		var pe *domain.ParamError
		if !errors.As(err, &pe) || pe.Param != "Certificate" || !errors.Is(err, domain.ErrMissing) {
			t.Fatalf("blank certificate = %v, want Certificate missing", err)
		}
	})
}

// TestValidationsShown: GetCertificate's DCV shows an HTTP-01 validation as
// the URL and answer, a DNS-01 one as the TXT record and value (a wildcard's
// under the name below it), and nothing for TLS-ALPN-01.
func TestValidationsShown(t *testing.T) {
	svc, clk, site := newService(t)
	store := svc.Sites.(interface {
		cert.ChallengeStore
		cert.FreeStore
	})
	svc.Challenges = store
	ctx := t.Context()
	created, err := store.CreateFree(ctx, []cert.Certificate{
		{ID: "00000000000000000000000000000001", SiteID: site.ID, Name: "www.example.com", Type: cert.TypeFree, Created: clk.Now(), Updated: clk.Now(),
			Free: cert.FreeState{Status: cert.StatusApplying, CA: "x", Next: clk.Now()}},
		{ID: "00000000000000000000000000000002", SiteID: site.ID, Name: "*.example.com", Type: cert.TypeFree, Created: clk.Now(), Updated: clk.Now(),
			Free: cert.FreeState{Status: cert.StatusApplying, CA: "x", Next: clk.Now()}}}, 0)
	if err != nil || len(created) != 2 {
		t.Fatal(created, err)
	}
	later := clk.Now().Add(time.Hour)
	store.PutChallenge(ctx, "www.example.com", "tok1", "tok1.thumb", later)
	store.PutChallenge(ctx, "www.example.com", cert.TLSALPNChallengeToken, "alpn", later)
	store.PutChallenge(ctx, "example.com", cert.DNSChallengeToken, "txt-value", later)
	www, _ := svc.Validations(ctx, created[0])
	if len(www) != 1 || www[0].Type != "HTTP" || www[0].Key != "http://www.example.com/.well-known/acme-challenge/tok1" || www[0].Value != "tok1.thumb" {
		t.Errorf("www DCV = %+v", www)
	}
	wild, _ := svc.Validations(ctx, created[1])
	if len(wild) != 1 || wild[0].Type != "DNS" || wild[0].Key != "_acme-challenge.example.com" || wild[0].Value != "txt-value" {
		t.Errorf("wildcard DCV = %+v", wild)
	}
}

// TestUploadSealedWithMark: an uploaded ECDSA key is sealed with the mark
// that its stored public key is its scalar's (checked as the upload was
// validated), so the edge builds it without checking it again; an RSA key
// is sealed without it.
func TestUploadSealedWithMark(t *testing.T) {
	e := sitetest.New(t)
	svc := &cert.Service{Sites: e.Store, Certs: e.Store, Repo: e.Store, Sealer: e.Sealer, Now: e.Clock.Now}
	ca := pkitest.NewCA(t, "Mark Upload Root", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	for kt, want := range map[pkitest.KeyType]bool{"ecdsa-p256": true, "rsa-2048": false} {
		leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, KeyType: kt,
			NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(60 * 24 * time.Hour)})
		c, err := svc.SetCertificate(t.Context(), cert.SetInput{SiteID: e.Site.ID, Type: cert.TypeUpload, CertPEM: leaf.ChainPEM, KeyPEM: leaf.KeyPEM})
		if err != nil {
			t.Fatal(err)
		}
		text, err := e.Sealer.Open(c.SealedKey, []byte("certificate:"+c.ID))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.HasSuffix(string(text), "\nesacert:checked\n"); got != want {
			t.Errorf("%s: sealed with the mark %v, want %v", kt, got, want)
		}
		if _, err := cert.OpenKeyFor(e.Sealer, c, leaf.Cert.Raw); err != nil {
			t.Errorf("%s: %v", kt, err)
		}
	}
}
