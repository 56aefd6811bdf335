package edge

import "hash/maphash"

// pmap is a persistent map from strings to V: a value is never changed once
// built, so readers need no lock, and an editor makes a new map that shares
// all but the touched parts with the old one. Keys are spread by hash over
// 1,024 groups of 64 shards; a change copies the group table (1,024
// pointers) and the groups it touches, each whole, once per edit however
// many of its keys change: at a million keys a group holds about 1,000
// entries, some 32 KB to copy, so a change costs microseconds, not a pass
// over the map.
//
// Each shard keeps a 64-bit Bloom filter of its keys, so most lookups of an
// absent key stop at the group's table of shards, which stays in cache,
// without reading the entries: the exact-name miss that precedes every
// wildcard lookup costs about one cache line.
//
// An entry is a key's full hash and its value, not the key: a lookup
// compares 8-byte hashes in a line or two and asks the value itself
// whether it is the key's (match) for the entry whose hash matches. The
// values of the index's maps know their keys (a certificate its names, a
// site its id, a route its name), so storing the key again would only
// cost the collector a pointer word an entry at every cycle.
//
// The collector reads every pointer word of every live object at each cycle
// (about 20 ns for each one that is not nil, wherever it points), so a
// group's table of shards holds no pointer: a shard is a range of the
// group's one array of entries (group.ents), each shard's entries after the
// one before. A map built whole (builder) goes further: its groups lie in
// one array, and the entries of all of them in another.
type pmap[V any] struct {
	seed   maphash.Seed
	match  func(v V, key string) bool // whether v is the value of key (its entry's hash being key's)
	groups *[groups]*group[V]
	n      int
}

const (
	groups = 1 << 10 // a map's groups: chosen by the top 10 bits of a key's hash
	shards = 1 << 6  // a group's shards: by the next 6 bits
)

// where returns the group and the shard of a key's hash.
func where(h uint64) (g, s uint32) { return uint32(h >> 54), uint32(h>>48) & (shards - 1) }

// group is 64 shards and their entries, back to back in ents: shard i is
// ents[slots[i].off:][:slots[i].n]. A group is never changed once its map
// is published; an edit copies it whole (see open).
type group[V any] struct {
	slots [shards]slot
	ents  []entry[V]
}

// slot is one shard: where its entries are in the group's array, and a
// Bloom filter of their hashes.
type slot struct {
	bloom uint64
	off   uint32
	n     uint32
}

// entry is one key of a shard: its full hash and its value.
type entry[V any] struct {
	h uint64
	v V
}

// shard returns the entries of shard s.
func (g *group[V]) shard(s uint32) []entry[V] {
	sl := &g.slots[s]
	return g.ents[sl.off : sl.off+sl.n : sl.off+sl.n]
}

// newPmap returns an empty map whose values say which key is theirs by
// match.
func newPmap[V any](seed maphash.Seed, match func(v V, key string) bool) pmap[V] {
	return pmap[V]{seed: seed, match: match, groups: new([groups]*group[V])}
}

// bits are the two Bloom bits of a key's hash (from bits the shard choice
// does not use).
func bits(h uint64) uint64 { return 1<<(h&63) | 1<<((h>>6)&63) }

// Get returns the value for key. It does not allocate.
func (m pmap[V]) Get(key string) (V, bool) {
	return m.getHashed(maphash.String(m.seed, key), key)
}

// getHashed is Get of key whose hash is h.
func (m pmap[V]) getHashed(h uint64, key string) (V, bool) {
	var zero V
	g, s := where(h)
	grp := m.groups[g]
	if grp == nil {
		return zero, false
	}
	if b := bits(h); grp.slots[s].bloom&b != b {
		return zero, false
	}
	for _, x := range grp.shard(s) {
		if x.h == h && m.match(x.v, key) {
			return x.v, true
		}
	}
	return zero, false
}

// Len is the number of keys.
func (m pmap[V]) Len() int { return m.n }

// each calls f for every value, in no particular order, until f returns
// false.
func (m pmap[V]) each(f func(V) bool) {
	for _, grp := range m.groups {
		if grp == nil {
			continue
		}
		for _, x := range grp.ents {
			if !f(x.v) {
				return
			}
		}
	}
}

// openGroup is a group being changed (by an editor or a builder): its
// shards apart, each a slice of its own once written (owned), so that a
// change to one shard moves no other. close packs it back into a group.
type openGroup[V any] struct {
	shards [shards][]entry[V]
	owned  uint64 // by shard: its slice is this openGroup's, not the group's it was opened from
}

// open returns grp's shards apart (nil grp: an empty group); their slices
// are the group's until written.
func open[V any](grp *group[V]) *openGroup[V] {
	o := new(openGroup[V])
	if grp != nil {
		for s := range grp.slots {
			o.shards[s] = grp.shard(uint32(s))
		}
	}
	return o
}

// own returns shard s as a slice of the openGroup's own, to write to.
func (o *openGroup[V]) own(s uint32) *[]entry[V] {
	if o.owned&(1<<s) == 0 {
		o.shards[s] = append(make([]entry[V], 0, len(o.shards[s])+1), o.shards[s]...)
		o.owned |= 1 << s
	}
	return &o.shards[s]
}

