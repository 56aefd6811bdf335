package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/user"
)

var _ user.Store = (*Store)(nil)

const userColumns = `id, name, display_name, mobile_phone, email, comments, created_us, updated_us, last_login_us`

func scanUser(sc scanner) (user.User, error) {
	var (
		u                       user.User
		created, updated, login int64
	)
	if err := sc.Scan(&u.ID, &u.Name, &u.DisplayName, &u.MobilePhone, &u.Email, &u.Comments, &created, &updated, &login); err != nil {
		return user.User{}, err
	}
	u.Created, u.Updated, u.LastLogin = fromMicros(created), fromMicros(updated), fromMicros(login)
	return u, nil
}

// nameViolation maps a uniqueness violation of a RAM table to exists when
// it is on the name, domain.ErrExists when on the id, nil when err is none.
func nameViolation(err error, exists error) error {
	switch v := violation(err); {
	case v == "":
		return nil
	case strings.Contains(v, "name"):
		return exists
	default:
		return domain.ErrExists
	}
}

// CreateUser implements user.Store.
func (s *Store) CreateUser(ctx context.Context, u user.User, max int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if max > 0 {
			if s.dialect == Postgres { // the count holds until commit
				if _, err := tx.ExecContext(ctx, `LOCK TABLE ram_users IN SHARE ROW EXCLUSIVE MODE`); err != nil {
					return err
				}
			}
			n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_users`)
			if err != nil {
				return fmt.Errorf("count users: %w", err)
			}
			if n >= max {
				return user.ErrUserLimit
			}
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			u.ID, u.Name, u.DisplayName, u.MobilePhone, u.Email, u.Comments, micros(u.Created), micros(u.Updated), micros(u.LastLogin))
		if e := nameViolation(err, user.ErrUserExists); e != nil {
			return e
		}
		if err != nil {
			return fmt.Errorf("insert user: %w", err)
		}
		return s.bumpRAM(ctx, tx)
	})
}

// User implements user.Store.
func (s *Store) User(ctx context.Context, name string) (user.User, error) {
	return queryOne(ctx, s, scanUser, user.ErrUserNotFound, "read user", name,
		`SELECT `+userColumns+` FROM ram_users WHERE name = ?`, name)
}

// ListUsers implements user.Store.
func (s *Store) ListUsers(ctx context.Context, m domain.Marker) ([]user.User, error) {
	list, err := queryAll(ctx, s, s.db, scanUser, `SELECT `+userColumns+` FROM ram_users WHERE name > ? ORDER BY name LIMIT ?`,
		m.After, m.Limit+1)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return list, nil
}

// UpdateUser implements user.Store.
func (s *Store) UpdateUser(ctx context.Context, name string, u user.User) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE ram_users SET name = ?, display_name = ?, mobile_phone = ?, email = ?,
			comments = ?, updated_us = ? WHERE name = ?`),
			u.Name, u.DisplayName, u.MobilePhone, u.Email, u.Comments, micros(u.Updated), name)
		if e := nameViolation(err, user.ErrUserExists); e != nil {
			return e
		}
		if err != nil {
			return fmt.Errorf("update user: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return user.ErrUserNotFound
		}
		return s.bumpRAM(ctx, tx)
	})
}

// DeleteUser implements user.Store.
func (s *Store) DeleteUser(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.principalID(ctx, tx, "user", name)
		if err != nil {
			return err
		}
		for _, c := range []struct {
			q   string
			err error
		}{
			{`SELECT 1 FROM ram_access_keys WHERE user_id = ?`, user.ErrHasAccessKey},
			{`SELECT 1 FROM ram_group_members WHERE user_id = ?`, user.ErrInGroup},
			{`SELECT 1 FROM ram_attachments WHERE principal_kind = 'user' AND principal_id = ?`, user.ErrHasPolicy},
		} {
			if found, err := exists(ctx, s, tx, c.q+` LIMIT 1`, id); err != nil {
				return fmt.Errorf("check user %s: %w", name, err)
			} else if found {
				return c.err
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_users WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete user: %w", err)
		}
		return s.bumpRAM(ctx, tx)
	})
}
