package clienttest

import (
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/tea"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"

	"github.com/esacert/esacert/internal/accesskey"
)

func init() {
	for _, a := range []string{"AssumeRole", "GetCallerIdentity"} {
		stsActions[a] = true
		sdkMethods[a] = "POST"
	}
}

// stsActions are the STS (2015-04-01) actions esacert answers.
var stsActions = map[string]bool{}

// stsCredentials are what AssumeRole answered.
type stsCredentials struct {
	key   accesskey.Key
	token string
}

// stsCallers are the clients that sign with STS credentials: the official
// Node.js SDKs (ESA, STS; both signatures), the generic Go client (both
// signatures, the token as x-acs-security-token or SecurityToken) and
// alibaba-cloud-sdk-go (SecurityToken).
func stsCallers(t *testing.T, d *nodeDriver, addr string, c stsCredentials, product string) map[string]caller {
	t.Helper()
	out := map[string]caller{}
	for _, client := range []string{product, product + "-v2"} {
		out["node_"+client] = &nodeCaller{d: d, client: client, addr: addr, key: c.key, token: c.token}
	}
	for _, v2 := range []bool{false, true} {
		cfg := &openapiutil.Config{AccessKeyId: tea.String(c.key.ID), AccessKeySecret: tea.String(c.key.Secret),
			SecurityToken: tea.String(c.token), Endpoint: tea.String(addr), Protocol: tea.String("http"), RegionId: tea.String("cn-hangzhou")}
		name := "darabonba_acs3"
		if v2 {
			cfg.SignatureAlgorithm, name = tea.String("v2"), "darabonba_v2"
		}
		cl, err := openapi.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = &teaCaller{cl}
	}
	old, err := sdk.NewClientWithStsToken("cn-hangzhou", c.key.ID, c.key.Secret, c.token)
	if err != nil {
		t.Fatal(err)
	}
	out["alibaba_cloud_sdk_go"] = &coreCaller{client: old, addr: addr}
	return out
}

