package edge

import (
	"hash/maphash"
	"strconv"
	"testing"
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
