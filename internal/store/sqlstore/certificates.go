package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
)

var (
	_ cert.CertStore = (*Store)(nil)
	_ cert.RepoStore = (*Store)(nil)
)

// infoColumns are the described fields of a certificate, in both tables.
const infoColumns = `common_name, sans, issuer, issuer_cn, serial, fingerprint, pub_alg, sig_alg, key_bits,
	not_before_us, not_after_us`

func infoArgs(i certcheck.Info) []any {
	return []any{i.CommonName, strings.Join(i.SANs, ","), i.Issuer, i.IssuerCN, i.Serial, i.FingerprintSHA256,
		i.PubAlg, i.SigAlg, i.KeyBits, micros(i.NotBefore), micros(i.NotAfter)}
}

// infoScan holds the scan targets of infoColumns.
type infoScan struct {
	i                   certcheck.Info
	sans                string
	notBefore, notAfter int64
}

func (x *infoScan) dest() []any {
	return []any{&x.i.CommonName, &x.sans, &x.i.Issuer, &x.i.IssuerCN, &x.i.Serial, &x.i.FingerprintSHA256,
		&x.i.PubAlg, &x.i.SigAlg, &x.i.KeyBits, &x.notBefore, &x.notAfter}
}

func (x *infoScan) info() certcheck.Info {
	i := x.i
	if x.sans != "" {
		i.SANs = strings.Split(x.sans, ",")
	}
	i.NotBefore, i.NotAfter = fromMicros(x.notBefore), fromMicros(x.notAfter)
	return i
}

const certColumns = `c.id, c.site_id, s.name, c.name, c.type, c.cas_id, c.region, c.cert_pem, c.chain_pem, c.sealed_key,
	c.created_us, c.updated_us, c.common_name, c.sans, c.issuer, c.issuer_cn, c.serial, c.fingerprint, c.pub_alg,
	c.sig_alg, c.key_bits, c.not_before_us, c.not_after_us,
	c.apply_status, c.apply_code, c.apply_message, c.ca, c.attempts, c.next_us, c.ari_check_us`

const certFrom = ` FROM certificates c JOIN sites s ON s.id = c.site_id`

func scanCert(r scanner) (cert.Certificate, error) {
	var (
		c                cert.Certificate
		casID            sql.NullInt64
		created, updated int64
		next, ariCheck   int64
		x                infoScan
	)
	dest := append([]any{&c.ID, &c.SiteID, &c.SiteName, &c.Name, &c.Type, &casID, &c.Region, &c.CertPEM,
		&c.ChainPEM, &c.SealedKey, &created, &updated}, x.dest()...)
	dest = append(dest, &c.Free.Status, &c.Free.Code, &c.Free.Message, &c.Free.CA, &c.Free.Attempts, &next, &ariCheck)
	if err := r.Scan(dest...); err != nil {
		return cert.Certificate{}, err
	}
	c.Free.Next = fromMicros(next)
	if ariCheck > 0 {
		c.Free.ARICheck = fromMicros(ariCheck)
	}
	c.CasID = casID.Int64
	c.Created, c.Updated = fromMicros(created), fromMicros(updated)
	c.Info = x.info()
	return c, nil
}

func nullCasID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// certViolation maps a uniqueness violation on certificates to its sentinel.
func certViolation(err error) error {
	switch v := violation(err); {
	case v == "":
		return nil
	case strings.Contains(v, "cas"):
		return cert.ErrCasDuplicate
	case strings.Contains(v, "name"):
		return cert.ErrCertNameExists
	default:
		return domain.ErrExists
	}
}

