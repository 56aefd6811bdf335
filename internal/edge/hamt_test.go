package edge

import (
	"fmt"
	mbits "math/bits"
	"math/rand/v2"
	"testing"
)

// hv is a value of the hamts of these tests: a number, under key k.
type hv struct {
	k string
	n int
}

func (v hv) hamtKey() string { return v.k }

// checkHamt fails unless m holds exactly want.
func checkHamt(t *testing.T, m hamt[hv], want map[string]int) {
	t.Helper()
	if m.Len() != len(want) {
		t.Fatalf("Len = %d, want %d", m.Len(), len(want))
	}
	for k, v := range want {
		if got, ok := m.get(k); !ok || got.n != v || got.k != k {
			t.Fatalf("get(%q) = %+v, %v; want %d", k, got, ok, v)
		}
	}
	seen := 0
	m.each(func(k string, v hv) bool {
		seen++
		if want[k] != v.n || v.k != k {
			t.Fatalf("each gave %q = %+v, want %d", k, v, want[k])
		}
		return true
	})
	if seen != len(want) {
		t.Fatalf("each saw %d keys, want %d", seen, len(want))
	}
}

// TestHamtPersistent edits a hamt at random in batches and checks that
// every published version still holds what it held.
func TestHamtPersistent(t *testing.T) {
	t.Run("large", func(t *testing.T) { testHamtPersistent(t, 3000) })
	// Maps of a few keys go back and forth between one key, kept in the
	// hamt itself, and several, kept in nodes.
	t.Run("small", func(t *testing.T) { testHamtPersistent(t, 3) })
}

func testHamtPersistent(t *testing.T, keys int) {
	r := rand.New(rand.NewPCG(1, 2))
	var m hamt[hv]
	want := map[string]int{}
	type version struct {
		m    hamt[hv]
		want map[string]int
	}
	var versions []version
	for batch := 0; batch < 200; batch++ {
		owner := newOwner()
		for i := 0; i < 1+r.IntN(50); i++ {
			k := fmt.Sprintf("k%d", r.IntN(keys))
			if r.IntN(3) == 0 {
				m.remove(owner, k)
				delete(want, k)
			} else {
				v := r.Int()
				m.set(owner, hv{k, v})
				want[k] = v
			}
		}
		if _, ok := m.get("absent"); ok {
			t.Fatal("absent key found")
		}
		w := make(map[string]int, len(want))
		for k, v := range want {
			w[k] = v
		}
		versions = append(versions, version{m, w})
		if (m.Len() == 1) != (m.root == nil && m.Len() != 0) {
			t.Fatalf("a hamt of %d keys has root %p", m.Len(), m.root)
		}
	}
	for _, v := range versions {
		checkHamt(t, v.m, v.want)
	}
	owner := newOwner()
	for k := range want { // down to empty
		m.remove(owner, k)
	}
	checkHamt(t, m, nil)
	if m.root != nil {
		t.Fatal("an empty hamt keeps nodes")
	}
}

// TestHamtCollisions puts keys whose hashes share all 64 bits, or all but
// the last level's, through the node functions.
func TestHamtCollisions(t *testing.T) {
	owner := newOwner()
	var root *hnode[hv]
	const h = 0xdeadbeefcafef00d
	keys := map[string]uint64{"a": h, "b": h, "c": h ^ 1<<62, "d": 7}
	for k, kh := range keys {
		root, _ = root.set(owner, 0, kh, k, hv{k, len(k)})
	}
	m := hamt[hv]{root: root, n: len(keys)}
	find := func(k string) bool {
		n, kh := m.root, keys[k]
		for shift := uint(0); n != nil; shift += 6 {
			if shift >= 64 {
				for _, x := range n.kids {
					if x.v.k == k {
						return true
					}
				}
				return false
			}
			bit := uint64(1) << ((kh >> shift) & 63)
			if n.bitmap&bit == 0 {
				return false
			}
			x := n.kids[mbits.OnesCount64(n.bitmap&(bit-1))]
			if x.sub == nil {
				return x.v.k == k
			}
			n = x.sub
		}
		return false
	}
	for k := range keys {
		if !find(k) {
			t.Fatalf("%q not found", k)
		}
	}
	other := newOwner()
	after, removed := m.root.remove(other, 0, h, "a")
	if !removed {
		t.Fatal("a not removed")
	}
	if !find("a") {
		t.Fatal("removing from a copy changed the original")
	}
	m.root = after
	if find("a") || !find("b") || !find("c") || !find("d") {
		t.Fatal("wrong keys after removing a")
	}
}
