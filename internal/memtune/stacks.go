package memtune

import (
	"os"
	"runtime"
	"strings"
	"sync"
)

// holdersFor is how many goroutines HoldStacks parks in a process with
// procs Ps and goroutines goroutines: twice the shallow goroutines the
// average also counts (the process's, the collector's mark workers, one a
// P, and a few more of the runtime's), at least minHolders and at most
// maxHolders. A holder uses about 5.6 KB of stack and a waiting goroutine
// under 1 KB; an average over 4,096 bytes less the runtime's guard (928
// bytes) needs a little more holders than shallow goroutines.
func holdersFor(procs, goroutines int) int {
	return min(maxHolders, max(minHolders, 2*(procs+goroutines+8)))
}

const (
	minHolders = 64   // 512 KB of stacks
	maxHolders = 1024 // 8 MB
)

// holderFrames is how deep a holder calls itself; each call's frame holds
// holderFrame bytes.
const (
	holderFrames = 5
	holderFrame  = 1 << 10
)

var (
	holdOnce sync.Once
	holding  int                   // the holders started
	held     = make(chan struct{}) // never closed: holders wait for the process's life
)

// HoldStacks parks goroutines whose stacks are deep enough that new
// goroutines start with the stack a connection's handshake needs, once a
// process.
//
// Go starts each new goroutine with a stack the size of the average stack
// in use at the last collection (plus a guard, rounded up to a power of
// two; GODEBUG adaptivestackstart). A node's long-lived goroutines (its
// loops, the runtime's own) wait with shallow stacks, so under a load of a
// few connections at once the average is under 1 KB and every goroutine
// starts at the least, 2 KB. A connection's goroutine then copies its
// stack to a larger one two or three times in its handshake (each copy
// walks and rewrites every frame), and net/http's background reader of
// each request once more: 3–4% of a node's CPU under a load of handshakes
// (cmd/edgebench's profiles: runtime.newstack), which a server with few
// goroutines of its own, such as a bare crypto/tls one, does not pay.
//
// The holders' stacks are about 5.5 KB deep, and there are a few more of
// them than the process has shallow goroutines when it calls HoldStacks
// (holdersFor: 66 on a node of 2 cores and its 23 goroutines, 8 KB of
// stack each, about 530 KB in all), which lifts the average so that new goroutines start at 8 KB. A
// holder's depth plus the runtime's guard fit an 8 KB stack, so the holders
// cannot lift the start past 8 KB whatever else runs. Under a load of many
// connections at once, the connections' goroutines make most of the
// average themselves, as on any server; a process that later runs many
// more waiting goroutines of its own starts new ones at 4 KB again.
//
// It does nothing when the runtime sizes new stacks without the average
// (GODEBUG=adaptivestackstart=0).
func HoldStacks() {
	if strings.Contains(os.Getenv("GODEBUG"), "adaptivestackstart=0") {
		return
	}
	holdOnce.Do(func() {
		holding = holdersFor(runtime.GOMAXPROCS(0), runtime.NumGoroutine())
		for range holding {
			go hold(holderFrames)
		}
	})
}

// hold calls itself n times, each frame holderFrame bytes, and waits.
//
//go:noinline
func hold(n int) {
	var frame [holderFrame]byte
	touch(frame[:])
	if n > 1 {
		hold(n - 1)
		return
	}
	<-held
}

// touch keeps frame in its caller's stack frame (it does not escape).
//
//go:noinline
func touch(frame []byte) { frame[0] = 1 }
