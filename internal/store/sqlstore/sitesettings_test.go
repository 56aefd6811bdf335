package sqlstore_test

import (
	"database/sql"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// TestLegacySiteSettings: a site that has no settings row, as every site
// created before migration 022 has, reads and is served as it was then
// (IPv6 on); its first settings update stores a row, and the edge's
// change feed names the site so that the edge reloads it with the new
// settings.
func TestLegacySiteSettings(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "esacert.db")
	s, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	if err := s.CreateInstance(ctx, site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas",
		BillingMode: "PREPAY", Period: 1, Status: site.InstanceOnline, Created: now, Expires: now.AddDate(0, 1, 0)}, nil); err != nil {
		t.Fatal(err)
	}
	const legacy, fresh = 9000000000001, 9000000000002
	for i, id := range []int64{legacy, fresh} {
		if err := s.CreateSite(ctx, site.Site{ID: id, Name: []string{"old.com", "new.com"}[i], AccessType: "NS", Coverage: "overseas",
			Status: site.SiteActive, InstanceID: "inst", VerifyCode: "verify_x", Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
	}
	// Make the first one what a site from before migration 022 is: no row.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.ExecContext(ctx, `DELETE FROM site_settings WHERE site_id = ?`, legacy); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	if got, err := s.SiteConfig(ctx, legacy); err != nil || !reflect.DeepEqual(got, sitesetting.LegacyConfig()) {
		t.Errorf("SiteConfig of a site from before settings = %+v, %v; want %+v (IPv6 on)", got, err, sitesetting.LegacyConfig())
	}
	if got, err := s.SiteConfig(ctx, fresh); err != nil || !reflect.DeepEqual(got, sitesetting.NewSiteConfig()) {
		t.Errorf("SiteConfig of a new site = %+v, %v; want %+v (IPv6 on)", got, err, sitesetting.NewSiteConfig())
	}
	st, err := s.LoadEdge(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := st.Settings[legacy]; ok || got != (sitesetting.Settings{}) {
		t.Errorf("the edge's settings of the old site = %+v (present %v); want none: the zero Settings serve IPv6", got, ok)
	}
	if got, ok := st.Settings[fresh]; !ok || got.IPv6Off {
		t.Errorf("the edge's settings of the new site = %+v (present %v), want its stored row, IPv6 on", got, ok)
	}

	if _, err := s.UpdateSiteConfig(ctx, legacy, func(c *sitesetting.Config) error {
		c.RealClientIPHeader = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	changed, _, complete, err := s.ChangedSites(ctx, st.Rev)
	if err != nil || !complete || !slices.Equal(changed, []int64{legacy}) {
		t.Errorf("ChangedSites after the update = %v, %v, %v; want the old site", changed, complete, err)
	}
	st, err = s.LoadEdge(ctx, []int64{legacy})
	if err != nil {
		t.Fatal(err)
	}
	want := sitesetting.Settings{RealClientIPHeader: sitesetting.DefaultRealClientIPHeader}
	if got := st.Settings[legacy]; got != want {
		t.Errorf("the edge's settings after the update = %+v, want %+v (still IPv6 on)", got, want)
	}
}

// TestMigrationSiteFeatures: migration 023 counts AddRealClientIpHeader as
// set on the rows from before it where the header is on (off cannot be
// told from never set), and every feature as never set.
func TestMigrationSiteFeatures(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "esacert.db")
	s, err := sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	if err := s.CreateInstance(ctx, site.Instance{ID: "inst", OrderID: "1", Plan: mustPlan("basic"), Coverage: "overseas",
		BillingMode: "PREPAY", Period: 1, Status: site.InstanceOnline, Created: now, Expires: now.AddDate(0, 1, 0)}, nil); err != nil {
		t.Fatal(err)
	}
	const on, off = 9100000000001, 9100000000002
	for i, id := range []int64{on, off} {
		if err := s.CreateSite(ctx, site.Site{ID: id, Name: []string{"on.com", "off.com"}[i], AccessType: "NS", Coverage: "overseas",
			Status: site.SiteActive, InstanceID: "inst", VerifyCode: "verify_x", Created: now, Updated: now}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Take the database back to what migration 022 left, with the header
	// on for one site, and open it again: 023 runs on those rows.
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE site_settings DROP COLUMN real_ip_header_set`, `ALTER TABLE site_settings DROP COLUMN features`,
		`DELETE FROM schema_migrations WHERE version = 23`, `UPDATE site_settings SET real_ip_header = 1 WHERE site_id = 9100000000001`} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	s, err = sqlstore.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for id, want := range map[int64]string{on: "on", off: ""} {
		got, err := s.SiteConfig(ctx, id)
		if err != nil || got.AddRealClientIPHeader() != want || got.Features != nil || got.AddClientGeolocationHeader() != "" {
			t.Errorf("site %d after migration 023 = %+v, %v; want AddRealClientIpHeader %q, no feature set", id, got, err, want)
		}
	}
}
