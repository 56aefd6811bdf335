package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"github.com/esacert/esacert/internal/audit"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations
var migrations embed.FS

// Dialects.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
)

// Store is the database/sql implementation of the domain's storage
// interfaces. It is safe for concurrent use.
type Store struct {
	db      *sql.DB
	dialect string
	path    string // the SQLite file; "" on PostgreSQL
	// forUpdate is appended to a SELECT that must lock the rows it reads for
	// the rest of the transaction ("" on SQLite, whose write transactions are
	// already serialised by BEGIN IMMEDIATE).
	forUpdate string
	// ring, once ClaimMasterKey succeeded, is the node's key ring: every
	// write of a sealed key checks that the key it seals with is still one
	// the database accepts (see checkMasterKey).
	ring atomic.Pointer[ringRef]

	watchMu  sync.Mutex
	watchers []chan struct{}
	// certCommit is told of the certificate changes this store commits
	// (OnCertificateCommit).
	certCommit atomic.Pointer[func(CertCommit)]

	// pgConfig is kept on PostgreSQL for the LISTEN connection of Watch.
	pgConfig   *pgx.ConnConfig
	listenOnce sync.Once
	listenStop context.CancelFunc
	listenDone chan struct{}
	closed     bool // no listener starts after Close

	// Statements prepared once (prepared.go).
	stmtMu      sync.Mutex
	stmts       map[string]*sql.Stmt
	stmtsClosed bool
}

// Open connects to the database that dsn names and brings its schema up to
// date. A dsn is "postgres://…" or "postgresql://…" for PostgreSQL, or
// "sqlite:PATH" (or a bare PATH) for a SQLite file, created if missing.
//
// A SQLite file and its -wal and -shm files are owner-only (0600): the file
// is created so, SQLite gives the other two the database file's mode, and
// files left readable by others by an earlier version are narrowed. Errors
// about a SQLite database name its path.
func Open(ctx context.Context, dsn string) (*Store, error) {
	s, err := open(dsn)
	if err != nil {
		return nil, err
	}
	if err := s.db.PingContext(ctx); err != nil {
		s.db.Close()
		return nil, fmt.Errorf("sqlstore: connect to %s: %w", s.name(), err)
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// name says which database s is, for errors: the SQLite file's path, or
// the dialect alone (a PostgreSQL DSN may hold a password).
func (s *Store) name() string {
	if s.path != "" {
		return "SQLite database " + s.path
	}
	return s.dialect + " database"
}

// ownerOnly creates the SQLite file at path with mode 0600 when it is
// missing, and takes the group's and others' permissions off it and its
// -wal and -shm files when they have any. SQLite creates the -wal and -shm
// files with the database file's mode.
func ownerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&^0o077); err != nil {
				return err
			}
		}
	}
	return nil
}

func open(dsn string) (*Store, error) {
	switch {
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		cfg, err := pgx.ParseConfig(dsn) // pgx's errors redact the password
		if err != nil {
			return nil, fmt.Errorf("sqlstore: %w", err)
		}
		conns, err := poolSize(cfg)
		if err != nil {
			return nil, err
		}
		db := stdlib.OpenDB(*cfg)
		db.SetMaxOpenConns(conns)
		db.SetMaxIdleConns(conns)
		db.SetConnMaxIdleTime(5 * time.Minute)
		return &Store{db: db, dialect: Postgres, forUpdate: " FOR UPDATE", pgConfig: cfg}, nil
	case dsn == "":
		return nil, errors.New("sqlstore: empty database DSN")
	default:
		path := strings.TrimPrefix(dsn, "sqlite:")
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: SQLite database %s: %w", path, err)
		}
		if err := ownerOnly(abs); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err // the path is said once
			}
			return nil, fmt.Errorf("sqlstore: open SQLite database %s: %w", abs, err)
		}
		q := url.Values{}
		q.Add("_pragma", "busy_timeout(10000)")
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "foreign_keys(1)")
		q.Set("_txlock", "immediate")
		u := url.URL{Scheme: "file", OmitHost: true, Path: abs, RawQuery: q.Encode()}
		db, err := sql.Open("sqlite", u.String())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open SQLite database %s: %w", abs, err)
		}
		// One writer at a time is SQLite's rule; readers run beside it in WAL
		// mode. A small pool keeps reads parallel without piling up writers.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
		return &Store{db: db, dialect: SQLite, path: abs}, nil
	}
}

// DefaultPoolSize is how many connections a node opens to PostgreSQL at
// most (besides the one that listens for changes), unless the DSN's
// pool_max_conns says otherwise.
const DefaultPoolSize = 20

