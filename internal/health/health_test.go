package health

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/store/sqlstore"
)

// TestHealthCheck: /healthz asks the database at most once a second, and a
// probe that hangs up does not make the next one fail.
func TestHealthCheck(t *testing.T) {
	store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	var h Check
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Do(gone, store.Healthy); err != nil {
		t.Fatalf("a check from a caller that hung up failed: %v", err)
	}
	store.Close()
	if err := h.Do(context.Background(), store.Healthy); err != nil {
		t.Errorf("the database was asked again within a second: %v", err)
	}
	h.at = h.at.Add(-2 * time.Second) // a second later
	if err := h.Do(context.Background(), store.Healthy); err == nil {
		t.Error("a closed database is healthy")
	}
}
