package edge

import "strings"

// slabs hands out the served, the siteConf and the strings of a bulk load
// (the edge's first load, from the store or from its snapshot, see
// indexBuilder) from a few large allocations instead of one each.
//
// The collector marks every live heap object at each cycle, and under a
// load of handshakes a cycle comes about once a second. What a cycle costs
// is mostly the objects it visits, each a cache miss, not their bytes:
// an index of 100,000 sites built one object at a time was about 400,000
// objects and 60 ms of CPU per cycle, 12% of a node's CPU under full
// handshakes (BenchmarkIndexMark). From slabs, the same index is a few
// thousand objects, marked in a few milliseconds (the slabs are scanned
// in order, and their strings are pointer-free).
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
	served []served        // the unused rest of the current slab of served
	confs  []siteConf      // the unused rest of the current slab of siteConf
	strs   strings.Builder // the current string slab: bytes appended, never rewritten
}

const (
	servedPerSlab = 64       // 64 × 240 B: 15 KiB a slab
	confsPerSlab  = 128      // 128 × 96 B: 12 KiB
	stringSlab    = 16 << 10 // bytes of a string slab
)

// newServed returns a zero served: from the current slab, or, with no
// slabs, on its own.
func (s *slabs) newServed() *served {
	if s == nil {
		return new(served)
	}
	return take(&s.served, servedPerSlab)
}

// newConf returns a zero siteConf: from the current slab, or, with no
// slabs, on its own.
func (s *slabs) newConf() *siteConf {
	if s == nil {
		return new(siteConf)
	}
	return take(&s.confs, confsPerSlab)
}

// take hands out the first element of the unused rest of a slab, a new
// slab of n elements when it is used up.
func take[T any](rest *[]T, n int) *T {
	if len(*rest) == 0 {
		*rest = make([]T, n)
	}
	p := &(*rest)[0]
	*rest = (*rest)[1:]
	return p
}

// pack replaces *first and the strings of rest by copies that share one
// allocation: a string slab's, or, with no slabs (or strings too long for
// a slab), one of their own.
func (s *slabs) pack(first *string, rest []string) {
	n := len(*first)
	for _, r := range rest {
		n += len(r)
	}
	var all string
	if s == nil || n > stringSlab/4 {
		var b strings.Builder
		b.Grow(n)
		writeAll(&b, first, rest)
		all = b.String()
	} else {
		if s.strs.Cap()-s.strs.Len() < n {
			s.strs = strings.Builder{}
			s.strs.Grow(stringSlab)
		}
		// A strings.Builder appends within its capacity without moving or
		// rewriting what it holds, so the strings it gave stay as they were.
		start := s.strs.Len()
		writeAll(&s.strs, first, rest)
		all = s.strs.String()[start:]
	}
	*first, all = all[:len(*first)], all[len(*first):]
	for i, r := range rest {
		rest[i], all = all[:len(r)], all[len(r):]
	}
}

func writeAll(b *strings.Builder, first *string, rest []string) {
	b.WriteString(*first)
	for _, r := range rest {
		b.WriteString(r)
	}
}
