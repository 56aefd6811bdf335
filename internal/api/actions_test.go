package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/clientca"
	"github.com/esacert/esacert/internal/clientcert"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/store/storetest"
	"github.com/google/go-cmp/cmp"
)

// goldenCase is one API call whose answer is pinned in
// testdata/golden/<Action>/<name>.json. Cases run in order on one server,
// with a fixed clock and a seeded random source, so ids are stable.
type goldenCase struct {
	action string
	name   string
	method string
	params url.Values
}

var goldenCases = []goldenCase{
	{"ListSites", "ok_empty", "GET", nil},
	{"ListUserRatePlanInstances", "ok_default_only", "GET", nil},
	{"CreateSite", "ok", "POST", url.Values{"SiteName": {"Example.COM"}, "AccessType": {"NS"}, "Coverage": {"overseas"}}},
	{"CreateSite", "ok_cname", "POST", url.Values{"SiteName": {"example.org"}, "AccessType": {"CNAME"}, "Coverage": {"global"}, "ResourceGroupId": {"rg-1"}}},
	{"CreateSite", "fail_duplicate", "POST", url.Values{"SiteName": {"example.com"}}},
	{"CreateSite", "fail_public_suffix", "POST", url.Values{"SiteName": {"co.uk"}}},
	{"CreateSite", "fail_missing_name", "POST", url.Values{"AccessType": {"NS"}}},
	{"CreateSite", "fail_bad_access_type", "POST", url.Values{"SiteName": {"a.com"}, "AccessType": {"A"}}},
	{"CreateSite", "fail_unknown_instance", "POST", url.Values{"SiteName": {"a.com"}, "InstanceId": {"esa-site-nope"}}},
	{"GetSite", "ok", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetSite", "fail_not_found", "GET", url.Values{"SiteId": {"1"}}},
	{"GetSite", "fail_missing_site_id", "GET", nil},
	{"VerifySite", "ok_pending_without_proof", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"VerifySite", "fail_not_found", "POST", url.Values{"SiteId": {"1"}}},
	{"VerifySite", "fail_missing_site_id", "POST", nil},
	{"ListSites", "ok_all", "GET", nil},
	{"ListSites", "ok_fuzzy_page", "GET", url.Values{"SiteName": {"example"}, "SiteSearchType": {"fuzzy"}, "PageSize": {"1"}, "PageNumber": {"2"}}},
	{"ListSites", "ok_tag_filter_matches_nothing", "GET", url.Values{"TagFilter": {`[{"Key":"env","Value":"prod"}]`}}},
	{"ListSites", "fail_page_size", "GET", url.Values{"PageSize": {"0"}, "PageNumber": {"x"}}},
	{"GetSitePause", "ok", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetSitePause", "fail_not_found", "GET", url.Values{"SiteId": {"1"}}},
	{"UpdateSitePause", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Paused": {"true"}}},
	{"GetSitePause", "ok_paused", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateSitePause", "ok_resume", "POST", url.Values{"SiteId": {"{site0}"}, "Paused": {"false"}}},
	{"UpdateSitePause", "fail_missing_paused", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateSitePause", "fail_bad_paused", "POST", url.Values{"SiteId": {"{site0}"}, "Paused": {"yes"}}},
	{"UpdateSitePause", "fail_not_found", "POST", url.Values{"SiteId": {"1"}, "Paused": {"true"}}},
	{"GetIPv6", "ok_new_site_on", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateIPv6", "ok_on_mainland", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}, "Region": {"cn.cn"}}},
	{"GetIPv6", "ok_on", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateIPv6", "fail_bad_enable", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"yes"}}},
	{"UpdateIPv6", "fail_bad_region", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}, "Region": {"eu.eu"}}},
	{"UpdateIPv6", "fail_missing_enable", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateIPv6", "fail_not_found", "POST", url.Values{"SiteId": {"1"}, "Enable": {"off"}}},
	{"GetManagedTransform", "ok_default", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateManagedTransform", "ok_on", "POST", url.Values{"SiteId": {"{site0}"}, "AddRealClientIpHeader": {"on"}, "AddClientGeolocationHeader": {"off"}}},
	{"UpdateManagedTransform", "ok_custom_name", "POST", url.Values{"SiteId": {"{site0}"}, "AddRealClientIpHeader": {"on"}, "RealClientIpHeaderName": {"X-Client-IP"}, "AddClientGeolocationHeader": {"off"}}},
	{"GetManagedTransform", "ok_on", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateManagedTransform", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "AddRealClientIpHeader": {"off"}}},
	{"GetManagedTransform", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateManagedTransform", "ok_all_left_out", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"GetManagedTransform", "ok_never_set", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateManagedTransform", "fail_geolocation_on", "POST", url.Values{"SiteId": {"{site0}"}, "AddClientGeolocationHeader": {"on"}}},
	{"UpdateManagedTransform", "fail_reserved_header", "POST", url.Values{"SiteId": {"{site0}"}, "RealClientIpHeaderName": {"Host"}}},
	{"UpdateManagedTransform", "fail_reserved_cdn_loop", "POST", url.Values{"SiteId": {"{site0}"}, "RealClientIpHeaderName": {"CDN-Loop"}}},
	{"UpdateManagedTransform", "fail_bad_header", "POST", url.Values{"SiteId": {"{site0}"}, "RealClientIpHeaderName": {"1-ip"}}},
	{"UpdateManagedTransform", "fail_site_version", "POST", url.Values{"SiteId": {"{site0}"}, "SiteVersion": {"2"}}},
	{"UpdateManagedTransform", "fail_bad_switch", "POST", url.Values{"SiteId": {"{site0}"}, "AddRealClientIpHeader": {"true"}}},
	{"UpdateManagedTransform", "fail_not_found", "POST", url.Values{"SiteId": {"1"}, "AddRealClientIpHeader": {"on"}}},
	{"UpdateSiteCoverage", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Coverage": {"global"}}},
	{"UpdateSiteCoverage", "fail_bad_coverage", "POST", url.Values{"SiteId": {"{site0}"}, "Coverage": {"mars"}}},
	{"UpdateSiteCoverage", "fail_missing_coverage", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateSiteCoverage", "fail_not_found", "POST", url.Values{"SiteId": {"1"}, "Coverage": {"global"}}},
	{"ActivateVersionManagement", "fail_unsupported", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"ActivateVersionManagement", "fail_not_found", "POST", url.Values{"SiteId": {"1"}}},
	{"DeactivateVersionManagement", "ok", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"GetCacheTag", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateCacheTag", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "TagName": {""}, "CaseInsensitive": {"off"}}},
	{"UpdateCacheTag", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "TagName": {"cache-tag"}}},
	{"GetCacheTag", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateCacheTag", "ok_case_left_out", "POST", url.Values{"SiteId": {"{site0}"}, "TagName": {""}}},
	{"GetCacheTag", "ok_case_as_set", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetCacheReserve", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateCacheReserve", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"off"}}},
	{"UpdateCacheReserve", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}, "CacheReserveInstanceId": {"cr_hk_1"}}},
	{"GetCacheReserve", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"DescribeHttpDDoSAttackIntelligentProtection", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"SetHttpDDoSAttackIntelligentProtection", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "AiMode": {"observe"}, "AiTemplate": {"level60"}}},
	{"SetHttpDDoSAttackIntelligentProtection", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "AiMode": {"defense"}, "AiTemplate": {"level60"}}},
	{"DescribeHttpDDoSAttackIntelligentProtection", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetTieredCache", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateTieredCache", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "CacheArchitectureMode": {"edge"}}},
	{"UpdateTieredCache", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "CacheArchitectureMode": {"edge_smart"}}},
	{"GetTieredCache", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetCrossBorderOptimization", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateCrossBorderOptimization", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"off"}}},
	{"UpdateCrossBorderOptimization", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}}},
	{"GetCrossBorderOptimization", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetSiteNameExclusive", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateSiteNameExclusive", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"off"}}},
	{"UpdateSiteNameExclusive", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}}},
	{"GetSiteNameExclusive", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetCnameFlattening", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateCnameFlattening", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "FlattenMode": {"flatten_at_root"}}},
	{"UpdateCnameFlattening", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "FlattenMode": {"flatten_all"}}},
	{"GetCnameFlattening", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetSeoBypass", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateSeoBypass", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {""}}},
	{"UpdateSeoBypass", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}}},
	{"GetSeoBypass", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetDevelopmentMode", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateDevelopmentMode", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"off"}}},
	{"UpdateDevelopmentMode", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}}},
	{"GetDevelopmentMode", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdateDevelopmentMode", "ok_empty_unsets", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {""}}},
	{"GetDevelopmentMode", "ok_never_set", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"DescribeHttpDDoSAttackProtection", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"SetHttpDDoSAttackProtection", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "GlobalMode": {"default"}}},
	{"SetHttpDDoSAttackProtection", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "GlobalMode": {"hard"}}},
	{"DescribeHttpDDoSAttackProtection", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetAutomaticFrequencyControlConfig", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"SetAutomaticFrequencyControlConfig", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"off"}, "ActionType": {""}, "Level": {""}}},
	{"SetAutomaticFrequencyControlConfig", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"off"}, "ActionType": {"deny"}}},
	{"GetAutomaticFrequencyControlConfig", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetPerformanceDataCollection", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UpdatePerformanceDataCollection", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"off"}}},
	{"UpdatePerformanceDataCollection", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"on"}}},
	{"GetPerformanceDataCollection", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetSiteWafSettings", "ok_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"EditSiteWafSettings", "ok_off", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"SecurityLevel":{"Value":"off"},"AddSecurityHeaders":{"Enable":false},"ClientIpIdentifier":{"Mode":"connection_ip"},"BandwidthAbuseProtection":{"Id":0}}`}}},
	{"EditSiteWafSettings", "fail_turn_on", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"BotManagement":{"LikelyBots":{"Action":"deny"}}}`}}},
	{"EditSiteWafSettings", "ok_security_module_disabled", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"DisableSecurityModule":{"Status":"on"},"BotManagement":{"LikelyBots":{"Action":""}}}`}}},
	{"EditSiteWafSettings", "fail_security_module_enabled", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"DisableSecurityModule":{"Status":"off"}}`}}},
	{"EditSiteWafSettings", "fail_security_module_undocumented", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"DisableSecurityModule":{"Status":"disabled"}}`}}},
	{"EditSiteWafSettings", "fail_security_level_on", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"SecurityLevel":{"Value":"high"}}`}}},
	{"EditSiteWafSettings", "fail_security_level_undocumented", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"SecurityLevel":{"Value":"paranoid"}}`}}},
	{"EditSiteWafSettings", "fail_client_ip_from_headers", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"ClientIpIdentifier":{"Mode":"headers"}}`}}},
	{"EditSiteWafSettings", "fail_client_ip_mode_undocumented", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"ClientIpIdentifier":{"Mode":"Connection_IP"}}`}}},
	{"EditSiteWafSettings", "fail_bandwidth_status_on", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"BandwidthAbuseProtection":{"Status":"on","Action":"captcha"}}`}}},
	{"EditSiteWafSettings", "fail_bandwidth_status_undocumented", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"BandwidthAbuseProtection":{"Status":"enabled"}}`}}},
	{"EditSiteWafSettings", "fail_bandwidth_action_undocumented", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"BandwidthAbuseProtection":{"Status":"off","Action":"allow"}}`}}},
	{"EditSiteWafSettings", "fail_bot_action_undocumented", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"BotManagement":{"VerifiedBots":{"Action":"block"}}}`}}},
	{"EditSiteWafSettings", "fail_security_headers_on", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"AddSecurityHeaders":{"Enable":true}}`}}},
	{"GetSiteWafSettings", "ok_still_off", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"GetCacheTag", "fail_not_found", "GET", url.Values{"SiteId": {"1"}}},
	{"UpdateCrossBorderOptimization", "fail_bad_enable", "POST", url.Values{"SiteId": {"{site0}"}, "Enable": {"yes"}}},
	{"UpdateCrossBorderOptimization", "fail_not_found", "POST", url.Values{"SiteId": {"1"}, "Enable": {"off"}}},
	{"GetCacheTag", "fail_site_version", "GET", url.Values{"SiteId": {"{site0}"}, "SiteVersion": {"1"}}},
	{"GetSiteWafSettings", "ok_path", "GET", url.Values{"SiteId": {"{site0}"}, "Path": {"security_level"}}},
	{"EditSiteWafSettings", "fail_bad_json", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {"{nope"}}},
	{"EditSiteWafSettings", "fail_unknown_field", "POST", url.Values{"SiteId": {"{site0}"}, "Settings": {`{"Firewall":{}}`}}},
	{"TagResources", "ok", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag.1.Key": {"env"}, "Tag.1.Value": {"prod"}, "Tag.2.Key": {"team"}, "Tag.2.Value": {"edge"}}},
	{"TagResources", "ok_overwrite", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag.1.Key": {"env"}, "Tag.1.Value": {"staging"}}},
	{"TagResources", "fail_reserved_key", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag.1.Key": {"acs:owner"}, "Tag.1.Value": {"x"}}},
	{"TagResources", "fail_missing_tag", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}}},
	{"TagResources", "fail_unknown_site", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"1"}, "Tag.1.Key": {"env"}, "Tag.1.Value": {"prod"}}},
	{"TagResources", "fail_resource_type", "POST", url.Values{"ResourceType": {"record"}, "ResourceId.1": {"{site0}"}, "Tag.1.Key": {"env"}, "Tag.1.Value": {"prod"}}},
	{"TagResources", "fail_bad_resource_id", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"example.com"}, "Tag.1.Key": {"env"}, "Tag.1.Value": {"prod"}}},
	{"TagResources", "fail_too_many", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag.1.Key": {"k1"}, "Tag.1.Value": {"v"}, "Tag.2.Key": {"k2"}, "Tag.2.Value": {"v"}, "Tag.3.Key": {"k3"}, "Tag.3.Value": {"v"}, "Tag.4.Key": {"k4"}, "Tag.4.Value": {"v"}, "Tag.5.Key": {"k5"}, "Tag.5.Value": {"v"}, "Tag.6.Key": {"k6"}, "Tag.6.Value": {"v"}, "Tag.7.Key": {"k7"}, "Tag.7.Value": {"v"}, "Tag.8.Key": {"k8"}, "Tag.8.Value": {"v"}, "Tag.9.Key": {"k9"}, "Tag.9.Value": {"v"}, "Tag.10.Key": {"k10"}, "Tag.10.Value": {"v"}, "Tag.11.Key": {"k11"}, "Tag.11.Value": {"v"}, "Tag.12.Key": {"k12"}, "Tag.12.Value": {"v"}, "Tag.13.Key": {"k13"}, "Tag.13.Value": {"v"}, "Tag.14.Key": {"k14"}, "Tag.14.Value": {"v"}, "Tag.15.Key": {"k15"}, "Tag.15.Value": {"v"}, "Tag.16.Key": {"k16"}, "Tag.16.Value": {"v"}, "Tag.17.Key": {"k17"}, "Tag.17.Value": {"v"}, "Tag.18.Key": {"k18"}, "Tag.18.Value": {"v"}, "Tag.19.Key": {"k19"}, "Tag.19.Value": {"v"}, "Tag.20.Key": {"k20"}, "Tag.20.Value": {"v"}, "Tag.21.Key": {"k21"}, "Tag.21.Value": {"v"}}},
	{"TagResources", "fail_nul_key_json", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag": {`[{"Key":"k\u0000","Value":"v"}]`}}},
	{"TagResources", "fail_nul_value_json", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag": {`[{"Key":"k","Value":"v\u0000"}]`}}},
	{"TagResources", "fail_control_key", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag.1.Key": {"k\n"}, "Tag.1.Value": {"v"}}},
	{"TagResources", "fail_control_value_json", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "Tag": {`[{"Key":"k","Value":"v\u001b"}]`}}},
	{"TagResources", "ok_twenty_on_second_site", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site1}"}, "Tag.1.Key": {"k1"}, "Tag.2.Key": {"k2"}, "Tag.3.Key": {"k3"}, "Tag.4.Key": {"k4"}, "Tag.5.Key": {"k5"}, "Tag.6.Key": {"k6"}, "Tag.7.Key": {"k7"}, "Tag.8.Key": {"k8"}, "Tag.9.Key": {"k9"}, "Tag.10.Key": {"k10"}, "Tag.11.Key": {"k11"}, "Tag.12.Key": {"k12"}, "Tag.13.Key": {"k13"}, "Tag.14.Key": {"k14"}, "Tag.15.Key": {"k15"}, "Tag.16.Key": {"k16"}, "Tag.17.Key": {"k17"}, "Tag.18.Key": {"k18"}, "Tag.19.Key": {"k19"}, "Tag.20.Key": {"k20"}}},
	{"TagResources", "fail_second_site_full_tags_neither", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "ResourceId.2": {"{site1}"}, "Tag.1.Key": {"region"}, "Tag.1.Value": {"eu"}}},
	{"ListTagResources", "ok_first_site_untouched", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}}},
	{"UntagResources", "fail_unknown_second_site", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site1}"}, "ResourceId.2": {"1"}, "All": {"true"}}},
	{"UntagResources", "ok_all_second_site", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site1}"}, "All": {"true"}}},
	{"ListTagResources", "fail_nul_tag_json", "POST", url.Values{"ResourceType": {"Site"}, "Tag": {`[{"Key":"k\u0000"}]`}}},
	{"ListTagResources", "ok", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "RegionId": {"cn-hangzhou"}}},
	{"ListTagResources", "ok_by_tag", "POST", url.Values{"ResourceType": {"site"}, "Tag.1.Key": {"team"}}},
	{"ListTagResources", "ok_page", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "MaxItem": {"1"}}},
	{"ListTagResources", "ok_next_page", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "MaxItem": {"1"}, "NextToken": {"1"}}},
	{"ListTagResources", "fail_nothing_named", "POST", url.Values{"ResourceType": {"Site"}}},
	{"ListTagResources", "fail_unknown_site", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"1"}}},
	{"GetSite", "ok_tags", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"ListSites", "ok_tag_filter", "GET", url.Values{"TagFilter": {`[{"Key":"env","Value":"staging"}]`}}},
	{"ListSites", "ok_tags_flattened", "GET", url.Values{"Tags.1.Key": {"team"}}},
	{"UntagResources", "ok", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "TagKey.1": {"team"}}},
	{"UntagResources", "fail_missing_keys", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}}},
	{"UntagResources", "fail_nul_key_json", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "TagKey": {`["k\u0000"]`}}},
	{"UntagResources", "fail_control_key", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "TagKey.1": {"k\t"}}},
	{"ListSites", "fail_nul_tag_filter", "GET", url.Values{"TagFilter": {`[{"Key":"env\u0000","Value":"prod"}]`}}},
	{"ListTagResources", "ok_after_untag", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}}},
	{"UntagResources", "ok_all", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}, "All": {"true"}}},
	{"ListTagResources", "ok_none_left", "POST", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {"{site0}"}}},
	{"PurchaseRatePlan", "ok", "POST", url.Values{"PlanName": {"high"}, "Coverage": {"overseas"}, "ChargeType": {"PREPAY"}, "Period": {"3"}, "AutoRenew": {"true"}, "AutoPay": {"true"}}},
	{"PurchaseRatePlan", "ok_with_site", "POST", url.Values{"PlanCode": {"basicplan"}, "SiteName": {"bought.net"}, "Type": {"CNAME"}}},
	{"PurchaseRatePlan", "fail_unknown_plan", "POST", url.Values{"PlanName": {"gold"}}},
	{"PurchaseRatePlan", "fail_site_taken", "POST", url.Values{"PlanName": {"basic"}, "SiteName": {"example.com"}}},
	{"DescribeRatePlanInstanceStatus", "ok", "POST", url.Values{"InstanceId": {"{instance0}"}}},
	{"DescribeRatePlanInstanceStatus", "fail_not_found", "POST", url.Values{"InstanceId": {"esa-site-nope"}}},
	{"ListUserRatePlanInstances", "ok_one", "GET", url.Values{"InstanceId": {"{instance1}"}}},
	{"ListUserRatePlanInstances", "ok_unknown", "GET", url.Values{"InstanceId": {"esa-site-nope"}}},
	{"ListUserRatePlanInstances", "ok_all_ascending", "GET", url.Values{"SortOrder": {"asc"}}},
	{"UpdateRatePlanSpec", "ok", "POST", url.Values{"InstanceId": {"{instance1}"}, "TargetPlanName": {"medium"}, "OrderType": {"UPGRADE"}, "ChargeType": {"POSTPAY"}, "AutoPay": {"true"}}},
	{"ListUserRatePlanInstances", "ok_after_upgrade", "GET", url.Values{"InstanceId": {"{instance1}"}}},
	{"UpdateRatePlanSpec", "fail_downgrade", "POST", url.Values{"InstanceId": {"{instance1}"}, "TargetPlanName": {"basic"}}},
	{"UpdateRatePlanSpec", "ok_same_plan_changes_nothing", "POST", url.Values{"InstanceId": {"{instance0}"}, "TargetPlanCode": {"advancedplan"}}},
	{"UpdateRatePlanSpec", "fail_downgrade_by_code", "POST", url.Values{"InstanceId": {"{instance0}"}, "TargetPlanCode": {"basicplan"}}},
	{"UpdateRatePlanSpec", "fail_international_plan", "POST", url.Values{"InstanceId": {"{instance0}"}, "TargetPlanName": {"vipplan_intl"}}},
	{"UpdateRatePlanSpec", "fail_into_enterprise", "POST", url.Values{"InstanceId": {"{instance0}"}, "TargetPlanName": {"enterpriseplan"}}},
	{"UpdateRatePlanSpec", "fail_order_type", "POST", url.Values{"InstanceId": {"{instance0}"}, "TargetPlanName": {"high"}, "OrderType": {"DOWNGRADE"}}},
	{"UpdateRatePlanSpec", "fail_unknown_plan", "POST", url.Values{"InstanceId": {"{instance0}"}, "TargetPlanName": {"gold"}}},
	{"UpdateRatePlanSpec", "fail_default_instance", "POST", url.Values{"InstanceId": {"esa-default-basic"}, "TargetPlanName": {"high"}}},
	{"UpdateRatePlanSpec", "fail_missing_instance", "POST", url.Values{"TargetPlanName": {"high"}}},
	{"UpdateRatePlanSpec", "fail_unknown_instance", "POST", url.Values{"InstanceId": {"esa-site-nope"}, "TargetPlanName": {"high"}}},
	{"DeleteSite", "ok", "POST", url.Values{"SiteId": {"{site1}"}}},
	{"DeleteSite", "fail_not_found", "POST", url.Values{"SiteId": {"{site1}"}}},

	// DNS records, on example.com ({site0}).
	{"CreateRecord", "ok_a_proxied", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"www.example.com"}, "Type": {"A/AAAA"},
		"Proxied": {"true"}, "BizName": {"web"}, "Ttl": {"600"}, "Comment": {"front door"}, "Data": {`{"value":"192.0.2.10,2001:db8::10"}`}}},
	{"CreateRecord", "ok_cname_oss", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"static.example.com"}, "Type": {"CNAME"},
		"Proxied": {"true"}, "BizName": {"image_video"}, "SourceType": {"oss"}, "HostPolicy": {"follow_origin_domain"},
		"Data": {`{"Value":"bucket.oss-cn-hangzhou.aliyuncs.com"}`}, "AuthConf": {`{"AuthType":"public"}`}}},
	{"CreateRecord", "ok_mx_terraform_zeros", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"example.com"}, "Type": {"MX"},
		"Data": {`{"Algorithm":0,"Flag":0,"KeyTag":0,"MatchingType":0,"Port":0,"Priority":10,"Selector":0,"Type":0,"Usage":0,"Value":"mail.example.com","Weight":0}`}}},
	{"CreateRecord", "ok_plain_a", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"mail.example.com"}, "Type": {"A"}, "Ttl": {"30"},
		"Data": {`{"Value":"192.0.2.25"}`}}},
	{"CreateRecord", "fail_duplicate", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"www.example.com"}, "Type": {"A/AAAA"},
		"Proxied": {"true"}, "BizName": {"web"}, "Data": {`{"Value":"192.0.2.10,2001:db8::10"}`}}},
	{"CreateRecord", "fail_cname_beside_a", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"www.example.com"}, "Type": {"CNAME"},
		"Data": {`{"Value":"origin.example.net"}`}}},
	{"CreateRecord", "fail_name_not_in_site", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"www.example.net"}, "Type": {"TXT"},
		"Data": {`{"Value":"x"}`}}},
	{"CreateRecord", "fail_proxied_txt", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"t.example.com"}, "Type": {"TXT"},
		"Proxied": {"true"}, "BizName": {"web"}, "Data": {`{"Value":"x"}`}}},
	{"CreateRecord", "fail_proxied_without_biz", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"p.example.com"}, "Type": {"A/AAAA"},
		"Proxied": {"true"}, "Data": {`{"Value":"192.0.2.1"}`}}},
	{"CreateRecord", "fail_bad_data", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"d.example.com"}, "Type": {"A/AAAA"},
		"Data": {`Value=192.0.2.1`}}},
	{"CreateRecord", "fail_missing_data", "POST", url.Values{"SiteId": {"{site0}"}, "RecordName": {"d.example.com"}, "Type": {"A/AAAA"}}},
	{"CreateRecord", "fail_unknown_site", "POST", url.Values{"SiteId": {"1"}, "RecordName": {"www.example.com"}, "Type": {"TXT"},
		"Data": {`{"Value":"x"}`}}},
	{"ListRecords", "ok_all", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"ListRecords", "ok_prefix_type_any_case", "GET", url.Values{"SiteId": {"{site0}"}, "RecordName": {"WWW"}, "RecordMatchType": {"PREFIX"}, "Type": {"a"}}},
	{"ListRecords", "ok_page", "GET", url.Values{"SiteId": {"{site0}"}, "PageSize": {"1"}, "PageNumber": {"2"}}},
	{"ListRecords", "ok_source_type", "GET", url.Values{"SiteId": {"{site0}"}, "SourceType": {"OSS"}, "Proxied": {"true"}, "BizName": {"video_image"}}},
	{"ListRecords", "fail_page_size", "GET", url.Values{"SiteId": {"{site0}"}, "PageSize": {"501"}}},
	{"ListRecords", "fail_unknown_site", "GET", url.Values{"SiteId": {"1"}}},
	{"GetRecord", "fail_not_found", "GET", url.Values{"RecordId": {"1234567890123"}}},
	{"GetRecord", "fail_missing_record_id", "GET", nil},
	{"UpdateRecord", "fail_not_found", "POST", url.Values{"RecordId": {"1234567890123"}, "Data": {`{"Value":"192.0.2.1"}`}}},
	{"DeleteRecord", "fail_not_found", "POST", url.Values{"RecordId": {"1234567890123"}}},
	{"BatchCreateRecords", "ok_some_fail", "POST", url.Values{"SiteId": {"{site0}"}, "RecordList": {`[
		{"RecordName": "batch1.example.com", "Type": "A/AAAA", "Proxied": true, "BizName": "web", "Ttl": 1, "Data": {"Value": "192.0.2.10"}},
		{"RecordName": "batch2.example.com", "Type": "TXT", "Proxied": false, "Ttl": 300, "Data": {"Value": "hello"}},
		{"RecordName": "batch.example.org", "Type": "A/AAAA", "Proxied": false, "Data": {"Value": "192.0.2.11"}},
		{"RecordName": "batch3.example.com", "Type": "A/AAAA", "Data": {"Value": "192.0.2.12"}},
		{"RecordName": "batch1.example.com", "Type": "A/AAAA", "Proxied": true, "BizName": "web", "Ttl": 1, "Data": {"Value": "192.0.2.10"}},
		{"RecordName": "batch4.example.com", "Type": "A/AAAA", "Proxied": false, "Data": {"Value": "not-an-ip"}}]`}}},
	{"BatchCreateRecords", "fail_not_json", "POST", url.Values{"SiteId": {"{site0}"}, "RecordList": {`{"RecordName": "x.example.com"}`}}},
	{"BatchCreateRecords", "fail_trailing_text", "POST", url.Values{"SiteId": {"{site0}"}, "RecordList": {`[{"RecordName": "x.example.com", "Type": "TXT", "Proxied": false, "Data": {"Value": "x"}}]]`}}},
	{"BatchCreateRecords", "fail_empty", "POST", url.Values{"SiteId": {"{site0}"}, "RecordList": {`[]`}}},
	{"BatchCreateRecords", "fail_missing_list", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"BatchCreateRecords", "fail_unknown_site", "POST", url.Values{"SiteId": {"1"}, "RecordList": {`[{"RecordName": "a.example.com", "Type": "TXT", "Proxied": false, "Data": {"Value": "x"}}]`}}},

	// HTTPS configurations, on example.com ({site0}). Creates number their
	// ConfigIds {config0}, {config1} … in order of success.
	{"CreateHttpsBasicConfiguration", "ok_terraform_global", "POST", url.Values{"SiteId": {"{site0}"}, "Https": {"on"}, "Tls13": {"on"}, "CiphersuiteGroup": {"strict"}}},
	{"GetHttpsBasicConfiguration", "ok_terraform_global", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config0}"}}},
	{"CreateHttpsBasicConfiguration", "fail_second_global", "POST", url.Values{"SiteId": {"{site0}"}, "Http2": {"off"}}},
	{"CreateHttpsBasicConfiguration", "ok_rule", "POST", url.Values{"SiteId": {"{site0}"},
		"Rule": {`(http.host eq "api.example.com") or (http.host eq "www.example.com")`}, "RuleName": {"api"}, "RuleEnable": {"on"},
		"Sequence": {"1"}, "Tls10": {"off"}, "CiphersuiteGroup": {"custom"},
		"Ciphersuite": {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}}},
	{"CreateHttpsBasicConfiguration", "ok_rule_only", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}}},
	{"GetHttpsBasicConfiguration", "ok_rule_only", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config2}"}}},
	{"CreateHttpsBasicConfiguration", "fail_bad_rule", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {`(http.request.uri.path eq "/")`}}},
	{"CreateHttpsBasicConfiguration", "fail_rule_outside_site", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {`(http.host eq "www.example.org")`}}},
	{"CreateHttpsBasicConfiguration", "fail_rule_name_without_rule", "POST", url.Values{"SiteId": {"{site0}"}, "RuleName": {"x"}}},
	{"CreateHttpsBasicConfiguration", "fail_http3_yes", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "Http3": {"yes"}}},
	{"CreateHttpsBasicConfiguration", "fail_custom_without_suite", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "CiphersuiteGroup": {"custom"}}},
	{"CreateHttpsBasicConfiguration", "fail_unknown_suite", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "CiphersuiteGroup": {"custom"},
		"Ciphersuite": {"ECDHE-RSA-AES128-GCM-SHA256"}}},
	{"CreateHttpsBasicConfiguration", "fail_bad_switch", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "Https": {"yes"}}},
	{"CreateHttpsBasicConfiguration", "fail_bad_sequence", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "Sequence": {"first"}}},
	{"CreateHttpsBasicConfiguration", "fail_unknown_site", "POST", url.Values{"SiteId": {"1"}, "Https": {"on"}}},
	{"CreateHttpsBasicConfiguration", "fail_missing_site_id", "POST", url.Values{"Https": {"on"}}},
	{"ListHttpsBasicConfigurations", "ok_all", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"ListHttpsBasicConfigurations", "ok_rule", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigType": {"rule"}}},
	{"ListHttpsBasicConfigurations", "ok_terraform_data_source", "GET", url.Values{"SiteId": {"{site0}"}, "PageSize": {"50"}, "PageNumber": {"1"},
		"RegionId": {"cn-hangzhou"}, "RuleName": {"api"}}},
	{"ListHttpsBasicConfigurations", "ok_page", "GET", url.Values{"SiteId": {"{site0}"}, "PageSize": {"1"}, "PageNumber": {"2"}}},
	{"ListHttpsBasicConfigurations", "fail_config_type", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigType": {"all"}}},
	{"UpdateHttpsBasicConfiguration", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config1}"}, "Http2": {"off"}, "Tls10": {""}}},
	{"GetHttpsBasicConfiguration", "ok_rule_after_update", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config1}"}}},
	{"UpdateHttpsBasicConfiguration", "fail_global_gets_rule", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config0}"}, "Rule": {"true"}}},
	{"UpdateHttpsBasicConfiguration", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"123456789012345"}, "Https": {"on"}}},
	{"GetHttpsBasicConfiguration", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"123456789012345"}}},
	{"GetHttpsBasicConfiguration", "fail_missing_config_id", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"DeleteHttpsBasicConfiguration", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config2}"}}},
	{"DeleteHttpsBasicConfiguration", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config2}"}}},
	{"CreateHttpsApplicationConfiguration", "ok_terraform_global", "POST", url.Values{"SiteId": {"{site0}"}, "HttpsForce": {"on"}, "HttpsForceCode": {"301"}, "Hsts": {"on"}}},
	{"GetHttpsApplicationConfiguration", "ok_terraform_global", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config3}"}}},
	{"CreateHttpsApplicationConfiguration", "ok_rule", "POST", url.Values{"SiteId": {"{site0}"},
		"Rule": {`(http.host in {"api.example.com" "www.example.com"})`}, "RuleName": {"hsts"}, "RuleEnable": {"on"}, "Sequence": {"2"},
		"SiteVersion": {"0"}, "HstsMaxAge": {"31536000"}, "HstsIncludeSubdomains": {"on"}, "HstsPreload": {"on"}, "AltSvc": {"on"},
		"AltSvcMa": {"86400"}, "HttpsNoSniDeny": {"off"}, "HttpsSniVerify": {"on"}, "HttpsSniWhitelist": {"api.example.com www.example.com"}}},
	{"CreateHttpsApplicationConfiguration", "fail_second_global", "POST", url.Values{"SiteId": {"{site0}"}, "AltSvc": {"on"}}},
	{"CreateHttpsApplicationConfiguration", "fail_force_code", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "HttpsForceCode": {"303"}}},
	{"CreateHttpsApplicationConfiguration", "fail_max_age", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "HstsMaxAge": {"1y"}}},
	{"CreateHttpsApplicationConfiguration", "fail_site_version", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "SiteVersion": {"1"}}},
	{"ListHttpsApplicationConfigurations", "ok_all", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"ListHttpsApplicationConfigurations", "ok_global", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigType": {"global"}, "SiteVersion": {"0"}}},
	{"UpdateHttpsApplicationConfiguration", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config4}"}, "AltSvcMa": {"3600"},
		"HttpsSniWhitelist": {""}, "RuleEnable": {"off"}}},
	{"GetHttpsApplicationConfiguration", "ok_rule_after_update", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config4}"}}},
	{"GetHttpsApplicationConfiguration", "fail_basic_config_id", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config0}"}}},
	{"DeleteHttpsApplicationConfiguration", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config3}"}}},
	{"GetHttpsApplicationConfiguration", "fail_deleted", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config3}"}}},
	{"DeleteHttpsApplicationConfiguration", "fail_unknown_site", "POST", url.Values{"SiteId": {"1"}, "ConfigId": {"{config4}"}}},
	{"CreateOriginRule", "ok_terraform", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {`(http.host eq "api.example.com")`},
		"RuleName": {"api-origin"}, "RuleEnable": {"on"}, "Sequence": {"1"}, "SiteVersion": {"0"}, "OriginScheme": {"https"},
		"OriginHttpsPort": {"8443"}, "OriginHost": {"origin.example.com"}, "OriginSni": {"origin.example.com"}, "OriginVerify": {"on"},
		"OriginMtls": {"off"}, "OriginReadTimeout": {"30"}, "Range": {"off"}, "Follow302Enable": {"off"}}},
	{"GetOriginRule", "ok_terraform", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config5}"}}},
	{"CreateOriginRule", "ok_global", "POST", url.Values{"SiteId": {"{site0}"}, "OriginScheme": {"follow"}}},
	{"CreateOriginRule", "fail_scheme", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "OriginScheme": {"ftp"}}},
	{"CreateOriginRule", "fail_port", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "OriginHttpsPort": {"70000"}}},
	{"CreateOriginRule", "fail_sni", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "OriginSni": {"bad name"}}},
	{"CreateOriginRule", "fail_dns_record", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "DnsRecord": {"www.example.com"}}},
	{"CreateOriginRule", "fail_range_on", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "Range": {"on"}}},
	{"CreateOriginRule", "fail_follow302_on", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {"true"}, "Follow302Enable": {"on"}}},
	{"ListOriginRules", "ok_all", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"ListOriginRules", "ok_terraform_data_source", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigType": {"rule"}, "RuleName": {"api-origin"},
		"PageSize": {"50"}, "PageNumber": {"1"}}},
	{"UpdateOriginRule", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config5}"}, "OriginVerify": {"off"},
		"OriginHttpsPort": {""}, "OriginReadTimeout": {"60"}}},
	{"GetOriginRule", "ok_after_update", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config5}"}}},
	{"GetOriginRule", "fail_https_config_id", "GET", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config4}"}}},
	{"DeleteOriginRule", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config6}"}}},
	{"DeleteOriginRule", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "ConfigId": {"{config6}"}}},
	{"ListCiphers", "ok_all", "GET", url.Values{"CiphersGroup": {"all"}}},
	{"ListCiphers", "ok_strict", "GET", url.Values{"CiphersGroup": {"strict"}}},
	{"ListCiphers", "ok_custom", "GET", url.Values{"CiphersGroup": {"custom"}}},
	{"ListCiphers", "fail_missing_group", "GET", nil},
	{"ListCiphers", "fail_unknown_group", "GET", url.Values{"CiphersGroup": {"weak"}}},
	{"RefundInstance", "fail_has_sites", "POST", url.Values{"InstanceId": {"{instance1}"}, "ProductCode": {"dcdn"}, "ProductType": {"dcdn_dcdnserviceplan_public_cn"}, "ImmediatelyRelease": {"0"}}},
	{"RefundInstance", "fail_default_instance", "POST", url.Values{"InstanceId": {"esa-default-basic"}, "ProductCode": {"dcdn"}}},
	{"RefundInstance", "fail_unknown_instance", "POST", url.Values{"InstanceId": {"esa-site-nope"}, "ProductCode": {"dcdn"}}},
	{"RefundInstance", "fail_product_code", "POST", url.Values{"InstanceId": {"{instance0}"}, "ProductCode": {"ecs"}}},
	{"RefundInstance", "fail_missing_instance", "POST", url.Values{"ProductCode": {"dcdn"}}},
	{"RefundInstance", "ok", "POST", url.Values{"InstanceId": {"{instance0}"}, "ClientToken": {"RefundInstance-1"}, "ProductCode": {"dcdn"}, "ProductType": {"dcdn_dcdnserviceplan_public_cn"}, "ImmediatelyRelease": {"0"}}},
	{"ListUserRatePlanInstances", "ok_refunded_is_gone", "GET", url.Values{"InstanceId": {"{instance0}"}}},

	// Origin CA certificates, on example.com ({site0}); {originCaPEM} is testdata/origin-ca.pem.
	{"ListOriginCaCertificates", "ok_empty", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UploadOriginCaCertificate", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"origin-root"}, "Certificate": {"{originCaPEM}"}}},
	{"UploadOriginCaCertificate", "ok_derived_name", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originCaPEM}"}}},
	{"UploadOriginCaCertificate", "fail_duplicate_name", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"origin-root"}, "Certificate": {"{originCaPEM}"}}},
	{"UploadOriginCaCertificate", "fail_missing_certificate", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"x"}}},
	{"UploadOriginCaCertificate", "fail_not_pem", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"hello"}}},
	{"UploadOriginCaCertificate", "fail_name_too_long", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {strings.Repeat("n", 129)}, "Certificate": {"{originCaPEM}"}}},
	{"UploadOriginCaCertificate", "fail_site_not_found", "POST", url.Values{"SiteId": {"1"}, "Certificate": {"{originCaPEM}"}}},
	{"UploadOriginCaCertificate", "fail_missing_site_id", "POST", url.Values{"Certificate": {"{originCaPEM}"}}},
	{"GetOriginCaCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originca0}"}}},
	{"GetOriginCaCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"GetOriginCaCertificate", "fail_missing_id", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"ListOriginCaCertificates", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "PageSize": {"1"}, "PageNumber": {"2"}}},
	{"ListOriginCaCertificates", "fail_site_not_found", "GET", url.Values{"SiteId": {"1"}}},
	{"DeleteOriginCaCertificate", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{originca0}"}}},
	{"DeleteOriginCaCertificate", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{originca0}"}}},
	{"GetOriginCaCertificate", "fail_deleted", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originca0}"}}},
	{"ListOriginCaCertificates", "ok_after_delete", "GET", url.Values{"SiteId": {"{site0}"}}},

	// Origin client certificates, on example.com ({site0}): testdata/origin-client.pem and .key.
	{"UploadOriginClientCertificate", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"edge-client"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadOriginClientCertificate", "fail_duplicate_name", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"edge-client"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadOriginClientCertificate", "fail_missing_key", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originClientPEM}"}}},
	{"UploadOriginClientCertificate", "fail_missing_certificate", "POST", url.Values{"SiteId": {"{site0}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadOriginClientCertificate", "fail_key_mismatch", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originCaPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadOriginClientCertificate", "fail_not_a_key", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"not a key"}}},
	{"UploadOriginClientCertificate", "fail_site_not_found", "POST", url.Values{"SiteId": {"1"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"GetOriginClientCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}}},
	{"GetOriginClientCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"GetOriginClientCertificateHostnames", "ok_none", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}}},
	{"SetOriginClientCertificateHostnames", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}, "Hostnames": {`["www.example.com","API.example.com.","www.example.com"]`}}},
	{"SetOriginClientCertificateHostnames", "fail_not_in_site", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}, "Hostnames": {`["www.example.net"]`}}},
	{"SetOriginClientCertificateHostnames", "fail_not_json", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}, "Hostnames": {"www.example.com"}}},
	{"SetOriginClientCertificateHostnames", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}, "Hostnames": {`["www.example.com"]`}}},
	{"GetOriginClientCertificateHostnames", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}}},
	{"GetOriginClientCertificateHostnames", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"ListOriginClientCertificates", "ok", "GET", url.Values{"SiteId": {"{site0}"}}},

	{"DeleteOriginClientCertificate", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}}},
	{"DeleteOriginClientCertificate", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient0}"}}},
	{"ListOriginClientCertificates", "ok_after_delete", "GET", url.Values{"SiteId": {"{site0}"}}},
	// Site origin client certificates: the same checks, their own family.
	{"UploadSiteOriginClientCertificate", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"edge-client"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadSiteOriginClientCertificate", "ok_derived_name", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadSiteOriginClientCertificate", "fail_duplicate_name", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"edge-client"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadSiteOriginClientCertificate", "fail_missing_key", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originClientPEM}"}}},
	{"UploadSiteOriginClientCertificate", "fail_key_mismatch", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originCaPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadSiteOriginClientCertificate", "fail_site_not_found", "POST", url.Values{"SiteId": {"1"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"UploadSiteOriginClientCertificate", "fail_missing_site_id", "POST", url.Values{"Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"GetSiteOriginClientCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{siteoriginclient0}"}}},
	{"GetSiteOriginClientCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"UploadOriginClientCertificate", "ok_second", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"edge-client-2"}, "Certificate": {"{originClientPEM}"}, "PrivateKey": {"{originClientKey}"}}},
	{"GetSiteOriginClientCertificate", "fail_hostname_level", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient1}"}}},
	{"GetOriginClientCertificate", "fail_site_level", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{siteoriginclient0}"}}},
	{"SetOriginClientCertificateHostnames", "fail_site_level", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{siteoriginclient0}"}, "Hostnames": {`["www.example.com"]`}}},
	{"GetSiteOriginClientCertificate", "fail_missing_id", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"ListSiteOriginClientCertificates", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "PageSize": {"1"}, "PageNumber": {"2"}}},
	{"ListSiteOriginClientCertificates", "fail_site_not_found", "GET", url.Values{"SiteId": {"1"}}},
	{"DeleteSiteOriginClientCertificate", "fail_hostname_level", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient1}"}}},
	{"DeleteSiteOriginClientCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{siteoriginclient0}"}}},
	{"DeleteSiteOriginClientCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{siteoriginclient0}"}}},
	{"GetSiteOriginClientCertificate", "fail_deleted", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{siteoriginclient0}"}}},
	{"ListSiteOriginClientCertificates", "ok_after_delete", "GET", url.Values{"SiteId": {"{site0}"}}},

	{"GetOriginClientCertificate", "ok_second", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{originclient1}"}}},

	// OriginMtls=on is taken (the edge presents the certificates above).
	{"CreateOriginRule", "ok_mtls_on", "POST", url.Values{"SiteId": {"{site0}"}, "Rule": {`(http.host eq "mtls.example.com")`},
		"RuleName": {"mtls"}, "RuleEnable": {"on"}, "OriginScheme": {"https"}, "OriginMtls": {"on"}}},

	// Client CA certificates (mutual TLS from visitors), on example.com ({site0}).
	{"ListClientCaCertificates", "ok_empty", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"UploadClientCaCertificate", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"client-root"}, "Certificate": {"{originCaPEM}"}}},
	{"UploadClientCaCertificate", "fail_duplicate_name", "POST", url.Values{"SiteId": {"{site0}"}, "Name": {"client-root"}, "Certificate": {"{originCaPEM}"}}},
	{"UploadClientCaCertificate", "fail_not_ca", "POST", url.Values{"SiteId": {"{site0}"}, "Certificate": {"{originClientPEM}"}}},
	{"UploadClientCaCertificate", "fail_missing_certificate", "POST", url.Values{"SiteId": {"{site0}"}}},
	{"UploadClientCaCertificate", "fail_site_not_found", "POST", url.Values{"SiteId": {"1"}, "Certificate": {"{originCaPEM}"}}},
	{"GetClientCaCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}}},
	{"GetClientCaCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"GetClientCaCertificateHostnames", "ok_none", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}}},
	{"SetClientCaCertificateHostnames", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}, "Hostnames": {`["www.example.com","*.API.example.com.","www.example.com"]`}}},
	{"SetClientCaCertificateHostnames", "fail_not_in_site", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}, "Hostnames": {`["www.example.net"]`}}},
	{"SetClientCaCertificateHostnames", "fail_missing_hostnames", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}}},
	{"SetClientCaCertificateHostnames", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}, "Hostnames": {`["www.example.com"]`}}},
	{"GetClientCaCertificateHostnames", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}}},
	{"GetClientCaCertificateHostnames", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"ListClientCaCertificates", "ok", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"DeleteClientCaCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}}},
	{"DeleteClientCaCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientca0}"}}},

	// Client certificates esacert issues, on example.com ({site0}). The
	// certificates, keys and fingerprints are random: the goldens hold
	// placeholders for them (maskGenerated). {clientCSR} is testdata/client.csr.
	{"GetClientCertificateHostnames", "ok_no_ca_yet", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"CreateClientCertificate", "ok_rsa", "POST", url.Values{"SiteId": {"{site0}"}, "PkeyType": {"RSA"}, "ValidityDays": {"365"}}},
	{"CreateClientCertificate", "ok_ecdsa", "POST", url.Values{"SiteId": {"{site0}"}, "PkeyType": {"ECDSA"}, "ValidityDays": {"30"}}},
	{"CreateClientCertificate", "ok_csr", "POST", url.Values{"SiteId": {"{site0}"}, "CSR": {"{clientCSR}"}, "ValidityDays": {"3650"}}},
	{"CreateClientCertificate", "fail_missing_validity", "POST", url.Values{"SiteId": {"{site0}"}, "PkeyType": {"RSA"}}},
	{"CreateClientCertificate", "fail_validity_too_long", "POST", url.Values{"SiteId": {"{site0}"}, "ValidityDays": {"3651"}}},
	{"CreateClientCertificate", "fail_validity_zero", "POST", url.Values{"SiteId": {"{site0}"}, "ValidityDays": {"0"}}},
	{"CreateClientCertificate", "fail_pkey_type", "POST", url.Values{"SiteId": {"{site0}"}, "PkeyType": {"DSA"}, "ValidityDays": {"30"}}},
	{"CreateClientCertificate", "fail_bad_csr", "POST", url.Values{"SiteId": {"{site0}"}, "CSR": {"{originCaPEM}"}, "ValidityDays": {"30"}}},
	{"CreateClientCertificate", "fail_site_not_found", "POST", url.Values{"SiteId": {"1"}, "ValidityDays": {"30"}}},
	{"GetClientCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert0}"}}},
	{"GetClientCertificate", "ok_csr", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert2}"}}},
	{"GetClientCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"ListClientCertificates", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "PageSize": {"2"}}},
	{"RevokeClientCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert0}"}}},
	{"GetClientCertificate", "ok_revoked", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert0}"}}},
	{"ActivateClientCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert0}"}}},
	{"ActivateClientCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}}},
	{"RevokeClientCertificate", "fail_missing_id", "GET", url.Values{"SiteId": {"{site0}"}}},
	{"SetClientCertificateHostnames", "ok", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientissuer0}"}, "Hostnames": {`["api.example.com"]`}}},
	{"SetClientCertificateHostnames", "ok_by_certificate_id", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert1}"}, "Hostnames": {`["api.example.com","*.example.com"]`}}},
	{"SetClientCertificateHostnames", "fail_not_found", "POST", url.Values{"SiteId": {"{site0}"}, "Id": {"nope"}, "Hostnames": {`["api.example.com"]`}}},
	{"SetClientCertificateHostnames", "fail_not_in_site", "POST", url.Values{"SiteId": {"{site0}"}, "Hostnames": {`["example.org"]`}}},
	{"GetClientCertificateHostnames", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientissuer0}"}}},
	{"DeleteClientCertificate", "ok", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert0}"}}},
	{"DeleteClientCertificate", "fail_not_found", "GET", url.Values{"SiteId": {"{site0}"}, "Id": {"{clientcert0}"}}},
	{"ListClientCertificates", "ok_after_delete", "GET", url.Values{"SiteId": {"{site0}"}}},
}

