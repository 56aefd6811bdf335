package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
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
	// One certificate's state, as GetCertificate reads it.
	if r, ok, err := s.OCSPResponse(ctx, a.ID); err != nil || !ok || r.Status != cert.OCSPGood || r.Error != "responder down" ||
		r.Failures != 1 || string(r.Response) != string(good.Response) || !r.NextUpdate.Equal(good.NextUpdate) || r.CertificateID != a.ID {
		t.Errorf("OCSPResponse(a) = %+v, %v, %v", r, ok, err)
	}
	if r, ok, err := s.OCSPResponse(ctx, "f0000000000000000000000000000000"); err != nil || ok {
		t.Errorf("OCSPResponse of no certificate = %+v, %v, %v; want none", r, ok, err)
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

// testOCSPQueue: a certificate is due for an OCSP fetch from the write that
// gives it a chain, whichever write that is, and only then: a free
// certificate is not due while it has no chain (applying, failed), is due
// once issued, and due again, with nothing of the old leaf kept, when it
// is renewed; a write that keeps the leaf (a rename) leaves the next fetch
// where it was. The poll reads only what is due, in next-fetch order.
func testOCSPQueue(t *testing.T, s Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-q", "basic", 0, now))
	mustSite(t, s, newSite(6200000000001, "queue.com", "inst-q", now))
	free := cert.Certificate{ID: "f2000000000000000000000000000000", SiteID: 6200000000001, Name: "www.queue.com", Type: cert.TypeFree,
		Created: now, Updated: now, Free: cert.FreeState{Status: cert.StatusApplying, CA: "lets_encrypt", Next: now}}
	free.Info.SANs, free.Info.CommonName = []string{"www.queue.com"}, "www.queue.com"
	if _, err := s.CreateFree(ctx, []cert.Certificate{free}, 0); err != nil {
		t.Fatal(err)
	}
	claimOCSP := func(at time.Time) []cert.OCSPDue {
		t.Helper()
		due, err := s.ClaimOCSP(ctx, at, at.Add(2*time.Minute), 10)
		if err != nil {
			t.Fatal(err)
		}
		return due
	}
	if due := claimOCSP(now); len(due) != 0 {
		t.Fatalf("a free certificate applying is due: %+v", due)
	}
	finish := func(at time.Time, chain, fp string) {
		t.Helper()
		claimed, err := s.ClaimDue(ctx, at, "renewer", at.Add(time.Minute), 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("ClaimDue = %d, %v", len(claimed), err)
		}
		c := claimed[0]
		c.ChainPEM, c.CertPEM, c.Info.FingerprintSHA256, c.SealedKey = chain, chain, fp, []byte{1}
		c.Free = cert.FreeState{Status: cert.StatusOK, CA: "lets_encrypt", Attempts: 1, Next: at.Add(time.Hour)}
		if chain == "" {
			c.Free = cert.FreeState{Status: cert.StatusApplyFailed, Code: 7, Message: "CAA forbids", CA: "lets_encrypt",
				Attempts: 1, Next: at.Add(time.Minute)}
		}
		if err := s.FinishFree(ctx, c, "renewer"); err != nil {
			t.Fatal(err)
		}
	}
	finish(now, "", "") // failed: still no chain
	if due := claimOCSP(now.Add(time.Minute)); len(due) != 0 {
		t.Fatalf("a free certificate that failed to issue is due: %+v", due)
	}
	finish(now.Add(2*time.Minute), "chain-issued", "fp-issued")
	due := claimOCSP(now.Add(2 * time.Minute))
	if len(due) != 1 || due[0].CertificateID != free.ID || due[0].Fingerprint != "fp-issued" || due[0].ChainPEM != "chain-issued" ||
		due[0].Last.Status != "" {
		t.Fatalf("after the issuance ClaimOCSP = %+v, want the certificate", due)
	}
	good := cert.OCSPResponse{CertificateID: free.ID, Fingerprint: "fp-issued", Status: cert.OCSPGood, Response: []byte{0x30, 1},
		ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour), Fetched: now, Next: now.Add(12 * time.Hour)}
	if err := s.SaveOCSP(ctx, good); err != nil {
		t.Fatal(err)
	}
	// Uploaded certificates: due at once, after what was due before them.
	up := certificate("u2000000000000000000000000000000", 6200000000001, "up", cert.TypeUpload, 0, now)
	if err := s.CreateCertificate(ctx, up, 0); err != nil {
		t.Fatal(err)
	}
	if due := claimOCSP(now.Add(3 * time.Minute)); len(due) != 1 || due[0].CertificateID != up.ID {
		t.Fatalf("after an upload ClaimOCSP = %+v, want the upload only", due)
	}
	upGood := good
	upGood.CertificateID, upGood.Fingerprint, upGood.Next = up.ID, up.Info.FingerprintSHA256, now.Add(11*time.Hour)
	if err := s.SaveOCSP(ctx, upGood); err != nil {
		t.Fatal(err)
	}
	// Renamed, the same leaf: not due again before its next fetch.
	renamed := up
	renamed.Name = "renamed"
	if err := s.ReplaceCertificate(ctx, renamed); err != nil {
		t.Fatal(err)
	}
	if due := claimOCSP(now.Add(3 * time.Minute)); len(due) != 0 {
		t.Fatalf("a certificate renamed (same leaf) is due again at once: %+v", due)
	}
	// Renewed: due at once, the old leaf's response out of Last.
	finish(now.Add(2*time.Hour), "chain-renewed", "fp-renewed")
	due = claimOCSP(now.Add(2 * time.Hour))
	if len(due) != 1 || due[0].CertificateID != free.ID || due[0].Fingerprint != "fp-renewed" || due[0].Last.Status != "" ||
		due[0].Last.Response != nil {
		t.Fatalf("after the renewal ClaimOCSP = %+v, want the certificate, nothing kept", due)
	}
	// A day later both are due (the renewed one's claim lapsed unsaved at
	// 2h02, the upload's next fetch is at 11h), the longest due first.
	if due := claimOCSP(now.Add(24 * time.Hour)); len(due) != 2 || due[0].CertificateID != free.ID || due[1].CertificateID != up.ID {
		t.Fatalf("a day later ClaimOCSP = %+v, want both, the longest due first", due)
	}
}

