package clienttest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
)

// esaVersion is ESA's API version, for the actions whose names another
// API shares (ListTagResources, TagResources, UntagResources).
const esaVersion = "2024-09-10"

// tfSiteRead is one call of alicloud_esa_site's Read, as the provider
// sends it (resourceAliCloudEsaSiteRead and EsaServiceV2.DescribeSite*):
// GETs carry SiteId in the query, POSTs in the body.
type tfSiteRead struct {
	method, action string
	// fields are what the provider reads of the answer (attribute: field).
	fields map[string]string
}

var tfSiteReads = []tfSiteRead{
	{"GET", "GetManagedTransform", map[string]string{"add_client_geolocation_header": "AddClientGeolocationHeader",
		"add_real_client_ip_header": "AddRealClientIpHeader", "real_client_ip_header_name": "RealClientIpHeaderName",
		"site_version": "SiteVersion"}},
	{"GET", "GetCacheTag", map[string]string{"case_insensitive": "CaseInsensitive", "tag_name": "TagName", "site_version": "SiteVersion"}},
	{"GET", "GetIPv6", map[string]string{"ipv6_enable": "Enable", "ipv6_region": "Region"}},
	{"GET", "GetCacheReserve", map[string]string{"cache_reserve_enable": "Enable", "cache_reserve_instance_id": "CacheReserveInstanceId"}},
	{"POST", "DescribeHttpDDoSAttackIntelligentProtection", map[string]string{"ai_mode": "AiMode", "ai_template": "AiTemplate"}},
	{"GET", "GetTieredCache", map[string]string{"cache_architecture_mode": "CacheArchitectureMode"}},
	{"GET", "GetCrossBorderOptimization", map[string]string{"cross_border_optimization": "Enable"}},
	{"GET", "GetSiteNameExclusive", map[string]string{"site_name_exclusive": "Enable"}},
	{"GET", "GetCnameFlattening", map[string]string{"flatten_mode": "FlattenMode"}},
	{"GET", "GetSeoBypass", map[string]string{"seo_bypass": "Enable"}},
	{"GET", "GetDevelopmentMode", map[string]string{"development_mode": "Enable"}},
	{"GET", "GetSitePause", map[string]string{"paused": "Paused"}},
	{"POST", "DescribeHttpDDoSAttackProtection", map[string]string{"global_mode": "GlobalMode"}},
	{"POST", "GetAutomaticFrequencyControlConfig", map[string]string{"automatic_frequency_control_action_type": "ActionType",
		"automatic_frequency_control_enable": "Enable", "automatic_frequency_control_level": "Level"}},
	{"POST", "GetPerformanceDataCollection", map[string]string{"performance_data_collection_enable": "Enable"}},
	{"POST", "GetSiteWafSettings", map[string]string{"site_waf_settings.security_level": "Settings.SecurityLevel.Value",
		"site_waf_settings.client_ip_identifier.mode": "Settings.ClientIpIdentifier.Mode"}},
}

// tfSiteState reads an alicloud_esa_site the way the provider's Read does,
// every call answering 200, and returns the attributes it sets.
func tfSiteState(t *testing.T, tf tfClient, id string) map[string]string {
	t.Helper()
	state := map[string]string{}
	got := tf.do(t, "GET", "GetSite", map[string]string{"SiteId": id})
	if got.status != 200 || got.body["SiteModel"] == nil {
		t.Fatalf("read GetSite: %d %v", got.status, got.body)
	}
	for attr, field := range map[string]string{"access_type": "AccessType", "coverage": "Coverage", "create_time": "CreateTime",
		"instance_id": "InstanceId", "resource_group_id": "ResourceGroupId", "site_name": "SiteName", "status": "Status",
		"version_management": "VersionManagement"} {
		state[attr] = str(dig(got.body["SiteModel"], field))
	}
	tags := tf.doVersion(t, "POST", "ListTagResources", esaVersion,
		map[string]string{"ResourceId.1": id, "RegionId": "cn-hangzhou", "ResourceType": "Site"})
	if tags.status != 200 {
		t.Fatalf("read ListTagResources: %d %v", tags.status, tags.body)
	}
	list, ok := tags.body["TagResources"].([]any)
	if !ok {
		t.Fatalf("read ListTagResources: TagResources is not a list: %v", tags.body)
	}
	for _, it := range list {
		state["tags."+str(dig(it, "TagKey"))] = str(dig(it, "TagValue"))
	}
	for _, r := range tfSiteReads {
		params := map[string]string{"SiteId": id}
		got := tf.do(t, r.method, r.action, params)
		if got.status != 200 {
			t.Fatalf("read %s: %d %v (the refresh fails on any error but a not-found)", r.action, got.status, got.body)
		}
		if r.action == "GetSiteWafSettings" {
			if _, ok := got.body["Settings"].(map[string]any); !ok {
				t.Fatalf("read GetSiteWafSettings: no Settings object (the provider fails on its absence): %v", got.body)
			}
		}
		for attr, field := range r.fields {
			state[attr] = str(dig(got.body, field))
		}
	}
	return state
}

