package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// BenchmarkCatchUpOCSP measures the OCSP refresher's catch-up
// (CatchUpOCSP, run at start and every 10 minutes) on a store of
// 1,000,000 certificates, on SQLite and on PostgreSQL (with
// ESACERT_TEST_POSTGRES_DSN): "full", the run at start, which reads every
// certificate, and "since", a later run, which reads those changed since
// the run before; "missing=0", every certificate queued (what nearly every
// run finds), "missing=200", 100 of them written without their queue
// entry and 100 with a leaf replaced in place, as a node of an older
// version writes them (made so again outside the timer). Each certificate
// has a 1 KB leaf and a 2 KB chain of random text, about a real one's size
// (PostgreSQL keeps the chain out of line, as it does a real one).
// Seeding takes a few minutes.
//
//	go test ./internal/store/sqlstore -run '^$' -bench CatchUpOCSP -benchtime 5x -timeout 1h
func BenchmarkCatchUpOCSP(b *testing.B) {
	const n = 1_000_000
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(fmt.Sprintf("%s/certs=%d", db, n), func(b *testing.B) {
			ctx := context.Background()
			s, rawDB := openBenchStore(b, db)
			seedCatchUp(b, s, rawDB, n, db == "postgres")
			// oldNode writes as a node of an older version: 100 certificates
			// lose their queue entry, 100 get a new leaf their entry does
			// not have, each with its edge change.
			oldNode := func(b *testing.B) {
				for _, q := range []string{
					`DELETE FROM ocsp_responses WHERE cert_id IN (SELECT id FROM certificates WHERE name LIKE 'm%')`,
					`UPDATE ocsp_responses SET fingerprint = 'old-leaf' WHERE cert_id IN (SELECT id FROM certificates WHERE name LIKE 'r%')`,
					`UPDATE edge_revision SET rev = rev + 1 WHERE id = 1`,
					`INSERT INTO edge_changes (rev, site_id, kind, ref) SELECT (SELECT rev FROM edge_revision), site_id, 'certificate', id
						FROM certificates WHERE name LIKE 'm%' OR name LIKE 'r%'`,
				} {
					if _, err := rawDB.ExecContext(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
			}
			// "full" is the run at start, reading every certificate;
			// "since" a later one, reading those changed since the last.
			for _, mode := range []string{"full", "since"} {
				for _, missing := range []int{0, 200} {
					b.Run(fmt.Sprintf("%s/missing=%d", mode, missing), func(b *testing.B) {
						for b.Loop() {
							b.StopTimer()
							_, since, err := s.CatchUpOCSP(ctx, 1) // the feed starts at 1: reads what changed after it
							if err != nil {
								b.Fatal(err)
							}
							if missing > 0 {
								oldNode(b)
							}
							if mode == "full" {
								since = 0
							}
							b.StartTimer()
							if q, _, err := s.CatchUpOCSP(ctx, since); err != nil || q != missing {
								b.Fatalf("CatchUpOCSP = %d, %v; want %d", q, err, missing)
							}
						}
					})
				}
			}
		})
	}
}

// seedCatchUp writes n certificates on one site by SQL (names c…, except
// 100 named m… and 100 named r… spread over the table), each with its
// queue entry, fetched and next due far ahead.
func seedCatchUp(b *testing.B, s *sqlstore.Store, raw *sql.DB, n int, pg bool) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := s.CreateInstance(ctx, site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas",
		BillingMode: "PREPAY", Period: 1, Status: site.InstanceOnline, Created: now, Expires: now.AddDate(0, 1, 0)}, nil); err != nil {
		b.Fatal(err)
	}
	const siteID = 9500000000001
	if err := s.CreateSite(ctx, site.Site{ID: siteID, Name: "many.com", AccessType: "NS", Coverage: "overseas",
		Status: site.SiteActive, InstanceID: "inst", VerifyCode: "verify_x", Created: now, Updated: now}); err != nil {
		b.Fatal(err)
	}
	const cols = `id, site_id, name, type, cas_id, region, cert_pem, chain_pem, sealed_key, common_name, sans, issuer,
		issuer_cn, serial, fingerprint, pub_alg, sig_alg, key_bits, not_before_us, not_after_us, created_us, updated_us`
	every := fmt.Sprint(n / 100)
	name := `CASE WHEN i % ` + every + ` = 1 THEN 'm' WHEN i % ` + every + ` = 2 THEN 'r' ELSE 'c' END`
	var qs []string
	if pg {
		qs = []string{
			// A real chain (base64, about 3 KB) barely compresses and is kept
			// out of line; this one would compress to nothing.
			`ALTER TABLE certificates ALTER COLUMN chain_pem SET STORAGE EXTERNAL, ALTER COLUMN cert_pem SET STORAGE EXTERNAL`,
			`INSERT INTO certificates (` + cols + `) SELECT lpad(to_hex(i), 32, '0'), ` + fmt.Sprint(siteID) + `, ` + name + ` || i,
				'upload', NULL, 'cn-hangzhou', repeat(md5(i::text), 32), repeat(md5((i + 1)::text), 64), '\x01'::bytea, 'CN', 'x.many.com',
				'Issuer', 'Issuer CA', '01', 'ff' || lpad(to_hex(i), 32, '0'), 'ECDSA', 'ECDSA-SHA256', 256, 0, 0, 0, 0
				FROM generate_series(1, ` + fmt.Sprint(n) + `) i`,
		}
	} else {
		qs = []string{
			`WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ` + fmt.Sprint(n) + `)
				INSERT INTO certificates (` + cols + `) SELECT printf('%032x', i), ` + fmt.Sprint(siteID) + `, ` + name + ` || i,
				'upload', NULL, 'cn-hangzhou', hex(randomblob(512)), hex(randomblob(1024)), x'01', 'CN', 'x.many.com',
				'Issuer', 'Issuer CA', '01', 'ff' || printf('%032x', i), 'ECDSA', 'ECDSA-SHA256', 256, 0, 0, 0, 0 FROM seq`,
		}
	}
	far := time.Unix(2_000_000_000, 0).UnixMicro()
	qs = append(qs, `INSERT INTO ocsp_responses (cert_id, fingerprint, status, response, this_update_us, next_update_us, revoked_us,
		fetched_us, error, failures, next_fetch_us, rev)
		SELECT id, fingerprint, 'good', NULL, 0, 0, 0, 0, '', 0, `+fmt.Sprint(far)+`, 1 FROM certificates`)
	if pg {
		qs = append(qs, `VACUUM ANALYZE`)
	} else {
		qs = append(qs, `ANALYZE`)
	}
	for _, q := range qs {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
}
