package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
)

var _ httpsconf.Store = (*Store)(nil)

const httpsColumns = `config_id, site_id, family, config_type, rule, rule_name, rule_enable, seq, site_version, settings`

// httpsOrder lists a site's configurations in the order they apply: the
// global one first, then by Sequence and ConfigId.
const httpsOrder = ` ORDER BY CASE WHEN config_type = 'global' THEN 0 ELSE 1 END, seq, config_id`

func scanHTTPS(r scanner) (httpsconf.HTTPSConfig, error) {
	var (
		c        httpsconf.HTTPSConfig
		settings string
	)
	err := r.Scan(&c.ConfigID, &c.SiteID, &c.Family, &c.ConfigType, &c.Rule, &c.RuleName, &c.RuleEnable,
		&c.Sequence, &c.SiteVersion, &settings)
	if err != nil {
		return httpsconf.HTTPSConfig{}, err
	}
	c.Settings = map[string]string{}
	if err := json.Unmarshal([]byte(settings), &c.Settings); err != nil {
		return httpsconf.HTTPSConfig{}, fmt.Errorf("configuration %d: settings: %w", c.ConfigID, err)
	}
	return c, nil
}

// settingsJSON encodes the settings that are set (empty values are left out).
func settingsJSON(m map[string]string) (string, error) {
	set := make(map[string]string, len(m))
	for k, v := range m {
		if v != "" {
			set[k] = v
		}
	}
	b, err := json.Marshal(set) // keys sorted: the same settings give the same text
	return string(b), err
}

