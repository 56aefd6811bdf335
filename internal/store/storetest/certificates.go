package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func certificate(id string, siteID int64, name, typ string, casID int64, created time.Time) cert.Certificate {
	return cert.Certificate{
		ID: id, SiteID: siteID, Name: name, Type: typ, CasID: casID, Region: "cn-hangzhou",
		CertPEM: "-----BEGIN CERTIFICATE-----\r\nas uploaded\r\n", ChainPEM: "chain", SealedKey: []byte{1, 2, 3, 0, 255},
		Info: certcheck.Info{CommonName: "CN " + name, SANs: []string{"www.example.com", "*.example.com"},
			Issuer: "Issuer Org", IssuerCN: "Issuer CA", Serial: "0a1b", FingerprintSHA256: "ff00" + id,
			PubAlg: "ECDSA", SigAlg: "ECDSA-SHA256", KeyBits: 256,
			NotBefore: created.Add(-time.Hour), NotAfter: created.Add(90 * 24 * time.Hour)},
		Created: created, Updated: created,
	}
}

func testCertificates(t *testing.T, s Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-c", "basic", 0, now))
	mustSite(t, s, newSite(6000000000001, "example.com", "inst-c", now))
	mustSite(t, s, newSite(6000000000002, "other.com", "inst-c", now))

	a := certificate("a0000000000000000000000000000000", 6000000000001, "alpha", cert.TypeUpload, 0, now)
	b := certificate("b0000000000000000000000000000000", 6000000000001, "beta", cert.TypeCAS, 30000001, now.Add(time.Second))
	b.Info.SANs = []string{"api.example.com"}
	b.Info.NotAfter = now.Add(-time.Minute) // expired at now
	for _, c := range []cert.Certificate{a, b} {
		if err := s.CreateCertificate(ctx, c, 5); err != nil {
			t.Fatalf("CreateCertificate(%s): %v", c.Name, err)
		}
	}
	got, err := s.Certificate(ctx, a.SiteID, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.SiteName = "example.com"
	if diff := cmp.Diff(a, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("Certificate (-want +got):\n%s", diff)
	}
	if _, err := s.Certificate(ctx, 6000000000002, a.ID); !errors.Is(err, cert.ErrCertNotFound) {
		t.Errorf("Certificate of another site = %v, want ErrCertNotFound", err)
	}

	fails := []struct {
		name string
		c    cert.Certificate
		want error
	}{
		{"fail/same_name", certificate("c0000000000000000000000000000000", a.SiteID, "alpha", cert.TypeUpload, 0, now), cert.ErrCertNameExists},
		{"fail/same_cas_id", certificate("d0000000000000000000000000000000", a.SiteID, "delta", cert.TypeCAS, 30000001, now), cert.ErrCasDuplicate},
		{"fail/no_site", certificate("e0000000000000000000000000000000", 42, "eps", cert.TypeUpload, 0, now), site.ErrSiteNotFound},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.CreateCertificate(ctx, tt.c, 5); !errors.Is(err, tt.want) {
				t.Fatalf("CreateCertificate = %v, want %v", err, tt.want)
			}
		})
	}
	// The same name and the same repository certificate are fine on another site.
	other := certificate("f0000000000000000000000000000000", 6000000000002, "alpha", cert.TypeCAS, 30000001, now)
	if err := s.CreateCertificate(ctx, other, 5); err != nil {
		t.Fatalf("CreateCertificate on another site: %v", err)
	}

	lists := []struct {
		name      string
		f         cert.CertFilter
		want      []string
		wantTotal int
	}{
		{"ok/newest_first", cert.CertFilter{SiteID: a.SiteID}, []string{"beta", "alpha"}, 2},
		{"ok/keyword_name", cert.CertFilter{SiteID: a.SiteID, Keyword: "ALP"}, []string{"alpha"}, 1},
		{"ok/keyword_san", cert.CertFilter{SiteID: a.SiteID, Keyword: "api.EXAMPLE"}, []string{"beta"}, 1},
		{"ok/keyword_cn", cert.CertFilter{SiteID: a.SiteID, Keyword: "cn be"}, []string{"beta"}, 1},
		{"ok/keyword_literal_percent", cert.CertFilter{SiteID: a.SiteID, Keyword: "%"}, nil, 0},
		{"ok/valid_only", cert.CertFilter{SiteID: a.SiteID, ValidAt: now}, []string{"alpha"}, 1},
		{"ok/page", cert.CertFilter{SiteID: a.SiteID, Page: domain.Page{Offset: 1, Limit: 1}}, []string{"alpha"}, 2},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			list, total, err := s.ListCertificates(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range list {
				names = append(names, c.Name)
			}
			if diff := cmp.Diff(tt.want, names); diff != "" || total != tt.wantTotal {
				t.Errorf("ListCertificates = %v (total %d), want %v (total %d)", names, total, tt.want, tt.wantTotal)
			}
		})
	}

	// Replace in place keeps the id and the creation time.
	r := certificate(a.ID, a.SiteID, "alpha2", cert.TypeUpload, 0, now.Add(time.Hour))
	r.Created = a.Created
	if err := s.ReplaceCertificate(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Certificate(ctx, a.SiteID, a.ID)
	if got.Name != "alpha2" || !got.Created.Equal(a.Created) || !got.Updated.Equal(now.Add(time.Hour)) {
		t.Errorf("after replace: %+v", got)
	}
	if err := s.ReplaceCertificate(ctx, certificate(a.ID, a.SiteID, "beta", cert.TypeUpload, 0, now)); !errors.Is(err, cert.ErrCertNameExists) {
		t.Errorf("ReplaceCertificate to a taken name = %v", err)
	}
	if err := s.ReplaceCertificate(ctx, certificate("9999", a.SiteID, "x", cert.TypeUpload, 0, now)); !errors.Is(err, cert.ErrCertNotFound) {
		t.Errorf("ReplaceCertificate(missing) = %v", err)
	}

	counts, err := s.CountCertificates(ctx, []int64{6000000000001, 6000000000002}, cert.CustomTypes)
	if err != nil || counts[6000000000001] != 2 || counts[6000000000002] != 1 {
		t.Errorf("CountCertificates = %v, %v", counts, err)
	}
	if err := s.DeleteCertificate(ctx, a.SiteID, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCertificate(ctx, a.SiteID, a.ID); !errors.Is(err, cert.ErrCertNotFound) {
		t.Errorf("DeleteCertificate(again) = %v", err)
	}
	// Deleting a site deletes its certificates.
	if err := s.DeleteSite(ctx, 6000000000002); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Certificate(ctx, 6000000000002, other.ID); !errors.Is(err, cert.ErrCertNotFound) {
		t.Errorf("a certificate outlived its site: %v", err)
	}
}

// testCertQuotaRace uploads from many goroutines at once to a site with
// room for three: exactly three must succeed.
func testCertQuotaRace(t *testing.T, s Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-r", "basic", 0, now))
	mustSite(t, s, newSite(7000000000001, "race.com", "inst-r", now))
	const n = 16
	ok := race(t, n, cert.ErrCertQuota, func(i int) error {
		c := certificate(fmt.Sprintf("%032x", i+1), 7000000000001, fmt.Sprintf("c%d", i), cert.TypeUpload, 0, now)
		return s.CreateCertificate(ctx, c, 3)
	})
	if ok != 3 {
		t.Fatalf("%d certificates stored on a site with room for 3", ok)
	}
	// Free certificates do not count against the custom quota.
	free := certificate(fmt.Sprintf("%032x", 100), 7000000000001, "free", cert.TypeFree, 0, now)
	if err := s.CreateCertificate(ctx, free, 3); err != nil {
		t.Fatalf("a free certificate was refused by the custom quota: %v", err)
	}
}

// testCertNameRace stores one name from many goroutines: exactly one wins.
func testCertNameRace(t *testing.T, s Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-n", "basic", 0, now))
	mustSite(t, s, newSite(7000000000002, "names.com", "inst-n", now))
	ok := race(t, 12, cert.ErrCertNameExists, func(i int) error {
		return s.CreateCertificate(ctx, certificate(fmt.Sprintf("%032x", i+1), 7000000000002, "same", cert.TypeUpload, 0, now), 0)
	})
	if ok != 1 {
		t.Fatalf("%d stored, want 1", ok)
	}
}

func testRepository(t *testing.T, s Store) {
	ctx := t.Context()
	r := cert.RepoCert{ID: 30000001, Name: "repo-a", Region: "cn-hangzhou", ResourceGroupID: "rg-1",
		CertPEM: "-----BEGIN CERTIFICATE-----\nas uploaded\n", SealedKey: []byte{9, 8, 7},
		Info: certcheck.Info{CommonName: "api.example.com", SANs: []string{"api.example.com"}, FingerprintSHA256: "aa",
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour)}, Created: now}
	if err := s.CreateRepoCert(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.RepoCert(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("RepoCert (-want +got):\n%s", diff)
	}
	dupName := r
	dupName.ID = 30000002
	if err := s.CreateRepoCert(ctx, dupName); !errors.Is(err, cert.ErrRepoNameExists) {
		t.Errorf("same name = %v, want ErrRepoNameExists", err)
	}
	dupID := r
	dupID.Name = "repo-b"
	if err := s.CreateRepoCert(ctx, dupID); !errors.Is(err, domain.ErrExists) {
		t.Errorf("same id = %v, want ErrExists", err)
	}
	expired := r
	expired.ID, expired.Name, expired.Created = 30000003, "repo-old", now.Add(time.Second)
	expired.Info.NotAfter = now.Add(-time.Second)
	if err := s.CreateRepoCert(ctx, expired); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    cert.RepoFilter
		want int
	}{{cert.RepoFilter{}, 2}, {cert.RepoFilter{Keyword: "OLD"}, 1}, {cert.RepoFilter{Keyword: "30000001"}, 1},
		{cert.RepoFilter{ValidAt: now}, 1}, {cert.RepoFilter{Keyword: "api.example"}, 2}} {
		if _, total, err := s.ListRepoCerts(ctx, tt.f); err != nil || total != tt.want {
			t.Errorf("ListRepoCerts(%+v) total = %d, %v; want %d", tt.f, total, err, tt.want)
		}
	}
	if err := s.DeleteRepoCert(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RepoCert(ctx, r.ID); !errors.Is(err, cert.ErrRepoCertNotFound) {
		t.Errorf("after delete: %v", err)
	}
	if err := s.DeleteRepoCert(ctx, r.ID); !errors.Is(err, cert.ErrRepoCertNotFound) {
		t.Errorf("delete again: %v", err)
	}
}

// testACMEAccounts keeps one sealed key per directory; a later put
// replaces it.
func testACMEAccounts(t *testing.T, s cert.AccountStore) {
	ctx := t.Context()
	const dir = "https://ca.example/acme/directory"
	if _, ok, err := s.ACMEAccount(ctx, dir); ok || err != nil {
		t.Fatalf("ACMEAccount of an empty store = %v, %v", ok, err)
	}
	for _, v := range []string{"sealed-1", "sealed-2"} {
		if err := s.PutACMEAccount(ctx, dir, []byte(v), now); err != nil {
			t.Fatal(err)
		}
		got, ok, err := s.ACMEAccount(ctx, dir)
		if err != nil || !ok || string(got) != v {
			t.Fatalf("ACMEAccount = %q, %v, %v; want %q", got, ok, err, v)
		}
	}
	if _, ok, _ := s.ACMEAccount(ctx, dir+"-other"); ok {
		t.Error("another directory sees the account")
	}
}
