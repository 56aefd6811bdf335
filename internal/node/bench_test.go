package node

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
)

// BenchmarkEdgeStart measures how long an edge takes from start to serving
// with 100,000 sites of one ECDSA certificate each in a SQLite database,
// and the memory the loaded index holds, on Go's heap and outside it.
//
//	go test ./internal/node -run '^$' -bench EdgeStart -benchtime 1x
func BenchmarkEdgeStart(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(b.TempDir(), "esacert.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	mk, _ := keyseal.Generate()
	sealer, _ := keyseal.New(mk)
	seedSites(b, store, sealer, n)
	held := &Node{} // holds the store for the edge's source
	held.db.Store(store)
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		off := edge.OffHeapBytes()
		e := &edge.Edge{Source: edgeSource{held}, Sealer: sealer, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: time.Hour}
		start := time.Now()
		ectx, cancel := context.WithCancel(ctx)
		if err := e.Start(ectx); err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		cancel()
		if e.Index().Names() != 2*n {
			b.Fatalf("index holds %d names", e.Index().Names())
		}
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(took.Seconds(), "s-to-serve")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-heap")
		b.ReportMetric(float64(edge.OffHeapBytes()-off)/(1<<20), "MB-off-heap") // the leaves and sealed keys (edge/arena.go)
		runtime.KeepAlive(e)
	}
}

// seedSites imports n active sites "siteI.test", each with one certificate
// for www.siteI.test and *.siteI.test sealed under sealer.
func seedSites(b *testing.B, store *sqlstore.Store, sealer domain.Sealer, n int) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	instance, leaf, p := seedTemplate(b, store, now, "www.template.test")
	var err error
	sites := make([]site.Site, n)
	certs := make([]cert.Certificate, n)
	for i := range sites {
		name := fmt.Sprintf("site%d.test", i)
		sites[i] = site.Site{ID: int64(1_000_000_000_000 + i), Name: name, AccessType: "NS", Coverage: "overseas",
			Status: site.SiteActive, InstanceID: instance, VerifyCode: "v", Created: now, Updated: now}
		c := cert.Certificate{ID: fmt.Sprintf("%032x", i), SiteID: sites[i].ID, Name: "c", Type: cert.TypeUpload,
			CertPEM: leaf.ChainPEM, ChainPEM: leaf.ChainPEM, Info: p.Info, Created: now, Updated: now}
		c.Info.SANs = []string{"www." + name, "*." + name}
		if c.SealedKey, err = cert.SealKey(sealer, c.ID, []byte(leaf.KeyPEM)); err != nil {
			b.Fatal(err)
		}
		certs[i] = c
	}
	if err := store.Import(ctx, sites, certs); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCommitToServed measures, on PostgreSQL with 10,000 sites, the
