package edge

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

// BenchmarkServedMemory reports the memory of an edge holding 50,000
// certificates (ECDSA P-256, one site each, each with its own chain and
// sealed key bytes as from a database) when ready, and after each of its
// 50,000 names was served once (GetCertificate, what a handshake calls):
// Go's heap in use and the process's RSS, after a GC that returns what it
// can to the system. The cache has its default size. The heap figures do
// not count the leaves and sealed keys kept outside the heap (arena.go);
// the RSS does.
//
//	go test ./internal/edge -run '^$' -bench ServedMemory -benchtime 1x
func BenchmarkServedMemory(b *testing.B) {
	const n = 50_000
	f := newFixture(b)
	for i := 0; i < b.N; i++ {
		src := newMemSource()
		for _, st := range syntheticSites(b, f, n) {
			c := &st.Certificates[0] // bytes of its own, as loaded from a database
			c.ChainPEM = string([]byte(c.ChainPEM))
			c.SealedKey = bytes.Clone(c.SealedKey)
			src.sites[st.ID] = st
		}
		e, _ := startEdge(b, src, f.sealer)
		src.sites = nil // the edge keeps what it needs
		heap, rss := memNow()
		b.ReportMetric(heap, "ready-heap-MB")
		b.ReportMetric(rss, "ready-rss-MB")
		for j := 0; j < n; j++ {
			c, err := e.GetCertificate(&tls.ClientHelloInfo{ServerName: "www.site" + strconv.Itoa(j) + ".test"})
			if err != nil || c == nil {
				b.Fatalf("site %d not served: %v", j, err)
			}
		}
		heap, rss = memNow()
		b.ReportMetric(heap, "served-heap-MB")
		b.ReportMetric(rss, "served-rss-MB")
		runtime.KeepAlive(e)
	}
}

// memNow returns the heap in use and the RSS, in MB, after a GC.
func memNow() (heap, rss float64) {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	heap = float64(m.HeapInuse) / (1 << 20)
	if statm, err := os.ReadFile("/proc/self/statm"); err == nil {
		var size, res int64
		if _, err := fmt.Sscan(string(statm), &size, &res); err == nil {
			rss = float64(res*int64(os.Getpagesize())) / (1 << 20)
		}
	}
	return heap, rss
}

// BenchmarkCertCache measures the certificate cache: GetCertificate on a
// hit (in parallel, as handshakes run) and on a miss (an unseal and a
// parse each time), and full TLS 1.3 handshakes with a warm cache and with
// every handshake missing. The edge holds 50,000 certificates.
//
//	go test ./internal/edge -run '^$' -bench CertCache -benchtime 3s
func BenchmarkCertCache(b *testing.B) {
	f := newFixture(b)
	src := newMemSource()
	for _, st := range syntheticSites(b, f, 50_000) {
		src.sites[st.ID] = st
	}
	warm, warmAddr := startEdge(b, src, f.sealer)
	cold, coldAddr := serveEdge(b, &Edge{Source: src, Sealer: f.sealer, Poll: warm.Poll, CertCache: 1})
	hello := func(i int) *tls.ClientHelloInfo {
		return &tls.ClientHelloInfo{ServerName: "www.site" + strconv.Itoa(i%1000*37) + ".test"}
	}
	hellos := make([]*tls.ClientHelloInfo, 1000)
	for i := range hellos {
		hellos[i] = hello(i)
		if _, err := warm.GetCertificate(hellos[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("get_hit", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if c, _ := warm.GetCertificate(hellos[i%1000]); c == nil {
					b.Fatal("not served")
				}
				i++
			}
		})
	})
	b.Run("get_miss", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if c, _ := cold.GetCertificate(hellos[i%1000]); c == nil {
				b.Fatal("not served")
			}
		}
	})
	run := func(b *testing.B, addr string) {
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13,
					ServerName: hellos[i%1000].ServerName})
				if err != nil {
					b.Fatal(err)
				}
				conn.Close()
				i += 7
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "handshakes/s")
	}
	b.Run("handshake_warm", func(b *testing.B) { run(b, warmAddr) })
	b.Run("handshake_all_miss", func(b *testing.B) { run(b, coldAddr) })
}
