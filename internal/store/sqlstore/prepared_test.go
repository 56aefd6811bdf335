package sqlstore_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

// TestPreparedPolls: the queries a node repeats all the time (the edge's
// changes and OCSP responses, the master keys, the heartbeat, the RAM
// revision) are prepared once on SQLite and kept, and answer what the
// database holds at each call, a change made between two calls included;
// on PostgreSQL (whose driver keeps its own statements) none is kept.
// After Close they fail with an error, and prepare nothing.
func TestPreparedPolls(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
		if err != nil {
			t.Fatal(err)
		}
		testPreparedPolls(t, s, 5)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), storetest.PostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		testPreparedPolls(t, s, 0)
	})
}

func testPreparedPolls(t *testing.T, s *sqlstore.Store, kept int) {
	ctx := t.Context()
	node := sqlstore.NodeInfo{ID: "node-prepared", Host: "h", PID: 1, Roles: "edge", Started: time.Now()}
	poll := func() (rev, ramRev int64) {
		t.Helper()
		_, rev, complete, err := s.Changes(ctx, 0)
		if err != nil || !complete {
			t.Fatalf("Changes: %v (complete %v)", err, complete)
		}
		if _, _, err := s.OCSPResponses(ctx, 0); err != nil {
			t.Fatalf("OCSPResponses: %v", err)
		}
		if _, _, err := s.MasterKeys(ctx); err != nil {
			t.Fatalf("MasterKeys: %v", err)
		}
		if err := s.Heartbeat(ctx, node, time.Now()); err != nil {
			t.Fatalf("Heartbeat: %v", err)
		}
		if ramRev, err = s.RAMRevision(ctx); err != nil {
			t.Fatalf("RAMRevision: %v", err)
		}
		return rev, ramRev
	}
	rev0, ram0 := poll()
	if got := s.PreparedCount(); got != kept {
		t.Fatalf("%d statements kept after the first polls, want %d", got, kept)
	}
	// A change between two polls is seen by the statements kept.
	svc := &site.Service{Store: s}
	if err := svc.EnsureDefaultInstance(ctx); err != nil {
		t.Fatal(err)
	}
	instance, err := svc.DefaultInstanceID()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := s.CreateSite(ctx, site.Site{ID: 7_000_000_000_001, Name: "prepared.example", AccessType: "NS",
		Coverage: "overseas", Status: site.SiteActive, InstanceID: instance, VerifyCode: "x", Created: now, Updated: now}); err != nil {
		t.Fatal(err)
	}
	rev1, ram1 := poll()
	if rev1 <= rev0 {
		t.Errorf("the change feed's revision stayed at %d after a site was created (was %d)", rev1, rev0)
	}
	if ram1 != ram0 {
		t.Errorf("RAM revision %d, then %d with no RAM change", ram0, ram1)
	}
	nodes, err := s.Nodes(ctx, now.Add(-time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 1 || nodes[0].ID != node.ID {
		t.Errorf("nodes after the heartbeats: %+v, want %s alone", nodes, node.ID)
	}
	if got := s.PreparedCount(); got != kept {
		t.Fatalf("%d statements kept after the second polls, want %d (each prepared once)", got, kept)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Changes(context.Background(), 0); err == nil {
		t.Error("Changes answered after Close")
	}
	if _, err := s.RAMRevision(context.Background()); err == nil {
		t.Error("RAMRevision answered after Close")
	}
	if got := s.PreparedCount(); got != 0 {
		t.Errorf("%d statements kept after Close", got)
	}
}

// TestPreparedConcurrent: polls made at once, before any statement is kept,
// each answer (run with -race, the test of the statements' lock), and one
// statement is kept for their query.
func TestPreparedConcurrent(t *testing.T) {
	s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	errs := make(chan error, 16)
	for range cap(errs) {
		go func() {
			_, err := s.RAMRevision(t.Context())
			errs <- err
		}()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	if got := s.PreparedCount(); got != 1 {
		t.Errorf("%d statements kept for one query polled at once, want 1", got)
	}
}
