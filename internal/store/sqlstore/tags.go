package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/role"
)

var _ role.TagStore = (*Store)(nil)

// Tags implements rampolicy.TagStore and role.TagStore.
func (s *Store) Tags(ctx context.Context, kind string, names []string) (map[string][]domain.Tag, error) {
	var out map[string][]domain.Tag
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.readTags(ctx, tx, kind, names)
		return err
	})
	return out, err
}

// readTags reads the tags of the named resources of kind, in key order.
func (s *Store) readTags(ctx context.Context, tx *sql.Tx, kind string, names []string) (map[string][]domain.Tag, error) {
	out := map[string][]domain.Tag{}
	if len(names) == 0 {
		return out, nil
	}
	args := []any{kind}
	for _, n := range names {
		args = append(args, n)
	}
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT name, tag_key, tag_value FROM ram_tags WHERE kind = ? AND name IN (?`+
		strings.Repeat(`, ?`, len(names)-1)+`) ORDER BY name, tag_key`), args...)
	if err != nil {
		return nil, fmt.Errorf("read tags: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var t domain.Tag
		if err := rows.Scan(&name, &t.Key, &t.Value); err != nil {
			return nil, fmt.Errorf("read tags: %w", err)
		}
		out[name] = append(out[name], t)
	}
	return out, rows.Err()
}

// writeTags adds or overwrites tags of a resource, in tx.
func (s *Store) writeTags(ctx context.Context, tx *sql.Tx, kind, name string, tags []domain.Tag) error {
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ram_tags (kind, name, tag_key, tag_value) VALUES (?, ?, ?, ?)
			ON CONFLICT (kind, name, tag_key) DO UPDATE SET tag_value = excluded.tag_value`), kind, name, t.Key, t.Value); err != nil {
			return fmt.Errorf("write tag: %w", err)
		}
	}
	return nil
}

// lockTagged checks that the resource exists, locking its row, or returns
// its kind's not-found error.
func (s *Store) lockTagged(ctx context.Context, tx *sql.Tx, kind, name string) error {
	if kind == "role" {
		_, err := s.principalID(ctx, tx, "role", name)
		return err
	}
	_, _, err := s.lockPolicy(ctx, tx, name)
	return err
}

// TagResources implements rampolicy.TagStore and role.TagStore. The
// resources are locked in name order, so that two taggings of the same
// resources never wait on each other in a cycle.
func (s *Store) TagResources(ctx context.Context, kind string, names []string, tags []domain.Tag, max int) error {
	names = sortedNames(names)
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, n := range names {
			if err := s.lockTagged(ctx, tx, kind, n); err != nil {
				return err
			}
		}
		for _, n := range names {
			if err := s.writeTags(ctx, tx, kind, n, tags); err != nil {
				return err
			}
			if c, err := count(ctx, s, tx, `SELECT COUNT(*) FROM ram_tags WHERE kind = ? AND name = ?`, kind, n); err != nil {
				return fmt.Errorf("count tags: %w", err)
			} else if max > 0 && c > max {
				return domain.ErrTagLimit // rolls back every resource's tags
			}
		}
		return nil
	})
}

// UntagResources implements rampolicy.TagStore and role.TagStore, locking
// the resources as TagResources does.
func (s *Store) UntagResources(ctx context.Context, kind string, names, keys []string, all bool) error {
	names = sortedNames(names)
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, n := range names {
			if err := s.lockTagged(ctx, tx, kind, n); err != nil {
				return err
			}
		}
		for _, n := range names {
			if all {
				if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_tags WHERE kind = ? AND name = ?`), kind, n); err != nil {
					return fmt.Errorf("delete tags: %w", err)
				}
				continue
			}
			for _, k := range keys {
				if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ram_tags WHERE kind = ? AND name = ? AND tag_key = ?`), kind, n, k); err != nil {
					return fmt.Errorf("delete tag: %w", err)
				}
			}
		}
		return nil
	})
}

// sortedNames returns the distinct names in ascending order, in a new
// slice.
func sortedNames(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return slices.Compact(out)
}
