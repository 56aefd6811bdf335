package edge

import (
	"fmt"
	"hash/maphash"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
)

// largeSite is one site of n ECDSA certificates (the SaaS case: a site
// serving its customers' names), each with its own id, sealed key and two
// names, an exact one and a wildcard. The leaves are one leaf's bytes (the
// index copies each, so their memory is as if they differed).
func largeSite(tb testing.TB, f *fixture, n int) SiteState {
	c, leaf := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.template.test")
	st := SiteState{ID: 1, Site: &site.Site{ID: 1, Name: "saas.test", Status: site.SiteActive}, Policy: DefaultSitePolicy(),
		Certificates: make([]cert.Certificate, n)}
	for i := range st.Certificates {
		cc := c
		cc.ID = fmt.Sprintf("%032x", i)
		sealed, err := cert.SealKey(f.sealer, cc.ID, []byte(leaf.KeyPEM))
		if err != nil {
			tb.Fatal(err)
		}
		cc.SealedKey = sealed
		cc.Info.SANs = []string{"c" + strconv.Itoa(i) + ".saas.test", "*.w" + strconv.Itoa(i) + ".saas.test"}
		st.Certificates[i] = cc
	}
	return st
}

// heapPeak runs op while sampling the Go heap's objects every millisecond,
// and returns the highest sample over the heap after a collection before
// op, and the bytes op allocated.
func heapPeak(op func()) (peak, allocated uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	runtime.GC()
	metrics.Read(sample)
	base, alloc0 := sample[0].Value.Uint64(), sample[1].Value.Uint64()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var high uint64
	wg.Add(1)
	go func() {
		defer wg.Done()
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			high = max(high, s[0].Value.Uint64())
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	op()
	close(stop)
	wg.Wait()
	metrics.Read(sample)
	high = max(high, sample[0].Value.Uint64())
	return high - min(base, high), sample[1].Value.Uint64() - alloc0
}

// heapObjects is the Go heap's objects after a collection.
func heapObjects() uint64 {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkSnapshotLargeSite writes and reads the snapshot of one site of
// 200,000 certificates (ESACERT_BENCH_SITE_CERTS to change), and reports
// the Go heap's peak above what it held before (peak-MB, sampled every
// millisecond), the bytes allocated (alloc-MB) and, for the read, the heap
// the index built keeps (kept-MB): peak-MB less kept-MB is what reading
// costs beyond the index. An edge's load holds the collector off
// (memtune.Load) unless GOGC or GOMEMLIMIT is set; GOGC=10 keeps the heap
// near what is live, to see that peak rather than that policy's:
//
//	GOGC=10 go test ./internal/edge -run '^$' -bench SnapshotLargeSite -benchtime 1x
func BenchmarkSnapshotLargeSite(b *testing.B) {
	n := 200_000
	if v := os.Getenv("ESACERT_BENCH_SITE_CERTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	f := newFixture(b)
	ix := load(maphash.MakeSeed(), []SiteState{largeSite(b, f, n)}, 1, now, false)
	path := filepath.Join(b.TempDir(), "edge-snapshot")
	const mb = 1 << 20
	b.Run("write", func(b *testing.B) {
		var peak, alloc uint64
		for i := 0; i < b.N; i++ {
			p, a := heapPeak(func() {
				if err := saveSnapshot(path, ix, now); err != nil {
					b.Fatal(err)
				}
			})
			peak, alloc = max(peak, p), max(alloc, a)
		}
		fi, _ := os.Stat(path)
		b.ReportMetric(float64(fi.Size())/mb, "file-MB")
		b.ReportMetric(float64(peak)/mb, "peak-MB")
		b.ReportMetric(float64(alloc)/mb, "alloc-MB")
	})
	b.Run("read+load", func(b *testing.B) {
		var peak, alloc, kept uint64
		for i := 0; i < b.N; i++ {
			var got *Index
			before := heapObjects()
			p, a := heapPeak(func() {
				var err error
				if got, _, _, err = loadSnapshot(maphash.MakeSeed(), path, now, false); err != nil { // as the edge does
					b.Fatal(err)
				}
			})
			if got.Names() != ix.Names() {
				b.Fatalf("%d names from the snapshot, want %d", got.Names(), ix.Names())
			}
			after := heapObjects()
			runtime.KeepAlive(got)
			peak, alloc, kept = max(peak, p), max(alloc, a), max(kept, after-min(before, after))
		}
		b.ReportMetric(float64(peak)/mb, "peak-MB")
		b.ReportMetric(float64(alloc)/mb, "alloc-MB")
		b.ReportMetric(float64(kept)/mb, "kept-MB")
	})
}
