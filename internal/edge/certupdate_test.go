package edge

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// servedName is what the edge at addr serves for host: the key type and
// first SAN of the leaf, or "" when the handshake fails.
func servedName(t *testing.T, addr, host string) string {
	t.Helper()
	chain, err := handshake(t, addr, host, nil)
	if err != nil {
		return ""
	}
	alg := "ecdsa"
	if chain[0].PublicKeyAlgorithm == x509.RSA {
		alg = "rsa"
	}
	return alg + ":" + chain[0].DNSNames[0]
}

// onSite sets the site id of certificates, as the store hands them out.
func onSite(id int64, c cert.Certificate) cert.Certificate {
	c.SiteID = id
	return c
}

// sameIndex fails unless got does for every name what want does (want
// built whole from the store's state), naming the first difference.
func sameIndex(t *testing.T, got, want *Index) {
	t.Helper()
	if g, w := got.Names(), want.Names(); g != w {
		t.Fatalf("the updated index holds %d names, one built whole %d", g, w)
	}
	hosts := map[string]bool{}
	for _, ix := range []*Index{got, want} {
		for _, m := range []pmap[candidates]{ix.exact, ix.wild} {
			m.each(func(c candidates) bool {
				for _, sv := range c {
					for n := range sv.names() {
						if p, ok := strings.CutPrefix(n, "*."); ok {
							n = "x." + p
						}
						hosts[n] = true
					}
				}
				return true
			})
		}
	}
	for h := range hosts {
		if g, w := describe(got, h), describe(want, h); g != w {
			t.Fatalf("for %s the updated index has\n  %s\nand one built whole\n  %s", h, g, w)
		}
	}
	if got.Names() != want.Names() || got.paused != want.paused {
		t.Fatalf("the updated index has %d names, %d paused; one built whole %d, %d", got.Names(), got.paused,
			want.Names(), want.paused)
	}
}

// TestCertificateUpdates: certificates added to, replaced on and deleted
// from a site are applied one by one (the site is not loaded again), and
// the site's other certificates stay as they were, down to the same
// entries in the index.
func TestCertificateUpdates(t *testing.T) {
	f := newFixture(t)
	const id = 1
	www, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	api, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "api.example.com")
	wild, _ := f.certificate("ecdsa-p256", now.Add(50*24*time.Hour), "*.example.com")
	sharedEC, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "shared.example.com")
	sharedRSA, _ := f.certificate("rsa-2048", now.Add(90*24*time.Hour), "shared.example.com")
	src := newMemSource()
	src.put(siteState(id, "example.com", site.SiteActive, www, api, wild, sharedEC, sharedRSA))
	other, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.other.net")
	src.put(siteState(2, "other.net", site.SiteActive, other))
	e, addr := startEdge(t, src, f.sealer)
	apiBefore := e.Index().lookupExact("api.example.com")[0]

	check := func(step string, want map[string]string) {
		t.Helper()
		for host, w := range want {
			if got := servedName(t, addr, host); got != w {
				t.Errorf("%s: %s is served %q, want %q", step, host, got, w)
			}
		}
		if src.siteLoads != 0 {
			t.Errorf("%s: a site was loaded whole %d times", step, src.siteLoads)
		}
		if got := e.Index().lookupExact("api.example.com"); len(got) != 1 || got[0] != apiBefore {
			t.Errorf("%s: the untouched certificate's entry changed", step)
		}
		sameIndex(t, e.Index(), load(e.seed, mustLoad(t, src), 0, now, false))
	}
	check("start", map[string]string{"www.example.com": "ecdsa:www.example.com", "shop.example.com": "ecdsa:*.example.com",
		"shared.example.com": "ecdsa:shared.example.com", "www.other.net": "ecdsa:www.other.net"})

	added, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "new.example.com", "*.new.example.com")
	src.putCert(onSite(id, added))
	e.Refresh(context.Background())
	check("added", map[string]string{"new.example.com": "ecdsa:new.example.com", "a.new.example.com": "ecdsa:new.example.com",
		"www.example.com": "ecdsa:www.example.com"})
	if src.certLoads != 1 {
		t.Errorf("certificates loaded: %d, want 1", src.certLoads)
	}

	// Replaced by one for other names: the old name falls back to the wildcard.
	moved, _ := f.replacement(www.ID, now.Add(60*24*time.Hour), "www2.example.com")
	src.putCert(onSite(id, moved))
	e.Refresh(context.Background())
	check("replaced with other names", map[string]string{"www.example.com": "ecdsa:*.example.com",
		"www2.example.com": "ecdsa:www2.example.com"})

	// A name two certificates share: the other one takes over.
	src.deleteCert(id, sharedEC.ID)
	e.Refresh(context.Background())
	check("one of a shared name deleted", map[string]string{"shared.example.com": "rsa:shared.example.com"})

	src.deleteCert(id, wild.ID)
	e.Refresh(context.Background())
	check("wildcard deleted", map[string]string{"shop.example.com": "", "www.example.com": "",
		"www2.example.com": "ecdsa:www2.example.com", "api.example.com": "ecdsa:api.example.com"})
	if n := e.Index().exact.Len() + e.Index().wild.Len(); n != e.Index().Names() {
		t.Fatal("Names miscounted")
	}
}

