package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// sealedTables lists every table holding sealed keys, as the domain names
// its rows' kinds.
var sealedTables = []struct{ kind, table string }{
	{"certificate", "certificates"},
	{"repository", "repo_certs"},
}

// Reseal passes every sealed key to fn with its row's kind and id, and
// stores what fn returns, all in one transaction: either every key is
// resealed or none is. It returns how many rows it changed; a row for which
// fn returns its input unchanged (the same slice) is left as it is.
func (s *Store) Reseal(ctx context.Context, fn func(kind, id string, sealed []byte) ([]byte, error)) (int, error) {
	changed := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, t := range sealedTables {
			type row struct {
				id     string
				sealed []byte
			}
			var rows []row
			rs, err := tx.QueryContext(ctx, `SELECT CAST(id AS TEXT), sealed_key FROM `+t.table+s.forUpdate)
			if err != nil {
				return fmt.Errorf("read %s: %w", t.table, err)
			}
			for rs.Next() {
				var r row
				if err := rs.Scan(&r.id, &r.sealed); err != nil {
					rs.Close()
					return fmt.Errorf("read %s: %w", t.table, err)
				}
				rows = append(rows, r)
			}
			rs.Close()
			if err := rs.Err(); err != nil {
				return fmt.Errorf("read %s: %w", t.table, err)
			}
			for _, r := range rows {
				out, err := fn(t.kind, r.id, r.sealed)
				if err != nil {
					return fmt.Errorf("%s %s: %w", t.kind, r.id, err)
				}
				if len(out) == len(r.sealed) && &out[0] == &r.sealed[0] {
					continue
				}
				if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE `+t.table+` SET sealed_key = ? WHERE CAST(id AS TEXT) = ?`), out, r.id); err != nil {
					return fmt.Errorf("update %s %s: %w", t.table, r.id, err)
				}
				changed++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return changed, nil
}

// SealedSample returns one sealed key of the database, or nil when it holds none.
func (s *Store) SealedSample(ctx context.Context) ([]byte, error) {
	for _, t := range sealedTables {
		var sealed []byte
		err := s.db.QueryRowContext(ctx, `SELECT sealed_key FROM `+t.table+` LIMIT 1`).Scan(&sealed)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", t.table, err)
		}
		return sealed, nil
	}
	return nil, nil
}
