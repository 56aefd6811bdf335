package edge

import "hash/maphash"

// pmap is a persistent map from strings to V: a value is never changed once
// built, so readers need no lock, and an editor makes a new map that shares
// all but the touched parts with the old one. Keys are spread by hash over
// 256 groups of 256 shards; a change copies the group table (256 pointers
// and counts), one group (256 slots) and one small shard, so its cost does
// not grow with the number of keys (65,536 shards hold a million keys at
// about 15 a shard), but for the packing of a group's entries (see group),
// which costs in proportion to the changes made since the last one.
//
// Each slot keeps a 64-bit Bloom filter of its shard's keys next to the
// shard, so most lookups of an absent key stop at the group, which stays in
// cache, without touching the shard: the exact-name miss that precedes every
// wildcard lookup costs about one cache line.
//
// A shard is a short slice of entries that carry their key's full hash: a
// lookup compares 8-byte hashes in a line or two and reads a key's bytes only
// for the entry that matches. (A Go map per shard cost about two more cache
// misses per lookup: 336 against 184 ns at a million names on one machine.)
type pmap[V any] struct {
	seed   maphash.Seed
	groups *[256]*group[V]
	dead   *[256]int32 // by group: the entries its shards left behind in its packed array (at most)
	n      int
}

// group is 256 shards. Their entries are packed back to back in one array,
// so that the collector, which marks every object of the index in each
// cycle, sees one object a group rather than one a shard. A shard that an
// edit changes gets an array of its own (the packed one is shared with
// older maps, and never written), and the entries it leaves in the packed
// one are dead: they still hold their values. So the edit that makes them
// outnumber the live entries packs its group again, which keeps the dead
// below half of a group and the cost of packing in proportion to the
// changes made.
// A map built whole (builder, the first load) goes further: its groups
// lie in one array, and the entries of all of them in another, two large
// objects, which a collection marks faster than two objects a group (see
// slab.go). A group an edit copies, or packs again, gets its own; the two
// arrays stay while any group or shard of any map still points into them,
// with the entries they hold (dead ones too, and what their values hold),
// as a slab does: never more than the load that built them held.
// (The dead are counted beside the group, in pmap.dead: a count in the
// group itself would take it past the 8 KiB size class.)
type group[V any] struct {
	slots [256]slot[V]
}

// pack copies the group's entries into one new array, each shard's next
// to the one before; a shard's slice ends at its last entry, so an append
// to it never writes into the next one.
func (g *group[V]) pack() {
	g.packInto(make([]entry[V], 0, g.live()))
}

// packInto is pack into all, which has room for the group's entries; it
// returns the rest of all.
func (g *group[V]) packInto(all []entry[V]) []entry[V] {
	for i := range g.slots {
		sl := &g.slots[i]
		if len(sl.ents) == 0 {
			sl.ents = nil
			continue
		}
		start := len(all)
		all = append(all, sl.ents...)
		sl.ents = all[start:len(all):len(all)]
	}
	return all[len(all):]
}

// live is the number of entries of the group's shards.
func (g *group[V]) live() int {
	n := 0
	for i := range g.slots {
		n += len(g.slots[i].ents)
	}
	return n
}

type slot[V any] struct {
	bloom uint64
	ents  []entry[V] // the shard: a few entries, scanned by hash
}

// entry is one key of a shard with its full hash, compared before the key
// so that a lookup reads the key's bytes only for the entry that matches.
type entry[V any] struct {
	h uint64
	k string
	v V
}

// find returns the index of key (hash h) in the shard, or -1.
func (sl *slot[V]) find(h uint64, key string) int {
	for i := range sl.ents {
		if sl.ents[i].h == h && sl.ents[i].k == key {
			return i
		}
	}
	return -1
}

func newPmap[V any](seed maphash.Seed) pmap[V] {
	return pmap[V]{seed: seed, groups: new([256]*group[V]), dead: new([256]int32)}
}

// bits are the two Bloom bits of a key's hash (from bits the shard choice
// does not use).
func bits(h uint64) uint64 { return 1<<(h&63) | 1<<((h>>6)&63) }

// Get returns the value for key. It does not allocate.
func (m pmap[V]) Get(key string) (V, bool) {
	var zero V
	h := maphash.String(m.seed, key)
	grp := m.groups[h>>56]
	if grp == nil {
		return zero, false
	}
	sl := &grp.slots[uint8(h>>48)]
	if b := bits(h); sl.bloom&b != b {
		return zero, false
	}
	if i := sl.find(h, key); i >= 0 {
		return sl.ents[i].v, true
	}
	return zero, false
}

// Len is the number of keys.
func (m pmap[V]) Len() int { return m.n }

