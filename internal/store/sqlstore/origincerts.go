package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/site"
)

var _ origincert.Store = (*Store)(nil)

// ChangeOriginCA is the kind of edge change of an origin CA certificate;
// ref: its id.
const ChangeOriginCA = "origin-ca"

const originCAColumns = `c.id, c.site_id, s.name, c.name, c.cert_pem, c.created_us, c.updated_us, c.common_name, c.sans,
	c.issuer, c.issuer_cn, c.serial, c.fingerprint, c.pub_alg, c.sig_alg, c.key_bits, c.not_before_us, c.not_after_us`

const originCAFrom = ` FROM origin_ca_certificates c JOIN sites s ON s.id = c.site_id`

func scanOriginCA(r scanner) (origincert.CA, error) {
	var (
		c                origincert.CA
		x                infoScan
		created, updated int64
	)
	dest := append([]any{&c.ID, &c.SiteID, &c.SiteName, &c.Name, &c.CertPEM, &created, &updated}, x.dest()...)
	if err := r.Scan(dest...); err != nil {
		return origincert.CA{}, err
	}
	c.Info = x.info()
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return c, nil
}

// CreateOriginCA implements origincert.Store.
func (s *Store) CreateOriginCA(ctx context.Context, c origincert.CA) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`+s.forUpdate), c.SiteID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return site.ErrSiteNotFound
		}
		if err != nil {
			return fmt.Errorf("lock site %d: %w", c.SiteID, err)
		}
		if c.Name != "" { // a name, when given, is unique; any number may have none
			var taken int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM origin_ca_certificates WHERE site_id = ? AND name = ?`),
				c.SiteID, c.Name).Scan(&taken); err != nil {
				return fmt.Errorf("check origin CA certificate name: %w", err)
			} else if taken > 0 {
				return origincert.ErrNameExists
			}
		}
		args := append([]any{c.ID, c.SiteID, c.Name, c.CertPEM, micros(c.Created), micros(c.Updated)}, infoArgs(c.Info)...)
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO origin_ca_certificates (id, site_id, name, cert_pem,
			created_us, updated_us, `+infoColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		if violation(err) != "" {
			return origincert.ErrNameExists
		}
		if err != nil {
			return fmt.Errorf("insert origin CA certificate: %w", err)
		}
		return s.recordChange(ctx, tx, c.SiteID, ChangeOriginCA, c.ID)
	})
}

// OriginCA implements origincert.Store.
func (s *Store) OriginCA(ctx context.Context, siteID int64, id string) (origincert.CA, error) {
	return queryOne(ctx, s, scanOriginCA, origincert.ErrNotFound, "read origin CA certificate", id,
		`SELECT `+originCAColumns+originCAFrom+` WHERE c.id = ? AND c.site_id = ?`, id, siteID)
}

// ListOriginCAs implements origincert.Store.
func (s *Store) ListOriginCAs(ctx context.Context, f origincert.Filter) ([]origincert.CA, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM origin_ca_certificates WHERE site_id = ?`),
		f.SiteID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count origin CA certificates: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := queryAll(ctx, s, s.db, scanOriginCA, `SELECT `+originCAColumns+originCAFrom+
		` WHERE c.site_id = ? ORDER BY c.created_us DESC, c.id LIMIT ? OFFSET ?`, f.SiteID, limit(f.Page), f.Page.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list origin CA certificates: %w", err)
	}
	return list, total, nil
}

// DeleteOriginCA implements origincert.Store.
func (s *Store) DeleteOriginCA(ctx context.Context, siteID int64, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM origin_ca_certificates WHERE id = ? AND site_id = ?`), id, siteID)
		if err != nil {
			return fmt.Errorf("delete origin CA certificate %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete origin CA certificate %s: %w", id, err)
		} else if n == 0 {
			return origincert.ErrNotFound
		}
		return s.recordChange(ctx, tx, siteID, ChangeOriginCA, id)
	})
}
