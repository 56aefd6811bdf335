package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

// bigSiteID and bigSite are the site BenchmarkCertificateUpdate seeds.
const (
	bigSiteID = 1_500_000_000_000
	bigSite   = "big.test"
)

// BenchmarkCertificateUpdate measures, on one site of N certificates
// (ESACERT_BENCH_CERTS, default 100,000), the time from the API's answer
// to a SetCertificate (add; replace, with Id) or a DeleteCertificate to
// the change being served (or gone): on the API node's own edge (SQLite,
// one process; woken by the store at commit) and, on PostgreSQL, on the
// API node's edge and on a second edge node (woken by LISTEN/NOTIFY).
// "Served" is what the edge's GetCertificate, which every handshake calls,
// returns for the name. It reports p50 and p99 of each, and of the API's
// answer.
//
//	go test ./internal/node -run '^$' -bench CertificateUpdate -benchtime 100x
//	ESACERT_BENCH_CERTS=1000000 ESACERT_TEST_POSTGRES_DSN=… go test ./internal/node -run '^$' -bench CertificateUpdate -benchtime 100x -timeout 2h
func BenchmarkCertificateUpdate(b *testing.B) {
	n := 100_000
	if v := os.Getenv("ESACERT_BENCH_CERTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("ESACERT_BENCH_CERTS=%q: want a positive number", v)
		}
	}
	for _, db := range []string{"sqlite", "postgres"} {
		b.Run(db, func(b *testing.B) {
			ctx := context.Background()
			dir := b.TempDir()
			dsn := "sqlite:" + filepath.Join(dir, "esacert.db")
			if db == "postgres" {
				dsn = storetest.PostgresDatabase(b)
			}
			store, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				b.Fatal(err)
			}
			mk, _ := keyseal.Generate()
			sealer, _ := keyseal.New(mk)
			start := time.Now()
			seedBigSite(b, store, sealer, n)
			store.Close()
			b.Logf("%s: %d certificates seeded in %s", db, n, time.Since(start).Round(time.Millisecond))

			cfg := config.Defaults()
			cfg.DB, cfg.MasterKey = dsn, hex.EncodeToString(mk)
			cfg.APIAddr, cfg.HTTPSAddr, cfg.HTTPAddr, cfg.HTTP3Addr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			cfg.AccessKeyID, cfg.AccessKeySecret = "LTAIbenchkey000000000003", "bench-secret-0123456789abcdeh"
			cfg.PlanLimits = map[string]config.PlanLimit{"basic": {}} // no limits: a site of a million certificates
			startNode := func(roles string) *Node {
				c := cfg
				c.DataDir, c.Roles = b.TempDir(), roles
				began := time.Now()
				nd, err := Start(ctx, c, quiet)
				if err != nil {
					b.Fatal(err)
				}
				b.Logf("%s: node (%s) serving in %s, RSS %d MB", db, roles, time.Since(began).Round(time.Millisecond), rssMB())
				b.Cleanup(func() { nd.Shutdown(context.Background()) })
				return nd
			}
			api := startNode("api,edge")
			watch := map[string]*Node{"same": api}
			if db == "postgres" {
				watch["fleet"] = startNode("edge")
			}
			now := time.Now()
			ca := pkitest.NewCA(b, "Update Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
			leaf := func(name string) *pkitest.Leaf {
				return ca.Leaf(b, pkitest.LeafOptions{DNSNames: []string{name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
			}
			siteID := strconv.Itoa(bigSiteID)
			var added, replaced, deleted int // across the runs of each sub-benchmark
			ops := []struct {
				name string
				// do makes one change through the API and returns the
				// name it is about and the leaf now served for it (nil:
				// none). prepare runs with the timer stopped.
				prepare func() (string, *pkitest.Leaf, map[string]string)
			}{
				{"add", func() (string, *pkitest.Leaf, map[string]string) {
					added++
					name := fmt.Sprintf("add%d.%s", added, bigSite)
					l := leaf(name)
					return name, l, map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM}
				}},
				{"replace", func() (string, *pkitest.Leaf, map[string]string) {
					i := replaced % n
					replaced++
					name := fmt.Sprintf("h%d.%s", i, bigSite)
					l := leaf(name)
					return name, l, map[string]string{"SiteId": siteID, "Type": "upload", "Id": seededID(i), "Update": "true",
						"Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM}
				}},
				{"delete", func() (string, *pkitest.Leaf, map[string]string) {
					deleted++
					i := n - deleted // from the end: replace takes them from the start
					return fmt.Sprintf("h%d.%s", i, bigSite), nil, map[string]string{"SiteId": siteID, "Id": seededID(i)}
				}},
			}
			for _, op := range ops {
				b.Run(op.name, func(b *testing.B) {
					if op.name == "delete" && deleted+b.N > n/2 {
						b.Skip("not enough seeded certificates left to delete")
					}
					action := "SetCertificate"
					if op.name == "delete" {
						action = "DeleteCertificate"
					}
					lat := map[string][]time.Duration{}
					var answers []time.Duration
					b.ResetTimer()
					for range b.N {
						b.StopTimer()
						name, want, query := op.prepare()
						b.StartTimer()
						sent := time.Now()
						if _, err := request(api, "2024-09-10", action, query); err != nil {
							b.Fatal(err)
						}
						answered := time.Now()
						answers = append(answers, answered.Sub(sent))
						var mu sync.Mutex
						var wg sync.WaitGroup
						for label, nd := range watch {
							wg.Add(1)
							go func() {
								defer wg.Done()
								took, ok := waitServes(nd, name, want, answered, 30*time.Second)
								if !ok {
									b.Errorf("%s: the %s edge does not serve the change for %s after 30s", op.name, label, name)
								}
								mu.Lock()
								lat[label] = append(lat[label], took)
								mu.Unlock()
							}()
						}
						wg.Wait()
						if b.Failed() {
							b.FailNow()
						}
					}
					b.StopTimer()
					report := func(unit string, d []time.Duration) {
						slices.Sort(d)
						b.ReportMetric(float64(d[len(d)/2].Microseconds())/1000, "ms-p50-"+unit)
						b.ReportMetric(float64(d[(len(d)-1)*99/100].Microseconds())/1000, "ms-p99-"+unit)
					}
					report("api", answers)
					for label, d := range lat {
						report(label, d)
					}
				})
			}
		})
	}
}

// waitServes waits until nd's edge serves want's leaf for name (want nil:
// serves nothing for it) and returns the time since from, polling the
// edge's GetCertificate as a handshake would call it.
func waitServes(nd *Node, name string, want *pkitest.Leaf, from time.Time, limit time.Duration) (time.Duration, bool) {
	hello := &tls.ClientHelloInfo{ServerName: name, SupportedVersions: []uint16{tls.VersionTLS13},
		CipherSuites:     []uint16{tls.TLS_AES_128_GCM_SHA256},
		SignatureSchemes: []tls.SignatureScheme{tls.ECDSAWithP256AndSHA256, tls.PSSWithSHA256},
		SupportedCurves:  []tls.CurveID{tls.X25519, tls.CurveP256}}
	for {
		c, err := nd.edge.GetCertificate(hello)
		if want == nil && (err != nil || c == nil) || want != nil && err == nil && c != nil && bytes.Equal(c.Certificate[0], want.Cert.Raw) {
			return time.Since(from), true
		}
		if time.Since(from) > limit {
			return time.Since(from), false
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// seededID is the id of the i-th certificate seedBigSite seeds.
func seededID(i int) string { return fmt.Sprintf("%032x", i) }

// seedBigSite imports the active site big.test with n certificates, the
// i-th for h<i>.big.test. They share one leaf and key (the edge serves a
// certificate for the names the store lists, so each is served for its own
// name), each key sealed to its own id as SetCertificate seals it; they
// are imported in chunks, so that seeding a million is quick and holds
// little memory.
func seedBigSite(b *testing.B, store *sqlstore.Store, sealer domain.Sealer, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	instance, leaf, p := seedTemplate(b, store, now, "h0."+bigSite)
	var err error
	sites := []site.Site{{ID: bigSiteID, Name: bigSite, AccessType: "NS", Coverage: "overseas",
		Status: site.SiteActive, InstanceID: instance, VerifyCode: "v", Created: now, Updated: now}}
	const chunk = 20_000
	certs := make([]cert.Certificate, 0, chunk)
	for i := 0; i < n; {
		certs = certs[:0]
		for ; i < n && len(certs) < chunk; i++ {
			c := cert.Certificate{ID: seededID(i), SiteID: bigSiteID, Name: "c" + strconv.Itoa(i), Type: cert.TypeUpload,
				CertPEM: leaf.ChainPEM, ChainPEM: leaf.ChainPEM, Info: p.Info, Created: now, Updated: now}
			c.Info.SANs = []string{"h" + strconv.Itoa(i) + "." + bigSite}
			c.Info.CommonName = c.Info.SANs[0]
			if c.SealedKey, err = cert.SealKey(sealer, c.ID, []byte(leaf.KeyPEM)); err != nil {
				b.Fatal(err)
			}
			certs = append(certs, c)
		}
		if err := store.Import(ctx, sites, certs); err != nil {
			b.Fatal(err)
		}
		sites = nil
	}
}

// rssMB is this process's resident set size in MB (0 where /proc is not).
func rssMB() int {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb / 1024
		}
	}
	return 0
}
