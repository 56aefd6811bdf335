package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

var _ site.Store = (*Store)(nil)

// siteColumns are read by scanSite, in this order, from sites s joined with
// plan_instances i.
const siteColumns = `s.id, s.name, s.access_type, s.coverage, s.status, s.instance_id,
	s.resource_group_id, s.verify_code, s.created_us, s.updated_us, i.plan_name`

const siteFrom = ` FROM sites s JOIN plan_instances i ON i.id = s.instance_id`

type scanner interface{ Scan(dest ...any) error }

// queryer runs a query: the database or a transaction.
type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// queryOne runs q (with ? placeholders) and returns its one row as scan
// reads it: notFound when there is none; other errors name the read (what
// and id, formatted only then).
func queryOne[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), notFound error, what string, id any,
	q string, args ...any) (T, error) {
	v, err := scan(s.db.QueryRowContext(ctx, s.rebind(q), args...))
	if err != nil {
		var zero T
		if errors.Is(err, sql.ErrNoRows) {
			return zero, notFound
		}
		return zero, fmt.Errorf("%s %v: %w", what, id, err)
	}
	return v, nil
}

// queryAll runs q (with ? placeholders) on db and returns every row as scan
// reads it.
func queryAll[T any](ctx context.Context, s *Store, db queryer, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, s.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanSite(r scanner) (site.Site, error) {
	var (
		s                site.Site
		created, updated int64
		plan             string
	)
	err := r.Scan(&s.ID, &s.Name, &s.AccessType, &s.Coverage, &s.Status, &s.InstanceID,
		&s.ResourceGroupID, &s.VerifyCode, &created, &updated, &plan)
	if err != nil {
		return site.Site{}, err
	}
	s.Created, s.Updated = fromMicros(created), fromMicros(updated)
	p, ok := site.LookupPlan(plan)
	if !ok {
		return site.Site{}, fmt.Errorf("site %d: instance has unknown plan %q", s.ID, plan)
	}
	s.Plan = p
	return s, nil
}

// CreateSite implements site.Store.
func (s *Store) CreateSite(ctx context.Context, st site.Site) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return s.insertSite(ctx, tx, st) })
}

// insertSite checks the instance and its quota and inserts site, in tx.
func (s *Store) insertSite(ctx context.Context, tx *sql.Tx, st site.Site) error {
	var quota int
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT site_quota FROM plan_instances WHERE id = ?`+s.forUpdate),
		st.InstanceID).Scan(&quota)
	if errors.Is(err, sql.ErrNoRows) {
		return site.ErrInstanceNotFound
	}
	if err != nil {
		return fmt.Errorf("read plan instance %s: %w", st.InstanceID, err)
	}
	if quota > 0 {
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM sites WHERE instance_id = ?`),
			st.InstanceID).Scan(&n); err != nil {
			return fmt.Errorf("count sites of %s: %w", st.InstanceID, err)
		}
		if n >= quota {
			return site.ErrSiteQuota
		}
	}
	_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO sites (id, name, access_type, coverage, status,
		instance_id, resource_group_id, verify_code, created_us, updated_us)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		st.ID, st.Name, st.AccessType, st.Coverage, st.Status, st.InstanceID,
		st.ResourceGroupID, st.VerifyCode, micros(st.Created), micros(st.Updated))
	switch v := violation(err); {
	case v == "":
	case v == "pkey":
		return domain.ErrExists
	case strings.Contains(v, "name"):
		return site.ErrSiteExists
	default:
		return fmt.Errorf("insert site %s: %w", st.Name, domain.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("insert site %s: %w", st.Name, err)
	}
	if err := s.writeSettings(ctx, tx, st.ID, sitesetting.NewSiteConfig()); err != nil {
		return err
	}
	return s.recordChange(ctx, tx, st.ID, ChangeSite, strconv.FormatInt(st.ID, 10))
}

// Site implements site.Store.
func (s *Store) Site(ctx context.Context, id int64) (site.Site, error) {
	return queryOne(ctx, s, scanSite, site.ErrSiteNotFound, "read site", id,
		`SELECT `+siteColumns+siteFrom+` WHERE s.id = ?`, id)
}

