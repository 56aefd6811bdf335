package clienttest

import (
	"errors"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/storetest"
)

// pipelinePolicy allows SetCertificate and GetCertificate on one site
// from one CIDR: the README's pipeline.
func pipelinePolicy(siteID, cidr string) string {
	return `{"Version":"1","Statement":[{"Effect":"Allow","Action":["esa:SetCertificate","esa:GetCertificate"],` +
		`"Resource":"acs:esa:*:*:site/` + siteID + `","Condition":{"IpAddress":{"acs:SourceIp":"` + cidr + `"}}}]}`
}

// eventually waits up to d for cond, polling; it reports how long it took.
func eventually(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// deniedDetailGo calls action with the generic Go client and returns the
// AccessDeniedDetail its error carries.
func deniedDetailGo(t *testing.T, addr string, key accesskey.Key, action string, p map[string]string) map[string]any {
	t.Helper()
	c, err := openapi.NewClient(&openapiutil.Config{AccessKeyId: tea.String(key.ID), AccessKeySecret: tea.String(key.Secret),
		Endpoint: tea.String(addr), Protocol: tea.String("http")})
	if err != nil {
		t.Fatal(err)
	}
	query := map[string]*string{}
	for k, v := range p {
		query[k] = tea.String(v)
	}
	_, err = c.CallApi(&openapiutil.Params{Action: tea.String(action), Version: tea.String(actionVersion(action)),
		Protocol: tea.String("HTTP"), Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"),
		Style: tea.String("RPC"), ReqBodyType: tea.String("formData"), BodyType: tea.String("json")},
		&openapiutil.OpenApiRequest{Query: query}, &dara.RuntimeOptions{})
	var se *tea.SDKError
	if !errors.As(err, &se) {
		t.Fatalf("%s: %T %v, want a *tea.SDKError", action, err, err)
	}
	return se.AccessDeniedDetail
}

// TestRAMUserCallsESA signs ESA calls with a RAM user's key through the
// official ESA SDKs (Node.js, both signatures) and the Go clients: allowed
// on its site from its CIDR, implicitly denied elsewhere, explicitly
// denied by a Deny, denied once the CIDR changes, refused once the key is
// disabled, and unknown once the user is gone. The SDKs parse the denial's
// AccessDeniedDetail.
func TestRAMUserCallsESA(t *testing.T) {
	d := startDriver(t)
	addr, root := startNode(t)
	admin := teaKind(false).make(t, addr, root, false)
	siteA := str(mustOK(t, admin, "CreateSite", map[string]string{"SiteName": "pipeline-a.com"})["SiteId"])
	siteB := str(mustOK(t, admin, "CreateSite", map[string]string{"SiteName": "pipeline-b.com"})["SiteId"])
	mustOK(t, admin, "CreateUser", map[string]string{"UserName": "ci"})
	mustOK(t, admin, "CreatePolicy", map[string]string{"PolicyName": "ci-certs", "PolicyDocument": pipelinePolicy(siteA, "127.0.0.0/8")})
	mustOK(t, admin, "AttachPolicyToUser", map[string]string{"PolicyType": "Custom", "PolicyName": "ci-certs", "UserName": "ci"})
	k := mustOK(t, admin, "CreateAccessKey", map[string]string{"UserName": "ci"})
	ci := accesskey.Key{ID: str(dig(k, "AccessKey.AccessKeyId")), Secret: str(dig(k, "AccessKey.AccessKeySecret"))}

	now := time.Now()
	ca := pkitest.NewCA(t, "Pipeline Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := map[string]*pkitest.Leaf{}
	for _, name := range []string{"pipeline-a.com", "pipeline-b.com"} {
		leaf[name] = ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www." + name}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	}
	set := func(siteID, name, certName string) map[string]string {
		return map[string]string{"SiteId": siteID, "Type": "upload", "Name": certName, "Certificate": leaf[name].ChainPEM, "PrivateKey": leaf[name].KeyPEM}
	}
	var clients []caller
	for _, kind := range append(nodeKinds(d)[:2], teaKind(false), teaKind(true), coreKind) {
		clients = append(clients, kind.make(t, addr, ci, false))
	}
	expect := func(what, action string, p func(i int) map[string]string, status int, code string) {
		t.Helper()
		for i, c := range clients {
			body, err := c.call(t, action, p(i))
			switch {
			case status == 200 && err != nil:
				t.Errorf("%s, client %d: %v, want success", what, i, err)
			case status != 200 && (err == nil || err.Status != status || err.Code != code):
				t.Errorf("%s, client %d: %v %v, want %d %s", what, i, err, body, status, code)
			case status == 403 && (!strings.Contains(err.Message, "esa:"+action) || !strings.Contains(err.Message, "site/")):
				t.Errorf("%s, client %d: the message %q does not name the action and the resource", what, i, err.Message)
			}
		}
	}
	certName := func(prefix string) func(int) string { return func(i int) string { return prefix + "-" + itoa(i) } }
	expect("allowed on its site from its CIDR", "SetCertificate", func(i int) map[string]string {
		return set(siteA, "pipeline-a.com", certName("ok")(i))
	}, 200, "")
	expect("another site", "SetCertificate", func(i int) map[string]string {
		return set(siteB, "pipeline-b.com", certName("b")(i))
	}, 403, "Forbidden.RAM")
	expect("an action the policy does not name", "DeleteCertificate", func(int) map[string]string {
		return map[string]string{"SiteId": siteA, "Id": "1"}
	}, 403, "Forbidden.RAM")

	// The SDKs parse the denial's detail.
	var nodeDetail map[string]any
	nc := &nodeCaller{d: d, client: "esa", addr: addr, key: ci, denied: &nodeDetail}
	if _, err := nc.call(t, "GetCertificate", map[string]string{"SiteId": siteB, "Id": "1"}); err == nil {
		t.Fatal("GetCertificate on another site succeeded")
	}
	goDetail := deniedDetailGo(t, addr, ci, "GetCertificate", map[string]string{"SiteId": siteB, "Id": "1"})
	for name, detail := range map[string]map[string]any{"node": nodeDetail, "go": goDetail} {
		for k, want := range map[string]string{"AuthAction": "esa:GetCertificate", "AuthPrincipalType": "SubUser",
			"NoPermissionType": "ImplicitDeny", "PolicyType": "AccountLevelIdentityBasedPolicy"} {
			if str(detail[k]) != want {
				t.Errorf("%s SDK: AccessDeniedDetail.%s = %v, want %s (%v)", name, k, detail[k], want, detail)
			}
		}
		if str(detail["AuthPrincipalOwnerId"]) == "" || str(detail["AuthPrincipalDisplayName"]) == "" || str(detail["EncodedDiagnosticMessage"]) == "" {
			t.Errorf("%s SDK: AccessDeniedDetail lacks the principal or the diagnostic: %v", name, detail)
		}
	}
	// The administrator decodes the diagnostic with the official RAM SDK.
	decoded := mustOK(t, &nodeCaller{d: d, client: "ram", addr: addr, key: root}, "DecodeDiagnosticMessage",
		map[string]string{"EncodedDiagnosticMessage": str(nodeDetail["EncodedDiagnosticMessage"])})
	if res := str(dig(decoded, "DecodedDiagnosticMessage.AuthResource")); !strings.HasSuffix(res, ":site/"+siteB) {
		t.Errorf("DecodeDiagnosticMessage answered %v", decoded)
	}

	// A group with ESA's full access opens the other site; a Deny in the
	// user's own policy still wins.
	mustOK(t, admin, "CreateGroup", map[string]string{"GroupName": "edge-ops"})
	mustOK(t, admin, "AddUserToGroup", map[string]string{"GroupName": "edge-ops", "UserName": "ci"})
	mustOK(t, admin, "AttachPolicyToGroup", map[string]string{"PolicyType": "System", "PolicyName": "AliyunESAFullAccess", "GroupName": "edge-ops"})
	mustOK(t, admin, "CreatePolicyVersion", map[string]string{"PolicyName": "ci-certs", "SetAsDefault": "true",
		"PolicyDocument": `{"Version":"1","Statement":[{"Effect":"Deny","Action":"esa:Delete*","Resource":"*"}]}`})
	expect("through the group", "SetCertificate", func(i int) map[string]string {
		return set(siteB, "pipeline-b.com", certName("b")(i))
	}, 200, "")
	expect("explicitly denied", "DeleteSite", func(int) map[string]string { return map[string]string{"SiteId": siteB} }, 403, "Forbidden.RAM")
	if detail := deniedDetailGo(t, addr, ci, "DeleteSite", map[string]string{"SiteId": siteB}); str(detail["NoPermissionType"]) != "ExplicitDeny" {
		t.Errorf("NoPermissionType = %v, want ExplicitDeny", detail["NoPermissionType"])
	}
	mustOK(t, admin, "RemoveUserFromGroup", map[string]string{"GroupName": "edge-ops", "UserName": "ci"})

	// Another CIDR: the same site is refused (loopback is not in it).
	mustOK(t, admin, "CreatePolicyVersion", map[string]string{"PolicyName": "ci-certs", "SetAsDefault": "true",
		"PolicyDocument": pipelinePolicy(siteA, "10.0.0.0/8")})
	expect("from outside its CIDR", "SetCertificate", func(i int) map[string]string {
		return set(siteA, "pipeline-a.com", certName("ip")(i))
	}, 403, "Forbidden.RAM")
	mustOK(t, admin, "SetDefaultPolicyVersion", map[string]string{"PolicyName": "ci-certs", "VersionId": "v1"})
	// Authorized again: the certificate lookup itself answers.
	expect("back in its CIDR", "GetCertificate", func(int) map[string]string { return map[string]string{"SiteId": siteA, "Id": "1"} },
		404, "Certificate.NotFound")

	// Revoked: disabled, then deleted with its user.
	mustOK(t, admin, "UpdateAccessKey", map[string]string{"UserName": "ci", "UserAccessKeyId": ci.ID, "Status": "Inactive"})
	expect("a disabled key", "GetCertificate", func(int) map[string]string { return map[string]string{"SiteId": siteA, "Id": "1"} },
		400, "InvalidAccessKeyId.Inactive")
	mustOK(t, admin, "DeleteAccessKey", map[string]string{"UserName": "ci", "UserAccessKeyId": ci.ID})
	mustOK(t, admin, "DetachPolicyFromUser", map[string]string{"PolicyType": "Custom", "PolicyName": "ci-certs", "UserName": "ci"})
	mustOK(t, admin, "DeleteUser", map[string]string{"UserName": "ci"})
	expect("a deleted user's key", "GetCertificate", func(int) map[string]string { return map[string]string{"SiteId": siteA, "Id": "1"} },
		404, "InvalidAccessKeyId.NotFound")
}

// TestRAMRevocationAcrossNodesOnPostgres: two API nodes on one PostgreSQL
// database. A key disabled, a policy detached or a key deleted through
// node B is in force on node A, which had the identity cached, within 1 s.
func TestRAMRevocationAcrossNodesOnPostgres(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	root := accesskey.Key{ID: "LTAIfleetkey000000000012", Secret: "fleet-secret-0123456789abcdeq"}
	a := startNodeOn(t, dsn, root)
	b := startNodeOn(t, dsn, root)
	admin := teaKind(false).make(t, b.addr, root, false)
	mustOK(t, admin, "CreateUser", map[string]string{"UserName": "fleet-ci"})
	mustOK(t, admin, "AttachPolicyToUser", map[string]string{"PolicyType": "System", "PolicyName": "AliyunESAReadOnlyAccess", "UserName": "fleet-ci"})
	k := mustOK(t, admin, "CreateAccessKey", map[string]string{"UserName": "fleet-ci"})
	ci := accesskey.Key{ID: str(dig(k, "AccessKey.AccessKeyId")), Secret: str(dig(k, "AccessKey.AccessKeySecret"))}
	onA := teaKind(false).make(t, a.addr, ci, false)
	status := func() (int, string) {
		_, err := onA.call(t, "ListSites", nil)
		if err == nil {
			return 200, ""
		}
		return err.Status, err.Code
	}
	mustOK(t, onA, "ListSites", nil) // node A caches the identity
	for _, step := range []struct {
		name       string
		action     string
		params     map[string]string
		wantStatus int
		wantCode   string
	}{
		{"disable the key", "UpdateAccessKey", map[string]string{"UserName": "fleet-ci", "UserAccessKeyId": ci.ID, "Status": "Inactive"}, 400, "InvalidAccessKeyId.Inactive"},
		{"enable it again", "UpdateAccessKey", map[string]string{"UserName": "fleet-ci", "UserAccessKeyId": ci.ID, "Status": "Active"}, 200, ""},
		{"detach the policy", "DetachPolicyFromUser", map[string]string{"PolicyType": "System", "PolicyName": "AliyunESAReadOnlyAccess", "UserName": "fleet-ci"}, 403, "Forbidden.RAM"},
		{"attach it again", "AttachPolicyToUser", map[string]string{"PolicyType": "System", "PolicyName": "AliyunESAReadOnlyAccess", "UserName": "fleet-ci"}, 200, ""},
		{"delete the key", "DeleteAccessKey", map[string]string{"UserName": "fleet-ci", "UserAccessKeyId": ci.ID}, 404, "InvalidAccessKeyId.NotFound"},
	} {
		mustOK(t, admin, step.action, step.params)
		took, ok := eventually(time.Second, func() bool {
			s, c := status()
			return s == step.wantStatus && c == step.wantCode
		})
		if !ok {
			s, c := status()
			t.Fatalf("%s on node B: node A still answers %d %s after %v, want %d %s", step.name, s, c, took, step.wantStatus, step.wantCode)
		}
		t.Logf("%s on node B: in force on node A after %v", step.name, took.Round(time.Millisecond))
	}
}

// TestPipelineRecipe follows the README's recipe with official clients
// only: the root key's holder makes a user whose key may call
// esa:SetCertificate on one site from one CIDR (the generic Go client,
// RAM 2015-05-01), the pipeline uses it through the official Node.js ESA
// SDK, the key is revoked, and ActionTrail's LookupEvents (by User) finds
// every call it made: allowed, denied and refused.
func TestPipelineRecipe(t *testing.T) {
	d := startDriver(t)
	addr, root := startNode(t)
	admin := teaKind(false).make(t, addr, root, false)
	site := str(mustOK(t, admin, "CreateSite", map[string]string{"SiteName": "recipe.com"})["SiteId"])
	other := str(mustOK(t, admin, "CreateSite", map[string]string{"SiteName": "other-recipe.com"})["SiteId"])

	// The recipe: a user, a policy, the attachment, a key.
	mustOK(t, admin, "CreateUser", map[string]string{"UserName": "ci-pipeline"})
	mustOK(t, admin, "CreatePolicy", map[string]string{"PolicyName": "ci-set-certificate", "PolicyDocument": `{"Version":"1","Statement":[{` +
		`"Effect":"Allow","Action":"esa:SetCertificate","Resource":"acs:esa:*:*:site/` + site + `",` +
		`"Condition":{"IpAddress":{"acs:SourceIp":"127.0.0.0/8"}}}]}`})
	mustOK(t, admin, "AttachPolicyToUser", map[string]string{"PolicyType": "Custom", "PolicyName": "ci-set-certificate", "UserName": "ci-pipeline"})
	k := mustOK(t, admin, "CreateAccessKey", map[string]string{"UserName": "ci-pipeline"})
	key := accesskey.Key{ID: str(dig(k, "AccessKey.AccessKeyId")), Secret: str(dig(k, "AccessKey.AccessKeySecret"))}

	// The pipeline, with the official ESA SDK.
	pipeline := &nodeCaller{d: d, client: "esa", addr: addr, key: key}
	now := time.Now()
	ca := pkitest.NewCA(t, "Recipe Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.recipe.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	mustOK(t, pipeline, "SetCertificate", map[string]string{"SiteId": site, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	mustFail(t, pipeline, "SetCertificate", map[string]string{"SiteId": other, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM},
		403, "Forbidden.RAM")
	mustFail(t, pipeline, "ListSites", nil, 403, "Forbidden.RAM")

	// Revoke it.
	mustOK(t, admin, "UpdateAccessKey", map[string]string{"UserName": "ci-pipeline", "UserAccessKeyId": key.ID, "Status": "Inactive"})
	mustFail(t, pipeline, "SetCertificate", map[string]string{"SiteId": site, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM},
		400, "InvalidAccessKeyId.Inactive")

	// Find every call it made.
	events := mustOK(t, admin, "LookupEvents", map[string]string{"LookupAttribute.1.Key": "EventAccessKeyId", "LookupAttribute.1.Value": key.ID,
		"Direction": "FORWARD"})
	var got []string
	list, _ := events["Events"].([]any)
	for _, e := range list {
		got = append(got, str(dig(e, "eventName"))+"/"+str(dig(e, "errorCode")))
		if dig(e, "eventName") != "SetCertificate" || dig(e, "errorCode") == "InvalidAccessKeyId.Inactive" {
			continue
		}
		if u := str(dig(e, "userIdentity.userName")); u != "ci-pipeline" {
			t.Errorf("event names user %q, want ci-pipeline: %v", u, e)
		}
	}
	want := []string{"SetCertificate/", "SetCertificate/Forbidden.RAM", "ListSites/Forbidden.RAM", "SetCertificate/InvalidAccessKeyId.Inactive"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("LookupEvents by the key = %v, want %v", got, want)
	}
	byUser := mustOK(t, admin, "LookupEvents", map[string]string{"LookupAttribute.1.Key": "User", "LookupAttribute.1.Value": "ci-pipeline"})
	if n := len(byUser["Events"].([]any)); n != 3 {
		t.Errorf("LookupEvents by User found %d events, want the 3 it was authenticated for", n)
	}
}
