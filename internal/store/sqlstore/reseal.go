package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
)

// sealedTables lists every table holding sealed keys, as the domain names
// its rows' kinds; numeric tells an integer id column from a text one.
var sealedTables = []struct {
	kind, table string
	numeric     bool
	column      string // default sealed_key
}{
	{"certificate", "certificates", false, ""},
	{"certificate-twin", "certificates", false, "twin_sealed_key"},
	{"repository", "repo_certs", true, ""},
	{"record", "record_secrets", true, ""},
	{"acme-account", "acme_accounts", false, ""},
}

// sealedColumn is the column of a table's sealed keys, and a condition
// that holds for rows that have one.
func sealedColumn(column string) (string, string) {
	if column == "" {
		column = "sealed_key"
	}
	// A free certificate not issued yet holds an empty value, not a key.
	return column, " WHERE " + column + " IS NOT NULL AND length(" + column + ") > 0"
}

// Reseal passes every sealed key to fn with its row's kind and id, stores
// what fn returns, and records newKeyID as the database's master key (the
// one it replaces becoming the previous one, see SetMasterKey), all in one
// transaction: either every key is resealed or none is. It returns how many
// rows it changed; a row for which fn returns its input unchanged (the same
// slice) is left as it is. Every certificate whose key changed is put on
// the edge's change feed, so that edges pick up the resealed value and no
// edge keeps a value sealed by a key that a later rotation retires.
func (s *Store) Reseal(ctx context.Context, newKeyID string, fn func(kind, id string, sealed []byte) ([]byte, error)) (int, error) {
	changed := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		resealedCerts := map[string]bool{}
		for _, t := range sealedTables {
			type row struct {
				id     string
				sealed []byte
			}
			var rows []row
			col, where := sealedColumn(t.column)
			rs, err := tx.QueryContext(ctx, `SELECT id, `+col+` FROM `+t.table+where+s.forUpdate)
			if err != nil {
				return fmt.Errorf("read %s: %w", t.table, err)
			}
			for rs.Next() {
				var (
					r   row
					num int64
				)
				if t.numeric {
					err = rs.Scan(&num, &r.sealed)
					r.id = strconv.FormatInt(num, 10)
				} else {
					err = rs.Scan(&r.id, &r.sealed)
				}
				if err != nil {
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
				if len(out) == len(r.sealed) && len(out) > 0 && &out[0] == &r.sealed[0] {
					continue
				}
				var id any = r.id
				if t.numeric {
					id, _ = strconv.ParseInt(r.id, 10, 64)
				}
				if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE `+t.table+` SET `+col+` = ? WHERE id = ?`), out, id); err != nil {
					return fmt.Errorf("update %s %s: %w", t.table, r.id, err)
				}
				changed++
				if t.table == "certificates" {
					resealedCerts[r.id] = true
				}
			}
		}
		for id := range resealedCerts {
			var siteID int64
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT site_id FROM certificates WHERE id = ?`), id).Scan(&siteID); err != nil {
				return fmt.Errorf("read certificate %s: %w", id, err)
			}
			if err := s.recordChange(ctx, tx, siteID, ChangeCertificate, id); err != nil {
				return err
			}
		}
		return setMasterKey(ctx, s, tx, newKeyID)
	})
	if err != nil {
		return 0, err
	}
	return changed, nil
}
