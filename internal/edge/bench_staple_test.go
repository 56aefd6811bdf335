package edge

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
)

// freshStaples is a StapleSource that makes its staples when asked, as
// the store reads them: ids, fingerprints and responses allocated anew.
type freshStaples struct{ n, size int }

func (f freshStaples) Staples(_ context.Context, after int64) ([]Staple, int64, error) {
	if after > 0 {
		return nil, after, nil
	}
	list := make([]Staple, f.n)
	for i := range list {
		der := make([]byte, f.size)
		rand.Read(der)
		list[i] = Staple{CertificateID: fmt.Sprintf("%032x", i), Fingerprint: fmt.Sprintf("%064x", i), Status: cert.OCSPGood,
			Response: der, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(96 * time.Hour)}
	}
	return list, 1, nil
}

// BenchmarkStapleMemory: what the edge holds for a certificate's OCSP
// staple: 100,000 staples (responses of 471 bytes, the size of a P-256
// responder's answer about one certificate) read into an edge's map; heap
// bytes a staple, and beyond its response.
//
//	go test ./internal/edge -run '^$' -bench StapleMemory -benchtime 1x
func BenchmarkStapleMemory(b *testing.B) {
	const n, size = 100_000, 471
	for b.Loop() {
		e := &Edge{Staples: freshStaples{n, size}}
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := e.loadStaples(b.Context()); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "heap-B/staple")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n-size, "beyond-response-B/staple")
		runtime.KeepAlive(e)
	}
}
