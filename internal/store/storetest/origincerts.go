package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
)

// originCertStore is what the origin certificates part of the suite exercises.
type originCertStore interface {
	site.Store
	origincert.Store
	Revision(ctx context.Context) (int64, error)
}

func originCA(id string, siteID int64, name string, created time.Time) origincert.CA {
	return origincert.CA{ID: id, SiteID: siteID, Name: name, CertPEM: "-----BEGIN CERTIFICATE-----\n" + id + "\n-----END CERTIFICATE-----\n",
		Info: certcheck.Info{CommonName: "Root " + id, SANs: []string{"a.example", "b.example"}, Issuer: "Org", IssuerCN: "Root " + id,
			Serial: "2615", FingerprintSHA256: "ab" + id, PubAlg: "ECDSA", SigAlg: "ECDSA-SHA256", KeyBits: 256,
			NotBefore: created.Add(-time.Hour), NotAfter: created.Add(365 * 24 * time.Hour)},
		Created: created, Updated: created}
}

func testOriginCAs(t *testing.T, st Store) {
	s, ok := st.(originCertStore)
	if !ok {
		t.Fatalf("%T keeps no origin certificates", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-o", "basic", 0, now))
	const siteA, siteB, missing = 8100000000001, 8100000000002, 8100000000009
	mustSite(t, s, newSite(siteA, "origins.com", "inst-o", now))
	mustSite(t, s, newSite(siteB, "other-origins.com", "inst-o", now))

	rev0, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		c := originCA(fmt.Sprintf("oca%d", i), siteA, fmt.Sprintf("root-%d", i), now.Add(time.Duration(i)*time.Minute))
		if err := s.CreateOriginCA(ctx, c); err != nil {
			t.Fatalf("CreateOriginCA(%s): %v", c.ID, err)
		}
	}
	if rev, err := s.Revision(ctx); err != nil || rev != rev0+3 {
		t.Errorf("revision after 3 uploads = %d, %v; want %d (each upload is a change of the edge)", rev, err, rev0+3)
	}
	// The same name on another site is fine; on the same site it is not.
	if err := s.CreateOriginCA(ctx, originCA("ocb", siteB, "root-0", now)); err != nil {
		t.Errorf("same name on another site: %v", err)
	}
	if err := s.CreateOriginCA(ctx, originCA("ocx", siteA, "root-1", now)); !errors.Is(err, origincert.ErrNameExists) {
		t.Errorf("same name on the same site = %v, want ErrNameExists", err)
	}
	// Without a name, any number of them: a name is unique only when given.
	for _, id := range []string{"ocn1", "ocn2"} {
		if err := s.CreateOriginCA(ctx, originCA(id, siteA, "", now)); err != nil {
			t.Errorf("a second origin CA without a name: %v", err)
		}
		if err := s.DeleteOriginCA(ctx, siteA, id); err != nil {
			t.Error(err)
		}
	}
	if err := s.CreateOriginCA(ctx, originCA("ocm", missing, "m", now)); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("on a missing site = %v, want ErrSiteNotFound", err)
	}

	want := originCA("oca1", siteA, "root-1", now.Add(time.Minute))
	want.SiteName = "origins.com"
	got, err := s.OriginCA(ctx, siteA, "oca1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OriginCA (-want +got):\n%s", diff)
	}
	if _, err := s.OriginCA(ctx, siteB, "oca1"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("OriginCA through another site = %v, want ErrNotFound", err)
	}

	list, total, err := s.ListOriginCAs(ctx, origincert.Filter{SiteID: siteA, Page: domain.Page{Offset: 1, Limit: 1}})
	if err != nil || total != 3 || len(list) != 1 || list[0].ID != "oca1" {
		t.Errorf("second page of one = %v, %d, %v; want [oca1] of 3 (newest first)", list, total, err)
	}
	if list, total, err := s.ListOriginCAs(ctx, origincert.Filter{SiteID: siteA, Page: domain.Page{Offset: 5, Limit: 10}}); err != nil || total != 3 || len(list) != 0 {
		t.Errorf("page past the end = %v, %d, %v", list, total, err)
	}

	if err := s.DeleteOriginCA(ctx, siteB, "oca0"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("DeleteOriginCA through another site = %v, want ErrNotFound", err)
	}
	rev1, _ := s.Revision(ctx)
	if err := s.DeleteOriginCA(ctx, siteA, "oca0"); err != nil {
		t.Fatal(err)
	}
	if rev, _ := s.Revision(ctx); rev != rev1+1 {
		t.Errorf("revision after a delete = %d, want %d", rev, rev1+1)
	}
	if err := s.DeleteOriginCA(ctx, siteA, "oca0"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	// A deleted site takes its origin certificates with it.
	if err := s.DeleteSite(ctx, siteB); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OriginCA(ctx, siteB, "ocb"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("origin CA of a deleted site = %v, want ErrNotFound", err)
	}
}

