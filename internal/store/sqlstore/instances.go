package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

const instanceColumns = `id, order_id, plan_name, coverage, billing, auto_renew, period, site_quota,
	status, is_default, created_us, expires_us`

func scanInstance(r scanner) (site.Instance, error) {
	var (
		in               site.Instance
		plan             string
		autoRenew, deflt int
		created, expires int64
	)
	err := r.Scan(&in.ID, &in.OrderID, &plan, &in.Coverage, &in.BillingMode, &autoRenew, &in.Period,
		&in.SiteQuota, &in.Status, &deflt, &created, &expires)
	if err != nil {
		return site.Instance{}, err
	}
	p, ok := site.LookupPlan(plan)
	if !ok {
		return site.Instance{}, fmt.Errorf("instance %s has unknown plan %q", in.ID, plan)
	}
	in.Plan = p
	in.AutoRenew, in.Default = autoRenew != 0, deflt != 0
	in.Created, in.Expires = fromMicros(created), fromMicros(expires)
	return in, nil
}

// CreateInstance implements site.Store.
func (s *Store) CreateInstance(ctx context.Context, in site.Instance, st *site.Site) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO plan_instances (`+instanceColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			in.ID, in.OrderID, in.Plan.Name, in.Coverage, in.BillingMode, boolInt(in.AutoRenew), in.Period,
			in.SiteQuota, in.Status, boolInt(in.Default), micros(in.Created), micros(in.Expires))
		if violation(err) != "" {
			return domain.ErrExists
		}
		if err != nil {
			return fmt.Errorf("insert plan instance %s: %w", in.ID, err)
		}
		if st == nil {
			return nil
		}
		st.InstanceID = in.ID
		return s.insertSite(ctx, tx, *st)
	})
}

// ChangeInstancePlan implements site.Store. The plan is part of every
// site's limits, read when a certificate is written, so nothing else moves.
func (s *Store) ChangeInstancePlan(ctx context.Context, from string, in site.Instance) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE plan_instances SET plan_name = ?, site_quota = ?, billing = ?,
			order_id = ? WHERE id = ? AND plan_name = ?`), in.Plan.Name, in.SiteQuota, in.BillingMode, in.OrderID, in.ID, from)
		if err != nil {
			return fmt.Errorf("change the plan of instance %s: %w", in.ID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var one int
		err = tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM plan_instances WHERE id = ?`), in.ID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return site.ErrInstanceNotFound
		}
		if err != nil {
			return err
		}
		return domain.ErrConflict
	})
}

// Instance implements site.Store.
func (s *Store) Instance(ctx context.Context, id string) (site.Instance, error) {
	return queryOne(ctx, s, scanInstance, site.ErrInstanceNotFound, "read plan instance", id,
		`SELECT `+instanceColumns+` FROM plan_instances WHERE id = ?`, id)
}

// ListInstances implements site.Store.
func (s *Store) ListInstances(ctx context.Context, f site.InstanceFilter) ([]site.Instance, int, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	if f.ID != "" {
		add(`id = ?`, f.ID)
	}
	if f.Status != "" {
		add(`status = ?`, f.Status)
	}
	if f.SubscribeType != "" || f.PlanType != "" || f.PlanName != "" {
		var names []any
		for _, n := range site.PlanNames() {
			p, _ := site.LookupPlan(n)
			enterprise := p.Tier == site.TierEnterprise
			if (f.SubscribeType == "" || p.SubscribeType == f.SubscribeType) &&
				(f.PlanType == "" || (f.PlanType == "enterprise") == enterprise) &&
				(f.PlanName == "" || p.Name == f.PlanName || p.Code == f.PlanName) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			return nil, 0, nil
		}
		add(`plan_name IN (?`+strings.Repeat(`, ?`, len(names)-1)+`)`, names...)
	}
	if f.WithRoomOnly {
		add(`(site_quota = 0 OR site_quota > (SELECT COUNT(*) FROM sites WHERE sites.instance_id = plan_instances.id))`)
	}
	if !f.ExpiresBefore.IsZero() {
		add(`expires_us > 0 AND expires_us <= ?`, micros(f.ExpiresBefore))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM plan_instances`+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count plan instances: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	order := "created_us"
	if f.SortByExpiry {
		order = "expires_us"
	}
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	q := `SELECT ` + instanceColumns + ` FROM plan_instances` + cond +
		` ORDER BY ` + order + dir + `, id` + dir + ` LIMIT ? OFFSET ?`
	list, err := queryAll(ctx, s, s.db, scanInstance, q, append(args, limit(f.Page), f.Page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list plan instances: %w", err)
	}
	index := map[string]int{}
	for i, in := range list {
		index[in.ID] = i
	}
	if len(list) == 0 { // rows went away between the count and the select
		return nil, total, nil
	}
	ids := make([]any, 0, len(list))
	for _, in := range list {
		ids = append(ids, in.ID)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT instance_id, id, name, status FROM sites
		WHERE instance_id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`) ORDER BY created_us, id`), ids...)
	if err != nil {
		return nil, 0, fmt.Errorf("list sites of plan instances: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			inst string
			ref  site.SiteRef
		)
		if err := rows.Scan(&inst, &ref.ID, &ref.Name, &ref.Status); err != nil {
			return nil, 0, fmt.Errorf("list sites of plan instances: %w", err)
		}
		i := index[inst]
		list[i].Sites = append(list[i].Sites, ref)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list sites of plan instances: %w", err)
	}
	return list, total, nil
}

// DeleteInstance implements site.Store. The delete and the check for sites
// are one statement, so a site created meanwhile either blocks it or fails
// on the foreign key.
func (s *Store) DeleteInstance(ctx context.Context, id string, r site.Refund) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM plan_instances WHERE id = ?
			AND NOT EXISTS (SELECT 1 FROM sites WHERE instance_id = ?)`), id, id)
		if err != nil {
			return fmt.Errorf("delete plan instance %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			return s.keepRefund(ctx, tx, id, r)
		}
		var one int
		err = tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM plan_instances WHERE id = ?`), id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return site.ErrInstanceNotFound
		}
		if err != nil {
			return fmt.Errorf("read plan instance %s: %w", id, err)
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT name FROM sites WHERE instance_id = ? ORDER BY name`), id)
		if err != nil {
			return fmt.Errorf("list the sites of plan instance %s: %w", id, err)
		}
		defer rows.Close()
		var names []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				return fmt.Errorf("list the sites of plan instance %s: %w", id, err)
			}
			names = append(names, name)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list the sites of plan instance %s: %w", id, err)
		}
		return fmt.Errorf("%w: %s", site.ErrInstanceInUse, strings.Join(names, ", "))
	})
}

// keepRefund records the refund of instance id, and forgets the refunds
// older than site.RefundMemory.
func (s *Store) keepRefund(ctx context.Context, tx *sql.Tx, id string, r site.Refund) error {
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM instance_refunds WHERE instance_id = ? OR refunded_us < ?`),
		id, micros(r.At.Add(-site.RefundMemory))); err != nil {
		return fmt.Errorf("forget old refunds: %w", err)
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO instance_refunds (instance_id, client_token, order_id, refunded_us)
		VALUES (?, ?, ?, ?)`), id, r.ClientToken, r.OrderID, micros(r.At)); err != nil {
		return fmt.Errorf("keep the refund of plan instance %s: %w", id, err)
	}
	return nil
}

// InstanceRefund implements site.Store.
func (s *Store) InstanceRefund(ctx context.Context, id string) (site.Refund, error) {
	return queryOne(ctx, s, func(r scanner) (site.Refund, error) {
		var out site.Refund
		var at int64
		err := r.Scan(&out.ClientToken, &out.OrderID, &at)
		out.At = fromMicros(at)
		return out, err
	}, site.ErrInstanceNotFound, "refund of plan instance", id,
		`SELECT client_token, order_id, refunded_us FROM instance_refunds WHERE instance_id = ?`, id)
}
