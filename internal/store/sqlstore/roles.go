package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/role"
)

var _ role.Store = (*Store)(nil)

const roleColumns = `id, name, description, trust_document, max_session, created_us, updated_us`

func scanRole(sc scanner) (role.Role, error) {
	var (
		r                role.Role
		created, updated int64
	)
	if err := sc.Scan(&r.ID, &r.Name, &r.Description, &r.TrustDocument, &r.MaxSessionDuration, &created, &updated); err != nil {
		return role.Role{}, err
	}
	r.Created, r.Updated = fromMicros(created), fromMicros(updated)
	return r, nil
}

// CreateRole implements role.Store.
func (s *Store) CreateRole(ctx context.Context, r role.Role, max int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if max > 0 {
			if s.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `LOCK TABLE ram_roles IN SHARE ROW EXCLUSIVE MODE`); err != nil {
					return err
				}
			}
			if n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_roles`); err != nil {
				return fmt.Errorf("count roles: %w", err)
			} else if n >= max {
				return role.ErrRoleLimit
			}
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_roles (`+roleColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.Name, r.Description, r.TrustDocument, r.MaxSessionDuration, micros(r.Created), micros(r.Updated))
		if e := nameViolation(err, role.ErrRoleExists); e != nil {
			return e
		}
		if err != nil {
			return fmt.Errorf("insert role: %w", err)
		}
		if err := s.writeTags(ctx, tx, role.TagKind, r.Name, r.Tags); err != nil {
			return err
		}
		return s.bumpRAM(ctx, tx)
	})
}

// Role implements role.Store.
func (s *Store) Role(ctx context.Context, name string) (role.Role, error) {
	return s.readRole(ctx, `name`, name)
}

// RoleByID implements role.Store.
func (s *Store) RoleByID(ctx context.Context, id string) (role.Role, error) {
	return s.readRole(ctx, `id`, id)
}

func (s *Store) readRole(ctx context.Context, column, v string) (role.Role, error) {
	var r role.Role
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		r, err = scanRole(tx.QueryRowContext(ctx, s.rebind(`SELECT `+roleColumns+` FROM ram_roles WHERE `+column+` = ?`), v))
		if errors.Is(err, sql.ErrNoRows) {
			return role.ErrRoleNotFound
		}
		if err != nil {
			return fmt.Errorf("read role %s: %w", v, err)
		}
		tags, err := s.readTags(ctx, tx, role.TagKind, []string{r.Name})
		r.Tags = tags[r.Name]
		return err
	})
	return r, err
}

// ListRoles implements role.Store.
func (s *Store) ListRoles(ctx context.Context, m domain.Marker) ([]role.Role, error) {
	var out []role.Role
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = queryAll(ctx, s, tx, scanRole, `SELECT `+roleColumns+` FROM ram_roles WHERE name > ? ORDER BY name LIMIT ?`,
			m.After, m.Limit+1)
		if err != nil || len(out) == 0 {
			return err
		}
		var names []string
		for _, r := range out {
			names = append(names, r.Name)
		}
		tags, err := s.readTags(ctx, tx, role.TagKind, names)
		for i := range out {
			out[i].Tags = tags[out[i].Name]
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list roles: %w", err)
	}
	return out, nil
}

// UpdateRole implements role.Store.
func (s *Store) UpdateRole(ctx context.Context, r role.Role) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE ram_roles SET description = ?, trust_document = ?, max_session = ?,
			updated_us = ? WHERE name = ?`), r.Description, r.TrustDocument, r.MaxSessionDuration, micros(r.Updated), r.Name)
		if err != nil {
			return fmt.Errorf("update role: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return role.ErrRoleNotFound
		}
		return s.bumpRAM(ctx, tx)
	})
}

// DeleteRole implements role.Store.
func (s *Store) DeleteRole(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.principalID(ctx, tx, "role", name)
		if err != nil {
			return err
		}
		if found, err := exists(ctx, s, tx, `SELECT 1 FROM ram_attachments WHERE principal_kind = 'role' AND principal_id = ? LIMIT 1`, id); err != nil {
			return fmt.Errorf("check role %s: %w", name, err)
		} else if found {
			return role.ErrHasPolicy
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_roles WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete role: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_tags WHERE kind = 'role' AND name = ?`), name); err != nil {
			return fmt.Errorf("delete role tags: %w", err)
		}
		return s.bumpRAM(ctx, tx)
	})
}
