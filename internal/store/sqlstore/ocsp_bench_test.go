package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// BenchmarkClaimOCSP measures one poll of the OCSP refresher
// (ClaimOCSP) on a store of n certificates, on SQLite and on PostgreSQL
// (with ESACERT_TEST_POSTGRES_DSN): "idle", every response fetched and
// none due (what nearly every poll finds); "due10", ten of them due (and
// claimed by the poll, then made due again outside the timer).
//
//	go test ./internal/store/sqlstore -run '^$' -bench ClaimOCSP -benchtime 20x
func BenchmarkClaimOCSP(b *testing.B) {
	for _, db := range []string{"sqlite", "postgres"} {
		for _, n := range []int{1_000, 100_000} {
			b.Run(fmt.Sprintf("%s/certs=%d", db, n), func(b *testing.B) {
				ctx := context.Background()
				s, rawDB := openBenchStore(b, db)
				seedOCSP(b, s, rawDB, n, db == "postgres")
				now := time.Unix(1_900_000_000, 0)
				until := now.Add(2 * time.Minute)
				b.Run("idle", func(b *testing.B) {
					for b.Loop() {
						if due, err := s.ClaimOCSP(ctx, now, until, 50); err != nil || len(due) != 0 {
							b.Fatalf("ClaimOCSP = %d, %v", len(due), err)
						}
					}
				})
				b.Run("due10", func(b *testing.B) {
					for b.Loop() {
						b.StopTimer()
						// Ten certificates spread over the table come due.
						q := `UPDATE ocsp_responses SET next_fetch_us = 1 WHERE cert_id IN (`
						for i := range 10 {
							if i > 0 {
								q += ","
							}
							q += fmt.Sprintf("'%032x'", i*(n/10))
						}
						if _, err := rawDB.ExecContext(ctx, q+`)`); err != nil {
							b.Fatal(err)
						}
						b.StartTimer()
						if due, err := s.ClaimOCSP(ctx, now, until, 50); err != nil || len(due) != 10 {
							b.Fatalf("ClaimOCSP = %d, %v", len(due), err)
						}
					}
				})
			})
		}
	}
}

// seedOCSP imports n certificates on one site, each with an OCSP response
// fetched, its next fetch far ahead (as after the refresher's first
// rounds).
// openBenchStore opens a store on an empty database for db (see
// testDatabase) and a plain connection to the same database, for seeding
// and for changing rows outside the store; both are closed when b ends.
func openBenchStore(b *testing.B, db string) (*sqlstore.Store, *sql.DB) {
	b.Helper()
	dsn, driver, raw := testDatabase(b, db)
	s, err := sqlstore.Open(context.Background(), dsn)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	rawDB, err := sql.Open(driver, raw)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { rawDB.Close() })
	return s, rawDB
}

func seedOCSP(b *testing.B, s *sqlstore.Store, raw *sql.DB, n int, pg bool) {
	b.Helper()
	ctx := context.Background()
	svc := &site.Service{Store: s}
	if err := svc.EnsureDefaultInstance(ctx); err != nil {
		b.Fatal(err)
	}
	instance, _ := svc.DefaultInstanceID()
	now := time.Now()
	st := site.Site{ID: 1_000_000_000_001, Name: "ocsp.test", AccessType: "NS", Coverage: "overseas",
		Status: site.SiteActive, InstanceID: instance, VerifyCode: "v", Created: now, Updated: now}
	certs := make([]cert.Certificate, n)
	for i := range certs {
		id := fmt.Sprintf("%032x", i)
		certs[i] = cert.Certificate{ID: id, SiteID: st.ID, Name: "c" + id, Type: cert.TypeUpload, CertPEM: "pem", ChainPEM: "chain",
			SealedKey: []byte{1}, Created: now, Updated: now}
		certs[i].Info.FingerprintSHA256 = "ff" + id
		certs[i].Info.NotAfter = now.Add(90 * 24 * time.Hour)
	}
	if err := s.Import(ctx, []site.Site{st}, certs); err != nil {
		b.Fatal(err)
	}
	far := time.Unix(2_000_000_000, 0).UnixMicro()
	q := `INSERT INTO ocsp_responses (cert_id, fingerprint, status, response, this_update_us, next_update_us, revoked_us,
		fetched_us, error, failures, next_fetch_us, rev)
		SELECT id, fingerprint, 'good', NULL, 0, 0, 0, 0, '', 0, ?, 1 FROM certificates WHERE true
		ON CONFLICT (cert_id) DO UPDATE SET status = 'good', next_fetch_us = excluded.next_fetch_us`
	if pg {
		q = `INSERT INTO ocsp_responses (cert_id, fingerprint, status, response, this_update_us, next_update_us, revoked_us,
		fetched_us, error, failures, next_fetch_us, rev)
		SELECT id, fingerprint, 'good', NULL, 0, 0, 0, 0, '', 0, $1, 1 FROM certificates
		ON CONFLICT (cert_id) DO UPDATE SET status = 'good', next_fetch_us = excluded.next_fetch_us`
	}
	if _, err := raw.ExecContext(ctx, q, far); err != nil {
		b.Fatal(err)
	}
	analyze := `ANALYZE`
	if pg {
		analyze = `VACUUM ANALYZE` // the upsert above left every row's old index entry behind, as a real table's vacuum clears
	}
	if _, err := raw.ExecContext(ctx, analyze); err != nil {
		b.Fatal(err)
	}
}
