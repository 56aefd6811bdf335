package node

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/metrics"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// BenchmarkMetricsOverhead measures what the metrics cost a request and a
// handshake: the hooks alone (what the API and the edge call per request
// and per handshake), then the same work on a node without metrics and on
// one with them (--metrics-addr): an API request answered in the process
// (the cheapest: unsigned, so answered MissingParameter, where the hook
// weighs most), a signed ListSites over HTTP, and a full TLS 1.3 handshake
// (ECDSA P-256, a new connection each) on the edge.
//
//	go test ./internal/node -run '^$' -bench MetricsOverhead -benchtime 2s -count 5
func BenchmarkMetricsOverhead(b *testing.B) {
	m := metrics.New(metrics.Sources{}, edge.HandshakeOutcomes)
	b.Run("hooks/request_serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m.Request("ListSites", "OK", 150*time.Microsecond)
		}
	})
	b.Run("hooks/handshake_serial", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			m.Handshake(edge.TransportTCP, edge.HandshakeServed, 400*time.Microsecond)
		}
	})
	b.Run("hooks/request", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Request("ListSites", "OK", 150*time.Microsecond)
			}
		})
	})
	b.Run("hooks/handshake", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				m.Handshake(edge.TransportTCP, edge.HandshakeServed, 400*time.Microsecond)
			}
		})
	})

	for _, on := range []bool{false, true} {
		mode := map[bool]string{false: "off", true: "on"}[on]
		n := benchNode(b, on)
		h := *n.api.Load()
		b.Run("api_unsigned/"+mode, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, httptest.NewRequest("GET", "/?Action=ListSites&Version=2024-09-10", nil))
				if w.Code != http.StatusBadRequest {
					b.Fatalf("answered %d", w.Code)
				}
			}
		})
		b.Run("api_signed/"+mode, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := request(n, "2024-09-10", "ListSites", nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("handshake/"+mode, func(b *testing.B) {
			cfg := &tls.Config{ServerName: "www.bench-metrics.test", InsecureSkipVerify: true, MinVersion: tls.VersionTLS13}
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				conn, err := tls.Dial("tcp", n.HTTPSAddr(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				conn.Close()
			}
		})
		n.Shutdown(b.Context())
	}
}

// benchNode starts a node on SQLite, with metrics when on, serving one
// certificate for www.bench-metrics.test.
func benchNode(b *testing.B, on bool) *Node {
	b.Helper()
	cfg := config.Defaults()
	cfg.DataDir = b.TempDir()
	cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "esacert.db")
	cfg.APIAddr, cfg.HTTPSAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if on {
		cfg.MetricsAddr = "127.0.0.1:0"
	}
	n, err := Start(b.Context(), cfg, quiet)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	ca := pkitest.NewCA(b, "Bench Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(b, pkitest.LeafOptions{DNSNames: []string{"www.bench-metrics.test"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(60 * 24 * time.Hour)})
	site, err := request(n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "bench-metrics.test"})
	if err != nil {
		b.Fatal(err)
	}
	siteID := jsonNumber(site["body"].(map[string]any)["SiteId"])
	if _, err := request(n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM}); err != nil {
		b.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", n.HTTPSAddr(),
			&tls.Config{ServerName: "www.bench-metrics.test", InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("the certificate is not served: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n
}

// BenchmarkCertificateScrape measures a scrape of /metrics with 100,000
// certificates (on 100,000 sites, so 100,000 counts by site too) in a
// SQLite database: the first, which reads the certificates and builds
// their series, and the next ones within 30 seconds, which only encode
// what was read; it reports the size of the answer, and the heap the
// series read hold between two reads.
//
//	go test ./internal/node -run '^$' -bench CertificateScrape -benchtime 5x
func BenchmarkCertificateScrape(b *testing.B) {
	const n = 100_000
	store, err := sqlstore.Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "esacert.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	mk, _ := keyseal.Generate()
	sealer, _ := keyseal.New(mk)
	seedSites(b, store, sealer, n)
	newMetrics := func() *httptest.Server {
		m := metrics.New(metrics.Sources{Certificates: store.CertificateSummaries}, nil)
		srv := httptest.NewServer(m.Handler())
		b.Cleanup(srv.Close)
		return srv
	}
	scrape := func(b *testing.B, url string) int {
		resp, err := http.Get(url)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		size, _ := io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			b.Fatalf("scrape: %s", resp.Status)
		}
		return int(size)
	}
	b.Run("first", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			runtime.GC()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			srv := newMetrics()
			b.StartTimer()
			b.ReportMetric(float64(scrape(b, srv.URL))/(1<<20), "MB")
			b.StopTimer()
			runtime.GC()
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB-heap-held")
			b.StartTimer()
		}
	})
	b.Run("cached", func(b *testing.B) {
		srv := newMetrics()
		scrape(b, srv.URL)
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			b.ReportMetric(float64(scrape(b, srv.URL))/(1<<20), "MB")
		}
	})
}
