package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

func TestChangeFeed(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testChangeFeed(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), storetest.PostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testChangeFeed(t, s)
	})
}

// TestImportMany: Import inserts certificates many to a statement, the
// last statement shorter; each is there, the site's change recorded once,
// and a certificate change afterwards is in the feed under its kind and id.
func TestImportMany(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := t.Context()
			now := time.Now().UTC()
			s := storeWithInstance(t, db, now)
			start, _ := s.Revision(ctx)
			st := site.Site{ID: 1000000000009, Name: "many.com", AccessType: "NS", Coverage: "overseas", Status: site.SiteActive,
				InstanceID: "inst", VerifyCode: "v", Created: now, Updated: now}
			var certs []cert.Certificate
			for i := range 450 {
				c := cert.Certificate{ID: fmt.Sprintf("%032x", i), SiteID: st.ID, Name: fmt.Sprint("n", i), Type: cert.TypeUpload,
					ChainPEM: "chain", SealedKey: []byte{byte(i)}, Created: now, Updated: now}
				c.Info.SANs = []string{fmt.Sprintf("h%d.many.com", i)}
				certs = append(certs, c)
			}
			if err := s.Import(ctx, []site.Site{st}, certs); err != nil {
				t.Fatal(err)
			}
			loaded, err := s.LoadEdge(ctx, []int64{st.ID})
			if err != nil || len(loaded.Certificates) != 450 {
				t.Fatalf("LoadEdge after importing 450 = %d, %v", len(loaded.Certificates), err)
			}
			for _, i := range []int{0, 199, 200, 449} { // each statement's certificates are queued for an OCSP fetch
				if _, ok, err := s.OCSPResponse(ctx, certs[i].ID); err != nil || !ok {
					t.Fatalf("certificate %d of the import is not queued for OCSP: %v, %v", i, ok, err)
				}
			}
			changes, rev, _, err := s.Changes(ctx, start)
			if err != nil || len(changes) != 1 || changes[0].Kind != sqlstore.ChangeSite {
				t.Fatalf("Changes after the import = %+v, %v", changes, err)
			}
			if err := s.DeleteCertificate(ctx, st.ID, certs[7].ID); err != nil {
				t.Fatal(err)
			}
			changes, _, _, err = s.Changes(ctx, rev)
			if err != nil || len(changes) != 1 || changes[0].Kind != sqlstore.ChangeCertificate || changes[0].Ref != certs[7].ID ||
				changes[0].SiteID != st.ID {
				t.Fatalf("Changes after a delete = %+v, %v", changes, err)
			}
		})
	}
}

// storeWithInstance opens an empty store on db ("sqlite" or "postgres",
// see testDatabase), closed when the test ends, holding the instance
// "inst" that the tests' sites are on.
func storeWithInstance(t *testing.T, db string, now time.Time) *sqlstore.Store {
	t.Helper()
	dsn, _, _ := testDatabase(t, db)
	s, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	inst := site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas", BillingMode: "PREPAY",
		Status: site.InstanceOnline, Created: now}
	if err := s.CreateInstance(t.Context(), inst, nil); err != nil {
		t.Fatal(err)
	}
	return s
}

