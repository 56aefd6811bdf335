package memtune

import (
	"os"
	"runtime"
	"runtime/metrics"
	"strings"
	"testing"
)

// startingStack is the size the runtime starts new goroutines' stacks at.
func startingStack(t *testing.T) uint64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/stack/starting-size:bytes"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Skip("this Go has no /gc/stack/starting-size:bytes")
	}
	return s[0].Value.Uint64()
}

// TestHoldStacks: with a node's shallow goroutines waiting, new goroutines
// start at the least stack; with the holders, at 8 KB, and not more.
func TestHoldStacks(t *testing.T) {
	if strings.Contains(os.Getenv("GODEBUG"), "adaptivestackstart=0") {
		t.Skip("GODEBUG=adaptivestackstart=0: the runtime does not size stacks by their average")
	}
	done := make(chan struct{})
	defer close(done)
	for range 30 { // a node's loops and the runtime's own goroutines, waiting
		go func() { <-done }()
	}
	runtime.GC()
	runtime.GC()
	if holding == 0 { // not yet started by an earlier run (-count)
		t.Logf("without holders: goroutines start with %d bytes of stack", startingStack(t))
	}

	before := runtime.NumGoroutine()
	HoldStacks()
	HoldStacks() // once a process
	for range 3 {
		runtime.GC()
	}
	if got := startingStack(t); got != 8<<10 {
		t.Fatalf("with %d holders and %d Ps, goroutines start with %d bytes of stack, want %d",
			holding, runtime.GOMAXPROCS(0), got, 8<<10)
	}
	if n := runtime.NumGoroutine(); n > before+holding {
		t.Fatalf("%d goroutines, %d before: HoldStacks started its holders more than once", n, before)
	}
}

// TestHoldersFor: at least 64, a few more than the shallow goroutines,
// bounded.
func TestHoldersFor(t *testing.T) {
	for _, c := range []struct{ procs, goroutines, want int }{
		{2, 23, 66},
		{1, 1, 64},
		{64, 23, 190},
		{512, 10000, 1024},
	} {
		if got := holdersFor(c.procs, c.goroutines); got != c.want {
			t.Errorf("holdersFor(%d, %d) = %d, want %d", c.procs, c.goroutines, got, c.want)
		}
	}
}
