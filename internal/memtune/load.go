package memtune

import (
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// A bulk load (an edge building its index of a million certificates from
// its snapshot) grows the heap from nothing to most of what the process
// will hold, and nearly all of it stays live. Under Go's default pace the
// collector runs each time the heap doubles and marks everything built so
// far, again and again: about half of such a load's CPU. During a load
// Load turns collection by growth off and bounds the process's Go memory
// instead, so that the collector runs only when the heap nears that bound.

var loadMu sync.Mutex // one load's pace at a time

// LoadHeadroom is the bound Load sets for a load expected to add about
// grow bytes of Go memory: the memory in use now plus one and a half
// times grow, at least 64 MB more than now.
func LoadHeadroom(inUse, grow uint64) uint64 {
	return inUse + max(grow+grow/2, 64<<20)
}

// Load sets the collector's pace for a bulk load expected to add about
// grow bytes to the heap: no collection until the Go memory in use nears
// LoadHeadroom. The returned function restores the pace as it was; call it
// when the load is over. Load does nothing (and its function nothing)
// when Chosen: an operator's GOGC or GOMEMLIMIT holds during a load too.
func Load(grow uint64) (restore func()) {
	if Chosen() {
		return func() {}
	}
	loadMu.Lock()
	sample := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(sample)
	var inUse uint64
	if sample[0].Value.Kind() == metrics.KindUint64 && sample[1].Value.Kind() == metrics.KindUint64 {
		inUse = sample[0].Value.Uint64() - sample[1].Value.Uint64()
	}
	limit := LoadHeadroom(inUse, grow)
	prevLimit := debug.SetMemoryLimit(int64(min(limit, math.MaxInt64)))
	prevPercent := debug.SetGCPercent(-1)
	var once sync.Once
	return func() {
		once.Do(func() {
			debug.SetGCPercent(prevPercent)
			debug.SetMemoryLimit(prevLimit)
			loadMu.Unlock()
		})
	}
}
