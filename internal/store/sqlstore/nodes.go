package sqlstore

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// NodeInfo is a running node as it last reported itself (see Heartbeat).
type NodeInfo struct {
	ID      string // random, new at each start
	Host    string
	PID     int
	Roles   string   // comma-separated
	KeyIDs  []string // the master keys it holds, newest first
	Sealing string   // the master key it seals with
	Started time.Time
	Seen    time.Time
}

// String names the node for an operator: host, pid and roles.
func (n NodeInfo) String() string {
	return fmt.Sprintf("%s pid %d (%s)", n.Host, n.PID, n.Roles)
}

// HoldsKey reports whether the node holds the master key with that id.
func (n NodeInfo) HoldsKey(id string) bool {
	for _, k := range n.KeyIDs {
		if k == id {
			return true
		}
	}
	return false
}

// Heartbeat records that the node is running, as it is at now.
func (s *Store) Heartbeat(ctx context.Context, n NodeInfo, now time.Time) error {
	_, err := prepared{s}.ExecContext(ctx, s.rebind(`INSERT INTO nodes (id, host, pid, roles, key_ids, sealing_key_id, started_us, seen_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET key_ids = excluded.key_ids, sealing_key_id = excluded.sealing_key_id, seen_us = excluded.seen_us`),
		n.ID, n.Host, n.PID, n.Roles, strings.Join(n.KeyIDs, ","), n.Sealing, n.Started.UnixMicro(), now.UnixMicro())
	if err != nil {
		return fmt.Errorf("record heartbeat: %w", err)
	}
	return nil
}

// Leave removes a stopping node's row.
func (s *Store) Leave(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM nodes WHERE id = ?`), id); err != nil {
		return fmt.Errorf("remove node: %w", err)
	}
	return nil
}

// Nodes returns the nodes seen at or after since, oldest start first, and
// forgets those not seen for a day.
func (s *Store) Nodes(ctx context.Context, since time.Time) ([]NodeInfo, error) {
	if _, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM nodes WHERE seen_us < ?`), since.Add(-24*time.Hour).UnixMicro()); err != nil {
		return nil, fmt.Errorf("forget old nodes: %w", err)
	}
	return queryAll(ctx, s, s.db, func(r scanner) (NodeInfo, error) {
		var (
			n             NodeInfo
			keys          string
			started, seen int64
		)
		err := r.Scan(&n.ID, &n.Host, &n.PID, &n.Roles, &keys, &n.Sealing, &started, &seen)
		if keys != "" {
			n.KeyIDs = strings.Split(keys, ",")
		}
		n.Started, n.Seen = time.UnixMicro(started).UTC(), time.UnixMicro(seen).UTC()
		return n, err
	}, `SELECT id, host, pid, roles, key_ids, sealing_key_id, started_us, seen_us FROM nodes
		WHERE seen_us >= ? ORDER BY started_us, id`, since.UnixMicro())
}
