package clientca_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
)

var now = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)

type memStore struct{ cas []clientca.CA }

func (m *memStore) Site(_ context.Context, id int64) (site.Site, error) {
	if id != 42 {
		return site.Site{}, site.ErrSiteNotFound
	}
	return site.Site{ID: 42, Name: "mtls.com"}, nil
}
func (m *memStore) CreateClientCA(_ context.Context, c clientca.CA) error {
	m.cas = append(m.cas, c)
	return nil
}
func (m *memStore) ClientCA(context.Context, int64, string) (clientca.CA, error) {
	return clientca.CA{}, clientca.ErrNotFound
}
func (m *memStore) ListClientCAs(context.Context, clientca.Filter) ([]clientca.CA, int, error) {
	return nil, 0, nil
}
func (m *memStore) DeleteClientCA(context.Context, int64, string) error { return clientca.ErrNotFound }
func (m *memStore) SetClientCAHostnames(context.Context, int64, string, []string, time.Time) error {
	return nil
}

// TestUpload: a CA valid now is stored without a name when given none (a second one too); a leaf, an
// expired CA and an empty PEM are refused as such.
func TestUpload(t *testing.T) {
	m := &memStore{}
	svc := &clientca.Service{Sites: m, Store: m, Now: func() time.Time { return now }}
	ca := pkitest.NewCA(t, "Partner CA", now.Add(-time.Hour), now.Add(24*time.Hour))
	c, err := svc.Upload(t.Context(), 42, "", ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.cas) != 1 || c.Name != "" || c.Hostnames != nil {
		t.Errorf("stored %d, name %q, hostnames %v", len(m.cas), c.Name, c.Hostnames)
	}
	leaf := ca.Leaf(t, pkitest.LeafOptions{CommonName: "visitor", ClientAuth: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)})
	if _, err := svc.Upload(t.Context(), 42, "", leaf.CertPEM); !errors.Is(err, clientca.ErrNotCA) {
		t.Errorf("a client certificate = %v, want ErrNotCA", err)
	}
	old := pkitest.NewCA(t, "Old CA", now.Add(-48*time.Hour), now.Add(-time.Hour))
	if _, err := svc.Upload(t.Context(), 42, "", old.CertPEM); !errors.Is(err, certcheck.ErrExpired) {
		t.Errorf("an expired CA = %v, want ErrExpired", err)
	}
	var pe *domain.ParamError
	if _, err := svc.Upload(t.Context(), 42, "", " "); !errors.As(err, &pe) || pe.Param != "Certificate" {
		t.Errorf("an empty PEM = %v, want a ParamError naming Certificate", err)
	}
}

// TestHostnames: names are the site's or under it, lowercased without a
// trailing dot, each once, at most MaxHostnames.
func TestHostnames(t *testing.T) {
	got, err := clientca.Hostnames("mtls.com", []string{" WWW.mtls.com.", "*.api.mtls.com", "www.mtls.com", "mtls.com"})
	if err != nil || len(got) != 3 || got[0] != "www.mtls.com" || got[1] != "*.api.mtls.com" || got[2] != "mtls.com" {
		t.Errorf("Hostnames = %v, %v", got, err)
	}
	for _, bad := range [][]string{{"mtls.com.evil.net"}, {"evilmtls.com"}, {""}, make([]string, clientca.MaxHostnames+1)} {
		if _, err := clientca.Hostnames("mtls.com", bad); err == nil {
			t.Errorf("Hostnames(%q) accepted", bad)
		}
	}
}
