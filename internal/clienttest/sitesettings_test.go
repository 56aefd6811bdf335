package clienttest

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"
)

// esaCall calls an ESA action through darabonba-openapi's CallApi the way
// the official Go SDK (esa-20240910) does: its method, parameters in the
// query (flattened as openapiutil.Query flattens repeated ones), those of
// body in a form body.
func esaCall(t *testing.T, c *openapi.Client, method, action string, query, body map[string]string) (map[string]any, *apiError) {
	t.Helper()
	q := map[string]*string{}
	for k, v := range query {
		q[k] = tea.String(v)
	}
	var b map[string]any
	for k, v := range body {
		if b == nil {
			b = map[string]any{}
		}
		b[k] = v
	}
	params := &openapiutil.Params{
		Action: tea.String(action), Version: tea.String(esaVersion), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String(method), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json"),
	}
	res, err := c.CallApi(params, &openapiutil.OpenApiRequest{Query: q, Body: b}, &dara.RuntimeOptions{})
	if err != nil {
		var se *tea.SDKError
		if !errors.As(err, &se) {
			t.Fatalf("%s: error of type %T, not *tea.SDKError: %v", action, err, err)
		}
		return nil, &apiError{Status: tea.IntValue(se.StatusCode), Code: tea.StringValue(se.Code), Message: tea.StringValue(se.Message)}
	}
	return decode(t, res["body"]), nil
}

// TestGoClientsSiteSettings drives the site settings, the features esacert
// answers as off and the site tags through darabonba-openapi (both
// signatures), as the official Go SDK sends them, and checks the answers'
// JSON types as the SDK's models declare them, and the error cases.
func TestGoClientsSiteSettings(t *testing.T) {
	addr, key := startNode(t)
	for i, k := range []clientKind{teaKind(false), teaKind(true)} {
		t.Run(k.name, func(t *testing.T) {
			c := k.make(t, addr, key, false).(*teaCaller).client
			call := func(method, action string, query map[string]string) map[string]any {
				t.Helper()
				got, e := esaCall(t, c, method, action, query, nil)
				if e != nil {
					t.Fatalf("%s: %v", action, e)
				}
				return got
			}
			fail := func(method, action string, query, body map[string]string, status int, code, mention string) {
				t.Helper()
				_, e := esaCall(t, c, method, action, query, body)
				if e == nil || e.Status != status || e.Code != code || !strings.Contains(e.Message, mention) {
					t.Errorf("%s %v: %v, want %d %s mentioning %q", action, query, e, status, code, mention)
				}
			}
			created := call("POST", "CreateSite", map[string]string{"SiteName": fmt.Sprintf("sdk-settings-%d.com", i), "AccessType": "NS",
				"Coverage": "overseas", "InstanceId": "esa-default-basic"})
			id := str(created["SiteId"])
			site := map[string]string{"SiteId": id}

			// IPv6: a new site takes IPv6 clients (see sitesetting.NewSiteConfig), for every region.
			if got := call("GET", "GetIPv6", site); got["Enable"] != "on" || got["Region"] != "x.x" {
				t.Errorf("GetIPv6 of a new site = %v, want on for x.x", got)
			}
			call("POST", "UpdateIPv6", map[string]string{"SiteId": id, "Enable": "on", "Region": "cn.cn"})
			if got := call("GET", "GetIPv6", site); got["Enable"] != "on" || got["Region"] != "cn.cn" {
				t.Errorf("GetIPv6 after UpdateIPv6 = %v", got)
			}
			// Pause: Paused is a JSON boolean (GetSitePauseResponseBody.Paused *bool).
			call("POST", "UpdateSitePause", map[string]string{"SiteId": id, "Paused": "true"})
			if got := call("GET", "GetSitePause", site); got["Paused"] != true {
				t.Errorf("GetSitePause = %#v, want Paused true (a boolean)", got)
			}
			// Managed transforms: SiteVersion is a number (int32); a switch
			// never set reads "".
			call("POST", "UpdateManagedTransform", map[string]string{"SiteId": id, "AddRealClientIpHeader": "on", "RealClientIpHeaderName": "X-Real-Client"})
			got := call("GET", "GetManagedTransform", site)
			if got["AddRealClientIpHeader"] != "on" || got["RealClientIpHeaderName"] != "X-Real-Client" ||
				got["AddClientGeolocationHeader"] != "" || got["SiteVersion"] != float64(0) {
				t.Errorf("GetManagedTransform = %#v", got)
			}
			// Features answered as off, in their models' shapes.
			if got := call("POST", "DescribeHttpDDoSAttackProtection", site); got["GlobalMode"] != "default" || str(got["SiteId"]) != id {
				t.Errorf("DescribeHttpDDoSAttackProtection = %#v", got)
			}
			if got := call("POST", "GetSiteWafSettings", site); dig(got, "Settings.AddSecurityHeaders.Enable") != false ||
				dig(got, "Settings.ClientIpIdentifier.Mode") != "connection_ip" {
				t.Errorf("GetSiteWafSettings = %#v", got)
			}
			call("POST", "UpdateCrossBorderOptimization", map[string]string{"SiteId": id, "Enable": "off"})
			call("POST", "UpdateSiteCoverage", map[string]string{"SiteId": id, "Coverage": "global"})
			if got := call("GET", "GetSite", site); dig(got, "SiteModel.Coverage") != "global" {
				t.Errorf("GetSite after UpdateSiteCoverage = %v", got)
			}
			// Tags, as the SDK flattens ResourceId and Tag.
			call("POST", "TagResources", map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "site", "ResourceId.1": id,
				"Tag.1.Key": "env", "Tag.1.Value": "prod"})
			tags := call("POST", "ListTagResources", map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "site", "ResourceId.1": id})
			list, _ := tags["TagResources"].([]any)
			if len(list) != 1 || dig(list[0], "ResourceId") != id || dig(list[0], "TagKey") != "env" || tags["TotalCount"] != float64(1) {
				t.Errorf("ListTagResources = %#v", tags)
			}

			// Errors: an unknown site as GetSite answers it; a bad value;
			// a feature esacert does not have.
			for _, a := range []string{"GetIPv6", "GetSitePause", "GetCacheTag", "GetSiteWafSettings"} {
				fail("GET", a, map[string]string{"SiteId": "1"}, nil, 404, "SiteNotFound", "")
			}
			fail("POST", "UpdateIPv6", map[string]string{"SiteId": id, "Enable": "yes"}, nil, 400, "InvalidParameter", "Enable")
			fail("POST", "UpdateCrossBorderOptimization", map[string]string{"SiteId": id, "Enable": "on"}, nil, 400, "Feature.NotSupported", "Enable")
			fail("POST", "UpdateManagedTransform", map[string]string{"SiteId": id, "AddClientGeolocationHeader": "on"}, nil,
				400, "Feature.NotSupported", "AddClientGeolocationHeader")
			fail("POST", "EditSiteWafSettings", map[string]string{"SiteId": id}, map[string]string{"Settings": `{"SecurityLevel":{"Value":"high"}}`},
				400, "Feature.NotSupported", "Settings.SecurityLevel.Value")
			fail("POST", "TagResources", map[string]string{"ResourceType": "site", "ResourceId.1": id, "Tag.1.Key": "aliyun-x", "Tag.1.Value": "v"},
				nil, 400, "InvalidParameter", "Tag")
		})
	}
}

