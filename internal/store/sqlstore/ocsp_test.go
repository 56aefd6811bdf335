package sqlstore_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

// TestMigrationOCSPQueue: migration 033 queues what the poll before it
// found by joining every certificate: a certificate never fetched gets its
// row, due at once; one whose leaf was replaced since its fetch is due at
// once, nothing of the old leaf kept; one fetched for its leaf keeps its
// next fetch. On SQLite and PostgreSQL.
func TestMigrationOCSPQueue(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			dsn, driver, raw := testDatabase(t, db)
			ctx := t.Context()
			s, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
			if err := s.CreateInstance(ctx, site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas",
				BillingMode: "PREPAY", Period: 1, Status: site.InstanceOnline, Created: now, Expires: now.AddDate(0, 1, 0)}, nil); err != nil {
				t.Fatal(err)
			}
			const siteID = 9300000000001
			if err := s.CreateSite(ctx, site.Site{ID: siteID, Name: "queue.com", AccessType: "NS", Coverage: "overseas",
				Status: site.SiteActive, InstanceID: "inst", VerifyCode: "verify_x", Created: now, Updated: now}); err != nil {
				t.Fatal(err)
			}
			ids := []string{"a3000000000000000000000000000000", "b3000000000000000000000000000000", "c3000000000000000000000000000000"}
			for _, id := range ids {
				c := cert.Certificate{ID: id, SiteID: siteID, Name: id, Type: cert.TypeUpload, CertPEM: "pem", ChainPEM: "chain",
					SealedKey: []byte{1}, Created: now, Updated: now}
				c.Info.FingerprintSHA256 = "fp" + id
				if err := s.CreateCertificate(ctx, c, 0); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			// Take the database back to what migration 032 left: a never
			// fetched (no row), b fetched for a leaf since replaced, c
			// fetched for its leaf, both next fetched in a day.
			rdb, err := sql.Open(driver, raw)
			if err != nil {
				t.Fatal(err)
			}
			day := now.Add(24 * time.Hour).UnixMicro()
			for _, q := range []string{
				`DELETE FROM ocsp_responses WHERE cert_id = '` + ids[0] + `'`,
				`UPDATE ocsp_responses SET fingerprint = 'old', status = 'good', next_fetch_us = ` + itoa(day) + ` WHERE cert_id = '` + ids[1] + `'`,
				`UPDATE ocsp_responses SET status = 'good', next_fetch_us = ` + itoa(day) + ` WHERE cert_id = '` + ids[2] + `'`,
				`DROP INDEX ocsp_responses_due`,
				`CREATE INDEX ocsp_responses_next ON ocsp_responses (next_fetch_us)`,
				`DELETE FROM schema_migrations WHERE version = 33`,
			} {
				if _, err := rdb.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			rdb.Close()
			s, err = sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			due, err := s.ClaimOCSP(ctx, now, now.Add(48*time.Hour), 10) // held past c's next fetch
			if err != nil || len(due) != 2 || due[0].CertificateID != ids[0] || due[1].CertificateID != ids[1] ||
				due[1].Fingerprint != "fp"+ids[1] || due[1].Last.Status != "" {
				t.Fatalf("after migration 033 ClaimOCSP = %+v, %v; want a and b, b without its old leaf's response", due, err)
			}
			if due, err := s.ClaimOCSP(ctx, now.Add(24*time.Hour), now.Add(25*time.Hour), 10); err != nil || len(due) != 1 ||
				due[0].CertificateID != ids[2] || due[0].Last.Status != cert.OCSPGood {
				t.Fatalf("a day later ClaimOCSP = %+v, %v; want c with its response", due, err)
			}
		})
	}
}

// testDatabase makes an empty database for db ("sqlite": a file in a
// temporary folder; "postgres": a fresh PostgreSQL database, skipped
// without ESACERT_TEST_POSTGRES_DSN) and returns the DSN sqlstore.Open
// takes, and the driver name and data source sql.Open takes for the same
// database.
func testDatabase(tb testing.TB, db string) (dsn, driver, raw string) {
	tb.Helper()
	switch db {
	case "sqlite":
		path := filepath.Join(tb.TempDir(), "esacert.db")
		return "sqlite:" + path, "sqlite", path
	case "postgres":
		dsn = storetest.PostgresDatabase(tb)
		return dsn, "pgx", dsn
	}
	tb.Fatalf("unknown database %q", db)
	return "", "", ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestClaimOCSPTwoNodes: two nodes (two stores on one database, each with
// its own connections) claiming in small batches at once, until nothing is
// due, claim every certificate due exactly once. On SQLite and PostgreSQL.
func TestClaimOCSPTwoNodes(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			var dsn string
			switch db {
			case "sqlite":
				dsn = "sqlite:" + filepath.Join(t.TempDir(), "esacert.db")
			case "postgres":
				dsn = storetest.PostgresDatabase(t)
			}
			ctx := t.Context()
			var nodes [2]*sqlstore.Store
			for i := range nodes {
				s, err := sqlstore.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				nodes[i] = s
			}
			now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
			s := nodes[0]
			if err := s.CreateInstance(ctx, site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas",
				BillingMode: "PREPAY", Period: 1, Status: site.InstanceOnline, Created: now, Expires: now.AddDate(0, 1, 0)}, nil); err != nil {
				t.Fatal(err)
			}
			const siteID = 9400000000001
			if err := s.CreateSite(ctx, site.Site{ID: siteID, Name: "two.com", AccessType: "NS", Coverage: "overseas",
				Status: site.SiteActive, InstanceID: "inst", VerifyCode: "verify_x", Created: now, Updated: now}); err != nil {
				t.Fatal(err)
			}
			const n = 120
			certs := make([]cert.Certificate, n)
			for i := range certs {
				id := fmt.Sprintf("e5%030x", i)
				certs[i] = cert.Certificate{ID: id, SiteID: siteID, Name: id, Type: cert.TypeUpload, CertPEM: "pem", ChainPEM: "chain",
					SealedKey: []byte{1}, Created: now, Updated: now}
				certs[i].Info.FingerprintSHA256 = "fp" + id
			}
			if err := s.Import(ctx, nil, certs); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			seen := map[string]int{}
			var wg sync.WaitGroup
			for _, node := range nodes {
				for range 2 { // two claimers per node, as rounds may overlap
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							due, err := node.ClaimOCSP(ctx, now, now.Add(time.Hour), 7)
							if err != nil {
								t.Error(err)
								return
							}
							if len(due) == 0 {
								return
							}
							mu.Lock()
							for _, d := range due {
								seen[d.CertificateID]++
							}
							mu.Unlock()
						}
					}()
				}
			}
			wg.Wait()
			for id, k := range seen {
				if k != 1 {
					t.Errorf("certificate %s claimed %d times", id, k)
				}
			}
			if len(seen) != n {
				t.Errorf("claimed %d certificates, want %d", len(seen), n)
			}
		})
	}
}
