package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Store {
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

func TestNonces(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testNonces(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s, err := sqlstore.Open(t.Context(), storetest.PostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		testNonces(t, s)
	})
}

func testNonces(t *testing.T, s *sqlstore.Store) {
	ctx := t.Context()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	a, b := s.Nonces(), s.Nonces() // two nodes' caches on one database
	steps := []struct {
		name string
		n    *sqlstore.Nonces
		key  string
		at   time.Time
		want bool
	}{
		{"ok/new", a, "k1", now, true},
		{"fail/seen_on_same_node", a, "k1", now.Add(time.Minute), false},
		{"fail/seen_on_other_node", b, "k1", now.Add(2 * time.Minute), false},
		{"ok/other_key", b, "k2", now, true},
		{"ok/expired_is_new_again", b, "k1", now.Add(31 * time.Minute), true},
	}
	for _, st := range steps {
		got, err := st.n.Use(ctx, st.key, st.at, st.at.Add(30*time.Minute))
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got != st.want {
			t.Errorf("%s: Use = %v, want %v", st.name, got, st.want)
		}
	}
	// Many nodes racing on one key: exactly one sees it as new.
	var (
		wg    sync.WaitGroup
		fresh atomic.Int32
	)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.Nonces().Use(ctx, "race", now, now.Add(time.Hour))
			if err != nil {
				t.Error(err)
			}
			if ok {
				fresh.Add(1)
			}
		}()
	}
	wg.Wait()
	if fresh.Load() != 1 {
		t.Errorf("%d racers saw the nonce as new, want 1", fresh.Load())
	}
}

// TestPostgresConcurrentMigrations starts several nodes on one fresh
// database at once: every one must come up.
func TestPostgresConcurrentMigrations(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := 0; i < 6; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := sqlstore.Open(t.Context(), dsn)
			if err != nil {
				errs <- err
				return
			}
			s.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestSQLitePathWithSpecialCharacters keeps the database inside a data
// directory whose name holds URI metacharacters.
func TestSQLitePathWithSpecialCharacters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a#b?c%d")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	s, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(dir, "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join(dir, "esacert.db")); err != nil {
		t.Fatalf("the database is not where it was asked to be: %v", err)
	}
}

// TestPostgres runs the conformance suite on PostgreSQL when
// ESACERT_TEST_POSTGRES_DSN names a server (CI sets it); each subtest gets a
// database of its own.
func TestPostgres(t *testing.T) {
	storetest.PostgresDSN(t)
	storetest.Run(t, func(t *testing.T) storetest.Store {
		s, err := sqlstore.Open(t.Context(), storetest.PostgresDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestUnreachable: a database that nothing answers for is unreachable (it
// may come back by itself); a missing database or role is not (the
// operator must act), nor is a reachable database.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	_, err = sqlstore.Open(t.Context(), "postgres://postgres@"+closed+"/x?sslmode=disable&connect_timeout=2")
	if err == nil || !sqlstore.Unreachable(err) {
		t.Errorf("nothing listening: %v, want unreachable", err)
	}
	for _, c := range []struct {
		err  error
		want bool
	}{
		{&pgconn.PgError{Code: "57P01"}, true},                      // the server is shutting down
		{fmt.Errorf("x: %w", &pgconn.PgError{Code: "53300"}), true}, // no connection slot left
		{&pgconn.PgError{Code: "28000"}, false},                     // refused credentials
		{&pgconn.PgError{Code: "23505"}, false},                     // a unique violation
		{fmt.Errorf("query: %w", context.DeadlineExceeded), false},  // a slow statement
		{fmt.Errorf("query: %w", context.Canceled), false},          // the caller left
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), true},         // the connection broke
		{errors.New("sqlstore: commit failed, the outcome is unknown: EOF"), false},
	} {
		if got := sqlstore.Unreachable(c.err); got != c.want {
			t.Errorf("Unreachable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
	dsn := storetest.PostgresDSN(t)
	u, _ := url.Parse(dsn)
	for _, c := range []struct{ name, path, user string }{
		{"missing database", "/esacert_no_such_database", "postgres"},
		{"missing role", u.Path, "esacert_no_such_role"},
	} {
		v := *u
		v.Path, v.User = c.path, url.User(c.user)
		_, err := sqlstore.Open(t.Context(), v.String())
		if err == nil || sqlstore.Unreachable(err) {
			t.Errorf("%s: %v, want an error that is not unreachable", c.name, err)
		}
	}
}
