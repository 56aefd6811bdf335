package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"net/url"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/user"
	"github.com/google/go-cmp/cmp"
)

// TestPermissionsCoverEveryAction: the permission table names exactly the
// actions the server answers, each with a level and a resource.
func TestPermissionsCoverEveryAction(t *testing.T) {
	for version, actions := range versions {
		for a := range actions {
			p, ok := permissions[version][a]
			if !ok {
				t.Errorf("%s %s has no row in the permission table", version, a)
				continue
			}
			if p.level == "" || p.resource == "" {
				t.Errorf("%s %s: empty level or resource", version, a)
			}
			if p.level != levelNone && ramCodes[version] == "" {
				t.Errorf("version %s has no RAM service code", version)
			}
		}
	}
	for version, actions := range permissions {
		for a := range actions {
			if _, ok := versions[version][a]; !ok {
				t.Errorf("the permission table names %s %s, which no version answers", version, a)
			}
		}
	}
}

// permissionTable renders the permission table as the README shows it.
func permissionTable() string {
	var lines []string
	for version, actions := range permissions {
		for a, p := range actions {
			ram := "`" + ramCodes[version] + ":" + a + "`"
			if p.level == levelNone {
				ram = "(none: every caller may)"
			}
			res := "`" + strings.ReplaceAll(p.resource, alsoOn, "` and `") + "`"
			lines = append(lines, fmt.Sprintf("| %s | `%s` | %s | %s | %s |", version, a, ram, p.level, res))
		}
	}
	sort.Strings(lines)
	return "| Version | Action | RAM action | Access level | Resource |\n|---|---|---|---|---|\n" + strings.Join(lines, "\n") + "\n"
}

// TestPermissionsGolden pins the permission table and checks that the
// README publishes it as it is.
func TestPermissionsGolden(t *testing.T) {
	table := permissionTable()
	golden(t, "permissions.golden", table)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(readme, []byte(table)) {
		t.Error("README.md does not show the permission table as testdata/permissions.golden has it: paste the golden into the README")
	}
}

// authzEnv is a server with access control, a site and a RAM user "ci"
// whose key the returned signer signs with.
type authzEnv struct {
	s      *Server
	url    string
	root   *signer
	ci     *signer
	siteID string
	ids    *identity.Resolver
}

