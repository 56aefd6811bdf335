package clienttest

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// The replays of alicloud_esa_origin_rule, alicloud_esa_origin_ca_certificate
// and alicloud_esa_origin_client_certificate as the provider sends them
// (resource_alicloud_esa_origin_*.go, EsaServiceV2.DescribeEsaOrigin*): every
// write an RpcPost with all parameters in the body, the reads RpcGets with
// their parameters in the query; each resource id is "<SiteId>:<Id>".

// tfPlanDiff is what terraform plan shows for mainTF against the state a
// Read left: one line per attribute it would change. optional are the
// attributes a plan compares with main.tf whatever it holds (Optional and
// not Computed), each with what it is compared with when main.tf leaves it
// out (the zero of its type); the others are compared only when main.tf
// sets them.
func tfPlanDiff(mainTF, state, optional map[string]string) []string {
	var diff []string
	for attr, zero := range optional {
		want, ok := mainTF[attr]
		if !ok {
			want = zero
		}
		if state[attr] != want {
			diff = append(diff, fmt.Sprintf("%s: %q -> %q", attr, state[attr], want))
		}
	}
	for attr, want := range mainTF {
		if _, ok := optional[attr]; !ok && state[attr] != want {
			diff = append(diff, fmt.Sprintf("%s: %q -> %q", attr, state[attr], want))
		}
	}
	slices.Sort(diff)
	return diff
}

// tfCreateSiteOnly creates the site the resources belong to, as
// alicloud_esa_site's create does, and returns its id.
func tfCreateSiteOnly(t *testing.T, tf tfClient, name string) string {
	t.Helper()
	id, _ := tfCreateSite(t, tf, name)
	return id
}

// tfOriginRuleAttrs are alicloud_esa_origin_rule's attributes the Read sets
// from GetOriginRule's answer (attribute: field); all but sequence and
// config_id are Optional and not Computed, so each is in tfOriginRuleOptional.
var tfOriginRuleAttrs = map[string]string{
	"dns_record": "DnsRecord", "follow302_enable": "Follow302Enable", "follow302_max_tries": "Follow302MaxTries",
	"follow302_retain_args": "Follow302RetainArgs", "follow302_retain_header": "Follow302RetainHeader",
	"follow302_target_host": "Follow302TargetHost", "origin_host": "OriginHost", "origin_http_port": "OriginHttpPort",
	"origin_https_port": "OriginHttpsPort", "origin_mtls": "OriginMtls", "origin_read_timeout": "OriginReadTimeout",
	"origin_scheme": "OriginScheme", "origin_sni": "OriginSni", "origin_verify": "OriginVerify", "range": "Range",
	"range_chunk_size": "RangeChunkSize", "rule": "Rule", "rule_enable": "RuleEnable", "rule_name": "RuleName",
	"sequence": "Sequence", "site_version": "SiteVersion", "config_id": "ConfigId",
}

var tfOriginRuleOptional = func() map[string]string {
	out := map[string]string{}
	for attr := range tfOriginRuleAttrs {
		out[attr] = ""
	}
	delete(out, "sequence") // Optional and Computed
	delete(out, "config_id")
	out["site_version"] = "0"
	return out
}()

// tfOriginRuleRead is resourceAliCloudEsaOriginRuleRead: GetOriginRule with
// ConfigId and SiteId in the query; an answer without ConfigId is gone.
func tfOriginRuleRead(t *testing.T, tf tfClient, id string) (state map[string]string, gone bool) {
	t.Helper()
	parts := strings.Split(id, ":")
	got := tf.do(t, "GET", "GetOriginRule", map[string]string{"ConfigId": parts[1], "SiteId": parts[0]})
	if got.status == 404 {
		return nil, true // NotFoundError: the refresh drops the resource
	}
	if got.status != 200 {
		t.Fatalf("read GetOriginRule: %d %v (the refresh fails on any error but a not-found)", got.status, got.body)
	}
	if got.body["ConfigId"] == nil {
		return nil, true
	}
	state = map[string]string{"site_id": parts[0]}
	for attr, field := range tfOriginRuleAttrs {
		state[attr] = str(got.body[field])
	}
	return state, false
}

