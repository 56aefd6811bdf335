package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Kinds of edge changes: what changed, and ref says which one.
const (
	ChangeSite        = "site"        // ref: the site id
	ChangeCertificate = "certificate" // ref: the certificate id
	ChangeRecord      = "record"      // ref: the record id
	ChangeHTTPS       = "https"       // ref: the configuration id
)

// Change is one entry of the edge's change feed.
type Change struct {
	Rev    int64
	SiteID int64
	Kind   string
	Ref    string
}

// recordChange bumps the edge revision and records one change, inside tx.
// Call it once per touched object, after the change itself; the revision is
// shared by all changes of one transaction.
func (s *Store) recordChange(ctx context.Context, tx *sql.Tx, siteID int64, kind, ref string) error {
	_, err := s.recordChangeRev(ctx, tx, siteID, kind, ref)
	return err
}

// recordChangeRev is recordChange, and returns the revision it recorded.
func (s *Store) recordChangeRev(ctx context.Context, tx *sql.Tx, siteID int64, kind, ref string) (int64, error) {
	var rev int64
	if err := tx.QueryRowContext(ctx, `UPDATE edge_revision SET rev = rev + 1 WHERE id = 1 RETURNING rev`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("bump edge revision: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO edge_changes (rev, site_id, kind, ref) VALUES (?, ?, ?, ?)`),
		rev, siteID, kind, ref); err != nil {
		return 0, fmt.Errorf("record edge change: %w", err)
	}
	if s.dialect == Postgres {
		// Delivered at commit to every node listening (see Watch).
		if _, err := tx.ExecContext(ctx, `SELECT pg_notify('`+notifyChannel+`', $1)`, strconv.FormatInt(rev, 10)); err != nil {
			return 0, fmt.Errorf("notify edge change: %w", err)
		}
	}
	return rev, nil
}

// notifyChannel is the PostgreSQL channel that carries new edge revisions.
const notifyChannel = "esacert_edge"

// Revision returns the edge revision: cheap, for polling.
func (s *Store) Revision(ctx context.Context) (int64, error) {
	var rev int64
	if err := s.db.QueryRowContext(ctx, `SELECT rev FROM edge_revision WHERE id = 1`).Scan(&rev); err != nil {
		return 0, fmt.Errorf("read edge revision: %w", err)
	}
	return rev, nil
}

// Changes returns the changes after revision since, up to and including
// the current one, in order, and that revision. complete is false when the
// feed no longer reaches back to since (it was pruned) or the revision is
// behind since (the database was restored): the caller must then reload
// everything.
//
// It is one statement, so one round trip that sees one state of the
// database (no transaction to begin and end, each a round trip of its
// own): an edge pays it on every change, and on a busy machine every round
// trip is a chance to wait for the scheduler. The revision comes with
// every row (and alone, with NULL change columns, when no change is after
// since, or the feed does not reach back to it).
func (s *Store) Changes(ctx context.Context, since int64) (changes []Change, rev int64, complete bool, err error) {
	rows, err := prepared{s}.QueryContext(ctx, s.rebind(changesQuery), since, since, since)
	if err != nil {
		return nil, 0, false, fmt.Errorf("read edge changes: %w", err)
	}
	defer rows.Close()
	var oldest sql.NullInt64
	for rows.Next() {
		var (
			r, site   sql.NullInt64
			kind, ref sql.NullString
		)
		if err := rows.Scan(&rev, &oldest, &r, &site, &kind, &ref); err != nil {
			return nil, 0, false, fmt.Errorf("read edge changes: %w", err)
		}
		if r.Valid {
			changes = append(changes, Change{Rev: r.Int64, SiteID: site.Int64, Kind: kind.String, Ref: ref.String})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, false, fmt.Errorf("read edge changes: %w", err)
	}
	switch {
	case rev == since:
		return nil, rev, true, nil
	case rev < since:
		return nil, rev, false, nil // the database went back in time (a restore): reload everything
	case !oldest.Valid || oldest.Int64 > since+1:
		return nil, rev, false, nil // pruned past since
	}
	return changes, rev, true, nil
}

// changesQuery reads, in one statement, the edge revision, the oldest
// revision the feed holds and the changes after since (its three
// parameters) up to the revision. The changes are joined only when the feed
// reaches back to since, so that an edge too far behind does not read the
// whole feed for nothing. Revisions commit in order (the bump of
// edge_revision locks its row until commit), so the changes up to the
// revision read are all visible to the statement.
const changesQuery = `WITH head AS (SELECT rev, (SELECT MIN(rev) FROM edge_changes) AS oldest FROM edge_revision WHERE id = 1)
	SELECT head.rev, head.oldest, c.rev, c.site_id, c.kind, c.ref FROM head
	LEFT JOIN edge_changes c ON c.rev > ? AND c.rev <= head.rev AND head.oldest <= ? + 1 AND head.rev > ?
	ORDER BY c.rev`

// PruneChanges drops changes older than keep revisions behind the current one.
func (s *Store) PruneChanges(ctx context.Context, keep int64) error {
	rev, err := s.Revision(ctx)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.rebind(`DELETE FROM edge_changes WHERE rev <= ?`), rev-keep)
	return err
}

// readTx runs fn in a read-only transaction, so that its queries see one
// state of the database (a plain BEGIN on SQLite, which in WAL mode reads
// one snapshot; REPEATABLE READ on PostgreSQL).
func (s *Store) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	opts := &sql.TxOptions{ReadOnly: true}
	if s.dialect == Postgres {
		opts.Isolation = sql.LevelRepeatableRead
	}
	tx, err := s.db.BeginTx(ctx, opts)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

// notify wakes the in-process watchers; tx calls it after every commit
// (watchers re-read the revision, so a wake-up without a change is harmless).
func (s *Store) notify() {
	s.watchMu.Lock()
	for _, c := range s.watchers {
		select {
		case c <- struct{}{}:
		default:
		}
	}
	s.watchMu.Unlock()
}

// Watch returns a channel that receives a signal soon after a change is
// recorded, and a function that stops the watch. On SQLite only this
// process's changes are signalled; on PostgreSQL every node's are, through
// LISTEN/NOTIFY on a connection of its own that reconnects when lost. A
// notification can still be lost (while reconnecting): keep polling
// Revision as the fallback.
func (s *Store) Watch() (<-chan struct{}, func()) {
	c := make(chan struct{}, 1)
	s.watchMu.Lock()
	s.watchers = append(s.watchers, c)
	if s.dialect == Postgres && !s.closed {
		s.listenOnce.Do(func() {
			ctx, stop := context.WithCancel(context.Background())
			s.listenStop, s.listenDone = stop, make(chan struct{})
			go s.listen(ctx)
		})
	}
	s.watchMu.Unlock()
	return c, func() {
		s.watchMu.Lock()
		defer s.watchMu.Unlock()
		for i, w := range s.watchers {
			if w == c {
				s.watchers = append(s.watchers[:i], s.watchers[i+1:]...)
				break
			}
		}
	}
}

// listen holds a LISTEN connection and wakes the watchers on every
// notification, reconnecting with backoff until ctx ends.
func (s *Store) listen(ctx context.Context) {
	defer close(s.listenDone)
	wait := 100 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, s.pgConfig.Copy())
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+notifyChannel); err == nil {
				wait = 100 * time.Millisecond
				s.notify() // changes made while not listening
				for err == nil {
					_, err = conn.WaitForNotification(ctx)
					if err == nil {
						s.notify()
					}
				}
			}
			closeCtx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.Close(closeCtx)
			cancel()
		}
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
		wait = min(2*wait, 10*time.Second)
	}
}
