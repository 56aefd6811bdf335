package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/user"
)

var _ accesskey.Store = (*Store)(nil)

const accessKeyColumns = `k.id, k.user_id, u.name, k.status, k.sealed_secret, k.created_us`

const accessKeyFrom = ` FROM ram_access_keys k JOIN ram_users u ON u.id = k.user_id`

func scanAccessKey(sc scanner) (accesskey.AccessKey, error) {
	var (
		k       accesskey.AccessKey
		created int64
	)
	if err := sc.Scan(&k.ID, &k.UserID, &k.UserName, &k.Status, &k.SealedSecret, &created); err != nil {
		return accesskey.AccessKey{}, err
	}
	k.Created = fromMicros(created)
	return k, nil
}

// CreateAccessKey implements accesskey.Store.
func (s *Store) CreateAccessKey(ctx context.Context, userName string, k accesskey.AccessKey, max int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		uid, err := s.principalID(ctx, tx, "user", userName)
		if err != nil {
			return err
		}
		if max > 0 {
			n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_access_keys WHERE user_id = ?`, uid)
			if err != nil {
				return fmt.Errorf("count access keys: %w", err)
			}
			if n >= max {
				return accesskey.ErrKeyLimit
			}
		}
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_access_keys (id, user_id, status, sealed_secret, created_us)
			VALUES (?, ?, ?, ?, ?)`), k.ID, uid, k.Status, k.SealedSecret, micros(k.Created))
		if e := nameViolation(err, nil); e != nil {
			return e
		}
		if err != nil {
			return fmt.Errorf("insert access key: %w", err)
		}
		return s.bumpRAM(ctx, tx)
	})
}

// AccessKeys implements accesskey.Store.
func (s *Store) AccessKeys(ctx context.Context, userName string) ([]accesskey.AccessKey, error) {
	var out []accesskey.AccessKey
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.userIDRead(ctx, tx, userName); err != nil {
			return err
		}
		var err error
		out, err = queryAll(ctx, s, tx, scanAccessKey, `SELECT `+accessKeyColumns+accessKeyFrom+
			` WHERE u.name = ? ORDER BY k.created_us, k.id`, userName)
		return err
	})
	return out, err
}

// userIDRead returns the id of the user of that name, read in tx without
// a lock, or user.ErrUserNotFound.
func (s *Store) userIDRead(ctx context.Context, tx *sql.Tx, name string) (string, error) {
	var id string
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM ram_users WHERE name = ?`), name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return "", user.ErrUserNotFound
	}
	if err != nil {
		return "", fmt.Errorf("read user %s: %w", name, err)
	}
	return id, nil
}

// AccessKey implements accesskey.Store.
func (s *Store) AccessKey(ctx context.Context, id string) (accesskey.AccessKey, error) {
	return queryOne(ctx, s, scanAccessKey, accesskey.ErrKeyNotFound, "read access key", id,
		`SELECT `+accessKeyColumns+accessKeyFrom+` WHERE k.id = ?`, id)
}

// SetAccessKeyStatus implements accesskey.Store.
func (s *Store) SetAccessKeyStatus(ctx context.Context, userName, id, status string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		uid, err := s.principalID(ctx, tx, "user", userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE ram_access_keys SET status = ? WHERE id = ? AND user_id = ?`), status, id, uid)
		if err != nil {
			return fmt.Errorf("update access key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return accesskey.ErrKeyNotFound
		}
		return s.bumpRAM(ctx, tx)
	})
}

// DeleteAccessKey implements accesskey.Store.
func (s *Store) DeleteAccessKey(ctx context.Context, userName, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		uid, err := s.principalID(ctx, tx, "user", userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_access_keys WHERE id = ? AND user_id = ?`), id, uid)
		if err != nil {
			return fmt.Errorf("delete access key: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return accesskey.ErrKeyNotFound
		}
		return s.bumpRAM(ctx, tx)
	})
}