// TestCertificateUpdateBatches: changes read in one batch. A certificate
// added then deleted is gone, one deleted then added back is served (what
// is loaded is the store's state now); a certificate change and any other
// change of its site in one batch reload the site whole.
func TestCertificateUpdateBatches(t *testing.T) {
	f := newFixture(t)
	keep, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, keep))
	e, addr := startEdge(t, src, f.sealer)

	brief, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "brief.example.com")
	src.putCert(onSite(1, brief))
	src.deleteCert(1, brief.ID)
	src.deleteCert(1, keep.ID)
	src.putCert(onSite(1, keep))
	e.Refresh(context.Background())
	if got := servedName(t, addr, "brief.example.com"); got != "" {
		t.Errorf("a certificate added and deleted in one batch is served: %s", got)
	}
	if got := servedName(t, addr, "www.example.com"); got != "ecdsa:www.example.com" {
		t.Errorf("a certificate deleted and added back in one batch is served %q", got)
	}
	if src.siteLoads != 0 {
		t.Errorf("certificate changes alone loaded the site whole")
	}

	// A certificate and the site's settings in one batch: the site is
	// loaded whole, and both apply.
	mixed, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "mixed.example.com")
	src.putCert(onSite(1, mixed))
	st := src.sites[1]
	st.Settings = sitesetting.Settings{Paused: true}
	src.put(st)
	e.Refresh(context.Background())
	if src.siteLoads != 1 {
		t.Errorf("a batch with a settings change loaded the site %d times, want once", src.siteLoads)
	}
	ix := e.Index()
	if c := ix.lookupExact("mixed.example.com"); len(c) != 1 || !c[0].site.settings.Paused || ix.paused != 1 {
		t.Errorf("after the mixed batch: %d candidates, paused sites %d", len(c), ix.paused)
	}
	sameIndex(t, ix, load(e.seed, mustLoad(t, src), 0, now, false))

	// Certificates of a site the index does not hold (here: created in
	// the same batch) load that site whole.
	fresh, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.fresh.org")
	src.mu.Lock()
	src.sites[3] = siteState(3, "fresh.org", site.SiteActive)
	src.mu.Unlock()
	src.putCert(onSite(3, fresh))
	e.Refresh(context.Background())
	if got := servedName(t, addr, "www.fresh.org"); got != "ecdsa:www.fresh.org" {
		t.Errorf("a certificate of a site new to the index is served %q", got)
	}
}