// time from a SetCertificate answered by an API node to the new
// certificate being served by another node's edge, while a steady stream
// of other updates (about 50 a second) goes on. It reports p50 and p99.
//
//	ESACERT_TEST_POSTGRES_DSN=… go test ./internal/node -run '^$' -bench CommitToServed -benchtime 200x
func BenchmarkCommitToServed(b *testing.B) {
	const n = 10_000
	dsn := storetest.PostgresDatabase(b)
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	mk, _ := keyseal.Generate()
	sealer, _ := keyseal.New(mk)
	seedSites(b, store, sealer, n)
	store.Close()

	cfg := config.Defaults()
	cfg.DB, cfg.MasterKey = dsn, hex.EncodeToString(mk)
	cfg.APIAddr, cfg.HTTPSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.AccessKeyID, cfg.AccessKeySecret = "LTAIbenchkey000000000001", "bench-secret-0123456789abcdef"
	start := func(roles string) *Node {
		c := cfg
		c.DataDir, c.Roles = b.TempDir(), roles
		nd, err := Start(ctx, c, quiet)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { nd.Shutdown(context.Background()) })
		return nd
	}
	api, edgeNode := start("api"), start("edge")
	now := time.Now()
	ca := pkitest.NewCA(b, "Stream Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // the steady stream of other updates
		defer wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			site := fmt.Sprintf("site%d.test", n-1-i%1000)
			l := ca.Leaf(b, pkitest.LeafOptions{DNSNames: []string{fmt.Sprintf("bg%d.%s", i, site)}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
			request(api, "2024-09-10", "SetCertificate", map[string]string{"SiteId": strconv.Itoa(1_000_000_000_000 + n - 1 - i%1000), "Type": "upload",
				"Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM})
		}
	}()
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		name := fmt.Sprintf("m%d.site%d.test", i, i%1000)
		l := ca.Leaf(b, pkitest.LeafOptions{DNSNames: []string{name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
		want := sha256.Sum256(l.Cert.Raw)
		b.StartTimer()
		if _, err := request(api, "2024-09-10", "SetCertificate", map[string]string{"SiteId": strconv.Itoa(1_000_000_000_000 + i%1000), "Type": "upload",
			"Certificate": l.ChainPEM, "PrivateKey": l.KeyPEM}); err != nil {
			b.Fatal(err)
		}
		committed := time.Now()
		for {
			if servedSum(edgeNode.HTTPSAddr(), name) == want {
				break
			}
			if time.Since(committed) > 10*time.Second {
				b.Fatalf("%s not served after 10s", name)
			}
			time.Sleep(time.Millisecond)
		}
		lat = append(lat, time.Since(committed))
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "ms-p99")
}

// servedSum is the SHA-256 of the leaf the edge at addr serves for name.
func servedSum(addr, name string) [32]byte {
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		return [32]byte{}
	}
	defer conn.Close()
	return sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
}

// BenchmarkSetCertificatePostgres measures SetCertificate throughput on
// PostgreSQL through one API node and through two (8 clients, each on a
// site of its own, spread over them). The nodes run in this process, so on a small machine both share
// its cores: the figure shows what the database allows, not a second
// machine's worth of CPU.
//
//	ESACERT_TEST_POSTGRES_DSN=… go test ./internal/node -run '^$' -bench SetCertificatePostgres -benchtime 2000x
func BenchmarkSetCertificatePostgres(b *testing.B) {
	for _, apis := range []int{1, 2} {
		b.Run(fmt.Sprintf("apis=%d", apis), func(b *testing.B) {
			dsn := storetest.PostgresDatabase(b)
			cfg := config.Defaults()
			mk, _ := keyseal.Generate()
			cfg.DB, cfg.MasterKey = dsn, hex.EncodeToString(mk)
			cfg.APIAddr, cfg.HTTPSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
			cfg.AccessKeyID, cfg.AccessKeySecret = "LTAIbenchkey000000000002", "bench-secret-0123456789abcdeg"
			cfg.Roles = "api"
			cfg.PlanLimits = map[string]config.PlanLimit{"basic": {}} // no limits
			var nodes []*Node
			for range apis {
				c := cfg
				c.DataDir = b.TempDir()
				nd, err := Start(context.Background(), c, quiet)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { nd.Shutdown(context.Background()) })
				nodes = append(nodes, nd)
			}
			const clients = 8 // each on a site of its own
			var siteIDs []string
			for w := range clients {
				site, err := request(nodes[0], "2024-09-10", "CreateSite", map[string]string{"SiteName": fmt.Sprintf("throughput%d.test", w)})
				if err != nil {
					b.Fatal(err)
				}
				siteIDs = append(siteIDs, fmt.Sprint(site["body"].(map[string]any)["SiteId"]))
			}
			now := time.Now()
			ca := pkitest.NewCA(b, "Throughput Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
			leaves := make([]*pkitest.Leaf, b.N)
			for i := range leaves {
				leaves[i] = ca.Leaf(b, pkitest.LeafOptions{DNSNames: []string{fmt.Sprintf("h%d.throughput%d.test", i, i%clients)},
					NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
			}
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := range clients {
				wg.Add(1)
				go func() {
					defer wg.Done()
					nd := nodes[w%len(nodes)]
					for i := w; i < b.N; i += clients { // this client's site: i % clients == w
						if _, err := request(nd, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteIDs[w], "Type": "upload",
							"Certificate": leaves[i].ChainPEM, "PrivateKey": leaves[i].KeyPEM}); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "uploads/s")
		})
	}
}

// seedTemplate makes the default instance of store and one leaf for name
// (with its key), checked as an upload is: what the seeding benchmarks
// list, under other names, as each of their certificates.
func seedTemplate(b *testing.B, store *sqlstore.Store, now time.Time, name string) (instance string, leaf *pkitest.Leaf, p *certcheck.Parsed) {
	b.Helper()
	svc := &site.Service{Store: store}
	if err := svc.EnsureDefaultInstance(context.Background()); err != nil {
		b.Fatal(err)
	}
	instance, _ = svc.DefaultInstanceID()
	ca := pkitest.NewCA(b, "Seed Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf = ca.Leaf(b, pkitest.LeafOptions{DNSNames: []string{name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	p, err := certcheck.Check(leaf.ChainPEM, leaf.KeyPEM, now)
	if err != nil {
		b.Fatal(err)
	}
	return instance, leaf, p
}