// poolSize takes pool_max_conns (the name pgxpool gives it) out of a
// parsed PostgreSQL DSN, where it would be sent to the server as a setting
// the server refuses, and returns the pool size.
func poolSize(cfg *pgx.ConnConfig) (int, error) {
	v, ok := cfg.RuntimeParams["pool_max_conns"]
	if !ok {
		return DefaultPoolSize, nil
	}
	delete(cfg.RuntimeParams, "pool_max_conns")
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, errors.New("sqlstore: pool_max_conns in the DSN must be a whole number from 1 to 1000")
	}
	return n, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.watchMu.Lock()
	stop, done := s.listenStop, s.listenDone
	s.closed = true
	s.watchMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	s.closeStmts()
	return s.db.Close()
}

// Dialect returns SQLite or Postgres.
func (s *Store) Dialect() string { return s.dialect }

// migrate applies, in order and each in its own transaction, the migrations
// of the store's dialect that the database has not seen.
func (s *Store) migrate(ctx context.Context) error {
	dir := "migrations/" + s.dialect
	entries, err := fs.ReadDir(migrations, dir)
	if err != nil {
		return fmt.Errorf("sqlstore: read migrations: %w", err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	for _, e := range entries {
		name := e.Name()
		n, _, ok := strings.Cut(name, "_")
		version, err := strconv.Atoi(n)
		if !ok || err != nil || !strings.HasSuffix(name, ".sql") {
			return fmt.Errorf("sqlstore: migration %s is not named NNN_name.sql", name)
		}
		body, err := migrations.ReadFile(dir + "/" + name)
		if err != nil {
			return fmt.Errorf("sqlstore: %w", err)
		}
		err = s.tx(ctx, func(tx *sql.Tx) error {
			if s.dialect == Postgres {
				// Nodes starting at once take turns; the loser sees the version applied.
				if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7283561)`); err != nil {
					return err
				}
			}
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
				version INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)`); err != nil {
				return err
			}
			var seen int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&seen); err != nil {
				return err
			}
			if seen > 0 {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO schema_migrations (version, name, applied_us) VALUES (?, ?, ?)`),
				version, name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("sqlstore: apply migration %s: %w", name, err)
		}
	}
	return nil
}

// tx runs fn in a transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.txThen(ctx, fn, nil)
}

// txThen is tx, and calls then (when not nil) once the transaction has
// committed, before the watchers are woken.
func (s *Store) txThen(ctx context.Context, fn func(*sql.Tx) error, then func()) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // a no-op after Commit; releases the lock if fn panics
	if err := fn(tx); err != nil {
		return err
	}
	// The request's audit event commits with its first change.
	ev := audit.From(ctx)
	if ev != nil && ev.Claim() {
		if err := s.insertEvent(ctx, tx, ev); err != nil {
			ev.Unclaim()
			return err
		}
	} else {
		ev = nil
	}
	if err := tx.Commit(); err != nil {
		if ev != nil {
			ev.Unclaim()
		}
		// The write may have landed or not: the error does not unwrap to its
		// cause, so that it is not taken for an unreachable database that a
		// client should simply retry (a retried create would make a second).
		return fmt.Errorf("sqlstore: commit failed, the outcome is unknown: %v", err)
	}
	if then != nil {
		then()
	}
	s.notify()
	return nil
}

// rebind rewrites ? placeholders as $1, $2, … for PostgreSQL.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// violation tells what kind of uniqueness violation err is: "pkey" for a
// primary key, the index or constraint name for another unique constraint, or
// "" when err is no uniqueness violation.
func violation(err error) string {
	var le *sqlite.Error
	if errors.As(err, &le) {
		switch le.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return "pkey"
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			// "UNIQUE constraint failed: sites.name": report the column list.
			msg := le.Error()
			if i := strings.LastIndex(msg, "failed: "); i >= 0 {
				return strings.TrimSpace(msg[i+len("failed: "):])
			}
			return "unique"
		}
		return ""
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		if strings.HasSuffix(pe.ConstraintName, "_pkey") {
			return "pkey"
		}
		return pe.ConstraintName
	}
	return ""
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// like escapes s for a LIKE pattern with ESCAPE '\'.
func like(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// Unreachable reports whether err says that the database could not be
// reached: a connection could not be made, or one broke (a network error),
// or the server is starting up, shutting down or out of connection slots.
// Such a failure passes by itself; any other (a wrong password, a missing
// database, a failed migration, a statement that ran out of time, a commit
// whose outcome is unknown) is not simply retried.
func Unreachable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "57P01", "57P02", "57P03", "53300": // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true // no connection could be made (refused, timed out, reset)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || pgconn.Timeout(err) {
		return false // a statement ran out of time, or its caller left
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, driver.ErrBadConn)
}

// Stats returns the statistics of the connection pool (for the metrics).
func (s *Store) Stats() sql.DBStats { return s.db.Stats() }

// Healthy checks that the database answers. A ping that times out while
// every pooled connection is busy counts as healthy: the database answers,
// slowly, and the node is doing work.
func (s *Store) Healthy(ctx context.Context) error {
	err := s.db.PingContext(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		if st := s.db.Stats(); st.MaxOpenConnections > 0 && st.InUse >= st.MaxOpenConnections {
			return nil
		}
	}
	return err
}
