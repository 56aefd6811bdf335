package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/audit"
)

// insertEvent writes ev in tx (or outside any transaction when tx is nil).
func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, ev *audit.Event) error {
	body, err := ev.Marshal()
	if err != nil {
		return fmt.Errorf("encode audit event: %w", err)
	}
	q := s.rebind(`INSERT INTO audit_events (id, time_us, event_name, service, rw, user_name, access_key_id,
		resource_name, resource_type, error_code, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	args := []any{ev.ID, ev.Time.UnixMicro(), ev.Name, ev.Service, ev.RW(), ev.Principal.UserName, ev.Principal.AccessKeyID,
		ev.Resource, ev.ResourceType, ev.ErrorCode, string(body)}
	if tx != nil {
		_, err = tx.ExecContext(ctx, q, args...)
	} else {
		_, err = s.db.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	return nil
}

// RecordEvent writes an event that no transaction of its request wrote (a
// refused or denied request, one that changed nothing), unless one did.
func (s *Store) RecordEvent(ctx context.Context, ev *audit.Event) error {
	if !ev.Claim() {
		return nil
	}
	if err := s.insertEvent(ctx, nil, ev); err != nil {
		ev.Unclaim()
		return err
	}
	return nil
}

// lookupColumns maps LookupAttribute keys to columns.
var lookupColumns = map[string]string{
	"EventName": "event_name", "User": "user_name", "ResourceName": "resource_name", "ResourceType": "resource_type",
	"EventRW": "rw", "EventAccessKeyId": "access_key_id", "ServiceName": "service", "EventId": "id",
}

// Events returns the events f selects, and the token of the next page
// ("" when there is none). A token is opaque; it names where the page
// ended (time and id), so pages stay stable while events are added.
func (s *Store) Events(ctx context.Context, f audit.Filter) ([]*audit.Event, string, error) {
	where := []string{"time_us >= ?", "time_us < ?"}
	args := []any{f.Start.UnixMicro(), f.End.UnixMicro()}
	for k, v := range f.Attributes {
		col, ok := lookupColumns[k]
		if !ok {
			return nil, "", fmt.Errorf("sqlstore: unknown lookup attribute %q", k)
		}
		where = append(where, col+" = ?")
		args = append(args, v)
	}
	cmp, order := "<", "DESC"
	if f.Forward {
		cmp, order = ">", "ASC"
	}
	if f.After != "" {
		t, id, ok := parseToken(f.After)
		if !ok {
			return nil, "", audit.ErrBadToken
		}
		where = append(where, "(time_us "+cmp+" ? OR (time_us = ? AND id "+cmp+" ?))")
		args = append(args, t, t, id)
	}
	limit := max(f.Limit, 1)
	q := `SELECT body, time_us FROM audit_events WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY time_us ` + order + `, id ` + order + ` LIMIT ` + strconv.Itoa(limit+1)
	type row struct {
		ev *audit.Event
		t  int64
	}
	rows, err := queryAll(ctx, s, s.db, func(r scanner) (row, error) {
		var body string
		var t int64
		if err := r.Scan(&body, &t); err != nil {
			return row{}, err
		}
		ev, err := audit.Unmarshal([]byte(body))
		return row{ev, t}, err
	}, q, args...)
	if err != nil {
		return nil, "", fmt.Errorf("read audit events: %w", err)
	}
	next := ""
	if len(rows) > limit {
		rows = rows[:limit]
		last := rows[len(rows)-1]
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(last.t, 10) + " " + last.ev.ID))
	}
	out := make([]*audit.Event, len(rows))
	for i, r := range rows {
		out[i] = r.ev
	}
	return out, next, nil
}

func parseToken(tok string) (int64, string, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, "", false
	}
	ts, id, ok := strings.Cut(string(raw), " ")
	t, err := strconv.ParseInt(ts, 10, 64)
	return t, id, ok && err == nil && id != ""
}

// PruneEvents removes the events older than before, and says how many.
func (s *Store) PruneEvents(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM audit_events WHERE time_us < ?`), before.UnixMicro())
	if err != nil {
		return 0, fmt.Errorf("prune audit events: %w", err)
	}
	return res.RowsAffected()
}
