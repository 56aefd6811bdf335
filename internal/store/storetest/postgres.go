package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver
)

// PostgresDSN returns the DSN of the test PostgreSQL server, or skips the
// test with a message saying how to run it. ESACERT_TEST_POSTGRES_DSN names
// the server (CI sets it).
func PostgresDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("ESACERT_TEST_POSTGRES_DSN")
	if dsn == "" {
		t.Skip("PostgreSQL tests skipped: set ESACERT_TEST_POSTGRES_DSN (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run them")
	}
	return dsn
}

var pgSeq atomic.Int64

// PostgresDatabase creates an empty database on the test server, dropped
// when the test ends, and returns its DSN; it skips like PostgresDSN.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	dsn := PostgresDSN(t)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("esacert_test_%d_%d", os.Getpid(), pgSeq.Add(1))
	if _, err := admin.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", dsn)
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
