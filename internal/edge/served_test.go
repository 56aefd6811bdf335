package edge

import (
	"bytes"
	"encoding/pem"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// TestServedParts: what newServed keeps of a certificate (its id, names,
// leaf, sealed key, the rest of its chain and its NotAfter, each packed
// into one of a few fields, served.go) reads back as the certificate
// gave it, from slabs and on its own alike.
func TestServedParts(t *testing.T) {
	f := newFixture(t)
	long := strings.Repeat("a", 300) + ".example.com" // longer than a host name may be: kept, its length takes two bytes
	c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www.example.com", "*.example.com", "other.net")
	c.Info.SANs = append(c.Info.SANs, "www.example.com", long, strings.Repeat("b", maxNameLen)+".example.com") // listed twice; too long to keep
	c.Info.NotAfter = time.Date(2031, 5, 6, 7, 8, 9, 500_000_000, time.UTC)
	var der [][]byte
	for rest := []byte(c.ChainPEM); ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		der = append(der, blk.Bytes)
	}
	conf := &siteConf{id: 1, name: "example.com", served: true}
	var sl slabs
	for _, from := range []*slabs{&sl, nil} {
		sv := newServed(c, nil, placedBytes{}, conf, from)
		if sv == nil {
			t.Fatal("nothing served")
		}
		if got, want := slices.Collect(sv.names()), []string{"www.example.com", "*.example.com", long}; !slices.Equal(got, want) {
			t.Errorf("names %q, want %q (under the site, each once, none too long)", got, want)
		}
		if sv.id() != c.ID || !bytes.Equal(sv.leaf(), der[0]) || !bytes.Equal(sv.sealed(), c.SealedKey) || sv.site != conf || sv.self[0] != sv {
			t.Errorf("id %q, leaf %d bytes, sealed %d bytes: not the certificate's", sv.id(), len(sv.leaf()), len(sv.sealed()))
		}
		if len(sv.tail) != len(der)-1 || !bytes.Equal(sv.tail[0], der[1]) {
			t.Errorf("the rest of the chain is %d certificates, want %d", len(sv.tail), len(der)-1)
		}
		if l := sv.leaf(); cap(l) != len(l) {
			t.Error("an append to the leaf would write into the sealed key")
		}
		if !sv.notAfter().Equal(c.Info.NotAfter) {
			t.Errorf("NotAfter %v, want %v", sv.notAfter(), c.Info.NotAfter)
		}
		end := c.Info.NotAfter
		if !sv.usableAt(end.Add(-time.Nanosecond)) || sv.usableAt(end) || sv.usableAt(end.Add(time.Second)) || !sv.usableAt(end.Add(-time.Second)) {
			t.Error("usable around NotAfter not as time.Before says")
		}
		if sv.fp != certFingerprint(fpSeed, c.ID, der[0], c.SealedKey, der[1:]) {
			t.Error("fingerprint not of the id, leaf, sealed key and chain")
		}
	}
}

// TestServedTailShared: certificates of one CA share one copy of the rest
// of their chain, and chains of two intermediates are told from those of
// one, and from each other.
func TestServedTailShared(t *testing.T) {
	f := newFixture(t)
	a, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "a.example.com")
	b, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "b.example.com")
	conf := &siteConf{id: 1, name: "example.com", served: true}
	sa, sb := newServed(a, nil, placedBytes{}, conf, nil), newServed(b, nil, placedBytes{}, conf, nil)
	if len(sa.tail) != 1 || unsafe.SliceData(sa.tail) != unsafe.SliceData(sb.tail) {
		t.Fatal("two certificates of one intermediate keep two copies of the rest of their chain")
	}
	inter := sa.tail[0]
	x, y := []byte("\x30one"), []byte("\x30two")
	two := intermediates.internTail([][]byte{inter, x})
	if again := intermediates.internTail([][]byte{bytes.Clone(inter), bytes.Clone(x)}); unsafe.SliceData(again) != unsafe.SliceData(two) {
		t.Error("one chain of two intermediates held twice")
	}
	other := intermediates.internTail([][]byte{inter, y})
	if len(two) != 2 || !bytes.Equal(two[1], x) || !bytes.Equal(other[1], y) || unsafe.SliceData(two[0]) != unsafe.SliceData(inter) {
		t.Errorf("chains of two intermediates mixed up: %q, %q", two, other)
	}
	if one := intermediates.internTail([][]byte{inter}); len(one) != 1 {
		t.Errorf("the chain of one intermediate became %d", len(one))
	}
	if intermediates.internTail(nil) != nil {
		t.Error("no intermediates, yet a rest of the chain")
	}
}

