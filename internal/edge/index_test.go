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