// TestCertificateUpdateUnservedSite: a certificate added to a site the edge
// does not serve (pending, with RequireVerified) is not served, and is once
// the site becomes active.
func TestCertificateUpdateUnservedSite(t *testing.T) {
	f := newFixture(t)
	src := newMemSource()
	src.put(siteState(1, "pending.net", site.SitePending))
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, RequireVerified: true})
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.pending.net")
	src.putCert(onSite(1, c))
	e.Refresh(context.Background())
	if got := servedName(t, addr, "www.pending.net"); got != "" {
		t.Fatalf("a pending site's new certificate is served: %s", got)
	}
	st := src.sites[1]
	st.Site = &site.Site{ID: 1, Name: "pending.net", Status: site.SiteActive}
	src.put(st)
	e.Refresh(context.Background())
	if got := servedName(t, addr, "www.pending.net"); got != "ecdsa:www.pending.net" {
		t.Fatalf("the site, now active, serves %q", got)
	}
}

// TestCertificateUpdateTwin: a certificate change takes the certificate's
// RSA twin (a free certificate's, served under cert.TwinID) out and in
// with it.
func TestCertificateUpdateTwin(t *testing.T) {
	f := newFixture(t)
	ec, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	twin, _ := f.certificate("rsa-2048", now.Add(60*24*time.Hour), "www.example.com")
	var err error
	twin.ID = cert.TwinID(ec.ID)
	if twin.SealedKey, err = cert.SealKey(f.sealer, ec.ID, []byte("unused")); err != nil {
		t.Fatal(err)
	}
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, ec, twin))
	e, _ := startEdge(t, src, f.sealer)
	if n := len(e.Index().lookupExact("www.example.com")); n != 2 {
		t.Fatalf("%d candidates, want the certificate and its twin", n)
	}
	src.deleteCert(1, twin.ID) // the store deletes both rows' worth at once,
	src.deleteCert(1, ec.ID)   // and records one change, for ec.ID
	src.mu.Lock()
	src.feed = src.feed[:len(src.feed)-2]
	src.feed = append(src.feed, memChange{src.rev, Change{SiteID: 1, CertificateID: ec.ID}})
	src.mu.Unlock()
	e.Refresh(context.Background())
	if n := len(e.Index().lookupExact("www.example.com")); n != 0 {
		t.Fatalf("%d candidates left after deleting the certificate with its twin", n)
	}
}

// TestCertificateUpdatesAtRandom applies random batches of certificate
// additions, replacements and deletions (with names shared between
// certificates, wildcards, names outside the site) and of site changes,
// and compares the updated index after each batch with one built whole
// from the same state; then the snapshot written from it.
func TestCertificateUpdatesAtRandom(t *testing.T) {
	f := newFixture(t)
	r := rand.New(rand.NewPCG(3, 4))
	sites := []string{"a.test", "b.test", "c.test"}
	var pool []cert.Certificate // leaves to draw from: minting is the slow part
	for i := range 12 {
		s := sites[i%len(sites)]
		names := []string{fmt.Sprintf("h%d.%s", i%4, s)}
		switch i % 4 {
		case 1:
			names = append(names, "*."+s)
		case 2:
			names = append(names, "shared."+s, "out.elsewhere.org")
		case 3:
			names = []string{"*.x." + s, "shared." + s}
		}
		kt := pkitest.KeyType("ecdsa-p256")
		if i%5 == 0 {
			kt = "rsa-2048"
		}
		c, _ := f.certificate(kt, now.Add(time.Duration(30+i)*24*time.Hour), names...)
		pool = append(pool, c)
	}
	src := newMemSource()
	for i, s := range sites {
		src.put(siteState(int64(i+1), s, site.SiteActive))
	}
	e, _ := startEdge(t, src, f.sealer)
	ids := []string{"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"}
	for batch := range 60 {
		for range 1 + r.IntN(6) {
			sid := int64(1 + r.IntN(len(sites)))
			id := fmt.Sprintf("%d-%s", sid, ids[r.IntN(len(ids))])
			switch r.IntN(10) {
			case 0: // another kind of change of the site
				st := src.sites[sid]
				st.Settings.Paused = !st.Settings.Paused
				src.put(st)
			case 1, 2, 3:
				src.deleteCert(sid, id)
			default: // add or replace, from the pool's certificates for the site
				var mine []cert.Certificate
				for _, c := range pool {
					if strings.HasSuffix(c.Info.SANs[0], sites[sid-1]) {
						mine = append(mine, c)
					}
				}
				c := mine[r.IntN(len(mine))]
				c.ID = id
				c.SiteID = sid
				var err error
				if c.SealedKey, err = cert.SealKey(f.sealer, id, []byte("k")); err != nil {
					t.Fatal(err)
				}
				src.putCert(c)
			}
		}
		e.Refresh(context.Background())
		want := load(e.seed, mustLoad(t, src), 0, now, false)
		sameIndex(t, e.Index(), want)
		count := 0
		e.Index().sites.each(func(se siteEntry) bool { count += se.certs.Len(); return true })
		wantCount := 0
		want.sites.each(func(se siteEntry) bool { wantCount += se.certs.Len(); return true })
		if count != wantCount {
			t.Fatalf("batch %d: the sites hold %d certificates, want %d", batch, count, wantCount)
		}
	}
	path := filepath.Join(t.TempDir(), "snapshot")
	if err := saveSnapshot(path, e.Index(), now); err != nil {
		t.Fatal(err)
	}
	states, _, err := readSnapshot(path)
	if err != nil {
		t.Fatal(err)
	}
	sameIndex(t, load(e.seed, states, 0, now, false), e.Index())
	if slices.ContainsFunc(states, func(s SiteState) bool { return s.Site == nil }) {
		t.Fatal("the snapshot holds a site without its site")
	}
}

