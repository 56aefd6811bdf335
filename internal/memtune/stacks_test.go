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
	t.Logf("without holders: goroutines start with %d bytes of stack", startingStack(t))

	HoldStacks()
	HoldStacks() // once a process
	for range 3 {
		runtime.GC()
	}
	if got := startingStack(t); got != 8<<10 {
		t.Fatalf("with holders, goroutines start with %d bytes of stack, want %d", got, 8<<10)
	}
	if n := runtime.NumGoroutine(); n > 30+holders+10 {
		t.Fatalf("%d goroutines: HoldStacks started its holders more than once", n)
	}
}