// TestActionGoldens pins every action's answers, field by field: names,
// JSON types, empty arrays. Run with -update to rewrite after a deliberate change.
func TestActionGoldens(t *testing.T) { goldenDatabases(t, testActionGoldens) }

// goldenDatabases runs a golden test on SQLite and, when
// ESACERT_TEST_POSTGRES_DSN names a server, on PostgreSQL, against the
// same files: both databases answer alike. -update writes SQLite's answers
// only (PostgreSQL's are then compared on the next run).
func goldenDatabases(t *testing.T, run func(t *testing.T, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { run(t, "sqlite:"+filepath.Join(t.TempDir(), "esacert.db")) })
	t.Run("postgres", func(t *testing.T) {
		if *update {
			t.Skip("-update writes SQLite's answers; run again without it to compare PostgreSQL's")
		}
		run(t, storetest.PostgresDatabase(t))
	})
}

func testActionGoldens(t *testing.T, dsn string) {
	store, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clk := &clock{t: testNow}
	rnd := mrand.NewChaCha8([32]byte{1}) // one stream for every service: ids come in request order
	sites := &site.Service{Store: store, Now: clk.Now, Rand: rnd}
	records := &record.Service{Store: store, Sites: store, Now: clk.Now, Rand: rnd}
	https := &httpsconf.Service{Store: store, Sites: store, Rand: rnd}
	svc := &cert.Service{Sites: store, Now: clk.Now, Rand: rnd}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	mk, err := keyseal.Generate()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := keyseal.New(mk)
	if err != nil {
		t.Fatal(err)
	}
	origins := &origincert.Service{Sites: store, Store: store, Clients: store, Sealer: sealer, Now: clk.Now, Rand: rnd}
	clientCAs := &clientca.Service{Sites: store, Store: store, Now: clk.Now, Rand: rnd}
	clientCerts := &clientcert.Service{Sites: store, Store: store, Sealer: sealer, Now: clk.Now, Rand: rnd}
	s := &Server{Sites: sites, Settings: &sitesetting.Service{Store: store}, Records: records, HTTPS: https, Certs: svc, OriginCerts: origins,
		ClientCAs: clientCAs, ClientCerts: clientCerts, Keys: accesskey.NewRing(accesskey.Key{ID: "testAKID", Secret: "testSecret"}),
		Now: clk.Now, NameServers: "ns1.example.net,ns2.example.net", CnameZone: "cname.example.net"}
	hs := httptest.NewServer(s)
	defer hs.Close()
	sig := &signer{key: "testAKID", secret: "testSecret", now: testNow}

	caPEM, err := os.ReadFile(filepath.Join("testdata", "origin-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	clientPEM, err := os.ReadFile(filepath.Join("testdata", "origin-client.pem"))
	if err != nil {
		t.Fatal(err)
	}
	clientKey, err := os.ReadFile(filepath.Join("testdata", "origin-client.key"))
	if err != nil {
		t.Fatal(err)
	}
	csr, err := os.ReadFile(filepath.Join("testdata", "client.csr"))
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"{originCaPEM}": string(caPEM), "{originClientPEM}": string(clientPEM), "{originClientKey}": string(clientKey),
		"{clientCSR}": string(csr)}
	for _, c := range goldenCases {
		t.Run(c.action+"/"+c.name, func(t *testing.T) {
			p := url.Values{}
			for k, v := range c.params {
				p[k] = []string{expand(v[0], vars)}
			}
			sig.version = ""
			if _, ok := versions[BSSVersion][c.action]; ok {
				sig.version = BSSVersion
			}
			a := do(t, sig.rpc(t, hs.URL, c.method, c.action, p, nil))
			// Remember ids for later cases.
			if id, ok := a.body["SiteId"]; ok && c.action == "CreateSite" {
				vars[fmt.Sprintf("{site%d}", count(vars, "{site"))] = fmt.Sprintf("%.0f", id.(float64))
			}
			if id, ok := a.body["ConfigId"]; ok && (c.action == "CreateHttpsBasicConfiguration" || c.action == "CreateHttpsApplicationConfiguration" || c.action == "CreateOriginRule") {
				vars[fmt.Sprintf("{config%d}", count(vars, "{config"))] = fmt.Sprintf("%.0f", id.(float64))
			}
			if id, ok := a.body["Id"].(string); ok && c.action == "UploadOriginClientCertificate" {
				vars[fmt.Sprintf("{originclient%d}", count(vars, "{originclient"))] = id
			}
			if id, ok := a.body["Id"].(string); ok && c.action == "UploadSiteOriginClientCertificate" {
				vars[fmt.Sprintf("{siteoriginclient%d}", count(vars, "{siteoriginclient"))] = id
			}
			if id, ok := a.body["Id"].(string); ok && c.action == "UploadOriginCaCertificate" {
				vars[fmt.Sprintf("{originca%d}", count(vars, "{originca"))] = id
			}
			if id, ok := a.body["Id"].(string); ok && c.action == "UploadClientCaCertificate" {
				vars[fmt.Sprintf("{clientca%d}", count(vars, "{clientca"))] = id
			}
			if id, ok := a.body["Id"].(string); ok && c.action == "CreateClientCertificate" {
				vars[fmt.Sprintf("{clientcert%d}", count(vars, "{clientcert"))] = id
				if ca := a.body["CACertificateId"].(string); count(vars, "{clientissuer") == 0 {
					vars["{clientissuer0}"] = ca
				}
			}
			if strings.Contains(c.action, "ClientCertificate") && !strings.Contains(c.action, "Origin") {
				maskGenerated(a.body)
			}
			if id, ok := a.body["InstanceId"].(string); ok && c.action == "PurchaseRatePlan" {
				vars[fmt.Sprintf("{instance%d}", count(vars, "{instance"))] = id
			}
			delete(a.body, "RequestId")
			delete(a.body, "HostId")
			got := map[string]any{"request": flat(p), "status": a.status, "response": a.body}
			compareGolden(t, filepath.Join("testdata", "golden", c.action, c.name+".json"), got)
		})
	}
}

// maskGenerated replaces what is random in a client certificate answer
// (the certificate, a generated key, the fingerprint) by placeholders
// that say what it was, anywhere in the answer.
func maskGenerated(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, f := range x {
			str, ok := f.(string)
			switch {
			case ok && k == "Certificate" && strings.HasPrefix(str, "-----BEGIN CERTIFICATE-----"):
				x[k] = "<certificate PEM>"
			case ok && k == "PrivateKey" && strings.HasPrefix(str, "-----BEGIN PRIVATE KEY-----"):
				x[k] = "<private key PEM>"
			case ok && k == "FingerprintSha256" && len(str) == 64:
				x[k] = "<sha256 hex>"
			default:
				maskGenerated(f)
			}
		}
	case []any:
		for _, f := range x {
			maskGenerated(f)
		}
	}
}

