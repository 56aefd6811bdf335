package clientcert_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/site"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

// memStore keeps what the service stores, to look at it.
type memStore struct {
	issuer *clientcert.Issuer
	certs  []clientcert.Certificate
}

func (m *memStore) Site(_ context.Context, id int64) (site.Site, error) {
	if id != 42 {
		return site.Site{}, site.ErrSiteNotFound
	}
	return site.Site{ID: 42, Name: "mtls.com"}, nil
}
func (m *memStore) ClientIssuer(context.Context, int64) (clientcert.Issuer, error) {
	if m.issuer == nil {
		return clientcert.Issuer{}, clientcert.ErrNotFound
	}
	return *m.issuer, nil
}
func (m *memStore) CreateClientIssuer(_ context.Context, is clientcert.Issuer) error {
	if m.issuer != nil {
		return clientcert.ErrIssuerExists
	}
	m.issuer = &is
	return nil
}
func (m *memStore) SetClientIssuerHostnames(_ context.Context, _ int64, id string, h []string, _ time.Time) error {
	if m.issuer == nil || m.issuer.ID != id {
		return clientcert.ErrNotFound
	}
	m.issuer.Hostnames = h
	return nil
}
func (m *memStore) CreateClientCertificate(_ context.Context, c clientcert.Certificate) error {
	m.certs = append(m.certs, c)
	return nil
}
func (m *memStore) ClientCertificate(_ context.Context, _ int64, id string) (clientcert.Certificate, error) {
	for _, c := range m.certs {
		if c.ID == id {
			return c, nil
		}
	}
	return clientcert.Certificate{}, clientcert.ErrNotFound
}
func (m *memStore) ListClientCertificates(context.Context, clientcert.Filter) ([]clientcert.Certificate, int, error) {
	return m.certs, len(m.certs), nil
}
func (m *memStore) SetClientCertificateStatus(context.Context, int64, string, string, time.Time) error {
	return nil
}
func (m *memStore) DeleteClientCertificate(context.Context, int64, string) error { return nil }

func newService(t *testing.T) (*clientcert.Service, *memStore, *keyseal.Sealer) {
	mk, err := keyseal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := keyseal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	m := &memStore{}
	return &clientcert.Service{Sites: m, Store: m, Sealer: sealer, Now: func() time.Time { return now }}, m, sealer
}

func parse(t *testing.T, certPEM string) *x509.Certificate {
	blk, _ := pem.Decode([]byte(certPEM))
	if blk == nil {
		t.Fatalf("not PEM: %q", certPEM)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCreateGeneratedKey: a generated key is answered once and stored
// nowhere; the site's CA is made once, its key sealed for its id only, and
// the certificate chains to it for client authentication, valid for the
// days asked.
func TestCreateGeneratedKey(t *testing.T) {
	svc, m, sealer := newService(t)
	for _, kt := range []string{"RSA", "ECDSA"} {
		c, key, err := svc.Create(t.Context(), 42, "", kt, 365)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, "-----BEGIN PRIVATE KEY-----") {
			t.Fatalf("%s: no key answered", kt)
		}
		for _, stored := range m.certs {
			if strings.Contains(stored.CertPEM, "PRIVATE KEY") {
				t.Fatal("a private key was stored")
			}
		}
		leaf := parse(t, c.CertPEM)
		if got := leaf.NotAfter.Sub(leaf.NotBefore); got != 365*24*time.Hour {
			t.Errorf("%s: valid for %v, want 365 days", kt, got)
		}
		roots := x509.NewCertPool()
		roots.AddCert(parse(t, m.issuer.CertPEM))
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: now.Add(time.Hour),
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err != nil {
			t.Errorf("%s: the certificate does not verify for client auth against the site's CA: %v", kt, err)
		}
		if c.CAID != m.issuer.ID || c.Status != clientcert.StatusActive || c.Info.CommonName != c.ID {
			t.Errorf("%s: %+v", kt, c)
		}
	}
	if bytes.Contains(m.issuer.SealedKey, []byte("PRIVATE KEY")) {
		t.Fatal("the CA key is stored in clear")
	}
	if _, err := sealer.Open(m.issuer.SealedKey, clientcert.IssuerAAD("other")); err == nil {
		t.Error("the CA key opens for another id")
	}
}

func csr(t *testing.T, mutate func(der []byte)) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "device"},
		DNSNames: []string{"device.mtls.com"}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		mutate(der)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestCreateFromCSR: a CSR's key and names are certified, and no key is
// answered; a CSR whose signature does not verify, one that is not PEM, and
// validity out of bounds are refused naming their parameter.
func TestCreateFromCSR(t *testing.T) {
	svc, _, _ := newService(t)
	c, key, err := svc.Create(t.Context(), 42, csr(t, nil), "", 1)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" || c.Info.CommonName != "device" || len(c.Info.SANs) != 1 || c.Info.SANs[0] != "device.mtls.com" {
		t.Errorf("from a CSR: key %q, info %+v", key, c.Info)
	}
	tampered := csr(t, func(der []byte) { der[len(der)-5] ^= 0xff }) // in the signature
	for _, tc := range []struct {
		name, csr, param string
		days             int64
	}{
		{"bad_signature", tampered, "CSR", 30},
		{"not_pem", "hello", "CSR", 30},
		{"zero_days", "", "ValidityDays", 0},
		{"too_many_days", "", "ValidityDays", 3651},
	} {
		var pe *domain.ParamError
		if _, _, err := svc.Create(t.Context(), 42, tc.csr, "ECDSA", tc.days); !errors.As(err, &pe) || pe.Param != tc.param {
			t.Errorf("%s: %v, want a ParamError naming %s", tc.name, err, tc.param)
		} else if tc.name == "bad_signature" && !strings.Contains(pe.Reason, "signature") {
			t.Errorf("a tampered CSR: %v, want its signature refused", err)
		}
	}
	if _, _, err := svc.Create(t.Context(), 7, "", "ECDSA", 30); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("unknown site: %v", err)
	}
}

// TestHostnamesByAnyId: the hostnames are the site's CA's, named by its
// id, by one of its certificates' ids or by none; another id is not found.
func TestHostnamesByAnyId(t *testing.T) {
	svc, m, _ := newService(t)
	if _, id, names, err := svc.Hostnames(t.Context(), 42, ""); err != nil || id != "" || names != nil {
		t.Fatalf("before any CA: %q %v %v", id, names, err)
	}
	_, caID, names, err := svc.SetHostnames(t.Context(), 42, "", []string{"App.mtls.com.", "*.mtls.com"})
	if err != nil || caID == "" || m.issuer == nil || strings.Join(names, ",") != "app.mtls.com,*.mtls.com" {
		t.Fatalf("set without an id: %q %v %v", caID, names, err)
	}
	c, _, err := svc.Create(t.Context(), 42, "", "ECDSA", 30)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"", caID, c.ID} {
		if _, got, names, err := svc.Hostnames(t.Context(), 42, id); err != nil || got != caID || len(names) != 2 {
			t.Errorf("by %q: %q %v %v", id, got, names, err)
		}
	}
	if _, _, _, err := svc.Hostnames(t.Context(), 42, "nope"); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("another id: %v, want ErrNotFound", err)
	}
	var pe *domain.ParamError
	if _, _, _, err := svc.SetHostnames(t.Context(), 42, caID, []string{"example.org"}); !errors.As(err, &pe) || pe.Param != "Hostnames" {
		t.Errorf("a name outside the site: %v", err)
	}
}
