package storetest

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// EdgeCertStore is what an edge node reads to update a site one
// certificate at a time.
type EdgeCertStore interface {
	LoadEdgeCertificates(ctx context.Context, ids []string) ([]cert.Certificate, error)
}

// edgeCert is what LoadEdgeCertificates says of a certificate.
func edgeCert(c cert.Certificate) string {
	return fmt.Sprintf("%s site %d type %s chain %q key %x sans %v cn %q alg %s until %s", c.ID, c.SiteID, c.Type,
		c.ChainPEM, c.SealedKey, c.Info.SANs, c.Info.CommonName, c.Info.PubAlg, c.Info.NotAfter.UTC().Format(time.RFC3339))
}

func edgeCerts(t *testing.T, s Store, ids ...string) []string {
	t.Helper()
	got, err := s.LoadEdgeCertificates(t.Context(), ids)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range got {
		out = append(out, edgeCert(c))
	}
	slices.Sort(out)
	return out
}

// testEdgeCertificates: LoadEdgeCertificates returns the certificates
// asked for as they are now (of any site; replaced ones with their new
// names, deleted ones not at all, a free certificate's RSA twin under
// cert.TwinID), for any number of ids.
func testEdgeCertificates(t *testing.T, s Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-e", "basic", 0, now))
	mustSite(t, s, newSite(6200000000001, "edge.com", "inst-e", now))
	mustSite(t, s, newSite(6200000000002, "other.com", "inst-e", now))
	a := certificate("a2000000000000000000000000000000", 6200000000001, "alpha", cert.TypeUpload, 0, now)
	b := certificate("b2000000000000000000000000000000", 6200000000001, "beta", cert.TypeUpload, 0, now)
	c := certificate("c2000000000000000000000000000000", 6200000000002, "gamma", cert.TypeUpload, 0, now)
	c.Info.SANs = []string{"www.other.com"}
	for _, x := range []cert.Certificate{a, b, c} {
		if err := s.CreateCertificate(ctx, x, 0); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := edgeCerts(t, s, a.ID, c.ID, "missing"), []string{edgeCert(a), edgeCert(c)}; !slices.Equal(got, want) {
		t.Fatalf("LoadEdgeCertificates =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := edgeCerts(t, s); len(got) != 0 {
		t.Fatalf("no ids gave %v", got)
	}

	b.Info.SANs, b.ChainPEM, b.SealedKey = []string{"api.edge.com"}, "new chain", []byte{9}
	if err := s.ReplaceCertificate(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteCertificate(ctx, a.SiteID, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, want := edgeCerts(t, s, a.ID, b.ID), []string{edgeCert(b)}; !slices.Equal(got, want) {
		t.Fatalf("after a replace and a delete, LoadEdgeCertificates =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// More ids than one query takes.
	ids := make([]string, 1200)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i)
	}
	ids[1100] = c.ID
	if got := edgeCerts(t, s, ids...); len(got) != 1 || got[0] != edgeCert(c) {
		t.Fatalf("1,200 ids gave %v", got)
	}

	// A free certificate with its RSA twin.
	free := cert.Certificate{ID: "f2000000000000000000000000000000", SiteID: 6200000000001, Name: "www.edge.com", Type: cert.TypeFree,
		Created: now, Updated: now, Free: cert.FreeState{Status: cert.StatusApplying, CA: "lets_encrypt", Next: now}}
	free.Info.SANs, free.Info.CommonName = []string{"www.edge.com"}, "www.edge.com"
	if _, err := s.CreateFree(ctx, []cert.Certificate{free}, 0); err != nil {
		t.Fatal(err)
	}
	if got := edgeCerts(t, s, free.ID); len(got) != 1 || !strings.Contains(got[0], `chain ""`) {
		t.Fatalf("a free certificate being applied for gave %v", got)
	}
	claimed, err := s.ClaimDue(ctx, now, "renewer", now.Add(time.Minute), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue = %d, %v", len(claimed), err)
	}
	issued := claimed[0]
	issued.ChainPEM, issued.CertPEM, issued.SealedKey = "ec chain", "ec chain", []byte{7}
	issued.Info.PubAlg, issued.Info.NotAfter = "ECDSA", now.Add(90*24*time.Hour)
	issued.Free = cert.FreeState{CA: "lets_encrypt", Next: now.Add(60 * 24 * time.Hour)}
	issued.Twin = &cert.Twin{ChainPEM: "rsa chain", SealedKey: []byte{8}, NotAfter: now.Add(80 * 24 * time.Hour)}
	if err := s.FinishFree(ctx, issued, "renewer"); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadEdgeCertificates(ctx, []string{free.ID})
	if err != nil || len(got) != 2 {
		t.Fatalf("the free certificate with its twin gave %d, %v", len(got), err)
	}
	if got[0].ID != free.ID || got[0].ChainPEM != "ec chain" || got[1].ID != cert.TwinID(free.ID) ||
		got[1].ChainPEM != "rsa chain" || got[1].Info.PubAlg != "RSA" || string(got[1].SealedKey) != "\x08" ||
		!got[1].Info.NotAfter.Equal(now.Add(80*24*time.Hour)) || !slices.Equal(got[1].Info.SANs, []string{"www.edge.com"}) {
		t.Fatalf("the free certificate with its twin gave\n%s\n%s", edgeCert(got[0]), edgeCert(got[1]))
	}
}