func newAuthzEnv(t *testing.T) *authzEnv {
	t.Helper()
	clk := &clock{t: testNow}
	s, store := ramServer(t, clk.Now, nil)
	s.Identities = &identity.Resolver{Store: store, Sealer: s.AccessKeys.Sealer, Account: testAccount}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	ctx := t.Context()
	st, err := s.Sites.CreateSite(ctx, site.CreateSiteInput{Name: "example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users.CreateUser(ctx, user.CreateInput{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	k, secret, err := s.AccessKeys.Create(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	return &authzEnv{s: s, url: hs.URL, root: &signer{key: "testAKID", secret: "testSecret", now: testNow},
		ci: &signer{key: k.ID, secret: secret, now: testNow}, siteID: fmt.Sprint(st.ID), ids: s.Identities.(*identity.Resolver)}
}

// grant gives ci a custom policy with doc, replacing its earlier one.
func (e *authzEnv) grant(t *testing.T, doc string) {
	t.Helper()
	ctx := t.Context()
	for _, a := range mustList(e.s.Policies.PoliciesOf(ctx, "user", "ci")) {
		if err := e.s.Policies.Detach(ctx, a.Type, a.Name, "user", "ci"); err != nil {
			t.Fatal(err)
		}
		if a.Type == "Custom" {
			if err := e.s.Policies.DeletePolicy(ctx, a.Name, true); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.s.Policies.CreatePolicy(ctx, "ci-policy", doc, "", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.s.Policies.Attach(ctx, "Custom", "ci-policy", "user", "ci"); err != nil {
		t.Fatal(err)
	}
	if err := e.ids.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
}

func mustList[T any](list []T, err error) []T {
	if err != nil {
		panic(err)
	}
	return list
}

// TestAuthorization decides ESA and RAM requests of a RAM user under
// policies: allowed, implicitly and explicitly denied, per site, by source
// address and by transport; a denial names the action and the resource and
// carries AccessDeniedDetail.
func TestAuthorization(t *testing.T) {
	e := newAuthzEnv(t)
	site := "acs:esa:*:" + testAccount + ":site/" + e.siteID
	pipeline := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:GetSite","Resource":"` + site + `",
		"Condition":{"IpAddress":{"acs:SourceIp":"127.0.0.0/8"}}}]}`
	tests := []struct {
		name       string
		doc        string
		version    string
		action     string
		params     url.Values
		wantCode   string
		wantNoPerm string // NoPermissionType of a denial
	}{
		{"ok/per_site_from_cidr", pipeline, ESAVersion, "GetSite", url.Values{"SiteId": {e.siteID}}, "", ""},
		{"fail/other_site", pipeline, ESAVersion, "GetSite", url.Values{"SiteId": {"1"}}, "Forbidden.RAM", "ImplicitDeny"},
		{"fail/other_action", pipeline, ESAVersion, "DeleteSite", url.Values{"SiteId": {e.siteID}}, "Forbidden.RAM", "ImplicitDeny"},
		{"fail/other_cidr", strings.Replace(pipeline, "127.0.0.0/8", "10.0.0.0/8", 1), ESAVersion, "GetSite", url.Values{"SiteId": {e.siteID}},
			"Forbidden.RAM", "ImplicitDeny"},
		{"fail/https_only", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}`,
			ESAVersion, "ListSites", nil, "Forbidden.RAM", "ImplicitDeny"},
		{"fail/explicit_deny", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"esa:Delete*","Resource":"*"}]}`,
			ESAVersion, "DeleteSite", url.Values{"SiteId": {e.siteID}}, "Forbidden.RAM", "ExplicitDeny"},
		{"ok/resource_star", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:List*","Resource":"*"}]}`, ESAVersion, "ListSites", nil, "", ""},
		{"ok/time_window", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:ListSites","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2027-01-01T00:00:00Z"}}}]}`,
			ESAVersion, "ListSites", nil, "", ""},
		{"fail/ram_action", pipeline, RAMVersion, "ListUsers", nil, "NoPermission", "ImplicitDeny"},
		{"ok/ram_own_keys", `{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:ListAccessKeys","Resource":"acs:ram:*:` + testAccount + `:user/ci"}]}`,
			RAMVersion, "ListAccessKeys", nil, "", ""},
		{"fail/repository", pipeline, CASVersion, "ListUserCertificateOrder", nil, "Forbidden.RAM", "ImplicitDeny"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.grant(t, tt.doc)
			sig := e.ci
			sig.version = tt.version
			defer func() { sig.version = "" }()
			a := do(t, sig.rpc(t, e.url, "POST", tt.action, tt.params, nil))
			if tt.wantCode == "" {
				if a.status != 200 {
					t.Fatalf("%s: %d %v, want 200", tt.action, a.status, a.body)
				}
				return
			}
			if a.status != 403 || a.body["Code"] != tt.wantCode {
				t.Fatalf("%s: %d %v, want 403 %s", tt.action, a.status, a.body, tt.wantCode)
			}
			msg, _ := a.body["Message"].(string)
			action := ramCodes[tt.version] + ":" + tt.action
			if !strings.Contains(msg, "Action: "+action) || !strings.Contains(msg, "Resource: ") {
				t.Errorf("message %q does not name the action and the resource", msg)
			}
			detail, ok := a.body["AccessDeniedDetail"].(map[string]any)
			if !ok {
				t.Fatalf("no AccessDeniedDetail object: %v", a.body)
			}
			want := map[string]any{"AuthAction": action, "AuthPrincipalType": "SubUser", "AuthPrincipalOwnerId": testAccount,
				"NoPermissionType": tt.wantNoPerm, "PolicyType": "AccountLevelIdentityBasedPolicy"}
			for k, v := range want {
				if detail[k] != v {
					t.Errorf("AccessDeniedDetail.%s = %v, want %v", k, detail[k], v)
				}
			}
			raw, err := base64.StdEncoding.DecodeString(detail["EncodedDiagnosticMessage"].(string))
			var diag map[string]any
			if err != nil || json.Unmarshal(raw, &diag) != nil || diag["AuthAction"] != action {
				t.Errorf("EncodedDiagnosticMessage does not decode to the denial: %s", raw)
			}
			root := *e.root
			root.version = RAMVersion
			dec := do(t, root.rpc(t, e.url, "POST", "DecodeDiagnosticMessage", url.Values{"EncodedDiagnosticMessage": {detail["EncodedDiagnosticMessage"].(string)}}, nil))
			e.root.nonce = root.nonce
			if got, _ := dec.body["DecodedDiagnosticMessage"].(map[string]any); dec.status != 200 || got["AuthAction"] != action ||
				str(dec.body, "DecodedDiagnosticMessage", "AuthResource") == "" {
				t.Errorf("DecodeDiagnosticMessage: %d %v", dec.status, dec.body)
			}
		})
	}
}