// TestUpdatesDuringSnapshotWrite: a snapshot being written (which takes
// seconds for a million certificates) does not hold certificate updates
// back: they take the update lock, never the snapshot's.
func TestUpdatesDuringSnapshotWrite(t *testing.T) {
	f := newFixture(t)
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive))
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Snapshot: filepath.Join(t.TempDir(), "snapshot"),
		SnapshotEvery: time.Hour})
	e.snapMu.Lock() // a write under way
	defer e.snapMu.Unlock()
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src.putCert(onSite(1, c))
	done := make(chan struct{})
	go func() {
		e.Refresh(context.Background())
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("an update waited for the snapshot write")
	}
	if got := servedName(t, addr, "www.example.com"); got != "ecdsa:www.example.com" {
		t.Fatalf("served %q during the snapshot write", got)
	}
}

// TestManyCertificateChangesReloadTheSite: a batch that changes most of a
// site's certificates (more than wholeSiteAfter) reloads the site whole,
// and every certificate is in the index.
func TestManyCertificateChangesReloadTheSite(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, c))
	e, _ := startEdge(t, src, f.sealer)
	for i := range wholeSiteAfter + 1 {
		cc := onSite(1, c)
		cc.ID, cc.Info.SANs = fmt.Sprintf("bulk%d", i), []string{fmt.Sprintf("h%d.example.com", i)}
		src.putCert(cc)
	}
	e.Refresh(context.Background())
	if src.siteLoads != 1 || src.certLoads != 0 {
		t.Errorf("%d changes of a site of 1: loaded whole %d times, %d certificates one by one", wholeSiteAfter+1,
			src.siteLoads, src.certLoads)
	}
	if n := e.Index().Names(); n != wholeSiteAfter+2 {
		t.Errorf("the index holds %d names, want %d", n, wholeSiteAfter+2)
	}
	sameIndex(t, e.Index(), load(e.seed, mustLoad(t, src), 0, now, false))
	// A few changes of the now large site: one by one again.
	src.deleteCert(1, "bulk0")
	e.Refresh(context.Background())
	if src.siteLoads != 1 || src.certLoads != 0 {
		t.Errorf("one delete loaded the site whole")
	}
	sameIndex(t, e.Index(), load(e.seed, mustLoad(t, src), 0, now, false))
}
