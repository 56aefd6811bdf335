package api

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/session"
)

// stsEnv is an authzEnv whose server issues STS credentials, with a role
// "deployer" that the account's users may assume and that may list and
// read sites.
type stsEnv struct {
	*authzEnv
	clk *clock
}

func newSTSEnv(t *testing.T) *stsEnv {
	t.Helper()
	e := newAuthzEnv(t)
	clk := &clock{t: testNow}
	e.s.Now = clk.Now
	sessions := &session.Service{Roles: e.s.Roles.Store, Keys: e.s.Policies.Store.(session.KeyStore), Sealer: e.s.AccessKeys.Sealer,
		Account: testAccount, Now: clk.Now}
	e.s.Sessions = sessions
	e.ids.Sessions, e.ids.Now = sessions, clk.Now
	ctx := t.Context()
	if _, err := e.s.Roles.CreateRole(ctx, role.CreateInput{Name: "deployer", MaxSessionDuration: 7200,
		TrustDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::` + testAccount + `:root"}}]}`}); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Policies.Attach(ctx, "System", "AliyunESAReadOnlyAccess", "role", "deployer"); err != nil {
		t.Fatal(err)
	}
	e.grant(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"acs:ram:*:`+testAccount+`:role/deployer"}]}`)
	return &stsEnv{e, clk}
}

func (e *stsEnv) call(t *testing.T, sig *signer, version, action string, p url.Values) answer {
	t.Helper()
	sig.version, sig.now = version, e.clk.t
	defer func() { sig.version = "" }()
	return do(t, sig.rpc(t, e.url, "POST", action, p, nil))
}

// assume has ci assume the role and returns a signer with the credentials.
func (e *stsEnv) assume(t *testing.T, p url.Values) *signer {
	t.Helper()
	if p == nil {
		p = url.Values{}
	}
	p.Set("RoleArn", "acs:ram::"+testAccount+":role/deployer")
	if !p.Has("RoleSessionName") {
		p.Set("RoleSessionName", "ci-run")
	}
	a := e.call(t, e.ci, STSVersion, "AssumeRole", p)
	if a.status != 200 {
		t.Fatalf("AssumeRole: %d %v", a.status, a.body)
	}
	if _, err := time.Parse("2006-01-02T15:04:05Z", str(a.body, "Credentials", "Expiration")); err != nil || str(a.body, "AssumedRoleUser", "Arn") != "acs:ram::"+testAccount+":role/deployer/"+p.Get("RoleSessionName") ||
		!strings.HasSuffix(str(a.body, "AssumedRoleUser", "AssumedRoleId"), ":"+p.Get("RoleSessionName")) {
		t.Fatalf("AssumeRole answered %v", a.body)
	}
	return &signer{key: str(a.body, "Credentials", "AccessKeyId"), secret: str(a.body, "Credentials", "AccessKeySecret"),
		token: str(a.body, "Credentials", "SecurityToken"), now: e.clk.t}
}

// TestSTS: a user assumes a role and signs with the credentials (the token
// in the SecurityToken parameter or the signed x-acs-security-token
// header), getting the role's permissions narrowed by the session policy;
// tokens that expired, were changed or belong to another key are refused;
// a deleted role ends its sessions; the root key may not assume roles.
func TestSTS(t *testing.T) {
	e := newSTSEnv(t)
	sess := e.assume(t, url.Values{"Policy": {`{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:ListSites","Resource":"*"}]}`},
		"DurationSeconds": {"900"}})

	// Who am I, for each kind of key.
	for _, c := range []struct {
		name   string
		sig    *signer
		typ    string
		suffix string
	}{{"root", e.root, "Account", ":root"}, {"user", e.ci, "RAMUser", ":user/ci"}, {"session", sess, "AssumedRoleUser", ":assumed-role/deployer/ci-run"}} {
		a := e.call(t, c.sig, STSVersion, "GetCallerIdentity", nil)
		if a.status != 200 || a.body["IdentityType"] != c.typ || a.body["AccountId"] != testAccount || !strings.HasSuffix(str(a.body, "Arn"), c.suffix) {
			t.Errorf("GetCallerIdentity as %s: %d %v", c.name, a.status, a.body)
		}
	}
	if a := e.call(t, sess, ESAVersion, "ListSites", nil); a.status != 200 {
		t.Errorf("session ListSites: %d %v", a.status, a.body)
	}
	// The role may read a site, the session policy does not allow it.
	a := e.call(t, sess, ESAVersion, "GetSite", url.Values{"SiteId": {e.siteID}})
	detail, _ := a.body["AccessDeniedDetail"].(map[string]any)
	if a.status != 403 || detail["PolicyType"] != "SessionPolicy" || detail["AuthPrincipalType"] != "AssumedRoleUser" ||
		detail["AuthPrincipalDisplayName"] != "deployer:ci-run" {
		t.Errorf("session GetSite: %d %v, want 403 by the session policy", a.status, a.body)
	}
	// The header form of the token (ACS3).
	sess.now = e.clk.t
	if a := do(t, sess.acs3(t, e.url, "GET", "ListSites", nil, nil, nil)); a.status != 200 {
		t.Errorf("ACS3 with x-acs-security-token: %d %v", a.status, a.body)
	}

	// Refused tokens.
	other := e.assume(t, url.Values{"RoleSessionName": {"other-run"}})
	for _, c := range []struct {
		name string
		sig  *signer
		code string
	}{
		{"no token", &signer{key: sess.key, secret: sess.secret}, "MissingSecurityToken"},
		{"tampered", &signer{key: sess.key, secret: sess.secret, token: sess.token[:len(sess.token)-2] + "AA"}, "InvalidSecurityToken.Malformed"},
		{"another key's", &signer{key: sess.key, secret: sess.secret, token: other.token}, "InvalidSecurityToken.MismatchWithAccessKey"},
		{"wrong secret", &signer{key: sess.key, secret: other.secret, token: sess.token}, "SignatureDoesNotMatch"},
	} {
		if a := e.call(t, c.sig, ESAVersion, "ListSites", nil); a.status != 400 || a.body["Code"] != c.code {
			t.Errorf("%s: %d %v, want 400 %s", c.name, a.status, a.body, c.code)
		}
	}
	e.clk.t = e.clk.t.Add(901 * time.Second)
	if a := e.call(t, sess, ESAVersion, "ListSites", nil); a.status != 400 || a.body["Code"] != "InvalidSecurityToken.Expired" {
		t.Errorf("after 901 s: %d %v, want InvalidSecurityToken.Expired", a.status, a.body)
	}
	if a := e.call(t, other, ESAVersion, "ListSites", nil); a.status != 200 {
		t.Errorf("the other, hour-long session: %d %v", a.status, a.body)
	}
	// A deleted role ends its sessions.
	ctx := t.Context()
	if err := e.s.Policies.Detach(ctx, "System", "AliyunESAReadOnlyAccess", "role", "deployer"); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Roles.DeleteRole(ctx, "deployer"); err != nil {
		t.Fatal(err)
	}
	if err := e.ids.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, other, ESAVersion, "ListSites", nil); a.status != 404 || a.body["Code"] != "InvalidAccessKeyId.NotFound" {
		t.Errorf("after the role's delete: %d %v, want 404 InvalidAccessKeyId.NotFound", a.status, a.body)
	}
}

