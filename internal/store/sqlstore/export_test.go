package sqlstore

import "context"

// ExecOldNode runs q (with ? placeholders) on the database directly, as a
// node of an older version would write it: for storetest cases that
// simulate a rolling upgrade.
func (s *Store) ExecOldNode(ctx context.Context, q string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	return err
}
