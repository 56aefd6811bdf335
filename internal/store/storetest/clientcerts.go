package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
)

// clientCertStore is what the mutual TLS part of the suite exercises.
type clientCertStore interface {
	site.Store
	clientca.Store
	clientcert.Store
	Revision(ctx context.Context) (int64, error)
}

func clientInfo(id string, at time.Time) certcheck.Info {
	return certcheck.Info{CommonName: "CN " + id, Issuer: "Org", IssuerCN: "Root", Serial: "2615", FingerprintSHA256: "fp" + id,
		PubAlg: "ECDSA", SigAlg: "ECDSA-SHA256", KeyBits: 256, NotBefore: at.Add(-time.Hour), NotAfter: at.Add(365 * 24 * time.Hour)}
}

func testClientCAs(t *testing.T, st Store) {
	s, ok := st.(clientCertStore)
	if !ok {
		t.Fatalf("%T keeps no client certificates", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-cc", "basic", 0, now))
	const siteA, siteB = 8300000000001, 8300000000002
	mustSite(t, s, newSite(siteA, "mtls.com", "inst-cc", now))
	mustSite(t, s, newSite(siteB, "other-mtls.com", "inst-cc", now))
	mk := func(id string, siteID int64, name string, at time.Time) clientca.CA {
		return clientca.CA{ID: id, SiteID: siteID, Name: name, CertPEM: "PEM " + id, Info: clientInfo(id, at), Created: at, Updated: at}
	}
	rev0, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.CreateClientCA(ctx, mk(fmt.Sprintf("cca%d", i), siteA, fmt.Sprintf("ca-%d", i), now.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.CreateClientCA(ctx, mk("ccax", siteA, "ca-0", now)); !errors.Is(err, clientca.ErrNameExists) {
		t.Errorf("same name on the same site = %v, want ErrNameExists", err)
	}
	if err := s.CreateClientCA(ctx, mk("ccam", 8300000000009, "m", now)); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("on a missing site = %v, want ErrSiteNotFound", err)
	}
	want := mk("cca1", siteA, "ca-1", now.Add(time.Minute))
	want.SiteName = "mtls.com"
	if got, err := s.ClientCA(ctx, siteA, "cca1"); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ClientCA (-want +got):\n%s", diff)
	}
	if _, err := s.ClientCA(ctx, siteB, "cca1"); !errors.Is(err, clientca.ErrNotFound) {
		t.Errorf("through another site = %v, want ErrNotFound", err)
	}
	list, total, err := s.ListClientCAs(ctx, clientca.Filter{SiteID: siteA, Page: domain.Page{Offset: 1, Limit: 1}})
	if err != nil || total != 2 || len(list) != 1 || list[0].ID != "cca0" {
		t.Errorf("second page of one = %v, %d, %v; want [cca0] of 2 (newest first)", list, total, err)
	}
	if err := s.SetClientCAHostnames(ctx, siteA, "cca1", []string{"a.mtls.com", "*.b.mtls.com"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ClientCA(ctx, siteA, "cca1"); err != nil || !cmp.Equal(got.Hostnames, []string{"a.mtls.com", "*.b.mtls.com"}) ||
		!got.Updated.Equal(now.Add(time.Hour)) {
		t.Errorf("after SetClientCAHostnames: %v, %v, %v", got.Hostnames, got.Updated, err)
	}
	if err := s.SetClientCAHostnames(ctx, siteB, "cca1", nil, now); !errors.Is(err, clientca.ErrNotFound) {
		t.Errorf("hostnames through another site = %v, want ErrNotFound", err)
	}
	if err := s.DeleteClientCA(ctx, siteA, "cca0"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClientCA(ctx, siteA, "cca0"); !errors.Is(err, clientca.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	if rev, _ := s.Revision(ctx); rev != rev0+4 {
		t.Errorf("revision after 2 uploads, a hostname change and a delete = %d, want %d (each is a change of the edge)", rev, rev0+4)
	}
	for _, id := range []string{"ccan1", "ccan2"} { // without a name: any number
		if err := s.CreateClientCA(ctx, mk(id, siteA, "", now)); err != nil {
			t.Errorf("a second client CA without a name: %v", err)
		}
		if err := s.DeleteClientCA(ctx, siteA, id); err != nil {
			t.Error(err)
		}
	}
	if err := s.DeleteSite(ctx, siteA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientCA(ctx, siteA, "cca1"); !errors.Is(err, clientca.ErrNotFound) {
		t.Errorf("client CA of a deleted site = %v, want ErrNotFound", err)
	}
}

func testClientCerts(t *testing.T, st Store) {
	s, ok := st.(clientCertStore)
	if !ok {
		t.Fatalf("%T keeps no client certificates", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-ci", "basic", 0, now))
	const siteA, siteB = 8400000000001, 8400000000002
	mustSite(t, s, newSite(siteA, "issued.com", "inst-ci", now))
	mustSite(t, s, newSite(siteB, "other-issued.com", "inst-ci", now))
	if _, err := s.ClientIssuer(ctx, siteA); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("issuer before any = %v, want ErrNotFound", err)
	}
	rev0, _ := s.Revision(ctx)
	is := clientcert.Issuer{ID: "iss-a", SiteID: siteA, CertPEM: "PEM iss-a", SealedKey: []byte{1, 2, 0, 0xfe},
		Info: clientInfo("iss-a", now), Created: now, Updated: now}
	if err := s.CreateClientIssuer(ctx, is); err != nil {
		t.Fatal(err)
	}
	// One CA per site, even when two requests make one at once.
	second := is
	second.ID = "iss-a2"
	if err := s.CreateClientIssuer(ctx, second); !errors.Is(err, clientcert.ErrIssuerExists) {
		t.Errorf("a second issuer = %v, want ErrIssuerExists", err)
	}
	n := race(t, 4, clientcert.ErrIssuerExists, func(i int) error {
		x := is
		x.ID, x.SiteID = fmt.Sprintf("iss-b%d", i), siteB
		return s.CreateClientIssuer(ctx, x)
	})
	if n != 1 {
		t.Errorf("%d concurrent issuers of one site were made, want 1", n)
	}
	if err := s.CreateClientIssuer(ctx, clientcert.Issuer{ID: "iss-m", SiteID: 8400000000009, SealedKey: []byte{1}}); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("issuer of a missing site = %v, want ErrSiteNotFound", err)
	}
	if got, err := s.ClientIssuer(ctx, siteA); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(is, got); diff != "" {
		t.Errorf("ClientIssuer (-want +got):\n%s", diff)
	}
	if err := s.SetClientIssuerHostnames(ctx, siteA, "iss-a", []string{"x.issued.com"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetClientIssuerHostnames(ctx, siteB, "iss-a", nil, now); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("issuer hostnames through another site = %v, want ErrNotFound", err)
	}
	if got, _ := s.ClientIssuer(ctx, siteA); !cmp.Equal(got.Hostnames, []string{"x.issued.com"}) {
		t.Errorf("issuer hostnames = %v", got.Hostnames)
	}
	mk := func(id string, at time.Time) clientcert.Certificate {
		return clientcert.Certificate{ID: id, SiteID: siteA, CAID: "iss-a", Status: clientcert.StatusActive, CertPEM: "PEM " + id,
			Info: clientInfo(id, at), Created: at, Updated: at}
	}
	for i := range 3 {
		if err := s.CreateClientCertificate(ctx, mk(fmt.Sprintf("cc%d", i), now.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	want := mk("cc1", now.Add(time.Minute))
	want.SiteName = "issued.com"
	if got, err := s.ClientCertificate(ctx, siteA, "cc1"); err != nil {
		t.Fatal(err)
	} else if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ClientCertificate (-want +got):\n%s", diff)
	}
	if _, err := s.ClientCertificate(ctx, siteB, "cc1"); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("through another site = %v, want ErrNotFound", err)
	}
	list, total, err := s.ListClientCertificates(ctx, clientcert.Filter{SiteID: siteA, Page: domain.Page{Limit: 2}})
	if err != nil || total != 3 || len(list) != 2 || list[0].ID != "cc2" || list[1].ID != "cc1" {
		t.Errorf("first page of two = %v, %d, %v; want cc2, cc1 of 3", list, total, err)
	}
	if err := s.SetClientCertificateStatus(ctx, siteA, "cc1", clientcert.StatusRevoked, now.Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClientCertificate(ctx, siteA, "cc1"); got.Status != clientcert.StatusRevoked || !got.Updated.Equal(now.Add(2*time.Hour)) {
		t.Errorf("after revocation: %s at %v", got.Status, got.Updated)
	}
	if err := s.SetClientCertificateStatus(ctx, siteB, "cc1", clientcert.StatusActive, now); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("status through another site = %v, want ErrNotFound", err)
	}
	if err := s.DeleteClientCertificate(ctx, siteA, "cc0"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClientCertificate(ctx, siteA, "cc0"); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	// issuer A, issuer B, A's hostnames, 3 certificates, a revocation, a delete.
	if rev, _ := s.Revision(ctx); rev != rev0+8 {
		t.Errorf("revision = %d, want %d (each change is a change of the edge)", rev, rev0+8)
	}
	if err := s.DeleteSite(ctx, siteA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ClientIssuer(ctx, siteA); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("issuer of a deleted site = %v, want ErrNotFound", err)
	}
	if _, err := s.ClientCertificate(ctx, siteA, "cc2"); !errors.Is(err, clientcert.ErrNotFound) {
		t.Errorf("certificate of a deleted site = %v, want ErrNotFound", err)
	}
}
