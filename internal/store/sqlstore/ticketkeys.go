package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/esacert/esacert/internal/ticketkey"
)

var _ ticketkey.Store = (*Store)(nil)

// TicketKeys implements ticketkey.Store.
func (s *Store) TicketKeys(ctx context.Context) ([]ticketkey.Sealed, error) {
	rs, err := s.db.QueryContext(ctx, `SELECT id, sealed_key, created_us FROM ticket_keys ORDER BY id DESC`)
	if err != nil {
		return nil, fmt.Errorf("read ticket keys: %w", err)
	}
	defer rs.Close()
	var out []ticketkey.Sealed
	for rs.Next() {
		var (
			k  ticketkey.Sealed
			us int64
		)
		if err := rs.Scan(&k.ID, &k.Sealed, &us); err != nil {
			return nil, fmt.Errorf("read ticket keys: %w", err)
		}
		k.Created = time.UnixMicro(us)
		out = append(out, k)
	}
	if err := rs.Err(); err != nil {
		return nil, fmt.Errorf("read ticket keys: %w", err)
	}
	return out, nil
}

// AddTicketKey implements ticketkey.Store. Two nodes adding the same
// number race on the primary key: the loser's insert does nothing.
func (s *Store) AddTicketKey(ctx context.Context, k ticketkey.Sealed) (bool, error) {
	added := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		added = false
		var newest int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM ticket_keys`).Scan(&newest); err != nil {
			return err
		}
		if newest != k.ID-1 {
			return nil
		}
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO ticket_keys (id, sealed_key, created_us) VALUES (?, ?, ?)
			ON CONFLICT (id) DO NOTHING`), k.ID, k.Sealed, k.Created.UnixMicro())
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM ticket_keys WHERE id < ?`), k.ID-2); err != nil {
			return err
		}
		added = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("add ticket key %d: %w", k.ID, err)
	}
	return added, nil
}