// editor applies many changes to a pmap, copying each touched table,
// group and shard once however many of its keys change; the map it started
// from is left as it was.
type editor[V any] struct {
	m      pmap[V]
	groups bool            // the group table and the dead counts are private copies
	copied map[uint8]bool  // groups that are private copies
	shards map[uint16]bool // shards that are private copies
}

func (m pmap[V]) edit() *editor[V] {
	return &editor[V]{m: m, copied: map[uint8]bool{}, shards: map[uint16]bool{}}
}

func (e *editor[V]) get(key string) (V, bool) { return e.m.Get(key) }

// slot returns key's slot with a private copy of its shard, to write to.
func (e *editor[V]) slot(key string) (*slot[V], uint64) {
	h := maphash.String(e.m.seed, key)
	g, s := uint8(h>>56), uint8(h>>48)
	if !e.groups {
		groups, dead := *e.m.groups, *e.m.dead
		e.m.groups, e.m.dead = &groups, &dead
		e.groups = true
	}
	if !e.copied[g] {
		grp := new(group[V])
		if e.m.groups[g] != nil {
			*grp = *e.m.groups[g]
		}
		e.m.groups[g] = grp
		e.copied[g] = true
	}
	grp := e.m.groups[g]
	sl := &grp.slots[s]
	if id := uint16(g)<<8 | uint16(s); !e.shards[id] {
		e.m.dead[g] += int32(len(sl.ents))
		sl.ents = append(make([]entry[V], 0, len(sl.ents)+1), sl.ents...)
		e.shards[id] = true
	}
	return sl, h
}

func (e *editor[V]) set(key string, v V) {
	sl, h := e.slot(key)
	sl.put(h, key, v, &e.m.n)
}

// put sets key (hash h) in the shard, counting a new key in n.
func (sl *slot[V]) put(h uint64, key string, v V, n *int) {
	if i := sl.find(h, key); i >= 0 {
		sl.ents[i].v = v
		return
	}
	sl.ents = append(sl.ents, entry[V]{h: h, k: key, v: v})
	sl.bloom |= bits(h)
	*n++
}

func (e *editor[V]) remove(key string) {
	if _, had := e.m.Get(key); !had {
		return
	}
	sl, h := e.slot(key)
	i := sl.find(h, key)
	last := len(sl.ents) - 1
	sl.ents[i] = sl.ents[last]
	sl.ents[last] = entry[V]{} // let the removed value go
	sl.ents = sl.ents[:last]
	e.m.n--
	sl.bloom = 0 // rebuilt from the keys left, so that filters stay tight
	for _, x := range sl.ents {
		sl.bloom |= bits(x.h)
	}
}

// done returns the edited map, its groups packed again where their dead
// entries outnumber the live ones; the editor must not be used afterwards.
func (e *editor[V]) done() pmap[V] {
	for g := range e.copied {
		if grp := e.m.groups[g]; int(e.m.dead[g]) > grp.live() {
			grp.pack()
			e.m.dead[g] = 0
		}
	}
	return e.m
}

// builder fills a pmap in place before it is published: for the first
// load, where copying on every insert would be wasted.
type builder[V any] struct{ m pmap[V] }

func newBuilder[V any](seed maphash.Seed) *builder[V] {
	return &builder[V]{m: newPmap[V](seed)}
}

func (b *builder[V]) get(key string) (V, bool) { return b.m.Get(key) }

func (b *builder[V]) set(key string, v V) {
	h := maphash.String(b.m.seed, key)
	g := h >> 56
	if b.m.groups[g] == nil {
		b.m.groups[g] = new(group[V])
	}
	b.m.groups[g].slots[uint8(h>>48)].put(h, key, v, &b.m.n)
}

// done returns the map, its groups in one array and their entries packed
// into another; the builder must not be used afterwards.
func (b *builder[V]) done() pmap[V] {
	groups, n := 0, 0
	for _, grp := range b.m.groups {
		if grp != nil {
			groups++
			n += grp.live()
		}
	}
	var all []group[V]
	if groups > 1 {
		all = make([]group[V], 0, groups)
	}
	ents := make([]entry[V], 0, n)
	for i, grp := range b.m.groups {
		if grp == nil {
			continue
		}
		if all != nil {
			all = append(all, *grp)
			grp = &all[len(all)-1]
			b.m.groups[i] = grp
		}
		ents = grp.packInto(ents)
	}
	return b.m
}

// each calls f for every key and value, in no particular order, until f
// returns false.
func (m pmap[V]) each(f func(string, V) bool) {
	for _, grp := range m.groups {
		if grp == nil {
			continue
		}
		for i := range grp.slots {
			for _, x := range grp.slots[i].ents {
				if !f(x.k, x.v) {
					return
				}
			}
		}
	}
}