func testChangeFeed(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	now := time.Now().UTC()
	inst := site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas", BillingMode: "PREPAY",
		Status: site.InstanceOnline, Created: now}
	if err := s.CreateInstance(ctx, inst, nil); err != nil {
		t.Fatal(err)
	}
	start, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wake, stop := s.Watch()
	defer stop()
	newSite := func(id int64, name string) site.Site {
		return site.Site{ID: id, Name: name, AccessType: "NS", Coverage: "overseas", Status: site.SiteActive,
			InstanceID: "inst", VerifyCode: "v", Created: now, Updated: now}
	}
	if err := s.CreateSite(ctx, newSite(1000000000001, "a.com")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	case <-time.After(time.Second):
		t.Fatal("no wake-up after a committed change")
	}
	if err := s.Import(ctx, []site.Site{newSite(1000000000002, "b.com")}, []cert.Certificate{{ID: "c1",
		SiteID: 1000000000001, Name: "n", Type: cert.TypeUpload, SealedKey: []byte{1}, Created: now, Updated: now}}); err != nil {
		t.Fatal(err)
	}
	ids, rev, complete, err := s.ChangedSites(ctx, start)
	if err != nil || !complete {
		t.Fatalf("ChangedSites = %v, %v", complete, err)
	}
	if len(ids) != 2 || rev <= start {
		t.Fatalf("ChangedSites = %v at %d, want both sites after %d", ids, rev, start)
	}
	if ids2, rev2, _, _ := s.ChangedSites(ctx, rev); len(ids2) != 0 || rev2 != rev {
		t.Errorf("nothing changed, yet ChangedSites = %v, %d", ids2, rev2)
	}
	st, err := s.LoadEdge(ctx, []int64{1000000000001})
	if err != nil {
		t.Fatal(err)
	}
	if st.Rev != rev || len(st.Sites) != 1 || len(st.Certificates) != 1 || st.Certificates[0].ID != "c1" {
		t.Errorf("LoadEdge(one site) = rev %d, %d sites, %d certificates", st.Rev, len(st.Sites), len(st.Certificates))
	}
	if all, _ := s.LoadEdge(ctx, nil); len(all.Sites) != 2 {
		t.Errorf("LoadEdge(all) = %d sites", len(all.Sites))
	}
	// Pruned past the edge's revision, or the database went back in time:
	// the feed says it cannot tell, and the edge reloads everything.
	if err := s.PruneChanges(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSite(ctx, 1000000000002); err != nil {
		t.Fatal(err)
	}
	if _, _, complete, _ := s.ChangedSites(ctx, start); complete {
		t.Error("a pruned feed claims to be complete")
	}
	if _, _, complete, _ := s.ChangedSites(ctx, rev+1000); complete {
		t.Error("a revision from the future is answered as complete")
	}
	if ids, _, complete, _ := s.ChangedSites(ctx, rev); !complete || len(ids) != 1 || ids[0] != 1000000000002 {
		t.Errorf("after the prune, ChangedSites = %v, %v", ids, complete)
	}
	checkFeedRead(t, s, now)
}