// TestTerraformOriginRuleLifecycle replays alicloud_esa_origin_rule: create
// (CreateOriginRule, every attribute main.tf sets in the body), the Read,
// two applies that change, add and remove attributes (UpdateOriginRule with
// ConfigId, SiteId and each attribute that changed, one left out going as
// ""), plan after each, destroy (DeleteOriginRule) and the refresh that
// finds the rule gone (HTTP 404), then a second destroy counting as done.
func TestTerraformOriginRuleLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	siteID := tfCreateSiteOnly(t, tf, "tf-origin-rule.com")

	// main.tf as the provider's example has it, less what esacert does not
	// do (dns_record, range = "on"), with site_version = 0 (GetOkExists:
	// sent as 0).
	mainTF := map[string]string{"site_id": siteID, "origin_sni": "origin.example.com", "origin_host": "origin.example.com",
		"site_version": "0", "rule_name": "tf", "origin_https_port": "443", "origin_scheme": "http", "range": "off",
		"origin_http_port": "8080", "rule": `(http.host eq "video.tf-origin-rule.com")`, "rule_enable": "on"}
	body := map[string]string{"SiteId": siteID}
	for attr, v := range mainTF {
		if attr != "site_id" {
			body[tfParam(attr)] = v
		}
	}
	created := tf.do(t, "POST", "CreateOriginRule", body)
	if created.status != 200 {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	configID, ok := created.body["ConfigId"].(json.Number)
	if !ok {
		t.Fatalf("create: ConfigId is %#v, want a number", created.body["ConfigId"])
	}
	id := siteID + ":" + configID.String() // d.SetId(fmt.Sprintf("%v:%v", SiteId, ConfigId))

	plan := func(what string, mainTF map[string]string) map[string]string {
		t.Helper()
		state, gone := tfOriginRuleRead(t, tf, id)
		if gone {
			t.Fatalf("%s: the Read finds the rule gone", what)
		}
		if state["config_id"] != configID.String() {
			t.Errorf("%s: config_id %q, want %s", what, state["config_id"], configID)
		}
		if diff := tfPlanDiff(mainTF, state, tfOriginRuleOptional); len(diff) > 0 {
			t.Errorf("terraform plan after %s shows changes:\n%s", what, strings.Join(diff, "\n"))
		}
		return state
	}
	plan("create", mainTF)

	// Apply: rule_enable off, origin_scheme https with verification and a
	// read timeout added, origin_http_port removed. UpdateOriginRule sends
	// ConfigId and SiteId and each attribute that changed, d.Get of a
	// removed one being "".
	update := func(changes map[string]string) {
		t.Helper()
		p := map[string]string{"ConfigId": configID.String(), "SiteId": siteID}
		for attr, v := range changes {
			p[tfParam(attr)] = v
			if v == "" {
				delete(mainTF, attr)
			} else {
				mainTF[attr] = v
			}
		}
		if got := tf.do(t, "POST", "UpdateOriginRule", p); got.status != 200 {
			t.Fatalf("update %v: %d %v", changes, got.status, got.body)
		}
	}
	update(map[string]string{"rule_enable": "off", "origin_scheme": "https", "origin_verify": "on",
		"origin_read_timeout": "30", "origin_http_port": ""})
	plan("the first update", mainTF)
	// Apply: sequence set, origin_sni and origin_verify removed, the rule
	// changed.
	update(map[string]string{"sequence": "5", "origin_sni": "", "origin_verify": "",
		"rule": `(http.host eq "img.tf-origin-rule.com")`})
	if state := plan("the second update", mainTF); state["sequence"] != "5" {
		t.Errorf("read sequence %q after setting it to 5", state["sequence"])
	}

	// An attribute esacert does not do is refused with a Code naming it.
	refused := tf.do(t, "POST", "UpdateOriginRule", map[string]string{"ConfigId": configID.String(), "SiteId": siteID, "Range": "on"})
	if refused.status != 400 || str(refused.body["Code"]) != "InvalidParameter" || !strings.Contains(str(refused.body["Message"]), "Range") {
		t.Errorf("range = on: %d %v, want 400 InvalidParameter naming Range", refused.status, refused.body)
	}
	plan("a refused update", mainTF)

	// Destroy: RpcPost DeleteOriginRule with ConfigId and SiteId in the body.
	destroy := map[string]string{"ConfigId": configID.String(), "SiteId": siteID}
	if del := tf.do(t, "POST", "DeleteOriginRule", destroy); del.status != 200 {
		t.Fatalf("delete: %d %v", del.status, del.body)
	}
	if _, gone := tfOriginRuleRead(t, tf, id); !gone {
		t.Error("the refresh after destroy still finds the rule")
	}
	for _, action := range []string{"GetOriginRule", "DeleteOriginRule"} {
		method := map[string]string{"GetOriginRule": "GET", "DeleteOriginRule": "POST"}[action]
		if got := tf.do(t, method, action, destroy); got.status != 404 || str(got.body["Code"]) != "Config.NotFound" {
			t.Errorf("%s after destroy: %d %v, want 404 Config.NotFound (the provider's NotFoundError)", action, got.status, got.body)
		}
	}
}

