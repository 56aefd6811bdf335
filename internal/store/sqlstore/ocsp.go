package sqlstore

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
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
// poll costs what is due, not the number of certificates. A batch is
// claimed by one statement that moves the rows' next fetch on (and resets
// a row still kept for a leaf since replaced, see claimOCSPSet): on
// PostgreSQL an UPDATE of the rows its subquery locked, skipping those
// another claim holds; on SQLite the read and the UPDATE share one write
// transaction, which no other writer runs beside. Either runs only when a
// read finds a row due.
func (s *Store) ClaimOCSP(ctx context.Context, now, until time.Time, n int) ([]cert.OCSPDue, error) {
	if n <= 0 {
		return nil, nil
	}
	// Nothing due (what nearly every poll finds) is one read through the
	// index: no lock, no write. The ORDER BY keeps it on the index in
	// PostgreSQL's generic plan of the prepared statement too (which does
	// not know the bound and would otherwise scan the table for a first
	// match).
	var first int64
	switch err := s.db.QueryRowContext(ctx, s.rebind(`SELECT next_fetch_us FROM ocsp_responses WHERE next_fetch_us <= ?
		ORDER BY next_fetch_us LIMIT 1`), micros(now)).Scan(&first); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("claim the certificates due for OCSP: %w", err)
	}
	if s.dialect == Postgres {
		return s.claimOCSPPostgres(ctx, now, until, n)
	}
	var out []cert.OCSPDue
	err := s.tx(ctx, func(tx *sql.Tx) error {
		out = nil
		list, err := queryAll(ctx, s, tx, func(r scanner) (d cert.OCSPDue, err error) {
			var last cert.OCSPResponse
			if err := scanOCSP(r, &last, &d.CertificateID, &d.SiteID, &d.Fingerprint, &d.ChainPEM); err != nil {
				return d, err
			}
			d.Last = claimedLast(d, last, micros(last.Next), last.Fingerprint)
			return d, nil
		}, `SELECT `+ocspColumns+`, c.id, c.site_id, c.fingerprint, c.chain_pem
			FROM ocsp_responses o JOIN certificates c ON c.id = o.cert_id
			WHERE o.next_fetch_us <= ? ORDER BY o.next_fetch_us, o.cert_id LIMIT ?`, micros(now), n)
		if err != nil || len(list) == 0 {
			return err
		}
		args := make([]any, 0, len(list)+1)
		args = append(args, micros(until))
		for _, d := range list {
			args = append(args, d.CertificateID)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE ocsp_responses AS o SET `+claimOCSPSet+` FROM certificates c
			WHERE c.id = o.cert_id AND o.cert_id IN (?`+strings.Repeat(", ?", len(list)-1)+`)`, args...); err != nil {
			return err
		}
		out = list
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim the certificates due for OCSP: %w", err)
	}
	return out, nil
}

// claimOCSPSet moves a claimed row's next fetch on to the first argument
// and, when the row is still kept for an older leaf (written by a node
// that did not reset it with the certificate), resets it for the leaf the
// certificate has now: nothing of the old leaf's response is kept. Its
// right-hand sides read the row as it was before the UPDATE.
const claimOCSPSet = `next_fetch_us = ?, fingerprint = c.fingerprint,
	status = CASE WHEN o.fingerprint = c.fingerprint THEN o.status ELSE '' END,
	response = CASE WHEN o.fingerprint = c.fingerprint THEN o.response END,
	this_update_us = CASE WHEN o.fingerprint = c.fingerprint THEN o.this_update_us ELSE 0 END,
	next_update_us = CASE WHEN o.fingerprint = c.fingerprint THEN o.next_update_us ELSE 0 END,
	revoked_us = CASE WHEN o.fingerprint = c.fingerprint THEN o.revoked_us ELSE 0 END,
	fetched_us = CASE WHEN o.fingerprint = c.fingerprint THEN o.fetched_us ELSE 0 END,
	error = CASE WHEN o.fingerprint = c.fingerprint THEN o.error ELSE '' END,
	failures = CASE WHEN o.fingerprint = c.fingerprint THEN o.failures ELSE 0 END`

// claimOCSPPostgres is ClaimOCSP on PostgreSQL: one statement. Its CTE
// locks up to n due rows in next-fetch order, skipping the rows another
// claim has locked (FOR UPDATE re-checks a row committed meanwhile, so a
// row another claim has just moved on is no longer due); the UPDATE moves
// them on and returns them, with the next fetch and fingerprint they had.
func (s *Store) claimOCSPPostgres(ctx context.Context, now, until time.Time, n int) ([]cert.OCSPDue, error) {
	type row struct {
		due       cert.OCSPDue
		nextFetch int64
	}
	list, err := queryAll(ctx, s, s.db, func(r scanner) (d row, err error) {
		var last cert.OCSPResponse
		var lastFinger string
		if err := scanOCSP(r, &last, &d.due.CertificateID, &d.due.SiteID, &d.due.Fingerprint, &d.due.ChainPEM,
			&d.nextFetch, &lastFinger); err != nil {
			return d, err
		}
		d.due.Last = claimedLast(d.due, last, d.nextFetch, lastFinger)
		return d, nil
	}, `WITH due AS (
			SELECT cert_id, next_fetch_us, fingerprint FROM ocsp_responses WHERE next_fetch_us <= ?
			ORDER BY next_fetch_us, cert_id LIMIT ? FOR UPDATE SKIP LOCKED)
		UPDATE ocsp_responses AS o SET `+claimOCSPSet+` FROM due, certificates c
		WHERE o.cert_id = due.cert_id AND c.id = o.cert_id
		RETURNING `+ocspColumns+`, c.id, c.site_id, c.fingerprint, c.chain_pem, due.next_fetch_us, due.fingerprint`,
		micros(now), n, micros(until))
	if err != nil {
		return nil, fmt.Errorf("claim the certificates due for OCSP: %w", err)
	}
	slices.SortFunc(list, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.nextFetch, b.nextFetch), strings.Compare(a.due.CertificateID, b.due.CertificateID))
	})
	out := make([]cert.OCSPDue, len(list))
	for i, d := range list {
		out[i] = d.due
	}
	return out, nil
}

// claimedLast is the Last of claimed certificate d: what its row kept
// (row, as claimOCSPSet leaves it), with the next fetch it had (nextFetch),
// when the row was kept for the leaf d has (lastFinger); nothing when it
// was kept for an older one.
func claimedLast(d cert.OCSPDue, row cert.OCSPResponse, nextFetch int64, lastFinger string) cert.OCSPResponse {
	if lastFinger != d.Fingerprint {
		return cert.OCSPResponse{CertificateID: d.CertificateID, Fingerprint: d.Fingerprint}
	}
	row.CertificateID, row.Fingerprint, row.Next = d.CertificateID, d.Fingerprint, fromMicros(nextFetch)
	return row
}

// queueOCSPQuery makes a certificate just written (id, leaf fingerprint,
// status, next fetch) due for an OCSP fetch when it is new or its leaf
// changed: its row is made, or reset (what was kept is for the old leaf).
// The rows are the refresher's queue (see ClaimOCSP). See ocspRow for the
// status and next fetch a new leaf starts with.
const queueOCSPQuery = `INSERT INTO ocsp_responses (cert_id, fingerprint, status, response,
	this_update_us, next_update_us, revoked_us, fetched_us, error, failures, next_fetch_us, rev)
	VALUES (?, ?, ?, NULL, 0, 0, 0, 0, '', 0, ?, 0) ` + requeueOCSP

// requeueOCSP ends an INSERT of a certificate's fresh row: a row kept for
// the same leaf stays as it is, one kept for another leaf is reset to the
// fresh row.
const requeueOCSP = `ON CONFLICT (cert_id) DO UPDATE SET fingerprint = excluded.fingerprint, status = excluded.status,
	response = NULL, this_update_us = 0, next_update_us = 0, revoked_us = 0, fetched_us = 0, error = '', failures = 0,
	next_fetch_us = excluded.next_fetch_us
	WHERE ocsp_responses.fingerprint <> excluded.fingerprint`

// ocspRow gives the arguments of queueOCSPQuery's row for certificate c
// (which has a chain). A leaf that names no OCSP responder (its DER holds
// no id-ad-ocsp access method) is written as the refresher would leave it
// after looking: status none, looked at again when it expires (a day from
// now at the soonest), so that importing many such certificates makes no
// background writes. Any other leaf is due at once, status unknown yet.
func ocspRow(c cert.Certificate, now time.Time) []any {
	if !namesOCSPResponder(c.ChainPEM) {
		next := c.Info.NotAfter
		if soonest := now.Add(24 * time.Hour); next.Before(soonest) {
			next = soonest
		}
		return []any{c.ID, c.Info.FingerprintSHA256, cert.OCSPNone, micros(next)}
	}
	return []any{c.ID, c.Info.FingerprintSHA256, "", int64(0)}
}

// idADOCSP is the DER of the OID id-ad-ocsp (1.3.6.1.5.5.7.48.1), the
// access method of an OCSP responder in the Authority Information Access
// extension.
var idADOCSP = []byte{0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01}

// namesOCSPResponder reports whether the first certificate of chainPEM may
// name an OCSP responder: false only when its DER cannot hold one (the
// OID is nowhere in it); a chain it cannot read answers true, for the
// refresher to look at.
func namesOCSPResponder(chainPEM string) bool {
	blk, _ := pem.Decode([]byte(chainPEM))
	if blk == nil {
		return true
	}
	return bytes.Contains(blk.Bytes, idADOCSP)
}

// queueOCSP runs queueOCSPQuery inside the write's tx for a certificate
// with chain chainPEM and leaf fingerprint fp; a certificate without a
// chain (a free one not issued yet) has no row.
func (s *Store) queueOCSP(ctx context.Context, tx *sql.Tx, c cert.Certificate) error {
	if c.ChainPEM == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, s.rebind(queueOCSPQuery), ocspRow(c, time.Now())...); err != nil {
		return fmt.Errorf("queue the OCSP fetch of certificate %s: %w", c.ID, err)
	}
	return nil
}

// CatchUpOCSP implements cert.OCSPStore: it queues what a write did not,
// as migration 033 did once. A node of a version before the queue (during
// a rolling upgrade) writes a certificate without its row, or replaces its
// leaf without resetting its row; either is found here and made due at
// once, as the write would have.
//
// With since 0 it reads every certificate (an anti-join on the key, the
// chain tested only for being empty). Otherwise it reads only the
// certificates with an edge change after revision since (every write of a
// certificate records one, in every version), unless the feed was pruned
// past it; it does not follow a site's changes to its certificates, so a
// certificate an older node imported (one change for its site) waits for
// a run from 0. It reads in one read transaction, which takes no write
// lock, and writes only what it found, in small batches that re-check the
// certificate as it is then.
func (s *Store) CatchUpOCSP(ctx context.Context, since int64) (int, int64, error) {
	var ids []string
	var rev int64
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT rev FROM edge_revision WHERE id = 1`).Scan(&rev); err != nil {
			return err
		}
		missing := s.hasChain("c") + ` AND (o.cert_id IS NULL OR o.fingerprint <> c.fingerprint)`
		q, args := `SELECT c.id FROM certificates c LEFT JOIN ocsp_responses o ON o.cert_id = c.id WHERE `+missing, []any(nil)
		if since > 0 && since <= rev {
			var oldest sql.NullInt64
			if err := tx.QueryRowContext(ctx, `SELECT MIN(rev) FROM edge_changes`).Scan(&oldest); err != nil {
				return err
			}
			if oldest.Valid && oldest.Int64 <= since+1 || !oldest.Valid && since == rev {
				q = `SELECT c.id FROM certificates c LEFT JOIN ocsp_responses o ON o.cert_id = c.id
					WHERE c.id IN (SELECT ref FROM edge_changes WHERE rev > ? AND kind = '` + ChangeCertificate + `')
					AND ` + missing
				args = []any{since}
			}
		}
		var err error
		ids, err = queryAll(ctx, s, tx, func(r scanner) (id string, err error) {
			err = r.Scan(&id)
			return id, err
		}, q, args...)
		return err
	})
	if err != nil {
		return 0, since, fmt.Errorf("find the certificates the OCSP queue misses: %w", err)
	}
	queued := 0
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 200)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ocsp_responses (cert_id, fingerprint, status, response,
				this_update_us, next_update_us, revoked_us, fetched_us, error, failures, next_fetch_us, rev)
				SELECT c.id, c.fingerprint, '', NULL, 0, 0, 0, 0, '', 0, 0, 0 FROM certificates c
				WHERE c.id IN (?`+strings.Repeat(", ?", len(batch)-1)+`) AND c.chain_pem <> '' `+requeueOCSP), args...)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err == nil {
				queued += int(n)
			}
			return nil
		})
		if err != nil {
			return queued, since, fmt.Errorf("queue the certificates the OCSP queue missed: %w", err)
		}
	}
	return queued, rev, nil
}

// hasChain is the condition that certificate alias has a chain, written
// so that the chain itself is not read: PostgreSQL compares the lengths
// first (no detoasting), SQLite's octet_length reads only the record's
// header (no overflow pages).
func (s *Store) hasChain(alias string) string {
	if s.dialect == Postgres {
		return alias + ".chain_pem <> ''"
	}
	return "octet_length(" + alias + ".chain_pem) > 0"
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
	list, err := queryAll(ctx, s, prepared{s}, func(r scanner) (o cert.OCSPResponse, err error) {
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
