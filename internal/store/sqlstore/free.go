package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
)

var (
	_ cert.FreeStore      = (*Store)(nil)
	_ cert.ChallengeStore = (*Store)(nil)
)

// CreateFree implements cert.FreeStore.
func (s *Store) CreateFree(ctx context.Context, certs []cert.Certificate, limit int) ([]cert.Certificate, error) {
	if len(certs) == 0 {
		return nil, nil
	}
	siteID := certs[0].SiteID
	var out []cert.Certificate
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		var one int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`+s.forUpdate), siteID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return site.ErrSiteNotFound
		} else if err != nil {
			return err
		}
		n := 0
		if limit > 0 { // counted up to the quota only: n is compared with it
			var err error
			if n, err = s.countUpTo(ctx, tx, siteID, []string{cert.TypeFree}, limit); err != nil {
				return err
			}
		}
		for _, c := range certs {
			existing, err := scanCert(tx.QueryRowContext(ctx, s.rebind(`SELECT `+certColumns+certFrom+
				` WHERE c.site_id = ? AND c.type = ? AND c.name = ?`), siteID, cert.TypeFree, c.Name))
			if err == nil {
				out = append(out, existing) // applied for already: the same record
				continue
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if limit > 0 && n >= limit {
				return cert.ErrFreeQuota
			}
			n++
			args := append([]any{c.ID, c.SiteID, c.Name, c.Type, nil, "", "", "", []byte{}, micros(c.Created), micros(c.Updated)},
				infoArgs(c.Info)...)
			args = append(args, c.Free.Status, c.Free.CA, micros(c.Free.Next))
			_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO certificates (id, site_id, name, type, cas_id, region,
				cert_pem, chain_pem, sealed_key, created_us, updated_us, `+infoColumns+`, apply_status, ca, next_us)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
			if v := certViolation(err); v != nil {
				return v
			}
			if err != nil {
				return fmt.Errorf("insert free certificate: %w", err)
			}
			if err := s.recordChange(ctx, tx, siteID, ChangeCertificate, c.ID); err != nil {
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// ClaimDue implements cert.FreeStore. The claim is one UPDATE per row
// guarded by the lease, so two renewers never hold one certificate.
func (s *Store) ClaimDue(ctx context.Context, now time.Time, owner string, leaseUntil time.Time, max int) ([]cert.Certificate, error) {
	ids, err := queryAll(ctx, s, s.db, func(r scanner) (id string, err error) {
		err = r.Scan(&id)
		return id, err
	},
		`SELECT c.id FROM certificates c WHERE c.type = ?
		AND (c.next_us <= ? OR (c.ari_check_us > 0 AND c.ari_check_us <= ?))
		AND c.lease_us <= ? ORDER BY c.next_us LIMIT ?`, cert.TypeFree, micros(now), micros(now), micros(now), max)
	if err != nil {
		return nil, fmt.Errorf("find due certificates: %w", err)
	}
	var claimed []cert.Certificate
	for _, id := range ids {
		res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE certificates SET lease_owner = ?, lease_us = ?
			WHERE id = ? AND lease_us <= ?`), owner, micros(leaseUntil), id, micros(now))
		if err != nil {
			return nil, fmt.Errorf("lease certificate %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			continue // another renewer was faster
		}
		c, err := scanCert(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+certColumns+certFrom+` WHERE c.id = ?`), id))
		if err != nil {
			return nil, fmt.Errorf("read certificate %s: %w", id, err)
		}
		claimed = append(claimed, c)
	}
	return claimed, nil
}

