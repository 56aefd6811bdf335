package sqlstore

import (
	"context"
	"database/sql"

	"github.com/esacert/esacert/internal/account"
)

var _ account.Store = (*Store)(nil)

// Facts of the meta table that belong to the account.
const (
	accountIDFact    = "account_id"
	accountAliasFact = "account_alias"
)

// ClaimAccountID implements account.Store.
func (s *Store) ClaimAccountID(ctx context.Context, id string) (string, error) {
	var got string
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO NOTHING`),
			accountIDFact, id); err != nil {
			return err
		}
		var err error
		got, err = metaFact(ctx, s, tx, accountIDFact)
		return err
	})
	return got, err
}

// AccountAlias implements account.Store.
func (s *Store) AccountAlias(ctx context.Context) (string, error) {
	return metaFact(ctx, s, s.db, accountAliasFact)
}

// SetAccountAlias implements account.Store.
func (s *Store) SetAccountAlias(ctx context.Context, alias string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO meta (k, v) VALUES (?, ?) ON CONFLICT (k) DO UPDATE SET v = excluded.v`),
			accountAliasFact, alias)
		return err
	})
}
