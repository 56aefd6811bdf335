package sqlstore_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/audit"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

func TestAuditEvents(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testAuditEvents(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), storetest.PostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testAuditEvents(t, s)
	})
}

// testAuditEvents: a request's event commits with its first change, once;
// a transaction that fails takes its event with it (the envelope records it
// then); RecordEvent writes what no transaction did; pruning drops old ones.
func testAuditEvents(t *testing.T, s *sqlstore.Store) {
	now := time.Now().UTC().Truncate(time.Second)
	ev := &audit.Event{ID: "REQ-1", Time: now, Name: "SetMasterKeyTest", Service: "esa", Write: true,
		Principal: audit.Principal{Type: audit.PrincipalRoot, UserName: "root", AccessKeyID: "LTAIroot"}}
	ctx := audit.With(t.Context(), ev)
	if err := s.SetMasterKey(ctx, "aaaa"); err != nil {
		t.Fatal(err)
	}
	if !ev.Claimed() {
		t.Fatal("the event was not written with the change")
	}
	if err := s.SetMasterKey(ctx, "bbbb"); err != nil { // a second change of the same request
		t.Fatal(err)
	}
	// A transaction that fails: the lease is held by another holder.
	failed := &audit.Event{ID: "REQ-2", Time: now.Add(time.Second), Name: "Refused", Service: "esa", Write: true}
	if err := s.AcquireRotation(t.Context(), "other", now, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireRotation(audit.With(t.Context(), failed), "me", now, time.Hour); err == nil {
		t.Fatal("the lease was taken twice")
	}
	if failed.Claimed() {
		t.Fatal("a failed transaction recorded its event")
	}
	failed.ErrorCode = "Refused.Code"
	if err := s.RecordEvent(t.Context(), failed); err != nil || !failed.Claimed() {
		t.Fatalf("RecordEvent = %v", err)
	}
	if err := s.RecordEvent(t.Context(), failed); err != nil {
		t.Fatalf("recording an event twice: %v", err)
	}
	got, next, err := s.Events(t.Context(), audit.Filter{Start: now.Add(-time.Minute), End: now.Add(time.Minute), Forward: true, Limit: 10})
	if err != nil || next != "" || len(got) != 2 || got[0].ID != "REQ-1" || got[1].ErrorCode != "Refused.Code" ||
		got[0].Principal.AccessKeyID != "LTAIroot" {
		t.Fatalf("Events = %+v, %q, %v", got, next, err)
	}
	byName, _, err := s.Events(t.Context(), audit.Filter{Start: now.Add(-time.Minute), End: now.Add(time.Minute), Limit: 10,
		Attributes: map[string]string{"EventName": "Refused", "EventRW": "Write"}})
	if err != nil || len(byName) != 1 || byName[0].ID != "REQ-2" {
		t.Fatalf("Events by name = %+v, %v", byName, err)
	}
	if _, _, err := s.Events(t.Context(), audit.Filter{Start: now.Add(-time.Minute), End: now.Add(time.Minute), After: "!!"}); err != audit.ErrBadToken {
		t.Fatalf("a bad token = %v", err)
	}
	if gone, err := s.PruneEvents(t.Context(), now.Add(500*time.Millisecond)); err != nil || gone != 1 {
		t.Fatalf("PruneEvents = %d, %v", gone, err)
	}
}
