package edge

import (
	"encoding/binary"
	"strings"
)

// slabs hands out the served, the siteConf and the strings of a bulk load
// (the edge's first load, from the store or from its snapshot, see
// indexBuilder) from a few large allocations instead of one each.
//
// The collector marks every live heap object at each cycle, and under a
// load of handshakes a cycle comes about once a second. What a cycle costs
// is mostly the objects it visits, each a cache miss, not their bytes:
// an index of 100,000 sites built one object at a time was about 400,000
// objects and 60 ms of CPU per cycle, 12% of a node's CPU under full
// handshakes (BenchmarkIndexMark). From slabs of 15 KiB, the same index was
// about 6,000 objects and 37 ms a cycle. Large slabs cost less again: Go
// gives an object over 32 KiB a span of its own, and a cycle marks and
// scans such objects faster per byte than many objects of 16 KiB (with
// slabs of up to 1 MiB, and the index's maps in one array each, pmap.go,
// 22-24 ms a cycle). So each slab is twice the one before, from the least
// to the most below: a load of a few sites takes a few small slabs, a
// large one mostly slabs of the most.
//
// A slab stays as long as any of its parts is referenced, with all of its
// parts: after the load, a site removed or a certificate replaced leaves its
// old parts in their slab while a neighbour lives. So a slab never holds
// more than what the load it came from held (as an arena chunk, arena.go),
// and a part is never written once handed out, as the index requires (a
// served is never changed once in an index).
//
// Updates after the load (Index.apply) allocate one object at a time, from
// a nil *slabs: they are few, and a slab would keep a whole slab alive per
// change.
type slabs struct {
	served  []served        // the unused rest of the current slab of served
	confs   []siteConf      // the unused rest of the current slab of siteConf
	strs    strings.Builder // the current string slab: bytes appended, never rewritten
	scratch []byte          // where a part's strings are put together before they go into strs
	arena   byteArena       // the certificates' leaves and sealed keys (arena.go)
	// The sizes of the last slab of each kind (0: none yet).
	servedN, confsN, strsN int
}

const (
	minServedPerSlab = 128      // 128 × 128 B: 16 KiB
	maxServedPerSlab = 8192     // 1 MiB
	minConfsPerSlab  = 128      // 128 × 48 B: 6 KiB
	maxConfsPerSlab  = 8192     // 384 KiB
	minStringSlab    = 16 << 10 // bytes of a string slab
	maxStringSlab    = 1 << 20
	longString       = 4 << 10 // strings of a part longer than this are allocated on their own
)

// grow returns the size of the next slab after one of n (0: none yet).
func grow(n, least, most int) int {
	return min(max(2*n, least), most)
}

// newServed returns a zero served: from the current slab, or, with no
// slabs, on its own.
func (s *slabs) newServed() *served {
	if s == nil {
		return new(served)
	}
	return take(&s.served, &s.servedN, minServedPerSlab, maxServedPerSlab)
}

// newConf returns a zero siteConf: from the current slab, or, with no
// slabs, on its own.
func (s *slabs) newConf() *siteConf {
	if s == nil {
		return new(siteConf)
	}
	return take(&s.confs, &s.confsN, minConfsPerSlab, maxConfsPerSlab)
}

// take hands out the first element of the unused rest of a slab, a new
// slab when it is used up: of twice the *n elements of the one before, at
// least least and at most most.
func take[T any](rest *[]T, n *int, least, most int) *T {
	if len(*rest) == 0 {
		*n = grow(*n, least, most)
		*rest = make([]T, *n)
	}
	p := &(*rest)[0]
	*rest = (*rest)[1:]
	return p
}

// bytes returns n bytes of the slabs' arena, and the chunk holding them
// (nil: on the heap); with no slabs, of the heap.
func (s *slabs) bytes(n int) ([]byte, *arenaChunk) {
	if s == nil {
		return make([]byte, n), nil
	}
	return s.arena.alloc(n)
}

// pack replaces *first and the strings of rest by copies that share one
// allocation: a string slab's, or, with no slabs (or strings too long for
// a slab), one of their own.
func (s *slabs) pack(first *string, rest []string) {
	buf := append(s.scratchBuf(), *first...)
	for _, r := range rest {
		buf = append(buf, r...)
	}
	all := s.str(buf)
	*first, all = all[:len(*first)], all[len(*first):]
	for i, r := range rest {
		rest[i], all = all[:len(r)], all[len(r):]
	}
}

// packServed returns a served's strs (served.go): id, then each of names
// that a certificate of site is served for (underSite, at most maxNameLen
// bytes), once, as a 2-byte length and its bytes.
func (s *slabs) packServed(id string, names []string, site string) string {
	buf := append(s.scratchBuf(), id...)
next:
	for i, n := range names {
		if len(n) > maxNameLen || !underSite(n, site) {
			continue
		}
		for _, m := range names[:i] {
			if m == n {
				continue next
			}
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(len(n)))
		buf = append(buf, n...)
	}
	return s.str(buf)
}

// scratchBuf returns an empty buffer to build a part's strings in: the
// slabs' own, reused (nil slabs: none).
func (s *slabs) scratchBuf() []byte {
	if s == nil {
		return nil
	}
	return s.scratch[:0]
}

// str returns b as a string in the current string slab, or, with no slabs
// (or too long for a slab), of its own. b must come from scratchBuf: str
// keeps it as the slabs' scratch, written again by the next part.
func (s *slabs) str(b []byte) string {
	if s == nil || len(b) > longString {
		return string(b)
	}
	s.scratch = b[:0]
	if s.strs.Cap()-s.strs.Len() < len(b) {
		s.strsN = grow(s.strsN, minStringSlab, maxStringSlab)
		s.strs = strings.Builder{}
		s.strs.Grow(s.strsN)
	}
	// A strings.Builder appends within its capacity without moving or
	// rewriting what it holds, so the strings it gave stay as they were.
	start := s.strs.Len()
	s.strs.Write(b)
	return s.strs.String()[start:]
}
