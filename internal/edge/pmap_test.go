package edge

import (
	"hash/maphash"
	"maps"
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"
)

// TestPmapIsPersistent: edits never show through an older map, and the
// Bloom filters never hide a present key.
func TestPmapIsPersistent(t *testing.T) {
	seed := maphash.MakeSeed()
	b := newBuilder[int](seed)
	for i := 0; i < 5000; i++ {
		b.set("k"+strconv.Itoa(i), i)
	}
	v1 := b.done()
	e := v1.edit()
	for i := 0; i < 5000; i += 2 {
		e.remove("k" + strconv.Itoa(i))
	}
	for i := 5000; i < 6000; i++ {
		e.set("k"+strconv.Itoa(i), i)
	}
	e.set("k1", -1)
	v2 := e.done()
	if v1.Len() != 5000 || v2.Len() != 3500 {
		t.Fatalf("lengths %d and %d, want 5000 and 3500", v1.Len(), v2.Len())
	}
	for i := 0; i < 6000; i++ {
		k := "k" + strconv.Itoa(i)
		x1, ok1 := v1.Get(k)
		x2, ok2 := v2.Get(k)
		if ok1 != (i < 5000) || ok1 && x1 != i {
			t.Fatalf("old map: %s = %d, %v", k, x1, ok1)
		}
		want := i
		if i == 1 {
			want = -1
		}
		if ok2 != (i%2 == 1 || i >= 5000) || ok2 && x2 != want {
			t.Fatalf("new map: %s = %d, %v", k, x2, ok2)
		}
	}
}

// TestPmapMatchesAMap runs random sets and removes, in several edits, on a
// pmap and on a Go map, and checks every version against its snapshot of
// the Go map: values, length, iteration, and that no older version moved.
// The pmap starts empty, or built (its groups packed), and the entries its
// edits leave behind in packed arrays must never outnumber the live ones.
func TestPmapMatchesAMap(t *testing.T) {
	t.Run("empty", func(t *testing.T) { testPmapMatchesAMap(t, 0) })
	t.Run("built", func(t *testing.T) { testPmapMatchesAMap(t, 1500) })
}

func testPmapMatchesAMap(t *testing.T, built int) {
	seed := maphash.MakeSeed()
	rng := rand.New(rand.NewPCG(1, 2))
	type version struct {
		m    pmap[int]
		want map[string]int
	}
	var versions []version
	b, want := newBuilder[int](seed), map[string]int{}
	for i := 0; i < built; i++ {
		k := "k" + strconv.Itoa(i)
		b.set(k, i)
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
				e.set(k, v)
				want[k] = v
			}
		}
		cur = e.done()
		for g, grp := range cur.groups {
			if grp != nil && int(cur.dead[g]) > grp.live() {
				t.Fatalf("round %d: group %d has %d dead entries and %d live", round, g, cur.dead[g], grp.live())
			}
		}
		versions = append(versions, version{cur, maps.Clone(want)})
	}
	for i, v := range versions {
		if v.m.Len() != len(v.want) {
			t.Fatalf("version %d: Len %d, want %d", i, v.m.Len(), len(v.want))
		}
		seen := 0
		v.m.each(func(k string, x int) bool {
			if w, ok := v.want[k]; !ok || w != x {
				t.Fatalf("version %d: each gave %s=%d, want %d (%v)", i, k, x, w, ok)
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
			if w, wok := v.want[k]; ok != wok || x != w {
				t.Fatalf("version %d: Get(%s) = %d, %v; want %d, %v", i, k, x, ok, w, wok)
			}
		}
	}
}

// TestBuilderPacksWhole: a map built whole holds its groups in one array
// and all their entries in another (two large objects for the collector
// instead of two a group), each shard's entries a slice of it that an
// edit cannot append into.
func TestBuilderPacksWhole(t *testing.T) {
	b := newBuilder[int](maphash.MakeSeed())
	for i := range 20_000 {
		b.set("k"+strconv.Itoa(i), i)
	}
	m := b.done()
	var first *group[int]
	var lo, hi uintptr
	entrySize := unsafe.Sizeof(entry[int]{})
	for g, grp := range m.groups {
		if grp == nil {
			t.Fatalf("group %d empty after 20,000 keys", g)
		}
		if first == nil {
			first = grp
		} else if want := uintptr(unsafe.Pointer(first)) + uintptr(g)*unsafe.Sizeof(*grp); uintptr(unsafe.Pointer(grp)) != want {
			t.Fatalf("group %d is not next to the one before it in one array", g)
		}
		for i := range grp.slots {
			ents := grp.slots[i].ents
			if len(ents) == 0 {
				continue
			}
			if cap(ents) != len(ents) {
				t.Fatalf("group %d, shard %d: room to append (%d of %d)", g, i, len(ents), cap(ents))
			}
			start := uintptr(unsafe.Pointer(&ents[0]))
			if lo == 0 || start < lo {
				lo = start
			}
			hi = max(hi, start+uintptr(len(ents))*entrySize)
		}
	}
	if span := (hi - lo) / entrySize; span != uintptr(m.Len()) {
		t.Errorf("the entries span %d places for %d keys: not one array", span, m.Len())
	}
}