// originClientStore is what the origin client certificates part exercises.
type originClientStore interface {
	site.Store
	origincert.ClientStore
	Revision(ctx context.Context) (int64, error)
}

func testOriginClients(t *testing.T, st Store) {
	s, ok := st.(originClientStore)
	if !ok {
		t.Fatalf("%T keeps no origin client certificates", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-oc", "basic", 0, now))
	const siteA, siteB = 8200000000001, 8200000000002
	mustSite(t, s, newSite(siteA, "clients.com", "inst-oc", now))
	mustSite(t, s, newSite(siteB, "other-clients.com", "inst-oc", now))
	mk := func(id string, siteID int64, name string, at time.Time) origincert.Client {
		ca := originCA(id, siteID, name, at)
		return origincert.Client{ID: id, Scope: origincert.ScopeHostname, SiteID: siteID, Name: name, CertPEM: ca.CertPEM, ChainPEM: ca.CertPEM + ca.CertPEM,
			SealedKey: []byte{0, 1, 2, 0xff, byte(len(id))}, Hostnames: []string{"a.clients.com", "b.clients.com"},
			Info: ca.Info, Created: at, Updated: at}
	}
	rev0, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := s.CreateOriginClient(ctx, mk(fmt.Sprintf("occ%d", i), siteA, fmt.Sprintf("c-%d", i), now.Add(time.Duration(i)*time.Minute))); err != nil {
			t.Fatal(err)
		}
	}
	if rev, _ := s.Revision(ctx); rev != rev0+2 {
		t.Errorf("revision after 2 uploads = %d, want %d", rev, rev0+2)
	}
	if err := s.CreateOriginClient(ctx, mk("occx", siteA, "c-0", now)); !errors.Is(err, origincert.ErrNameExists) {
		t.Errorf("same name on the same site = %v, want ErrNameExists", err)
	}
	if err := s.CreateOriginClient(ctx, mk("occm", 8200000000009, "m", now)); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("on a missing site = %v, want ErrSiteNotFound", err)
	}
	want := mk("occ1", siteA, "c-1", now.Add(time.Minute))
	want.SiteName = "clients.com"
	got, err := s.OriginClient(ctx, origincert.ScopeHostname, siteA, "occ1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("OriginClient (-want +got):\n%s", diff)
	}
	if _, err := s.OriginClient(ctx, origincert.ScopeHostname, siteB, "occ1"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("through another site = %v, want ErrNotFound", err)
	}
	list, total, err := s.ListOriginClients(ctx, origincert.Filter{SiteID: siteA, Scope: origincert.ScopeHostname, Page: domain.Page{Limit: 10}})
	if err != nil || total != 2 || len(list) != 2 || list[0].ID != "occ1" {
		t.Errorf("list = %v, %d, %v; want occ1, occ0", list, total, err)
	}
	if err := s.SetOriginClientHostnames(ctx, siteA, "occ1", []string{"x.clients.com"}, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.OriginClient(ctx, origincert.ScopeHostname, siteA, "occ1"); err != nil || !cmp.Equal(got.Hostnames, []string{"x.clients.com"}) ||
		!got.Updated.Equal(now.Add(time.Hour)) {
		t.Errorf("after SetOriginClientHostnames: %v, %v, %v", got.Hostnames, got.Updated, err)
	}
	if err := s.SetOriginClientHostnames(ctx, siteA, "occ1", nil, now); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.OriginClient(ctx, origincert.ScopeHostname, siteA, "occ1"); got.Hostnames != nil {
		t.Errorf("cleared hostnames read %q, want none", got.Hostnames)
	}
	if err := s.SetOriginClientHostnames(ctx, siteB, "occ1", nil, now); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("through another site = %v, want ErrNotFound", err)
	}
	if err := s.DeleteOriginClient(ctx, origincert.ScopeHostname, siteA, "occ0"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOriginClient(ctx, origincert.ScopeHostname, siteA, "occ0"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("second delete = %v, want ErrNotFound", err)
	}
	if rev, _ := s.Revision(ctx); rev != rev0+5 {
		t.Errorf("revision after two hostname changes and a delete = %d, want %d", rev, rev0+5)
	}

	testSiteOriginClients(t, s, siteA, mk)
	for _, id := range []string{"occn1", "occn2"} { // without a name: any number
		c := mk(id, siteA, "", now)
		if err := s.CreateOriginClient(ctx, c); err != nil {
			t.Errorf("a second origin client certificate without a name: %v", err)
		}
		if err := s.DeleteOriginClient(ctx, c.Scope, siteA, id); err != nil {
			t.Error(err)
		}
	}
}

// testSiteOriginClients: site-level origin client certificates share the
// table but not the family. A name may be taken once per scope; each scope
// reads, lists, deletes only its own; hostnames are set on hostname-level
// ones only.
func testSiteOriginClients(t *testing.T, s originClientStore, siteA int64, mk func(id string, siteID int64, name string, at time.Time) origincert.Client) {
	ctx := t.Context()
	siteLevel := func(id, name string, at time.Time) origincert.Client {
		c := mk(id, siteA, name, at)
		c.Scope, c.Hostnames = origincert.ScopeSite, nil
		return c
	}
	rev0, _ := s.Revision(ctx)
	// c-1 is the name of a hostname-level one: another scope may take it.
	for i, name := range []string{"c-1", "s-1"} {
		if err := s.CreateOriginClient(ctx, siteLevel(fmt.Sprintf("socc%d", i), name, now.Add(time.Duration(i)*time.Hour))); err != nil {
			t.Fatalf("site-level %s: %v", name, err)
		}
	}
	if rev, _ := s.Revision(ctx); rev != rev0+2 {
		t.Errorf("revision after 2 site-level uploads = %d, want %d", rev, rev0+2)
	}
	if err := s.CreateOriginClient(ctx, siteLevel("soccx", "s-1", now)); !errors.Is(err, origincert.ErrNameExists) {
		t.Errorf("same site-level name twice = %v, want ErrNameExists", err)
	}
	want := siteLevel("socc1", "s-1", now.Add(time.Hour))
	want.SiteName = "clients.com"
	got, err := s.OriginClient(ctx, origincert.ScopeSite, siteA, "socc1")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("site-level OriginClient (-want +got):\n%s", diff)
	}
	if _, err := s.OriginClient(ctx, origincert.ScopeHostname, siteA, "socc1"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("a site-level one read as hostname-level = %v, want ErrNotFound", err)
	}
	if _, err := s.OriginClient(ctx, origincert.ScopeSite, siteA, "occ1"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("a hostname-level one read as site-level = %v, want ErrNotFound", err)
	}
	list, total, err := s.ListOriginClients(ctx, origincert.Filter{SiteID: siteA, Scope: origincert.ScopeSite, Page: domain.Page{Limit: 10}})
	if err != nil || total != 2 || len(list) != 2 || list[0].ID != "socc1" || list[1].ID != "socc0" {
		t.Errorf("site-level list = %v, %d, %v; want socc1, socc0", list, total, err)
	}
	if _, total, _ := s.ListOriginClients(ctx, origincert.Filter{SiteID: siteA, Scope: origincert.ScopeHostname, Page: domain.Page{Limit: 10}}); total != 1 {
		t.Errorf("hostname-level list counts %d, want 1 (site-level ones are not in it)", total)
	}
	if err := s.SetOriginClientHostnames(ctx, siteA, "socc1", []string{"a.clients.com"}, now); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("hostnames on a site-level one = %v, want ErrNotFound", err)
	}
	if err := s.DeleteOriginClient(ctx, origincert.ScopeHostname, siteA, "socc1"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("a site-level one deleted as hostname-level = %v, want ErrNotFound", err)
	}
	rev1, _ := s.Revision(ctx)
	if err := s.DeleteOriginClient(ctx, origincert.ScopeSite, siteA, "socc1"); err != nil {
		t.Fatal(err)
	}
	if rev, _ := s.Revision(ctx); rev != rev1+1 {
		t.Errorf("revision after a site-level delete = %d, want %d", rev, rev1+1)
	}
	if err := s.DeleteOriginClient(ctx, origincert.ScopeSite, siteA, "socc1"); !errors.Is(err, origincert.ErrNotFound) {
		t.Errorf("second site-level delete = %v, want ErrNotFound", err)
	}
}
