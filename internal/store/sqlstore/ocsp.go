package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

var _ cert.OCSPStore = (*Store)(nil)

const ocspColumns = `o.fingerprint, o.status, o.response, o.this_update_us, o.next_update_us, o.revoked_us,
	o.fetched_us, o.error, o.failures, o.next_fetch_us, o.rev`

// scanOCSP scans ocspColumns into r.
func scanOCSP(r scanner, o *cert.OCSPResponse, more ...any) error {
	var this, next, revoked, fetched, nextFetch int64
	dest := append([]any{&o.Fingerprint, &o.Status, &o.Response, &this, &next, &revoked, &fetched, &o.Error,
		&o.Failures, &nextFetch, &o.Rev}, more...)
	if err := r.Scan(dest...); err != nil {
		return err
	}
	o.ThisUpdate, o.NextUpdate, o.RevokedAt = fromMicros(this), fromMicros(next), fromMicros(revoked)
	o.Fetched, o.Next = fromMicros(fetched), fromMicros(nextFetch)
	return nil
}

// ClaimOCSP implements cert.OCSPStore. A certificate never fetched gets its
// row inserted (of two nodes inserting it, one wins); one fetched before is
// claimed by moving its next fetch on only where the row is still as it was
// read.
func (s *Store) ClaimOCSP(ctx context.Context, now, until time.Time, n int) ([]cert.OCSPDue, error) {
	type row struct {
		due        cert.OCSPDue
		has        bool
		nextFetch  int64
		lastFinger string
	}
	list, err := queryAll(ctx, s, s.db, func(r scanner) (d row, err error) {
		var fp, status, errText sql.NullString
		var resp []byte
		var this, next, revoked, fetched, nextFetch, failures, rev sql.NullInt64
		err = r.Scan(&d.due.CertificateID, &d.due.SiteID, &d.due.Fingerprint, &d.due.ChainPEM,
			&fp, &status, &resp, &this, &next, &revoked, &fetched, &errText, &failures, &nextFetch, &rev)
		if err != nil {
			return d, err
		}
		d.has, d.lastFinger, d.nextFetch = fp.Valid, fp.String, nextFetch.Int64
		if d.has && fp.String == d.due.Fingerprint {
			d.due.Last = cert.OCSPResponse{CertificateID: d.due.CertificateID, Fingerprint: fp.String,
				Status: status.String, Response: resp, ThisUpdate: fromMicros(this.Int64),
				NextUpdate: fromMicros(next.Int64), RevokedAt: fromMicros(revoked.Int64),
				Fetched: fromMicros(fetched.Int64), Error: errText.String, Failures: int(failures.Int64),
				Next: fromMicros(nextFetch.Int64), Rev: rev.Int64}
		} else {
			d.due.Last = cert.OCSPResponse{CertificateID: d.due.CertificateID, Fingerprint: d.due.Fingerprint}
		}
		return d, nil
	}, `SELECT c.id, c.site_id, c.fingerprint, c.chain_pem, `+ocspColumns+`
		FROM certificates c LEFT JOIN ocsp_responses o ON o.cert_id = c.id
		WHERE c.chain_pem <> '' AND (o.cert_id IS NULL OR o.fingerprint <> c.fingerprint OR o.next_fetch_us <= ?)
		ORDER BY COALESCE(o.next_fetch_us, 0), c.id LIMIT ?`, micros(now), n)
	if err != nil {
		return nil, fmt.Errorf("list certificates due for OCSP: %w", err)
	}
	var out []cert.OCSPDue
	for _, d := range list {
		var res sql.Result
		switch {
		case !d.has:
			res, err = s.db.ExecContext(ctx, s.rebind(`INSERT INTO ocsp_responses (cert_id, fingerprint, status,
				this_update_us, next_update_us, revoked_us, fetched_us, error, failures, next_fetch_us, rev)
				VALUES (?, ?, '', 0, 0, 0, 0, '', 0, ?, 0) ON CONFLICT (cert_id) DO NOTHING`),
				d.due.CertificateID, d.due.Fingerprint, micros(until))
		case d.lastFinger != d.due.Fingerprint: // replaced: what was kept is for the old leaf
			res, err = s.db.ExecContext(ctx, s.rebind(`UPDATE ocsp_responses SET fingerprint = ?, status = '',
				response = NULL, this_update_us = 0, next_update_us = 0, revoked_us = 0, fetched_us = 0, error = '',
				failures = 0, next_fetch_us = ? WHERE cert_id = ? AND fingerprint = ? AND next_fetch_us = ?`),
				d.due.Fingerprint, micros(until), d.due.CertificateID, d.lastFinger, d.nextFetch)
		default:
			res, err = s.db.ExecContext(ctx, s.rebind(`UPDATE ocsp_responses SET next_fetch_us = ?
				WHERE cert_id = ? AND fingerprint = ? AND next_fetch_us = ?`),
				micros(until), d.due.CertificateID, d.lastFinger, d.nextFetch)
		}
		if err != nil {
			return out, fmt.Errorf("claim the OCSP fetch of certificate %s: %w", d.due.CertificateID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			out = append(out, d.due)
		}
	}
	return out, nil
}

// SaveOCSP implements cert.OCSPStore.
func (s *Store) SaveOCSP(ctx context.Context, r cert.OCSPResponse) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var rev int64
		if err := tx.QueryRowContext(ctx, `UPDATE ocsp_revision SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&rev); err != nil {
			return fmt.Errorf("bump OCSP revision: %w", err)
		}
		var resp any
		if r.Response != nil {
			resp = r.Response
		}
		_, err := tx.ExecContext(ctx, s.rebind(`UPDATE ocsp_responses SET status = ?, response = ?, this_update_us = ?,
			next_update_us = ?, revoked_us = ?, fetched_us = ?, error = ?, failures = ?, next_fetch_us = ?, rev = ?
			WHERE cert_id = ? AND fingerprint = ?`),
			r.Status, resp, micros(r.ThisUpdate), micros(r.NextUpdate), micros(r.RevokedAt), micros(r.Fetched),
			r.Error, r.Failures, micros(r.Next), rev, r.CertificateID, r.Fingerprint)
		if err != nil {
			return fmt.Errorf("save the OCSP response of certificate %s: %w", r.CertificateID, err)
		}
		return nil
	})
}

// OCSPResponses implements cert.OCSPStore.
func (s *Store) OCSPResponses(ctx context.Context, after int64) ([]cert.OCSPResponse, int64, error) {
	list, err := queryAll(ctx, s, s.db, func(r scanner) (o cert.OCSPResponse, err error) {
		err = scanOCSP(r, &o, &o.CertificateID)
		return o, err
	}, `SELECT `+ocspColumns+`, o.cert_id FROM ocsp_responses o WHERE o.rev > ? ORDER BY o.rev`, after)
	if err != nil {
		return nil, after, fmt.Errorf("read OCSP responses: %w", err)
	}
	last := after
	for _, o := range list {
		last = max(last, o.Rev)
	}
	return list, last, nil
}
