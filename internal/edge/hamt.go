package edge

import (
	"hash/maphash"
	mbits "math/bits"
)

// hamt is a persistent map from strings to V for the certificates of one
// site (certificate id → what it contributes to the index). Unlike pmap,
// whose fixed two-level table suits the few big maps a lookup reads, a
// hamt costs no allocation for a site of one certificate and grows with
// its site: it is a hash array mapped trie of 64-way nodes, so a site of a
// million certificates is four levels deep and a change copies four small
// nodes. Readers never see a change: a node is changed in place only by the
// edit that made it (its owner token), before the map is published; any
// other edit copies it first. The zero hamt is empty.
//
// A map of one key (the certificates of most sites) keeps its value in the
// hamt itself, without a node: lone holds it when n == 1, and root is then
// nil.
//
// A value knows its key (hamtKey: a certificate's id), so a leaf holds no
// key of its own: one pointer word fewer for the collector to read, at
// each cycle, for every certificate of the index.
type hamt[V hamtValue] struct {
	root *hnode[V]
	n    int
	lone V
}

// hamtValue is a value of a hamt: its key is its own.
type hamtValue interface{ hamtKey() string }

// hnode is one node: a bitmap of the 64 slots in use (by 6 bits of the
// hash at its depth) and their contents in slot order. A slot is a leaf
// (sub == nil) or a child node. Past the hash's 64 bits, a node is a
// collision list: its leaves are scanned in full.
type hnode[V hamtValue] struct {
	owner  *int // the edit that may change this node in place
	bitmap uint64
	kids   []hkid[V]
}

type hkid[V hamtValue] struct {
	sub *hnode[V]
	h   uint64 // of v's key
	v   V
}

// hamtSeed hashes the keys of every hamt.
var hamtSeed = maphash.MakeSeed()

// newOwner returns a token for one edit (a batch of changes made before the
// maps are published); never reuse one after publishing.
func newOwner() *int { return new(int) }

// Len is the number of keys.
func (m hamt[V]) Len() int { return m.n }

// get returns the value for key.
func (m hamt[V]) get(key string) (V, bool) {
	if m.n == 1 {
		if m.lone.hamtKey() == key {
			return m.lone, true
		}
		var zero V
		return zero, false
	}
	h := maphash.String(hamtSeed, key)
	n := m.root
	for shift := uint(0); n != nil; shift += 6 {
		if shift >= 64 {
			for _, k := range n.kids {
				if k.h == h && k.v.hamtKey() == key {
					return k.v, true
				}
			}
			break
		}
		bit := uint64(1) << ((h >> shift) & 63)
		if n.bitmap&bit == 0 {
			break
		}
		k := &n.kids[mbits.OnesCount64(n.bitmap&(bit-1))]
		if k.sub != nil {
			n = k.sub
			continue
		}
		if k.h == h && k.v.hamtKey() == key {
			return k.v, true
		}
		break
	}
	var zero V
	return zero, false
}

// own returns n itself when owner may change it, else a copy that it may.
func (n *hnode[V]) own(owner *int, extra int) *hnode[V] {
	if n.owner == owner {
		return n
	}
	c := &hnode[V]{owner: owner, bitmap: n.bitmap, kids: make([]hkid[V], len(n.kids), len(n.kids)+extra)}
	copy(c.kids, n.kids)
	return c
}

// set makes v's key map to v, changing in place only nodes that owner owns.
func (m *hamt[V]) set(owner *int, v V) {
	key := v.hamtKey()
	switch {
	case m.n == 0:
		m.lone, m.n = v, 1
		return
	case m.n == 1 && m.lone.hamtKey() == key:
		m.lone = v
		return
	case m.n == 1: // a second key: both go into nodes
		lk := m.lone.hamtKey()
		m.root, _ = m.root.set(owner, 0, maphash.String(hamtSeed, lk), lk, m.lone)
		m.dropLone()
	}
	h := maphash.String(hamtSeed, key)
	var added bool
	m.root, added = m.root.set(owner, 0, h, key, v)
	if added {
		m.n++
	}
}

// dropLone forgets the lone value (a hamt of one key keeps it in the nodes
// only while it is being changed).
func (m *hamt[V]) dropLone() {
	var zero V
	m.lone = zero
}

