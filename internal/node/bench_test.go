package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/edge"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// BenchmarkEdgeStart measures how long an edge takes from start to serving
// with 100,000 sites of one ECDSA certificate each in a SQLite database,
// and the heap the loaded index holds.
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
	svc := &cert.Service{Sites: store, Certs: store, Repo: store, Records: store, HTTPS: store, Sealer: sealer}
	if err := svc.EnsureDefaultInstance(ctx); err != nil {
		b.Fatal(err)
	}
	instance, _ := svc.DefaultInstanceID()
	now := time.Now()
	ca := pkitest.NewCA(b, "Start Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(b, pkitest.LeafOptions{DNSNames: []string{"www.template.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	p, err := certcheck.Check(leaf.ChainPEM, leaf.KeyPEM, now)
	if err != nil {
		b.Fatal(err)
	}
	sites := make([]cert.Site, n)
	certs := make([]cert.Certificate, n)
	for i := range sites {
		name := fmt.Sprintf("site%d.test", i)
		sites[i] = cert.Site{ID: int64(1_000_000_000_000 + i), Name: name, AccessType: "NS", Coverage: "overseas",
			Status: cert.SiteActive, InstanceID: instance, VerifyCode: "v", Created: now, Updated: now}
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
	sites, certs = nil, nil
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		e := &edge.Edge{Source: edgeSource{store}, Sealer: sealer, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Poll: time.Hour}
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
		runtime.KeepAlive(e)
	}
}
