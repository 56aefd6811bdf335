package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// copiedTables are the tables CopyTo moves, parents before children. Left
// out: signature nonces and ACME challenge answers (short-lived), the edge
// change feed (edges load everything when they start), the running nodes
// (each reports itself to its own database) and the migration bookkeeping
// (each database has its own). The revision counters (revisionTables) are
// set to the source's, so that rows copied with their revision (OCSP
// responses) stay behind every revision saved afterwards.
var copiedTables = []string{"meta", "plan_instances", "sites", "certificates", "ocsp_responses", "repo_certs", "records",
	"record_secrets", "https_configs", "site_settings", "site_tags", "acme_accounts", "ram_users", "ram_access_keys", "ram_groups",
	"ram_group_members", "ram_policies", "ram_policy_versions", "ram_roles", "ram_attachments", "ram_tags", "audit_events", "sts_keys",
	"notices", "notice_deliveries", "origin_ca_certificates", "origin_client_certificates", "client_ca_certificates",
	"client_issuers", "client_certificates", "ticket_keys"}

// revisionTables are the one-row revision counters CopyTo sets to the
// source's: the edge change feed's and the OCSP responses'.
var revisionTables = []string{"edge_revision", "ocsp_revision"}

// TableCopy is what CopyTo did with one table.
type TableCopy struct {
	Table       string
	Rows        int
	Fingerprint string // SHA-256 over the table's rows, independent of their order
}

// Progress is told how far a long operation has come: step names the part
// running (such as "copy" or "check"), and done of total units of it are
// through. It is called often, from the operation's goroutine, and must
// return quickly; a nil Progress is not called.
type Progress func(step string, done, total int)

func (p Progress) report(step string, done, total int) {
	if p != nil {
		p(step, done, total)
	}
}

// ErrTargetNotEmpty is returned by CopyTo when the target database already
// holds data.
var ErrTargetNotEmpty = errors.New("sqlstore: the target database is not empty")

// Migrate copies the SQLite database at from (sqlite:PATH, a file that
// exists) into the empty database at to (schema brought up to date first),
// as CopyTo does (telling progress), and closes both.
func Migrate(ctx context.Context, from, to string, progress Progress) ([]TableCopy, error) {
	if _, err := os.Stat(strings.TrimPrefix(from, "sqlite:")); err != nil {
		return nil, fmt.Errorf("the SQLite database: %w", err)
	}
	src, err := Open(ctx, from)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	dst, err := Open(ctx, to)
	if err != nil {
		return nil, err
	}
	defer dst.Close()
	return src.CopyTo(ctx, dst, progress)
}

// CopyTo copies every durable row of s into dst, an empty database whose
// schema is up to date, in one transaction of dst: all or nothing. Sealed
// keys are copied as they are, so dst needs the same master key. It then
// checks each table's row count and fingerprint on both sides. progress
// hears of the rows copied ("copy", of the rows the source holds) and of
// the rows read again to check them ("check", twice that: both sides).
func (s *Store) CopyTo(ctx context.Context, dst *Store, progress Progress) ([]TableCopy, error) {
	for _, t := range copiedTables {
		var n int
		if err := dst.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s in the target: %w", t, err)
		}
		if n > 0 {
			return nil, fmt.Errorf("%w: %s has %d %s", ErrTargetNotEmpty, t, n, map[bool]string{true: "row", false: "rows"}[n == 1])
		}
	}
	src, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer src.Rollback()
	total := 0
	for _, t := range copiedTables {
		var n int
		if err := src.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+t).Scan(&n); err != nil {
			return nil, fmt.Errorf("count %s: %w", t, err)
		}
		total += n
	}
	var out []TableCopy
	err = dst.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		done := 0
		progress.report("copy", 0, total)
		for _, t := range copiedTables {
			n, err := copyTable(ctx, src, tx, dst, t, func() { done++; progress.report("copy", done, total) })
			if err != nil {
				return fmt.Errorf("copy %s: %w", t, err)
			}
			out = append(out, TableCopy{Table: t, Rows: n})
		}
		for _, t := range revisionTables {
			var rev int64
			if err := src.QueryRowContext(ctx, `SELECT rev FROM `+t+` WHERE id = 1`).Scan(&rev); err != nil {
				return fmt.Errorf("read %s: %w", t, err)
			}
			if _, err := tx.ExecContext(ctx, dst.rebind(`UPDATE `+t+` SET rev = ? WHERE id = 1`), rev); err != nil {
				return fmt.Errorf("set %s: %w", t, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	checked, toCheck := 0, 0
	for _, t := range out {
		toCheck += 2 * t.Rows
	}
	onRow := func() { checked++; progress.report("check", checked, toCheck) }
	progress.report("check", 0, toCheck)
	for i, t := range out {
		a, an, err := fingerprint(ctx, src, t.Table, onRow)
		if err != nil {
			return nil, err
		}
		b, bn, err := fingerprint(ctx, dst.db, t.Table, onRow)
		if err != nil {
			return nil, err
		}
		if a != b || an != bn || an != t.Rows {
			return nil, fmt.Errorf("sqlstore: %s differs after the copy: %d rows %s here, %d rows %s there", t.Table, an, a, bn, b)
		}
		out[i].Fingerprint = a
	}
	return out, nil
}

// copyTable copies table from src into dst's transaction tx, calling
// onRow after each row.
func copyTable(ctx context.Context, src querier, tx *sql.Tx, dst *Store, table string, onRow func()) (int, error) {
	rows, err := src.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ")
	stmt, err := tx.PrepareContext(ctx, dst.rebind(`INSERT INTO `+table+` (`+strings.Join(cols, ", ")+`) VALUES (`+marks+`)`))
	if err != nil {
		return 0, err
	}
	defer stmt.Close()
	n := 0
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			if b, ok := v.([]byte); ok && b == nil {
				vals[i] = []byte{} // SQLite reads an empty BLOB back as nil; it is not NULL
			}
		}
		if _, err := stmt.ExecContext(ctx, vals...); err != nil {
			return n, err
		}
		n++
		onRow()
	}
	return n, rows.Err()
}

// fingerprint hashes every row of table (columns by name, values as text
// or bytes) and then the sorted row hashes, so that two databases that
// order or type their rows differently agree when their contents do. It
// calls onRow after each row.
func fingerprint(ctx context.Context, q querier, table string, onRow func()) (string, int, error) {
	rows, err := q.QueryContext(ctx, `SELECT * FROM `+table)
	if err != nil {
		return "", 0, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return "", 0, err
	}
	order := make([]int, len(cols))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(cols[a], cols[b]) })
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var hashes []string
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return "", 0, err
		}
		h := sha256.New()
		for _, i := range order {
			var v []byte
			switch x := vals[i].(type) {
			case nil:
				v = []byte("\x00null")
			case []byte:
				v = x
			case string:
				v = []byte(x)
			default:
				v = fmt.Append(nil, x)
			}
			fmt.Fprintf(h, "%s=%d:", cols[i], len(v))
			h.Write(v)
		}
		hashes = append(hashes, hex.EncodeToString(h.Sum(nil)))
		onRow()
	}
	if err := rows.Err(); err != nil {
		return "", 0, err
	}
	slices.Sort(hashes)
	sum := sha256.Sum256([]byte(strings.Join(hashes, "\n")))
	return hex.EncodeToString(sum[:]), len(hashes), nil
}