// ListSites implements site.Store.
func (s *Store) ListSites(ctx context.Context, f site.SiteFilter) ([]site.Site, int, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.Name != "" {
		switch f.NameMatch {
		case domain.MatchPrefix:
			add(`s.name LIKE ? ESCAPE '\'`, like(f.Name)+"%")
		case domain.MatchSuffix:
			add(`s.name LIKE ? ESCAPE '\'`, "%"+like(f.Name))
		case domain.MatchFuzzy:
			add(`s.name LIKE ? ESCAPE '\'`, "%"+like(f.Name)+"%")
		default:
			add(`s.name = ?`, f.Name)
		}
	}
	for _, t := range f.Tags {
		cond, a := tagMatch("t", t)
		add(`EXISTS (SELECT 1 FROM site_tags t WHERE t.site_id = s.id AND `+cond+`)`, a...)
	}
	if f.Status != "" {
		add(`s.status = ?`, f.Status)
	}
	if f.AccessType != "" {
		add(`s.access_type = ?`, f.AccessType)
	}
	if f.Coverage != "" {
		add(`s.coverage = ?`, f.Coverage)
	}
	if f.ResourceGroupID != "" {
		add(`s.resource_group_id = ?`, f.ResourceGroupID)
	}
	if f.SubscribeType != "" || f.OnlyEnterprise {
		var names []any
		for _, n := range site.PlanNames() {
			p, _ := site.LookupPlan(n)
			if (f.SubscribeType == "" || p.SubscribeType == f.SubscribeType) &&
				(!f.OnlyEnterprise || p.Tier == site.TierEnterprise) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, 0, nil
		}
		add(`i.plan_name IN (?`+strings.Repeat(`, ?`, len(names)-1)+`)`, names...)
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*)`+siteFrom+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count sites: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	q := `SELECT ` + siteColumns + siteFrom + cond + ` ORDER BY s.created_us DESC, s.id DESC LIMIT ? OFFSET ?`
	sites, err := queryAll(ctx, s, s.db, scanSite, q, append(args, limit(f.Page), f.Page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list sites: %w", err)
	}
	return sites, total, nil
}

// limit is the LIMIT for a page; no limit set means all rows.
func limit(p domain.Page) int {
	if p.Limit <= 0 {
		return 1 << 30
	}
	return p.Limit
}

// ActivateSite implements site.Store.
func (s *Store) ActivateSite(ctx context.Context, id int64, now time.Time) (bool, error) {
	changed := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE sites SET status = ?, updated_us = ? WHERE id = ? AND status = ?`),
			site.SiteActive, micros(now), id, site.SitePending)
		if err != nil {
			return fmt.Errorf("activate site %d: %w", id, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("activate site %d: %w", id, err)
		}
		if n == 1 {
			changed = true
			return s.recordChange(ctx, tx, id, ChangeSite, strconv.FormatInt(id, 10))
		}
		var one int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`), id).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return site.ErrSiteNotFound
		} else if err != nil {
			return err
		}
		return nil // not pending: nothing to do
	})
	return changed, err
}

// DeleteSite implements site.Store.
func (s *Store) DeleteSite(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM sites WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("delete site %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete site %d: %w", id, err)
		} else if n == 0 {
			return site.ErrSiteNotFound
		}
		return s.recordChange(ctx, tx, id, ChangeSite, strconv.FormatInt(id, 10))
	})
}

// scanMore scans a row into the destinations the caller gives, then into
// more: the columns a query selects after the ones a scan function knows.
type scanMore struct {
	r    scanner
	more []any
}

func (m scanMore) Scan(dest ...any) error { return m.r.Scan(append(dest, m.more...)...) }

// ClaimPendingSites implements site.Store. Each site is claimed by moving
// its next check on only where it still is what was read, so of two nodes
// that read the same site only one gets it.
func (s *Store) ClaimPendingSites(ctx context.Context, now time.Time, n int, next func(failures int) time.Time) ([]site.Site, error) {
	type due struct {
		st       site.Site
		nextUs   int64
		failures int
	}
	list, err := queryAll(ctx, s, s.db, func(r scanner) (d due, err error) {
		d.st, err = scanSite(scanMore{r, []any{&d.nextUs, &d.failures}})
		return d, err
	}, `SELECT `+siteColumns+`, s.verify_next_us, s.verify_failures`+siteFrom+
		` WHERE s.status = ? AND s.verify_next_us <= ? ORDER BY s.verify_next_us, s.id LIMIT ?`,
		site.SitePending, micros(now), n)
	if err != nil {
		return nil, fmt.Errorf("list pending sites: %w", err)
	}
	var out []site.Site
	for _, d := range list {
		res, err := s.db.ExecContext(ctx, s.rebind(`UPDATE sites SET verify_next_us = ?, verify_failures = ?
			WHERE id = ? AND status = ? AND verify_next_us = ? AND verify_failures = ?`),
			micros(next(d.failures+1)), d.failures+1, d.st.ID, site.SitePending, d.nextUs, d.failures)
		if err != nil {
			return out, fmt.Errorf("claim pending site %d: %w", d.st.ID, err)
		}
		if n, err := res.RowsAffected(); err == nil && n == 1 {
			out = append(out, d.st)
		}
	}
	return out, nil
}
