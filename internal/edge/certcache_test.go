package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/site"
	xocsp "golang.org/x/crypto/ocsp"
)

// TestCertCacheEviction: with room for 2 certificates, serving 6 evicts
// some; each is still served (its own leaf) on a real handshake, rebuilt
// from its sealed key, and the cache never holds more than 2. Its counts
// (CertCacheStats, for the metrics) say so: a lookup per handshake, a miss
// per build, an eviction per miss beyond the room.
func TestCertCacheEviction(t *testing.T) {
	f := newFixture(t)
	src := newMemSource()
	var leaves []string
	for i := range 6 {
		name := fmt.Sprintf("s%d.example", i)
		c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www."+name)
		src.put(siteState(int64(i+1), name, site.SiteActive, c))
		leaves = append(leaves, c.ID)
	}
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, CertCache: 2})
	for round := range 2 {
		for i := range 6 {
			chain, err := handshake(t, addr, fmt.Sprintf("www.s%d.example", i), nil)
			if err != nil {
				t.Fatalf("round %d, site %d: %v", round, i, err)
			}
			if got := chain[0].DNSNames; len(got) != 1 || got[0] != fmt.Sprintf("www.s%d.example", i) {
				t.Fatalf("round %d, site %d: served %v", round, i, got)
			}
			if n := e.certs().len(); n > 2 {
				t.Fatalf("the cache holds %d certificates, more than its 2", n)
			}
		}
	}
	if b := e.builds.Load(); b < 12 {
		t.Errorf("%d builds for 12 handshakes over 6 certificates and a cache of 2: nothing was evicted", b)
	}
	st := e.CertCacheStats()
	if st.Misses != uint64(e.builds.Load()) || st.Hits+st.Misses != 12 || st.Evictions != st.Misses-2 || st.Size != 2 || st.Capacity != 2 {
		t.Errorf("stats %+v after 12 handshakes and %d builds, want a lookup per handshake, a miss per build, an eviction per miss past 2",
			st, e.builds.Load())
	}
}

// TestCertCacheHit: a certificate served again is not built again.
func TestCertCacheHit(t *testing.T) {
	f := newFixture(t)
	src := newMemSource()
	c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www.example.com")
	src.put(siteState(1, "example.com", site.SiteActive, c))
	e, addr := startEdge(t, src, f.sealer)
	for range 3 {
		if _, err := handshake(t, addr, "www.example.com", nil); err != nil {
			t.Fatal(err)
		}
	}
	// A reload of the site (a new served, the same certificate) hits too.
	src.put(siteState(1, "example.com", site.SiteActive, c))
	e.Refresh(context.Background())
	if _, err := handshake(t, addr, "www.example.com", nil); err != nil {
		t.Fatal(err)
	}
	if b := e.builds.Load(); b != 1 {
		t.Errorf("%d builds, want 1", b)
	}
	if st := e.CertCacheStats(); st != (CertCacheStats{Hits: 3, Misses: 1, Size: 1, Capacity: DefaultCertCache}) {
		t.Errorf("stats %+v, want 3 hits, 1 miss, 1 held of %d", st, DefaultCertCache)
	}
}

// TestCertCacheReplaced: a certificate replaced under the same id (new
// chain and key) is served at once, never the cached old one, and the old
// one comes back when it is put back. So is one replaced with the same leaf
// and key but another chain (an intermediate taken out, then put back, as a
// user fixing a chain uploads it again): the entry built for the old chain
// is not served for the new one.
func TestCertCacheReplaced(t *testing.T) {
	f := newFixture(t)
	src := newMemSource()
	old, oldLeaf := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www.example.com")
	src.put(siteState(1, "example.com", site.SiteActive, old))
	e, addr := startEdge(t, src, f.sealer)
	check := func(want []byte, certs int, what string) {
		t.Helper()
		chain, err := handshake(t, addr, "www.example.com", nil)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if string(chain[0].Raw) != string(want) {
			t.Fatalf("%s: served another leaf", what)
		}
		if len(chain) != certs {
			t.Fatalf("%s: %d certificates sent, want %d", what, len(chain), certs)
		}
	}
	replace := func(c cert.Certificate) {
		src.put(siteState(1, "example.com", site.SiteActive, c))
		e.Refresh(context.Background())
	}
	check(oldLeaf.Cert.Raw, 2, "before the replacement")
	repl, newLeaf := f.replacement(old.ID, now.Add(48*time.Hour), "www.example.com") // the same id, as SetCertificate's Update does
	replace(repl)
	check(newLeaf.Cert.Raw, 2, "after the replacement")
	replace(old)
	check(oldLeaf.Cert.Raw, 2, "put back")
	leafOnly := old
	blk, _ := pem.Decode([]byte(old.ChainPEM))
	leafOnly.ChainPEM = string(pem.EncodeToMemory(blk))
	replace(leafOnly)
	check(oldLeaf.Cert.Raw, 1, "the intermediate taken out")
	replace(old)
	check(oldLeaf.Cert.Raw, 2, "the intermediate put back")
}

// TestCertCacheBuildsOnce: many handshakes at once for a certificate not
// yet built unseal its key once.
func TestCertCacheBuildsOnce(t *testing.T) {
	f := newFixture(t)
	src := newMemSource()
	c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "www.example.com")
	src.put(siteState(1, "example.com", site.SiteActive, c))
	e, addr := startEdge(t, src, f.sealer)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	start := make(chan struct{})
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true})
			if err != nil {
				errs <- err
				return
			}
			conn.Close()
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if b := e.builds.Load(); b != 1 {
		t.Errorf("16 concurrent handshakes built the certificate %d times, want 1", b)
	}
}

