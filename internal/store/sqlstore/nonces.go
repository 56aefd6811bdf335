package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Nonces is a signature nonce cache in the database, so that every API node
// on it refuses a request another node has seen. Use it through
// Store.Nonces; it is safe for concurrent use.
type Nonces struct {
	s         *Store
	mu        sync.Mutex
	nextSweep time.Time
}

// Nonces returns the store's nonce cache.
func (s *Store) Nonces() *Nonces { return &Nonces{s: s} }

// Use records key until expires and reports whether it was new: an entry
// that has expired counts as new again. The database decides, in one
// statement, so two nodes racing on one key cannot both see it as new.
// Expired entries are swept about once a minute.
func (n *Nonces) Use(ctx context.Context, key string, now, expires time.Time) (bool, error) {
	if err := n.sweep(ctx, now); err != nil {
		return false, err
	}
	res, err := n.s.db.ExecContext(ctx, n.s.rebind(`INSERT INTO signature_nonces (k, expires_us) VALUES (?, ?)
		ON CONFLICT (k) DO UPDATE SET expires_us = excluded.expires_us
		WHERE signature_nonces.expires_us <= ?`), key, micros(expires), micros(now))
	if err != nil {
		return false, fmt.Errorf("record nonce: %w", err)
	}
	affected, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("record nonce: %w", err)
	}
	return affected == 1, nil
}

func (n *Nonces) sweep(ctx context.Context, now time.Time) error {
	n.mu.Lock()
	due := now.After(n.nextSweep)
	if due {
		n.nextSweep = now.Add(time.Minute)
	}
	n.mu.Unlock()
	if !due {
		return nil
	}
	if _, err := n.s.db.ExecContext(ctx, n.s.rebind(`DELETE FROM signature_nonces WHERE expires_us <= ?`), micros(now)); err != nil {
		return fmt.Errorf("sweep nonces: %w", err)
	}
	return nil
}
