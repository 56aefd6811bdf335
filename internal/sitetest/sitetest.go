// Package sitetest is a test helper for the nouns that belong to a site
// (records, HTTPS configurations, certificates): a real SQLite store in the
// test's temporary directory, holding the default plan instance and one
// site, example.com, and a sealer under a fresh master key.
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

// New opens the store (closed when the test ends) and creates the site
// example.com on it, at the time now tells (nil: the current time). It
// returns the store, the site and the sealer.
func New(t testing.TB, now func() time.Time) (*sqlstore.Store, site.Site, domain.Sealer) {
	t.Helper()
	store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	k, _ := keyseal.Generate()
	sealer, _ := keyseal.New(k)
	sites := &site.Service{Store: store, Now: now}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	st, err := sites.CreateSite(t.Context(), site.CreateSiteInput{Name: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	return store, st, sealer
}
