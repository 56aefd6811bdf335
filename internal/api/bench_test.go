package api

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// benchLeaf mints a leaf of key type kt under a fresh CA, for bench.com.
func benchLeaf(b *testing.B, kt pkitest.KeyType) *pkitest.Leaf {
	now := time.Now()
	ca := pkitest.NewCA(b, "Bench Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	inter := ca.Intermediate(b, "Bench Intermediate", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	return inter.Leaf(b, pkitest.LeafOptions{DNSNames: []string{"www.bench.com", "bench.com"}, KeyType: kt,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
}

// reportLatency adds the p50 and p99 of lat to the benchmark's output.
func reportLatency(b *testing.B, lat []time.Duration, unit string, scale time.Duration) {
	if len(lat) == 0 {
		return
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))]) / float64(scale) }
	b.ReportMetric(p(0.50), "p50-"+unit)
	b.ReportMetric(p(0.99), "p99-"+unit)
}

// BenchmarkSetCertificateHTTP uploads certificates through the real HTTP
// API (signed RPC requests, the envelope, validation, sealing, and the
// SQLite commit), one request at a time. Run it on one core:
//
//	go test ./internal/api -run '^$' -bench SetCertificateHTTP -cpu 1 -benchtime 3s
//
// The audited cases keep the audit trail as a node does (the event written
// in the certificate's transaction); the target is at most 10% fewer
// uploads a second than without.
func BenchmarkSetCertificateHTTP(b *testing.B) {
	for _, c := range []struct {
		kt      pkitest.KeyType
		audited bool
	}{{"ecdsa-p256", false}, {"rsa-2048", false}, {"ecdsa-p256", true}, {"rsa-2048", true}} {
		kt := c.kt
		name := string(kt)
		if c.audited {
			name += "/audited"
		}
		b.Run(name, func(b *testing.B) {
			leaf := benchLeaf(b, kt)
			store, err := sqlstore.Open(b.Context(), "sqlite:"+filepath.Join(b.TempDir(), "esacert.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer store.Close()
			mk, _ := keyseal.Generate()
			sealer, _ := keyseal.New(mk)
			limits := site.DefaultLimits()
			limits[site.TierBasic] = site.Limits{} // no quota: every iteration adds one
			sites := &site.Service{Store: store, Limits: limits}
			svc := &cert.Service{Sites: store, Certs: store, Repo: store, Sealer: sealer, Limits: limits}
			if err := sites.EnsureDefaultInstance(b.Context()); err != nil {
				b.Fatal(err)
			}
			st, err := sites.CreateSite(b.Context(), site.CreateSiteInput{Name: "bench.com"})
			if err != nil {
				b.Fatal(err)
			}
			s := &Server{Sites: sites, Certs: svc, Keys: accesskey.NewRing(accesskey.Key{ID: "benchAK", Secret: "benchSecret"}),
				Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
			if c.audited {
				s.Audit = store
			}
			hs := httptest.NewServer(s)
			defer hs.Close()
			client := hs.Client()
			sig := &signer{key: "benchAK", secret: "benchSecret", now: time.Now()}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				sig.now = time.Now()
				req := sig.rpc(b, hs.URL, "POST", "SetCertificate", nil, url.Values{"SiteId": {fmt.Sprint(st.ID)},
					"Type": {"upload"}, "Name": {fmt.Sprintf("bench-%d", i)}, "Certificate": {leaf.ChainPEM}, "PrivateKey": {leaf.KeyPEM}})
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("SetCertificate answered %d", resp.StatusCode)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
			reportLatency(b, lat, "ms", time.Millisecond)
		})
	}
}

// BenchmarkSetCertificateValidation is the validation SetCertificate does
// before the database: parse and check certificate and key, build the
// chain, match the site's names, and seal the key.
//
//	go test ./internal/api -run '^$' -bench SetCertificateValidation -cpu 1
func BenchmarkSetCertificateValidation(b *testing.B) {
	for _, kt := range []pkitest.KeyType{"ecdsa-p256", "rsa-2048"} {
		b.Run(string(kt), func(b *testing.B) {
			leaf := benchLeaf(b, kt)
			mk, _ := keyseal.Generate()
			sealer, _ := keyseal.New(mk)
			now := time.Now()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				p, err := certcheck.Check(leaf.ChainPEM, leaf.KeyPEM, now)
				if err != nil {
					b.Fatal(err)
				}
				if !certcheck.MatchesSite(certcheck.Names(p.Leaf), "bench.com") {
					b.Fatal("no match")
				}
				if _, err := sealer.Seal([]byte(leaf.KeyPEM), []byte("certificate:x")); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			reportLatency(b, lat, "µs", time.Microsecond)
		})
	}
}
