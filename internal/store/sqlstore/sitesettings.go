package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

var _ sitesetting.Store = (*Store)(nil)

// ChangeSettings is the kind of edge change of a site's feature settings
// (ref: the site id): the edge reloads the site.
const ChangeSettings = "settings"

// settingsColumns are what the edge needs of a site's settings, read by
// scanSettings in this order; configColumns the whole Config (scanConfig).
const (
	settingsColumns = `paused, ipv6, ipv6_region, real_ip_header, real_ip_header_name`
	configColumns   = settingsColumns + `, real_ip_header_set, features`
)

func scanSettings(r scanner, more ...any) (sitesetting.Config, error) {
	var (
		c                     sitesetting.Config
		paused, ipv6, realHdr int
	)
	if err := r.Scan(append([]any{&paused, &ipv6, &c.IPv6Region, &realHdr, &c.RealClientIPHeaderName}, more...)...); err != nil {
		return sitesetting.Config{}, err
	}
	c.Paused, c.IPv6, c.RealClientIPHeader = paused != 0, ipv6 != 0, realHdr != 0
	return c, nil
}

func scanConfig(r scanner) (sitesetting.Config, error) {
	var (
		set      int
		features string
	)
	c, err := scanSettings(r, &set, &features)
	if err != nil {
		return sitesetting.Config{}, err
	}
	c.RealClientIPHeaderSet = set != 0
	var m map[string]string
	if err := json.Unmarshal([]byte(features), &m); err != nil {
		return sitesetting.Config{}, fmt.Errorf("features: %w", err)
	}
	for k, v := range m {
		c.SetFeature(k, v) // leaves Features nil when there are none
	}
	return c, nil
}

// writeSettings stores the site's Config, in tx.
func (s *Store) writeSettings(ctx context.Context, tx *sql.Tx, siteID int64, c sitesetting.Config) error {
	features, err := json.Marshal(c.Features)
	if err != nil {
		return fmt.Errorf("write settings of site %d: %w", siteID, err)
	}
	if c.Features == nil {
		features = []byte("{}")
	}
	_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO site_settings (site_id, `+configColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (site_id) DO UPDATE SET paused = excluded.paused, ipv6 = excluded.ipv6,
			ipv6_region = excluded.ipv6_region, real_ip_header = excluded.real_ip_header,
			real_ip_header_name = excluded.real_ip_header_name, real_ip_header_set = excluded.real_ip_header_set,
			features = excluded.features`),
		siteID, boolInt(c.Paused), boolInt(c.IPv6), c.IPv6Region, boolInt(c.RealClientIPHeader), c.RealClientIPHeaderName,
		boolInt(c.RealClientIPHeaderSet), string(features))
	if err != nil {
		return fmt.Errorf("write settings of site %d: %w", siteID, err)
	}
	return nil
}

// readSettings reads the site's Config in q: LegacyConfig when the site
// has none stored, ErrSiteNotFound when the site does not exist. lock
// locks the site's row until tx ends.
func (s *Store) readSettings(ctx context.Context, tx *sql.Tx, siteID int64, lock bool) (sitesetting.Config, error) {
	if lock {
		if err := s.lockSite(ctx, tx, siteID); err != nil {
			return sitesetting.Config{}, err
		}
	}
	c, err := scanConfig(tx.QueryRowContext(ctx, s.rebind(`SELECT `+configColumns+` FROM site_settings WHERE site_id = ?`), siteID))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return sitesetting.Config{}, fmt.Errorf("read settings of site %d: %w", siteID, err)
	}
	if !lock {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`), siteID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return sitesetting.Config{}, site.ErrSiteNotFound
		}
		if err != nil {
			return sitesetting.Config{}, fmt.Errorf("read site %d: %w", siteID, err)
		}
	}
	return sitesetting.LegacyConfig(), nil
}

// SiteConfig implements sitesetting.Store.
func (s *Store) SiteConfig(ctx context.Context, siteID int64) (sitesetting.Config, error) {
	var c sitesetting.Config
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = s.readSettings(ctx, tx, siteID, false)
		return err
	})
	return c, err
}

// UpdateSiteConfig implements sitesetting.Store.
func (s *Store) UpdateSiteConfig(ctx context.Context, siteID int64, update func(*sitesetting.Config) error) (sitesetting.Config, error) {
	var c sitesetting.Config
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if c, err = s.readSettings(ctx, tx, siteID, true); err != nil {
			return err
		}
		was := c.Edge()
		if err := update(&c); err != nil {
			return err
		}
		if err := s.writeSettings(ctx, tx, siteID, c); err != nil {
			return err
		}
		if c.Edge() == was {
			return nil // nothing for the edge to reload
		}
		return s.recordChange(ctx, tx, siteID, ChangeSettings, strconv.FormatInt(siteID, 10))
	})
	if err != nil {
		return sitesetting.Config{}, err
	}
	return c, nil
}

// UpdateSiteCoverage implements site.Store.
func (s *Store) UpdateSiteCoverage(ctx context.Context, id int64, coverage string, now time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`UPDATE sites SET coverage = ?, updated_us = ? WHERE id = ?`), coverage, micros(now), id)
		if err != nil {
			return fmt.Errorf("update coverage of site %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("update coverage of site %d: %w", id, err)
		} else if n == 0 {
			return site.ErrSiteNotFound
		}
		return s.recordChange(ctx, tx, id, ChangeSite, strconv.FormatInt(id, 10))
	})
}

// SiteTags implements sitesetting.Store.
func (s *Store) SiteTags(ctx context.Context, ids []int64) (map[int64][]domain.Tag, error) {
	out := map[int64][]domain.Tag{}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		cond, args := inList("site_id", ids)
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT site_id, tag_key, tag_value FROM site_tags WHERE `+cond+
			` ORDER BY site_id, tag_key`), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var t domain.Tag
			if err := rows.Scan(&id, &t.Key, &t.Value); err != nil {
				return err
			}
			out[id] = append(out[id], t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read site tags: %w", err)
	}
	return out, nil
}

