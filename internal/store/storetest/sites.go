package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/site"
	"github.com/google/go-cmp/cmp"
)

// testInstanceWithSite buys an instance together with a site: both or neither.
func testInstanceWithSite(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-d", "basic", 0, now))
	mustSite(t, s, newSite(5000000000001, "taken.com", "inst-d", now))

	st := newSite(5000000000002, "taken.com", "", now)
	err := s.CreateInstance(ctx, instance("inst-e", "high", 1, now), &st)
	if !errors.Is(err, site.ErrSiteExists) {
		t.Fatalf("CreateInstance with a taken site name = %v, want ErrSiteExists", err)
	}
	if _, err := s.Instance(ctx, "inst-e"); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Fatalf("the instance was kept although its site failed: %v", err)
	}
	st = newSite(5000000000003, "fresh.com", "", now)
	if err := s.CreateInstance(ctx, instance("inst-e", "high", 1, now), &st); err != nil {
		t.Fatal(err)
	}
	got, err := s.Site(ctx, st.ID)
	if err != nil || got.InstanceID != "inst-e" || got.Plan.Name != "high" {
		t.Fatalf("Site = %+v, %v; want it on inst-e with plan high", got, err)
	}
}

// testInstancePlanChange moves an instance to another plan only from the
// plan the caller saw; its sites read the new plan at once.
func testInstancePlanChange(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-p", "basic", 1, now))
	mustSite(t, s, newSite(4000000000009, "plan.com", "inst-p", now))
	next := instance("inst-p", "medium", 2, now)
	next.BillingMode, next.OrderID = "POSTPAY", "42"
	if err := s.ChangeInstancePlan(ctx, "basic", next); err != nil {
		t.Fatal(err)
	}
	got, err := s.Instance(ctx, "inst-p")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(next, got); diff != "" {
		t.Errorf("Instance after the change (-want +got):\n%s", diff)
	}
	if st, err := s.Site(ctx, 4000000000009); err != nil || st.Plan.Name != "medium" {
		t.Errorf("the site's plan after the change = %q, %v; want medium", st.Plan.Name, err)
	}
	if err := s.ChangeInstancePlan(ctx, "basic", instance("inst-p", "high", 1, now)); !errors.Is(err, domain.ErrConflict) {
		t.Errorf("a change from a plan the instance has left = %v, want ErrConflict", err)
	}
	if err := s.ChangeInstancePlan(ctx, "basic", instance("nope", "high", 1, now)); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Errorf("a change of a missing instance = %v, want ErrInstanceNotFound", err)
	}
}

// testSiteActivation makes a pending site active once; an active site and a
// missing one are told apart.
func testSiteActivation(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-v", "basic", 0, now))
	st := newSite(4000000000011, "pending.com", "inst-v", now)
	st.Status = site.SitePending
	mustSite(t, s, st)
	for i, want := range []bool{true, false} {
		changed, err := s.ActivateSite(ctx, st.ID, now.Add(time.Minute))
		if err != nil || changed != want {
			t.Fatalf("ActivateSite #%d = %v, %v; want %v", i+1, changed, err, want)
		}
	}
	got, err := s.Site(ctx, st.ID)
	if err != nil || got.Status != site.SiteActive || !got.Updated.Equal(now.Add(time.Minute)) {
		t.Errorf("the site after activation: %v %v (updated %v)", got.Status, err, got.Updated)
	}
	if _, err := s.ActivateSite(ctx, 4000000000012, now); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("ActivateSite(missing) = %v, want ErrSiteNotFound", err)
	}
}