// tfSiteAttrs are the attributes of alicloud_esa_site that a plan compares
// with main.tf whatever main.tf holds: the Required ones and the Optional
// ones that are not Computed (an Optional and Computed one that main.tf
// leaves out keeps what the Read gives it). Each maps to what the plan
// compares it with when main.tf leaves it out: the zero of its type (the
// SDK diffs a string left out against "", a bool against false, a number
// against 0), so every one of them the Read sets must read so on a site
// where it was never set.
var tfSiteAttrs = map[string]string{
	"access_type": "", "instance_id": "", "site_name": "", "coverage": "",
	"add_client_geolocation_header": "", "add_real_client_ip_header": "", "real_client_ip_header_name": "",
	"cache_reserve_enable": "", "cache_reserve_instance_id": "", "case_insensitive": "", "tag_name": "",
	"cross_border_optimization": "", "development_mode": "", "flatten_mode": "",
	"performance_data_collection_enable": "", "seo_bypass": "", "site_name_exclusive": "",
	"paused": "false", "version_management": "false", "site_version": "0",
}

// tfSitePlan is what terraform plan shows for mainTF (attribute: value,
// tags as tags.KEY) against state as the Read left it: one line per
// attribute it would change, none when the plan is empty.
func tfSitePlan(mainTF, state map[string]string) []string {
	var diff []string
	change := func(attr, want string) {
		if got := state[attr]; got != want {
			diff = append(diff, fmt.Sprintf("%s: %q -> %q", attr, got, want))
		}
	}
	for attr, zero := range tfSiteAttrs {
		if _, ok := state[attr]; !ok {
			diff = append(diff, attr+": not read (tfSiteReads and tfSiteAttrs disagree)")
		}
		if want, ok := mainTF[attr]; ok {
			change(attr, want)
		} else {
			change(attr, zero)
		}
	}
	for attr, want := range mainTF {
		if _, ok := tfSiteAttrs[attr]; !ok {
			change(attr, want) // a Computed one main.tf sets, or a tag
		}
	}
	for attr, got := range state {
		if _, ok := mainTF[attr]; !ok && strings.HasPrefix(attr, "tags.") {
			diff = append(diff, fmt.Sprintf("%s: %q -> removed", attr, got))
		}
	}
	slices.Sort(diff)
	return diff
}

// tfCreateSite replays the create of an alicloud_esa_site whose main.tf
// sets only what the resource requires, and returns the site's id and that
// main.tf: PurchaseRatePlan (the plan instance), RpcPost CreateSite with
// every parameter in the body, the wait for the site's status, and the
// Update the provider runs after create, which sends nothing for such a
// main.tf but its GetSite.
func tfCreateSite(t *testing.T, tf tfClient, name string) (id string, mainTF map[string]string) {
	t.Helper()
	plan := tf.do(t, "POST", "PurchaseRatePlan", map[string]string{"PlanName": "basic", "Coverage": "overseas", "ChargeType": "PREPAY",
		"AutoPay": "true", "Period": "1", "Type": "NS"})
	if plan.status != 200 {
		t.Fatalf("PurchaseRatePlan: %d %v", plan.status, plan.body)
	}
	mainTF = map[string]string{"site_name": name, "instance_id": str(plan.body["InstanceId"]), "coverage": "overseas", "access_type": "NS"}
	created := tf.do(t, "POST", "CreateSite", map[string]string{"Coverage": mainTF["coverage"], "InstanceId": mainTF["instance_id"],
		"SiteName": name, "AccessType": mainTF["access_type"]})
	if created.status != 200 || str(created.body["SiteId"]) == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	id = str(created.body["SiteId"]) // d.SetId(fmt.Sprint(response["SiteId"]))
	// The wait for the site's status, then the Update's objectRaw.
	for range 2 {
		if got := tf.do(t, "GET", "GetSite", map[string]string{"SiteId": id}); got.status != 200 || str(dig(got.body, "SiteModel.Status")) == "" {
			t.Fatalf("GetSite after create: %d %v", got.status, got.body)
		}
	}
	return id, mainTF
}

