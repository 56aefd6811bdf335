package edge

import (
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"unsafe"
)

// kv is a test value: it knows its key, as the index's values do.
type kv struct {
	k string
	x int
}

func kvMatch(v kv, key string) bool { return v.k == key }

// TestPmapIsPersistent: edits never show through an older map, and the
// Bloom filters never hide a present key.
func TestPmapIsPersistent(t *testing.T) {
	seed := maphash.MakeSeed()
	b := newBuilder(seed, kvMatch)
	for i := 0; i < 5000; i++ {
		b.set("k"+strconv.Itoa(i), kv{"k" + strconv.Itoa(i), i})
	}
	v1 := b.done()
	e := v1.edit()
	for i := 0; i < 5000; i += 2 {
		e.remove("k" + strconv.Itoa(i))
	}
	for i := 5000; i < 6000; i++ {
		e.set("k"+strconv.Itoa(i), kv{"k" + strconv.Itoa(i), i})
	}
	e.set("k1", kv{"k1", -1})
	v2 := e.done()
	if v1.Len() != 5000 || v2.Len() != 3500 {
		t.Fatalf("lengths %d and %d, want 5000 and 3500", v1.Len(), v2.Len())
	}
	for i := 0; i < 6000; i++ {
		k := "k" + strconv.Itoa(i)
		x1, ok1 := v1.Get(k)
		x2, ok2 := v2.Get(k)
		if ok1 != (i < 5000) || ok1 && x1.x != i {
			t.Fatalf("old map: %s = %d, %v", k, x1.x, ok1)
		}
		want := i
		if i == 1 {
			want = -1
		}
		if ok2 != (i%2 == 1 || i >= 5000) || ok2 && x2.x != want {
			t.Fatalf("new map: %s = %d, %v", k, x2.x, ok2)
		}
	}
}

// TestPmapMatchesAMap runs random sets and removes, in several edits, on a
// pmap and on a Go map, and checks every version against its snapshot of
// the Go map: values, length, iteration, and that no older version moved.
// The pmap starts empty, or built (its groups packed), and each group of
// each version holds exactly its live entries.
func TestPmapMatchesAMap(t *testing.T) {
	t.Run("empty", func(t *testing.T) { testPmapMatchesAMap(t, 0) })
	t.Run("built", func(t *testing.T) { testPmapMatchesAMap(t, 1500) })
}

func testPmapMatchesAMap(t *testing.T, built int) {
	seed := maphash.MakeSeed()
	rng := rand.New(rand.NewPCG(1, 2))
	type version struct {
		m    pmap[kv]
		want map[string]int
	}
	var versions []version
	b, want := newBuilder(seed, kvMatch), map[string]int{}
	for i := 0; i < built; i++ {
		k := "k" + strconv.Itoa(i)
		b.set(k, kv{k, i})
		want[k] = i
	}
	cur := b.done()
	for round := 0; round < 30; round++ {
		e := cur.edit()
		for op := 0; op < 300; op++ {
			k := "k" + strconv.Itoa(rng.IntN(2000))
			if rng.IntN(3) == 0 {
				e.remove(k)
				delete(want, k)
			} else {
				v := rng.Int()
				e.set(k, kv{k, v})
				want[k] = v
			}
		}
		cur = e.done()
		for g, grp := range cur.groups {
			if grp == nil {
				continue
			}
			n := 0
			for i := range grp.slots {
				if int(grp.slots[i].off) != n {
					t.Fatalf("round %d: group %d, shard %d starts at %d, want %d", round, g, i, grp.slots[i].off, n)
				}
				n += int(grp.slots[i].n)
			}
			if n != len(grp.ents) || n == 0 {
				t.Fatalf("round %d: group %d holds %d entries for %d in its shards", round, g, len(grp.ents), n)
			}
		}
		versions = append(versions, version{cur, maps.Clone(want)})
	}
	for i, v := range versions {
		if v.m.Len() != len(v.want) {
			t.Fatalf("version %d: Len %d, want %d", i, v.m.Len(), len(v.want))
		}
		seen := 0
		v.m.each(func(x kv) bool {
			if w, ok := v.want[x.k]; !ok || w != x.x {
				t.Fatalf("version %d: each gave %s=%d, want %d (%v)", i, x.k, x.x, w, ok)
			}
			seen++
			return true
		})
		if seen != len(v.want) {
			t.Fatalf("version %d: each saw %d keys, want %d", i, seen, len(v.want))
		}
		for n := 0; n < 2000; n++ {
			k := "k" + strconv.Itoa(n)
			x, ok := v.m.Get(k)
			if w, wok := v.want[k]; ok != wok || x.x != w {
				t.Fatalf("version %d: Get(%s) = %d, %v; want %d, %v", i, k, x.x, ok, w, wok)
			}
		}
	}
}