// testPendingSiteClaims: only pending sites whose check is due are claimed,
// soonest first; a claim counts a failure and moves the next check, so the
// site is not claimed again until then; of many callers claiming at once,
// each site goes to one; an active site is never claimed.
func testPendingSiteClaims(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-c", "basic", 0, now))
	for i, name := range []string{"one.com", "two.com", "done.com"} {
		st := newSite(4000000000021+int64(i), name, "inst-c", now)
		if name != "done.com" {
			st.Status = site.SitePending
		}
		mustSite(t, s, st)
	}
	var counts []int
	next := func(failures int) time.Time {
		counts = append(counts, failures)
		return now.Add(time.Duration(failures) * time.Minute)
	}
	names := func(list []site.Site) []string {
		var out []string
		for _, st := range list {
			out = append(out, st.Name)
		}
		return out
	}
	got, err := s.ClaimPendingSites(ctx, now, 10, next)
	if err != nil || !slices.Equal(names(got), []string{"one.com", "two.com"}) || !slices.Equal(counts, []int{1, 1}) {
		t.Fatalf("first claim = %v, %v (failures %v); want one.com, two.com with 1 failure each", names(got), err, counts)
	}
	if got[0].Status != site.SitePending || got[0].Plan.Name == "" {
		t.Errorf("a claimed site reads %+v", got[0])
	}
	if got, err := s.ClaimPendingSites(ctx, now.Add(59*time.Second), 10, next); err != nil || len(got) != 0 {
		t.Fatalf("a claim before the next check = %v, %v; want none", names(got), err)
	}
	if _, err := s.ActivateSite(ctx, 4000000000022, now); err != nil {
		t.Fatal(err)
	}
	counts = nil
	if got, err := s.ClaimPendingSites(ctx, now.Add(time.Minute), 10, next); err != nil ||
		!slices.Equal(names(got), []string{"one.com"}) || !slices.Equal(counts, []int{2}) {
		t.Fatalf("the second claim = %v, %v (failures %v); want one.com alone with 2 failures", names(got), err, counts)
	}

	for i := range 20 {
		st := newSite(4000000000100+int64(i), fmt.Sprintf("race%d.com", i), "inst-c", now)
		st.Status = site.SitePending
		mustSite(t, s, st)
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	race(t, 4, nil, func(int) error {
		got, err := s.ClaimPendingSites(ctx, now, 20, func(f int) time.Time { return now.Add(time.Hour) })
		mu.Lock()
		defer mu.Unlock()
		for _, st := range got {
			seen[st.ID]++
		}
		return err
	})
	if len(seen) != 20 {
		t.Errorf("%d of 20 due sites were claimed", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("site %d was claimed %d times", id, n)
		}
	}
}

func instance(id, plan string, quota int, created time.Time) site.Instance {
	p, ok := site.LookupPlan(plan)
	if !ok {
		panic("unknown plan " + plan)
	}
	return site.Instance{ID: id, OrderID: "1", Plan: p, Coverage: "overseas", BillingMode: "PREPAY",
		Period: 1, SiteQuota: quota, Status: site.InstanceOnline, Created: created, Expires: created.AddDate(0, 1, 0)}
}

func newSite(id int64, name, inst string, created time.Time) site.Site {
	return site.Site{ID: id, Name: name, AccessType: "NS", Coverage: "overseas", Status: site.SiteActive,
		InstanceID: inst, VerifyCode: "verify_x", Created: created, Updated: created}
}

func mustInstance(t *testing.T, s site.Store, in site.Instance) {
	t.Helper()
	if err := s.CreateInstance(t.Context(), in, nil); err != nil {
		t.Fatalf("CreateInstance(%s): %v", in.ID, err)
	}
}

func mustSite(t *testing.T, s site.Store, st site.Site) {
	t.Helper()
	if err := s.CreateSite(t.Context(), st); err != nil {
		t.Fatalf("CreateSite(%s): %v", st.Name, err)
	}
}

func testSites(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-a", "basic", 0, now))
	want := newSite(1000000000001, "example.com", "inst-a", now)
	want.ResourceGroupID = "rg-1"
	mustSite(t, s, want)

	got, err := s.Site(ctx, want.ID)
	if err != nil {
		t.Fatalf("Site: %v", err)
	}
	want.Plan, _ = site.LookupPlan("basic")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Site (-want +got):\n%s", diff)
	}

	tests := []struct {
		name string
		site site.Site
		want error
	}{
		{"fail/same_name", newSite(1000000000002, "example.com", "inst-a", now), site.ErrSiteExists},
		{"fail/same_id", newSite(1000000000001, "other.com", "inst-a", now), domain.ErrExists},
		{"fail/no_instance", newSite(1000000000003, "third.com", "inst-none", now), site.ErrInstanceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.CreateSite(ctx, tt.site)
			if !errors.Is(err, tt.want) {
				t.Fatalf("CreateSite = %v, want %v", err, tt.want)
			}
			if tt.want != domain.ErrExists && errors.Is(err, domain.ErrExists) {
				t.Fatalf("CreateSite = %v, which also matches ErrExists", err)
			}
		})
	}

	if _, err := s.Site(ctx, 42); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("Site(missing) = %v, want ErrSiteNotFound", err)
	}
	if err := s.DeleteSite(ctx, want.ID); err != nil {
		t.Fatalf("DeleteSite: %v", err)
	}
	if _, err := s.Site(ctx, want.ID); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("Site(deleted) = %v, want ErrSiteNotFound", err)
	}
	if err := s.DeleteSite(ctx, want.ID); !errors.Is(err, site.ErrSiteNotFound) {
		t.Errorf("DeleteSite(deleted) = %v, want ErrSiteNotFound", err)
	}
	// The name is free again.
	mustSite(t, s, newSite(1000000000004, "example.com", "inst-a", now))
}

