package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/notify"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
)

// noticeStore is what the notices part of the suite exercises.
type noticeStore interface {
	site.Store
	cert.CertStore
	cert.FreeStore
	notify.Store
}

func notice(id, certID, event, episode string, at time.Time) notify.Notice {
	return notify.Notice{ID: id, Event: event, Episode: episode, Time: at, Title: "esacert: " + event, Text: "text of " + id,
		CertificateID: certID, CertificateName: "name of " + certID, CertificateType: cert.TypeUpload, SiteID: 6100000000001,
		SiteName: "notices.com", NotAfter: at.Add(10 * 24 * time.Hour), ThresholdDays: 14}
}

func watchedIDs(ws []notify.Watched) []string {
	var ids []string
	for _, w := range ws {
		ids = append(ids, w.CertificateID)
	}
	return ids
}

func testNotices(t *testing.T, st Store) {
	s, ok := st.(noticeStore)
	if !ok {
		t.Skip("the store keeps no notices")
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-n", "basic", 0, now))
	mustSite(t, s, newSite(6100000000001, "notices.com", "inst-n", now))
	soon := certificate("a1000000000000000000000000000000", 6100000000001, "soon", cert.TypeUpload, 0, now)
	soon.Info.NotAfter = now.Add(10 * 24 * time.Hour)
	later := certificate("b1000000000000000000000000000000", 6100000000001, "later", cert.TypeUpload, 0, now)
	later.Info.NotAfter = now.Add(60 * 24 * time.Hour)
	for _, c := range []cert.Certificate{soon, later} {
		if err := s.CreateCertificate(ctx, c, 0); err != nil {
			t.Fatal(err)
		}
	}
	free := cert.Certificate{ID: "f1000000000000000000000000000000", SiteID: 6100000000001, Name: "www.notices.com", Type: cert.TypeFree,
		Created: now, Updated: now, Free: cert.FreeState{Status: cert.StatusApplying, CA: "lets_encrypt", Next: now}}
	free.Info.SANs, free.Info.CommonName = []string{"www.notices.com"}, "www.notices.com"
	if _, err := s.CreateFree(ctx, []cert.Certificate{free}, 0); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.ClaimDue(ctx, now, "renewer", now.Add(time.Minute), 10)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("ClaimDue = %d, %v", len(claimed), err)
	}
	claimed[0].Free = cert.FreeState{Status: cert.StatusApplyFailed, Code: 7, Message: "CAA forbids", CA: "lets_encrypt",
		Attempts: 1, Next: now.Add(time.Minute)}
	claimed[0].ChainPEM = ""
	if err := s.FinishFree(ctx, claimed[0], "renewer"); err != nil {
		t.Fatal(err)
	}

	// Watched: the certificate in the window and the failing free one.
	from, to := now.Add(-7*24*time.Hour), now.Add(30*24*time.Hour)
	ws, err := s.Watched(ctx, from, to)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{soon.ID, free.ID}, watchedIDs(ws)); diff != "" {
		t.Fatalf("Watched (-want +got):\n%s", diff)
	}
	want := notify.Watched{CertificateID: soon.ID, Name: "soon", Type: cert.TypeUpload, SiteID: 6100000000001, SiteName: "notices.com",
		NotAfter: soon.Info.NotAfter}
	if diff := cmp.Diff(want, ws[0]); diff != "" {
		t.Errorf("Watched[0] (-want +got):\n%s", diff)
	}
	if f := ws[1]; f.Free.Status != cert.StatusApplyFailed || f.Free.Code != 7 || f.Free.Message != "CAA forbids" ||
		f.Free.Attempts != 1 || f.Free.CA != "lets_encrypt" || !f.Free.Next.Equal(now.Add(time.Minute)) || !f.NotAfter.IsZero() {
		t.Errorf("Watched free certificate: %+v", f)
	}

	// AddNotice: once per certificate, event and episode, also when eight
	// nodes try at once.
	n1 := notice("n1000000000000000000000000000000", soon.ID, notify.EventExpiring, "x/14", now)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		added int
		base  = n1
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := base
			if i > 0 {
				n.ID = n.ID[:31] + string(rune('0'+i))
			}
			ok, err := s.AddNotice(ctx, n, []string{"x", "y"})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if ok {
				added++
				n1 = n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if added != 1 {
		t.Fatalf("AddNotice recorded the same notice %d times", added)
	}
	ws, _ = s.Watched(ctx, from, to)
	if !ws[0].Noticed[n1.Key()] || len(ws[0].Noticed) != 1 {
		t.Errorf("Watched[0].Noticed = %v, want %v", ws[0].Noticed, n1.Key())
	}

	// A failure notice keeps its certificate watched until its recovery is
	// recorded.
	fl := notice("n2000000000000000000000000000000", later.ID, notify.EventFailed, "0", now)
	if ok, err := s.AddNotice(ctx, fl, nil); !ok || err != nil {
		t.Fatalf("AddNotice(failed) = %v, %v", ok, err)
	}
	if ws, _ = s.Watched(ctx, from, to); len(ws) != 3 || ws[1].CertificateID != later.ID {
		t.Errorf("Watched with an unresolved failure = %v", watchedIDs(ws))
	}
	rec := notice("n3000000000000000000000000000000", later.ID, notify.EventRecovered, "0", now)
	if ok, err := s.AddNotice(ctx, rec, nil); !ok || err != nil {
		t.Fatalf("AddNotice(recovered) = %v, %v", ok, err)
	}
	if ws, _ = s.Watched(ctx, from, to); len(ws) != 2 {
		t.Errorf("Watched after the recovery = %v", watchedIDs(ws))
	}

	// ClaimDeliveries: one owner at a time, per channel named, with the
	// notice as recorded.
	lease := now.Add(time.Minute)
	ds, err := s.ClaimDeliveries(ctx, now, []string{"x"}, "node-1", lease, 10)
	if err != nil || len(ds) != 1 {
		t.Fatalf("ClaimDeliveries = %d, %v", len(ds), err)
	}
	if diff := cmp.Diff(notify.Delivery{Notice: n1, Channel: "x"}, ds[0]); diff != "" {
		t.Errorf("the delivery (-want +got):\n%s", diff)
	}
	if again, _ := s.ClaimDeliveries(ctx, now, []string{"x", "y"}, "node-2", lease, 10); len(again) != 1 || again[0].Channel != "y" {
		t.Fatalf("a second owner claimed %v, want the delivery to y alone", again)
	}
	if early, _ := s.ClaimDeliveries(ctx, now.Add(-time.Second), []string{"z"}, "node-3", lease, 10); len(early) != 0 {
		t.Errorf("claimed %d deliveries to a channel that has none", len(early))
	}

	// FinishDelivery: only the holder; a failure waits for its time.
	d := ds[0]
	d.Attempts, d.Error, d.Next = 1, "the x channel answered 500", now.Add(30*time.Second)
	if err := s.FinishDelivery(ctx, d, "node-2"); !errors.Is(err, notify.ErrNotHeld) {
		t.Errorf("FinishDelivery by another owner = %v, want ErrNotHeld", err)
	}
	if err := s.FinishDelivery(ctx, d, "node-1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimDeliveries(ctx, now.Add(29*time.Second), []string{"x"}, "node-1", lease, 10); len(got) != 0 {
		t.Errorf("a failed delivery was claimed before its next attempt")
	}
	ds, _ = s.ClaimDeliveries(ctx, now.Add(30*time.Second), []string{"x"}, "node-1", lease, 10)
	if len(ds) != 1 || ds[0].Attempts != 1 {
		t.Fatalf("after the wait: %+v, want the delivery with 1 attempt", ds)
	}
	d = ds[0]
	d.Sent = now.Add(30 * time.Second)
	if err := s.FinishDelivery(ctx, d, "node-1"); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishDelivery(ctx, d, "node-1"); !errors.Is(err, notify.ErrNotHeld) {
		t.Errorf("FinishDelivery of a sent delivery = %v, want ErrNotHeld", err)
	}
	if got, _ := s.ClaimDeliveries(ctx, now.Add(time.Hour), []string{"x"}, "node-1", now.Add(2*time.Hour), 10); len(got) != 0 {
		t.Errorf("a sent delivery was claimed again")
	}

	// A lease that runs out passes to another owner; the first loses it.
	taken, _ := s.ClaimDeliveries(ctx, lease, []string{"y"}, "node-3", lease.Add(time.Minute), 10)
	if len(taken) != 1 {
		t.Fatalf("the delivery to y was not claimed after its lease ran out")
	}
	if err := s.FinishDelivery(ctx, taken[0], "node-2"); !errors.Is(err, notify.ErrNotHeld) {
		t.Errorf("FinishDelivery after the lease passed = %v, want ErrNotHeld", err)
	}
	taken[0].Attempts, taken[0].Error = 10, "given up" // Next zero: given up
	if err := s.FinishDelivery(ctx, taken[0], "node-3"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimDeliveries(ctx, now.Add(24*time.Hour), []string{"x", "y"}, "node-1", now.Add(25*time.Hour), 10); len(got) != 0 {
		t.Errorf("a given up delivery was claimed again")
	}

	// ForgetNotices: resolved notices whose deliveries are finished.
	pending := notice("n4000000000000000000000000000000", soon.ID, notify.EventExpired, "x", now)
	if ok, err := s.AddNotice(ctx, pending, []string{"x"}); !ok || err != nil {
		t.Fatal(ok, err)
	}
	open := notice("n5000000000000000000000000000000", soon.ID, notify.EventFailed, "1", now)
	if ok, err := s.AddNotice(ctx, open, nil); !ok || err != nil {
		t.Fatal(ok, err)
	}
	if n, err := s.ForgetNotices(ctx, now); n != 0 || err != nil {
		t.Errorf("ForgetNotices(now) = %d, %v; want nothing recorded before now", n, err)
	}
	n, err := s.ForgetNotices(ctx, now.Add(time.Second))
	if err != nil || n != 3 { // n1 (delivered, given up), fl and rec (resolved, no deliveries)
		t.Errorf("ForgetNotices = %d, %v; want 3", n, err)
	}
	ws, _ = s.Watched(ctx, from, to)
	want2 := map[notify.Key]bool{pending.Key(): true, open.Key(): true}
	if diff := cmp.Diff(want2, ws[0].Noticed); diff != "" {
		t.Errorf("the notices left (-want +got):\n%s", diff)
	}
	if err := s.DeleteCertificate(ctx, soon.SiteID, soon.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimDeliveries(ctx, now, []string{"x"}, "node-1", lease, 10); len(got) != 1 || got[0].Notice.ID != pending.ID {
		t.Errorf("a notice of a deleted certificate is still delivered: got %v", got)
	}
}
