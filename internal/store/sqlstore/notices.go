package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/notify"
)

var _ notify.Store = (*Store)(nil)

// Delivery statuses in notice_deliveries.
const (
	deliveryPending = "pending"
	deliverySent    = "sent"
	deliveryFailed  = "failed" // given up
)

// watchedWhere selects the certificates notify.Store.Watched returns; its
// arguments are watchedArgs.
const watchedWhere = ` WHERE (c.not_after_us > ? AND c.not_after_us <= ?) OR (c.type = ? AND c.apply_status = ?)
	OR c.id IN (SELECT u.certificate_id FROM notices u WHERE u.unresolved = 1)`

func watchedArgs(from, to time.Time) []any {
	return []any{micros(from), micros(to), cert.TypeFree, cert.StatusApplyFailed}
}

// Watched implements notify.Store.
func (s *Store) Watched(ctx context.Context, from, to time.Time) ([]notify.Watched, error) {
	list, err := queryAll(ctx, s, s.db, func(r scanner) (w notify.Watched, err error) {
		var notAfter, next int64
		err = r.Scan(&w.CertificateID, &w.SiteID, &w.SiteName, &w.Name, &w.Type, &notAfter, &w.Free.Status,
			&w.Free.Code, &w.Free.Message, &w.Free.Attempts, &w.Free.CA, &next)
		w.NotAfter, w.Free.Next = fromMicros(notAfter), fromMicros(next)
		return w, err
	}, `SELECT c.id, c.site_id, s.name, c.name, c.type, c.not_after_us, c.apply_status, c.apply_code, c.apply_message,
		c.attempts, c.ca, c.next_us FROM certificates c JOIN sites s ON s.id = c.site_id`+watchedWhere+` ORDER BY c.id`,
		watchedArgs(from, to)...)
	if err != nil {
		return nil, fmt.Errorf("list watched certificates: %w", err)
	}
	type noticed struct {
		id  string
		key notify.Key
	}
	keys, err := queryAll(ctx, s, s.db, func(r scanner) (n noticed, err error) {
		err = r.Scan(&n.id, &n.key.Event, &n.key.Episode)
		return n, err
	}, `SELECT n.certificate_id, n.event, n.episode FROM notices n
		WHERE n.certificate_id IN (SELECT c.id FROM certificates c`+watchedWhere+`)`, watchedArgs(from, to)...)
	if err != nil {
		return nil, fmt.Errorf("list recorded notices: %w", err)
	}
	byID := make(map[string]map[notify.Key]bool, len(list))
	for _, k := range keys {
		if byID[k.id] == nil {
			byID[k.id] = map[notify.Key]bool{}
		}
		byID[k.id][k.key] = true
	}
	for i := range list {
		list[i].Noticed = byID[list[i].CertificateID]
	}
	return list, nil
}