func names(sites []site.Site) []string {
	var n []string
	for _, s := range sites {
		n = append(n, s.Name)
	}
	return n
}

func testSiteList(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-basic", "basic", 0, now))
	mustInstance(t, s, instance("inst-ent", "enterpriseplan", 0, now))
	all := []string{"a-example.com", "b-example.com", "example.org", "sub_x.example.net", "zeta.io"}
	for i, n := range all {
		st := newSite(int64(2000000000000+i), n, "inst-basic", now.Add(time.Duration(i)*time.Second))
		if n == "example.org" {
			st.InstanceID, st.AccessType, st.Status = "inst-ent", "CNAME", site.SitePending
			st.Coverage, st.ResourceGroupID = "global", "rg-9"
		}
		mustSite(t, s, st)
	}
	tests := []struct {
		name      string
		f         site.SiteFilter
		want      []string
		wantTotal int
	}{
		{"ok/all_newest_first", site.SiteFilter{}, []string{"zeta.io", "sub_x.example.net", "example.org", "b-example.com", "a-example.com"}, 5},
		{"ok/exact", site.SiteFilter{Name: "example.org", NameMatch: domain.MatchExact}, []string{"example.org"}, 1},
		{"ok/exact_is_not_substring", site.SiteFilter{Name: "example", NameMatch: domain.MatchExact}, nil, 0},
		{"ok/prefix", site.SiteFilter{Name: "a-", NameMatch: domain.MatchPrefix}, []string{"a-example.com"}, 1},
		{"ok/suffix", site.SiteFilter{Name: "example.com", NameMatch: domain.MatchSuffix}, []string{"b-example.com", "a-example.com"}, 2},
		{"ok/fuzzy", site.SiteFilter{Name: "example", NameMatch: domain.MatchFuzzy}, []string{"sub_x.example.net", "example.org", "b-example.com", "a-example.com"}, 4},
		{"ok/like_wildcards_are_literal", site.SiteFilter{Name: "a_e", NameMatch: domain.MatchFuzzy}, nil, 0},
		{"ok/percent_is_literal", site.SiteFilter{Name: "%", NameMatch: domain.MatchFuzzy}, nil, 0},
		{"ok/underscore_literal", site.SiteFilter{Name: "sub_x", NameMatch: domain.MatchPrefix}, []string{"sub_x.example.net"}, 1},
		{"ok/status", site.SiteFilter{Status: site.SitePending}, []string{"example.org"}, 1},
		{"ok/access_type", site.SiteFilter{AccessType: "CNAME"}, []string{"example.org"}, 1},
		{"ok/coverage", site.SiteFilter{Coverage: "global"}, []string{"example.org"}, 1},
		{"ok/resource_group", site.SiteFilter{ResourceGroupID: "rg-9"}, []string{"example.org"}, 1},
		{"ok/combined_filters_none", site.SiteFilter{Coverage: "global", AccessType: "NS"}, nil, 0},
		{"ok/subscribe_type", site.SiteFilter{SubscribeType: "enterpriseplan"}, []string{"example.org"}, 1},
		{"ok/only_enterprise", site.SiteFilter{OnlyEnterprise: true}, []string{"example.org"}, 1},
		{"ok/page_2", site.SiteFilter{Page: domain.Page{Offset: 2, Limit: 2}}, []string{"example.org", "b-example.com"}, 5},
		{"ok/page_past_end", site.SiteFilter{Page: domain.Page{Offset: 10, Limit: 2}}, nil, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListSites(ctx, tt.f)
			if err != nil {
				t.Fatalf("ListSites: %v", err)
			}
			if diff := cmp.Diff(tt.want, names(got)); diff != "" {
				t.Errorf("ListSites names (-want +got):\n%s", diff)
			}
			if total != tt.wantTotal {
				t.Errorf("ListSites total = %d, want %d", total, tt.wantTotal)
			}
		})
	}
}

