package api

import (
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/account"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
	"github.com/esacert/esacert/internal/user"
)

// testAccount is the account id of the RAM goldens' server.
const testAccount = "1234567890123456"

// ramServer is a Server with access control on a fresh SQLite store,
// its clock at now and its ids drawn from rnd (nil: crypto/rand).
func ramServer(t *testing.T, now func() time.Time, rnd io.Reader) (*Server, *sqlstore.Store) {
	t.Helper()
	return ramServerOn(t, "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"), now, rnd)
}

// ramServerOn is ramServer on the database dsn names.
func ramServerOn(t *testing.T, dsn string, now func() time.Time, rnd io.Reader) (*Server, *sqlstore.Store) {
	t.Helper()
	store, err := sqlstore.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	k, _ := keyseal.Generate()
	sealer, _ := keyseal.New(k)
	sites := &site.Service{Store: store, Now: now, Rand: rnd}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := &Server{
		Sites:      sites,
		Records:    &record.Service{Store: store, Sites: store, Now: now, Rand: rnd},
		Certs:      &cert.Service{Sites: store, Now: now, Rand: rnd},
		Keys:       accesskey.NewRing(accesskey.Key{ID: "testAKID", Secret: "testSecret"}),
		Now:        now,
		Log:        slog.New(slog.NewTextHandler(io.Discard, nil)),
		AccountID:  testAccount,
		Account:    &account.Service{Store: store},
		Users:      &user.Service{Store: store, Now: now, Rand: rnd},
		AccessKeys: &accesskey.Service{Store: store, Sealer: sealer, Now: now, Rand: rnd},
		Groups:     &group.Service{Store: store, Memberships: store, Now: now, Rand: rnd},
		Policies:   &rampolicy.Service{Store: store, VersionStore: store, AttachmentStore: store, TagStore: store, Now: now},
		Roles:      &role.Service{Store: store, TagStore: store, Now: now, Rand: rnd},
	}
	return s, store
}

const (
	goldenDoc   = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:SetCertificate","Resource":"acs:esa:*:1234567890123456:site/42","Condition":{"IpAddress":{"acs:SourceIp":"203.0.113.0/24"}}}]}`
	goldenTrust = `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::1234567890123456:root"]}}],"Version":"1"}`
)

