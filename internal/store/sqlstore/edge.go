package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// EdgeState is what the edge serves, read in one transaction.
type EdgeState struct {
	Rev          int64
	Sites        []site.Site
	Certificates []cert.Certificate      // without CertPEM
	Records      []record.Record         // proxied A/AAAA and CNAME records
	HTTPS        []httpsconf.HTTPSConfig // both families, each site's in the order they apply
	// Settings are the sites' feature settings; a site missing here has
	// none stored and is served with sitesetting.LegacyConfig's.
	Settings map[int64]sitesetting.Settings
	// OriginCAs and OriginClients are the sites' origin CA certificates and
	// origin client certificates of both scopes (keys sealed), newest first.
	OriginCAs     []origincert.CA
	OriginClients []origincert.Client
	// ClientAuth is the sites' mutual TLS from visitors (edgeclient.go).
	ClientAuth EdgeClientAuth
}

// inList renders "col IN (?, ?, …)" for ids, or "1 = 1" for all.
func inList(col string, ids []int64) (string, []any) {
	if ids == nil {
		return "1 = 1", nil
	}
	if len(ids) == 0 {
		return "1 = 0", nil
	}
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return col + " IN (?" + strings.Repeat(", ?", len(ids)-1) + ")", args
}

// LoadEdge reads the sites with the given ids (all for nil) and their
// certificates, with the revision read first, all in one read transaction:
// the state is at least as new as the revision, so replaying the changes
// after it never misses one.
func (s *Store) LoadEdge(ctx context.Context, siteIDs []int64) (*EdgeState, error) {
	st := &EdgeState{}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT rev FROM edge_revision WHERE id = 1`).Scan(&st.Rev); err != nil {
			return err
		}
		var err error
		cond, args := inList("s.id", siteIDs)
		if st.Sites, err = queryAll(ctx, s, tx, scanSite, `SELECT `+siteColumns+siteFrom+` WHERE `+cond, args...); err != nil {
			return err
		}
		cond, args = inList("site_id", siteIDs)
		if st.Certificates, err = s.edgeCertificates(ctx, tx, cond, args, st.Certificates); err != nil {
			return err
		}
		cond, args = inList("r.site_id", siteIDs)
		if st.Records, err = queryAll(ctx, s, tx, scanRecord, `SELECT `+recordColumns+recordFrom+
			` WHERE r.proxied = 1 AND r.type IN (?, ?) AND `+cond, append([]any{record.RecordA, record.RecordCNAME}, args...)...); err != nil {
			return err
		}
		cond, args = inList("site_id", siteIDs)
		st.HTTPS, err = queryAll(ctx, s, tx, scanHTTPS, `SELECT `+httpsColumns+` FROM https_configs WHERE `+cond+
			` ORDER BY site_id, CASE WHEN config_type = 'global' THEN 0 ELSE 1 END, seq, config_id`, args...)
		if err != nil {
			return err
		}
		if st.Settings, err = s.settingsOf(ctx, tx, siteIDs); err != nil {
			return err
		}
		cond, args = inList("c.site_id", siteIDs)
		if st.OriginCAs, err = queryAll(ctx, s, tx, scanOriginCA, `SELECT `+originCAColumns+originCAFrom+` WHERE `+cond+
			` ORDER BY c.site_id, c.created_us DESC, c.id`, args...); err != nil {
			return err
		}
		if st.OriginClients, err = queryAll(ctx, s, tx, scanOriginClient, `SELECT `+originClientColumns+originClientFrom+
			` WHERE `+cond+` ORDER BY c.site_id, c.created_us DESC, c.id`, args...); err != nil {
			return err
		}
		st.ClientAuth, err = s.clientAuthOf(ctx, tx, siteIDs)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("load edge state: %w", err)
	}
	return st, nil
}

// edgeCertColumns are the columns of a certificate the edge serves.
const edgeCertColumns = `id, site_id, type, chain_pem, sealed_key, sans, common_name, pub_alg, not_after_us,
	twin_chain_pem, twin_sealed_key, twin_not_after_us`

// edgeCertificates appends to out the certificates that match cond, as the
// edge serves them: each followed by its RSA twin, if it has one, under
// cert.TwinID.
func (s *Store) edgeCertificates(ctx context.Context, tx querier, cond string, args []any, out []cert.Certificate) ([]cert.Certificate, error) {
	rows, err := tx.QueryContext(ctx, s.rebind(`SELECT `+edgeCertColumns+` FROM certificates WHERE `+cond), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			c                   cert.Certificate
			sans, twinChain     string
			twinKey             []byte
			notAfter, twinAfter int64
		)
		if err := rows.Scan(&c.ID, &c.SiteID, &c.Type, &c.ChainPEM, &c.SealedKey, &sans, &c.Info.CommonName,
			&c.Info.PubAlg, &notAfter, &twinChain, &twinKey, &twinAfter); err != nil {
			return nil, err
		}
		if sans != "" {
			c.Info.SANs = strings.Split(sans, ",")
		}
		c.Info.NotAfter = fromMicros(notAfter)
		out = append(out, c)
		if twinChain != "" && len(twinKey) > 0 {
			// The RSA twin is served under its own id, after the
			// certificate, for clients that cannot use it.
			t := c
			t.ID, t.ChainPEM, t.SealedKey, t.Info.PubAlg = cert.TwinID(c.ID), twinChain, twinKey, "RSA"
			t.Info.NotAfter = fromMicros(twinAfter)
			out = append(out, t)
		}
	}
	return out, rows.Err()
}

// edgeCertBatch is how many ids one query of LoadEdgeCertificates names,
// well under the bound parameters SQLite and PostgreSQL take.
const edgeCertBatch = 500

// LoadEdgeCertificates reads the certificates with the given ids as the
// edge serves them (as LoadEdge does: without CertPEM, each followed by its
// RSA twin under cert.TwinID), for the edge to update a site one
// certificate at a time. An id with no row is a certificate that no longer
// exists. Each row is read as committed now, so at least as new as any
// revision read before; the rows need no common snapshot (each certificate
// is applied on its own, a later change of one is in the feed), so the
// reads take no transaction: one round trip for up to edgeCertBatch ids.
func (s *Store) LoadEdgeCertificates(ctx context.Context, ids []string) ([]cert.Certificate, error) {
	var out []cert.Certificate
	for len(ids) > 0 {
		n := min(len(ids), edgeCertBatch)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		var err error
		if out, err = s.edgeCertificates(ctx, s.db, `id IN (?`+strings.Repeat(", ?", n-1)+`)`, args, out); err != nil {
			return nil, fmt.Errorf("load edge certificates: %w", err)
		}
		ids = ids[n:]
	}
	return out, nil
}
