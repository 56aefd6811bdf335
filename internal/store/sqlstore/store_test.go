package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) cert.SiteStore {
		s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "esacert.db")
	for i := 0; i < 2; i++ {
		s, err := sqlstore.Open(t.Context(), path)
		if err != nil {
			t.Fatalf("open #%d: %v", i+1, err)
		}
		s.Close()
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
}

var pgSeq atomic.Int64

// TestPostgres runs the suite on PostgreSQL when ESACERT_TEST_POSTGRES_DSN
// names a server (CI sets it); each subtest gets a database of its own.
func TestPostgres(t *testing.T) {
	dsn := PostgresDSN(t)
	storetest.Run(t, func(t *testing.T) cert.SiteStore {
		s, err := sqlstore.Open(t.Context(), freshDatabase(t, dsn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// PostgresDSN returns the test server's DSN or skips the test.
func PostgresDSN(t *testing.T) string {
	dsn := os.Getenv("ESACERT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("PostgreSQL tests skipped: set ESACERT_TEST_POSTGRES_DSN (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run them")
	}
	return dsn
}

// freshDatabase creates an empty database on the server of dsn, dropped when
// the test ends, and returns its DSN.
func freshDatabase(t *testing.T, dsn string) string {
	t.Helper()
	admin, err := sqlstore.OpenRaw(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("esacert_test_%d_%d", os.Getpid(), pgSeq.Add(1))
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sqlstore.OpenRaw(dsn)
		if err != nil {
			return
		}
		defer a.Close()
		a.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	i := strings.LastIndex(dsn, "/")
	rest := ""
	if q := strings.IndexByte(dsn[i:], '?'); q >= 0 {
		rest = dsn[i+q:]
	}
	return dsn[:i+1] + name + rest
}