// OldNode is a store that can also write as a node of an older version
// (one from before the OCSP queue) does: q, with ? placeholders, run on
// its database as is. The sqlstore tests' stores have it.
type OldNode interface {
	ExecOldNode(ctx context.Context, q string, args ...any) error
}

// testOCSPCatchUp: during a rolling upgrade a node of an older version
// writes certificates without their OCSP queue entry, and replaces leaves
// without resetting it; ClaimOCSP misses them until CatchUpOCSP, which
// makes them due at once (the replaced one with nothing of its old leaf
// kept) and leaves alone what is queued already, and a certificate
// without a chain. Running it again queues nothing.
func testOCSPCatchUp(t *testing.T, s Store) {
	ctx := t.Context()
	old, ok := s.(OldNode)
	if !ok {
		t.Fatalf("%T cannot write as an older node (storetest.OldNode)", s)
	}
	mustInstance(t, s, instance("inst-u", "basic", 0, now))
	mustSite(t, s, newSite(6300000000001, "upgrade.com", "inst-u", now))
	kept := certificate("a4000000000000000000000000000000", 6300000000001, "kept", cert.TypeUpload, 0, now)
	replaced := certificate("b4000000000000000000000000000000", 6300000000001, "replaced", cert.TypeUpload, 0, now)
	for _, c := range []cert.Certificate{kept, replaced} {
		if err := s.CreateCertificate(ctx, c, 0); err != nil {
			t.Fatal(err)
		}
	}
	if due, err := s.ClaimOCSP(ctx, now, now.Add(time.Hour), 10); err != nil || len(due) != 2 {
		t.Fatalf("ClaimOCSP = %+v, %v; want both", due, err)
	}
	for _, c := range []cert.Certificate{kept, replaced} {
		if err := s.SaveOCSP(ctx, cert.OCSPResponse{CertificateID: c.ID, Fingerprint: c.Info.FingerprintSHA256,
			Status: cert.OCSPGood, Response: []byte{0x30, 9}, ThisUpdate: now, NextUpdate: now.Add(48 * time.Hour),
			Fetched: now, Next: now.Add(24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	// The older node: an upload and a free certificate applying (no chain)
	// inserted without their rows, and a leaf replaced in place.
	const cols = `id, site_id, name, type, cas_id, region, cert_pem, chain_pem, sealed_key, common_name, sans, issuer,
		issuer_cn, serial, fingerprint, pub_alg, sig_alg, key_bits, not_before_us, not_after_us, created_us, updated_us`
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO certificates (` + cols + `) VALUES (?, ?, ?, 'upload', NULL, 'cn-hangzhou', 'pem', 'chain-old-node', ?,
			'CN', 'old.upgrade.com', 'Issuer', 'Issuer CA', '01', ?, 'ECDSA', 'ECDSA-SHA256', 256, 0, 0, 0, 0)`,
			[]any{"c4000000000000000000000000000000", 6300000000001, "old-node", []byte{1}, "fp-old-node"}},
		{`INSERT INTO certificates (` + cols + `) VALUES (?, ?, ?, 'free', NULL, 'cn-hangzhou', '', '', ?,
			'', '', '', '', '', '', '', '', 0, 0, 0, 0, 0)`,
			[]any{"d4000000000000000000000000000000", 6300000000001, "applying", []byte{1}}},
		{`UPDATE certificates SET fingerprint = ?, chain_pem = ? WHERE id = ?`,
			[]any{"fp-replaced", "chain-replaced", replaced.ID}},
	} {
		if err := old.ExecOldNode(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if due, err := s.ClaimOCSP(ctx, now.Add(time.Hour), now.Add(2*time.Hour), 10); err != nil || len(due) != 0 {
		t.Fatalf("before the catch-up ClaimOCSP = %+v, %v; want nothing (the queue misses them)", due, err)
	}
	if n, _, err := s.CatchUpOCSP(ctx, 0); err != nil || n != 2 {
		t.Fatalf("CatchUpOCSP = %d, %v; want 2 queued", n, err)
	}
	due, err := s.ClaimOCSP(ctx, now.Add(time.Hour), now.Add(2*time.Hour), 10)
	if err != nil || len(due) != 2 {
		t.Fatalf("after the catch-up ClaimOCSP = %+v, %v; want the two the older node wrote", due, err)
	}
	byID := map[string]cert.OCSPDue{}
	for _, d := range due {
		byID[d.CertificateID] = d
	}
	if d := byID["c4000000000000000000000000000000"]; d.Fingerprint != "fp-old-node" || d.ChainPEM != "chain-old-node" ||
		d.Last.Status != "" {
		t.Errorf("the certificate inserted by the older node: %+v", d)
	}
	if d := byID[replaced.ID]; d.Fingerprint != "fp-replaced" || d.ChainPEM != "chain-replaced" || d.Last.Status != "" ||
		d.Last.Response != nil {
		t.Errorf("the certificate replaced by the older node: %+v, want the new leaf, nothing of the old one kept", d)
	}
	if r, ok, err := s.OCSPResponse(ctx, replaced.ID); err != nil || !ok || r.Fingerprint != "fp-replaced" || r.Status != "" {
		t.Errorf("OCSPResponse of the replaced certificate = %+v, %v, %v; want reset for its new leaf", r, ok, err)
	}
	if r, ok, err := s.OCSPResponse(ctx, kept.ID); err != nil || !ok || r.Status != cert.OCSPGood || !r.Next.Equal(now.Add(24*time.Hour)) {
		t.Errorf("the catch-up touched a certificate queued already: %+v, %v, %v", r, ok, err)
	}
	if _, ok, err := s.OCSPResponse(ctx, "d4000000000000000000000000000000"); err != nil || ok {
		t.Errorf("a certificate without a chain was queued: %v, %v", ok, err)
	}
	n, since, err := s.CatchUpOCSP(ctx, 0)
	if err != nil || n != 0 {
		t.Errorf("a second CatchUpOCSP = %d, %v; want nothing", n, err)
	}
	if again, next, err := s.CatchUpOCSP(ctx, since); err != nil || again != 0 || next != since {
		t.Errorf("CatchUpOCSP(%d) with nothing written since = %d, %d, %v; want nothing", since, again, next, err)
	}
	// Later runs look at the certificates written since the last one: the
	// older node replaces a leaf in place, and imports a certificate (one
	// change for its site).
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE certificates SET fingerprint = ? WHERE id = ?`, []any{"fp-replaced-again", replaced.ID}},
		{`UPDATE edge_revision SET rev = rev + 1 WHERE id = 1`, nil},
		{`INSERT INTO edge_changes (rev, site_id, kind, ref) SELECT rev, ?, 'certificate', ? FROM edge_revision`,
			[]any{6300000000001, replaced.ID}},
		{`INSERT INTO certificates (` + cols + `) VALUES (?, ?, ?, 'upload', NULL, 'cn-hangzhou', 'pem', 'chain-imported', ?,
			'CN', 'imp.upgrade.com', 'Issuer', 'Issuer CA', '01', ?, 'ECDSA', 'ECDSA-SHA256', 256, 0, 0, 0, 0)`,
			[]any{"e4000000000000000000000000000000", 6300000000001, "imported", []byte{1}, "fp-imported"}},
		{`UPDATE edge_revision SET rev = rev + 1 WHERE id = 1`, nil},
		{`INSERT INTO edge_changes (rev, site_id, kind, ref) SELECT rev, ?, 'site', ? FROM edge_revision`,
			[]any{6300000000001, "6300000000001"}},
	} {
		if err := old.ExecOldNode(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	// The certificate's change is followed; the site's is not (a run from
	// 0 finds the import).
	if n, next, err := s.CatchUpOCSP(ctx, since); err != nil || n != 1 || next != since+2 {
		t.Errorf("CatchUpOCSP(%d) after two changes = %d, %d, %v; want 1 queued, revision %d", since, n, next, err, since+2)
	}
	if n, _, err := s.CatchUpOCSP(ctx, 0); err != nil || n != 1 {
		t.Errorf("CatchUpOCSP(0) after an import = %d, %v; want 1 queued", n, err)
	}
	due, err = s.ClaimOCSP(ctx, now.Add(time.Hour), now.Add(2*time.Hour), 10)
	if err != nil || len(due) != 2 || due[0].CertificateID != replaced.ID || due[0].Fingerprint != "fp-replaced-again" ||
		due[1].CertificateID != "e4000000000000000000000000000000" {
		t.Errorf("after the later catch-ups ClaimOCSP = %+v, %v; want the replaced and the imported certificate", due, err)
	}
}

// testOCSPNoResponder: a certificate whose leaf names no OCSP responder is
// written as the refresher would leave it (status none, looked at again
// when it expires), so it is never due before then; one whose leaf names a
// responder is due at once; replacing the first with a leaf that names one
// makes it due.
func testOCSPNoResponder(t *testing.T, s Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-nr", "basic", 0, now))
	mustSite(t, s, newSite(6300000000001, "noresp.com", "inst-nr", now))
	ca := pkitest.NewCA(t, "No Responder Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	upload := func(id string, ocspURLs []string) cert.Certificate {
		l := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.noresp.com"}, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(90 * 24 * time.Hour), OCSPServer: ocspURLs})
		c := certificate(id, 6300000000001, "n"+id[len(id)-4:], cert.TypeUpload, 0, now)
		c.CertPEM, c.ChainPEM, c.Info = l.ChainPEM, l.ChainPEM, certcheck.Describe(l.Cert)
		return c
	}
	quiet := upload("n3000000000000000000000000000000", nil)
	if err := s.CreateCertificate(ctx, quiet, 0); err != nil {
		t.Fatal(err)
	}
	r, ok, err := s.OCSPResponse(ctx, quiet.ID)
	if err != nil || !ok || r.Status != cert.OCSPNone || r.Fingerprint != quiet.Info.FingerprintSHA256 ||
		!r.Next.Equal(quiet.Info.NotAfter.Truncate(time.Microsecond)) {
		t.Fatalf("a leaf without a responder: %+v, %v, %v; want none, looked at again at its expiry %v", r, ok, err, quiet.Info.NotAfter)
	}
	loud := upload("n3000000000000000000000000000001", []string{"http://ocsp.noresp.com"})
	if err := s.CreateCertificate(ctx, loud, 0); err != nil {
		t.Fatal(err)
	}
	due, err := s.ClaimOCSP(ctx, now, now.Add(time.Hour), 10)
	if err != nil || len(due) != 1 || due[0].CertificateID != loud.ID {
		t.Fatalf("ClaimOCSP = %+v, %v; want only the leaf that names a responder", due, err)
	}
	replaced := upload(quiet.ID, []string{"http://ocsp.noresp.com"})
	if err := s.ReplaceCertificate(ctx, replaced); err != nil {
		t.Fatal(err)
	}
	due, err = s.ClaimOCSP(ctx, now.Add(2*time.Minute), now.Add(3*time.Minute), 10)
	if err != nil || len(due) != 1 || due[0].CertificateID != quiet.ID || due[0].Last.Status != "" {
		t.Fatalf("after its leaf named a responder ClaimOCSP = %+v, %v; want it, status unknown", due, err)
	}
}
