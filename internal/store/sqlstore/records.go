package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
)

var _ record.Store = (*Store)(nil)

// recordColumns are read by scanRecord, in this order, from records r
// joined with sites s and, when the record has sealed secrets, record_secrets k.
const recordColumns = `r.id, r.site_id, s.name, r.name, r.type, r.proxied, r.ttl, r.data, r.biz_name, r.comment,
	r.source_type, r.host_policy, r.auth_type, r.auth_access_key, r.auth_secret_key, r.auth_region, r.auth_version,
	r.created_us, r.updated_us, k.sealed_key`

const recordFrom = ` FROM records r JOIN sites s ON s.id = r.site_id LEFT JOIN record_secrets k ON k.id = r.id`

// recordOrder is the order of every record list: name, then age, then id.
const recordOrder = ` ORDER BY r.name, r.created_us, r.id`

// recordData is how the data column holds a record's Data.
type recordData struct {
	Value        string `json:"value,omitempty"`
	Priority     int    `json:"priority,omitempty"`
	Weight       int    `json:"weight,omitempty"`
	Port         int    `json:"port,omitempty"`
	Flag         int    `json:"flag,omitempty"`
	Tag          string `json:"tag,omitempty"`
	Type         int    `json:"type,omitempty"`
	Algorithm    int    `json:"algorithm,omitempty"`
	KeyTag       int    `json:"key_tag,omitempty"`
	Certificate  string `json:"certificate,omitempty"`
	Fingerprint  string `json:"fingerprint,omitempty"`
	Usage        int    `json:"usage,omitempty"`
	Selector     int    `json:"selector,omitempty"`
	MatchingType int    `json:"matching_type,omitempty"`
}

// encodeData renders d for the data column: the same Data always gives the
// same text, so equal texts mean equal Data.
func encodeData(d record.RecordData) (string, error) {
	b, err := json.Marshal(recordData(d))
	if err != nil {
		return "", fmt.Errorf("encode record data: %w", err)
	}
	return string(b), nil
}

func scanRecord(sc scanner) (record.Record, error) {
	var (
		r                record.Record
		proxied          int
		data             string
		created, updated int64
	)
	a := &r.AuthConf
	err := sc.Scan(&r.ID, &r.SiteID, &r.SiteName, &r.Name, &r.Type, &proxied, &r.Ttl, &data, &r.BizName, &r.Comment,
		&r.SourceType, &r.HostPolicy, &a.AuthType, &a.AccessKey, &a.SecretKey, &a.Region, &a.Version,
		&created, &updated, &r.SealedSecrets)
	if err != nil {
		return record.Record{}, err
	}
	var d recordData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		return record.Record{}, fmt.Errorf("record %d: decode data: %w", r.ID, err)
	}
	r.Data = record.RecordData(d)
	r.Proxied = proxied != 0
	r.Created, r.Updated = fromMicros(created), fromMicros(updated)
	if len(r.SealedSecrets) == 0 {
		r.SealedSecrets = nil
	}
	return r, nil
}