// tfUpdate sends one call of alicloud_esa_site's Update: RpcPost, SiteId
// and params in the body.
func tfUpdate(t *testing.T, tf tfClient, id, action string, params map[string]string) {
	t.Helper()
	p := map[string]string{"SiteId": id}
	maps.Copy(p, params)
	if got := tf.do(t, "POST", action, p); got.status != 200 {
		t.Fatalf("update %s: %d %v", action, got.status, got.body)
	}
}

// TestTerraformSitePlan replays terraform apply, then terraform plan, of
// an alicloud_esa_site whose main.tf sets only what the resource requires
// (the provider's TestAccAliCloudEsaSite_basic8484 applies that against
// ESA and requires an empty plan after it); then of that main.tf with
// development_mode = "off" and add_real_client_ip_header = "on"; then of
// the first again. After each apply the Read gives back what main.tf
// holds, so each plan is empty.
func TestTerraformSitePlan(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	id, minimal := tfCreateSite(t, tf, "tf-plan-example.com")
	state := tfSiteState(t, tf, id)
	for attr, zero := range tfSiteAttrs {
		if _, set := minimal[attr]; !set && state[attr] != zero {
			t.Errorf("read %s = %q on a site where it was never set, want %q", attr, state[attr], zero)
		}
	}
	if diff := tfSitePlan(minimal, state); len(diff) > 0 {
		t.Errorf("terraform plan after creating a site with a minimal main.tf shows changes:\n%s", strings.Join(diff, "\n"))
	}

	// Apply: development_mode and add_real_client_ip_header added to
	// main.tf. The Update sends, in its order, UpdateManagedTransform with
	// each managed-transform attribute main.tf sets (d.GetOk), then
	// UpdateDevelopmentMode with d.Get("development_mode").
	set := maps.Clone(minimal)
	set["development_mode"], set["add_real_client_ip_header"] = "off", "on"
	tf.do(t, "GET", "GetSite", map[string]string{"SiteId": id})
	tfUpdate(t, tf, id, "UpdateManagedTransform", map[string]string{"AddRealClientIpHeader": "on"})
	tfUpdate(t, tf, id, "UpdateDevelopmentMode", map[string]string{"Enable": "off"})
	state = tfSiteState(t, tf, id)
	if state["development_mode"] != "off" || state["add_real_client_ip_header"] != "on" {
		t.Errorf("read after setting them: development_mode %q, add_real_client_ip_header %q; want off and on",
			state["development_mode"], state["add_real_client_ip_header"])
	}
	if diff := tfSitePlan(set, state); len(diff) > 0 {
		t.Errorf("terraform plan after setting development_mode and add_real_client_ip_header shows changes:\n%s", strings.Join(diff, "\n"))
	}

	// Apply: both removed from main.tf. UpdateManagedTransform goes with
	// neither managed-transform parameter (d.GetOk finds none),
	// UpdateDevelopmentMode with Enable empty (d.Get of a string left out).
	tf.do(t, "GET", "GetSite", map[string]string{"SiteId": id})
	tfUpdate(t, tf, id, "UpdateManagedTransform", nil)
	tfUpdate(t, tf, id, "UpdateDevelopmentMode", map[string]string{"Enable": ""})
	state = tfSiteState(t, tf, id)
	if state["development_mode"] != "" || state["add_real_client_ip_header"] != "" {
		t.Errorf("read after removing them: development_mode %q, add_real_client_ip_header %q; want both empty",
			state["development_mode"], state["add_real_client_ip_header"])
	}
	if diff := tfSitePlan(minimal, state); len(diff) > 0 {
		t.Errorf("terraform plan after removing them from main.tf shows changes:\n%s", strings.Join(diff, "\n"))
	}
}