func expand(v string, vars map[string]string) string {
	if r, ok := vars[v]; ok {
		return r
	}
	return v
}

func count(vars map[string]string, prefix string) int {
	n := 0
	for k := range vars {
		if len(k) > len(prefix) && k[:len(prefix)] == prefix {
			n++
		}
	}
	return n
}

func flat(v url.Values) map[string]string {
	m := map[string]string{}
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

// compareGolden compares got with the JSON in path as parsed values, or
// rewrites the file under -update.
func compareGolden(t *testing.T, path string, got map[string]any) {
	t.Helper()
	raw, err := json.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	var norm any
	json.Unmarshal(raw, &norm)
	if *update {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		enc.Encode(norm)
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/api -update to create it)", err)
	}
	var want any
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if diff := cmp.Diff(want, norm); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestProductsListEveryAction checks that Products names every version and
// lists exactly its actions, so that esacert api knows every action's
// version.
func TestProductsListEveryAction(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Products() {
		if p.Name == "" || seen[p.Version] {
			t.Errorf("product %q, version %s: unnamed or listed twice", p.Name, p.Version)
		}
		seen[p.Version] = true
		if len(p.Actions) != len(versions[p.Version]) {
			t.Errorf("%s lists %d actions, version %s has %d", p.Name, len(p.Actions), p.Version, len(versions[p.Version]))
		}
		for _, a := range p.Actions {
			if _, ok := versions[p.Version][a]; !ok {
				t.Errorf("%s lists %s, which version %s does not answer", p.Name, a, p.Version)
			}
		}
	}
	for v := range versions {
		if !seen[v] {
			t.Errorf("version %s has no product in productNames", v)
		}
	}
	if got := Products()[0].Name; got != "ESA" {
		t.Errorf("first product %s, want ESA (the default for actions several APIs share)", got)
	}
}