// TestSiteConfParts: what most sites do not have is behind siteConf.rare,
// and reads back as the state gave it.
func TestSiteConfParts(t *testing.T) {
	plain := buildSite(siteState(1, "plain.test", site.SiteActive), false, nil)
	if c := plain.entry.conf; c.rare != nil || c.statusName() != site.SiteActive || c.clientIPHeader() != "" || c.origin() != nil || c.clients() != nil {
		t.Fatalf("a site with none of the rare parts: %+v", c)
	}
	odd := siteState(2, "odd.test", "suspended")
	odd.Settings.RealClientIPHeader, odd.Settings.Paused = "X-Real-IP", true
	c := buildSite(odd, false, nil).entry.conf
	if c.rare == nil || c.statusName() != "suspended" || c.clientIPHeader() != "X-Real-IP" || !c.settings.Paused || c.settingsOf() != odd.Settings {
		t.Fatalf("status %q, header %q, settings %+v", c.statusName(), c.clientIPHeader(), c.settingsOf())
	}
	// siteConf keeps a site's feature settings field by field (setSettings,
	// settingsOf): a field added to them must be kept too, or the index and
	// the snapshot would drop it without a word.
	if n := reflect.TypeOf(sitesetting.Settings{}).NumField(); n != 3 {
		t.Errorf("sitesetting.Settings has %d fields; siteConf keeps 3", n)
	}
	if len(site.SiteStatuses) > 255 {
		t.Errorf("%d statuses do not fit siteConf.status", len(site.SiteStatuses))
	}
	for i, s := range site.SiteStatuses {
		if c := buildSite(siteState(int64(10+i), "s.test", s), false, nil).entry.conf; c.statusName() != s || c.rare != nil {
			t.Errorf("status %q read back as %q", s, c.statusName())
		}
	}
}

// TestIndexPointerWords pins how many pointer words a served, a siteConf
// and the entries and groups of the index's maps hold: each is read by
// the collector at every cycle, for every certificate, name and site
// (BenchmarkIndexMark), so one more is a choice to make on purpose, here.
func TestIndexPointerWords(t *testing.T) {
	for _, c := range []struct {
		v    any
		want int
	}{{served{}, 6}, {siteConf{}, 3}, {siteEntry{}, 3},
		// A map's entry is a hash and its value (pmap.go), and a group's
		// table of shards holds no pointer: one pointer word a group.
		{entry[candidates]{}, 1}, {entry[siteEntry]{}, 3}, {group[candidates]{}, 1}} {
		if got := pointerWords(reflect.TypeOf(c.v)); got != c.want {
			t.Errorf("%T holds %d pointer words, want %d", c.v, got, c.want)
		}
	}
}

// pointerWords counts the words of a value of type t that the collector
// reads as pointers.
func pointerWords(t reflect.Type) int {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.String, reflect.Slice:
		return 1
	case reflect.Interface:
		return 2
	case reflect.Array:
		return t.Len() * pointerWords(t.Elem())
	case reflect.Struct:
		n := 0
		for i := range t.NumField() {
			n += pointerWords(t.Field(i).Type)
		}
		return n
	}
	return 0
}
