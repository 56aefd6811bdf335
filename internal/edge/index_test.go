package edge

import (
	"hash/maphash"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// TestSiteRoutesReplaced: a site's routes, exact and wildcard, are in the
// index while the site has them and gone once an update takes them away
// (removeSite reads their names from the site's entry); a site without
// routes keeps no names for them.
func TestSiteRoutesReplaced(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "example.com", "*.example.com")
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "www.example.com", Origin: "10.0.0.1:80"}, {Name: "*.example.com", Origin: "10.0.0.2:80"}}
	ix := load(maphash.MakeSeed(), []SiteState{st}, 1, now, false)
	if r := ix.routeFor("www.example.com"); r == nil || r.origin != "10.0.0.1:80" {
		t.Fatalf("www.example.com routed to %+v", r)
	}
	if r := ix.routeFor("api.example.com"); r == nil || r.origin != "10.0.0.2:80" {
		t.Fatalf("api.example.com (wildcard) routed to %+v", r)
	}

	st.Routes = []Route{{Name: "shop.example.com", Origin: "10.0.0.3:80"}}
	ix = ix.apply([]SiteState{st}, nil, 2, now)
	if r := ix.routeFor("www.example.com"); r != nil {
		t.Errorf("www.example.com still routed to %s after its route was taken away", r.origin)
	}
	if r := ix.routeFor("api.example.com"); r != nil {
		t.Errorf("api.example.com still routed to %s after the wildcard route was taken away", r.origin)
	}
	if r := ix.routeFor("shop.example.com"); r == nil || r.origin != "10.0.0.3:80" {
		t.Errorf("shop.example.com routed to %+v", r)
	}

	st.Routes = nil
	ix = ix.apply([]SiteState{st}, nil, 3, now)
	if r := ix.routeFor("shop.example.com"); r != nil {
		t.Errorf("shop.example.com still routed to %s after the site lost its routes", r.origin)
	}
	e, ok := ix.sites.Get("1")
	if !ok {
		t.Fatal("the site is not in the index")
	}
	if exact, wild := e.routes(); len(exact)+len(wild) > 0 || e.conf.rare != nil {
		t.Errorf("a site without routes keeps route names %v %v", exact, wild)
	}
}

// TestLoadCertificateListedTwice: a certificate listed twice in a site's
// state (the last one wins) leaves each of its names once in an index
// built whole, as in one built by updates, and a removed site leaves none:
// the first listing's names taken out must leave no entry behind (an
// entry without candidates matches no key, so it could be neither found
// nor removed).
func TestLoadCertificateListedTwice(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(24*time.Hour), "example.com", "*.example.com")
	st := siteState(1, "example.com", site.SiteActive, c, c)
	seed := maphash.MakeSeed()
	loaded := load(seed, []SiteState{st}, 1, now, false)
	applied := newIndex(seed).apply([]SiteState{st}, nil, 1, now)
	for how, ix := range map[string]*Index{"loaded": loaded, "applied": applied} {
		entries := 0
		for _, m := range []pmap[candidates]{ix.exact, ix.wild} {
			m.each(func(c candidates) bool {
				entries++
				if len(c) != 1 {
					t.Errorf("%s: a name with %d candidates", how, len(c))
				}
				return true
			})
		}
		if ix.Names() != 2 || entries != 2 {
			t.Errorf("%s: %d names in %d entries, want 2", how, ix.Names(), entries)
		}
		if got := ix.lookupWild("www.example.com"); len(got) != 1 {
			t.Errorf("%s: *.example.com has %d candidates", how, len(got))
		}
		gone := ix.apply([]SiteState{{ID: 1}}, nil, 2, now)
		left := 0
		for _, m := range []pmap[candidates]{gone.exact, gone.wild} {
			m.each(func(candidates) bool { left++; return true })
		}
		if gone.Names() != 0 || left != 0 {
			t.Errorf("%s, then the site removed: %d names and %d entries left", how, gone.Names(), left)
		}
	}
}