// CreateHTTPSConfig implements httpsconf.Store.
func (s *Store) CreateHTTPSConfig(ctx context.Context, c httpsconf.HTTPSConfig) error {
	settings, err := settingsJSON(c.Settings)
	if err != nil {
		return fmt.Errorf("encode settings: %w", err)
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`+s.forUpdate), c.SiteID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return site.ErrSiteNotFound
		}
		if err != nil {
			return fmt.Errorf("lock site %d: %w", c.SiteID, err)
		}
		// The site row is locked, so this check holds until commit; the
		// unique index https_configs_one_global backs it.
		if c.ConfigType == httpsconf.ConfigGlobal {
			var n int
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM https_configs
				WHERE site_id = ? AND family = ? AND config_type = 'global'`), c.SiteID, c.Family).Scan(&n); err != nil {
				return fmt.Errorf("check global configuration: %w", err)
			} else if n > 0 {
				return httpsconf.ErrGlobalConfigExists
			}
		}
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO https_configs (`+httpsColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ConfigID, c.SiteID, c.Family, c.ConfigType, c.Rule, c.RuleName, c.RuleEnable, c.Sequence, c.SiteVersion, settings)
		switch v := violation(err); {
		case v == "pkey":
			return domain.ErrExists
		case v != "":
			return httpsconf.ErrGlobalConfigExists
		}
		if err != nil {
			return fmt.Errorf("insert configuration: %w", err)
		}
		return s.recordChange(ctx, tx, c.SiteID, ChangeHTTPS, strconv.FormatInt(c.ConfigID, 10))
	})
}

// HTTPSConfig implements httpsconf.Store.
func (s *Store) HTTPSConfig(ctx context.Context, family string, siteID, id int64) (httpsconf.HTTPSConfig, error) {
	return queryOne(ctx, s, scanHTTPS, httpsconf.ErrConfigNotFound, "read configuration", id,
		`SELECT `+httpsColumns+` FROM https_configs
		WHERE config_id = ? AND site_id = ? AND family = ?`, id, siteID, family)
}

// ListHTTPSConfigs implements httpsconf.Store.
func (s *Store) ListHTTPSConfigs(ctx context.Context, f httpsconf.HTTPSFilter) ([]httpsconf.HTTPSConfig, int, error) {
	cond := ` WHERE site_id = ? AND family = ? AND site_version = ?`
	args := []any{f.SiteID, f.Family, f.SiteVersion}
	if f.ConfigID != 0 {
		cond += ` AND config_id = ?`
		args = append(args, f.ConfigID)
	}
	if f.ConfigType != "" {
		cond += ` AND config_type = ?`
		args = append(args, f.ConfigType)
	}
	if f.RuleName != "" {
		cond += ` AND rule_name = ?`
		args = append(args, f.RuleName)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM https_configs`+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count configurations: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := s.queryHTTPS(ctx, `SELECT `+httpsColumns+` FROM https_configs`+cond+httpsOrder+` LIMIT ? OFFSET ?`,
		append(args, limit(f.Page), f.Page.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	return list, total, nil
}

func (s *Store) queryHTTPS(ctx context.Context, q string, args ...any) ([]httpsconf.HTTPSConfig, error) {
	list, err := queryAll(ctx, s, s.db, scanHTTPS, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list configurations: %w", err)
	}
	return list, nil
}

// UpdateHTTPSConfig implements httpsconf.Store.
func (s *Store) UpdateHTTPSConfig(ctx context.Context, family string, siteID, id int64, update func(*httpsconf.HTTPSConfig) error) (httpsconf.HTTPSConfig, error) {
	var out httpsconf.HTTPSConfig
	err := s.tx(ctx, func(tx *sql.Tx) error {
		c, err := scanHTTPS(tx.QueryRowContext(ctx, s.rebind(`SELECT `+httpsColumns+` FROM https_configs
			WHERE config_id = ? AND site_id = ? AND family = ?`+s.forUpdate), id, siteID, family))
		if errors.Is(err, sql.ErrNoRows) {
			return httpsconf.ErrConfigNotFound
		}
		if err != nil {
			return fmt.Errorf("read configuration %d: %w", id, err)
		}
		changed := c
		changed.Settings = make(map[string]string, len(c.Settings))
		for k, v := range c.Settings {
			changed.Settings[k] = v
		}
		if err := update(&changed); err != nil {
			return err
		}
		// Only the mutable fields are written.
		c.Rule, c.RuleName, c.RuleEnable, c.Sequence = changed.Rule, changed.RuleName, changed.RuleEnable, changed.Sequence
		c.Settings = map[string]string{}
		for k, v := range changed.Settings {
			if v != "" {
				c.Settings[k] = v
			}
		}
		settings, err := settingsJSON(c.Settings)
		if err != nil {
			return fmt.Errorf("encode settings: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE https_configs SET rule = ?, rule_name = ?, rule_enable = ?,
			seq = ?, settings = ? WHERE config_id = ?`), c.Rule, c.RuleName, c.RuleEnable, c.Sequence, settings, id); err != nil {
			return fmt.Errorf("update configuration %d: %w", id, err)
		}
		out = c
		return s.recordChange(ctx, tx, siteID, ChangeHTTPS, strconv.FormatInt(id, 10))
	})
	if err != nil {
		return httpsconf.HTTPSConfig{}, err
	}
	return out, nil
}

// DeleteHTTPSConfig implements httpsconf.Store.
func (s *Store) DeleteHTTPSConfig(ctx context.Context, family string, siteID, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM https_configs WHERE config_id = ? AND site_id = ? AND family = ?`),
			id, siteID, family)
		if err != nil {
			return fmt.Errorf("delete configuration %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete configuration %d: %w", id, err)
		} else if n == 0 {
			return httpsconf.ErrConfigNotFound
		}
		return s.recordChange(ctx, tx, siteID, ChangeHTTPS, strconv.FormatInt(id, 10))
	})
}

// HTTPSConfigsOfSite returns every HTTPS configuration of a site, of each
// family, in the order they apply (the global one first, then by Sequence
// and ConfigId). A site without configurations, or no site, has none.
func (s *Store) HTTPSConfigsOfSite(ctx context.Context, siteID int64) ([]httpsconf.HTTPSBasic, []httpsconf.HTTPSApplication, error) {
	list, err := s.queryHTTPS(ctx, `SELECT `+httpsColumns+` FROM https_configs WHERE site_id = ?`+httpsOrder, siteID)
	if err != nil {
		return nil, nil, fmt.Errorf("configurations of site %d: %w", siteID, err)
	}
	var (
		basics []httpsconf.HTTPSBasic
		apps   []httpsconf.HTTPSApplication
	)
	for _, c := range list {
		switch c.Family {
		case httpsconf.FamilyHTTPSBasic:
			basics = append(basics, c.Basic())
		case httpsconf.FamilyHTTPSApplication:
			apps = append(apps, c.Application())
		}
	}
	return basics, apps, nil
}

// AllHTTPSConfigs returns the HTTPS configurations of every site, by site
// id, each site's in the order they apply. Sites without configurations
// are absent from the maps.
func (s *Store) AllHTTPSConfigs(ctx context.Context) (map[int64][]httpsconf.HTTPSBasic, map[int64][]httpsconf.HTTPSApplication, error) {
	list, err := s.queryHTTPS(ctx, `SELECT `+httpsColumns+` FROM https_configs ORDER BY site_id, `+
		`CASE WHEN config_type = 'global' THEN 0 ELSE 1 END, seq, config_id`)
	if err != nil {
		return nil, nil, fmt.Errorf("all configurations: %w", err)
	}
	basics := map[int64][]httpsconf.HTTPSBasic{}
	apps := map[int64][]httpsconf.HTTPSApplication{}
	for _, c := range list {
		switch c.Family {
		case httpsconf.FamilyHTTPSBasic:
			basics[c.SiteID] = append(basics[c.SiteID], c.Basic())
		case httpsconf.FamilyHTTPSApplication:
			apps[c.SiteID] = append(apps[c.SiteID], c.Application())
		}
	}
	return basics, apps, nil
}
