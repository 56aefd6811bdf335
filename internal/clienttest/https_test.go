package clienttest

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"
)

// The official SDK's HTTP method of each HTTPS action (esa-more-api.md §4):
// Create, Update and Delete are POST, Get, List and ListCiphers GET.
func init() {
	for _, family := range []string{"HttpsBasicConfiguration", "HttpsApplicationConfiguration"} {
		sdkMethods["Create"+family] = "POST"
		sdkMethods["Get"+family] = "GET"
		sdkMethods["List"+family+"s"] = "GET"
		sdkMethods["Update"+family] = "POST"
		sdkMethods["Delete"+family] = "POST"
	}
	sdkMethods["ListCiphers"] = "GET"
}

// TestGoClientsManageHTTPSConfigurations runs the HTTPS configuration
// scenario with every Go client against one real node.
func TestGoClientsManageHTTPSConfigurations(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range goKinds {
		t.Run(k.name, func(t *testing.T) {
			runHTTPSScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// httpsKeys returns the sorted keys of an answer, without RequestId.
func httpsKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		if k != "RequestId" {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// httpsExactFields checks that an answer has exactly the keys of want (besides
// RequestId) with those values.
func httpsExactFields(t *testing.T, what string, got map[string]any, want map[string]string) {
	t.Helper()
	var wantKeys []string
	for k, w := range want {
		wantKeys = append(wantKeys, k)
		if g := str(got[k]); g != w {
			t.Errorf("%s: %s = %q, want %q", what, k, g, w)
		}
	}
	sort.Strings(wantKeys)
	if fmt.Sprint(httpsKeys(got)) != fmt.Sprint(wantKeys) {
		t.Errorf("%s answers the fields %v, want exactly %v", what, httpsKeys(got), wantKeys)
	}
}

func httpsConfigIDs(t *testing.T, list map[string]any) []string {
	t.Helper()
	configs, ok := list["Configs"].([]any)
	if !ok {
		t.Fatalf("Configs is %#v, want an array", list["Configs"])
	}
	var ids []string
	for _, c := range configs {
		ids = append(ids, str(dig(c, "ConfigId")))
	}
	return ids
}

// runHTTPSScenario manages both families of HTTPS configurations of a new
// site with one client.
func runHTTPSScenario(t *testing.T, c caller, prefix string) {
	siteName := prefix + "-https.com"
	site := mustOK(t, c, "CreateSite", map[string]string{"SiteName": siteName, "AccessType": "NS", "Coverage": "overseas"})
	siteID := str(site["SiteId"])
	apiHost := "api." + siteName

	// A global basic configuration and a rule.
	g := mustOK(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Https": "on", "Tls10": "off", "CiphersuiteGroup": "strict"})
	gid := str(g["ConfigId"])
	if _, ok := g["ConfigId"].(float64); !ok || len(gid) != 15 {
		t.Fatalf("CreateHttpsBasicConfiguration answered ConfigId %#v, want a 15-digit number", g["ConfigId"])
	}
	mustFail(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Http2": "off"}, 400, "Config.GlobalDuplicated")
	rule := fmt.Sprintf(`(http.host eq "%s")`, apiHost)
	r := mustOK(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Rule": rule, "RuleName": "api",
		"RuleEnable": "on", "Sequence": "1", "Http2": "off"})
	rid := str(r["ConfigId"])
	mustFail(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Rule": `(http.host ne "x")`}, 400, "InvalidParameter")
	mustFail(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Rule": "true", "Http3": "yes"}, 400, "InvalidParameter")
	mustFail(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": "1", "Https": "on"}, 400, "InvalidParameter.SiteId")

	// Get answers flat, and only what was set.
	httpsExactFields(t, "GetHttpsBasicConfiguration(global)", mustOK(t, c, "GetHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": gid}),
		map[string]string{"ConfigId": gid, "ConfigType": "global", "Sequence": "0", "Https": "on", "Tls10": "off", "CiphersuiteGroup": "strict"})
	httpsExactFields(t, "GetHttpsBasicConfiguration(rule)", mustOK(t, c, "GetHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": rid}),
		map[string]string{"ConfigId": rid, "ConfigType": "rule", "Rule": rule, "RuleName": "api", "RuleEnable": "on", "Sequence": "1", "Http2": "off"})

	lists := []struct {
		params map[string]string
		want   []string
	}{
		{map[string]string{"SiteId": siteID}, []string{gid, rid}},
		{map[string]string{"SiteId": siteID, "ConfigType": "rule"}, []string{rid}},
		{map[string]string{"SiteId": siteID, "ConfigType": "global"}, []string{gid}},
		{map[string]string{"SiteId": siteID, "RuleName": "api", "PageSize": "50", "PageNumber": "1"}, []string{rid}},
	}
	for _, l := range lists {
		res := mustOK(t, c, "ListHttpsBasicConfigurations", l.params)
		if got := httpsConfigIDs(t, res); fmt.Sprint(got) != fmt.Sprint(l.want) || str(res["TotalCount"]) != fmt.Sprint(len(l.want)) ||
			str(res["TotalPage"]) != "1" || str(res["PageNumber"]) != "1" {
			t.Errorf("ListHttpsBasicConfigurations %v = %v (TotalCount %v, TotalPage %v), want %v", l.params, got, res["TotalCount"], res["TotalPage"], l.want)
		}
	}
	mustFail(t, c, "ListHttpsBasicConfigurations", map[string]string{"SiteId": siteID, "ConfigType": "both"}, 400, "InvalidParameter")

	// Update changes what it sends, and an empty value unsets.
	mustOK(t, c, "UpdateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": rid, "Http2": "", "Tls13": "off", "Sequence": "3"})
	httpsExactFields(t, "GetHttpsBasicConfiguration(updated rule)", mustOK(t, c, "GetHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": rid}),
		map[string]string{"ConfigId": rid, "ConfigType": "rule", "Rule": rule, "RuleName": "api", "RuleEnable": "on", "Sequence": "3", "Tls13": "off"})
	mustFail(t, c, "UpdateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": gid, "Rule": "true"}, 400, "InvalidParameter")

	// Delete, then 404.
	mustOK(t, c, "DeleteHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": rid})
	mustFail(t, c, "GetHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": rid}, 404, "Config.NotFound")
	mustFail(t, c, "DeleteHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": rid}, 404, "Config.NotFound")
	mustFail(t, c, "UpdateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": rid, "Https": "on"}, 404, "Config.NotFound")

	// The application family: numbers are strings.
	a := mustOK(t, c, "CreateHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "HttpsForce": "on", "HttpsForceCode": "301", "HstsMaxAge": "3600"})
	aid := str(a["ConfigId"])
	got := mustOK(t, c, "GetHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "ConfigId": aid})
	httpsExactFields(t, "GetHttpsApplicationConfiguration", got, map[string]string{"ConfigId": aid, "ConfigType": "global", "Sequence": "0",
		"SiteVersion": "0", "HttpsForce": "on", "HttpsForceCode": "301", "HstsMaxAge": "3600"})
	for _, k := range []string{"HttpsForceCode", "HstsMaxAge"} {
		if _, ok := got[k].(string); !ok {
			t.Errorf("GetHttpsApplicationConfiguration %s is %T, want a string", k, got[k])
		}
	}
	ar := mustOK(t, c, "CreateHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "Rule": rule, "RuleName": "hsts",
		"RuleEnable": "on", "Hsts": "on", "HstsIncludeSubdomains": "on", "SiteVersion": "0"})
	arid := str(ar["ConfigId"])
	if ids := httpsConfigIDs(t, mustOK(t, c, "ListHttpsApplicationConfigurations", map[string]string{"SiteId": siteID, "ConfigType": "rule"})); fmt.Sprint(ids) != fmt.Sprint([]string{arid}) {
		t.Errorf("ListHttpsApplicationConfigurations(rule) = %v, want [%s]", ids, arid)
	}
	mustOK(t, c, "UpdateHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "ConfigId": arid, "AltSvc": "on", "AltSvcMa": "600"})
	httpsExactFields(t, "GetHttpsApplicationConfiguration(updated rule)",
		mustOK(t, c, "GetHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "ConfigId": arid}),
		map[string]string{"ConfigId": arid, "ConfigType": "rule", "Rule": rule, "RuleName": "hsts", "RuleEnable": "on", "Sequence": "0",
			"SiteVersion": "0", "Hsts": "on", "HstsIncludeSubdomains": "on", "AltSvc": "on", "AltSvcMa": "600"})
	mustFail(t, c, "GetHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "ConfigId": gid}, 404, "Config.NotFound")
	mustOK(t, c, "DeleteHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "ConfigId": aid})
	mustFail(t, c, "GetHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "ConfigId": aid}, 404, "Config.NotFound")

	ciphers := mustOK(t, c, "ListCiphers", map[string]string{"CiphersGroup": "strict"})
	if list, ok := ciphers["Result"].([]any); !ok || len(list) == 0 || str(ciphers["TotalCount"]) != fmt.Sprint(len(list)) || str(ciphers["CiphersGroup"]) != "strict" {
		t.Errorf("ListCiphers = %v", ciphers)
	}

	// Deleting the site deletes its configurations.
	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": siteID})
	mustFail(t, c, "GetHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "ConfigId": gid}, 400, "InvalidParameter.SiteId")
}

// tfReadHTTPS replays DescribeEsaHttps*Configuration: RpcGet with ConfigId and
// SiteId from the resource id; an answer without ConfigId means gone. It
// returns what the provider would put in the state for attrs.
func tfReadHTTPS(t *testing.T, tf tfClient, action, resourceID string, attrs []string) (map[string]string, tfAnswer) {
	t.Helper()
	siteID, configID, _ := strings.Cut(resourceID, ":")
	got := tf.do(t, "GET", action, map[string]string{"SiteId": siteID, "ConfigId": configID})
	if got.status != 200 {
		return nil, got
	}
	if _, ok := got.body["ConfigId"]; !ok {
		t.Fatalf("%s: no ConfigId in %v: the provider would think the resource gone", action, got.body)
	}
	state := map[string]string{}
	for _, a := range attrs {
		state[a] = str(got.body[a])
	}
	return state, got
}

// TestTerraformHTTPSConfigurations replays alicloud_esa_https_basic_configuration
// and alicloud_esa_https_application_configuration (esa-more-api.md §4.14):
// a create with a few attributes reads back exactly those (every other
// attribute is Optional and not Computed, so a default read back would be a
// plan diff), an update, and a delete that a refresh sees by HTTP 404.
func TestTerraformHTTPSConfigurations(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	site := tf.do(t, "POST", "CreateSite", map[string]string{"SiteName": "tf-https.com", "AccessType": "NS", "Coverage": "overseas"})
	siteID := str(site.body["SiteId"])

	families := []struct {
		name   string
		attrs  []string // the schema's Optional, non-Computed attributes, by API name
		config map[string]string
		change map[string]string
	}{
		{"HttpsBasicConfiguration",
			[]string{"Https", "Http2", "Http3", "Tls10", "Tls11", "Tls12", "Tls13", "CiphersuiteGroup", "Ciphersuite", "OcspStapling",
				"Rule", "RuleName", "RuleEnable"},
			map[string]string{"Https": "on", "Tls13": "on", "CiphersuiteGroup": "strict"},
			map[string]string{"Tls13": "off"}},
		{"HttpsApplicationConfiguration",
			[]string{"HttpsForce", "HttpsForceCode", "Hsts", "HstsMaxAge", "HstsIncludeSubdomains", "HstsPreload", "AltSvc", "AltSvcClear",
				"AltSvcMa", "AltSvcPersist", "HttpsNoSniDeny", "HttpsSniVerify", "HttpsSniWhitelist", "Rule", "RuleName", "RuleEnable"},
			map[string]string{"HttpsForce": "on", "HttpsForceCode": "301", "Hsts": "on"},
			map[string]string{"HttpsForceCode": "308", "HstsMaxAge": "600"}},
	}
	for _, fam := range families {
		t.Run(fam.name, func(t *testing.T) {
			// Create: RpcPost with SiteId and only the attributes set.
			body := map[string]string{"SiteId": siteID}
			for k, v := range fam.config {
				body[k] = v
			}
			created := tf.do(t, "POST", "Create"+fam.name, body)
			if created.status != 200 {
				t.Fatalf("create: %d %v", created.status, created.body)
			}
			if _, ok := created.body["ConfigId"].(json.Number); !ok {
				t.Fatalf("create: ConfigId %#v is not a JSON number", created.body["ConfigId"])
			}
			resourceID := siteID + ":" + str(created.body["ConfigId"])

			check := func(want map[string]string) {
				t.Helper()
				state, got := tfReadHTTPS(t, tf, "Get"+fam.name, resourceID, fam.attrs)
				if got.status != 200 {
					t.Fatalf("read: %d %v", got.status, got.body)
				}
				for _, a := range fam.attrs {
					if state[a] != want[a] {
						t.Errorf("read: %s = %q, configuration has %q (terraform plan would show a diff)", a, state[a], want[a])
					}
				}
				for _, k := range []string{"HttpsForceCode", "HstsMaxAge"} {
					if v, ok := got.body[k]; ok {
						if _, isString := v.(string); !isString {
							t.Errorf("read: %s is %T, want a string", k, v)
						}
					}
				}
			}
			check(fam.config)

			// Update: RpcPost with ConfigId, SiteId and the changed attributes.
			siteID, configID, _ := strings.Cut(resourceID, ":")
			upd := map[string]string{"SiteId": siteID, "ConfigId": configID}
			want := map[string]string{}
			for k, v := range fam.config {
				want[k] = v
			}
			for k, v := range fam.change {
				upd[k], want[k] = v, v
			}
			if got := tf.do(t, "POST", "Update"+fam.name, upd); got.status != 200 {
				t.Fatalf("update: %d %v", got.status, got.body)
			}
			check(want)

			// Delete; a refresh then drops the resource (HTTP 404), and a
			// second delete counts as done (NotFoundError).
			del := map[string]string{"SiteId": siteID, "ConfigId": configID}
			if got := tf.do(t, "POST", "Delete"+fam.name, del); got.status != 200 {
				t.Fatalf("delete: %d %v", got.status, got.body)
			}
			if _, got := tfReadHTTPS(t, tf, "Get"+fam.name, resourceID, fam.attrs); got.status != 404 || !strings.Contains(str(got.body["Code"]), "NotFound") {
				t.Errorf("read after delete: %d %v, want 404 and a NotFound code", got.status, got.body)
			}
			if got := tf.do(t, "POST", "Delete"+fam.name, del); got.status != 404 {
				t.Errorf("second delete: %d %v, want 404", got.status, got.body)
			}
		})
	}
}