// tfParam is the API parameter of an alicloud_esa_origin_rule attribute.
func tfParam(attr string) string { return tfOriginRuleAttrs[attr] }

// tfOriginCertRead is the Read of alicloud_esa_origin_ca_certificate and
// alicloud_esa_origin_client_certificate: Get… with Id and SiteId (and, for
// the CA, RegionId) in the query; a 404 means gone. It returns the
// attributes the Read sets, hostnames as a JSON list.
func tfOriginCertRead(t *testing.T, tf tfClient, action, id string) (state map[string]string, gone bool) {
	t.Helper()
	parts := strings.Split(id, ":")
	q := map[string]string{"Id": parts[1], "SiteId": parts[0]}
	if action == "GetOriginCaCertificate" {
		q["RegionId"] = "cn-hangzhou" // query["RegionId"] = client.RegionId
	}
	got := tf.do(t, "GET", action, q)
	if got.status == 404 {
		return nil, true
	}
	if got.status != 200 {
		t.Fatalf("read %s: %d %v (the refresh fails on any error but a not-found)", action, got.status, got.body)
	}
	result, ok := got.body["Result"].(map[string]any)
	if !ok {
		t.Fatalf("read %s: Result is %#v, want an object", action, got.body["Result"])
	}
	state = map[string]string{"certificate": str(got.body["Certificate"]), "site_id": str(got.body["SiteId"]),
		"create_time": str(result["CreateTime"])}
	if action == "GetOriginCaCertificate" {
		state["name"], state["status"], state["origin_ca_certificate_id"] = str(result["Name"]), str(result["Status"]), str(result["Id"])
		return state, false
	}
	state["origin_client_certificate_name"], state["origin_client_certificate_id"] = str(result["Name"]), str(result["Id"])
	state["status"] = str(got.body["Status"]) // top level, unlike the CA's
	hostnames, ok := result["Hostnames"].([]any)
	if !ok {
		t.Fatalf("read %s: Result.Hostnames is %#v, want a list (d.Set(\"hostnames\", $.Result.Hostnames))", action, result["Hostnames"])
	}
	raw, _ := json.Marshal(hostnames)
	state["hostnames"] = string(raw)
	return state, false
}

// tfOriginCertDestroy replays a destroy (RpcGet Delete… with SiteId and Id
// in the query), the refresh that finds the resource gone, and a second
// destroy that counts as done (404).
func tfOriginCertDestroy(t *testing.T, tf tfClient, kind, id string) {
	t.Helper()
	parts := strings.Split(id, ":")
	q := map[string]string{"SiteId": parts[0], "Id": parts[1]}
	if del := tf.do(t, "GET", "Delete"+kind, q); del.status != 200 || str(del.body["Id"]) != parts[1] {
		t.Fatalf("destroy: %d %v", del.status, del.body)
	}
	if _, gone := tfOriginCertRead(t, tf, "Get"+kind, id); !gone {
		t.Errorf("the refresh after destroy still finds the %s", kind)
	}
	for _, action := range []string{"Get" + kind, "Delete" + kind} {
		if got := tf.do(t, "GET", action, q); got.status != 404 || str(got.body["Code"]) != "Certificate.NotFound" {
			t.Errorf("%s after destroy: %d %v, want 404 Certificate.NotFound (the provider's NotFoundError)", action, got.status, got.body)
		}
	}
}