// TestCertCacheSizes: the cache holds about what it is given, whatever the
// size, and at least one certificate.
func TestCertCacheSizes(t *testing.T) {
	for _, size := range []int{0, 1, 15, 16, 100, 1000, 10_000} {
		cc := newCertCache(size)
		total := 0
		for i := range cc.shards {
			if cc.shards[i].max < 1 {
				t.Errorf("size %d: shard %d holds nothing", size, i)
			}
			total += cc.shards[i].max
		}
		if want := max(size, 1); total != want {
			t.Errorf("size %d: the shards hold %d", size, total)
		}
	}
}

// TestCertCacheStapled: with a cache of 1 and two stapled certificates
// served in turn (each handshake evicts the other), each handshake still
// carries its own certificate's good OCSP response.
func TestCertCacheStapled(t *testing.T) {
	f := stapleFixture{newFixture(t)}
	src := newMemSource()
	staples := &memStaples{}
	on := DefaultHostPolicy()
	on.OCSP = true
	type cs struct {
		host string
		leaf *x509.Certificate
		good Staple
	}
	var certs []cs
	for i, name := range []string{"a.example", "b.example"} {
		c, l := f.leaf(t, false, "www."+name)
		st := siteState(int64(i+1), name, site.SiteActive, c)
		st.Policy.Hosts = map[string]HostPolicy{"www." + name: on}
		src.put(st)
		good := f.staple(t, c, l, xocsp.Good, now.Add(24*time.Hour))
		staples.put(good)
		certs = append(certs, cs{"www." + name, l.Cert, good})
	}
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Staples: staples, CertCache: 1})
	// The edge reads the staples in the background from its start
	// (followStaples): read them now, before the first handshake.
	if err := e.loadStaples(t.Context()); err != nil {
		t.Fatal(err)
	}
	for round := range 3 {
		for _, c := range certs {
			leaf, s, err := stapledHandshake(t, addr, c.host, f.inter.Cert)
			if err != nil || !leaf.Equal(c.leaf) || !bytes.Equal(s, c.good.Response) {
				t.Fatalf("round %d, %s: staple %d bytes, %v; want its own leaf and good response", round, c.host, len(s), err)
			}
		}
	}
}

// TestCertCacheHint: a served's hint finds its entry without the map, and
// never another entry: not the one that took its entry's place after an
// eviction, not one of another cache (whose places and numbers differ).
func TestCertCacheHint(t *testing.T) {
	f := newFixture(t)
	conf := &siteConf{id: 1, name: "example.com", served: true}
	var svs [2]*served
	for i := range svs {
		c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), fmt.Sprintf("h%d.example.com", i))
		if svs[i] = newServed(c, nil, placedBytes{}, conf, nil); svs[i] == nil {
			t.Fatal("nothing to serve")
		}
	}
	builds := 0
	build := func(*served, *certEntry) error { builds++; return nil }
	cc := newCertCache(1)
	first := cc.get(svs[0], build)
	if svs[0].hint.Load() != first.hint() {
		t.Fatalf("hint %x, want the entry's %x", svs[0].hint.Load(), first.hint())
	}
	if again := cc.get(svs[0], build); again != first || builds != 1 {
		t.Fatalf("a hit returned another entry or built again (%d builds)", builds)
	}
	second := cc.get(svs[1], build) // evicts the first: its place is the second's now
	if second.place != first.place || !first.evicted.Load() {
		t.Fatalf("the second entry is at place %d, the first at %d (evicted %v)", second.place, first.place, first.evicted.Load())
	}
	got := cc.get(svs[0], build)
	if got == second || got.key.id != svs[0].id() || !bytes.Equal(got.leaf, svs[0].leaf()) {
		t.Fatalf("the stale hint found the entry of %s", got.key.id)
	}
	if builds != 3 {
		t.Errorf("%d builds, want 3 (the first certificate built again after its eviction)", builds)
	}
	if st := &cc.shards[0]; st.hits.Load() != 1 || st.misses.Load() != 3 {
		t.Errorf("%d hits and %d misses, want 1 and 3", st.hits.Load(), st.misses.Load())
	}
	// Two caches' first entries are both at place 0: the sequence numbers
	// are the process's, so a hint of one never names the other's entry.
	cc1, cc2 := newCertCache(1), newCertCache(1)
	c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "two.example.com")
	other := newServed(c, nil, placedBytes{}, conf, nil)
	cc1.get(svs[0], build)
	cc2.get(other, build)
	if ent := cc2.get(svs[0], build); ent.key.id != svs[0].id() {
		t.Fatalf("a hint of another cache found the entry of %s", ent.key.id)
	}
	// An entry's key is its own copy, not the served's string (which may be
	// in a slab of strings that the entry, outliving the index, must not keep).
	if ent := cc2.get(svs[0], build); unsafe.StringData(ent.key.id) == unsafe.StringData(svs[0].id()) {
		t.Error("the entry's key shares the served's id")
	}
	// A hint of a larger cache names a place this one does not have.
	big := newCertCache(64)
	for i := range 40 {
		c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), fmt.Sprintf("b%d.example.com", i))
		sv := newServed(c, nil, placedBytes{}, conf, nil)
		big.get(sv, build)
		if ent := cc.get(sv, build); ent.key.id != sv.id() {
			t.Fatalf("a hint of another cache found the entry of %s", ent.key.id)
		}
	}
}
