package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/user"
)

// bumpRAM bumps the RAM revision inside tx: every transaction that changes
// who may do what calls it once, after its change. On PostgreSQL it also
// notifies every node (on the edge's channel: edges that wake up find their
// own revision unchanged).
func (s *Store) bumpRAM(ctx context.Context, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `UPDATE ram_revision SET rev = rev + 1 WHERE id = 1`); err != nil {
		return fmt.Errorf("bump RAM revision: %w", err)
	}
	if s.dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify('`+notifyChannel+`', 'ram')`); err != nil {
			return fmt.Errorf("notify RAM change: %w", err)
		}
	}
	return nil
}

// RAMRevision returns the RAM revision: cheap, for polling. It changes
// whenever a key, user, group membership, policy, attachment or role does.
func (s *Store) RAMRevision(ctx context.Context) (int64, error) {
	var rev int64
	if err := (prepared{s}).queryRow(ctx, `SELECT rev FROM ram_revision WHERE id = 1`, &rev); err != nil {
		return 0, fmt.Errorf("read RAM revision: %w", err)
	}
	return rev, nil
}

// principalID returns the id of the user, group or role of that name,
// locking its row until tx ends (so that a concurrent delete waits), or its
// not-found error.
func (s *Store) principalID(ctx context.Context, tx *sql.Tx, kind, name string) (string, error) {
	var table string
	var notFound error
	switch kind {
	case "user":
		table, notFound = "ram_users", user.ErrUserNotFound
	case "group":
		table, notFound = "ram_groups", group.ErrGroupNotFound
	case "role":
		table, notFound = "ram_roles", role.ErrRoleNotFound
	default:
		return "", fmt.Errorf("unknown principal kind %q", kind)
	}
	var id string
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM `+table+` WHERE name = ?`+s.forUpdate), name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", notFound
	}
	if err != nil {
		return "", fmt.Errorf("read %s %s: %w", kind, name, err)
	}
	return id, nil
}

// exists reports whether q (a SELECT 1 … query) finds a row.
func exists(ctx context.Context, s *Store, tx *sql.Tx, q string, args ...any) (bool, error) {
	var one int
	err := tx.QueryRowContext(ctx, s.rebind(q), args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// count runs a SELECT COUNT(*) query.
func count(ctx context.Context, s *Store, q rowQuerier, query string, args ...any) (int, error) {
	var n int
	err := q.QueryRowContext(ctx, s.rebind(query), args...).Scan(&n)
	return n, err
}