// TestTerraformOriginCaCertificateLifecycle replays
// alicloud_esa_origin_ca_certificate: create (UploadOriginCaCertificate with
// SiteId, Certificate and Name in the body), the Read, whose certificate
// must be the PEM of main.tf byte for byte (every attribute is ForceNew: a
// difference would replace the resource at each apply), destroy and the
// refresh that finds it gone.
func TestTerraformOriginCaCertificateLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	siteID := tfCreateSiteOnly(t, tf, "tf-origin-ca.com")
	now := time.Now()
	ca := pkitest.NewCA(t, "TF Origin Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	// As in the provider's example: the PEM without its final newline.
	certificate := strings.TrimSuffix(ca.CertPEM, "\n")
	mainTF := map[string]string{"site_id": siteID, "certificate": certificate, "name": "tf-origin-root"}

	created := tf.do(t, "POST", "UploadOriginCaCertificate", map[string]string{"SiteId": siteID, "Certificate": certificate, "Name": "tf-origin-root"})
	if created.status != 200 || str(created.body["Id"]) == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	id := siteID + ":" + str(created.body["Id"])
	state, gone := tfOriginCertRead(t, tf, "GetOriginCaCertificate", id)
	if gone {
		t.Fatal("the Read after create finds nothing")
	}
	if diff := tfPlanDiff(mainTF, state, map[string]string{"name": ""}); len(diff) > 0 {
		t.Errorf("terraform plan after create shows changes (each one a replacement):\n%s", strings.Join(diff, "\n"))
	}
	for attr, want := range map[string]string{"status": "OK", "origin_ca_certificate_id": str(created.body["Id"])} {
		if state[attr] != want {
			t.Errorf("read %s = %q, want %q", attr, state[attr], want)
		}
	}
	if _, err := time.Parse(time.DateTime, state["create_time"]); err != nil {
		t.Errorf("read create_time %q: %v", state["create_time"], err)
	}

	// A second resource with the same name is refused with a Code.
	dup := tf.do(t, "POST", "UploadOriginCaCertificate", map[string]string{"SiteId": siteID, "Certificate": certificate, "Name": "tf-origin-root"})
	if dup.status != 400 || str(dup.body["Code"]) != "Certificate.Duplicated" {
		t.Errorf("the same name again: %d %v, want 400 Certificate.Duplicated", dup.status, dup.body)
	}
	tfOriginCertDestroy(t, tf, "OriginCaCertificate", id)

	// main.tf without a name (the attribute is optional, not computed): no
	// Name in the body, and the Read must answer none, or every plan would
	// replace the certificate. Twice: certificates without a name do not
	// collide.
	nameless := map[string]string{"site_id": siteID, "certificate": certificate}
	for range 2 {
		created = tf.do(t, "POST", "UploadOriginCaCertificate", map[string]string{"SiteId": siteID, "Certificate": certificate})
		if created.status != 200 || str(created.body["Id"]) == "" {
			t.Fatalf("create without a name: %d %v", created.status, created.body)
		}
		id = siteID + ":" + str(created.body["Id"])
		state, _ = tfOriginCertRead(t, tf, "GetOriginCaCertificate", id)
		if diff := tfPlanDiff(nameless, state, map[string]string{"name": ""}); len(diff) > 0 {
			t.Errorf("terraform plan after a create without a name shows changes (each one a replacement):\n%s", strings.Join(diff, "\n"))
		}
	}
	tfOriginCertDestroy(t, tf, "OriginCaCertificate", id)
}

