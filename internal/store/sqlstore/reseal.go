package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"github.com/esacert/esacert/internal/cert"
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

const masterKeyFact = "master_key_id"

// ErrMasterKey is returned when a node's master key is not the one the
// database's private keys are sealed with.
var ErrMasterKey = errors.New("sqlstore: wrong master key")

// ClaimMasterKey makes sure the database's keys are sealed with the master
// key whose id is keyID, and records that id: the first node to start
// records it; every later one must have the same. A database from before
// the id was recorded is checked row by row, with sealedBy telling the key
// id of a sealed value. After a successful claim, every write of a sealed
// key checks, in its transaction, that the recorded id is still keyID, so a
// node left running across a rotation cannot seal under a retired key.
func (s *Store) ClaimMasterKey(ctx context.Context, keyID string, sealedBy func([]byte) string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		current, err := masterKeyID(ctx, s, tx)
		if err != nil {
			return err
		}
		if current != "" {
			if current != keyID {
				return fmt.Errorf("%w: the database's private keys are sealed with master key %s, this node has %s", ErrMasterKey, current, keyID)
			}
			return nil
		}
		for _, t := range sealedTables {
			col, where := sealedColumn(t.column)
			rows, err := tx.QueryContext(ctx, `SELECT `+col+` FROM `+t.table+where)
			if err != nil {
				return err
			}
			for rows.Next() {
				var sealed []byte
				if err := rows.Scan(&sealed); err != nil {
					rows.Close()
					return err
				}
				if id := sealedBy(sealed); id != keyID {
					rows.Close()
					return fmt.Errorf("%w: the database holds private keys sealed with master key %s, this node has %s", ErrMasterKey, id, keyID)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING`), masterKeyFact, keyID)
		return err
	})
	if err != nil {
		return err
	}
	// Another node may have claimed first: read back what won.
	current, err := masterKeyID(ctx, s, s.db)
	if err != nil {
		return err
	}
	if current != keyID {
		return fmt.Errorf("%w: the database's private keys are sealed with master key %s, this node has %s", ErrMasterKey, current, keyID)
	}
	s.masterKeyID.Store(&keyID)
	return nil
}

// MasterKeyID returns the id of the master key the database's keys are
// sealed with, or "" when none is recorded; sealed reports whether the
// database holds any sealed key at all.
func (s *Store) MasterKeyID(ctx context.Context) (id string, sealed bool, err error) {
	if id, err = masterKeyID(ctx, s, s.db); err != nil || id != "" {
		return id, id != "", err
	}
	for _, t := range sealedTables {
		var one int
		_, where := sealedColumn(t.column)
		err := s.db.QueryRowContext(ctx, `SELECT 1 FROM `+t.table+where+` LIMIT 1`).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return "", false, err
		}
		return "", true, nil
	}
	return "", false, nil
}

type rowQuerier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func masterKeyID(ctx context.Context, s *Store, q rowQuerier) (string, error) {
	var v string
	err := q.QueryRowContext(ctx, s.rebind(`SELECT v FROM meta WHERE k = ?`), masterKeyFact).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read master key id: %w", err)
	}
	return v, nil
}

// checkMasterKey fails, inside a write transaction, when the database's
// master key was rotated since this node claimed its own.
func (s *Store) checkMasterKey(ctx context.Context, tx *sql.Tx) error {
	mine := s.masterKeyID.Load()
	if mine == nil {
		return nil
	}
	current, err := masterKeyID(ctx, s, tx)
	if err != nil {
		return err
	}
	if current != *mine {
		return fmt.Errorf("%w: the master key was rotated to %s; restart this node with it", cert.ErrKeyUnavailable, current)
	}
	return nil
}

// Reseal passes every sealed key to fn with its row's kind and id, stores
// what fn returns, and records newKeyID as the database's master key, all in
// one transaction: either every key is resealed or none is. It returns how
// many rows it changed; a row for which fn returns its input unchanged (the
// same slice) is left as it is.
func (s *Store) Reseal(ctx context.Context, newKeyID string, fn func(kind, id string, sealed []byte) ([]byte, error)) (int, error) {
	changed := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
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
			}
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`),
			masterKeyFact, newKeyID)
		return err
	})
	if err != nil {
		return 0, err
	}
	s.masterKeyID.Store(&newKeyID)
	return changed, nil
}
