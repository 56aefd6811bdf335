package clienttest

import (
	"maps"
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
		// What esacert answers as off.
		"cross_border_optimization": "off", "development_mode": "off", "cache_architecture_mode": "edge",
		"flatten_mode": "flatten_at_root", "add_client_geolocation_header": "off", "site_version": "0",
		"site_waf_settings.security_level": "off"})

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
