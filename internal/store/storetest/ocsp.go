package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// testOCSP: certificates are due for an OCSP fetch until one is saved for
// them; a claim holds them from other claims; a saved response comes out of
// OCSPResponses once, in revision order; a replaced certificate is due
// again, its old response kept out of Last; a deleted one takes its
// response with it.
func testOCSP(t *testing.T, s Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-o", "basic", 0, now))
	mustSite(t, s, newSite(6000000000001, "example.com", "inst-o", now))
	a := certificate("a0000000000000000000000000000000", 6000000000001, "alpha", cert.TypeUpload, 0, now)
	b := certificate("b0000000000000000000000000000000", 6000000000001, "beta", cert.TypeUpload, 0, now)
	for _, c := range []cert.Certificate{a, b} {
		if err := s.CreateCertificate(ctx, c, 5); err != nil {
			t.Fatal(err)
		}
	}
	lease := now.Add(2 * time.Minute)
	due, err := s.ClaimOCSP(ctx, now, lease, 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("ClaimOCSP = %+v, %v; want both certificates", due, err)
	}
	for _, d := range due {
		if d.ChainPEM != "chain" || d.SiteID != a.SiteID || d.Fingerprint != "ff00"+d.CertificateID ||
			d.Last.Status != "" || d.Last.Fingerprint != d.Fingerprint {
			t.Errorf("due %+v", d)
		}
	}
	if again, err := s.ClaimOCSP(ctx, now, lease, 10); err != nil || len(again) != 0 {
		t.Errorf("a second claim during the lease = %+v, %v; want none", again, err)
	}
	if list, rev, err := s.OCSPResponses(ctx, 0); err != nil || len(list) != 0 || rev != 0 {
		t.Errorf("OCSPResponses before any save = %+v, %d, %v", list, rev, err)
	}
	good := cert.OCSPResponse{CertificateID: a.ID, Fingerprint: "ff00" + a.ID, Status: cert.OCSPGood,
		Response: []byte{0x30, 1, 2}, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(23 * time.Hour),
		Fetched: now, Next: now.Add(11 * time.Hour)}
	if err := s.SaveOCSP(ctx, good); err != nil {
		t.Fatal(err)
	}
	none := cert.OCSPResponse{CertificateID: b.ID, Fingerprint: "ff00" + b.ID, Status: cert.OCSPNone, Next: now.Add(time.Hour)}
	if err := s.SaveOCSP(ctx, none); err != nil {
		t.Fatal(err)
	}
	list, rev, err := s.OCSPResponses(ctx, 0)
	if err != nil || len(list) != 2 || list[0].CertificateID != a.ID || list[1].CertificateID != b.ID || rev != list[1].Rev ||
		list[0].Rev >= list[1].Rev {
		t.Fatalf("OCSPResponses = %+v, %d, %v", list, rev, err)
	}
	got := list[0]
	if got.Status != cert.OCSPGood || string(got.Response) != string(good.Response) || !got.ThisUpdate.Equal(good.ThisUpdate) ||
		!got.NextUpdate.Equal(good.NextUpdate) || !got.Next.Equal(good.Next) || !got.Fetched.Equal(now) {
		t.Errorf("kept %+v, want %+v", got, good)
	}
	if list[1].Response != nil {
		t.Errorf("a response saved without DER reads back %v", list[1].Response)
	}
	if more, r2, err := s.OCSPResponses(ctx, rev); err != nil || len(more) != 0 || r2 != rev {
		t.Errorf("OCSPResponses after the last revision = %+v, %d, %v", more, r2, err)
	}
	// Due again when its next fetch comes, with what was kept.
	due, err = s.ClaimOCSP(ctx, now.Add(11*time.Hour), now.Add(12*time.Hour), 10)
	if err != nil || len(due) != 2 || due[1].CertificateID != a.ID || due[1].Last.Status != cert.OCSPGood ||
		string(due[1].Last.Response) != string(good.Response) {
		t.Fatalf("ClaimOCSP at the next fetch = %+v, %v", due, err)
	}
	// A failure saved later comes after the others.
	failed := got
	failed.Error, failed.Failures, failed.Next = "responder down", 1, now.Add(12*time.Hour)
	if err := s.SaveOCSP(ctx, failed); err != nil {
		t.Fatal(err)
	}
	if more, r2, err := s.OCSPResponses(ctx, rev); err != nil || len(more) != 1 || more[0].Error != "responder down" ||
		more[0].Failures != 1 || r2 <= rev {
		t.Errorf("OCSPResponses after a failure = %+v, %d, %v", more, r2, err)
	}
	// Replaced: due at once, nothing of the old leaf in Last; a save for the
	// old fingerprint is dropped.
	a2 := a
	a2.Info.FingerprintSHA256, a2.ChainPEM = "ee00"+a.ID, "chain2"
	if err := s.ReplaceCertificate(ctx, a2); err != nil {
		t.Fatal(err)
	}
	due, err = s.ClaimOCSP(ctx, now.Add(11*time.Hour), now.Add(12*time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].Fingerprint != "ee00"+a.ID || due[0].Last.Status != "" ||
		due[0].Last.Response != nil || due[0].ChainPEM != "chain2" {
		t.Fatalf("ClaimOCSP after a replacement = %+v, %v", due, err)
	}
	if err := s.SaveOCSP(ctx, good); err != nil {
		t.Fatal(err)
	}
	list, _, _ = s.OCSPResponses(ctx, 0)
	for _, r := range list {
		if r.CertificateID == a.ID && (r.Fingerprint != "ee00"+a.ID || r.Status != "") {
			t.Errorf("a response for the replaced leaf was kept: %+v", r)
		}
	}
	// Deleted: the response goes with it.
	if err := s.DeleteCertificate(ctx, b.SiteID, b.ID); err != nil {
		t.Fatal(err)
	}
	if list, _, _ := s.OCSPResponses(ctx, 0); len(list) != 1 || list[0].CertificateID != a.ID {
		t.Errorf("after the deletion OCSPResponses = %+v", list)
	}
	// Two nodes claiming at once get each certificate once.
	for i := range 6 {
		c := certificate(string(rune('0'+i))+"c000000000000000000000000000000", 6000000000001, "n"+string(rune('0'+i)),
			cert.TypeUpload, 0, now)
		if err := s.CreateCertificate(ctx, c, 20); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := s.ClaimOCSP(ctx, now.Add(11*time.Hour), now.Add(13*time.Hour), 20)
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			for _, d := range got {
				seen[d.CertificateID]++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	for id, n := range seen {
		if n != 1 {
			t.Errorf("certificate %s claimed %d times", id, n)
		}
	}
	if len(seen) != 6 {
		t.Errorf("claimed %d new certificates, want 6", len(seen))
	}
}