// lockSite locks the site's row until tx ends, so that the conflict checks
// of concurrent record writes on one site see each other; a missing site is
// ErrSiteNotFound.
func (s *Store) lockSite(ctx context.Context, tx *sql.Tx, siteID int64) error {
	var one int
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`+s.forUpdate), siteID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return site.ErrSiteNotFound
	}
	if err != nil {
		return fmt.Errorf("lock site %d: %w", siteID, err)
	}
	return nil
}

// checkRecordConflicts returns ErrRecordDuplicate or ErrRecordTypeConflict
// when another record of the site (not r.ID) clashes with r.
func (s *Store) checkRecordConflicts(ctx context.Context, tx *sql.Tx, r record.Record, data string) error {
	var n int
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM records
		WHERE site_id = ? AND name = ? AND type = ? AND data = ? AND id <> ?`),
		r.SiteID, r.Name, r.Type, data, r.ID).Scan(&n); err != nil {
		return fmt.Errorf("check record duplicates: %w", err)
	}
	if n > 0 {
		return record.ErrRecordDuplicate
	}
	types := record.ConflictingTypes(r.Type)
	if len(types) == 0 {
		return nil
	}
	args := []any{r.SiteID, r.Name, r.ID}
	for _, t := range types {
		args = append(args, t)
	}
	if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM records WHERE site_id = ? AND name = ? AND id <> ?
		AND type IN (?`+strings.Repeat(`, ?`, len(types)-1)+`)`), args...).Scan(&n); err != nil {
		return fmt.Errorf("check record types: %w", err)
	}
	if n > 0 {
		return record.ErrRecordTypeConflict
	}
	return nil
}

// writeSecrets replaces the sealed secrets of record id with sealed (none
// when it is empty), in tx.
func (s *Store) writeSecrets(ctx context.Context, tx *sql.Tx, id int64, sealed []byte) error {
	if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM record_secrets WHERE id = ?`), id); err != nil {
		return fmt.Errorf("delete record secrets: %w", err)
	}
	if len(sealed) == 0 {
		return nil
	}
	if err := s.checkMasterKey(ctx, tx); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO record_secrets (id, sealed_key) VALUES (?, ?)`), id, sealed); err != nil {
		return fmt.Errorf("insert record secrets: %w", err)
	}
	return nil
}

// CreateRecord implements record.Store.
func (s *Store) CreateRecord(ctx context.Context, r record.Record) error {
	data, err := encodeData(r.Data)
	if err != nil {
		return err
	}
	a := r.AuthConf
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSite(ctx, tx, r.SiteID); err != nil {
			return err
		}
		if err := s.checkRecordConflicts(ctx, tx, r, data); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO records (id, site_id, name, type, proxied, ttl, data,
			biz_name, comment, source_type, host_policy, auth_type, auth_access_key, auth_secret_key, auth_region,
			auth_version, created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			r.ID, r.SiteID, r.Name, r.Type, boolInt(r.Proxied), r.Ttl, data, r.BizName, r.Comment, r.SourceType,
			r.HostPolicy, a.AuthType, a.AccessKey, a.SecretKey, a.Region, a.Version, micros(r.Created), micros(r.Updated))
		if violation(err) != "" {
			return domain.ErrExists
		}
		if err != nil {
			return fmt.Errorf("insert record: %w", err)
		}
		if err := s.writeSecrets(ctx, tx, r.ID, r.SealedSecrets); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, r.SiteID, ChangeRecord, strconv.FormatInt(r.ID, 10))
	})
}

// Record implements record.Store.
func (s *Store) Record(ctx context.Context, id int64) (record.Record, error) {
	return queryOne(ctx, s, scanRecord, record.ErrRecordNotFound, "read record", id,
		`SELECT `+recordColumns+recordFrom+` WHERE r.id = ?`, id)
}

// ListRecords implements record.Store.
func (s *Store) ListRecords(ctx context.Context, f record.RecordFilter) ([]record.Record, int, error) {
	cond := ` WHERE r.site_id = ?`
	args := []any{f.SiteID}
	add := func(c string, a ...any) {
		cond += ` AND ` + c
		args = append(args, a...)
	}
	if f.Name != "" {
		switch f.NameMatch {
		case domain.MatchPrefix:
			add(`r.name LIKE ? ESCAPE '\'`, like(f.Name)+"%")
		case domain.MatchSuffix:
			add(`r.name LIKE ? ESCAPE '\'`, "%"+like(f.Name))
		case domain.MatchFuzzy:
			add(`r.name LIKE ? ESCAPE '\'`, "%"+like(f.Name)+"%")
		default:
			add(`r.name = ?`, f.Name)
		}
	}
	if f.Type != "" {
		add(`r.type = ?`, f.Type)
	}
	if f.Proxied != nil {
		add(`r.proxied = ?`, boolInt(*f.Proxied))
	}
	if f.SourceType != "" {
		if f.SourceType == record.SourceDomain {
			add(`r.type = ? AND (r.source_type = ? OR r.source_type = '')`, record.RecordCNAME, f.SourceType)
		} else {
			add(`r.type = ? AND r.source_type = ?`, record.RecordCNAME, f.SourceType)
		}
	}
	if len(f.BizNames) > 0 {
		biz := make([]any, len(f.BizNames))
		for i, b := range f.BizNames {
			biz[i] = b
		}
		add(`r.biz_name IN (?`+strings.Repeat(`, ?`, len(biz)-1)+`)`, biz...)
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM records r`+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count records: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := s.queryRecords(ctx, cond+recordOrder+` LIMIT ? OFFSET ?`, append(args, limit(f.Page), f.Page.Offset)...)
	if err != nil {
		return nil, 0, err
	}
	return list, total, nil
}

// queryRecords reads the records that tail (a WHERE clause and more) selects.
func (s *Store) queryRecords(ctx context.Context, tail string, args ...any) ([]record.Record, error) {
	list, err := queryAll(ctx, s, s.db, scanRecord, `SELECT `+recordColumns+recordFrom+tail, args...)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	return list, nil
}

// UpdateRecord implements record.Store.
func (s *Store) UpdateRecord(ctx context.Context, r record.Record) error {
	data, err := encodeData(r.Data)
	if err != nil {
		return err
	}
	a := r.AuthConf
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.lockSite(ctx, tx, r.SiteID); errors.Is(err, site.ErrSiteNotFound) {
			return record.ErrRecordNotFound // its site, and so the record, is gone
		} else if err != nil {
			return err
		}
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM records WHERE id = ? AND site_id = ?`), r.ID, r.SiteID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return record.ErrRecordNotFound
		}
		if err != nil {
			return fmt.Errorf("read record %d: %w", r.ID, err)
		}
		if err := s.checkRecordConflicts(ctx, tx, r, data); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE records SET type = ?, proxied = ?, ttl = ?, data = ?,
			biz_name = ?, comment = ?, source_type = ?, host_policy = ?, auth_type = ?, auth_access_key = ?,
			auth_secret_key = ?, auth_region = ?, auth_version = ?, updated_us = ? WHERE id = ?`),
			r.Type, boolInt(r.Proxied), r.Ttl, data, r.BizName, r.Comment, r.SourceType, r.HostPolicy,
			a.AuthType, a.AccessKey, a.SecretKey, a.Region, a.Version, micros(r.Updated), r.ID); err != nil {
			return fmt.Errorf("update record %d: %w", r.ID, err)
		}
		if err := s.writeSecrets(ctx, tx, r.ID, r.SealedSecrets); err != nil {
			return err
		}
		return s.recordChange(ctx, tx, r.SiteID, ChangeRecord, strconv.FormatInt(r.ID, 10))
	})
}

// DeleteRecord implements record.Store.
func (s *Store) DeleteRecord(ctx context.Context, id int64) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var siteID int64
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT site_id FROM records WHERE id = ?`+s.forUpdate), id).Scan(&siteID)
		if errors.Is(err, sql.ErrNoRows) {
			return record.ErrRecordNotFound
		}
		if err != nil {
			return fmt.Errorf("read record %d: %w", id, err)
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM records WHERE id = ?`), id)
		if err != nil {
			return fmt.Errorf("delete record %d: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete record %d: %w", id, err)
		} else if n == 0 {
			return record.ErrRecordNotFound
		}
		return s.recordChange(ctx, tx, siteID, ChangeRecord, strconv.FormatInt(id, 10))
	})
}

// ProxiedRecords returns every proxied A/AAAA and CNAME record of every
// site (whatever the site's status), ordered by site id, then as
// ListRecords orders them. Secrets come sealed, as in every read.
func (s *Store) ProxiedRecords(ctx context.Context) ([]record.Record, error) {
	return s.queryRecords(ctx, ` WHERE r.proxied = 1 AND r.type IN (?, ?) ORDER BY r.site_id, r.name, r.created_us, r.id`,
		record.RecordA, record.RecordCNAME)
}

// RecordsOfSite returns every record of the site, in ListRecords' order;
// none for a site that does not exist.
func (s *Store) RecordsOfSite(ctx context.Context, siteID int64) ([]record.Record, error) {
	return s.queryRecords(ctx, ` WHERE r.site_id = ?`+recordOrder, siteID)
}