// TestAssumeRoleRefusals: the root key, a user its policies do not allow,
// a caller the trust policy does not name, and bad parameters.
func TestAssumeRoleRefusals(t *testing.T) {
	e := newSTSEnv(t)
	arn := "acs:ram::" + testAccount + ":role/deployer"
	if a := e.call(t, e.root, STSVersion, "AssumeRole", url.Values{"RoleArn": {arn}, "RoleSessionName": {"root"}}); a.status != 403 ||
		a.body["Code"] != "NoPermission" || !strings.Contains(str(a.body, "Message"), "root accounts") {
		t.Errorf("root: %d %v", a.status, a.body)
	}
	for _, c := range []struct {
		name   string
		params url.Values
		status int
		code   string
	}{
		{"arn", url.Values{"RoleArn": {"deployer"}, "RoleSessionName": {"x1"}}, 403, "NoPermission"}, // its resource is not allowed
		{"session_name", url.Values{"RoleArn": {arn}, "RoleSessionName": {"a b"}}, 400, "InvalidParameter.RoleSessionName"},
		{"duration", url.Values{"RoleArn": {arn}, "RoleSessionName": {"x1"}, "DurationSeconds": {"7201"}}, 400, "InvalidParameter.DurationSeconds"},
		{"policy", url.Values{"RoleArn": {arn}, "RoleSessionName": {"x1"}, "Policy": {`{"Version":"1"}`}}, 400, "InvalidParameter.PolicyGrammar"},
		{"missing_role", url.Values{"RoleArn": {"acs:ram::" + testAccount + ":role/nope"}, "RoleSessionName": {"x1"}}, 403, "NoPermission"},
	} {
		if a := e.call(t, e.ci, STSVersion, "AssumeRole", c.params); a.status != c.status || a.body["Code"] != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, a.status, a.body, c.status, c.code)
		}
	}
	// Allowed by its policies, but the trust policy names only alice.
	ctx := t.Context()
	alice := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::` + testAccount + `:user/alice"}}]}`
	if _, err := e.s.Roles.UpdateRole(ctx, "deployer", role.UpdateInput{TrustDocument: &alice}); err != nil {
		t.Fatal(err)
	}
	if a := e.call(t, e.ci, STSVersion, "AssumeRole", url.Values{"RoleArn": {arn}, "RoleSessionName": {"x1"}}); a.status != 403 ||
		a.body["Code"] != "NoPermission" || !strings.Contains(str(a.body, "Message"), "trust policy") {
		t.Errorf("untrusted: %d %v", a.status, a.body)
	}
	e.grant(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}`)
	if a := e.call(t, e.ci, STSVersion, "AssumeRole", url.Values{"RoleArn": {"acs:ram::" + testAccount + ":role/nope"}, "RoleSessionName": {"x1"}}); a.status != 404 ||
		a.body["Code"] != "EntityNotExist.Role" {
		t.Errorf("a missing role: %d %v", a.status, a.body)
	}
	if a := e.call(t, e.ci, STSVersion, "AssumeRole", url.Values{"RoleArn": {"deployer"}, "RoleSessionName": {"x1"}}); a.status != 400 ||
		a.body["Code"] != "InvalidParameter.RoleArn" {
		t.Errorf("a bad ARN: %d %v", a.status, a.body)
	}
}

// TestAssumeRoleExternalID: a trust policy that requires an ExternalId
// (sts:ExternalId) lets a caller in with it only; SourceIdentity is refused.
func TestAssumeRoleExternalID(t *testing.T) {
	e := newSTSEnv(t)
	doc := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::` + testAccount + `:root"},
		"Condition":{"StringEquals":{"sts:ExternalId":"abc-123"}}}]}`
	if _, err := e.s.Roles.UpdateRole(t.Context(), "deployer", role.UpdateInput{TrustDocument: &doc}); err != nil {
		t.Fatal(err)
	}
	arn := "acs:ram::" + testAccount + ":role/deployer"
	for _, c := range []struct {
		name   string
		params url.Values
		status int
		code   string
	}{
		{"without", url.Values{"RoleArn": {arn}, "RoleSessionName": {"x1"}}, 403, "NoPermission"},
		{"wrong", url.Values{"RoleArn": {arn}, "RoleSessionName": {"x1"}, "ExternalId": {"abc-999"}}, 403, "NoPermission"},
		{"right", url.Values{"RoleArn": {arn}, "RoleSessionName": {"x1"}, "ExternalId": {"abc-123"}}, 200, ""},
		{"source_identity", url.Values{"RoleArn": {arn}, "RoleSessionName": {"x1"}, "ExternalId": {"abc-123"}, "SourceIdentity": {"me"}}, 400, "InvalidParameter"},
	} {
		if a := e.call(t, e.ci, STSVersion, "AssumeRole", c.params); a.status != c.status || c.code != "" && a.body["Code"] != c.code {
			t.Errorf("%s: %d %v, want %d %s", c.name, a.status, a.body, c.status, c.code)
		}
	}
}
