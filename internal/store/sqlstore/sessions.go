package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/esacert/esacert/internal/session"
)

var _ session.KeyStore = (*Store)(nil)

// ClaimSTSKey implements session.KeyStore.
func (s *Store) ClaimSTSKey(ctx context.Context, id string, sealed []byte) (string, []byte, error) {
	var (
		gotID     string
		gotSealed []byte
	)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sts_keys`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			if err := s.checkMasterKey(ctx, tx); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO sts_keys (id, sealed_key, created_us) VALUES (?, ?, ?)
				ON CONFLICT (id) DO NOTHING`), id, sealed, time.Now().UnixMicro()); err != nil {
				return err
			}
		}
		return tx.QueryRowContext(ctx, `SELECT id, sealed_key FROM sts_keys ORDER BY created_us, id LIMIT 1`).Scan(&gotID, &gotSealed)
	})
	if err != nil {
		return "", nil, fmt.Errorf("claim the sts server key: %w", err)
	}
	return gotID, gotSealed, nil
}
