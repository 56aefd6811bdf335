package origincert_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
)

var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// memStore keeps what the service stores, to look at it.
type memStore struct {
	cas     []origincert.CA
	clients []origincert.Client
}

func (m *memStore) Site(_ context.Context, id int64) (site.Site, error) {
	if id != 42 {
		return site.Site{}, site.ErrSiteNotFound
	}
	return site.Site{ID: 42, Name: "origin.com"}, nil
}
func (m *memStore) CreateOriginCA(_ context.Context, c origincert.CA) error {
	m.cas = append(m.cas, c)
	return nil
}
func (m *memStore) OriginCA(context.Context, int64, string) (origincert.CA, error) {
	return origincert.CA{}, origincert.ErrNotFound
}
func (m *memStore) ListOriginCAs(context.Context, origincert.Filter) ([]origincert.CA, int, error) {
	return nil, 0, nil
}
func (m *memStore) DeleteOriginCA(context.Context, int64, string) error {
	return origincert.ErrNotFound
}
func (m *memStore) CreateOriginClient(_ context.Context, c origincert.Client) error {
	m.clients = append(m.clients, c)
	return nil
}
func (m *memStore) OriginClient(context.Context, origincert.Scope, int64, string) (origincert.Client, error) {
	return origincert.Client{}, origincert.ErrNotFound
}
func (m *memStore) ListOriginClients(context.Context, origincert.Filter) ([]origincert.Client, int, error) {
	return nil, 0, nil
}
func (m *memStore) DeleteOriginClient(context.Context, origincert.Scope, int64, string) error {
	return origincert.ErrNotFound
}

func newService(t *testing.T) (*origincert.Service, *memStore, *keyseal.Sealer) {
	mk, err := keyseal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := keyseal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	m := &memStore{}
	return &origincert.Service{Sites: m, Store: m, Clients: m, Sealer: sealer, Now: func() time.Time { return now }}, m, sealer
}

// TestUploadClientSealsKey: the stored key is sealed (not the PEM), opens
// only with the row's id, and the upload answers no key.
func TestUploadClientSealsKey(t *testing.T) {
	svc, m, sealer := newService(t)
	ca := pkitest.NewCA(t, "Origin Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"edge.example.net"}, KeyType: "ecdsa-p256",
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	c, err := svc.UploadClient(t.Context(), origincert.ScopeHostname, 42, "", leaf.CertPEM+ca.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.clients) != 1 || bytes.Contains(m.clients[0].SealedKey, []byte("PRIVATE KEY")) {
		t.Fatalf("stored %d clients, or the key in clear", len(m.clients))
	}
	plain, err := sealer.Open(m.clients[0].SealedKey, origincert.ClientAAD(c.ID))
	if err != nil || string(plain) != leaf.KeyPEM {
		t.Errorf("the sealed key does not open to the uploaded one: %v", err)
	}
	if _, err := sealer.Open(m.clients[0].SealedKey, origincert.ClientAAD("other")); err == nil {
		t.Error("the sealed key opens for another row")
	}
	if c.Scope != origincert.ScopeHostname || m.clients[0].Scope != origincert.ScopeHostname {
		t.Errorf("scope %q, stored %q, want hostname", c.Scope, m.clients[0].Scope)
	}
	if c.Name != "" || c.Info.CommonName != leaf.Cert.Subject.CommonName { // uploaded without a name: none made up
		t.Errorf("name %q, info %+v", c.Name, c.Info)
	}
	other := pkitest.NewCA(t, "Other", now.Add(-time.Hour), now.Add(time.Hour))
	if _, err := svc.UploadClient(t.Context(), origincert.ScopeHostname, 42, "x", other.CertPEM, leaf.KeyPEM); !errors.Is(err, certcheck.ErrKeyMismatch) {
		t.Errorf("a key that does not match = %v, want ErrKeyMismatch", err)
	}
}

// TestUploadCAChecks: an expired CA is refused as SetCertificate refuses
// one, an unknown site names SiteId, a missing PEM names Certificate.
func TestUploadCAChecks(t *testing.T) {
	svc, m, _ := newService(t)
	old := pkitest.NewCA(t, "Old Root", now.Add(-48*time.Hour), now.Add(-time.Hour))
	if _, err := svc.UploadCA(t.Context(), 42, "", old.CertPEM); !errors.Is(err, certcheck.ErrExpired) {
		t.Errorf("expired CA = %v, want ErrExpired", err)
	}
	good := pkitest.NewCA(t, "Good Root", now.Add(-time.Hour), now.Add(10*24*time.Hour+time.Minute))
	if _, err := svc.UploadCA(t.Context(), 7, "", good.CertPEM); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("unknown site = %v, want ErrSiteNotFound", err)
	}
	var pe *domain.ParamError
	if _, err := svc.UploadCA(t.Context(), 42, "", " "); !errors.As(err, &pe) || pe.Param != "Certificate" {
		t.Errorf("empty PEM = %v, want a ParamError naming Certificate", err)
	}
	c, err := svc.UploadCA(t.Context(), 42, "", good.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.cas) != 1 || origincert.ValidityDays(c.Info.NotAfter, now) != 10 {
		t.Errorf("stored %d, ValidityDays %d, want 1 and 10", len(m.cas), origincert.ValidityDays(c.Info.NotAfter, now))
	}
}

func (m *memStore) SetOriginClientHostnames(context.Context, int64, string, []string, time.Time) error {
	return origincert.ErrNotFound
}