// CreateCertificate implements cert.CertStore.
func (s *Store) CreateCertificate(ctx context.Context, c cert.Certificate, limit int) error {
	var rev int64
	return s.txThen(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, s.rebind(`SELECT 1 FROM sites WHERE id = ?`+s.forUpdate), c.SiteID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return site.ErrSiteNotFound
		}
		if err != nil {
			return fmt.Errorf("lock site %d: %w", c.SiteID, err)
		}
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		// Uniqueness first: re-sending a certificate that is there already
		// is Duplicated, even on a full site.
		var taken int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM certificates WHERE site_id = ? AND name = ?`),
			c.SiteID, c.Name).Scan(&taken); err != nil {
			return fmt.Errorf("check certificate name: %w", err)
		} else if taken > 0 {
			return cert.ErrCertNameExists
		}
		if c.CasID != 0 {
			if err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM certificates WHERE site_id = ? AND cas_id = ?`),
				c.SiteID, c.CasID).Scan(&taken); err != nil {
				return fmt.Errorf("check repository certificate: %w", err)
			} else if taken > 0 {
				return cert.ErrCasDuplicate
			}
		}
		if limit > 0 && isCustom(c.Type) {
			n, err := s.countUpTo(ctx, tx, c.SiteID, cert.CustomTypes, limit)
			if err != nil {
				return err
			}
			if n >= limit {
				return cert.ErrCertQuota
			}
		}
		args := append([]any{c.ID, c.SiteID, c.Name, c.Type, nullCasID(c.CasID), c.Region, c.CertPEM, c.ChainPEM,
			c.SealedKey, micros(c.Created), micros(c.Updated)}, infoArgs(c.Info)...)
		_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO certificates (id, site_id, name, type, cas_id, region,
			cert_pem, chain_pem, sealed_key, created_us, updated_us, `+infoColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		if v := certViolation(err); v != nil {
			return v
		}
		if err != nil {
			return fmt.Errorf("insert certificate: %w", err)
		}
		if err := s.queueOCSP(ctx, tx, c); err != nil {
			return err
		}
		rev, err = s.recordChangeRev(ctx, tx, c.SiteID, ChangeCertificate, c.ID)
		return err
	}, s.certCommitted(&rev, c.SiteID, c.ID, &c))
}

func isCustom(typ string) bool {
	for _, t := range cert.CustomTypes {
		if t == typ {
			return true
		}
	}
	return false
}

// ReplaceCertificate implements cert.CertStore.
func (s *Store) ReplaceCertificate(ctx context.Context, c cert.Certificate) error {
	args := append([]any{c.Name, c.Type, nullCasID(c.CasID), c.Region, c.CertPEM, c.ChainPEM, c.SealedKey,
		micros(c.Updated)}, infoArgs(c.Info)...)
	args = append(args, c.ID, c.SiteID)
	var res sql.Result
	var rev int64
	err := s.txThen(ctx, func(tx *sql.Tx) error {
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		var err error
		res, err = tx.ExecContext(ctx, s.rebind(`UPDATE certificates SET name = ?, type = ?, cas_id = ?, region = ?,
		cert_pem = ?, chain_pem = ?, sealed_key = ?, updated_us = ?, common_name = ?, sans = ?, issuer = ?,
		issuer_cn = ?, serial = ?, fingerprint = ?, pub_alg = ?, sig_alg = ?, key_bits = ?, not_before_us = ?,
		not_after_us = ? WHERE id = ? AND site_id = ?`), args...)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return err // the caller reports the missing row
		}
		if err := s.queueOCSP(ctx, tx, c); err != nil {
			return err
		}
		rev, err = s.recordChangeRev(ctx, tx, c.SiteID, ChangeCertificate, c.ID)
		return err
	}, s.certCommitted(&rev, c.SiteID, c.ID, &c))
	if errors.Is(err, domain.ErrKeyUnavailable) {
		return err
	}
	if v := certViolation(err); v != nil {
		return v
	}
	if err != nil {
		return fmt.Errorf("update certificate %s: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("update certificate %s: %w", c.ID, err)
	} else if n == 0 {
		return cert.ErrCertNotFound
	}
	return nil
}

// Certificate implements cert.CertStore.
func (s *Store) Certificate(ctx context.Context, siteID int64, id string) (cert.Certificate, error) {
	return queryOne(ctx, s, scanCert, cert.ErrCertNotFound, "read certificate", id,
		`SELECT `+certColumns+certFrom+` WHERE c.id = ? AND c.site_id = ?`, id, siteID)
}

// ListCertificates implements cert.CertStore.
func (s *Store) ListCertificates(ctx context.Context, f cert.CertFilter) ([]cert.Certificate, int, error) {
	cond := ` WHERE c.site_id = ?`
	args := []any{f.SiteID}
	if f.Keyword != "" {
		kw := "%" + like(strings.ToLower(f.Keyword)) + "%"
		cond += ` AND (LOWER(c.name) LIKE ? ESCAPE '\' OR LOWER(c.common_name) LIKE ? ESCAPE '\' OR c.sans LIKE ? ESCAPE '\')`
		args = append(args, kw, kw, kw)
	}
	if !f.ValidAt.IsZero() {
		cond += ` AND c.not_after_us > ?`
		args = append(args, micros(f.ValidAt))
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*)`+certFrom+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count certificates: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := queryAll(ctx, s, s.db, scanCert, `SELECT `+certColumns+certFrom+cond+
		` ORDER BY c.created_us DESC, c.id LIMIT ? OFFSET ?`, append(args, limit(f.Page), f.Page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list certificates: %w", err)
	}
	return list, total, nil
}

// DeleteCertificate implements cert.CertStore.
func (s *Store) DeleteCertificate(ctx context.Context, siteID int64, id string) error {
	var rev int64
	return s.txThen(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM certificates WHERE id = ? AND site_id = ?`), id, siteID)
		if err != nil {
			return fmt.Errorf("delete certificate %s: %w", id, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("delete certificate %s: %w", id, err)
		} else if n == 0 {
			return cert.ErrCertNotFound
		}
		rev, err = s.recordChangeRev(ctx, tx, siteID, ChangeCertificate, id)
		return err
	}, s.certCommitted(&rev, siteID, id, nil))
}