// set makes key (v's) map to v below n, whose depth is shift/6.
func (n *hnode[V]) set(owner *int, shift uint, h uint64, key string, v V) (*hnode[V], bool) {
	if n == nil {
		n = &hnode[V]{owner: owner}
	}
	if shift >= 64 { // a collision list
		for i := range n.kids {
			if n.kids[i].h == h && n.kids[i].v.hamtKey() == key {
				n = n.own(owner, 0)
				n.kids[i].v = v
				return n, false
			}
		}
		n = n.own(owner, 1)
		n.kids = append(n.kids, hkid[V]{h: h, v: v})
		return n, true
	}
	bit := uint64(1) << ((h >> shift) & 63)
	pos := mbits.OnesCount64(n.bitmap & (bit - 1))
	if n.bitmap&bit == 0 {
		n = n.own(owner, 1)
		n.kids = append(n.kids, hkid[V]{})
		copy(n.kids[pos+1:], n.kids[pos:])
		n.kids[pos] = hkid[V]{h: h, v: v}
		n.bitmap |= bit
		return n, true
	}
	n = n.own(owner, 0)
	k := &n.kids[pos]
	switch {
	case k.sub != nil:
		var added bool
		k.sub, added = k.sub.set(owner, shift+6, h, key, v)
		return n, added
	case k.h == h && k.v.hamtKey() == key:
		k.v = v
		return n, false
	default: // another key in the slot: push both one level down
		sub, _ := (*hnode[V])(nil).set(owner, shift+6, k.h, k.v.hamtKey(), k.v)
		sub, _ = sub.set(owner, shift+6, h, key, v)
		*k = hkid[V]{sub: sub}
		return n, true
	}
}

// remove drops key, changing in place only nodes that owner owns.
func (m *hamt[V]) remove(owner *int, key string) {
	if m.n == 1 {
		if m.lone.hamtKey() == key {
			m.dropLone()
			m.n = 0
		}
		return
	}
	h := maphash.String(hamtSeed, key)
	var removed bool
	m.root, removed = m.root.remove(owner, 0, h, key)
	if !removed {
		return
	}
	m.n--
	if m.n == 1 { // the key left goes back into the hamt itself
		m.root.each(func(_ string, v V) bool {
			m.lone = v
			return false
		})
		m.root = nil
	}
}

func (n *hnode[V]) remove(owner *int, shift uint, h uint64, key string) (*hnode[V], bool) {
	if n == nil {
		return nil, false
	}
	pos := -1
	var bit uint64
	if shift >= 64 {
		for i := range n.kids {
			if n.kids[i].h == h && n.kids[i].v.hamtKey() == key {
				pos = i
			}
		}
		if pos < 0 {
			return n, false
		}
	} else {
		bit = uint64(1) << ((h >> shift) & 63)
		if n.bitmap&bit == 0 {
			return n, false
		}
		pos = mbits.OnesCount64(n.bitmap & (bit - 1))
		if k := n.kids[pos]; k.sub != nil {
			sub, removed := k.sub.remove(owner, shift+6, h, key)
			if !removed {
				return n, false
			}
			n = n.own(owner, 0)
			if sub != nil {
				if len(sub.kids) == 1 && sub.kids[0].sub == nil { // one leaf left: lift it
					n.kids[pos] = sub.kids[0]
				} else {
					n.kids[pos].sub = sub
				}
				return n, true
			}
			// the child emptied: drop its slot below
		} else if k.h != h || k.v.hamtKey() != key {
			return n, false
		}
	}
	if len(n.kids) == 1 {
		return nil, true
	}
	n = n.own(owner, 0)
	copy(n.kids[pos:], n.kids[pos+1:])
	n.kids[len(n.kids)-1] = hkid[V]{} // let the value go
	n.kids = n.kids[:len(n.kids)-1]
	n.bitmap &^= bit
	return n, true
}

// each calls f for every key and value, in no particular order, until f
// returns false; it reports whether f never did.
func (m hamt[V]) each(f func(string, V) bool) bool {
	if m.n == 1 {
		return f(m.lone.hamtKey(), m.lone)
	}
	return m.root.each(f)
}

func (n *hnode[V]) each(f func(string, V) bool) bool {
	if n == nil {
		return true
	}
	for i := range n.kids {
		k := &n.kids[i]
		if k.sub != nil {
			if !k.sub.each(f) {
				return false
			}
		} else if !f(k.v.hamtKey(), k.v) {
			return false
		}
	}
	return true
}