// TestKeyStates: a disabled key answers InvalidAccessKeyId.Inactive (400)
// once the resolver sees the change, enabled again it signs again, and a
// deleted one answers InvalidAccessKeyId.NotFound (404); the root key is
// never asked about policies.
func TestKeyStates(t *testing.T) {
	e := newAuthzEnv(t)
	e.grant(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:ListSites","Resource":"*"}]}`)
	ctx := t.Context()
	call := func(s *signer) answer {
		t.Helper()
		return do(t, s.rpc(t, e.url, "GET", "ListSites", nil, nil))
	}
	if a := call(e.ci); a.status != 200 {
		t.Fatalf("active key: %d %v", a.status, a.body)
	}
	steps := []struct {
		name       string
		change     func() error
		wantStatus int
		wantCode   string
	}{
		{"inactive", func() error { return e.s.AccessKeys.SetStatus(ctx, "ci", e.ci.key, "Inactive") }, 400, "InvalidAccessKeyId.Inactive"},
		{"active_again", func() error { return e.s.AccessKeys.SetStatus(ctx, "ci", e.ci.key, "Active") }, 200, ""},
		{"deleted", func() error { return e.s.AccessKeys.Delete(ctx, "ci", e.ci.key) }, 404, "InvalidAccessKeyId.NotFound"},
	}
	for _, st := range steps {
		if err := st.change(); err != nil {
			t.Fatal(err)
		}
		if err := e.ids.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		a := call(e.ci)
		if a.status != st.wantStatus || st.wantCode != "" && a.body["Code"] != st.wantCode {
			t.Errorf("%s: %d %v, want %d %s", st.name, a.status, a.body, st.wantStatus, st.wantCode)
		}
	}
	if a := call(e.root); a.status != 200 {
		t.Errorf("root key: %d %v", a.status, a.body)
	}
}

// TestAuthorizationCached: without a change of the RAM revision, a
// detached policy keeps its effect on this node (the cache); the refresh
// that follows the change ends it.
func TestAuthorizationCached(t *testing.T) {
	e := newAuthzEnv(t)
	e.grant(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:ListSites","Resource":"*"}]}`)
	ctx := t.Context()
	call := func() int { return do(t, e.ci.rpc(t, e.url, "GET", "ListSites", nil, nil)).status }
	if got := call(); got != 200 {
		t.Fatalf("before: %d", got)
	}
	if err := e.s.Policies.Detach(ctx, "Custom", "ci-policy", "user", "ci"); err != nil {
		t.Fatal(err)
	}
	if got := call(); got != 200 {
		t.Fatalf("before the refresh: %d, want the cached 200", got)
	}
	if err := e.ids.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := call(); got != 403 {
		t.Fatalf("after the refresh: %d, want 403", got)
	}
}

// TestResourceTemplates fills the permission table's resources.
func TestResourceTemplates(t *testing.T) {
	s := &Server{AccountID: "42"}
	caller := &identity.Identity{Kind: identity.User, UserName: "me"}
	tests := []struct {
		name, template string
		params         url.Values
		want           string
	}{
		{"site", siteResource, url.Values{"SiteId": {"7"}}, "acs:esa:*:42:site/7"},
		{"site_missing", siteResource, nil, "acs:esa:*:42:site/"},
		{"site_leading_zero", siteResource, url.Values{"SiteId": {"007"}}, "acs:esa:*:42:site/7"},
		{"site_sign_and_space", siteResource, url.Values{"SiteId": {" +7\t"}}, "acs:esa:*:42:site/7"},
		{"site_not_an_id", siteResource, url.Values{"SiteId": {"7x"}}, "acs:esa:*:42:site/7x"},
		{"user", userResource, url.Values{"UserName": {"bob"}}, "acs:ram::42:user/bob"},
		{"own_user", userResource, nil, "acs:ram::42:user/me"},
		{"system_policy", policyRes, url.Values{"PolicyName": {"AdministratorAccess"}, "PolicyType": {"System"}}, "acs:ram::system:policy/AdministratorAccess"},
		{"custom_policy", policyRes, url.Values{"PolicyName": {"p"}, "PolicyType": {"Custom"}}, "acs:ram::42:policy/p"},
		{"any", anyResource, nil, "*"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := s.resource(tt.template, &params{v: tt.params}, caller)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("resource (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAuthorizationRAMSelfService: a user allowed to manage its own keys
// cannot reach another user's key by leaving UserName out, and attaching
// a policy must be allowed on the user and on the policy.
func TestAuthorizationRAMSelfService(t *testing.T) {
	e := newAuthzEnv(t)
	ctx := t.Context()
	if _, err := e.s.Users.CreateUser(ctx, user.CreateInput{Name: "victim"}); err != nil {
		t.Fatal(err)
	}
	victimKey, _, err := e.s.AccessKeys.Create(ctx, "victim")
	if err != nil {
		t.Fatal(err)
	}
	e.grant(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":["ram:*AccessKey*","ram:AttachPolicyToUser"],
		"Resource":"acs:ram:*:`+testAccount+`:user/ci"}]}`)
	call := func(action string, p url.Values) answer {
		t.Helper()
		e.ci.version = RAMVersion
		defer func() { e.ci.version = "" }()
		return do(t, e.ci.rpc(t, e.url, "POST", action, p, nil))
	}
	if a := call("DeleteAccessKey", url.Values{"UserAccessKeyId": {victimKey.ID}}); a.status != 404 || a.body["Code"] != "EntityNotExist.User.AccessKey" {
		t.Errorf("another user's key without UserName: %d %v, want 404 EntityNotExist.User.AccessKey", a.status, a.body)
	}
	if a := call("DeleteAccessKey", url.Values{"UserAccessKeyId": {victimKey.ID}, "UserName": {"victim"}}); a.status != 403 || a.body["Code"] != "NoPermission" {
		t.Errorf("another user's key by name: %d %v, want 403 NoPermission", a.status, a.body)
	}
	if keys, _ := e.s.AccessKeys.List(ctx, "victim"); len(keys) != 1 {
		t.Fatalf("the victim's key is gone: %v", keys)
	}
	if a := call("ListAccessKeys", nil); a.status != 200 {
		t.Errorf("own keys: %d %v", a.status, a.body)
	}
	a := call("AttachPolicyToUser", url.Values{"UserName": {"ci"}, "PolicyType": {"System"}, "PolicyName": {"AdministratorAccess"}})
	if a.status != 403 || !strings.Contains(str(a.body, "Message"), "policy/AdministratorAccess") {
		t.Errorf("attach a policy it may not: %d %v, want 403 naming the policy", a.status, a.body)
	}
}

// TestAuthorizationSiteIDSpellings: a Deny on site/<id> holds for every
// spelling of the id the actions read as that id (leading zeros, a sign,
// surrounding space), in SiteId, ResourceId.N and the JSON ResourceId,
// under a policy that allows site/*.
func TestAuthorizationSiteIDSpellings(t *testing.T) {
	e := newAuthzEnv(t)
	other, err := e.s.Sites.CreateSite(t.Context(), site.CreateSiteInput{Name: "example.org"})
	if err != nil {
		t.Fatal(err)
	}
	sites := "acs:esa:*:" + testAccount + ":site/"
	e.grant(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"`+sites+`*"},
		{"Effect":"Deny","Action":"esa:*","Resource":"`+sites+e.siteID+`"}]}`)
	id := e.siteID
	spellings := []string{id, "0" + id, "00" + id, "+" + id, " " + id, id + " ", "\t+0" + id}
	tag := url.Values{"ResourceType": {"Site"}, "Tag.1.Key": {"env"}, "Tag.1.Value": {"prod"}}
	with := func(v url.Values, k, val string) url.Values {
		out := url.Values{k: {val}}
		for name, vs := range v {
			out[name] = vs
		}
		return out
	}
	type call struct {
		action string
		params url.Values
	}
	var calls []call
	for _, sp := range spellings {
		calls = append(calls,
			call{"GetSite", url.Values{"SiteId": {sp}}},
			call{"UpdateSitePause", url.Values{"SiteId": {sp}, "Paused": {"true"}}},
			call{"TagResources", with(tag, "ResourceId.1", sp)},
			call{"TagResources", with(with(tag, "ResourceId.1", fmt.Sprint(other.ID)), "ResourceId.2", sp)},
			call{"TagResources", with(tag, "ResourceId", `["`+strings.ReplaceAll(sp, "\t", `\t`)+`"]`)},
			call{"ListTagResources", url.Values{"ResourceType": {"Site"}, "ResourceId.1": {sp}}},
		)
	}
	for _, c := range calls {
		t.Run(c.action+"/"+fmt.Sprintf("%q", c.params), func(t *testing.T) {
			a := do(t, e.ci.rpc(t, e.url, "POST", c.action, c.params, nil))
			if a.status != 403 || a.body["Code"] != "Forbidden.RAM" {
				t.Fatalf("%s %v: %d %v, want 403 Forbidden.RAM (explicit deny on site/%s)", c.action, c.params, a.status, a.body, id)
			}
			if got := str(a.body, "AccessDeniedDetail", "NoPermissionType"); got != "ExplicitDeny" {
				t.Errorf("NoPermissionType = %q, want ExplicitDeny", got)
			}
			if msg := str(a.body, "Message"); !strings.Contains(msg, "site/"+id+".") {
				t.Errorf("message %q does not name site/%s", msg, id)
			}
		})
	}
	// The other site, in any spelling, is allowed.
	for _, sp := range []string{fmt.Sprint(other.ID), "0" + fmt.Sprint(other.ID), " +" + fmt.Sprint(other.ID)} {
		if a := do(t, e.ci.rpc(t, e.url, "POST", "GetSite", url.Values{"SiteId": {sp}}, nil)); a.status != 200 {
			t.Errorf("GetSite %q of the allowed site: %d %v, want 200", sp, a.status, a.body)
		}
	}
	// A value that is no id passes authorization under site/* and is
	// refused by the action.
	if a := do(t, e.ci.rpc(t, e.url, "POST", "GetSite", url.Values{"SiteId": {id + "x"}}, nil)); a.status != 400 || a.body["Code"] != "InvalidParameter" {
		t.Errorf("GetSite %q: %d %v, want 400 InvalidParameter", id+"x", a.status, a.body)
	}
}