// TestSTSWithOfficialClients: a RAM user assumes a role with the official
// Node.js STS SDK (both signatures) and the generic Go client; the
// credentials sign GetCallerIdentity and ESA calls through the official
// ESA SDK and the Go clients, with the role's permissions narrowed by the
// session policy; a changed token, another key's token and a deleted role
// are refused with STS's codes.
func TestSTSWithOfficialClients(t *testing.T) {
	d := startDriver(t)
	addr, root := startNode(t)
	admin := teaKind(false).make(t, addr, root, false)
	siteID := str(mustOK(t, admin, "CreateSite", map[string]string{"SiteName": "sts-example.com"})["SiteId"])
	account := str(mustOK(t, admin, "GetCallerIdentity", nil)["AccountId"])
	if len(account) != 16 {
		t.Fatalf("account id %q", account)
	}
	mustOK(t, admin, "CreateUser", map[string]string{"UserName": "deployer-ci"})
	mustOK(t, admin, "AttachPolicyToUser", map[string]string{"PolicyType": "System", "PolicyName": "AliyunSTSAssumeRoleAccess", "UserName": "deployer-ci"})
	k := mustOK(t, admin, "CreateAccessKey", map[string]string{"UserName": "deployer-ci"})
	user := accesskey.Key{ID: str(dig(k, "AccessKey.AccessKeyId")), Secret: str(dig(k, "AccessKey.AccessKeySecret"))}
	mustOK(t, admin, "CreateRole", map[string]string{"RoleName": "esa-reader", "MaxSessionDuration": "7200",
		"AssumeRolePolicyDocument": `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::` + account + `:user/deployer-ci"]}}],"Version":"1"}`})
	mustOK(t, admin, "AttachPolicyToRole", map[string]string{"PolicyType": "System", "PolicyName": "AliyunESAReadOnlyAccess", "RoleName": "esa-reader"})
	roleArn := "acs:ram::" + account + ":role/esa-reader"
	sessionPolicy := `{"Version":"1","Statement":[{"Effect":"Allow","Action":["esa:ListSites","esa:GetCertificate"],"Resource":"*"}]}`

	// AssumeRole with each STS client.
	var creds []stsCredentials
	assumers := map[string]caller{
		"node_sts":       &nodeCaller{d: d, client: "sts", addr: addr, key: user},
		"node_sts_v2":    &nodeCaller{d: d, client: "sts-v2", addr: addr, key: user},
		"darabonba_acs3": teaKind(false).make(t, addr, user, false),
	}
	for name, c := range assumers {
		a := mustOK(t, c, "AssumeRole", map[string]string{"RoleArn": roleArn, "RoleSessionName": strings.ReplaceAll(name, "_", "-"),
			"DurationSeconds": "1800", "Policy": sessionPolicy})
		exp, err := time.Parse("2006-01-02T15:04:05Z", str(dig(a, "Credentials.Expiration"))) // credentials-go's layout
		if err != nil || exp.Sub(time.Now()) < 25*time.Minute || exp.Sub(time.Now()) > 31*time.Minute {
			t.Errorf("%s: Expiration %q (%v)", name, str(dig(a, "Credentials.Expiration")), err)
		}
		if !strings.HasPrefix(str(dig(a, "Credentials.AccessKeyId")), "STS.") || str(dig(a, "AssumedRoleUser.Arn")) != roleArn+"/"+strings.ReplaceAll(name, "_", "-") {
			t.Errorf("%s: AssumeRole answered %v", name, a)
		}
		creds = append(creds, stsCredentials{accesskey.Key{ID: str(dig(a, "Credentials.AccessKeyId")), Secret: str(dig(a, "Credentials.AccessKeySecret"))},
			str(dig(a, "Credentials.SecurityToken"))})
	}
	mustFail(t, admin, "AssumeRole", map[string]string{"RoleArn": roleArn, "RoleSessionName": "root"}, 403, "NoPermission")

	// The credentials at work: who they are, what the role and the session policy allow.
	c := creds[0]
	for name, cl := range stsCallers(t, d, addr, c, "sts") {
		id := mustOK(t, cl, "GetCallerIdentity", nil)
		if id["IdentityType"] != "AssumedRoleUser" || !strings.HasPrefix(str(id["Arn"]), "acs:ram::"+account+":assumed-role/esa-reader/") {
			t.Errorf("%s GetCallerIdentity = %v", name, id)
		}
	}
	for name, cl := range stsCallers(t, d, addr, c, "esa") {
		if body, err := cl.call(t, "ListSites", nil); err != nil || !strings.Contains(jsonText(t, body), siteID) {
			t.Errorf("%s ListSites with STS credentials: %v %v", name, err, body)
		}
		// GetCertificate: allowed by both; the certificate does not exist.
		mustFail(t, cl, "GetCertificate", map[string]string{"SiteId": siteID, "Id": "1"}, 404, "Certificate.NotFound")
		// GetSite: the role may, the session policy may not.
		mustFail(t, cl, "GetSite", map[string]string{"SiteId": siteID}, 403, "Forbidden.RAM")
		// DeleteSite: neither may.
		mustFail(t, cl, "DeleteSite", map[string]string{"SiteId": siteID}, 403, "Forbidden.RAM")
	}
	var detail map[string]any
	(&nodeCaller{d: d, client: "esa", addr: addr, key: c.key, token: c.token, denied: &detail}).call(t, "GetSite", map[string]string{"SiteId": siteID})
	if detail["PolicyType"] != "SessionPolicy" || detail["AuthPrincipalType"] != "AssumedRoleUser" || !strings.HasPrefix(str(detail["AuthPrincipalDisplayName"]), "esa-reader:") {
		t.Errorf("the Node.js ESA SDK parsed AccessDeniedDetail %v", detail)
	}

	// The audit trail names the session as its principal.
	events := mustOK(t, admin, "LookupEvents", map[string]string{"LookupAttribute.1.Key": "EventAccessKeyId", "LookupAttribute.1.Value": c.key.ID,
		"LookupAttribute.2.Key": "EventName", "LookupAttribute.2.Value": "DeleteSite"})
	list, _ := events["Events"].([]any)
	if len(list) == 0 {
		t.Fatalf("no DeleteSite event of the session: %v", events)
	}
	for _, e := range list {
		if dig(e, "userIdentity.type") != "assumed-role" || !strings.HasPrefix(str(dig(e, "userIdentity.userName")), "esa-reader:") ||
			dig(e, "errorCode") != "Forbidden.RAM" {
			t.Errorf("event %v, want the assumed role as principal and Forbidden.RAM", e)
		}
	}

	// Refused credentials.
	other := creds[1]
	for name, bad := range map[string]struct {
		c    stsCredentials
		code string
	}{
		"tampered":      {stsCredentials{c.key, c.token[:len(c.token)-3] + "AAA"}, "InvalidSecurityToken.Malformed"},
		"another's":     {stsCredentials{c.key, other.token}, "InvalidSecurityToken.MismatchWithAccessKey"},
		"without token": {stsCredentials{c.key, ""}, "MissingSecurityToken"},
	} {
		t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
			cl := &nodeCaller{d: d, client: "esa", addr: addr, key: bad.c.key, token: bad.c.token}
			mustFail(t, cl, "ListSites", nil, 400, bad.code)
		})
	}
	// A deleted role ends its sessions.
	mustOK(t, admin, "DetachPolicyFromRole", map[string]string{"PolicyType": "System", "PolicyName": "AliyunESAReadOnlyAccess", "RoleName": "esa-reader"})
	mustOK(t, admin, "DeleteRole", map[string]string{"RoleName": "esa-reader"})
	for _, cr := range creds {
		mustFail(t, &nodeCaller{d: d, client: "esa", addr: addr, key: cr.key, token: cr.token}, "ListSites", nil, 404, "InvalidAccessKeyId.NotFound")
	}
}