// TestTerraformOriginClientCertificateLifecycle replays
// alicloud_esa_origin_client_certificate through the steps of the
// provider's acceptance test: create (UploadOriginClientCertificate, every
// parameter in the body, then the Update the create ends with:
// SetOriginClientCertificateHostnames with the hostnames as a JSON list),
// the Read (hostnames from Result.Hostnames, in order), hostnames changed
// to fewer, then to [], then left out of main.tf, plan after each, destroy
// and the refresh that finds it gone.
func TestTerraformOriginClientCertificateLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	const site = "tf-origin-client.com"
	siteID := tfCreateSiteOnly(t, tf, site)
	now := time.Now()
	ca := pkitest.NewCA(t, "TF Origin Client CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"edge.tf-origin-client.net"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(90 * 24 * time.Hour)})
	names := []string{"www1." + site, "www2." + site, "www3." + site}
	mainTF := map[string]string{"site_id": siteID, "certificate": leaf.CertPEM, "origin_client_certificate_name": "tf-client"}

	created := tf.do(t, "POST", "UploadOriginClientCertificate", map[string]string{"SiteId": siteID, "Name": "tf-client",
		"Certificate": leaf.CertPEM, "PrivateKey": leaf.KeyPEM})
	if created.status != 200 || str(created.body["Id"]) == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	if strings.Contains(fmt.Sprint(created.body), "PRIVATE KEY") {
		t.Error("the create answer holds the private key")
	}
	certID := str(created.body["Id"])
	id := siteID + ":" + certID

	// setHostnames is the Update: SiteId, Id and Hostnames (json.Marshal of
	// the list, "[]" when main.tf holds an empty one) in the body.
	setHostnames := func(list []string) {
		t.Helper()
		raw, _ := json.Marshal(list)
		if list == nil {
			raw = []byte("[]")
		}
		got := tf.do(t, "POST", "SetOriginClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": certID, "Hostnames": string(raw)})
		if got.status != 200 || str(got.body["Id"]) != certID {
			t.Fatalf("update hostnames %s: %d %v", raw, got.status, got.body)
		}
		if back, _ := json.Marshal(got.body["Hostnames"]); string(back) != string(raw) {
			t.Errorf("SetOriginClientCertificateHostnames answered Hostnames %s, want %s", back, raw)
		}
	}
	optional := map[string]string{"origin_client_certificate_name": "", "hostnames": "[]"}
	plan := func(what string, hostnames []string) {
		t.Helper()
		state, gone := tfOriginCertRead(t, tf, "GetOriginClientCertificate", id)
		if gone {
			t.Fatalf("%s: the Read finds nothing", what)
		}
		want := maps.Clone(mainTF)
		if hostnames != nil {
			raw, _ := json.Marshal(hostnames)
			want["hostnames"] = string(raw)
		}
		if diff := tfPlanDiff(want, state, optional); len(diff) > 0 {
			t.Errorf("terraform plan after %s shows changes:\n%s", what, strings.Join(diff, "\n"))
		}
		if state["status"] != "OK" || state["origin_client_certificate_id"] != certID || state["create_time"] == "" {
			t.Errorf("%s: read status %q, origin_client_certificate_id %q, create_time %q", what, state["status"],
				state["origin_client_certificate_id"], state["create_time"])
		}
	}
	setHostnames(names)
	plan("create", names)
	setHostnames(names[:2])
	plan("removing a hostname", names[:2])
	setHostnames([]string{})
	plan("hostnames = []", []string{})
	plan("hostnames left out", nil) // no change from [], so no call

	// A hostname that is not the site's is refused with a Code naming the
	// parameter, and changes nothing.
	bad := tf.do(t, "POST", "SetOriginClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": certID,
		"Hostnames": `["www.example1.com"]`})
	if bad.status != 400 || str(bad.body["Code"]) != "InvalidParameter" || !strings.Contains(str(bad.body["Message"]), "Hostnames") {
		t.Errorf("a hostname of another domain: %d %v, want 400 InvalidParameter naming Hostnames", bad.status, bad.body)
	}
	plan("a refused update", nil)
	tfOriginCertDestroy(t, tf, "OriginClientCertificate", id)
}
