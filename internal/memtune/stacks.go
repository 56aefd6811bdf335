package memtune

import (
	"os"
	"strings"
	"sync"
)

// holders is how many goroutines HoldStacks parks.
const holders = 64

// holderFrames is how deep a holder calls itself; each call's frame holds
// holderFrame bytes.
const (
	holderFrames = 5
	holderFrame  = 1 << 10
)

var (
	holdOnce sync.Once
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
// The holders' stacks are about 5.5 KB deep, which lifts the average so
// that new goroutines start at 8 KB. A holder's depth plus the runtime's
// guard fit an 8 KB stack, so the holders cannot lift the start past 8 KB
// whatever else runs, and they hold 512 KB in all. Under a load of many
// connections at once, the connections' goroutines make most of the
// average themselves, as on any server.
//
// It does nothing when the runtime sizes new stacks without the average
// (GODEBUG=adaptivestackstart=0).
func HoldStacks() {
	if strings.Contains(os.Getenv("GODEBUG"), "adaptivestackstart=0") {
		return
	}
	holdOnce.Do(func() {
		for range holders {
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
