package sqlstore

import (
	"context"
	"database/sql"
)

// Statements prepared once. A node asks the database the same few questions
// all the time, idle or not: the edge its changes every 250 ms, the stapler
// its OCSP responses, the key keeper its master keys and heartbeat every
// second, the RAM resolver its revision. Each query sent as text is parsed
// and planned again; on SQLite (modernc.org/sqlite, SQLite's C compiled to
// Go) that parse was half of an idle node's CPU, about 3% of a core in all. Those queries go through
// prepared, which on SQLite prepares each once and keeps it (database/sql
// prepares it again on each connection it runs on, and after a schema
// change SQLite prepares it again by itself). On PostgreSQL it sends the
// query as before: pgx already keeps a prepared statement for each query
// text on each connection. Only queries whose text is fixed go through it:
// one whose text is built per call would add a statement per text.

// prepared answers queries through statements kept by its store.
type prepared struct{ s *Store }

// stmt returns q's statement, prepared on first use (q as the database
// takes it: through rebind, as every query of this package).
func (s *Store) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	if s.stmtsClosed {
		return nil, sql.ErrConnDone
	}
	// Under the lock: a statement is prepared once per store, the first
	// time its query is asked (database/sql prepares it on each further
	// connection inside Stmt, without this lock).
	st, err := s.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if s.stmts == nil {
		s.stmts = map[string]*sql.Stmt{}
	}
	s.stmts[q] = st
	return st, nil
}

// closeStmts closes the statements kept, before the database closes; none
// is prepared after it.
func (s *Store) closeStmts() {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	for _, st := range s.stmts {
		st.Close()
	}
	s.stmts, s.stmtsClosed = nil, true
}

// QueryContext runs q, prepared once.
func (p prepared) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if p.s.dialect == Postgres {
		return p.s.db.QueryContext(ctx, q, args...)
	}
	st, err := p.s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// ExecContext runs q, prepared once.
func (p prepared) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if p.s.dialect == Postgres {
		return p.s.db.ExecContext(ctx, q, args...)
	}
	st, err := p.s.stmt(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// queryRow runs q, prepared once, and scans its first row into dest, as
// QueryRowContext and Scan do: sql.ErrNoRows when there is none.
func (p prepared) queryRow(ctx context.Context, q string, dest ...any) error {
	rows, err := p.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := rows.Scan(dest...); err != nil {
		return err
	}
	return rows.Close()
}
