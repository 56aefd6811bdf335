package edge

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// TestSlabsPack: packed strings keep their values while later ones fill
// their slab and the next (a slab is appended to, never rewritten); strings
// too long for a slab get their own allocation; the strings of one pack
// share one.
func TestSlabsPack(t *testing.T) {
	var sl slabs
	type packed struct {
		first string
		rest  []string
		want  []string
	}
	var all []packed
	for i := range 3000 { // about 90 bytes a pack: 16 slabs of 16 KiB
		first := fmt.Sprintf("%032x", i)
		rest := []string{fmt.Sprintf("www.site%d.test", i), fmt.Sprintf("*.site%d.test", i)}
		if i%500 == 7 {
			rest = append(rest, strings.Repeat("x", stringSlab)) // longer than a slab takes
		}
		want := append([]string{first}, rest...)
		sl.pack(&first, rest)
		all = append(all, packed{first, rest, want})
	}
	for i, p := range all {
		got := append([]string{p.first}, p.rest...)
		for j := range got {
			if got[j] != p.want[j] {
				t.Fatalf("pack %d, string %d: %.40q, want %.40q", i, j, got[j], p.want[j])
			}
		}
		// One allocation: the strings are side by side.
		if off := uintptr(unsafe.Pointer(unsafe.StringData(p.rest[0]))) - uintptr(unsafe.Pointer(unsafe.StringData(p.first))); off != uintptr(len(p.first)) {
			t.Fatalf("pack %d: its strings are not side by side (%d apart)", i, off)
		}
	}
	// A nil *slabs packs into an allocation of its own.
	var none *slabs
	first, rest := "abc", []string{"de", "f"}
	none.pack(&first, rest)
	if first != "abc" || rest[0] != "de" || rest[1] != "f" {
		t.Fatalf("packed without slabs: %q %q", first, rest)
	}
}

// TestSlabsParts: every served and siteConf handed out is zero and its
// own, from slabs or, with none, on its own.
func TestSlabsParts(t *testing.T) {
	var sl slabs
	seen := map[*served]bool{}
	confs := map[*siteConf]bool{}
	for i := range 3 * servedPerSlab {
		sv := sl.newServed()
		if seen[sv] || sv.id != "" || sv.site != nil || sv.hint.Load() != 0 {
			t.Fatalf("served %d: handed out twice or not zero", i)
		}
		seen[sv] = true
		sv.id = fmt.Sprint(i)
		c := sl.newConf()
		if confs[c] || c.name != "" || c.id != 0 {
			t.Fatalf("siteConf %d: handed out twice or not zero", i)
		}
		confs[c] = true
		c.id = int64(i)
	}
	var none *slabs
	if a, b := none.newServed(), none.newServed(); a == b {
		t.Fatal("two served without slabs are one")
	}
}
