package edge

import (
	"runtime"
	"sync/atomic"
	"time"
)

// The leaves' DER and sealed keys of certificates loaded in bulk (an edge's
// first load, from the store or from its snapshot) are most of an index's
// bytes: about 750 of a certificate's 1,300 at a million certificates. They
// are copied into chunks of memory taken from the system outside Go's heap
// (see arena_unix.go), for two reasons:
//
//   - Go's collector lets the heap grow to twice what is live before it
//     collects (GOGC=100): bytes kept outside the heap are not doubled, so
//     a loaded million certificates cost about 750 MB less at the peak.
//   - A chunk holds thousands of certificates' bytes back to back, without
//     the rounding of each allocation to a size class.
//
// A chunk is given back to the system when no served points into it any
// more (each served from a chunk holds it, served.mem; a cleanup unmaps
// it). Nothing else may keep a slice of a chunk: what outlives the served
// it came from (a certificate built for handshakes, certcache.go) is a
// copy on Go's heap. Updates after the first load keep their bytes on the
// heap, so a chunk is never written after its load and holds at most what
// that load held.
type byteArena struct {
	chunk *arenaChunk
	free  []byte // the unused rest of chunk
}

// arenaChunk is one chunk of an arena, unmapped when unreachable.
type arenaChunk struct {
	mem []byte
}

// arenaChunkSize is the size of a chunk: 4 MiB, about 5,000 certificates.
const arenaChunkSize = 4 << 20

// unmapDelay is how long after a chunk became unreachable it is unmapped
// (a time.Duration; tests shorten it).
var unmapDelay atomic.Int64

func init() { unmapDelay.Store(int64(5 * time.Second)) }

// arenaBytes counts the bytes of the chunks mapped.
var arenaBytes atomic.Int64

// OffHeapBytes is the memory the process's edges hold outside Go's heap:
// the arena chunks mapped and not yet given back (Go's heap statistics do
// not count them).
func OffHeapBytes() int64 { return arenaBytes.Load() }

// alloc returns n bytes of the arena and the chunk holding them; n too
// large for a chunk, or a chunk the system refuses, gives bytes of the
// heap (chunk nil).
func (a *byteArena) alloc(n int) ([]byte, *arenaChunk) {
	if n > arenaChunkSize/4 {
		return make([]byte, n), nil
	}
	if n > len(a.free) {
		mem, err := mapChunk(arenaChunkSize)
		if err != nil {
			return make([]byte, n), nil
		}
		a.chunk = &arenaChunk{mem: mem}
		a.free = mem
		arenaBytes.Add(int64(len(mem)))
		runtime.AddCleanup(a.chunk, func(mem []byte) {
			// Unmapped a while after the chunk became unreachable, not at
			// once: code reading a served's bytes (a handshake comparing
			// a leaf) may hold a slice of them a moment after its last
			// use of the served itself, while an update drops that served.
			time.AfterFunc(time.Duration(unmapDelay.Load()), func() {
				arenaBytes.Add(-int64(len(mem)))
				unmapChunk(mem)
			})
		}, mem)
	}
	out := a.free[:n:n]
	a.free = a.free[n:]
	return out, a.chunk
}

// placedBytes is a certificate's leaf and sealed key side by side (a
// served's bytes), and the chunk holding them (nil: on the heap).
type placedBytes struct {
	both  []byte
	chunk *arenaChunk
}

// put copies leaf and sealed into the arena, side by side in one chunk.
func (a *byteArena) put(leaf, sealed []byte) placedBytes {
	mem, chunk := a.alloc(len(leaf) + len(sealed))
	copy(mem, leaf)
	copy(mem[len(leaf):], sealed)
	return placedBytes{both: mem, chunk: chunk}
}