// testSiteQuotaRace creates sites on an instance with room for three from
// many goroutines at once: exactly three must succeed.
func testSiteQuotaRace(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-q", "basic", 3, now))
	const n = 12
	ok := race(t, n, site.ErrSiteQuota, func(i int) error {
		return s.CreateSite(ctx, newSite(int64(3000000000000+i), fmt.Sprintf("race%d.com", i), "inst-q", now))
	})
	if ok != 3 {
		t.Fatalf("%d sites created on an instance with room for 3", ok)
	}
	_, total, err := s.ListSites(ctx, site.SiteFilter{})
	if err != nil || total != 3 {
		t.Fatalf("ListSites total = %d, %v; want 3", total, err)
	}
}

func testInstances(t *testing.T, s site.Store) {
	ctx := t.Context()
	a := instance("inst-1", "basic", 1, now)
	b := instance("inst-2", "high", 0, now.Add(time.Hour))
	c := instance("inst-3", "enterpriseplan", 2, now.Add(2*time.Hour))
	c.AutoRenew, c.Default = true, true
	for _, in := range []site.Instance{a, b, c} {
		mustInstance(t, s, in)
	}
	if err := s.CreateInstance(ctx, a, nil); !errors.Is(err, domain.ErrExists) {
		t.Errorf("CreateInstance(again) = %v, want ErrExists", err)
	}
	got, err := s.Instance(ctx, "inst-3")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c, got); diff != "" {
		t.Errorf("Instance (-want +got):\n%s", diff)
	}
	if _, err := s.Instance(ctx, "nope"); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Errorf("Instance(missing) = %v, want ErrInstanceNotFound", err)
	}
	mustSite(t, s, newSite(4000000000001, "one.com", "inst-1", now))
	mustSite(t, s, newSite(4000000000002, "two.com", "inst-3", now))
	if err := s.CreateSite(ctx, newSite(4000000000003, "three.com", "inst-1", now)); !errors.Is(err, site.ErrSiteQuota) {
		t.Errorf("CreateSite(full instance) = %v, want ErrSiteQuota", err)
	}

	ids := func(list []site.Instance) []string {
		var out []string
		for _, in := range list {
			out = append(out, in.ID)
		}
		return out
	}
	tests := []struct {
		name string
		f    site.InstanceFilter
		want []string
	}{
		{"ok/all_newest_first", site.InstanceFilter{}, []string{"inst-3", "inst-2", "inst-1"}},
		{"ok/ascending", site.InstanceFilter{Ascending: true}, []string{"inst-1", "inst-2", "inst-3"}},
		{"ok/by_id", site.InstanceFilter{ID: "inst-2"}, []string{"inst-2"}},
		{"ok/with_room", site.InstanceFilter{WithRoomOnly: true}, []string{"inst-3", "inst-2"}},
		{"ok/enterprise", site.InstanceFilter{PlanType: "enterprise"}, []string{"inst-3"}},
		{"ok/subscribe_type", site.InstanceFilter{SubscribeType: "advancedplan"}, []string{"inst-2"}},
		{"ok/unknown_id", site.InstanceFilter{ID: "nope"}, nil},
		{"ok/plan_name", site.InstanceFilter{PlanName: "high"}, []string{"inst-2"}},
		{"ok/plan_code", site.InstanceFilter{PlanName: "advancedplan"}, []string{"inst-2"}},
		{"ok/expiring_soon", site.InstanceFilter{ExpiresBefore: now.AddDate(0, 1, 0).Add(90 * time.Minute)}, []string{"inst-2", "inst-1"}},
		{"ok/by_expiry_ascending", site.InstanceFilter{SortByExpiry: true, Ascending: true}, []string{"inst-1", "inst-2", "inst-3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, total, err := s.ListInstances(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ids(got)); diff != "" {
				t.Errorf("ListInstances (-want +got):\n%s", diff)
			}
			if total != len(tt.want) {
				t.Errorf("total = %d, want %d", total, len(tt.want))
			}
		})
	}
	list, _, err := s.ListInstances(ctx, site.InstanceFilter{ID: "inst-1"})
	if err != nil {
		t.Fatal(err)
	}
	wantSites := []site.SiteRef{{ID: 4000000000001, Name: "one.com", Status: site.SiteActive}}
	if diff := cmp.Diff(wantSites, list[0].Sites); diff != "" {
		t.Errorf("instance sites (-want +got):\n%s", diff)
	}
}

