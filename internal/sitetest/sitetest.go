// Package sitetest is a test helper for the nouns that belong to a site
// (records, HTTPS configurations, certificates): a real SQLite store in the
// test's temporary directory, holding the default plan instance and one
// site, example.com, a sealer under a fresh master key and a settable clock.
package sitetest

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// T0 is the time a new Env's Clock shows.
var T0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// Clock is a settable time source for the services' Now: Now returns T.
type Clock struct{ T time.Time }

// Now returns c.T.
func (c *Clock) Now() time.Time { return c.T }

// Env is a store holding one site.
type Env struct {
	Store  *sqlstore.Store // closed when the test ends
	Site   site.Site       // example.com, created at T0
	Sealer domain.Sealer   // under a fresh master key
	Clock  *Clock          // at T0
}

// New opens the store and creates the site example.com on it.
func New(t testing.TB) *Env {
	t.Helper()
	store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	k, _ := keyseal.Generate()
	sealer, _ := keyseal.New(k)
	clk := &Clock{T: T0}
	sites := &site.Service{Store: store, Now: clk.Now}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, err := sites.CreateSite(t.Context(), site.CreateSiteInput{Name: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Store: store, Site: st, Sealer: sealer, Clock: clk}
}