// TestBuilderPacksWhole: a map built whole holds its groups in one array
// and all their entries in another (two large objects for the collector
// instead of two a group), each group's entries a slice of it that an
// edit cannot append into.
func TestBuilderPacksWhole(t *testing.T) {
	b := newBuilder(maphash.MakeSeed(), kvMatch)
	for i := range 20_000 {
		b.set("k"+strconv.Itoa(i), kv{"k" + strconv.Itoa(i), i})
	}
	m := b.done()
	var first *group[kv]
	var lo, hi uintptr
	entrySize := unsafe.Sizeof(entry[kv]{})
	for g, grp := range m.groups {
		if grp == nil {
			t.Fatalf("group %d empty after 20,000 keys", g)
		}
		if first == nil {
			first = grp
		} else if want := uintptr(unsafe.Pointer(first)) + uintptr(g)*unsafe.Sizeof(*grp); uintptr(unsafe.Pointer(grp)) != want {
			t.Fatalf("group %d is not next to the one before it in one array", g)
		}
		if cap(grp.ents) != len(grp.ents) {
			t.Fatalf("group %d: room to append (%d of %d)", g, len(grp.ents), cap(grp.ents))
		}
		start := uintptr(unsafe.Pointer(&grp.ents[0]))
		if lo == 0 || start < lo {
			lo = start
		}
		hi = max(hi, start+uintptr(len(grp.ents))*entrySize)
	}
	if span := (hi - lo) / entrySize; span != uintptr(m.Len()) {
		t.Errorf("the entries span %d places for %d keys: not one array", span, m.Len())
	}
}

// TestBuilderFewKeys: a map built with few keys (or none, the routes of
// most edges) holds only the groups it uses.
func TestBuilderFewKeys(t *testing.T) {
	b := newBuilder(maphash.MakeSeed(), kvMatch)
	if m := b.done(); m.Len() != 0 || slices.ContainsFunc(m.groups[:], func(g *group[kv]) bool { return g != nil }) {
		t.Fatalf("an empty map has groups")
	}
	b = newBuilder(maphash.MakeSeed(), kvMatch)
	b.set("a", kv{"a", 1})
	m := b.done()
	used := 0
	for _, g := range m.groups {
		if g != nil {
			used++
			if len(g.ents) != 1 {
				t.Fatalf("the group holds %d entries", len(g.ents))
			}
		}
	}
	if x, ok := m.Get("a"); used != 1 || !ok || x.x != 1 {
		t.Fatalf("%d groups; Get(a) = %v, %v", used, x, ok)
	}
}

// TestPmapSetNotItsKey: setting a key to a value that is not its own (the
// value's match says no) removes the key: no entry is kept that no lookup
// could find, or count twice.
func TestPmapSetNotItsKey(t *testing.T) {
	b := newBuilder(maphash.MakeSeed(), kvMatch)
	b.set("a", kv{"a", 1})
	b.set("a", kv{"other", 2})
	b.set("b", kv{"b", 3})
	m := b.done()
	if _, ok := m.Get("a"); ok || m.Len() != 1 {
		t.Fatalf("built: a present %v, Len %d", ok, m.Len())
	}
	e := m.edit()
	e.set("b", kv{"", 0})
	e.set("c", kv{"x", 0})
	if m2 := e.done(); m2.Len() != 0 {
		t.Fatalf("edited: Len %d, want 0", m2.Len())
	}
}