// AddNotice implements notify.Store. Of two nodes that record the same
// notice at once, the unique index lets one insert it; the other inserts
// nothing and reports false.
func (s *Store) AddNotice(ctx context.Context, n notify.Notice, channels []string) (bool, error) {
	body, err := json.Marshal(n)
	if err != nil {
		return false, fmt.Errorf("encode notice: %w", err)
	}
	added := false
	err = s.tx(ctx, func(tx *sql.Tx) error {
		added = false
		res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO notices (id, certificate_id, event, episode, unresolved, created_us, body)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (certificate_id, event, episode) DO NOTHING`),
			n.ID, n.CertificateID, n.Event, n.Episode, boolInt(n.Event == notify.EventFailed), micros(n.Time), string(body))
		if err != nil {
			return fmt.Errorf("insert notice: %w", err)
		}
		if k, err := res.RowsAffected(); err != nil || k == 0 {
			return err // recorded already
		}
		added = true
		if n.Event == notify.EventRecovered {
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE notices SET unresolved = 0
				WHERE certificate_id = ? AND event = ? AND episode = ?`), n.CertificateID, notify.EventFailed, n.Episode); err != nil {
				return fmt.Errorf("resolve failure notice: %w", err)
			}
		}
		for _, ch := range channels {
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO notice_deliveries (notice_id, channel, status, attempts,
				next_us, lease_owner, lease_us, sent_us, last_error) VALUES (?, ?, ?, 0, ?, '', 0, 0, '')`),
				n.ID, ch, deliveryPending, micros(n.Time)); err != nil {
				return fmt.Errorf("insert notice delivery: %w", err)
			}
		}
		return nil
	})
	return added, err
}

// ClaimDeliveries implements notify.Store. The claim is one UPDATE per row
// guarded by the lease, as ClaimDue's, so two nodes never hold one
// delivery.
func (s *Store) ClaimDeliveries(ctx context.Context, now time.Time, channels []string, owner string, leaseUntil time.Time, max int) ([]notify.Delivery, error) {
	if len(channels) == 0 || max <= 0 {
		return nil, nil
	}
	args := []any{deliveryPending, micros(now), micros(now)}
	for _, ch := range channels {
		args = append(args, ch)
	}
	args = append(args, max)
	type due struct{ id, channel string }
	list, err := queryAll(ctx, s, s.db, func(r scanner) (d due, err error) {
		err = r.Scan(&d.id, &d.channel)
		return d, err
	}, `SELECT d.notice_id, d.channel FROM notice_deliveries d WHERE d.status = ? AND d.next_us <= ? AND d.lease_us <= ?
		AND d.channel IN (`+strings.TrimSuffix(strings.Repeat("?, ", len(channels)), ", ")+`)
		ORDER BY d.next_us, d.notice_id, d.channel LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("find due notice deliveries: %w", err)
	}
	var claimed []notify.Delivery
	for _, d := range list {
		res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE notice_deliveries SET lease_owner = ?, lease_us = ?
			WHERE notice_id = ? AND channel = ? AND status = ? AND lease_us <= ?`),
			owner, micros(leaseUntil), d.id, d.channel, deliveryPending, micros(now))
		if err != nil {
			return claimed, fmt.Errorf("lease notice delivery: %w", err)
		}
		if k, _ := res.RowsAffected(); k != 1 {
			continue // another node was faster
		}
		var (
			body, episode string
			attempts      int
		)
		err = s.db.QueryRowContext(ctx, s.rebind(`SELECT n.body, n.episode, d.attempts FROM notices n
			JOIN notice_deliveries d ON d.notice_id = n.id WHERE d.notice_id = ? AND d.channel = ?`), d.id, d.channel).
			Scan(&body, &episode, &attempts)
		if err != nil {
			return claimed, fmt.Errorf("read notice %s: %w", d.id, err)
		}
		dl := notify.Delivery{Channel: d.channel, Attempts: attempts}
		if err := json.Unmarshal([]byte(body), &dl.Notice); err != nil {
			return claimed, fmt.Errorf("decode notice %s: %w", d.id, err)
		}
		dl.Notice.Episode = episode
		claimed = append(claimed, dl)
	}
	return claimed, nil
}

// FinishDelivery implements notify.Store.
func (s *Store) FinishDelivery(ctx context.Context, d notify.Delivery, owner string) error {
	status, next := deliveryPending, micros(d.Next)
	switch {
	case !d.Sent.IsZero():
		status, d.Error = deliverySent, ""
	case d.Next.IsZero():
		status = deliveryFailed
	}
	res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE notice_deliveries SET status = ?, attempts = ?, next_us = ?,
		sent_us = ?, last_error = ?, lease_owner = '', lease_us = 0
		WHERE notice_id = ? AND channel = ? AND lease_owner = ? AND status = ?`),
		status, d.Attempts, next, micros(d.Sent), d.Error, d.Notice.ID, d.Channel, owner, deliveryPending)
	if err != nil {
		return fmt.Errorf("record notice delivery: %w", err)
	}
	if k, _ := res.RowsAffected(); k != 1 {
		return notify.ErrNotHeld
	}
	return nil
}

// ForgetNotices implements notify.Store; the deliveries go with their
// notices.
func (s *Store) ForgetNotices(ctx context.Context, before time.Time) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM notice_deliveries WHERE notice_id IN (SELECT n.id FROM notices n
			WHERE n.created_us < ? AND (n.unresolved = 0 OR NOT EXISTS (SELECT 1 FROM certificates c WHERE c.id = n.certificate_id))
			AND NOT EXISTS (SELECT 1 FROM notice_deliveries p WHERE p.notice_id = n.id AND p.status = ?))`),
			micros(before), deliveryPending); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM notices WHERE created_us < ?
			AND (unresolved = 0 OR NOT EXISTS (SELECT 1 FROM certificates c WHERE c.id = notices.certificate_id))
			AND NOT EXISTS (SELECT 1 FROM notice_deliveries p WHERE p.notice_id = notices.id)`), micros(before))
		if err != nil {
			return err
		}
		k, err := res.RowsAffected()
		n = int(k)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("forget notices: %w", err)
	}
	return n, nil
}
