package clienttest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
)

// apiError is an error answer as a client surfaced it, in the client's own
// error type (each caller checks that type before filling this in).
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// caller is one real client, configured with an endpoint and a key.
type caller interface {
	call(t *testing.T, action string, params map[string]string) (map[string]any, *apiError)
}

// clientKind makes callers of one client library.
type clientKind struct {
	name string
	// make returns a caller for addr signing with key; replay makes it send
	// every request twice and report the second answer.
	make func(t *testing.T, addr string, key accesskey.Key, replay bool) caller
}

// dig returns the value at a dotted path of a decoded JSON object; a number
// index selects an array element.
func dig(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			var i int
			if _, err := fmt.Sscan(part, &i); err != nil || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	default:
		return fmt.Sprint(x)
	}
}

func mustOK(t *testing.T, c caller, action string, p map[string]string) map[string]any {
	t.Helper()
	body, err := c.call(t, action, p)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	if id := str(body["RequestId"]); len(id) != 36 {
		t.Errorf("%s: RequestId %q", action, id)
	}
	return body
}

func mustFail(t *testing.T, c caller, action string, p map[string]string, status int, code string) {
	t.Helper()
	body, err := c.call(t, action, p)
	if err == nil {
		t.Fatalf("%s succeeded (%v), want %d %s", action, body, status, code)
	}
	if err.Status != status || err.Code != code {
		t.Fatalf("%s: got %v, want %d %s", action, err, status, code)
	}
}

// runSiteScenario manages a plan and a site from start to end with one client.
func runSiteScenario(t *testing.T, c caller, prefix string) {
	site := prefix + "-example.com"
	buy := mustOK(t, c, "PurchaseRatePlan", map[string]string{"PlanName": "basic", "Coverage": "overseas",
		"ChargeType": "PREPAY", "Period": "1", "AutoPay": "true", "AutoRenew": "false"})
	inst := str(buy["InstanceId"])
	if !strings.HasPrefix(inst, "esa-site-") || str(buy["OrderId"]) == "" {
		t.Fatalf("PurchaseRatePlan answered %v", buy)
	}
	st := mustOK(t, c, "DescribeRatePlanInstanceStatus", map[string]string{"InstanceId": inst})
	if str(st["InstanceStatus"]) != "running" {
		t.Fatalf("instance status %v", st)
	}

	created := mustOK(t, c, "CreateSite", map[string]string{"SiteName": site, "InstanceId": inst, "AccessType": "NS", "Coverage": "overseas"})
	id := str(created["SiteId"])
	if len(id) != 13 || !strings.HasPrefix(str(created["VerifyCode"]), "verify_") {
		t.Fatalf("CreateSite answered %v", created)
	}
	mustFail(t, c, "CreateSite", map[string]string{"SiteName": site, "AccessType": "NS", "Coverage": "overseas"}, 400, "Site.Duplicated")
	mustFail(t, c, "CreateSite", map[string]string{"SiteName": "second-" + site, "InstanceId": inst}, 400, "QuotaExceed.Site")
	mustFail(t, c, "CreateSite", map[string]string{"SiteName": "third-" + site, "InstanceId": "esa-site-nope"}, 400, "InvalidParameter.InstanceId")
	mustFail(t, c, "CreateSite", map[string]string{"SiteName": "com"}, 400, "InvalidParameter")

	got := mustOK(t, c, "GetSite", map[string]string{"SiteId": id})
	for path, want := range map[string]string{"SiteModel.SiteId": id, "SiteModel.SiteName": site, "SiteModel.Status": "pending",
		"SiteModel.InstanceId": inst, "SiteModel.PlanName": "basic", "SiteModel.AccessType": "NS", "SiteModel.Coverage": "overseas"} {
		if g := str(dig(got, path)); g != want {
			t.Errorf("GetSite %s = %q, want %q", path, g, want)
		}
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", str(dig(got, "SiteModel.CreateTime"))); err != nil {
		t.Errorf("GetSite CreateTime: %v", err)
	}

	// A second site on the default instance, for the list filters.
	other := mustOK(t, c, "CreateSite", map[string]string{"SiteName": prefix + "-other.org", "AccessType": "CNAME", "Coverage": "global"})
	otherID := str(other["SiteId"])
	lists := []struct {
		params map[string]string
		want   []string
	}{
		{map[string]string{"SiteName": site}, []string{site}},
		{map[string]string{"SiteName": prefix + "-ex", "SiteSearchType": "prefix"}, []string{site}},
		{map[string]string{"SiteName": "-other.org", "SiteSearchType": "suffix"}, []string{prefix + "-other.org"}},
		{map[string]string{"SiteName": prefix, "SiteSearchType": "fuzzy", "AccessType": "CNAME"}, []string{prefix + "-other.org"}},
		{map[string]string{"SiteName": prefix, "SiteSearchType": "fuzzy", "Coverage": "overseas", "Status": "pending"}, []string{site}},
	}
	for _, l := range lists {
		res := mustOK(t, c, "ListSites", l.params)
		var names []string
		sites, _ := res["Sites"].([]any)
		for _, s := range sites {
			names = append(names, str(dig(s, "SiteName")))
		}
		if fmt.Sprint(names) != fmt.Sprint(l.want) || str(res["TotalCount"]) != fmt.Sprint(len(l.want)) {
			t.Errorf("ListSites %v = %v (TotalCount %v), want %v", l.params, names, res["TotalCount"], l.want)
		}
	}
	paged := mustOK(t, c, "ListSites", map[string]string{"SiteName": prefix, "SiteSearchType": "fuzzy", "PageSize": "1", "PageNumber": "2"})
	if str(paged["TotalCount"]) != "2" || str(paged["PageNumber"]) != "2" || str(dig(paged, "Sites.0.SiteName")) != site {
		t.Errorf("ListSites page 2 of 1 = %v", paged)
	}
	mustFail(t, c, "ListSites", map[string]string{"PageSize": "501"}, 400, "InvalidParameter")
	mustFail(t, c, "ListSites", map[string]string{"SiteSearchType": "regex", "SiteName": "x"}, 400, "InvalidParameter")

	insts := mustOK(t, c, "ListUserRatePlanInstances", map[string]string{"InstanceId": inst})
	for path, want := range map[string]string{"InstanceInfo.0.InstanceId": inst, "InstanceInfo.0.PlanName": "basic",
		"InstanceInfo.0.Status": "online", "InstanceInfo.0.Sites.0.SiteName": site, "InstanceInfo.0.SiteQuota": "1", "TotalCount": "1"} {
		if g := str(dig(insts, path)); g != want {
			t.Errorf("ListUserRatePlanInstances %s = %q, want %q", path, g, want)
		}
	}
	// An upgrade, as Terraform's alicloud_esa_rate_plan_instance sends it,
	// raises the site's limits at once; a downgrade is refused.
	quota := func() string {
		return str(mustOK(t, c, "GetCertificateQuota", map[string]string{"SiteId": id, "Type": "custom"})["Quota"])
	}
	if q := quota(); q != "5" {
		t.Errorf("custom certificate quota on basic = %s, want 5", q)
	}
	up := mustOK(t, c, "UpdateRatePlanSpec", map[string]string{"InstanceId": inst, "ChargeType": "PREPAY", "AutoPay": "true",
		"OrderType": "UPGRADE", "TargetPlanName": "medium"})
	if str(up["InstanceId"]) != inst || str(up["OrderId"]) == "" {
		t.Errorf("UpdateRatePlanSpec answered %v", up)
	}
	if st := mustOK(t, c, "DescribeRatePlanInstanceStatus", map[string]string{"InstanceId": inst}); str(st["InstanceStatus"]) != "running" {
		t.Errorf("instance status after the upgrade %v", st)
	}
	if q := quota(); q != "10" {
		t.Errorf("custom certificate quota after the upgrade to medium = %s, want 10", q)
	}
	if g := str(dig(mustOK(t, c, "ListUserRatePlanInstances", map[string]string{"InstanceId": inst}), "InstanceInfo.0.PlanName")); g != "medium" {
		t.Errorf("PlanName after the upgrade = %q, want medium", g)
	}
	mustFail(t, c, "UpdateRatePlanSpec", map[string]string{"InstanceId": inst, "TargetPlanName": "basic"}, 400, "InvalidParameter")

	none := mustOK(t, c, "ListUserRatePlanInstances", map[string]string{"InstanceId": "esa-site-nope"})
	if list, ok := none["InstanceInfo"].([]any); !ok || len(list) != 0 {
		t.Errorf("ListUserRatePlanInstances of an unknown id: InstanceInfo = %#v, want []", none["InstanceInfo"])
	}
	mustFail(t, c, "DescribeRatePlanInstanceStatus", map[string]string{"InstanceId": "esa-site-nope"}, 404, "InvalidInstanceId.NotFound")

	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": id})
	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": otherID})
	mustFail(t, c, "GetSite", map[string]string{"SiteId": id}, 404, "SiteNotFound")
	mustFail(t, c, "DeleteSite", map[string]string{"SiteId": id}, 404, "SiteNotFound")
	// The instance has room again.
	again := mustOK(t, c, "CreateSite", map[string]string{"SiteName": "second-" + site, "InstanceId": inst})
	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": str(again["SiteId"])})
}

