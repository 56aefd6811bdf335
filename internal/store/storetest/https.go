package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// httpsStore is what the HTTPS part of the suite exercises: the domain's
// interface, the edge's two readers, and the change feed's revision.
type httpsStore interface {
	site.Store
	httpsconf.Store
	HTTPSConfigsOfSite(ctx context.Context, siteID int64) ([]httpsconf.HTTPSBasic, []httpsconf.HTTPSApplication, error)
	AllHTTPSConfigs(ctx context.Context) (map[int64][]httpsconf.HTTPSBasic, map[int64][]httpsconf.HTTPSApplication, error)
	Revision(ctx context.Context) (int64, error)
}

func basicConfig(id, siteID int64, typ, rule string, seq int, settings map[string]string) httpsconf.HTTPSConfig {
	c := httpsconf.HTTPSConfig{Family: httpsconf.FamilyHTTPSBasic, ConfigID: id, SiteID: siteID, ConfigType: typ, Sequence: seq, Settings: settings}
	if typ == httpsconf.ConfigRule {
		c.Rule, c.RuleName, c.RuleEnable = rule, fmt.Sprintf("rule-%d", id), httpsconf.On
	}
	return c
}

func testHTTPS(t *testing.T, st Store) {
	s, ok := st.(httpsStore)
	if !ok {
		t.Fatalf("%T keeps no HTTPS configurations", st)
	}
	ctx := t.Context()
	mustInstance(t, s, instance("inst-h", "basic", 0, now))
	const siteA, siteB = 7000000000001, 7000000000002
	mustSite(t, s, newSite(siteA, "example.com", "inst-h", now))
	mustSite(t, s, newSite(siteB, "other.com", "inst-h", now))

	rev := func() int64 {
		t.Helper()
		r, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	mustCreate := func(c httpsconf.HTTPSConfig) {
		t.Helper()
		before := rev()
		if err := s.CreateHTTPSConfig(ctx, c); err != nil {
			t.Fatalf("CreateHTTPSConfig(%d): %v", c.ConfigID, err)
		}
		if rev() != before+1 {
			t.Errorf("CreateHTTPSConfig(%d) did not record one edge change", c.ConfigID)
		}
	}

	global := basicConfig(100000000000001, siteA, httpsconf.ConfigGlobal, "", 0, map[string]string{"Https": "on", "Tls13": "off"})
	ruleA := basicConfig(100000000000002, siteA, httpsconf.ConfigRule, `(http.host eq "a.example.com")`, 5, map[string]string{"Http2": "off"})
	ruleB := basicConfig(100000000000003, siteA, httpsconf.ConfigRule, "true", 1, map[string]string{})
	ruleC := basicConfig(100000000000004, siteA, httpsconf.ConfigRule, "true", 5, map[string]string{"Tls10": "on"})
	app := httpsconf.HTTPSConfig{Family: httpsconf.FamilyHTTPSApplication, ConfigID: 100000000000005, SiteID: siteA,
		ConfigType: httpsconf.ConfigGlobal, Settings: map[string]string{"Hsts": "on", "HstsMaxAge": "3600"}}
	otherGlobal := basicConfig(100000000000006, siteB, httpsconf.ConfigGlobal, "", 0, map[string]string{"Http2": "on"})
	for _, c := range []httpsconf.HTTPSConfig{ruleA, global, ruleC, ruleB, app, otherGlobal} {
		mustCreate(c)
	}

	got, err := s.HTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, ruleA.ConfigID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(ruleA, got); diff != "" {
		t.Errorf("HTTPSConfig (-want +got):\n%s", diff)
	}
	if got, err := s.HTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, ruleB.ConfigID); err != nil || got.Settings == nil || len(got.Settings) != 0 {
		t.Errorf("a configuration without settings reads back as %#v, %v; want an empty, non-nil map", got.Settings, err)
	}
	notFound := []struct {
		name   string
		family string
		site   int64
		id     int64
	}{
		{"fail/other_family", httpsconf.FamilyHTTPSApplication, siteA, ruleA.ConfigID},
		{"fail/other_site", httpsconf.FamilyHTTPSBasic, siteB, ruleA.ConfigID},
		{"fail/no_such_id", httpsconf.FamilyHTTPSBasic, siteA, 42},
	}
	for _, tt := range notFound {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.HTTPSConfig(ctx, tt.family, tt.site, tt.id); !errors.Is(err, httpsconf.ErrConfigNotFound) {
				t.Errorf("HTTPSConfig = %v, want ErrConfigNotFound", err)
			}
		})
	}

	fails := []struct {
		name string
		c    httpsconf.HTTPSConfig
		want error
	}{
		{"fail/second_global", basicConfig(100000000000010, siteA, httpsconf.ConfigGlobal, "", 0, nil), httpsconf.ErrGlobalConfigExists},
		{"fail/same_id", basicConfig(ruleA.ConfigID, siteB, httpsconf.ConfigRule, "true", 0, nil), domain.ErrExists},
		{"fail/no_site", basicConfig(100000000000011, 42, httpsconf.ConfigRule, "true", 0, nil), site.ErrSiteNotFound},
	}
	for _, tt := range fails {
		t.Run(tt.name, func(t *testing.T) {
			before := rev()
			err := s.CreateHTTPSConfig(ctx, tt.c)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateHTTPSConfig = %v, want %v", err, tt.want)
			}
			if tt.want != domain.ErrExists && errors.Is(err, domain.ErrExists) {
				t.Errorf("CreateHTTPSConfig = %v, which also matches ErrExists", err)
			}
			if rev() != before {
				t.Error("a refused create recorded an edge change")
			}
		})
	}

	ids := func(list []httpsconf.HTTPSConfig) []int64 {
		var out []int64
		for _, c := range list {
			out = append(out, c.ConfigID)
		}
		return out
	}
	lists := []struct {
		name      string
		f         httpsconf.HTTPSFilter
		want      []int64
		wantTotal int
	}{
		{"ok/in_order", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA},
			[]int64{global.ConfigID, ruleB.ConfigID, ruleA.ConfigID, ruleC.ConfigID}, 4},
		{"ok/global", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA, ConfigType: httpsconf.ConfigGlobal}, []int64{global.ConfigID}, 1},
		{"ok/rule", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA, ConfigType: httpsconf.ConfigRule},
			[]int64{ruleB.ConfigID, ruleA.ConfigID, ruleC.ConfigID}, 3},
		{"ok/rule_name", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA, RuleName: ruleC.RuleName}, []int64{ruleC.ConfigID}, 1},
		{"ok/config_id", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA, ConfigID: ruleA.ConfigID}, []int64{ruleA.ConfigID}, 1},
		{"ok/config_id_of_other_family", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA, ConfigID: app.ConfigID}, nil, 0},
		{"ok/application", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSApplication, SiteID: siteA}, []int64{app.ConfigID}, 1},
		{"ok/site_version_1", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSApplication, SiteID: siteA, SiteVersion: 1}, nil, 0},
		{"ok/page_2", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA, Page: domain.Page{Offset: 2, Limit: 2}},
			[]int64{ruleA.ConfigID, ruleC.ConfigID}, 4},
		{"ok/page_past_end", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteA, Page: domain.Page{Offset: 9, Limit: 2}}, nil, 4},
		{"ok/other_site", httpsconf.HTTPSFilter{Family: httpsconf.FamilyHTTPSBasic, SiteID: siteB}, []int64{otherGlobal.ConfigID}, 1},
	}
	for _, tt := range lists {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListHTTPSConfigs(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("ListHTTPSConfigs (-want +got):\n%s", diff)
			}
			if total != tt.wantTotal {
				t.Errorf("total = %d, want %d", total, tt.wantTotal)
			}
		})
	}

	// Update: the mutable fields change, the identity does not; settings
	// removed by update are gone.
	before := rev()
	upd, err := s.UpdateHTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, ruleA.ConfigID, func(c *httpsconf.HTTPSConfig) error {
		c.Rule, c.RuleName, c.RuleEnable, c.Sequence = "true", "renamed", httpsconf.Off, 9
		delete(c.Settings, "Http2")
		c.Settings["Tls12"] = "on"
		c.Settings["Tls11"] = "" // an empty value is not stored
		c.ConfigID, c.SiteID, c.Family, c.ConfigType = 1, siteB, httpsconf.FamilyHTTPSApplication, httpsconf.ConfigGlobal
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := ruleA
	want.Rule, want.RuleName, want.RuleEnable, want.Sequence = "true", "renamed", httpsconf.Off, 9
	want.Settings = map[string]string{"Tls12": "on"}
	if diff := cmp.Diff(want, upd); diff != "" {
		t.Errorf("UpdateHTTPSConfig result (-want +got):\n%s", diff)
	}
	if got, err := s.HTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, ruleA.ConfigID); err != nil || !cmp.Equal(want, got) {
		t.Errorf("after update: %+v, %v; want %+v", got, err, want)
	}
	if rev() != before+1 {
		t.Error("UpdateHTTPSConfig did not record one edge change")
	}
	refuse := errors.New("refused")
	before = rev()
	if _, err := s.UpdateHTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, ruleA.ConfigID, func(c *httpsconf.HTTPSConfig) error {
		c.Settings["Https"] = "off"
		return refuse
	}); !errors.Is(err, refuse) {
		t.Errorf("UpdateHTTPSConfig with a refusing update = %v, want its error", err)
	}
	if got, _ := s.HTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, ruleA.ConfigID); !cmp.Equal(want, got) || rev() != before {
		t.Errorf("a refused update changed the configuration or the revision: %+v", got)
	}
	for _, tt := range notFound {
		t.Run("update_"+tt.name, func(t *testing.T) {
			_, err := s.UpdateHTTPSConfig(ctx, tt.family, tt.site, tt.id, func(*httpsconf.HTTPSConfig) error {
				t.Error("update called for a missing configuration")
				return nil
			})
			if !errors.Is(err, httpsconf.ErrConfigNotFound) {
				t.Errorf("UpdateHTTPSConfig = %v, want ErrConfigNotFound", err)
			}
		})
	}

	// The edge's readers: both families, in the order they apply.
	basics, apps, err := s.HTTPSConfigsOfSite(ctx, siteA)
	if err != nil {
		t.Fatal(err)
	}
	wantBasics := []httpsconf.HTTPSBasic{global.Basic(), ruleB.Basic(), ruleC.Basic(), want.Basic()}
	if diff := cmp.Diff(wantBasics, basics); diff != "" {
		t.Errorf("HTTPSConfigsOfSite basics (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]httpsconf.HTTPSApplication{app.Application()}, apps); diff != "" {
		t.Errorf("HTTPSConfigsOfSite applications (-want +got):\n%s", diff)
	}
	allBasics, allApps, err := s.AllHTTPSConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantAll := map[int64][]httpsconf.HTTPSBasic{siteA: wantBasics, siteB: {otherGlobal.Basic()}}
	if diff := cmp.Diff(wantAll, allBasics); diff != "" {
		t.Errorf("AllHTTPSConfigs basics (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int64][]httpsconf.HTTPSApplication{siteA: {app.Application()}}, allApps); diff != "" {
		t.Errorf("AllHTTPSConfigs applications (-want +got):\n%s", diff)
	}

	// Delete.
	for _, tt := range notFound {
		t.Run("delete_"+tt.name, func(t *testing.T) {
			if err := s.DeleteHTTPSConfig(ctx, tt.family, tt.site, tt.id); !errors.Is(err, httpsconf.ErrConfigNotFound) {
				t.Errorf("DeleteHTTPSConfig = %v, want ErrConfigNotFound", err)
			}
		})
	}
	before = rev()
	if err := s.DeleteHTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, global.ConfigID); err != nil {
		t.Fatal(err)
	}
	if rev() != before+1 {
		t.Error("DeleteHTTPSConfig did not record one edge change")
	}
	if _, err := s.HTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteA, global.ConfigID); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("after delete: %v, want ErrConfigNotFound", err)
	}
	// With the global one gone, the site may have another.
	mustCreate(basicConfig(100000000000020, siteA, httpsconf.ConfigGlobal, "", 0, nil))

	// Deleting a site deletes its configurations.
	if err := s.DeleteSite(ctx, siteA); err != nil {
		t.Fatal(err)
	}
	basics, apps, err = s.HTTPSConfigsOfSite(ctx, siteA)
	if err != nil || len(basics)+len(apps) != 0 {
		t.Errorf("configurations of a deleted site: %v %v %v", basics, apps, err)
	}
	allBasics, allApps, err = s.AllHTTPSConfigs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64][]httpsconf.HTTPSBasic{siteB: {otherGlobal.Basic()}}, allBasics); diff != "" {
		t.Errorf("AllHTTPSConfigs after DeleteSite (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[int64][]httpsconf.HTTPSApplication{}, allApps, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("AllHTTPSConfigs applications after DeleteSite (-want +got):\n%s", diff)
	}

	t.Run("global_race", func(t *testing.T) { testHTTPSGlobalRace(t, s) })
	t.Run("origin_rules", func(t *testing.T) { testOriginRules(t, s, siteB) })
}

