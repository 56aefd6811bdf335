package edge

import (
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/esacert/esacert/internal/site"
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
	for i := range 3000 { // about 90 bytes a pack: slabs of 16, 32, 64, 128 and 256 KiB
		first := fmt.Sprintf("%032x", i)
		rest := []string{fmt.Sprintf("www.site%d.test", i), fmt.Sprintf("*.site%d.test", i)}
		if i%500 == 7 {
			rest = append(rest, strings.Repeat("x", longString+1)) // longer than a slab takes
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
	// Small packs made one after another share a slab: each starts where
	// the one before ended (but where a slab was full).
	adjacent := 0
	for i := 1; i < len(all); i++ {
		prev, p := all[i-1], all[i]
		last := prev.rest[len(prev.rest)-1]
		if uintptr(unsafe.Pointer(unsafe.StringData(last)))+uintptr(len(last)) == uintptr(unsafe.Pointer(unsafe.StringData(p.first))) {
			adjacent++
		}
	}
	if adjacent < len(all)*9/10 {
		t.Errorf("%d of %d packs follow the one before in its slab", adjacent, len(all)-1)
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
	for i := range 3 * maxServedPerSlab {
		sv := sl.newServed()
		if seen[sv] || sv.strs != "" || sv.site != nil || sv.hint.Load() != 0 {
			t.Fatalf("served %d: handed out twice or not zero", i)
		}
		seen[sv] = true
		sv.strs = fmt.Sprint(i)
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

// TestSlabsGrow: each slab of a kind is twice the one before, from the
// least to the most, so that a small load takes little and a large one
// mostly slabs of the most.
func TestSlabsGrow(t *testing.T) {
	var sl slabs
	var sizes []int
	for range 4 * maxServedPerSlab {
		sl.newServed()
		if len(sizes) == 0 || sizes[len(sizes)-1] != sl.servedN {
			sizes = append(sizes, sl.servedN)
		}
	}
	want := []int{128, 256, 512, 1024, 2048, 4096, 8192}
	if !slices.Equal(sizes, want) {
		t.Errorf("served slabs of %v, want %v", sizes, want)
	}
	for range 100_000 { // 4 MB of strings
		first, rest := "0123456789abcdef0123456789abcdef", []string{"www.example.test"}
		sl.pack(&first, rest)
	}
	if sl.strsN != maxStringSlab {
		t.Errorf("string slabs of %d bytes after 4 MB of strings, want %d", sl.strsN, maxStringSlab)
	}
	var small slabs
	small.newConf()
	small.newServed()
	first := "x"
	small.pack(&first, nil)
	if small.confsN != minConfsPerSlab || small.servedN != minServedPerSlab || small.strsN != minStringSlab {
		t.Errorf("a load of one site took slabs of %d confs, %d served and %d bytes, want the least", small.confsN, small.servedN, small.strsN)
	}
}

// TestBuildSiteFromSlabs: a site built from slabs (a bulk load) is the
// site built on its own (an update): its conf, names and certificates.
func TestBuildSiteFromSlabs(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www.example.com", "*.example.com")
	pending, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "api.example.com")
	pending.SealedKey = nil // a free certificate still being applied for: nothing to serve
	st := siteState(7, "example.com", site.SiteActive, c, pending)
	st.Settings.RealClientIPHeader = "X-Client-IP"
	var sl slabs
	a, b := buildSite(st, false, &sl), buildSite(st, false, nil)
	ca, cb := *a.entry.conf, *b.entry.conf
	ca.pol, cb.pol = nil, nil
	if !reflect.DeepEqual(ca, cb) || a.key != b.key || a.key != "7" {
		t.Fatalf("from slabs %+v (key %q), on its own %+v (key %q)", ca, a.key, cb, b.key)
	}
	if ca.statusName() != site.SiteActive || ca.clientIPHeader() != "X-Client-IP" || ca.name != "example.com" {
		t.Fatalf("conf %+v", ca)
	}
	if len(a.certs) != 1 || len(b.certs) != 1 {
		t.Fatalf("%d and %d certificates served, want 1 (the other has no key yet)", len(a.certs), len(b.certs))
	}
	sa, sb := a.certs[0], b.certs[0]
	if sa.id() != sb.id() || sa.strs != sb.strs || !slices.Equal(sa.bytes(), sb.bytes()) || sa.fp != sb.fp || sa.site != a.entry.conf || &sa.self[0] == &sb.self[0] || sa.self[0] != sa {
		t.Fatalf("served from slabs %q, on its own %q", sa.strs, sb.strs)
	}
}

// TestBulkLoadObjects: an index loaded in bulk holds a few heap objects
// for many sites (its parts in slabs, its maps' entries packed), not
// several a site: each live object costs every collection a visit
// (BenchmarkIndexObjects and BenchmarkIndexMark measure it). The bound is
// loose (other tests' goroutines may allocate meanwhile); one object a
// site more, as before the slabs, is far past it.
func TestBulkLoadObjects(t *testing.T) {
	const n = 10_000
	f := newFixture(t)
	states := syntheticSites(t, f, n)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ix := ownStringsIndex(states, 2)
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(states)
	if ix.Names() != 2*n {
		t.Fatalf("the index holds %d names, want %d", ix.Names(), 2*n)
	}
	per := float64(int64(after.HeapObjects)-int64(before.HeapObjects)) / n
	if per > 0.5 {
		t.Errorf("%.2f heap objects a site, want well under 1 (0.05 with slabs)", per)
	}
	runtime.KeepAlive(ix)
}
