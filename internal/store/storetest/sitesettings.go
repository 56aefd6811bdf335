package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
	"github.com/google/go-cmp/cmp"
)

// settingsStore is what the site-settings part of the suite exercises:
// the domain's interface, the sites they belong to, and the change feed's
// revision.
type settingsStore interface {
	site.Store
	sitesetting.Store
	Revision(ctx context.Context) (int64, error)
}

func testSiteSettings(t *testing.T, st Store) {
	s, ok := st.(settingsStore)
	if !ok {
		t.Fatalf("%T keeps no site settings", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-s", "basic", 0, now))
	const siteA, siteB, missing = 8000000000001, 8000000000002, 8000000000009
	mustSite(t, s, newSite(siteA, "settings.com", "inst-s", now))
	mustSite(t, s, newSite(siteB, "other-settings.com", "inst-s", now))

	got, err := s.SiteConfig(ctx, siteA)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sitesetting.NewSiteConfig(), got); diff != "" {
		t.Errorf("a new site's settings (-want +got):\n%s", diff)
	}
	if _, err := s.SiteConfig(ctx, missing); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("SiteConfig of a missing site = %v, want ErrSiteNotFound", err)
	}

	rev, err := s.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := sitesetting.Config{Paused: true, IPv6: true, IPv6Region: sitesetting.RegionMainland,
		RealClientIPHeader: true, RealClientIPHeaderName: "X-Client-IP", RealClientIPHeaderSet: true,
		Features: map[string]string{"UpdateDevelopmentMode.Enable": "off", "UpdateCnameFlattening.FlattenMode": "flatten_at_root"}}
	stored, err := s.UpdateSiteConfig(ctx, siteA, func(c *sitesetting.Config) error { *c = want; return nil })
	if err != nil || !cmp.Equal(want, stored) {
		t.Fatalf("UpdateSiteConfig = %+v, %v; want %+v", stored, err, want)
	}
	if r, _ := s.Revision(ctx); r != rev+1 {
		t.Errorf("UpdateSiteConfig moved the edge revision from %d to %d, want one change", rev, r)
	}
	if got, _ := s.SiteConfig(ctx, siteA); !cmp.Equal(want, got) {
		t.Errorf("SiteConfig after the update (-want +got):\n%s", cmp.Diff(want, got))
	}
	if got, _ := s.SiteConfig(ctx, siteB); !cmp.Equal(sitesetting.NewSiteConfig(), got) {
		t.Errorf("the other site's settings changed too: %+v", got)
	}

	// What a user set of the features without behaviour: kept per
	// parameter, "" forgets it (never set); a change the edge has no use
	// for records no edge change.
	rev, _ = s.Revision(ctx)
	stored, err = s.UpdateSiteConfig(ctx, siteA, func(c *sitesetting.Config) error {
		c.SetFeature("UpdateDevelopmentMode.Enable", "")
		c.SetFeature("UpdateSeoBypass.Enable", "off")
		c.RealClientIPHeaderSet = false
		return nil
	})
	want.Features = map[string]string{"UpdateCnameFlattening.FlattenMode": "flatten_at_root", "UpdateSeoBypass.Enable": "off"}
	want.RealClientIPHeaderSet = false
	if err != nil || !cmp.Equal(want, stored) {
		t.Errorf("UpdateSiteConfig of the features = %+v, %v; want %+v", stored, err, want)
	}
	if got, _ := s.SiteConfig(ctx, siteA); !cmp.Equal(want, got) {
		t.Errorf("SiteConfig after updating the features (-want +got):\n%s", cmp.Diff(want, got))
	}
	if r, _ := s.Revision(ctx); r != rev {
		t.Errorf("an update of what the edge does not use moved the edge revision from %d to %d", rev, r)
	}
	if _, err := s.UpdateSiteConfig(ctx, siteA, func(c *sitesetting.Config) error {
		c.SetFeature("UpdateSeoBypass.Enable", "")
		c.SetFeature("UpdateCnameFlattening.FlattenMode", "")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SiteConfig(ctx, siteA); got.Features != nil {
		t.Errorf("Features after forgetting every one = %#v, want nil", got.Features)
	}
	refused := errors.New("refused")
	if _, err := s.UpdateSiteConfig(ctx, siteA, func(c *sitesetting.Config) error { c.Paused = false; return refused }); !errors.Is(err, refused) {
		t.Errorf("UpdateSiteConfig whose update fails = %v, want its error", err)
	}
	if got, _ := s.SiteConfig(ctx, siteA); !got.Paused {
		t.Error("an update that failed was stored")
	}
	if _, err := s.UpdateSiteConfig(ctx, missing, func(*sitesetting.Config) error { return nil }); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("UpdateSiteConfig of a missing site = %v, want ErrSiteNotFound", err)
	}

	// Coverage is a column of the site.
	if err := s.UpdateSiteCoverage(ctx, siteA, "global", now.Add(1e9)); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Site(ctx, siteA); err != nil || got.Coverage != "global" || !got.Updated.Equal(now.Add(1e9)) {
		t.Errorf("Site after UpdateSiteCoverage = %+v, %v; want coverage global, updated a second later", got, err)
	}
	if err := s.UpdateSiteCoverage(ctx, missing, "global", now); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("UpdateSiteCoverage of a missing site = %v, want ErrSiteNotFound", err)
	}

	// Deleted with the site, what a user set with it: a site created again
	// under the same id starts anew.
	if _, err := s.UpdateSiteConfig(ctx, siteA, func(c *sitesetting.Config) error {
		c.SetFeature("UpdateDevelopmentMode.Enable", "off")
		c.RealClientIPHeaderSet = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSite(ctx, siteA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SiteConfig(ctx, siteA); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("SiteConfig of a deleted site = %v, want ErrSiteNotFound", err)
	}
	mustSite(t, s, newSite(siteA, "settings.com", "inst-s", now))
	if got, _ := s.SiteConfig(ctx, siteA); !cmp.Equal(sitesetting.NewSiteConfig(), got) {
		t.Errorf("a site created again kept the deleted one's settings: %+v", got)
	}
}

func testSiteTags(t *testing.T, st Store) {
	s, ok := st.(settingsStore)
	if !ok {
		t.Fatalf("%T keeps no site tags", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-t", "basic", 0, now))
	const siteA, siteB, missing = 8100000000001, 8100000000002, 8100000000009
	mustSite(t, s, newSite(siteA, "tagged.com", "inst-t", now))
	mustSite(t, s, newSite(siteB, "other-tagged.com", "inst-t", now))

	if err := s.TagSites(ctx, []int64{siteA}, []domain.Tag{{Key: "team", Value: "edge"}, {Key: "env", Value: "prod"}}, 20); err != nil {
		t.Fatal(err)
	}
	if err := s.TagSites(ctx, []int64{siteA}, []domain.Tag{{Key: "env", Value: "staging"}}, 20); err != nil {
		t.Fatal(err)
	}
	if err := s.TagSites(ctx, []int64{siteB}, []domain.Tag{{Key: "env", Value: "prod"}}, 20); err != nil {
		t.Fatal(err)
	}
	got, err := s.SiteTags(ctx, []int64{siteA})
	want := map[int64][]domain.Tag{siteA: {{Key: "env", Value: "staging"}, {Key: "team", Value: "edge"}}}
	if err != nil || !cmp.Equal(want, got) {
		t.Errorf("SiteTags(A) = %v, %v; want %v (overwritten value, key order)", got, err, want)
	}
	all, err := s.SiteTags(ctx, nil)
	if err != nil || len(all) != 2 || len(all[siteB]) != 1 {
		t.Errorf("SiteTags(nil) = %v, %v; want both sites' tags", all, err)
	}
	if err := s.TagSites(ctx, []int64{missing}, []domain.Tag{{Key: "k"}}, 20); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("TagSites of a missing site = %v, want ErrSiteNotFound", err)
	}

	// The limit counts the tags the site would have: overwriting is free.
	if err := s.TagSites(ctx, []int64{siteB}, []domain.Tag{{Key: "env", Value: "dev"}, {Key: "a"}}, 2); err != nil {
		t.Errorf("TagSites up to the limit: %v", err)
	}
	if err := s.TagSites(ctx, []int64{siteB}, []domain.Tag{{Key: "b"}}, 2); !errors.Is(err, domain.ErrTagLimit) {
		t.Errorf("TagSites beyond the limit = %v, want ErrTagLimit", err)
	}
	if got, _ := s.SiteTags(ctx, []int64{siteB}); len(got[siteB]) != 2 {
		t.Errorf("a tagging beyond the limit was kept: %v", got)
	}

	if err := s.UntagSites(ctx, []int64{siteA}, []string{"team", "nope"}, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SiteTags(ctx, []int64{siteA}); !cmp.Equal(map[int64][]domain.Tag{siteA: {{Key: "env", Value: "staging"}}}, got) {
		t.Errorf("SiteTags after untagging team = %v", got)
	}
	if err := s.UntagSites(ctx, []int64{siteB}, nil, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SiteTags(ctx, []int64{siteB}); len(got) != 0 {
		t.Errorf("SiteTags after untagging all = %v", got)
	}
	if err := s.UntagSites(ctx, []int64{missing}, nil, true); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("UntagSites of a missing site = %v, want ErrSiteNotFound", err)
	}

	// Several sites change together or not at all: B at the limit keeps A
	// untagged, a missing site keeps A's tags.
	if err := s.TagSites(ctx, []int64{siteB}, []domain.Tag{{Key: "b1"}, {Key: "b2"}}, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.TagSites(ctx, []int64{siteA, siteB}, []domain.Tag{{Key: "new"}}, 2); !errors.Is(err, domain.ErrTagLimit) {
		t.Errorf("TagSites(A, B) with B at the limit = %v, want ErrTagLimit", err)
	}
	if err := s.TagSites(ctx, []int64{siteB, siteA}, []domain.Tag{{Key: "new"}}, 2); !errors.Is(err, domain.ErrTagLimit) {
		t.Errorf("TagSites(B, A) with B at the limit = %v, want ErrTagLimit", err)
	}
	if err := s.TagSites(ctx, []int64{siteA, missing}, []domain.Tag{{Key: "new"}}, 2); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("TagSites(A, missing) = %v, want ErrSiteNotFound", err)
	}
	wantA := map[int64][]domain.Tag{siteA: {{Key: "env", Value: "staging"}}}
	if got, _ := s.SiteTags(ctx, []int64{siteA}); !cmp.Equal(wantA, got) {
		t.Errorf("a tagging that failed on another site tagged A: %v", got)
	}
	if err := s.TagSites(ctx, []int64{siteA, siteB, siteA}, []domain.Tag{{Key: "b1", Value: "x"}}, 2); err != nil {
		t.Errorf("TagSites(A, B, A) overwriting B's key = %v", err)
	}
	both := map[int64][]domain.Tag{siteA: {{Key: "b1", Value: "x"}, {Key: "env", Value: "staging"}}, siteB: {{Key: "b1", Value: "x"}, {Key: "b2"}}}
	if got, _ := s.SiteTags(ctx, []int64{siteA, siteB}); !cmp.Equal(both, got) {
		t.Errorf("SiteTags(A, B) after tagging both = %v, want %v", got, both)
	}
	if err := s.UntagSites(ctx, []int64{siteA, missing}, nil, true); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("UntagSites(A, missing) = %v, want ErrSiteNotFound", err)
	}
	if got, _ := s.SiteTags(ctx, []int64{siteA, siteB}); !cmp.Equal(both, got) {
		t.Errorf("an untagging that failed on a missing site untagged: %v", got)
	}
	if err := s.UntagSites(ctx, []int64{siteB, siteA}, []string{"b1"}, false); err != nil {
		t.Fatal(err)
	}
	after := map[int64][]domain.Tag{siteA: {{Key: "env", Value: "staging"}}, siteB: {{Key: "b2"}}}
	if got, _ := s.SiteTags(ctx, []int64{siteA, siteB}); !cmp.Equal(after, got) {
		t.Errorf("SiteTags(A, B) after untagging b1 from both = %v, want %v", got, after)
	}
	if err := s.UntagSites(ctx, []int64{siteB}, nil, true); err != nil {
		t.Fatal(err)
	}

	// Deleted with the site.
	if err := s.DeleteSite(ctx, siteA); err != nil {
		t.Fatal(err)
	}
	mustSite(t, s, newSite(siteA, "tagged.com", "inst-t", now))
	if got, _ := s.SiteTags(ctx, []int64{siteA}); len(got) != 0 {
		t.Errorf("a site created again kept the deleted one's tags: %v", got)
	}

	// ListSites filters by tags, each of which a site must have (a tag
	// without a value: any value of its key), and FindSiteTags finds the
	// tags that match any filter tag, both in SQL.
	const siteC = 8100000000003
	mustSite(t, s, newSite(siteC, "third-tagged.com", "inst-t", now))
	for id, tags := range map[int64][]domain.Tag{
		siteA: {{Key: "env", Value: "prod"}, {Key: "team", Value: "edge"}},
		siteB: {{Key: "env", Value: "staging"}, {Key: "team", Value: "edge"}},
		siteC: {{Key: "env", Value: "prod"}, {Key: "Team", Value: "edge"}},
	} {
		if err := s.TagSites(ctx, []int64{id}, tags, 20); err != nil {
			t.Fatal(err)
		}
	}
	listTests := []struct {
		name string
		tags []domain.Tag
		want []int64 // newest first, as ListSites orders them
	}{
		{"none_is_every_site", nil, []int64{siteC, siteB, siteA}},
		{"key_and_value", []domain.Tag{{Key: "env", Value: "prod"}}, []int64{siteC, siteA}},
		{"key_any_value", []domain.Tag{{Key: "team"}}, []int64{siteB, siteA}},
		{"every_tag_needed", []domain.Tag{{Key: "env", Value: "prod"}, {Key: "team"}}, []int64{siteA}},
		{"case_counts", []domain.Tag{{Key: "env", Value: "PROD"}}, nil},
		{"unknown_key", []domain.Tag{{Key: "nope"}}, nil},
	}
	for _, tt := range listTests {
		list, total, err := s.ListSites(ctx, site.SiteFilter{Tags: tt.tags})
		var got []int64
		for _, st := range list {
			got = append(got, st.ID)
		}
		if err != nil || total != len(tt.want) || !cmp.Equal(tt.want, got) {
			t.Errorf("ListSites(Tags: %s) = %v, %d, %v; want %v", tt.name, got, total, err, tt.want)
		}
	}
	if list, total, err := s.ListSites(ctx, site.SiteFilter{Tags: []domain.Tag{{Key: "env"}}, Page: domain.Page{Offset: 1, Limit: 1}}); err != nil ||
		total != 3 || len(list) != 1 || list[0].ID != siteB {
		t.Errorf("ListSites(Tags: env, second page of 1) = %v, %d, %v; want site B of 3", list, total, err)
	}

	tag := func(id int64, k, v string) sitesetting.SiteTag {
		return sitesetting.SiteTag{SiteID: id, Tag: domain.Tag{Key: k, Value: v}}
	}
	findTests := []struct {
		name      string
		filter    []domain.Tag
		page      domain.Page
		want      []sitesetting.SiteTag
		wantTotal int
	}{
		{"any_filter_tag_in_id_then_key_order", []domain.Tag{{Key: "team"}, {Key: "env", Value: "prod"}}, domain.Page{},
			[]sitesetting.SiteTag{tag(siteA, "env", "prod"), tag(siteA, "team", "edge"), tag(siteB, "team", "edge"), tag(siteC, "env", "prod")}, 4},
		{"page", []domain.Tag{{Key: "team"}, {Key: "env", Value: "prod"}}, domain.Page{Offset: 1, Limit: 2},
			[]sitesetting.SiteTag{tag(siteA, "team", "edge"), tag(siteB, "team", "edge")}, 4},
		{"past_the_end", []domain.Tag{{Key: "team"}}, domain.Page{Offset: 5, Limit: 2}, nil, 2},
		{"empty_filter_is_every_tag", nil, domain.Page{Limit: 1}, []sitesetting.SiteTag{tag(siteA, "env", "prod")}, 6},
		{"key_bytewise_order", []domain.Tag{{Key: "Team"}, {Key: "env", Value: "prod"}}, domain.Page{Offset: 1},
			[]sitesetting.SiteTag{tag(siteC, "Team", "edge"), tag(siteC, "env", "prod")}, 3},
		{"no_match", []domain.Tag{{Key: "env", Value: "dev"}}, domain.Page{}, nil, 0},
	}
	for _, tt := range findTests {
		got, total, err := s.FindSiteTags(ctx, tt.filter, tt.page)
		if err != nil || total != tt.wantTotal || !cmp.Equal(tt.want, got) {
			t.Errorf("FindSiteTags(%s) = %v, %d, %v; want %v, %d", tt.name, got, total, err, tt.want, tt.wantTotal)
		}
	}
}
