package sqlstore_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

// ring is a fixed key ring: it seals with the first id and holds them all.
type ring []string

func (r ring) KeyID() string { return r[0] }
func (r ring) Has(id string) bool {
	for _, k := range r {
		if k == id {
			return true
		}
	}
	return false
}

// sealedBy reads the fake sealed values below: the key id is the value.
func sealedBy(v []byte) string { return string(v) }

func TestMasterKeys(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testMasterKeys(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), storetest.PostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testMasterKeys(t, s)
	})
}

// testMasterKeys: the first claim records the ring's key; a node must hold
// the current key; writes sealed with the current or the previous key are
// accepted, with an older one refused; the node list reports what nodes hold.
func testMasterKeys(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	node := ring{"aaaa", "zzzz"}
	if cur, err := s.ClaimMasterKey(ctx, node, sealedBy); err != nil || cur != "aaaa" {
		t.Fatalf("first claim = %q, %v", cur, err)
	}
	if _, err := s.ClaimMasterKey(ctx, ring{"bbbb"}, sealedBy); !errors.Is(err, sqlstore.ErrMasterKey) {
		t.Fatalf("a claim without the current key = %v", err)
	}
	put := func(id string) error {
		return s.CreateRepoCert(ctx, cert.RepoCert{ID: time.Now().UnixNano(), Name: id + "-" + time.Now().String(),
			CertPEM: "pem", SealedKey: []byte(node.KeyID()), Created: time.Now()})
	}
	if err := put("one"); err != nil {
		t.Fatal(err)
	}
	// A rotation to bbbb: this node still seals with aaaa, now the previous key.
	if err := s.SetMasterKey(ctx, "bbbb"); err != nil {
		t.Fatal(err)
	}
	if cur, prev, err := s.MasterKeys(ctx); cur != "bbbb" || prev != "aaaa" || err != nil {
		t.Fatalf("MasterKeys = %q, %q, %v", cur, prev, err)
	}
	if err := put("two"); err != nil {
		t.Fatalf("a write sealed with the previous key was refused: %v", err)
	}
	// A second rotation leaves the node two keys behind: refused.
	if err := s.SetMasterKey(ctx, "cccc"); err != nil {
		t.Fatal(err)
	}
	if err := put("three"); !errors.Is(err, domain.ErrKeyUnavailable) {
		t.Fatalf("a write sealed with a retired key = %v", err)
	}
	// A node holding cccc but not the previous bbbb starts only once no value
	// is sealed by bbbb; values sealed by aaaa are left from before.
	counts, err := s.SealedKeyCounts(ctx, sealedBy)
	if err != nil || counts["aaaa"] != 2 || len(counts) != 1 {
		t.Fatalf("SealedKeyCounts = %v, %v", counts, err)
	}
	if _, err := s.ClaimMasterKey(ctx, ring{"cccc"}, sealedBy); err != nil {
		t.Fatalf("no value is sealed by the previous key, yet the claim failed: %v", err)
	}

	// While a rotation to dddd is under way, a node must hold dddd to start.
	if err := s.SetNextMasterKey(ctx, "dddd"); err != nil {
		t.Fatal(err)
	}
	if next, err := s.NextMasterKey(ctx); next != "dddd" || err != nil {
		t.Fatalf("NextMasterKey = %q, %v", next, err)
	}
	if _, err := s.ClaimMasterKey(ctx, ring{"cccc"}, sealedBy); !errors.Is(err, sqlstore.ErrMasterKey) {
		t.Fatalf("a node without the next key started during a rotation: %v", err)
	}
	if _, err := s.ClaimMasterKey(ctx, ring{"cccc", "dddd"}, sealedBy); err != nil {
		t.Fatalf("a node with the next key: %v", err)
	}
	if err := s.SetNextMasterKey(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if next, _ := s.NextMasterKey(ctx); next != "" {
		t.Fatalf("the next key was not cleared: %q", next)
	}

	// One rotation at a time: the lease is refused to another holder until
	// it runs out or is released.
	now := time.Now()
	if err := s.AcquireRotation(ctx, "host-a pid 1", now, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireRotation(ctx, "host-b pid 2", now, time.Minute); !errors.Is(err, sqlstore.ErrRotationRunning) || !strings.Contains(err.Error(), "host-a pid 1") {
		t.Fatalf("a second rotation = %v", err)
	}
	if err := s.AcquireRotation(ctx, "host-b pid 2", now.Add(2*time.Minute), time.Minute); err != nil {
		t.Fatalf("a lease that ran out still blocks: %v", err)
	}
	if err := s.ReleaseRotation(ctx, "host-a pid 1"); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireRotation(ctx, "host-c pid 3", now.Add(2*time.Minute), time.Minute); !errors.Is(err, sqlstore.ErrRotationRunning) {
		t.Fatalf("another holder released b's lease: %v", err)
	}
	if err := s.ReleaseRotation(ctx, "host-b pid 2"); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireRotation(ctx, "host-c pid 3", now, time.Minute); err != nil {
		t.Fatalf("after the release: %v", err)
	}

	n := sqlstore.NodeInfo{ID: "n1", Host: "h", PID: 7, Roles: "api,edge", KeyIDs: []string{"cccc", "bbbb"}, Sealing: "cccc", Started: now}
	if err := s.Heartbeat(ctx, n, now); err != nil {
		t.Fatal(err)
	}
	old := n
	old.ID = "n2"
	if err := s.Heartbeat(ctx, old, now.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Nodes(ctx, now.Add(-10*time.Second))
	if err != nil || len(got) != 1 || got[0].ID != "n1" || !got[0].HoldsKey("bbbb") || got[0].Sealing != "cccc" || got[0].PID != 7 {
		t.Fatalf("Nodes = %+v, %v", got, err)
	}
	if err := s.Leave(ctx, "n1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Nodes(ctx, now.Add(-10*time.Second)); len(got) != 0 {
		t.Fatalf("a node that left is listed: %+v", got)
	}
}
