package edge

import "hash/maphash"

// pmap is a persistent map from strings to V: a value is never changed once
// built, so readers need no lock, and With and Without return a new map that
// shares all but the touched parts with the old one. Keys are spread by hash
// over 256 groups of 256 shards; a change copies the group table (256
// pointers), one shard table (256 pointers) and one small shard, so its cost
// does not grow with the number of keys until shards get large (65,536
// shards hold a million keys at about 15 a shard).
type pmap[V any] struct {
	seed   maphash.Seed
	groups *[256]*[256]map[string]V
	n      int
}

func newPmap[V any](seed maphash.Seed) pmap[V] {
	return pmap[V]{seed: seed, groups: new([256]*[256]map[string]V)}
}

func (m pmap[V]) slot(key string) (g, s uint8) {
	h := maphash.String(m.seed, key)
	return uint8(h >> 56), uint8(h >> 48)
}

// Get returns the value for key. It does not allocate.
func (m pmap[V]) Get(key string) (V, bool) {
	var zero V
	g, s := m.slot(key)
	grp := m.groups[g]
	if grp == nil {
		return zero, false
	}
	v, ok := grp[s][key]
	return v, ok
}

// Len is the number of keys.
func (m pmap[V]) Len() int { return m.n }

// With returns a map where key holds v.
func (m pmap[V]) With(key string, v V) pmap[V] {
	g, s := m.slot(key)
	groups := *m.groups
	var grp [256]map[string]V
	if groups[g] != nil {
		grp = *groups[g]
	}
	old := grp[s]
	shard := make(map[string]V, len(old)+1)
	for k, x := range old {
		shard[k] = x
	}
	if _, had := old[key]; !had {
		m.n++
	}
	shard[key] = v
	grp[s] = shard
	groups[g] = &grp
	m.groups = &groups
	return m
}

// Without returns a map without key.
func (m pmap[V]) Without(key string) pmap[V] {
	g, s := m.slot(key)
	if m.groups[g] == nil {
		return m
	}
	old := m.groups[g][s]
	if _, had := old[key]; !had {
		return m
	}
	groups := *m.groups
	grp := *groups[g]
	var shard map[string]V
	if len(old) > 1 {
		shard = make(map[string]V, len(old)-1)
		for k, x := range old {
			if k != key {
				shard[k] = x
			}
		}
	}
	grp[s] = shard
	groups[g] = &grp
	m.groups = &groups
	m.n--
	return m
}

// editor applies many changes to a pmap, copying each touched table and
// shard once, however many keys of it change; the map it started from is
// left as it was.
type editor[V any] struct {
	m      pmap[V]
	groups bool            // the group table is a private copy
	copied map[uint8]bool  // group tables that are private copies
	shards map[uint16]bool // shards that are private copies
}

func (m pmap[V]) edit() *editor[V] {
	return &editor[V]{m: m, copied: map[uint8]bool{}, shards: map[uint16]bool{}}
}

func (e *editor[V]) get(key string) (V, bool) { return e.m.Get(key) }

// shard returns a private copy of key's shard, to write to.
func (e *editor[V]) shard(key string) map[string]V {
	g, s := e.m.slot(key)
	if !e.groups {
		groups := *e.m.groups
		e.m.groups = &groups
		e.groups = true
	}
	if !e.copied[g] {
		var grp [256]map[string]V
		if e.m.groups[g] != nil {
			grp = *e.m.groups[g]
		}
		e.m.groups[g] = &grp
		e.copied[g] = true
	}
	id := uint16(g)<<8 | uint16(s)
	if !e.shards[id] {
		old := e.m.groups[g][s]
		shard := make(map[string]V, len(old)+1)
		for k, x := range old {
			shard[k] = x
		}
		e.m.groups[g][s] = shard
		e.shards[id] = true
	}
	return e.m.groups[g][s]
}

func (e *editor[V]) set(key string, v V) {
	shard := e.shard(key)
	if _, had := shard[key]; !had {
		e.m.n++
	}
	shard[key] = v
}

func (e *editor[V]) remove(key string) {
	if _, had := e.m.Get(key); !had {
		return
	}
	delete(e.shard(key), key)
	e.m.n--
}

// done returns the edited map; the editor must not be used afterwards.
func (e *editor[V]) done() pmap[V] { return e.m }

// builder fills a pmap in place before it is published: for the first
// load, where copying on every insert would be wasted.
type builder[V any] struct{ m pmap[V] }

func newBuilder[V any](seed maphash.Seed) *builder[V] {
	return &builder[V]{m: newPmap[V](seed)}
}

func (b *builder[V]) get(key string) (V, bool) { return b.m.Get(key) }

func (b *builder[V]) set(key string, v V) {
	g, s := b.m.slot(key)
	if b.m.groups[g] == nil {
		b.m.groups[g] = new([256]map[string]V)
	}
	grp := b.m.groups[g]
	if grp[s] == nil {
		grp[s] = make(map[string]V, 4)
	}
	if _, had := grp[s][key]; !had {
		b.m.n++
	}
	grp[s][key] = v
}

// done returns the map; the builder must not be used afterwards.
func (b *builder[V]) done() pmap[V] { return b.m }
