//go:build unix

package edge

import (
	"runtime"
	"slices"
	"syscall"
	"testing"
	"time"
)

// BenchmarkIndexMark reports what a collection of a heap holding an index
// of 100,000 sites (one ECDSA certificate each, for two names, built as
// BenchmarkIndexObjects builds it) costs: the median wall time and CPU
// time (user and system, of the whole process) of a forced runtime.GC
// over ten collections, and the heap objects and bytes then live. The
// collector marks every object of the index at each cycle, so this is
// what the index adds to each cycle under load. "hinted" first attaches
// every certificate to a cache entry (a handshake's hint, certcache.go),
// as after a load of full handshakes over all of them.
//
//	go test ./internal/edge -run '^$' -bench IndexMark -benchtime 1x
func BenchmarkIndexMark(b *testing.B) {
	const n = 100_000
	f := newFixture(b)
	for _, hinted := range []bool{false, true} {
		name := "cold"
		if hinted {
			name = "hinted"
		}
		b.Run(name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				ix := markIndex(b, f, n)
				var cc *certCache
				if hinted {
					cc = newCertCache(2 * n)
					ix.exact.each(func(c candidates) bool {
						for _, sv := range c {
							cc.get(sv, func(*served, *certEntry) error { return nil })
						}
						return true
					})
				}
				wall, cpu, objects, bytes := forcedGC(10)
				b.ReportMetric(float64(wall.Microseconds())/1000, "ms-wall/gc")
				b.ReportMetric(float64(cpu.Microseconds())/1000, "ms-cpu/gc")
				b.ReportMetric(float64(objects), "heap-objects")
				b.ReportMetric(float64(bytes)/(1<<20), "MB-heap")
				runtime.KeepAlive(ix)
				runtime.KeepAlive(cc)
			}
		})
	}
}

// markIndex builds an index of n synthetic sites of two names whose
// strings are each their own, as BenchmarkIndexObjects does, and drops
// everything else.
func markIndex(b *testing.B, f *fixture, n int) *Index {
	return ownStringsIndex(syntheticSites(b, f, n), 2)
}

// forcedGC runs runtime.GC rounds times, after two to collect the garbage
// of the setup, and returns the median wall and process CPU time of one,
// and the heap objects and bytes live after the last.
func forcedGC(rounds int) (wall, cpu time.Duration, objects, bytes uint64) {
	runtime.GC()
	runtime.GC()
	walls, cpus := make([]time.Duration, rounds), make([]time.Duration, rounds)
	for i := range rounds {
		c0, t0 := processCPU(), time.Now()
		runtime.GC()
		walls[i], cpus[i] = time.Since(t0), processCPU()-c0
	}
	slices.Sort(walls)
	slices.Sort(cpus)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return walls[rounds/2], cpus[rounds/2], ms.HeapObjects, ms.HeapAlloc
}

// processCPU is the user and system time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
