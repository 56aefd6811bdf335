package sqlstore

import (
	"context"
	"database/sql"

	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/clientcert"
)

// EdgeClientAuth is what the edge needs of the sites' mutual TLS from
// visitors: only what binds hostnames.
type EdgeClientAuth struct {
	// CAs are the uploaded client CA certificates bound to hostnames.
	CAs map[int64][]clientca.CA
	// Issuers are the sites' own client CAs bound to hostnames (without
	// their sealed keys), and Active the SHA-256 fingerprints of their
	// active client certificates.
	Issuers map[int64]clientcert.Issuer
	Active  map[int64][]string
}

// clientAuthOf reads the mutual TLS state of the given sites (all for nil)
// inside tx.
func (s *Store) clientAuthOf(ctx context.Context, tx *sql.Tx, siteIDs []int64) (EdgeClientAuth, error) {
	out := EdgeClientAuth{CAs: map[int64][]clientca.CA{}, Issuers: map[int64]clientcert.Issuer{}, Active: map[int64][]string{}}
	cond, args := inList("c.site_id", siteIDs)
	cas, err := queryAll(ctx, s, tx, scanClientCA, `SELECT `+clientCAColumns+clientCAFrom+` WHERE c.hostnames <> '' AND `+cond, args...)
	if err != nil {
		return out, err
	}
	for _, c := range cas {
		out.CAs[c.SiteID] = append(out.CAs[c.SiteID], c)
	}
	cond, args = inList("site_id", siteIDs)
	issuers, err := queryAll(ctx, s, tx, scanClientIssuer, `SELECT `+clientIssuerColumns+` FROM client_issuers WHERE hostnames <> '' AND `+cond, args...)
	if err != nil {
		return out, err
	}
	for _, is := range issuers {
		is.SealedKey = nil // the edge never signs
		out.Issuers[is.SiteID] = is
	}
	cond, args = inList("c.site_id", siteIDs)
	type active struct {
		site int64
		fp   string
	}
	list, err := queryAll(ctx, s, tx, func(r scanner) (a active, err error) { return a, r.Scan(&a.site, &a.fp) },
		`SELECT c.site_id, c.fingerprint FROM client_certificates c JOIN client_issuers i ON i.id = c.ca_id
		WHERE c.status = ? AND i.hostnames <> '' AND `+cond, append([]any{clientcert.StatusActive}, args...)...)
	if err != nil {
		return out, err
	}
	for _, a := range list {
		out.Active[a.site] = append(out.Active[a.site], a.fp)
	}
	return out, nil
}
