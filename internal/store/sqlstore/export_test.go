package sqlstore

import "context"

// ExecOldNode runs q (with ? placeholders) on the database directly, as a
// node of an older version would write it: for storetest cases that
// simulate a rolling upgrade.
func (s *Store) ExecOldNode(ctx context.Context, q string, args ...any) error {
	_, err := s.db.ExecContext(ctx, s.rebind(q), args...)
	return err
}

// ChangedSites (for the tests) returns the sites changed after revision since, the revision
// now, and whether the feed still reaches back to since.
func (s *Store) ChangedSites(ctx context.Context, since int64) ([]int64, int64, bool, error) {
	changes, rev, complete, err := s.Changes(ctx, since)
	if err != nil || !complete {
		return nil, rev, complete, err
	}
	seen := map[int64]bool{}
	var ids []int64
	for _, c := range changes {
		if !seen[c.SiteID] {
			seen[c.SiteID] = true
			ids = append(ids, c.SiteID)
		}
	}
	return ids, rev, true, nil
}

// PreparedCount (for the tests) is how many statements the store keeps
// prepared (prepared.go).
func (s *Store) PreparedCount() int {
	s.stmtMu.Lock()
	defer s.stmtMu.Unlock()
	return len(s.stmts)
}