// FindSiteTags implements sitesetting.Store: the filter and the page are
// applied in SQL, so that neither the tags of every site nor a list of
// their ids is ever held.
func (s *Store) FindSiteTags(ctx context.Context, filter []domain.Tag, page domain.Page) ([]sitesetting.SiteTag, int, error) {
	var (
		ors  []string
		args []any
	)
	for _, f := range filter {
		cond, a := tagMatch("site_tags", f)
		ors, args = append(ors, "("+cond+")"), append(args, a...)
	}
	where := ""
	if len(ors) > 0 {
		where = ` WHERE ` + strings.Join(ors, ` OR `)
	}
	var (
		out   []sitesetting.SiteTag
		total int
	)
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var err error
		if total, err = count(ctx, s, tx, `SELECT COUNT(*) FROM site_tags`+where, args...); err != nil || total <= page.Offset {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.rebind(`SELECT site_id, tag_key, tag_value FROM site_tags`+where+
			` ORDER BY site_id, tag_key LIMIT ? OFFSET ?`), append(args, limit(page), page.Offset)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var t sitesetting.SiteTag
			if err := rows.Scan(&t.SiteID, &t.Key, &t.Value); err != nil {
				return err
			}
			out = append(out, t)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, 0, fmt.Errorf("find site tags: %w", err)
	}
	return out, total, nil
}

// tagMatch is the condition that a row of site_tags (as alias) matches
// the filter tag f: its key, and its value unless f has none.
func tagMatch(alias string, f domain.Tag) (string, []any) {
	if f.Value == "" {
		return alias + `.tag_key = ?`, []any{f.Key}
	}
	return alias + `.tag_key = ? AND ` + alias + `.tag_value = ?`, []any{f.Key, f.Value}
}

// TagSites implements sitesetting.Store. The sites are locked in id
// order, so that two taggings of the same sites never wait on each other
// in a cycle.
func (s *Store) TagSites(ctx context.Context, siteIDs []int64, tags []domain.Tag, max int) error {
	ids := sortedIDs(siteIDs)
	if len(ids) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if err := s.lockSite(ctx, tx, id); err != nil {
				return err
			}
		}
		for _, id := range ids {
			for _, t := range tags {
				if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO site_tags (site_id, tag_key, tag_value) VALUES (?, ?, ?)
					ON CONFLICT (site_id, tag_key) DO UPDATE SET tag_value = excluded.tag_value`), id, t.Key, t.Value); err != nil {
					return fmt.Errorf("write tag of site %d: %w", id, err)
				}
			}
		}
		if max <= 0 {
			return nil
		}
		cond, args := inList("site_id", ids)
		n, err := count(ctx, s, tx, `SELECT COUNT(*) FROM (SELECT site_id FROM site_tags WHERE `+cond+
			` GROUP BY site_id HAVING COUNT(*) > ?) over_limit`, append(args, max)...)
		if err != nil {
			return fmt.Errorf("count tags of sites: %w", err)
		}
		if n > 0 {
			return domain.ErrTagLimit // rolls back every site's tags
		}
		return nil
	})
}

// UntagSites implements sitesetting.Store, locking the sites as TagSites
// does.
func (s *Store) UntagSites(ctx context.Context, siteIDs []int64, keys []string, all bool) error {
	ids := sortedIDs(siteIDs)
	if len(ids) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		for _, id := range ids {
			if err := s.lockSite(ctx, tx, id); err != nil {
				return err
			}
		}
		if !all && len(keys) == 0 {
			return nil
		}
		cond, args := inList("site_id", ids)
		q := `DELETE FROM site_tags WHERE ` + cond
		if !all {
			q += ` AND tag_key IN (?` + strings.Repeat(`, ?`, len(keys)-1) + `)`
			for _, k := range keys {
				args = append(args, k)
			}
		}
		if _, err := tx.ExecContext(ctx, s.rebind(q), args...); err != nil {
			return fmt.Errorf("delete tags of sites: %w", err)
		}
		return nil
	})
}

// sortedIDs returns the distinct ids in ascending order, in a new slice.
func sortedIDs(ids []int64) []int64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// settingsOf reads the feature settings the edge needs of the sites in
// tx (all for nil); sites without a row are left out (they read as
// LegacyConfig).
func (s *Store) settingsOf(ctx context.Context, tx *sql.Tx, ids []int64) (map[int64]sitesetting.Settings, error) {
	cond, args := inList("site_id", ids)
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT site_id, `+settingsColumns+` FROM site_settings WHERE `+cond), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]sitesetting.Settings{}
	for rows.Next() {
		var id int64
		c, err := scanSettings(scanFunc(func(dest ...any) error { return rows.Scan(append([]any{&id}, dest...)...) }))
		if err != nil {
			return nil, err
		}
		out[id] = c.Edge()
	}
	return out, rows.Err()
}

// scanFunc adapts a function to scanner.
type scanFunc func(dest ...any) error

func (f scanFunc) Scan(dest ...any) error { return f(dest...) }