// testInstanceDelete removes an instance only while it has no site; a
// refusal names the sites and keeps no refund; a delete keeps its refund,
// and forgets the refunds older than a day.
func testInstanceDelete(t *testing.T, s site.Store) {
	ctx := t.Context()
	mustInstance(t, s, instance("inst-r", "basic", 2, now))
	mustSite(t, s, newSite(6000000000001, "b-held.com", "inst-r", now))
	mustSite(t, s, newSite(6000000000002, "a-held.com", "inst-r", now))
	refund := site.Refund{ClientToken: "TF-RefundInstance-1", OrderID: "123", At: now}
	err := s.DeleteInstance(ctx, "inst-r", refund)
	if !errors.Is(err, site.ErrInstanceInUse) {
		t.Fatalf("DeleteInstance(with sites) = %v, want ErrInstanceInUse", err)
	}
	if got, want := err.Error(), site.ErrInstanceInUse.Error()+": a-held.com, b-held.com"; got != want {
		t.Errorf("DeleteInstance(with sites) says %q, want %q", got, want)
	}
	if _, err := s.Instance(ctx, "inst-r"); err != nil {
		t.Fatalf("the refused instance is gone: %v", err)
	}
	if _, err := s.InstanceRefund(ctx, "inst-r"); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Errorf("a refused delete kept a refund: %v", err)
	}
	for _, id := range []int64{6000000000001, 6000000000002} {
		if err := s.DeleteSite(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteInstance(ctx, "inst-r", refund); err != nil {
		t.Fatalf("DeleteInstance(no sites) = %v", err)
	}
	if got, err := s.InstanceRefund(ctx, "inst-r"); err != nil || got != refund {
		t.Errorf("InstanceRefund = %+v, %v; want %+v", got, err, refund)
	}
	if _, err := s.Instance(ctx, "inst-r"); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Errorf("Instance after the delete = %v, want ErrInstanceNotFound", err)
	}
	if err := s.DeleteInstance(ctx, "inst-r", refund); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Errorf("DeleteInstance(gone) = %v, want ErrInstanceNotFound", err)
	}
	mustInstance(t, s, instance("inst-later", "basic", 1, now))
	if err := s.DeleteInstance(ctx, "inst-later", site.Refund{OrderID: "124", At: now.Add(25 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.InstanceRefund(ctx, "inst-r"); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Errorf("a refund older than a day is still kept: %v", err)
	}
	if err := s.CreateSite(ctx, newSite(6000000000003, "late.com", "inst-r", now)); !errors.Is(err, site.ErrInstanceNotFound) {
		t.Errorf("CreateSite on the deleted instance = %v, want ErrInstanceNotFound", err)
	}
}
