package clienttest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/pkitest"
)

// tfClient sends requests the way the Terraform provider does through
// tea-rpc (esa-api.md §2.2, §3.6, §7): the RPC HMAC-SHA1 signature in the
// query, Format=json, RpcPost parameters in a form body, RpcGet parameters
// in the query with a form content type and an empty body. It decodes
// answers with UseNumber, as tea-utils does, and fails on a non-object body.
type tfClient struct {
	addr string
	key  accesskey.Key
}

type tfAnswer struct {
	status int
	body   map[string]any
}

func (c tfClient) do(t *testing.T, method, action string, params map[string]string) tfAnswer {
	t.Helper()
	return c.doVersion(t, method, action, actionVersion(action), params)
}

// doVersion sends action of an API version that actionVersion does not
// pick (ESA's ListTagResources, whose name RAM's shares).
func (c tfClient) doVersion(t *testing.T, method, action, version string, params map[string]string) tfAnswer {
	t.Helper()
	query := map[string]*string{
		"Action": tea.String(action), "Format": tea.String("json"), "Version": tea.String(version),
		"Timestamp": openapiutil.GetTimestamp(), "SignatureNonce": openapiutil.GetNonce(),
		"SignatureMethod": tea.String("HMAC-SHA1"), "SignatureVersion": tea.String("1.0"),
		"AccessKeyId": tea.String(c.key.ID),
	}
	form := url.Values{}
	signed := map[string]*string{}
	for k, v := range query {
		signed[k] = v
	}
	for k, v := range params {
		if method == "GET" {
			query[k] = tea.String(v)
		} else {
			form.Set(k, v)
		}
		signed[k] = tea.String(v)
	}
	query["Signature"] = openapiutil.GetRPCSignature(signed, tea.String(method), tea.String(c.key.Secret))
	q := url.Values{}
	for k, v := range query {
		q.Set(k, *v)
	}
	req, err := http.NewRequest(method, "http://"+c.addr+"/?"+q.Encode(), strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded") // on GET too, with an empty body
	req.Header.Set("x-acs-action", action)
	req.Header.Set("x-acs-version", version)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var body map[string]any
	if err := dec.Decode(&body); err != nil || body == nil {
		t.Fatalf("%s: the provider would panic on this body (AssertAsMap): %q", action, raw)
	}
	return tfAnswer{resp.StatusCode, body}
}

// TestTerraformCertificateLifecycle replays alicloud_esa_certificate's
// create, read, update, read, delete and refresh, and checks what keeps
// `terraform plan` clean (esa-api.md §7.3) and drift detection (§7.4).
func TestTerraformCertificateLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	now := time.Now()
	site := tf.do(t, "POST", "CreateSite", map[string]string{"SiteName": "tf-example.com", "AccessType": "NS", "Coverage": "overseas"})
	siteID := str(site.body["SiteId"])
	ca := pkitest.NewCA(t, "TF Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	v1 := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.tf-example.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	v2 := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.tf-example.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(120 * 24 * time.Hour)})

	// Create: RpcPost SetCertificate with everything in the body.
	created := tf.do(t, "POST", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Name": "tf-cert", "Certificate": v1.ChainPEM, "PrivateKey": v1.KeyPEM})
	if created.status != 200 || str(created.body["Id"]) == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	resourceID := siteID + ":" + str(created.body["Id"]) // d.SetId("<SiteId>:<Id>")

	read := func(certPEM string) {
		t.Helper()
		parts := strings.SplitN(resourceID, ":", 2)
		got := tf.do(t, "GET", "GetCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1]})
		if got.status != 200 {
			t.Fatalf("read: %d %v", got.status, got.body)
		}
		// What the provider sets, and what must equal the configuration.
		state := map[string]string{
			"certificate": str(got.body["Certificate"]),
			"site_id":     str(got.body["SiteId"]),
			"cert_id":     str(dig(got.body, "Result.Id")),
			"cert_name":   str(dig(got.body, "Result.Name")),
			"cas_id":      str(dig(got.body, "Result.CasId")),
		}
		want := map[string]string{"certificate": certPEM, "site_id": parts[0], "cert_id": parts[1], "cert_name": "tf-cert", "cas_id": ""}
		for k, w := range want {
			if state[k] != w {
				t.Errorf("read: %s = %q, want %q (terraform plan would show a diff)", k, state[k], w)
			}
		}
		for _, k := range []string{"Status", "CreateTime", "Type"} {
			if str(dig(got.body, "Result."+k)) == "" {
				t.Errorf("read: Result.%s is empty", k)
			}
		}
	}
	read(v1.ChainPEM)

	// Update: RpcPost SetCertificate with the ids from the resource id.
	parts := strings.SplitN(resourceID, ":", 2)
	updated := tf.do(t, "POST", "SetCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1], "Type": "upload",
		"Name": "tf-cert", "Certificate": v2.ChainPEM, "PrivateKey": v2.KeyPEM})
	if updated.status != 200 {
		t.Fatalf("update: %d %v", updated.status, updated.body)
	}
	read(v2.ChainPEM)

	// Delete: RpcGet DeleteCertificate; then a refresh finds it gone by HTTP
	// 404 (the provider's NotFoundError), and a second delete counts as done.
	del := tf.do(t, "GET", "DeleteCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1]})
	if del.status != 200 {
		t.Fatalf("delete: %d %v", del.status, del.body)
	}
	for _, action := range []string{"GetCertificate", "DeleteCertificate"} {
		gone := tf.do(t, "GET", action, map[string]string{"SiteId": parts[0], "Id": parts[1]})
		if gone.status != 404 || gone.body["Code"] != "Certificate.NotFound" {
			t.Errorf("%s after delete: %d %v, want 404 Certificate.NotFound", action, gone.status, gone.body)
		}
	}
}

// TestTerraformRatePlanLifecycle replays alicloud_esa_rate_plan_instance
// (esa-more-api.md §3.9) as the provider sends it: create with
// PurchaseRatePlan and wait for running, read through
// ListUserRatePlanInstances, change plan_name with UpdateRatePlanSpec (and
// once more, as a retry would), wait for running, read the new plan back;
// an instance that does not exist reads as an empty list (gone).
func TestTerraformRatePlanLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	// At every start the provider asks BssOpenApi for the account's type
	// (a China account unless the answer is NotApplicable).
	probe := tf.do(t, "POST", "QueryAvailableInstances", map[string]string{"PageSize": "50", "PageNum": "1",
		"ProductCode": "vipcloudfw", "ProductType": "vipcloudfw", "SubscriptionType": "Subscription"})
	if list, ok := dig(probe.body["Data"], "InstanceList").([]any); probe.status != 200 || probe.body["Success"] != true || !ok || len(list) != 0 {
		t.Errorf("the provider's account-type probe: %d %v, want 200 with an empty InstanceList", probe.status, probe.body)
	}
	created := tf.do(t, "POST", "PurchaseRatePlan", map[string]string{"Coverage": "overseas", "AutoRenew": "false",
		"ChargeType": "PREPAY", "AutoPay": "true", "PlanName": "basic", "Type": "NS", "Period": "1"})
	if created.status != 200 {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	id := str(created.body["InstanceId"])
	running := func() {
		t.Helper()
		got := tf.do(t, "POST", "DescribeRatePlanInstanceStatus", map[string]string{"InstanceId": id})
		if got.status != 200 || str(got.body["InstanceStatus"]) != "running" {
			t.Fatalf("status: %d %v", got.status, got.body)
		}
	}
	read := func(plan string) {
		t.Helper()
		got := tf.do(t, "GET", "ListUserRatePlanInstances", map[string]string{"InstanceId": id})
		list, _ := got.body["InstanceInfo"].([]any)
		if got.status != 200 || len(list) != 1 {
			t.Fatalf("read: %d %v", got.status, got.body)
		}
		for field, want := range map[string]string{"PlanName": plan, "BillingMode": "PREPAY", "Status": "online"} {
			if g := str(dig(list[0], field)); g != want {
				t.Errorf("read %s = %q, want %q (a diff on every plan)", field, g, want)
			}
		}
	}
	running()
	read("basic")
	billed := tf.do(t, "POST", "QueryAvailableInstances", map[string]string{"ProductCode": "dcdn"})
	if list, _ := dig(billed.body["Data"], "InstanceList").([]any); billed.status != 200 || len(list) != 1 ||
		str(dig(list[0], "InstanceID")) != id || str(dig(list[0], "SubscriptionType")) != "Subscription" {
		t.Errorf("QueryAvailableInstances for dcdn: %d %v, want the purchased instance %s alone", billed.status, billed.body, id)
	}
	update := map[string]string{"InstanceId": id, "ChargeType": "PREPAY", "AutoPay": "true", "OrderType": "UPGRADE", "TargetPlanName": "high"}
	for i := 0; i < 2; i++ { // the second is a retry: it must not fail the apply
		if got := tf.do(t, "POST", "UpdateRatePlanSpec", update); got.status != 200 || str(got.body["InstanceId"]) != id {
			t.Fatalf("update #%d: %d %v", i+1, got.status, got.body)
		}
	}
	running()
	read("high")
	gone := tf.do(t, "GET", "ListUserRatePlanInstances", map[string]string{"InstanceId": "esa-site-nope"})
	if list, ok := gone.body["InstanceInfo"].([]any); gone.status != 200 || !ok || len(list) != 0 {
		t.Errorf("read of a missing instance: %d %v, want an empty InstanceInfo", gone.status, gone.body)
	}

	// Destroy: BssOpenApi's RefundInstance, as the provider sends it.
	token := "TF-RefundInstance-1764900000-8d1f0b4c2a9e4e47"
	refundWith := func(id, token string) tfAnswer {
		t.Helper()
		return tf.do(t, "POST", "RefundInstance", map[string]string{"InstanceId": id,
			"ClientToken": token, "ProductCode": "dcdn", "ImmediatelyRelease": "0",
			"ProductType": "dcdn_dcdnserviceplan_public_cn"})
	}
	refund := func(id string) tfAnswer { t.Helper(); return refundWith(id, token) }
	held := tf.do(t, "POST", "PurchaseRatePlan", map[string]string{"PlanName": "basic", "SiteName": "held-example.com"})
	if held.status != 200 {
		t.Fatalf("purchase with a site: %d %v", held.status, held.body)
	}
	refused := refund(str(held.body["InstanceId"]))
	if refused.status != 400 || str(refused.body["Code"]) != "InvalidParameter" ||
		!strings.Contains(str(refused.body["Message"]), "held-example.com") {
		t.Errorf("refund of an instance with a site: %d %v, want InvalidParameter naming held-example.com", refused.status, refused.body)
	}
	destroyed := refund(id)
	if destroyed.status != 200 || destroyed.body["Success"] != true ||
		str(dig(destroyed.body["Data"], "OrderId")) == "" {
		t.Fatalf("destroy: %d %v", destroyed.status, destroyed.body)
	}
	after := tf.do(t, "GET", "ListUserRatePlanInstances", map[string]string{"InstanceId": id})
	if list, ok := after.body["InstanceInfo"].([]any); after.status != 200 || !ok || len(list) != 0 {
		t.Errorf("read after destroy: %d %v, want an empty InstanceInfo (the provider then drops the resource)", after.status, after.body)
	}
	// The provider retries with the same ClientToken (after a lost answer):
	// the same answer again. Another token finds nothing: a not-found
	// answer, which the provider also takes as done.
	if again := refund(id); again.status != 200 || !reflect.DeepEqual(again.body["Data"], destroyed.body["Data"]) {
		t.Errorf("destroy retried with its ClientToken: %d %v, want the first answer's Data %v", again.status, again.body, destroyed.body["Data"])
	}
	if other := refundWith(id, "TF-RefundInstance-other"); other.status != 404 || str(other.body["Code"]) != "ResourceNotExists" {
		t.Errorf("destroy again with another ClientToken: %d %v, want 404 ResourceNotExists", other.status, other.body)
	}
	if long := refundWith(id, strings.Repeat("x", 65)); long.status != 400 || str(long.body["Code"]) != "InvalidParameter" {
		t.Errorf("a 65-character ClientToken: %d %v, want 400 InvalidParameter", long.status, long.body)
	}
}
