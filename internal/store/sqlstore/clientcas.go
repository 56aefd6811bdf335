package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/clientca"
)

var _ clientca.Store = (*Store)(nil)

// ChangeClientCA is the kind of edge change of a client CA certificate;
// ref: its id.
const ChangeClientCA = "client-ca"

const clientCAColumns = `c.id, c.site_id, s.name, c.name, c.cert_pem, c.hostnames, c.created_us, c.updated_us, c.common_name,
	c.sans, c.issuer, c.issuer_cn, c.serial, c.fingerprint, c.pub_alg, c.sig_alg, c.key_bits, c.not_before_us, c.not_after_us`

const clientCAFrom = ` FROM client_ca_certificates c JOIN sites s ON s.id = c.site_id`

// splitNames reads a comma-separated column of names; "" is none.
func splitNames(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func scanClientCA(r scanner) (clientca.CA, error) {
	var (
		c                clientca.CA
		x                infoScan
		hostnames        string
		created, updated int64
	)
	dest := append([]any{&c.ID, &c.SiteID, &c.SiteName, &c.Name, &c.CertPEM, &hostnames, &created, &updated}, x.dest()...)
	if err := r.Scan(dest...); err != nil {
		return clientca.CA{}, err
	}
	c.Hostnames = splitNames(hostnames)
	c.Info = x.info()
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return c, nil
}

// changeOne runs q (an UPDATE or DELETE of one row of a site) and records
// the edge change kind of id, in one transaction; notFound when q touched
// no row.
func (s *Store) changeOne(ctx context.Context, siteID int64, kind, id string, notFound error, what, q string, args ...any) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(q), args...)
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("%s %s: %w", what, id, err)
		} else if n == 0 {
			return notFound
		}
		return s.recordChange(ctx, tx, siteID, kind, id)
	})
}

// CreateClientCA implements clientca.Store.
func (s *Store) CreateClientCA(ctx context.Context, c clientca.CA) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSite(ctx, tx, c.SiteID); err != nil {
			return err
		}
		if c.Name != "" { // a name, when given, is unique; any number may have none
			var taken int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM client_ca_certificates WHERE site_id = ? AND name = ?`),
				c.SiteID, c.Name).Scan(&taken); err != nil {
				return fmt.Errorf("check client CA certificate name: %w", err)
			} else if taken > 0 {
				return clientca.ErrNameExists
			}
		}
		args := append([]any{c.ID, c.SiteID, c.Name, c.CertPEM, strings.Join(c.Hostnames, ","), micros(c.Created),
			micros(c.Updated)}, infoArgs(c.Info)...)
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO client_ca_certificates (id, site_id, name, cert_pem, hostnames,
			created_us, updated_us, `+infoColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		if violation(err) != "" {
			return clientca.ErrNameExists
		}
		if err != nil {
			return fmt.Errorf("insert client CA certificate: %w", err)
		}
		return s.recordChange(ctx, tx, c.SiteID, ChangeClientCA, c.ID)
	})
}

// ClientCA implements clientca.Store.
func (s *Store) ClientCA(ctx context.Context, siteID int64, id string) (clientca.CA, error) {
	return queryOne(ctx, s, scanClientCA, clientca.ErrNotFound, "read client CA certificate", id,
		`SELECT `+clientCAColumns+clientCAFrom+` WHERE c.id = ? AND c.site_id = ?`, id, siteID)
}

// ListClientCAs implements clientca.Store.
func (s *Store) ListClientCAs(ctx context.Context, f clientca.Filter) ([]clientca.CA, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM client_ca_certificates WHERE site_id = ?`),
		f.SiteID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count client CA certificates: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := queryAll(ctx, s, s.db, scanClientCA, `SELECT `+clientCAColumns+clientCAFrom+
		` WHERE c.site_id = ? ORDER BY c.created_us DESC, c.id LIMIT ? OFFSET ?`, f.SiteID, limit(f.Page), f.Page.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list client CA certificates: %w", err)
	}
	return list, total, nil
}

// DeleteClientCA implements clientca.Store.
func (s *Store) DeleteClientCA(ctx context.Context, siteID int64, id string) error {
	return s.changeOne(ctx, siteID, ChangeClientCA, id, clientca.ErrNotFound, "delete client CA certificate",
		`DELETE FROM client_ca_certificates WHERE id = ? AND site_id = ?`, id, siteID)
}

// SetClientCAHostnames implements clientca.Store.
func (s *Store) SetClientCAHostnames(ctx context.Context, siteID int64, id string, hostnames []string, updated time.Time) error {
	return s.changeOne(ctx, siteID, ChangeClientCA, id, clientca.ErrNotFound, "set hostnames of client CA certificate",
		`UPDATE client_ca_certificates SET hostnames = ?, updated_us = ? WHERE id = ? AND site_id = ?`,
		strings.Join(hostnames, ","), micros(updated), id, siteID)
}
