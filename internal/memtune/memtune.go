// Package memtune keeps a node's garbage-collected heap close to what it
// holds live when most of that is a large, long-lived index.
//
// Go's collector lets the heap grow to twice what was live after the last
// collection (GOGC=100) before it collects again. For a process whose live
// heap is mostly an edge index of a million certificates that never turns
// over, that headroom is hundreds of megabytes of garbage allowed to pile up
// for nothing. Follow lowers the collector's percentage as the live heap
// grows, so that the headroom is a quarter of the live heap but at least
// MinHeadroom: GOGC=100 up to 256 MB live, 25 from 1 GB live on. Each
// collection marks the whole index, so a smaller headroom costs CPU in
// every handshake: with the headroom at a quarter from 128 MB live (an
// earlier MinHeadroom of 32 MB), an edge serving 100,000 names spent 41% of
// its CPU collecting under a full-handshake load and ran at 0.66-0.79x a
// bare crypto/tls server, against 0.9-1.0x with Go's default pace
// (cmd/edgebench). The floor keeps that pace for nodes of up to a few
// hundred thousand certificates, and bounds the headroom of the largest.
//
// An operator who sets GOGC or GOMEMLIMIT has chosen: Follow then changes
// nothing.
//
// HoldStacks (stacks.go) sizes the stacks new goroutines start with, for
// the same kind of process: few goroutines of its own, many short ones for
// connections.
package memtune

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// MinHeadroom is the least headroom Follow leaves the heap above what is
// live: a node whose live heap is under it keeps Go's default (GOGC=100).
const MinHeadroom = 256 << 20

// Every is how often Follow looks at the live heap.
const Every = 10 * time.Second

// Percent is the collector percentage Follow sets for a live heap of live
// bytes: headroom of a quarter of it, at least MinHeadroom, at most 100.
func Percent(live uint64) int {
	if live == 0 {
		return 100
	}
	head := max(live/4, MinHeadroom)
	return int(min(100, max(1, head*100/live)))
}

// Chosen reports whether the operator set the collector's pace (GOGC or
// GOMEMLIMIT in the environment).
func Chosen() bool {
	return os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != ""
}

var once sync.Once

// Follow first gives back to the system the heap the process does not use
// (after a first load, the garbage of building the index), then sets the
// collector's percentage from the live heap every Every, for as long as
// the process runs (the pace is the process's: a second call, by another
// node of the same process, does nothing). It returns at once, and does
// nothing at all when Chosen.
func Follow() {
	if Chosen() {
		return
	}
	once.Do(func() { go follow() })
}

func follow() {
	debug.FreeOSMemory()
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	set := 100
	t := time.NewTicker(Every)
	defer t.Stop()
	for {
		metrics.Read(sample)
		if sample[0].Value.Kind() == metrics.KindUint64 {
			if p := Percent(sample[0].Value.Uint64()); p != set {
				debug.SetGCPercent(p)
				set = p
			}
		}
		<-t.C
	}
}
