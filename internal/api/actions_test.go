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
	"testing"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/store/sqlstore"
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
	{"ListSites", "ok_all", "GET", nil},
	{"ListSites", "ok_fuzzy_page", "GET", url.Values{"SiteName": {"example"}, "SiteSearchType": {"fuzzy"}, "PageSize": {"1"}, "PageNumber": {"2"}}},
	{"ListSites", "ok_tag_filter_matches_nothing", "GET", url.Values{"TagFilter": {`[{"Key":"env","Value":"prod"}]`}}},
	{"ListSites", "fail_page_size", "GET", url.Values{"PageSize": {"0"}, "PageNumber": {"x"}}},
	{"PurchaseRatePlan", "ok", "POST", url.Values{"PlanName": {"high"}, "Coverage": {"overseas"}, "ChargeType": {"PREPAY"}, "Period": {"3"}, "AutoRenew": {"true"}, "AutoPay": {"true"}}},
	{"PurchaseRatePlan", "ok_with_site", "POST", url.Values{"PlanCode": {"basicplan"}, "SiteName": {"bought.net"}, "Type": {"CNAME"}}},
	{"PurchaseRatePlan", "fail_unknown_plan", "POST", url.Values{"PlanName": {"gold"}}},
	{"PurchaseRatePlan", "fail_site_taken", "POST", url.Values{"PlanName": {"basic"}, "SiteName": {"example.com"}}},
	{"DescribeRatePlanInstanceStatus", "ok", "POST", url.Values{"InstanceId": {"{instance0}"}}},
	{"DescribeRatePlanInstanceStatus", "fail_not_found", "POST", url.Values{"InstanceId": {"esa-site-nope"}}},
	{"ListUserRatePlanInstances", "ok_one", "GET", url.Values{"InstanceId": {"{instance1}"}}},
	{"ListUserRatePlanInstances", "ok_unknown", "GET", url.Values{"InstanceId": {"esa-site-nope"}}},
	{"ListUserRatePlanInstances", "ok_all_ascending", "GET", url.Values{"SortOrder": {"asc"}}},
	{"DeleteSite", "ok", "POST", url.Values{"SiteId": {"{site1}"}}},
	{"DeleteSite", "fail_not_found", "POST", url.Values{"SiteId": {"{site1}"}}},
}

// TestActionGoldens pins every action's answers, field by field: names,
// JSON types, empty arrays. Run with -update to rewrite after a deliberate change.
func TestActionGoldens(t *testing.T) {
	store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	clk := &clock{t: testNow}
	svc := &cert.Service{Sites: store, Now: clk.Now, Rand: mrand.NewChaCha8([32]byte{1})}
	if err := svc.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := &Server{Service: svc, Keys: accesskey.NewRing(accesskey.Key{ID: "testAKID", Secret: "testSecret"}),
		Now: clk.Now, NameServers: "ns1.example.net,ns2.example.net", CnameZone: "cname.example.net"}
	hs := httptest.NewServer(s)
	defer hs.Close()
	sig := &signer{key: "testAKID", secret: "testSecret", now: testNow}

	vars := map[string]string{}
	for _, c := range goldenCases {
		t.Run(c.action+"/"+c.name, func(t *testing.T) {
			p := url.Values{}
			for k, v := range c.params {
				p[k] = []string{expand(v[0], vars)}
			}
			a := do(t, sig.rpc(t, hs.URL, c.method, c.action, p, nil))
			// Remember ids for later cases.
			if id, ok := a.body["SiteId"]; ok && c.action == "CreateSite" {
				vars[fmt.Sprintf("{site%d}", count(vars, "{site"))] = fmt.Sprintf("%.0f", id.(float64))
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
