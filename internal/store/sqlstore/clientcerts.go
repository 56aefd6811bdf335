package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

var _ clientcert.Store = (*Store)(nil)

// Kinds of edge changes of esacert's own client certificates; ref: the id
// of the site's client CA, of a client certificate.
const (
	ChangeClientIssuer = "client-issuer"
	ChangeClientCert   = "client-certificate"
)

const clientIssuerColumns = `id, site_id, cert_pem, sealed_key, hostnames, created_us, updated_us, ` + infoColumns

func scanClientIssuer(r scanner) (clientcert.Issuer, error) {
	var (
		is               clientcert.Issuer
		x                infoScan
		hostnames        string
		created, updated int64
	)
	dest := append([]any{&is.ID, &is.SiteID, &is.CertPEM, &is.SealedKey, &hostnames, &created, &updated}, x.dest()...)
	if err := r.Scan(dest...); err != nil {
		return clientcert.Issuer{}, err
	}
	is.Hostnames = splitNames(hostnames)
	is.Info = x.info()
	is.Created, is.Updated = fromMicros(created), fromMicros(updated)
	return is, nil
}

const clientCertColumns = `c.id, c.site_id, s.name, c.ca_id, c.status, c.cert_pem, c.created_us, c.updated_us, c.common_name,
	c.sans, c.issuer, c.issuer_cn, c.serial, c.fingerprint, c.pub_alg, c.sig_alg, c.key_bits, c.not_before_us, c.not_after_us`

const clientCertFrom = ` FROM client_certificates c JOIN sites s ON s.id = c.site_id`

func scanClientCert(r scanner) (clientcert.Certificate, error) {
	var (
		c                clientcert.Certificate
		x                infoScan
		created, updated int64
	)
	dest := append([]any{&c.ID, &c.SiteID, &c.SiteName, &c.CAID, &c.Status, &c.CertPEM, &created, &updated}, x.dest()...)
	if err := r.Scan(dest...); err != nil {
		return clientcert.Certificate{}, err
	}
	c.Info = x.info()
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return c, nil
}

// ClientIssuer implements clientcert.Store.
func (s *Store) ClientIssuer(ctx context.Context, siteID int64) (clientcert.Issuer, error) {
	return queryOne(ctx, s, scanClientIssuer, clientcert.ErrNotFound, "read the client CA of site", siteID,
		`SELECT `+clientIssuerColumns+` FROM client_issuers WHERE site_id = ?`, siteID)
}

// CreateClientIssuer implements clientcert.Store.
func (s *Store) CreateClientIssuer(ctx context.Context, is clientcert.Issuer) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSite(ctx, tx, is.SiteID); err != nil {
			return err
		}
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM client_issuers WHERE site_id = ?`), is.SiteID).Scan(&n); err != nil {
			return fmt.Errorf("check the client CA of site %d: %w", is.SiteID, err)
		} else if n > 0 {
			return clientcert.ErrIssuerExists
		}
		args := append([]any{is.ID, is.SiteID, is.CertPEM, is.SealedKey, strings.Join(is.Hostnames, ","), micros(is.Created),
			micros(is.Updated)}, infoArgs(is.Info)...)
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO client_issuers (`+clientIssuerColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		if violation(err) != "" {
			return clientcert.ErrIssuerExists
		}
		if err != nil {
			return fmt.Errorf("insert the client CA of site %d: %w", is.SiteID, err)
		}
		return s.recordChange(ctx, tx, is.SiteID, ChangeClientIssuer, is.ID)
	})
	if err != nil && !errors.Is(err, domain.ErrKeyUnavailable) && !errors.Is(err, clientcert.ErrIssuerExists) &&
		!errors.Is(err, site.ErrSiteNotFound) {
		return fmt.Errorf("create client CA %s: %w", is.ID, err)
	}
	return err
}

// SetClientIssuerHostnames implements clientcert.Store.
func (s *Store) SetClientIssuerHostnames(ctx context.Context, siteID int64, id string, hostnames []string, updated time.Time) error {
	return s.changeOne(ctx, siteID, ChangeClientIssuer, id, clientcert.ErrNotFound, "set hostnames of client CA",
		`UPDATE client_issuers SET hostnames = ?, updated_us = ? WHERE id = ? AND site_id = ?`,
		strings.Join(hostnames, ","), micros(updated), id, siteID)
}

// CreateClientCertificate implements clientcert.Store.
func (s *Store) CreateClientCertificate(ctx context.Context, c clientcert.Certificate) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSite(ctx, tx, c.SiteID); err != nil {
			return err
		}
		args := append([]any{c.ID, c.SiteID, c.CAID, c.Status, c.CertPEM, micros(c.Created), micros(c.Updated)}, infoArgs(c.Info)...)
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO client_certificates (id, site_id, ca_id, status, cert_pem,
			created_us, updated_us, `+infoColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...); err != nil {
			return fmt.Errorf("insert client certificate: %w", err)
		}
		return s.recordChange(ctx, tx, c.SiteID, ChangeClientCert, c.ID)
	})
}

// ClientCertificate implements clientcert.Store.
func (s *Store) ClientCertificate(ctx context.Context, siteID int64, id string) (clientcert.Certificate, error) {
	return queryOne(ctx, s, scanClientCert, clientcert.ErrNotFound, "read client certificate", id,
		`SELECT `+clientCertColumns+clientCertFrom+` WHERE c.id = ? AND c.site_id = ?`, id, siteID)
}

// ListClientCertificates implements clientcert.Store.
func (s *Store) ListClientCertificates(ctx context.Context, f clientcert.Filter) ([]clientcert.Certificate, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM client_certificates WHERE site_id = ?`),
		f.SiteID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count client certificates: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := queryAll(ctx, s, s.db, scanClientCert, `SELECT `+clientCertColumns+clientCertFrom+
		` WHERE c.site_id = ? ORDER BY c.created_us DESC, c.id LIMIT ? OFFSET ?`, f.SiteID, limit(f.Page), f.Page.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list client certificates: %w", err)
	}
	return list, total, nil
}

// SetClientCertificateStatus implements clientcert.Store.
func (s *Store) SetClientCertificateStatus(ctx context.Context, siteID int64, id, status string, updated time.Time) error {
	return s.changeOne(ctx, siteID, ChangeClientCert, id, clientcert.ErrNotFound, "set the status of client certificate",
		`UPDATE client_certificates SET status = ?, updated_us = ? WHERE id = ? AND site_id = ?`,
		status, micros(updated), id, siteID)
}

// DeleteClientCertificate implements clientcert.Store.
func (s *Store) DeleteClientCertificate(ctx context.Context, siteID int64, id string) error {
	return s.changeOne(ctx, siteID, ChangeClientCert, id, clientcert.ErrNotFound, "delete client certificate",
		`DELETE FROM client_certificates WHERE id = ? AND site_id = ?`, id, siteID)
}
