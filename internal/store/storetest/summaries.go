package storetest

import (
	"sort"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/google/go-cmp/cmp"
)

// testCertificateSummaries: every certificate of every site, with what its
// status and renewal are read from, and nothing of its content.
func testCertificateSummaries(t *testing.T, s Store) {
	ctx := t.Context()
	if got, err := s.CertificateSummaries(ctx); err != nil || len(got) != 0 {
		t.Fatalf("CertificateSummaries of an empty store = %v, %v", got, err)
	}
	mustInstance(t, s, instance("inst-sum", "basic", 0, now))
	mustSite(t, s, newSite(6000000000101, "sum-one.com", "inst-sum", now))
	mustSite(t, s, newSite(6000000000102, "sum-two.com", "inst-sum", now))
	a := certificate("a1000000000000000000000000000000", 6000000000101, "alpha", cert.TypeUpload, 0, now)
	b := certificate("b1000000000000000000000000000000", 6000000000102, "beta", cert.TypeCAS, 30000101, now)
	b.Info.NotAfter = now.Add(-time.Minute)
	for _, c := range []cert.Certificate{a, b} {
		if err := s.CreateCertificate(ctx, c, 5); err != nil {
			t.Fatal(err)
		}
	}
	free := cert.Certificate{ID: "f1000000000000000000000000000000", SiteID: 6000000000101, Name: "www.sum-one.com",
		Type: cert.TypeFree, Created: now, Updated: now,
		Free: cert.FreeState{Status: cert.StatusApplying, CA: "lets_encrypt", Next: now}}
	if _, err := s.CreateFree(ctx, []cert.Certificate{free}, 0); err != nil {
		t.Fatal(err)
	}
	// Its third attempt failed.
	claimed, err := s.ClaimDue(ctx, now, "owner", now.Add(time.Minute), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue = %d, %v", len(claimed), err)
	}
	free = claimed[0]
	free.Free = cert.FreeState{Status: cert.StatusApplyFailed, Code: 2, Message: "why", CA: "lets_encrypt", Attempts: 3, Next: now.Add(time.Hour)}
	if err := s.FinishFree(ctx, free, "owner"); err != nil {
		t.Fatal(err)
	}
	got, err := s.CertificateSummaries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].ID < got[j].ID })
	want := []cert.Summary{
		{ID: a.ID, SiteID: a.SiteID, SiteName: "sum-one.com", Name: "alpha", Type: cert.TypeUpload, NotAfter: a.Info.NotAfter, Issued: true},
		{ID: b.ID, SiteID: b.SiteID, SiteName: "sum-two.com", Name: "beta", Type: cert.TypeCAS, NotAfter: b.Info.NotAfter, Issued: true},
		{ID: free.ID, SiteID: free.SiteID, SiteName: "sum-one.com", Name: "www.sum-one.com", Type: cert.TypeFree,
			Free: cert.FreeState{Status: cert.StatusApplyFailed, Code: 2, CA: "lets_encrypt", Attempts: 3, Next: free.Free.Next}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("CertificateSummaries (-want +got):\n%s", diff)
	}
	for i, status := range []string{cert.StatusOK, cert.StatusExpired, cert.StatusApplyFailed} {
		if got[i].Status(now) != status {
			t.Errorf("%s: status %s, want %s", got[i].Name, got[i].Status(now), status)
		}
	}
}