// CountCertificates implements cert.CertStore.
func (s *Store) CountCertificates(ctx context.Context, siteIDs []int64, types []string) (map[int64]int, error) {
	return s.countCertificates(ctx, s.db, siteIDs, types)
}

// countUpTo counts a site's certificates of the given types, stopping at
// limit: a quota check reads at most limit entries of the
// certificates_site_type index, however many certificates the site holds.
func (s *Store) countUpTo(ctx context.Context, tx *sql.Tx, siteID int64, types []string, limit int) (int, error) {
	args := []any{siteID}
	for _, t := range types {
		args = append(args, t)
	}
	var n int
	err := tx.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM (SELECT 1 FROM certificates WHERE site_id = ?
		AND type IN (?`+strings.Repeat(`, ?`, len(types)-1)+`) LIMIT ?) AS upto`), append(args, limit)...).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count certificates: %w", err)
	}
	return n, nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func (s *Store) countCertificates(ctx context.Context, q querier, siteIDs []int64, types []string) (map[int64]int, error) {
	counts := make(map[int64]int, len(siteIDs))
	if len(siteIDs) == 0 || len(types) == 0 {
		return counts, nil
	}
	args := make([]any, 0, len(siteIDs)+len(types))
	for _, id := range siteIDs {
		args = append(args, id)
	}
	for _, t := range types {
		args = append(args, t)
	}
	rows, err := q.QueryContext(ctx, s.rebind(`SELECT site_id, COUNT(*) FROM certificates
		WHERE site_id IN (?`+strings.Repeat(`, ?`, len(siteIDs)-1)+`) AND type IN (?`+strings.Repeat(`, ?`, len(types)-1)+`)
		GROUP BY site_id`), args...)
	if err != nil {
		return nil, fmt.Errorf("count certificates: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id int64
			n  int
		)
		if err := rows.Scan(&id, &n); err != nil {
			return nil, fmt.Errorf("count certificates: %w", err)
		}
		counts[id] = n
	}
	return counts, rows.Err()
}

const repoColumns = `id, name, region, resource_group_id, cert_pem, sealed_key, created_us, ` + infoColumns

func scanRepo(r scanner) (cert.RepoCert, error) {
	var (
		c       cert.RepoCert
		created int64
		x       infoScan
	)
	dest := append([]any{&c.ID, &c.Name, &c.Region, &c.ResourceGroupID, &c.CertPEM, &c.SealedKey, &created}, x.dest()...)
	if err := r.Scan(dest...); err != nil {
		return cert.RepoCert{}, err
	}
	c.Created = fromMicros(created)
	c.Info = x.info()
	return c, nil
}

// CreateRepoCert implements cert.RepoStore.
func (s *Store) CreateRepoCert(ctx context.Context, r cert.RepoCert) error {
	args := append([]any{r.ID, r.Name, r.Region, r.ResourceGroupID, r.CertPEM, r.SealedKey, micros(r.Created)}, infoArgs(r.Info)...)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if err := s.checkMasterKey(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.rebind(`INSERT INTO repo_certs (`+repoColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), args...)
		return err
	})
	if errors.Is(err, domain.ErrKeyUnavailable) {
		return err
	}
	switch v := violation(err); {
	case v == "pkey":
		return domain.ErrExists
	case v != "":
		return cert.ErrRepoNameExists
	}
	if err != nil {
		return fmt.Errorf("insert repository certificate: %w", err)
	}
	return nil
}

// RepoCert implements cert.RepoStore.
func (s *Store) RepoCert(ctx context.Context, id int64) (cert.RepoCert, error) {
	return queryOne(ctx, s, scanRepo, cert.ErrRepoCertNotFound, "read repository certificate", id,
		`SELECT `+repoColumns+` FROM repo_certs WHERE id = ?`, id)
}

// ListRepoCerts implements cert.RepoStore.
func (s *Store) ListRepoCerts(ctx context.Context, f cert.RepoFilter) ([]cert.RepoCert, int, error) {
	cond := ` WHERE 1 = 1`
	var args []any
	if f.Keyword != "" {
		kw := "%" + like(strings.ToLower(f.Keyword)) + "%"
		cond += ` AND (LOWER(name) LIKE ? ESCAPE '\' OR LOWER(common_name) LIKE ? ESCAPE '\' OR sans LIKE ? ESCAPE '\' OR CAST(id AS TEXT) LIKE ? ESCAPE '\')`
		args = append(args, kw, kw, kw, kw)
	}
	if !f.ValidAt.IsZero() {
		cond += ` AND not_after_us > ?`
		args = append(args, micros(f.ValidAt))
	}
	if !f.ExpiresBefore.IsZero() {
		cond += ` AND not_after_us < ?`
		args = append(args, micros(f.ExpiresBefore))
	}
	if !f.ExpiredAt.IsZero() {
		cond += ` AND not_after_us <= ?`
		args = append(args, micros(f.ExpiredAt))
	}
	var total int
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM repo_certs`+cond), args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("count repository certificates: %w", err)
	}
	if total == 0 || f.Page.Offset >= total {
		return nil, total, nil
	}
	list, err := queryAll(ctx, s, s.db, scanRepo, `SELECT `+repoColumns+` FROM repo_certs`+cond+
		` ORDER BY created_us DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit(f.Page), f.Page.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("list repository certificates: %w", err)
	}
	return list, total, nil
}

// DeleteRepoCert implements cert.RepoStore.
func (s *Store) DeleteRepoCert(ctx context.Context, id int64) error {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM repo_certs WHERE id = ?`), id)
	if err != nil {
		return fmt.Errorf("delete repository certificate %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("delete repository certificate %d: %w", id, err)
	} else if n == 0 {
		return cert.ErrRepoCertNotFound
	}
	return nil
}
