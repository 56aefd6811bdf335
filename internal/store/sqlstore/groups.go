package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
)

var (
	_ group.Store       = (*Store)(nil)
	_ group.MemberStore = (*Store)(nil)
)

const groupColumns = `id, name, comments, created_us, updated_us`

func scanGroup(sc scanner) (group.Group, error) {
	var (
		g                group.Group
		created, updated int64
	)
	if err := sc.Scan(&g.ID, &g.Name, &g.Comments, &created, &updated); err != nil {
		return group.Group{}, err
	}
	g.Created, g.Updated = fromMicros(created), fromMicros(updated)
	return g, nil
}

// CreateGroup implements group.Store.
func (s *Store) CreateGroup(ctx context.Context, g group.Group, max int) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if max > 0 {
			if s.dialect == Postgres {
				if _, err := tx.ExecContext(ctx, `LOCK TABLE ram_groups IN SHARE ROW EXCLUSIVE MODE`); err != nil {
					return err
				}
			}
			if n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_groups`); err != nil {
				return fmt.Errorf("count groups: %w", err)
			} else if n >= max {
				return group.ErrGroupLimit
			}
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_groups (`+groupColumns+`) VALUES (?, ?, ?, ?, ?)`),
			g.ID, g.Name, g.Comments, micros(g.Created), micros(g.Updated))
		if e := nameViolation(err, group.ErrGroupExists); e != nil {
			return e
		}
		if err != nil {
			return fmt.Errorf("insert group: %w", err)
		}
		return nil
	})
}

// Group implements group.Store.
func (s *Store) Group(ctx context.Context, name string) (group.Group, error) {
	return queryOne(ctx, s, scanGroup, group.ErrGroupNotFound, "read group", name,
		`SELECT `+groupColumns+` FROM ram_groups WHERE name = ?`, name)
}

// ListGroups implements group.Store.
func (s *Store) ListGroups(ctx context.Context, m domain.Marker) ([]group.Group, error) {
	list, err := queryAll(ctx, s, s.db, scanGroup, `SELECT `+groupColumns+` FROM ram_groups WHERE name > ? ORDER BY name LIMIT ?`,
		m.After, m.Limit+1)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return list, nil
}

// UpdateGroup implements group.Store.
func (s *Store) UpdateGroup(ctx context.Context, name string, g group.Group) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE ram_groups SET name = ?, comments = ?, updated_us = ? WHERE name = ?`),
			g.Name, g.Comments, micros(g.Updated), name)
		if e := nameViolation(err, group.ErrGroupExists); e != nil {
			return e
		}
		if err != nil {
			return fmt.Errorf("update group: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return group.ErrGroupNotFound
		}
		return nil
	})
}

// DeleteGroup implements group.Store.
func (s *Store) DeleteGroup(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		id, err := s.principalID(ctx, tx, "group", name)
		if err != nil {
			return err
		}
		if found, err := exists(ctx, s, tx, `SELECT 1 FROM ram_group_members WHERE group_id = ? LIMIT 1`, id); err != nil {
			return fmt.Errorf("check group %s: %w", name, err)
		} else if found {
			return group.ErrHasMembers
		}
		if found, err := exists(ctx, s, tx, `SELECT 1 FROM ram_attachments WHERE principal_kind = 'group' AND principal_id = ? LIMIT 1`, id); err != nil {
			return fmt.Errorf("check group %s: %w", name, err)
		} else if found {
			return group.ErrHasPolicy
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_groups WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete group: %w", err)
		}
		return nil
	})
}

// AddMember implements group.MemberStore.
func (s *Store) AddMember(ctx context.Context, groupName, userName string, max int, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		gid, err := s.principalID(ctx, tx, "group", groupName)
		if err != nil {
			return err
		}
		uid, err := s.principalID(ctx, tx, "user", userName)
		if err != nil {
			return err
		}
		if found, err := exists(ctx, s, tx, `SELECT 1 FROM ram_group_members WHERE group_id = ? AND user_id = ?`, gid, uid); err != nil {
			return fmt.Errorf("check membership: %w", err)
		} else if found {
			return group.ErrMember
		}
		if n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_group_members WHERE user_id = ?`, uid); err != nil {
			return fmt.Errorf("count memberships: %w", err)
		} else if max > 0 && n >= max {
			return group.ErrMembershipLimit
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_group_members (group_id, user_id, joined_us) VALUES (?, ?, ?)`),
			gid, uid, micros(now)); err != nil {
			return fmt.Errorf("add member: %w", err)
		}
		return s.bumpRAM(ctx, tx)
	})
}

// RemoveMember implements group.MemberStore.
func (s *Store) RemoveMember(ctx context.Context, groupName, userName string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		gid, err := s.principalID(ctx, tx, "group", groupName)
		if err != nil {
			return err
		}
		uid, err := s.principalID(ctx, tx, "user", userName)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_group_members WHERE group_id = ? AND user_id = ?`), gid, uid)
		if err != nil {
			return fmt.Errorf("remove member: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return group.ErrNotMember
		}
		return s.bumpRAM(ctx, tx)
	})
}

// GroupsOfUser implements group.MemberStore.
func (s *Store) GroupsOfUser(ctx context.Context, userName string) ([]group.Membership, error) {
	var out []group.Membership
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		uid, err := s.userIDRead(ctx, tx, userName)
		if err != nil {
			return err
		}
		out, err = queryAll(ctx, s, tx, func(sc scanner) (group.Membership, error) {
			var (
				m                        group.Membership
				created, updated, joined int64
			)
			if err := sc.Scan(&m.ID, &m.Name, &m.Comments, &created, &updated, &joined); err != nil {
				return group.Membership{}, err
			}
			m.Created, m.Updated, m.Joined = fromMicros(created), fromMicros(updated), fromMicros(joined)
			return m, nil
		}, `SELECT g.id, g.name, g.comments, g.created_us, g.updated_us, m.joined_us FROM ram_group_members m
			JOIN ram_groups g ON g.id = m.group_id WHERE m.user_id = ? ORDER BY g.name`, uid)
		return err
	})
	return out, err
}

// Members implements group.MemberStore.
func (s *Store) Members(ctx context.Context, groupName string, m domain.Marker) ([]group.Member, error) {
	var out []group.Member
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var gid string
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT id FROM ram_groups WHERE name = ?`), groupName).Scan(&gid); err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				return group.ErrGroupNotFound
			}
			return fmt.Errorf("read group %s: %w", groupName, err)
		}
		var err error
		out, err = queryAll(ctx, s, tx, func(sc scanner) (group.Member, error) {
			var (
				mb     group.Member
				joined int64
			)
			if err := sc.Scan(&mb.UserName, &mb.DisplayName, &joined); err != nil {
				return group.Member{}, err
			}
			mb.Joined = fromMicros(joined)
			return mb, nil
		}, `SELECT u.name, u.display_name, m.joined_us FROM ram_group_members m JOIN ram_users u ON u.id = m.user_id
			WHERE m.group_id = ? AND u.name > ? ORDER BY u.name LIMIT ?`, gid, m.After, m.Limit+1)
		return err
	})
	return out, err
}