// FinishFree implements cert.FreeStore.
func (s *Store) FinishFree(ctx context.Context, c cert.Certificate, owner string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if c.ChainPEM != "" {
			if err := s.checkMasterKey(ctx, tx); err != nil {
				return err
			}
			args := append([]any{c.CertPEM, c.ChainPEM, c.SealedKey, micros(c.Updated)}, infoArgs(c.Info)...)
			args = append(args, c.Free.Status, c.Free.Code, c.Free.Message, c.Free.Attempts, micros(c.Free.Next), microsOrZero(c.Free.ARICheck), c.ID, owner)
			res, err = tx.ExecContext(ctx, s.rebind(`UPDATE certificates SET cert_pem = ?, chain_pem = ?, sealed_key = ?,
				updated_us = ?, common_name = ?, sans = ?, issuer = ?, issuer_cn = ?, serial = ?, fingerprint = ?,
				pub_alg = ?, sig_alg = ?, key_bits = ?, not_before_us = ?, not_after_us = ?, apply_status = ?,
				apply_code = ?, apply_message = ?, attempts = ?, next_us = ?, ari_check_us = ?, lease_owner = '', lease_us = 0
				WHERE id = ? AND lease_owner = ?`), args...)
			if err == nil && c.Twin != nil {
				_, err = tx.ExecContext(ctx, s.rebind(`UPDATE certificates SET twin_chain_pem = ?, twin_sealed_key = ?,
					twin_not_after_us = ? WHERE id = ?`), c.Twin.ChainPEM, c.Twin.SealedKey, microsOrZero(c.Twin.NotAfter), c.ID)
			}
		} else {
			res, err = tx.ExecContext(ctx, s.rebind(`UPDATE certificates SET apply_status = ?, apply_code = ?,
				apply_message = ?, attempts = ?, next_us = ?, ari_check_us = ?, updated_us = ?, lease_owner = '', lease_us = 0
				WHERE id = ? AND lease_owner = ?`), c.Free.Status, c.Free.Code, c.Free.Message, c.Free.Attempts,
				micros(c.Free.Next), microsOrZero(c.Free.ARICheck), micros(c.Updated), c.ID, owner)
		}
		if err != nil {
			return fmt.Errorf("store free certificate %s: %w", c.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return cert.ErrCertNotFound
		}
		if c.ChainPEM == "" {
			return nil // the state alone: nothing the edge serves changed
		}
		if err := s.queueOCSP(ctx, tx, c); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, c.SiteID, ChangeCertificate, c.ID)
	})
}

// PutChallenge implements cert.ChallengeStore.
func (s *Store) PutChallenge(ctx context.Context, host, token, keyAuth string, expires time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO acme_challenges (host, token, key_auth, expires_us) VALUES (?, ?, ?, ?)
		ON CONFLICT (host, token) DO UPDATE SET key_auth = excluded.key_auth, expires_us = excluded.expires_us`),
		host, token, keyAuth, micros(expires))
	return err
}

// Challenge implements cert.ChallengeStore.
func (s *Store) Challenge(ctx context.Context, host, token string, now time.Time) (string, bool, error) {
	var v string
	// Answered only for a free certificate of a site that may be served
	// (active, or pending: a pending site has free certificates only where
	// the operator serves pending sites): a site that went offline or was
	// deleted meanwhile gets no answer.
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT a.key_auth FROM acme_challenges a
		WHERE a.host = ? AND a.token = ? AND a.expires_us > ? AND EXISTS (SELECT 1 FROM certificates c
		JOIN sites s ON s.id = c.site_id WHERE c.type = ? AND c.name = a.host AND s.status IN (?, ?))`),
		host, token, micros(now), cert.TypeFree, site.SiteActive, site.SitePending).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return v, err == nil, err
}

// DeleteChallenge implements cert.ChallengeStore.
func (s *Store) DeleteChallenge(ctx context.Context, host, token string) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM acme_challenges WHERE host = ? AND token = ?`), host, token)
	return err
}

// ChallengesFor implements cert.ChallengeStore.
func (s *Store) ChallengesFor(ctx context.Context, host string, now time.Time) ([][2]string, error) {
	return queryAll(ctx, s, s.db, func(r scanner) (c [2]string, err error) {
		err = r.Scan(&c[0], &c[1])
		return c, err
	},
		`SELECT token, key_auth FROM acme_challenges WHERE host = ? AND expires_us > ? ORDER BY token`, host, micros(now))
}

// ACMEAccount implements cert.AccountStore.
func (s *Store) ACMEAccount(ctx context.Context, id string) ([]byte, bool, error) {
	var sealed []byte
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT sealed_key FROM acme_accounts WHERE id = ?`), id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read ACME account %s: %w", id, err)
	}
	return sealed, true, nil
}

// PutACMEAccount implements cert.AccountStore: it replaces the account's
// key, checking in the transaction that the master key was not rotated.
func (s *Store) PutACMEAccount(ctx context.Context, id string, sealed []byte, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO acme_accounts (id, sealed_key, created_us) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET sealed_key = excluded.sealed_key, created_us = excluded.created_us`), id, sealed, micros(now))
		if err != nil {
			return fmt.Errorf("store ACME account %s: %w", id, err)
		}
		return nil
	})
}

// microsOrZero stores an optional time: the zero time is 0 (none).
func microsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return micros(t)
}