// runEnvelopeErrors provokes every envelope error through one client kind
// and checks it comes back in the client's own error type.
func runEnvelopeErrors(t *testing.T, kind clientKind, addr string, key accesskey.Key) {
	good := kind.make(t, addr, key, false)
	t.Run("unknown_action", func(t *testing.T) {
		mustFail(t, good, "NoSuchAction", nil, 404, "InvalidAction.NotFound")
	})
	t.Run("missing_parameter", func(t *testing.T) {
		mustFail(t, good, "GetSite", nil, 400, "MissingParameter")
	})
	t.Run("invalid_parameter", func(t *testing.T) {
		mustFail(t, good, "GetSite", map[string]string{"SiteId": "abc"}, 400, "InvalidParameter")
	})
	t.Run("unknown_access_key", func(t *testing.T) {
		c := kind.make(t, addr, accesskey.Key{ID: "LTAInobodyhasthiskey", Secret: "x"}, false)
		mustFail(t, c, "ListSites", nil, 404, "InvalidAccessKeyId.NotFound")
	})
	t.Run("wrong_secret", func(t *testing.T) {
		c := kind.make(t, addr, accesskey.Key{ID: key.ID, Secret: key.Secret + "x"}, false)
		mustFail(t, c, "ListSites", nil, 400, "SignatureDoesNotMatch")
	})
	t.Run("nonce_replayed", func(t *testing.T) {
		c := kind.make(t, addr, key, true)
		mustFail(t, c, "ListSites", nil, 400, "SignatureNonceUsed")
	})
	t.Run("clock_skew", func(t *testing.T) {
		c := kind.make(t, skewedServer(t, key, 20*time.Minute), key, false)
		mustFail(t, c, "ListSites", nil, 400, "InvalidTimeStamp.Expired")
	})
}