// find returns the index of key (hash h) in shard s, or -1.
func (o *openGroup[V]) find(s uint32, h uint64, key string, match func(V, string) bool) int {
	for i, x := range o.shards[s] {
		if x.h == h && match(x.v, key) {
			return i
		}
	}
	return -1
}

// close packs the shards into all, which has room for them, as one group;
// it returns the group and the rest of all.
func (o *openGroup[V]) close(grp *group[V], all []entry[V]) []entry[V] {
	start := len(all)
	for s := range o.shards {
		sh := o.shards[s]
		bloom := uint64(0)
		for _, x := range sh {
			bloom |= bits(x.h)
		}
		grp.slots[s] = slot{bloom: bloom, off: uint32(len(all) - start), n: uint32(len(sh))}
		all = append(all, sh...)
	}
	grp.ents = all[start:len(all):len(all)]
	return all[len(all):]
}

// live is the number of entries of the shards.
func (o *openGroup[V]) live() int {
	n := 0
	for _, sh := range o.shards {
		n += len(sh)
	}
	return n
}

// changes is what an editor or a builder has opened of a map.
type changes[V any] struct {
	m     pmap[V]
	open  *[groups]*openGroup[V] // by group: nil until one is opened
	order []uint32               // the groups opened, in the order they were
	table bool                   // m.groups is the changes' own: a builder's, or an editor's copy
}

// locate returns key's hash, group and shard.
func (c *changes[V]) locate(key string) (h uint64, g, s uint32) {
	h = maphash.String(c.m.seed, key)
	g, s = where(h)
	return h, g, s
}

// get returns the value for key, as changed so far.
func (c *changes[V]) get(key string) (V, bool) {
	h, g, s := c.locate(key)
	o := c.opened(g)
	if o == nil {
		return c.m.getHashed(h, key)
	}
	if i := o.find(s, h, key, c.m.match); i >= 0 {
		return o.shards[s][i].v, true
	}
	var zero V
	return zero, false
}

// opened returns group g if it is opened, else nil.
func (c *changes[V]) opened(g uint32) *openGroup[V] {
	if c.open == nil {
		return nil
	}
	return c.open[g]
}

// group returns group g opened.
func (c *changes[V]) group(g uint32) *openGroup[V] {
	if c.open == nil {
		c.open = new([groups]*openGroup[V])
	}
	o := c.open[g]
	if o == nil {
		if !c.table {
			table := *c.m.groups
			c.m.groups, c.table = &table, true
		}
		o = open(c.m.groups[g])
		c.open[g] = o
		c.order = append(c.order, g)
	}
	return o
}

// set sets key to v; a v that is not key's (match says no: empty
// candidates, a nil route) removes key instead, as no lookup could find
// it: the map never holds an entry that no key matches.
func (c *changes[V]) set(key string, v V) {
	if !c.m.match(v, key) {
		c.remove(key)
		return
	}
	h, g, s := c.locate(key)
	o := c.group(g)
	sh := o.own(s)
	if i := o.find(s, h, key, c.m.match); i >= 0 {
		(*sh)[i].v = v
		return
	}
	*sh = append(*sh, entry[V]{h: h, v: v})
	c.m.n++
}

func (c *changes[V]) remove(key string) {
	h, g, s := c.locate(key)
	if c.opened(g) == nil {
		if _, had := c.m.getHashed(h, key); !had {
			return
		}
	}
	o := c.group(g)
	i := o.find(s, h, key, c.m.match)
	if i < 0 {
		return
	}
	sh := o.own(s)
	last := len(*sh) - 1
	(*sh)[i] = (*sh)[last]
	(*sh)[last] = entry[V]{} // let the removed value go
	*sh = (*sh)[:last]
	c.m.n--
}

// editor applies many changes to a pmap, copying the group table and each
// touched group once however many of its keys change; the map it started
// from is left as it was.
type editor[V any] struct{ changes[V] }

func (m pmap[V]) edit() *editor[V] {
	return &editor[V]{changes[V]{m: m}}
}

// done returns the edited map, each touched group packed into an array of
// its own; the editor must not be used afterwards.
func (e *editor[V]) done() pmap[V] {
	for _, g := range e.order {
		o := e.open[g]
		live := o.live()
		if live == 0 {
			e.m.groups[g] = nil
			continue
		}
		grp := new(group[V])
		o.close(grp, make([]entry[V], 0, live))
		e.m.groups[g] = grp
	}
	return e.m
}

// builder fills a pmap before it is published: for the first load, where
// copying on every insert would be wasted.
type builder[V any] struct{ changes[V] }

func newBuilder[V any](seed maphash.Seed, match func(v V, key string) bool) *builder[V] {
	return &builder[V]{changes[V]{m: newPmap(seed, match), table: true}}
}

// done returns the map, its groups in one array and their entries in
// another; the builder must not be used afterwards.
func (b *builder[V]) done() pmap[V] {
	used, n := 0, 0
	for _, g := range b.order {
		o := b.open[g]
		if live := o.live(); live > 0 {
			used++
			n += live
		}
	}
	all := make([]group[V], used)
	ents := make([]entry[V], 0, n)
	for g := range uint32(groups) {
		o := b.opened(g)
		if o == nil || o.live() == 0 { // none, or its keys all removed again
			continue
		}
		grp := &all[0]
		all = all[1:]
		ents = o.close(grp, ents)
		b.m.groups[g] = grp
	}
	return b.m
}
