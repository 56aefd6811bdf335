package edge

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// BenchmarkResumption compares full TLS 1.3 handshakes with resumed ones
// (a client's session cache holding a ticket) on the edge with tickets on,
// and on nginx with session tickets on when it is installed (skipped with
// a message otherwise). One client, one connection at a time, on loopback;
// each connection is closed right after its handshake.
//
//	go test ./internal/edge -run '^$' -bench Resumption -benchtime 2s
func BenchmarkResumption(b *testing.B) {
	f := newFixture(b)
	c, leaf := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, c))
	keys := &ticketkeyKeeper{}
	keys.init(b, f)
	_, addr := serveEdge(b, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Tickets: keys.k})
	runVersion := func(b *testing.B, addr string, resume bool, v uint16) {
		cfg := &tls.Config{InsecureSkipVerify: true, ServerName: "www.example.com", MinVersion: v, MaxVersion: v}
		if resume {
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(8)
			if _, _, err := visit(b, addr, "www.example.com", cfg); err != nil {
				b.Fatal(err)
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			conn, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				b.Fatal(err)
			}
			if conn.ConnectionState().DidResume != resume {
				b.Fatalf("resumed %v, want %v", !resume, resume)
			}
			conn.Close()
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	}
	run := func(b *testing.B, addr string, resume bool) {
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			b.Run(strings.ReplaceAll(tls.VersionName(v), " ", ""), func(b *testing.B) { runVersion(b, addr, resume, v) })
		}
	}
	b.Run("edge_full", func(b *testing.B) { run(b, addr, false) })
	b.Run("edge_resumed", func(b *testing.B) { run(b, addr, true) })
	nginxAddr, _, why := startNginx(b, nginxSetup{Chain: leaf.ChainPEM, Key: leaf.KeyPEM, Tickets: true})
	b.Run("nginx_full", func(b *testing.B) {
		if why != "" {
			b.Skip(why)
		}
		run(b, nginxAddr, false)
	})
	b.Run("nginx_resumed", func(b *testing.B) {
		if why != "" {
			b.Skip(why)
		}
		run(b, nginxAddr, true)
	})
}
