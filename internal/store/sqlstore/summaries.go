package sqlstore

import (
	"context"
	"fmt"

	"github.com/esacert/esacert/internal/cert"
)

var _ cert.SummaryStore = (*Store)(nil)

// CertificateSummaries implements cert.SummaryStore: one row per
// certificate, without its PEM text or key (octet_length reads the length
// of chain_pem from its header on both databases, not the text).
func (s *Store) CertificateSummaries(ctx context.Context) ([]cert.Summary, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT c.id, c.site_id, s.name, c.name, c.type, c.not_after_us,
		CASE WHEN octet_length(c.chain_pem) > 0 THEN 1 ELSE 0 END, c.apply_status, c.apply_code, c.ca, c.attempts, c.next_us`+certFrom)
	if err != nil {
		return nil, fmt.Errorf("list certificate summaries: %w", err)
	}
	defer rows.Close()
	var out []cert.Summary
	for rows.Next() {
		var (
			c              cert.Summary
			notAfter, next int64
			issued         int
		)
		if err := rows.Scan(&c.ID, &c.SiteID, &c.SiteName, &c.Name, &c.Type, &notAfter, &issued,
			&c.Free.Status, &c.Free.Code, &c.Free.CA, &c.Free.Attempts, &next); err != nil {
			return nil, fmt.Errorf("list certificate summaries: %w", err)
		}
		c.NotAfter, c.Issued, c.Free.Next = fromMicros(notAfter), issued == 1, fromMicros(next)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list certificate summaries: %w", err)
	}
	return out, nil
}