// ramGoldenCases pin the answers of the RAM actions, in order on one server.
var ramGoldenCases = []goldenCase{
	{"CreateUser", "ok", "POST", url.Values{"UserName": {"ci"}, "DisplayName": {"CI pipeline"}, "Email": {"ci@example.com"},
		"MobilePhone": {"86-18600008888"}, "Comments": {"rotates certificates"}}},
	{"CreateUser", "fail_exists", "POST", url.Values{"UserName": {"ci"}}},
	{"CreateUser", "fail_bad_chars", "POST", url.Values{"UserName": {"c i"}}},
	{"CreateUser", "fail_email", "POST", url.Values{"UserName": {"dev"}, "Email": {"dev"}}},
	{"CreateUser", "fail_missing_name", "POST", nil},
	{"GetUser", "ok", "POST", url.Values{"UserName": {"ci"}}},
	{"GetUser", "fail_not_found", "POST", url.Values{"UserName": {"nobody"}}},
	{"UpdateUser", "ok_clear_email", "POST", url.Values{"UserName": {"ci"}, "NewUserName": {"ci"}, "NewEmail": {""}}},
	{"ListUsers", "ok", "POST", nil},
	{"ListUsers", "fail_max_items", "POST", url.Values{"MaxItems": {"1001"}}},
	{"DeleteLoginProfile", "fail_none", "POST", url.Values{"UserName": {"ci"}}},
	{"UnbindMFADevice", "fail_none", "POST", url.Values{"UserName": {"ci"}}},
	{"CreateAccessKey", "ok", "POST", url.Values{"UserName": {"ci"}}},
	{"CreateAccessKey", "fail_root_without_user", "POST", nil},
	{"ListAccessKeys", "ok", "POST", url.Values{"UserName": {"ci"}}},
	{"UpdateAccessKey", "fail_status", "POST", url.Values{"UserName": {"ci"}, "UserAccessKeyId": {"{key0}"}, "Status": {"Off"}}},
	{"UpdateAccessKey", "ok", "POST", url.Values{"UserName": {"ci"}, "UserAccessKeyId": {"{key0}"}, "Status": {"Inactive"}}},
	{"DeleteUser", "fail_has_key", "POST", url.Values{"UserName": {"ci"}}},
	{"CreateGroup", "ok", "POST", url.Values{"GroupName": {"ops"}, "Comments": {"operators"}}},
	{"AddUserToGroup", "ok", "POST", url.Values{"GroupName": {"ops"}, "UserName": {"ci"}}},
	{"AddUserToGroup", "fail_member", "POST", url.Values{"GroupName": {"ops"}, "UserName": {"ci"}}},
	{"ListGroupsForUser", "ok", "POST", url.Values{"UserName": {"ci"}}},
	{"ListUsersForGroup", "ok", "POST", url.Values{"GroupName": {"ops"}}},
	{"GetGroup", "ok", "POST", url.Values{"GroupName": {"ops"}}},
	{"ListGroups", "ok", "POST", nil},
	{"UpdateGroup", "ok", "POST", url.Values{"GroupName": {"ops"}, "NewComments": {"on call"}}},
	{"DeleteGroup", "fail_has_user", "POST", url.Values{"GroupName": {"ops"}}},
	{"CreatePolicy", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyDocument": {goldenDoc}, "Description": {"one site, one CIDR"},
		"Tag": {`[{"Key":"team","Value":"edge"}]`}}},
	{"CreatePolicy", "fail_malformed", "POST", url.Values{"PolicyName": {"bad"}, "PolicyDocument": {`{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa SetCertificate","Resource":"*"}]}`}}},
	{"CreatePolicy", "fail_system_name", "POST", url.Values{"PolicyName": {"AdministratorAccess"}, "PolicyDocument": {goldenDoc}}},
	{"GetPolicy", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}}},
	{"GetPolicy", "ok_system", "POST", url.Values{"PolicyName": {"AliyunSTSAssumeRoleAccess"}, "PolicyType": {"System"}}},
	{"GetPolicy", "fail_type", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Managed"}}},
	{"CreatePolicyVersion", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyDocument": {goldenDoc}, "SetAsDefault": {"true"}}},
	{"CreatePolicyVersion", "fail_system", "POST", url.Values{"PolicyName": {"AliyunESAFullAccess"}, "PolicyDocument": {goldenDoc}}},
	{"GetPolicyVersion", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "VersionId": {"v1"}}},
	{"GetPolicyVersion", "fail_format", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "VersionId": {"1"}}},
	{"ListPolicyVersions", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}}},
	{"DeletePolicyVersion", "fail_default", "POST", url.Values{"PolicyName": {"pipeline"}, "VersionId": {"v2"}}},
	{"SetDefaultPolicyVersion", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "VersionId": {"v1"}}},
	{"DeletePolicyVersion", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "VersionId": {"v2"}}},
	{"UpdatePolicyDescription", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "NewDescription": {"the pipeline's rights"}}},
	{"AttachPolicyToUser", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "UserName": {"ci"}}},
	{"AttachPolicyToUser", "fail_attached", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "UserName": {"ci"}}},
	{"AttachPolicyToGroup", "ok", "POST", url.Values{"PolicyName": {"AliyunESAReadOnlyAccess"}, "PolicyType": {"System"}, "GroupName": {"ops"}}},
	{"ListPoliciesForUser", "ok", "POST", url.Values{"UserName": {"ci"}}},
	{"ListPoliciesForGroup", "ok", "POST", url.Values{"GroupName": {"ops"}}},
	{"ListPolicies", "ok_page", "POST", url.Values{"MaxItems": {"2"}}},
	{"ListPolicies", "ok_custom", "POST", url.Values{"PolicyType": {"Custom"}}},
	{"DeletePolicy", "fail_attached", "POST", url.Values{"PolicyName": {"pipeline"}}},
	{"CreateRole", "ok", "POST", url.Values{"RoleName": {"deployer"}, "AssumeRolePolicyDocument": {goldenTrust}, "Description": {"deploys"},
		"MaxSessionDuration": {"7200"}, "Tag": {`[{"Key":"env","Value":"prod"}]`}}},
	{"CreateRole", "fail_session", "POST", url.Values{"RoleName": {"short"}, "AssumeRolePolicyDocument": {goldenTrust}, "MaxSessionDuration": {"600"}}},
	{"CreateRole", "fail_trust", "POST", url.Values{"RoleName": {"nobody"}, "AssumeRolePolicyDocument": {`{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"AWS":"*"}}]}`}}},
	{"GetRole", "ok", "POST", url.Values{"RoleName": {"deployer"}}},
	{"UpdateRole", "ok", "POST", url.Values{"RoleName": {"deployer"}, "NewMaxSessionDuration": {"3600"}}},
	{"ListRoles", "ok", "POST", nil},
	{"AttachPolicyToRole", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "RoleName": {"deployer"}}},
	{"ListPoliciesForRole", "ok", "POST", url.Values{"RoleName": {"deployer"}}},
	{"ListEntitiesForPolicy", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}}},
	{"DeleteRole", "fail_attached", "POST", url.Values{"RoleName": {"deployer"}}},
	{"DetachPolicyFromRole", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "RoleName": {"deployer"}}},
	{"DetachPolicyFromRole", "fail_not_attached", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "RoleName": {"deployer"}}},
	{"TagResources", "ok", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline"]`}, "Tag": {`[{"Key":"owner","Value":"ops"}]`}}},
	{"CreatePolicy", "ok_twenty_tags", "POST", url.Values{"PolicyName": {"full"}, "PolicyDocument": {goldenDoc}, "Tag": {`[{"Key":"k1","Value":"v"},{"Key":"k2","Value":"v"},{"Key":"k3","Value":"v"},{"Key":"k4","Value":"v"},{"Key":"k5","Value":"v"},{"Key":"k6","Value":"v"},{"Key":"k7","Value":"v"},{"Key":"k8","Value":"v"},{"Key":"k9","Value":"v"},{"Key":"k10","Value":"v"},{"Key":"k11","Value":"v"},{"Key":"k12","Value":"v"},{"Key":"k13","Value":"v"},{"Key":"k14","Value":"v"},{"Key":"k15","Value":"v"},{"Key":"k16","Value":"v"},{"Key":"k17","Value":"v"},{"Key":"k18","Value":"v"},{"Key":"k19","Value":"v"},{"Key":"k20","Value":"v"}]`}}},
	{"TagResources", "fail_second_policy_full_tags_neither", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline","full"]`}, "Tag": {`[{"Key":"region","Value":"eu"}]`}}},
	{"ListTagResources", "ok_first_policy_untouched", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline"]`}}},
	{"TagResources", "fail_nul_key_json", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline"]`}, "Tag": {`[{"Key":"k\u0000","Value":"v"}]`}}},
	{"TagResources", "fail_nul_value_json", "POST", url.Values{"ResourceType": {"role"}, "ResourceNames": {`["deployer"]`}, "Tag": {`[{"Key":"k","Value":"\u0000"}]`}}},
	{"TagResources", "fail_control_key", "POST", url.Values{"ResourceType": {"role"}, "ResourceNames": {`["deployer"]`}, "Tag.1.Key": {"k\r"}, "Tag.1.Value": {"v"}}},
	{"UntagResources", "fail_nul_key_json", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline"]`}, "TagKeys": {`["k\u0000"]`}}},
	{"UntagResources", "fail_control_key", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline"]`}, "TagKey.1": {"k\u0085"}}},
	{"ListTagResources", "fail_nul_resource_name_json", "POST", url.Values{"ResourceType": {"role"}, "ResourceNames": {`["deployer\u0000"]`}}},
	{"ListTagResources", "ok", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline"]`}}},
	{"UntagResources", "ok", "POST", url.Values{"ResourceType": {"policy"}, "ResourceNames": {`["pipeline"]`}, "TagKey.1": {"team"}}},
	{"ListTagResources", "fail_missing_role", "POST", url.Values{"ResourceType": {"role"}, "ResourceNames": {`["nope"]`}}},
	{"DetachPolicyFromUser", "ok", "POST", url.Values{"PolicyName": {"pipeline"}, "PolicyType": {"Custom"}, "UserName": {"ci"}}},
	{"DetachPolicyFromGroup", "ok", "POST", url.Values{"PolicyName": {"AliyunESAReadOnlyAccess"}, "PolicyType": {"System"}, "GroupName": {"ops"}}},
	{"DeletePolicy", "ok", "POST", url.Values{"PolicyName": {"pipeline"}}},
	{"DeleteRole", "ok", "POST", url.Values{"RoleName": {"deployer"}}},
	{"RemoveUserFromGroup", "ok", "POST", url.Values{"GroupName": {"ops"}, "UserName": {"ci"}}},
	{"DeleteGroup", "ok", "POST", url.Values{"GroupName": {"ops"}}},
	{"DeleteAccessKey", "ok", "POST", url.Values{"UserName": {"ci"}, "UserAccessKeyId": {"{key0}"}}},
	{"DeleteAccessKey", "fail_not_found", "POST", url.Values{"UserName": {"ci"}, "UserAccessKeyId": {"{key0}"}}},
	{"DeleteUser", "ok", "POST", url.Values{"UserName": {"ci"}}},
	{"GetAccountAlias", "ok_default", "POST", nil},
	{"SetAccountAlias", "fail_format", "POST", url.Values{"AccountAlias": {"-edge-"}}},
	{"SetAccountAlias", "ok", "POST", url.Values{"AccountAlias": {"edge-team"}}},
	{"GetAccountAlias", "ok", "POST", nil},
	{"DecodeDiagnosticMessage", "fail_not_a_message", "POST", url.Values{"EncodedDiagnosticMessage": {"bm90IGEgbWVzc2FnZQ=="}}},
	{"DecodeDiagnosticMessage", "ok", "POST", url.Values{"EncodedDiagnosticMessage": {"eyJBdXRoQWN0aW9uIjoiZXNhOkdldFNpdGUiLCJBdXRoUmVzb3VyY2UiOiJhY3M6ZXNhOio6MTIzNDU2Nzg5MDEyMzQ1NjpzaXRlLzEiLCJFeHBsaWNpdERlbnkiOmZhbHNlLCJOb1Blcm1pc3Npb25Qb2xpY3lUeXBlIjoiQWNjb3VudExldmVsSWRlbnRpdHlCYXNlZFBvbGljeSIsIkF1dGhQcmluY2lwYWwiOnsiQXV0aFByaW5jaXBhbFR5cGUiOiJTdWJVc2VyIiwiQXV0aFByaW5jaXBhbE93bmVySWQiOiIxMjM0NTY3ODkwMTIzNDU2IiwiQXV0aFByaW5jaXBhbERpc3BsYXlOYW1lIjoiNjM0OTY2Nzc4MDAwODYxMSJ9fQ=="}}},
}

// TestRAMGoldens pins the RAM actions' answers field by field, as
// TestActionGoldens does for ESA's.
func TestRAMGoldens(t *testing.T) { goldenDatabases(t, testRAMGoldens) }

func testRAMGoldens(t *testing.T, dsn string) {
	clk := &clock{t: testNow}
	s, _ := ramServerOn(t, dsn, clk.Now, mrand.NewChaCha8([32]byte{12}))
	hs := httptest.NewServer(s)
	defer hs.Close()
	sig := &signer{key: "testAKID", secret: "testSecret", now: testNow, version: RAMVersion}
	vars := map[string]string{}
	for _, c := range ramGoldenCases {
		t.Run(c.action+"/"+c.name, func(t *testing.T) {
			p := url.Values{}
			for k, v := range c.params {
				p[k] = []string{expand(v[0], vars)}
			}
			a := do(t, sig.rpc(t, hs.URL, c.method, c.action, p, nil))
			if c.action == "CreateAccessKey" && a.status == 200 {
				vars["{key0}"] = str(a.body, "AccessKey", "AccessKeyId")
			}
			delete(a.body, "RequestId")
			delete(a.body, "HostId")
			got := map[string]any{"request": flat(p), "status": a.status, "response": a.body}
			compareGolden(t, filepath.Join("testdata", "golden", "ram", c.action, c.name+".json"), got)
		})
	}
}

// str reads a string at a path of nested objects ("" when absent).
func str(m map[string]any, path ...string) string {
	var v any = m
	for _, k := range path {
		o, _ := v.(map[string]any)
		v = o[k]
	}
	s, _ := v.(string)
	return s
}