// TestTerraformSiteLifecycle replays alicloud_esa_site (esa-api.md §5.5)
// for a main.tf that sets ipv6_enable, paused, coverage, tags and
// add_real_client_ip_header: CreateSite with the body the provider sends,
// the Update it runs after create, the whole Read, an apply that changes
// coverage, IPv6 and tags, one that would turn on a feature esacert does
// not have, then destroy and the refresh that finds the site gone.
func TestTerraformSiteLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	plan := tf.do(t, "POST", "PurchaseRatePlan", map[string]string{"PlanName": "basic", "Coverage": "overseas", "ChargeType": "PREPAY",
		"AutoPay": "true", "Period": "1", "Type": "NS"})
	if plan.status != 200 {
		t.Fatalf("PurchaseRatePlan: %d %v", plan.status, plan.body)
	}

	// Create: RpcPost CreateSite, every parameter in the body.
	created := tf.do(t, "POST", "CreateSite", map[string]string{"Coverage": "overseas", "InstanceId": str(plan.body["InstanceId"]),
		"SiteName": "tf-site-example.com", "AccessType": "NS"})
	if created.status != 200 || str(created.body["SiteId"]) == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	id := str(created.body["SiteId"]) // d.SetId(fmt.Sprint(response["SiteId"]))
	if got := tf.do(t, "GET", "GetSite", map[string]string{"SiteId": id}); got.status != 200 || str(dig(got.body, "SiteModel.Status")) == "" {
		t.Fatalf("the wait for the site's status: %d %v", got.status, got.body)
	}

	// Update, as a new resource: only what main.tf sets is sent (coverage
	// goes with CreateSite), each call with SiteId in the body; then tags.
	update := func(action string, params map[string]string) {
		t.Helper()
		p := map[string]string{"SiteId": id}
		maps.Copy(p, params)
		if got := tf.do(t, "POST", action, p); got.status != 200 {
			t.Fatalf("update %s: %d %v", action, got.status, got.body)
		}
	}
	tag := func(action string, params map[string]string) {
		t.Helper()
		p := map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "Site", "ResourceId.1": id}
		maps.Copy(p, params)
		if got := tf.doVersion(t, "POST", action, esaVersion, p); got.status != 200 {
			t.Fatalf("%s: %d %v", action, got.status, got.body)
		}
	}
	if got := tf.do(t, "GET", "GetSite", map[string]string{"SiteId": id}); got.status != 200 { // objectRaw of Update
		t.Fatalf("update's GetSite: %d %v", got.status, got.body)
	}
	update("UpdateIPv6", map[string]string{"Enable": "on"})
	update("UpdateManagedTransform", map[string]string{"AddRealClientIpHeader": "on"})
	update("UpdateSitePause", map[string]string{"Paused": "true"})
	tag("TagResources", map[string]string{"Tag.1.Key": "env", "Tag.1.Value": "prod", "Tag.2.Key": "team", "Tag.2.Value": "edge"})

	// Read: what main.tf sets reads back as set (no diff on the next plan).
	check := func(state, want map[string]string) {
		t.Helper()
		for k, w := range want {
			if state[k] != w {
				t.Errorf("read %s = %q, want %q (terraform plan would show a diff)", k, state[k], w)
			}
		}
	}
	state := tfSiteState(t, tf, id)
	check(state, map[string]string{"coverage": "overseas", "site_name": "tf-site-example.com", "access_type": "NS",
		"ipv6_enable": "on", "ipv6_region": "x.x", "paused": "true", "add_real_client_ip_header": "on",
		"tags.env": "prod", "tags.team": "edge", "version_management": "false",
		// What esacert answers as off: never set reads "" (what the plan
		// compares an attribute main.tf leaves out with); the Computed
		// attributes read ESA's default.
		"cross_border_optimization": "", "development_mode": "", "cache_architecture_mode": "edge",
		"flatten_mode": "", "add_client_geolocation_header": "", "site_version": "0",
		"site_waf_settings.security_level": "off"})
	mainTF := map[string]string{"site_name": "tf-site-example.com", "instance_id": str(plan.body["InstanceId"]), "coverage": "overseas",
		"access_type": "NS", "ipv6_enable": "on", "paused": "true", "add_real_client_ip_header": "on", "tags.env": "prod", "tags.team": "edge"}
	if diff := tfSitePlan(mainTF, state); len(diff) > 0 {
		t.Errorf("terraform plan after apply shows changes:\n%s", strings.Join(diff, "\n"))
	}

	// A second apply: coverage global, IPv6 off, tag team changed and env removed.
	update("UpdateSiteCoverage", map[string]string{"Coverage": "global"})
	update("UpdateIPv6", map[string]string{"Enable": "off"})
	tag("UntagResources", map[string]string{"TagKey.1": "env"})
	tag("TagResources", map[string]string{"Tag.1.Key": "team", "Tag.1.Value": "ops"})
	state = tfSiteState(t, tf, id)
	check(state, map[string]string{"coverage": "global", "ipv6_enable": "off", "tags.team": "ops", "paused": "true"})
	if _, ok := state["tags.env"]; ok {
		t.Errorf("tag env is still read after UntagResources: %v", state)
	}
	mainTF["coverage"], mainTF["ipv6_enable"], mainTF["tags.team"] = "global", "off", "ops"
	delete(mainTF, "tags.env")
	if diff := tfSitePlan(mainTF, state); len(diff) > 0 {
		t.Errorf("terraform plan after the second apply shows changes:\n%s", strings.Join(diff, "\n"))
	}

	// Turning off what esacert has not turned on is accepted, as the
	// provider sends it when an attribute leaves main.tf (""); turning it
	// on is refused with one Code, naming the parameter.
	update("UpdateCrossBorderOptimization", map[string]string{"Enable": ""})
	update("UpdateCrossBorderOptimization", map[string]string{"Enable": "off"})
	refused := tf.do(t, "POST", "UpdateCrossBorderOptimization", map[string]string{"SiteId": id, "Enable": "on"})
	if refused.status != 400 || str(refused.body["Code"]) != "Feature.NotSupported" || !strings.Contains(str(refused.body["Message"]), "Enable") {
		t.Errorf("turning cross-border optimization on: %d %v, want 400 Feature.NotSupported naming Enable", refused.status, refused.body)
	}
	if got := tf.do(t, "GET", "GetCrossBorderOptimization", map[string]string{"SiteId": id}); str(got.body["Enable"]) != "off" {
		t.Errorf("after the refused update the feature reads %v, want off", got.body)
	}

	// Destroy: RpcPost DeleteSite, then GetSite until not found (HTTP 404).
	if del := tf.do(t, "POST", "DeleteSite", map[string]string{"SiteId": id}); del.status != 200 {
		t.Fatalf("delete: %d %v", del.status, del.body)
	}
	gone := tf.do(t, "GET", "GetSite", map[string]string{"SiteId": id})
	if gone.status != 404 || str(gone.body["Code"]) != "SiteNotFound" {
		t.Errorf("GetSite after delete: %d %v, want 404 SiteNotFound (the provider's NotFoundError)", gone.status, gone.body)
	}
	for _, r := range append(tfSiteReads, tfSiteRead{"GET", "GetSite", nil}) {
		if got := tf.do(t, r.method, r.action, map[string]string{"SiteId": id}); got.status != 404 || str(got.body["Code"]) != "SiteNotFound" {
			t.Errorf("%s of the deleted site: %d %v, want 404 SiteNotFound", r.action, got.status, got.body)
		}
	}
	if got := tf.doVersion(t, "POST", "ListTagResources", esaVersion, map[string]string{"ResourceId.1": id, "ResourceType": "Site"}); got.status != 404 {
		t.Errorf("ListTagResources of the deleted site: %d %v, want 404 SiteNotFound", got.status, got.body)
	}
}
