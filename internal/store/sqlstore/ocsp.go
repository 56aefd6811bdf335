package sqlstore

import (
	"context"
	"database/sql"
	"errors"
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

// ClaimOCSP implements cert.OCSPStore. Every certificate with a chain has
// its row, written with the certificate (queueOCSP), so the certificates
// due are the rows whose next fetch has come, read through their index: a
// poll costs what is due, not the number of certificates. A row is claimed
// by moving its next fetch on only where it is still as it was read.
func (s *Store) ClaimOCSP(ctx context.Context, now, until time.Time, n int) ([]cert.OCSPDue, error) {
	type row struct {
		due        cert.OCSPDue
		nextFetch  int64
		lastFinger string
	}
	list, err := queryAll(ctx, s, s.db, func(r scanner) (d row, err error) {
		var last cert.OCSPResponse
		if err := scanOCSP(r, &last, &d.due.CertificateID, &d.due.SiteID, &d.due.Fingerprint, &d.due.ChainPEM); err != nil {
			return d, err
		}
		d.lastFinger, d.nextFetch = last.Fingerprint, micros(last.Next)
		if last.Fingerprint == d.due.Fingerprint {
			last.CertificateID = d.due.CertificateID
			d.due.Last = last
		} else { // replaced since: what was kept is for the old leaf
			d.due.Last = cert.OCSPResponse{CertificateID: d.due.CertificateID, Fingerprint: d.due.Fingerprint}
		}
		return d, nil
	}, `SELECT `+ocspColumns+`, c.id, c.site_id, c.fingerprint, c.chain_pem
		FROM ocsp_responses o JOIN certificates c ON c.id = o.cert_id
		WHERE o.next_fetch_us <= ? ORDER BY o.next_fetch_us, o.cert_id LIMIT ?`, micros(now), n)
	if err != nil {
		return nil, fmt.Errorf("list certificates due for OCSP: %w", err)
	}
	var out []cert.OCSPDue
	for _, d := range list {
		var res sql.Result
		if d.lastFinger != d.due.Fingerprint { // a row its certificate's write did not reset
			res, err = s.db.ExecContext(ctx, s.rebind(`UPDATE ocsp_responses SET fingerprint = ?, status = '',
				response = NULL, this_update_us = 0, next_update_us = 0, revoked_us = 0, fetched_us = 0, error = '',
				failures = 0, next_fetch_us = ? WHERE cert_id = ? AND fingerprint = ? AND next_fetch_us = ?`),
				d.due.Fingerprint, micros(until), d.due.CertificateID, d.lastFinger, d.nextFetch)
		} else {
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

// queueOCSPQuery makes a certificate just written (id, leaf fingerprint)
// due for an OCSP fetch at once when it is new or its leaf changed: its
// row is made, or reset (what was kept is for the old leaf). The rows are
// the refresher's queue (see ClaimOCSP).
const queueOCSPQuery = `INSERT INTO ocsp_responses (cert_id, fingerprint, status, response,
	this_update_us, next_update_us, revoked_us, fetched_us, error, failures, next_fetch_us, rev)
	VALUES (?, ?, '', NULL, 0, 0, 0, 0, '', 0, 0, 0)
	ON CONFLICT (cert_id) DO UPDATE SET fingerprint = excluded.fingerprint, status = '', response = NULL,
	this_update_us = 0, next_update_us = 0, revoked_us = 0, fetched_us = 0, error = '', failures = 0, next_fetch_us = 0
	WHERE ocsp_responses.fingerprint <> excluded.fingerprint`

// queueOCSP runs queueOCSPQuery inside the write's tx for a certificate
// with chain chainPEM and leaf fingerprint fp; a certificate without a
// chain (a free one not issued yet) has no row.
func (s *Store) queueOCSP(ctx context.Context, tx *sql.Tx, id, fp, chainPEM string) error {
	if chainPEM == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.rebind(queueOCSPQuery), id, fp); err != nil {
		return fmt.Errorf("queue the OCSP fetch of certificate %s: %w", id, err)
	}
	return nil
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

var _ cert.OCSPReader = (*Store)(nil)

// OCSPResponse implements cert.OCSPReader.
func (s *Store) OCSPResponse(ctx context.Context, id string) (cert.OCSPResponse, bool, error) {
	o := cert.OCSPResponse{CertificateID: id}
	err := scanOCSP(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+ocspColumns+` FROM ocsp_responses o WHERE o.cert_id = ?`), id), &o)
	if errors.Is(err, sql.ErrNoRows) {
		return cert.OCSPResponse{}, false, nil
	}
	if err != nil {
		return cert.OCSPResponse{}, false, fmt.Errorf("read the OCSP response of certificate %s: %w", id, err)
	}
	return o, true, nil
}
