package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/site"
)

var _ origincert.ClientStore = (*Store)(nil)

// ChangeOriginClient is the kind of edge change of an origin client
// certificate; ref: its id.
const ChangeOriginClient = "origin-client"

const originClientColumns = `c.id, c.scope, c.site_id, s.name, c.name, c.cert_pem, c.chain_pem, c.sealed_key, c.hostnames,
	c.created_us, c.updated_us, c.common_name, c.sans, c.issuer, c.issuer_cn, c.serial, c.fingerprint, c.pub_alg,
	c.sig_alg, c.key_bits, c.not_before_us, c.not_after_us`

const originClientFrom = ` FROM origin_client_certificates c JOIN sites s ON s.id = c.site_id`

func scanOriginClient(r scanner) (origincert.Client, error) {
	var (
		c                origincert.Client
		x                infoScan
		hostnames, scope string
		created, updated int64
	)
	dest := append([]any{&c.ID, &scope, &c.SiteID, &c.SiteName, &c.Name, &c.CertPEM, &c.ChainPEM, &c.SealedKey, &hostnames,
		&created, &updated}, x.dest()...)
	if err := r.Scan(dest...); err != nil {
		return origincert.Client{}, err
	}
	c.Scope = origincert.Scope(scope)
	if hostnames != "" {
		c.Hostnames = strings.Split(hostnames, ",")
	}
	c.Info = x.info()
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	return c, nil
}

// CreateOriginClient implements origincert.ClientStore.
func (s *Store) CreateOriginClient(ctx context.Context, c origincert.Client) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`+s.forUpdate), c.SiteID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return site.ErrSiteNotFound
		}
		if err != nil {
			return fmt.Errorf("lock site %d: %w", c.SiteID, err)
		}
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		if c.Name != "" { // a name, when given, is unique; any number may have none
			var taken int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM origin_client_certificates WHERE site_id = ? AND scope = ? AND name = ?`),
				c.SiteID, string(c.Scope), c.Name).Scan(&taken); err != nil {
				return fmt.Errorf("check origin client certificate name: %w", err)
			} else if taken > 0 {
				return origincert.ErrNameExists
			}
		}
		args := append([]any{c.ID, string(c.Scope), c.SiteID, c.Name, c.CertPEM, c.ChainPEM, c.SealedKey,
			strings.Join(c.Hostnames, ","), micros(c.Created), micros(c.Updated)}, infoArgs(c.Info)...)
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO origin_client_certificates (id, scope, site_id, name, cert_pem,
			chain_pem, sealed_key, hostnames, created_us, updated_us, `+infoColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		if violation(err) != "" {
			return origincert.ErrNameExists
		}
		if err != nil {
			return fmt.Errorf("insert origin client certificate: %w", err)
		}
		return s.recordChange(ctx, tx, c.SiteID, ChangeOriginClient, c.ID)
	})
	if err != nil && !errors.Is(err, domain.ErrKeyUnavailable) && !errors.Is(err, origincert.ErrNameExists) &&
		!errors.Is(err, site.ErrSiteNotFound) {
		return fmt.Errorf("create origin client certificate %s: %w", c.ID, err)
	}
	return err
}

// OriginClient implements origincert.ClientStore.
func (s *Store) OriginClient(ctx context.Context, scope origincert.Scope, siteID int64, id string) (origincert.Client, error) {
	return queryOne(ctx, s, scanOriginClient, origincert.ErrNotFound, "read origin client certificate", id,
		`SELECT `+originClientColumns+originClientFrom+` WHERE c.id = ? AND c.site_id = ? AND c.scope = ?`, id, siteID, string(scope))
}

// ListOriginClients implements origincert.ClientStore.
func (s *Store) ListOriginClients(ctx context.Context, f origincert.Filter) ([]origincert.Client, int, error) {
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM origin_client_certificates WHERE site_id = ? AND scope = ?`),
		f.SiteID, string(f.Scope)).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count origin client certificates: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := queryAll(ctx, s, s.db, scanOriginClient, `SELECT `+originClientColumns+originClientFrom+
		` WHERE c.site_id = ? AND c.scope = ? ORDER BY c.created_us DESC, c.id LIMIT ? OFFSET ?`, f.SiteID, string(f.Scope),
		limit(f.Page), f.Page.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list origin client certificates: %w", err)
	}
	return list, total, nil
}

// DeleteOriginClient implements origincert.ClientStore.
func (s *Store) DeleteOriginClient(ctx context.Context, scope origincert.Scope, siteID int64, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM origin_client_certificates WHERE id = ? AND site_id = ? AND scope = ?`),
			id, siteID, string(scope))
		if err != nil {
			return fmt.Errorf("delete origin client certificate %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete origin client certificate %s: %w", id, err)
		} else if n == 0 {
			return origincert.ErrNotFound
		}
		return s.recordChange(ctx, tx, siteID, ChangeOriginClient, id)
	})
}

// SetOriginClientHostnames implements origincert.ClientStore.
func (s *Store) SetOriginClientHostnames(ctx context.Context, siteID int64, id string, hostnames []string, updated time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE origin_client_certificates SET hostnames = ?, updated_us = ?
			WHERE id = ? AND site_id = ? AND scope = ?`), strings.Join(hostnames, ","), micros(updated), id, siteID,
			string(origincert.ScopeHostname))
		if err != nil {
			return fmt.Errorf("set hostnames of origin client certificate %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("set hostnames of origin client certificate %s: %w", id, err)
		} else if n == 0 {
			return origincert.ErrNotFound
		}
		return s.recordChange(ctx, tx, siteID, ChangeOriginClient, id)
	})
}