// checkFeedRead: Changes, read in one statement, gives each change after
// the revision asked for, in revision order, with its site, kind and ref,
// up to the revision it returns; none when nothing changed; and none, with
// complete false, when the feed does not reach back (pruned) or the
// revision asked for is ahead of the database's.
func checkFeedRead(t *testing.T, s *sqlstore.Store, now time.Time) {
	t.Helper()
	ctx := context.Background()
	const siteID = 1000000000001
	from, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"f1", "f2", "f3"} {
		c := cert.Certificate{ID: id, SiteID: siteID, Name: id, Type: cert.TypeUpload, SealedKey: []byte{1}, Created: now, Updated: now}
		if err := s.Import(ctx, nil, []cert.Certificate{c}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteCertificate(ctx, siteID, "f2"); err != nil {
		t.Fatal(err)
	}
	changes, rev, complete, err := s.Changes(ctx, from)
	if err != nil || !complete || len(changes) < 4 {
		t.Fatalf("Changes(%d) = %+v at %d, %v, %v; want the 4 changes after it", from, changes, rev, complete, err)
	}
	last := from
	for _, c := range changes {
		if c.Rev <= last || c.Rev > rev || c.SiteID != siteID {
			t.Fatalf("Changes(%d) = %+v at %d: out of order, or beyond the revision, or of another site", from, changes, rev)
		}
		last = c.Rev
	}
	if got := changes[len(changes)-1]; last != rev || got.Kind != sqlstore.ChangeCertificate || got.Ref != "f2" {
		t.Errorf("the last change = %+v, revision %d; want the deletion of f2 at %d", got, last, rev)
	}
	if tail, at, complete, err := s.Changes(ctx, changes[1].Rev); err != nil || !complete || at != rev || len(tail) != len(changes)-2 ||
		tail[0] != changes[2] {
		t.Errorf("Changes(%d) = %+v at %d, %v, %v; want the changes after the second", changes[1].Rev, tail, at, complete, err)
	}
	if none, at, complete, err := s.Changes(ctx, rev); err != nil || !complete || at != rev || len(none) != 0 {
		t.Errorf("nothing changed, yet Changes(%d) = %+v at %d, %v, %v", rev, none, at, complete, err)
	}
	if ahead, _, complete, err := s.Changes(ctx, rev+10); err != nil || complete || len(ahead) != 0 {
		t.Errorf("Changes from a revision ahead of the database = %+v, %v, %v; want none, incomplete", ahead, complete, err)
	}
	if err := s.PruneChanges(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if pruned, _, complete, err := s.Changes(ctx, from); err != nil || complete || len(pruned) != 0 {
		t.Errorf("Changes past the prune = %+v, %v, %v; want none, incomplete", pruned, complete, err)
	}
}

func mustPlan(name string) site.Plan {
	p, ok := site.LookupPlan(name)
	if !ok {
		panic(name)
	}
	return p
}

// TestWatchAcrossNodes: on PostgreSQL a change committed by one node wakes
// another node's watchers (LISTEN/NOTIFY), without waiting for a poll; the
// listener also comes back after its connection is killed.
func TestWatchAcrossNodes(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	a, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := a.CreateInstance(ctx, site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas",
		BillingMode: "PREPAY", Status: site.InstanceOnline, Created: now}, nil); err != nil {
		t.Fatal(err)
	}
	wake, stop := b.Watch()
	defer stop()
	drain := func() {
		for {
			select {
			case <-wake:
			case <-time.After(300 * time.Millisecond):
				return
			}
		}
	}
	create := func(id int64, name string) {
		t.Helper()
		if err := a.CreateSite(ctx, site.Site{ID: id, Name: name, AccessType: "NS", Coverage: "overseas", Status: site.SiteActive,
			InstanceID: "inst", VerifyCode: "v", Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
	}
	expectWake := func(what string) {
		t.Helper()
		select {
		case <-wake:
		case <-time.After(2 * time.Second):
			t.Fatalf("node B was not woken by %s", what)
		}
	}
	drain() // the listener's own wake-up on connecting
	create(1000000000101, "notify-a.com")
	expectWake("node A's commit")

	// Kill B's LISTEN connection from the server side: B reconnects and
	// hears the next change.
	drain()
	pg, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	if _, err := pg.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN esacert_edge%' AND datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // the reconnect
	drain()
	create(1000000000102, "notify-b.com")
	expectWake("a commit after the listener reconnected")
}

// TestChallengeOnlyForServedSites: an HTTP-01 / TLS-ALPN-01 answer is given
// only for a name that is a free certificate of an active or pending site.
func TestChallengeOnlyForServedSites(t *testing.T) {
	s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now().UTC()
	if err := s.PutChallenge(ctx, "www.challenge.com", "tok", "answer", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Challenge(ctx, "www.challenge.com", "tok", now); ok || err != nil {
		t.Fatalf("answered for a name no site applied for: %v, %v", ok, err)
	}
	if err := s.CreateInstance(ctx, site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas",
		BillingMode: "PREPAY", Status: site.InstanceOnline, Created: now}, nil); err != nil {
		t.Fatal(err)
	}
	for i, status := range []string{site.SiteOffline, site.SiteActive, site.SitePending} {
		id := int64(1000000000201 + i)
		name := []string{"offline.com", "challenge.com", "pending.com"}[i]
		if err := s.CreateSite(ctx, site.Site{ID: id, Name: name, AccessType: "NS", Coverage: "overseas", Status: status,
			InstanceID: "inst", VerifyCode: "v", Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateFree(ctx, []cert.Certificate{{ID: fmt.Sprintf("%032x", id), SiteID: id, Name: "www." + name,
			Type: cert.TypeFree, Created: now, Updated: now, Free: cert.FreeState{Status: cert.StatusApplying, CA: "x", Next: now}}}, 0); err != nil {
			t.Fatal(err)
		}
	}
	for _, host := range []string{"www.offline.com", "www.pending.com"} {
		if err := s.PutChallenge(ctx, host, "tok", "answer", now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok, _ := s.Challenge(ctx, "www.offline.com", "tok", now); ok {
		t.Error("answered for a site that is offline")
	}
	// A pending site has free certificates only where pending sites are
	// served (cert.Service.RequireVerified), so its challenges are answered.
	if _, ok, err := s.Challenge(ctx, "www.pending.com", "tok", now); !ok || err != nil {
		t.Errorf("Challenge for a pending site's free certificate = %v, %v", ok, err)
	}
	if v, ok, err := s.Challenge(ctx, "www.challenge.com", "tok", now); !ok || err != nil || v != "answer" {
		t.Errorf("Challenge for an active site's free certificate = %q, %v, %v", v, ok, err)
	}
}
