package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
)

// Import inserts sites and certificates as they are, in one transaction,
// without quota checks: for moving a deployment and for loading large test
// data. The sites' plan instances must exist. It records one change per
// site it touches, so edges pick them up.
func (s *Store) Import(ctx context.Context, sites []site.Site, certs []cert.Certificate) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		siteStmt, err := tx.PrepareContext(ctx, s.rebind(`INSERT INTO sites (id, name, access_type, coverage, status,
			instance_id, resource_group_id, verify_code, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`))
		if err != nil {
			return err
		}
		defer siteStmt.Close()
		for _, st := range sites {
			if _, err := siteStmt.ExecContext(ctx, st.ID, st.Name, st.AccessType, st.Coverage, st.Status,
				st.InstanceID, st.ResourceGroupID, st.VerifyCode, micros(st.Created), micros(st.Updated)); err != nil {
				return fmt.Errorf("import site %s: %w", st.Name, err)
			}
			if err := s.recordChange(ctx, tx, st.ID, ChangeSite, strconv.FormatInt(st.ID, 10)); err != nil {
				return err
			}
		}
		announced := map[int64]bool{}
		for _, st := range sites {
			announced[st.ID] = true
		}
		for _, c := range certs {
			if !announced[c.SiteID] {
				announced[c.SiteID] = true
				if err := s.recordChange(ctx, tx, c.SiteID, ChangeSite, strconv.FormatInt(c.SiteID, 10)); err != nil {
					return err
				}
			}
		}
		// Many rows a statement: a million certificates import in a minute
		// or two rather than a million round trips.
		const row = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
		var stmt *sql.Stmt
		for len(certs) > 0 {
			n := min(len(certs), importBatch)
			if stmt == nil || n < importBatch {
				if stmt != nil {
					stmt.Close()
				}
				if stmt, err = tx.PrepareContext(ctx, s.rebind(`INSERT INTO certificates (id, site_id, name, type, cas_id, region,
					cert_pem, chain_pem, sealed_key, created_us, updated_us, `+infoColumns+`)
					VALUES `+row+strings.Repeat(", "+row, n-1))); err != nil {
					return err
				}
			}
			args := make([]any, 0, 22*n)
			var queue []any // the OCSP fetches to queue (see queueOCSPQuery): certificates with a chain
			for _, c := range certs[:n] {
				args = append(append(args, c.ID, c.SiteID, c.Name, c.Type, nullCasID(c.CasID), c.Region, c.CertPEM, c.ChainPEM,
					c.SealedKey, micros(c.Created), micros(c.Updated)), infoArgs(c.Info)...)
				if c.ChainPEM != "" {
					queue = append(queue, ocspRow(c, time.Now())...)
				}
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				stmt.Close()
				return fmt.Errorf("import certificates %s…: %w", certs[0].ID, err)
			}
			if len(queue) > 0 {
				if _, err := tx.ExecContext(ctx, s.rebind(queueOCSPRows(len(queue)/4)), queue...); err != nil {
					stmt.Close()
					return fmt.Errorf("queue the OCSP fetches of certificates %s…: %w", certs[0].ID, err)
				}
			}
			certs = certs[n:]
		}
		if stmt != nil {
			stmt.Close()
		}
		return nil
	})
}

// importBatch is how many certificates one statement of Import inserts
// (22 parameters each: well under SQLite's and PostgreSQL's bounds).
const importBatch = 200

// queueOCSPRows is queueOCSPQuery for n certificates at once.
func queueOCSPRows(n int) string {
	const row = `(?, ?, ?, NULL, 0, 0, 0, 0, '', 0, ?, 0)`
	head, tail, ok := strings.Cut(queueOCSPQuery, row)
	if !ok {
		panic("sqlstore: queueOCSPQuery does not hold its row")
	}
	return head + row + strings.Repeat(", "+row, n-1) + tail
}