// testOriginRules checks that origin rules, the origin family, live beside
// the HTTPS families of a site without mixing with them: a global one of
// each family, lists and lookups by family, an edge change per write.
func testOriginRules(t *testing.T, s httpsStore, siteID int64) {
	ctx := t.Context()
	rev := func() int64 {
		t.Helper()
		r, err := s.Revision(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	global := httpsconf.OriginRule{ConfigID: 100000000000031, SiteID: siteID, ConfigType: httpsconf.ConfigGlobal,
		OriginScheme: httpsconf.SchemeFollow}.Config()
	rule := httpsconf.OriginRule{ConfigID: 100000000000032, SiteID: siteID, ConfigType: httpsconf.ConfigRule,
		Rule: `(http.host eq "a.other.com")`, RuleName: "a", Sequence: 3, OriginScheme: httpsconf.SchemeHTTPS,
		OriginSni: "origin.other.com", OriginVerify: httpsconf.On, OriginHttpsPort: "8443"}.Config()
	for _, c := range []httpsconf.HTTPSConfig{global, rule} {
		before := rev()
		if err := s.CreateHTTPSConfig(ctx, c); err != nil {
			t.Fatalf("CreateHTTPSConfig(origin %d): %v (a site's basic global must not block its origin global)", c.ConfigID, err)
		}
		if rev() != before+1 {
			t.Errorf("CreateHTTPSConfig(origin %d) did not record one edge change", c.ConfigID)
		}
	}
	second := global
	second.ConfigID = 100000000000033
	if err := s.CreateHTTPSConfig(ctx, second); !errors.Is(err, httpsconf.ErrGlobalConfigExists) {
		t.Errorf("second global origin rule: %v, want ErrGlobalConfigExists", err)
	}
	got, err := s.HTTPSConfig(ctx, httpsconf.FamilyOrigin, siteID, rule.ConfigID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(rule.Origin(), got.Origin()); diff != "" {
		t.Errorf("origin rule read back (-want +got):\n%s", diff)
	}
	if _, err := s.HTTPSConfig(ctx, httpsconf.FamilyHTTPSBasic, siteID, rule.ConfigID); !errors.Is(err, httpsconf.ErrConfigNotFound) {
		t.Errorf("origin rule read as a basic configuration: %v, want ErrConfigNotFound", err)
	}
	list, total, err := s.ListHTTPSConfigs(ctx, httpsconf.HTTPSFilter{Family: httpsconf.FamilyOrigin, SiteID: siteID,
		Page: domain.Page{Limit: 10}})
	if err != nil || total != 2 || len(list) != 2 || list[0].ConfigID != global.ConfigID || list[1].ConfigID != rule.ConfigID {
		t.Errorf("ListHTTPSConfigs(origin) = %v, %d, %v; want the global then the rule", list, total, err)
	}
	before := rev()
	if _, err := s.UpdateHTTPSConfig(ctx, httpsconf.FamilyOrigin, siteID, rule.ConfigID, func(c *httpsconf.HTTPSConfig) error {
		c.Settings["OriginVerify"] = httpsconf.Off
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if rev() != before+1 {
		t.Error("UpdateHTTPSConfig(origin) did not record one edge change")
	}
	if got, _ := s.HTTPSConfig(ctx, httpsconf.FamilyOrigin, siteID, rule.ConfigID); got.Settings["OriginVerify"] != httpsconf.Off {
		t.Errorf("after update OriginVerify = %q, want off", got.Settings["OriginVerify"])
	}
	for _, c := range []httpsconf.HTTPSConfig{global, rule} {
		if err := s.DeleteHTTPSConfig(ctx, httpsconf.FamilyOrigin, siteID, c.ConfigID); err != nil {
			t.Fatal(err)
		}
	}
}

// testHTTPSGlobalRace creates the global configuration of one site and
// family from many goroutines at once: exactly one must succeed.
func testHTTPSGlobalRace(t *testing.T, s httpsStore) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-hr", "basic", 0, now))
	mustSite(t, s, newSite(7100000000001, "race.com", "inst-hr", now))
	const n = 12
	created := race(t, n, httpsconf.ErrGlobalConfigExists, func(i int) error {
		return s.CreateHTTPSConfig(ctx, basicConfig(int64(200000000000000+i), 7100000000001, httpsconf.ConfigGlobal, "", 0, nil))
	})
	if created != 1 {
		t.Fatalf("%d global configurations created for one site and family", created)
	}
}
