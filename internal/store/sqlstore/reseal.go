package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
)

// sealedTables lists every table holding sealed keys, as the domain names
// its rows' kinds; numeric tells an integer id column from a text one.
var sealedTables = []struct {
	kind, table string
	numeric     bool
	column      string // default sealed_key
	// change is the kind of edge change recorded for a re-sealed row of a
	// table the edge serves from (its site_id names the site); "" for none.
	change string
}{
	{"certificate", "certificates", false, "", ChangeCertificate},
	{"certificate-twin", "certificates", false, "twin_sealed_key", ChangeCertificate},
	{"repository", "repo_certs", true, "", ""},
	{"record", "record_secrets", true, "", ""},
	{"acme-account", "acme_accounts", false, "", ""},
	{"access-key", "ram_access_keys", false, "sealed_secret", ""},
	{"sts-key", "sts_keys", false, "", ""},
	{"origin-client", "origin_client_certificates", false, "", ChangeOriginClient},
	{"client-issuer", "client_issuers", false, "", ""}, // the edge never uses a site's client CA key
	{"ticket-key", "ticket_keys", true, "", ""},        // the edges read them again every few seconds
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

// resealBatch is how many rows one transaction of Reseal re-seals: short
// transactions keep writers waiting only briefly (and SQLite's busy timeout
// far away), and locking rows in id order avoids deadlocks with them.
const resealBatch = 200

// Reseal records newKeyID as the database's master key (the one it replaces
// becoming the previous one, see SetMasterKey), then passes every sealed key
// to fn with its row's kind and id and stores what fn returns, in batches
// of resealBatch rows per transaction, each table in id order. A row for
// which fn returns its input unchanged (the same slice) is left as it is.
// Values sealed by the current or the previous key are accepted throughout,
// so a Reseal that stops half way leaves a database every node can use;
// running it again finishes it. It returns how many rows it changed. Every
// certificate (and origin client certificate) whose key changed is put on
// the edge's change feed, so that edges pick up the resealed value and no
// edge keeps a value sealed by a key that a later rotation retires.
func (s *Store) Reseal(ctx context.Context, newKeyID string, fn func(kind, id string, sealed []byte) ([]byte, error)) (int, error) {
	if err := s.SetMasterKey(ctx, newKeyID); err != nil {
		return 0, err
	}
	changed := 0
	for _, t := range sealedTables {
		var after any = ""
		if t.numeric {
			after = int64(math.MinInt64)
		}
		for {
			n, last, c, err := s.resealBatch(ctx, t.kind, t.table, t.column, t.change, t.numeric, after, fn)
			changed += c
			if err != nil {
				return changed, err
			}
			if n < resealBatch {
				break
			}
			after = last
		}
	}
	return changed, nil
}

// resealBatch re-seals up to resealBatch rows of table with an id after
// after, in one transaction; it returns how many rows it read, the last id
// and how many it changed.
func (s *Store) resealBatch(ctx context.Context, kind, table, column, change string, numeric bool, after any,
	fn func(kind, id string, sealed []byte) ([]byte, error)) (read int, last any, changed int, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		read, changed = 0, 0
		type row struct {
			id     string
			num    int64
			sealed []byte
			site   int64
		}
		col, where := sealedColumn(column)
		site := "0"
		if change != "" {
			site = "site_id"
		}
		rs, err := tx.QueryContext(ctx, s.rebind(`SELECT id, `+col+`, `+site+` FROM `+table+where+` AND id > ? ORDER BY id LIMIT `+
			strconv.Itoa(resealBatch)+s.forUpdate), after)
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		var rows []row
		for rs.Next() {
			var r row
			if numeric {
				err = rs.Scan(&r.num, &r.sealed, &r.site)
				r.id = strconv.FormatInt(r.num, 10)
			} else {
				err = rs.Scan(&r.id, &r.sealed, &r.site)
			}
			if err != nil {
				rs.Close()
				return fmt.Errorf("read %s: %w", table, err)
			}
			rows = append(rows, r)
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		read = len(rows)
		for _, r := range rows {
			if numeric {
				last = r.num
			} else {
				last = r.id
			}
			out, err := fn(kind, r.id, r.sealed)
			if err != nil {
				return fmt.Errorf("%s %s: %w", kind, r.id, err)
			}
			if len(out) == len(r.sealed) && len(out) > 0 && &out[0] == &r.sealed[0] {
				continue
			}
			var id any = r.id
			if numeric {
				id = r.num
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE `+table+` SET `+col+` = ? WHERE id = ?`), out, id); err != nil {
				return fmt.Errorf("update %s %s: %w", table, r.id, err)
			}
			changed++
			if change != "" {
				if err := s.recordChange(ctx, tx, r.site, change, r.id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, nil, 0, err
	}
	return read, last, changed, nil
}