// TestNodeSDKSiteSettings calls the site settings through the official
// Node.js SDK's typed methods (@alicloud/esa20240910: getIPv6,
// updateIPv6, getSitePause, getManagedTransform, getSiteWafSettings,
// listTagResources…), which parse each answer into the SDK's models.
func TestNodeSDKSiteSettings(t *testing.T) {
	d := startDriver(t)
	addr, key := startNode(t)
	for i, client := range []string{"esa", "esa-v2"} {
		t.Run(client, func(t *testing.T) {
			call := func(action string, p map[string]string) (map[string]any, *apiError) {
				t.Helper()
				a := d.do(t, driverRequest{Client: client, Endpoint: addr, Key: key.ID, Secret: key.Secret, Action: action,
					Version: esaVersion, Params: p})
				if a.Error != nil {
					return nil, &apiError{Status: a.Error.StatusCode, Code: a.Error.Code, Message: a.Error.Message}
				}
				return a.OK, nil
			}
			ok := func(action string, p map[string]string) map[string]any {
				t.Helper()
				got, e := call(action, p)
				if e != nil {
					t.Fatalf("%s: %v", action, e)
				}
				return got
			}
			created := ok("CreateSite", map[string]string{"SiteName": fmt.Sprintf("node-settings-%d.com", i), "AccessType": "NS", "Coverage": "overseas",
				"InstanceId": "esa-default-basic"})
			id := str(created["SiteId"])
			site := map[string]string{"SiteId": id}
			ok("UpdateIPv6", map[string]string{"SiteId": id, "Enable": "on", "Region": "x.x"})
			if got := ok("GetIPv6", site); got["Enable"] != "on" || got["Region"] != "x.x" {
				t.Errorf("getIPv6 = %v", got)
			}
			ok("UpdateSitePause", map[string]string{"SiteId": id, "Paused": "true"})
			if got := ok("GetSitePause", site); got["Paused"] != true {
				t.Errorf("getSitePause = %#v", got)
			}
			if got := ok("GetManagedTransform", site); got["AddRealClientIpHeader"] != "" || got["SiteVersion"] != float64(0) { // never set
				t.Errorf("getManagedTransform = %#v", got)
			}
			if got := ok("GetSiteWafSettings", site); dig(got, "Settings.SecurityLevel.Value") != "off" {
				t.Errorf("getSiteWafSettings = %#v", got)
			}
			ok("TagResources", map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "site", "ResourceId": fmt.Sprintf("[%q]", id),
				"Tag": `[{"Key":"env","Value":"prod"}]`})
			tags := ok("ListTagResources", map[string]string{"RegionId": "cn-hangzhou", "ResourceType": "site", "ResourceId": fmt.Sprintf("[%q]", id)})
			if list, _ := tags["TagResources"].([]any); len(list) != 1 || dig(list[0], "TagValue") != "prod" {
				t.Errorf("listTagResources = %#v", tags)
			}
			if _, e := call("UpdateSeoBypass", map[string]string{"SiteId": id, "Enable": "on"}); e == nil || e.Code != "Feature.NotSupported" || e.Status != 400 {
				t.Errorf("updateSeoBypass on: %+v, want 400 Feature.NotSupported", e)
			}
			if _, e := call("GetIPv6", map[string]string{"SiteId": "1"}); e == nil || e.Code != "SiteNotFound" || e.Status != 404 {
				t.Errorf("getIPv6 of an unknown site: %+v, want 404 SiteNotFound", e)
			}
		})
	}
}
