package clienttest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/accesskey"
)

// ramActions are the RAM (2015-05-01) actions esacert answers.
var ramActions = map[string]bool{}

func init() {
	for _, a := range []string{"CreateUser", "GetUser", "ListUsers", "UpdateUser", "DeleteUser", "DeleteLoginProfile",
		"UnbindMFADevice", "CreateAccessKey", "ListAccessKeys", "UpdateAccessKey", "DeleteAccessKey", "CreateGroup",
		"GetGroup", "ListGroups", "UpdateGroup", "DeleteGroup", "AddUserToGroup", "RemoveUserFromGroup",
		"ListGroupsForUser", "ListUsersForGroup", "CreatePolicy", "GetPolicy", "ListPolicies", "UpdatePolicyDescription",
		"DeletePolicy", "CreatePolicyVersion", "GetPolicyVersion", "ListPolicyVersions", "DeletePolicyVersion",
		"SetDefaultPolicyVersion", "AttachPolicyToUser", "AttachPolicyToGroup", "AttachPolicyToRole",
		"DetachPolicyFromUser", "DetachPolicyFromGroup", "DetachPolicyFromRole", "ListPoliciesForUser",
		"ListPoliciesForGroup", "ListPoliciesForRole", "ListEntitiesForPolicy", "CreateRole", "GetRole", "ListRoles",
		"UpdateRole", "DeleteRole", "ListTagResources", "TagResources", "UntagResources", "GetAccountAlias",
		"SetAccountAlias", "DecodeDiagnosticMessage"} {
		ramActions[a] = true
		sdkMethods[a] = "POST" // every RAM action is an RPC POST with its parameters in the query
	}
	sdkMethods["LookupEvents"] = "POST"
}

// ramKinds are the clients the RAM scenario runs with: the official Node.js
// RAM SDK (both signatures) and the generic Go client (both signatures).
func ramKinds(d *nodeDriver) []clientKind {
	kinds := []clientKind{teaKind(false), teaKind(true)}
	for _, client := range []string{"ram", "ram-v2"} {
		kinds = append(kinds, clientKind{name: "node_" + strings.ReplaceAll(client, "-", "_"),
			make: func(t *testing.T, addr string, key accesskey.Key, replay bool) caller {
				return &nodeCaller{d: d, client: client, addr: addr, key: key, replay: replay}
			}})
	}
	return kinds
}

// TestRAMClientsManageIdentities runs the RAM scenario with the official
// Node.js RAM SDK and the generic Go client, both signatures each.
func TestRAMClientsManageIdentities(t *testing.T) {
	d := startDriver(t)
	addr, key := startNode(t)
	for _, k := range ramKinds(d) {
		t.Run(k.name, func(t *testing.T) {
			runRAMScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

func jsonText(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// listed returns the values of field in the items of the list at path.
func listed(body map[string]any, path, field string) []string {
	var out []string
	items, _ := dig(body, path).([]any)
	for _, it := range items {
		out = append(out, str(dig(it, field)))
	}
	return out
}

// runRAMScenario manages users, keys, groups, policies and roles from start
// to end with one client, as the root key.
func runRAMScenario(t *testing.T, c caller, prefix string) {
	user, user2 := prefix+"-ci", prefix+"-dev"
	group, pol, roleName := prefix+"-ops", prefix+"-set-cert", prefix+"-deployer"

	// Users.
	created := mustOK(t, c, "CreateUser", map[string]string{"UserName": user, "DisplayName": "CI pipeline",
		"Email": "ci@example.com", "MobilePhone": "86-18600008888", "Comments": "rotates certificates"})
	userID := str(dig(created, "User.UserId"))
	if len(userID) != 16 || str(dig(created, "User.CreateDate")) == "" || str(dig(created, "User.DisplayName")) != "CI pipeline" {
		t.Fatalf("CreateUser answered %v", created)
	}
	mustFail(t, c, "CreateUser", map[string]string{"UserName": user}, 409, "EntityAlreadyExists.User")
	mustFail(t, c, "CreateUser", map[string]string{"UserName": "bad name!"}, 400, "InvalidParameter.UserName.InvalidChars")
	mustFail(t, c, "CreateUser", map[string]string{"UserName": user2, "Email": "nope"}, 400, "InvalidParameter.Email.Format")
	mustOK(t, c, "CreateUser", map[string]string{"UserName": user2})
	got := mustOK(t, c, "GetUser", map[string]string{"UserName": user})
	checkFields(t, "GetUser", got, map[string]string{"User.UserId": userID, "User.UserName": user,
		"User.Email": "ci@example.com", "User.MobilePhone": "86-18600008888", "User.Comments": "rotates certificates"})
	mustFail(t, c, "GetUser", map[string]string{"UserName": prefix + "-nobody"}, 404, "EntityNotExist.User")
	// Paging by marker: one at a time finds both users.
	var names []string
	for marker, pages := "", 0; pages < 50; pages++ {
		p := map[string]string{"MaxItems": "1"}
		if marker != "" {
			p["Marker"] = marker
		}
		l := mustOK(t, c, "ListUsers", p)
		names = append(names, listed(l, "Users.User", "UserName")...)
		if dig(l, "IsTruncated") != true {
			break
		}
		marker = str(l["Marker"])
	}
	if !slices.Contains(names, user) || !slices.Contains(names, user2) {
		t.Errorf("ListUsers page by page = %v, want %s and %s", names, user, user2)
	}
	updated := mustOK(t, c, "UpdateUser", map[string]string{"UserName": user, "NewUserName": user, "NewEmail": ""})
	checkFields(t, "UpdateUser", updated, map[string]string{"User.UserName": user, "User.Email": "", "User.DisplayName": "CI pipeline"})
	mustFail(t, c, "UpdateUser", map[string]string{"UserName": user2, "NewUserName": user}, 409, "EntityAlreadyExists.User")
	mustFail(t, c, "DeleteLoginProfile", map[string]string{"UserName": user}, 404, "EntityNotExist.User.LoginProfile")
	mustFail(t, c, "UnbindMFADevice", map[string]string{"UserName": user}, 404, "EntityNotExist.User.MFADevice")

	// Access keys: at most two; the secret is shown once.
	k1 := mustOK(t, c, "CreateAccessKey", map[string]string{"UserName": user})
	keyID, secret := str(dig(k1, "AccessKey.AccessKeyId")), str(dig(k1, "AccessKey.AccessKeySecret"))
	if !strings.HasPrefix(keyID, "LTAI") || len(secret) != 30 || str(dig(k1, "AccessKey.Status")) != "Active" {
		t.Fatalf("CreateAccessKey answered %v", k1)
	}
	mustOK(t, c, "CreateAccessKey", map[string]string{"UserName": user})
	mustFail(t, c, "CreateAccessKey", map[string]string{"UserName": user}, 409, "LimitExceeded.User.AccessKey")
	keys := mustOK(t, c, "ListAccessKeys", map[string]string{"UserName": user})
	if ids := listed(keys, "AccessKeys.AccessKey", "AccessKeyId"); len(ids) != 2 || ids[0] != keyID {
		t.Errorf("ListAccessKeys = %v", ids)
	}
	noSecrets(t, "ListAccessKeys", keys, secret)
	mustOK(t, c, "UpdateAccessKey", map[string]string{"UserName": user, "UserAccessKeyId": keyID, "Status": "Inactive"})
	keys = mustOK(t, c, "ListAccessKeys", map[string]string{"UserName": user})
	if st := listed(keys, "AccessKeys.AccessKey", "Status"); st[0] != "Inactive" {
		t.Errorf("status after UpdateAccessKey = %v", st)
	}
	mustFail(t, c, "UpdateAccessKey", map[string]string{"UserName": user2, "UserAccessKeyId": keyID, "Status": "Active"}, 404, "EntityNotExist.User.AccessKey")
	mustFail(t, c, "DeleteUser", map[string]string{"UserName": user}, 409, "DeleteConflict.User.AccessKey")

	// Groups.
	mustOK(t, c, "CreateGroup", map[string]string{"GroupName": group, "Comments": "operators"})
	mustFail(t, c, "CreateGroup", map[string]string{"GroupName": group}, 409, "EntityAlreadyExists.Group")
	mustOK(t, c, "AddUserToGroup", map[string]string{"GroupName": group, "UserName": user})
	mustFail(t, c, "AddUserToGroup", map[string]string{"GroupName": group, "UserName": user}, 409, "EntityAlreadyExists.User.Group")
	if g := listed(mustOK(t, c, "ListGroupsForUser", map[string]string{"UserName": user}), "Groups.Group", "GroupName"); !slices.Equal(g, []string{group}) {
		t.Errorf("ListGroupsForUser = %v", g)
	}
	if u := listed(mustOK(t, c, "ListUsersForGroup", map[string]string{"GroupName": group}), "Users.User", "UserName"); !slices.Equal(u, []string{user}) {
		t.Errorf("ListUsersForGroup = %v", u)
	}
	checkFields(t, "GetGroup", mustOK(t, c, "GetGroup", map[string]string{"GroupName": group}), map[string]string{"Group.Comments": "operators"})
	mustFail(t, c, "DeleteGroup", map[string]string{"GroupName": group}, 409, "DeleteConflict.Group.User")

	// Policies: malformed documents are refused naming what is wrong.
	doc1 := `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:SetCertificate","Resource":"acs:esa:*:*:site/1"}]}`
	doc2 := `{"Version":"1","Statement":[{"Effect":"Allow","Action":["esa:SetCertificate","esa:GetCertificate"],"Resource":"*"}]}`
	_, perr := c.call(t, "CreatePolicy", map[string]string{"PolicyName": pol, "PolicyDocument": `{"Version":"1","Statement":[{"Effect":"Permit","Action":"*","Resource":"*"}]}`})
	if perr == nil || perr.Status != 400 || perr.Code != "MalformedPolicyDocument" || !strings.Contains(perr.Message, "Effect must be Allow or Deny") {
		t.Fatalf("malformed CreatePolicy = %v, want 400 MalformedPolicyDocument naming the Effect", perr)
	}
	cp := mustOK(t, c, "CreatePolicy", map[string]string{"PolicyName": pol, "PolicyDocument": doc1, "Description": "one site",
		"Tag": jsonText(t, []map[string]string{{"Key": "team", "Value": "edge"}})})
	checkFields(t, "CreatePolicy", cp, map[string]string{"Policy.PolicyName": pol, "Policy.PolicyType": "Custom", "Policy.DefaultVersion": "v1"})
	gp := mustOK(t, c, "GetPolicy", map[string]string{"PolicyName": pol, "PolicyType": "Custom"})
	checkFields(t, "GetPolicy", gp, map[string]string{"DefaultPolicyVersion.PolicyDocument": doc1, "DefaultPolicyVersion.VersionId": "v1",
		"Policy.AttachmentCount": "0", "Policy.Description": "one site"})
	mustFail(t, c, "GetPolicy", map[string]string{"PolicyName": pol, "PolicyType": "Sometimes"}, 400, "InvalidParameter.PolicyType")
	sys := mustOK(t, c, "GetPolicy", map[string]string{"PolicyName": "AliyunESAFullAccess", "PolicyType": "System"})
	checkFields(t, "GetPolicy(System)", sys, map[string]string{"Policy.PolicyType": "System", "DefaultPolicyVersion.VersionId": "v1"})
	mustFail(t, c, "DeletePolicy", map[string]string{"PolicyName": "AliyunESAFullAccess"}, 404, "EntityNotExist.Policy")
	v2 := mustOK(t, c, "CreatePolicyVersion", map[string]string{"PolicyName": pol, "PolicyDocument": doc2, "SetAsDefault": "true"})
	checkFields(t, "CreatePolicyVersion", v2, map[string]string{"PolicyVersion.VersionId": "v2", "PolicyVersion.IsDefaultVersion": "true"})
	if ids := listed(mustOK(t, c, "ListPolicyVersions", map[string]string{"PolicyName": pol, "PolicyType": "Custom"}),
		"PolicyVersions.PolicyVersion", "VersionId"); !slices.Equal(ids, []string{"v2", "v1"}) {
		t.Errorf("ListPolicyVersions = %v", ids)
	}
	mustFail(t, c, "DeletePolicyVersion", map[string]string{"PolicyName": pol, "VersionId": "v2"}, 409, "DeleteConflict.Policy.Version.Default")
	mustOK(t, c, "SetDefaultPolicyVersion", map[string]string{"PolicyName": pol, "VersionId": "v1"})
	checkFields(t, "GetPolicyVersion", mustOK(t, c, "GetPolicyVersion", map[string]string{"PolicyName": pol, "PolicyType": "Custom", "VersionId": "v2"}),
		map[string]string{"PolicyVersion.IsDefaultVersion": "false", "PolicyVersion.PolicyDocument": doc2})
	mustOK(t, c, "UpdatePolicyDescription", map[string]string{"PolicyName": pol, "NewDescription": "one site, one CIDR"})
	mustOK(t, c, "AttachPolicyToUser", map[string]string{"PolicyName": pol, "PolicyType": "Custom", "UserName": user})
	mustFail(t, c, "AttachPolicyToUser", map[string]string{"PolicyName": pol, "PolicyType": "Custom", "UserName": user}, 409, "EntityAlreadyExists.User.Policy")
	mustOK(t, c, "AttachPolicyToGroup", map[string]string{"PolicyName": "AliyunESAReadOnlyAccess", "PolicyType": "System", "GroupName": group})
	mustFail(t, c, "AttachPolicyToUser", map[string]string{"PolicyName": "NoSuchPolicy", "PolicyType": "System", "UserName": user}, 404, "EntityNotExist.Policy")
	pfu := mustOK(t, c, "ListPoliciesForUser", map[string]string{"UserName": user})
	if n := listed(pfu, "Policies.Policy", "PolicyName"); !slices.Equal(n, []string{pol}) {
		t.Errorf("ListPoliciesForUser = %v", n)
	}
	if n := listed(mustOK(t, c, "ListPoliciesForGroup", map[string]string{"GroupName": group}), "Policies.Policy", "PolicyType"); !slices.Equal(n, []string{"System"}) {
		t.Errorf("ListPoliciesForGroup types = %v", n)
	}
	ents := mustOK(t, c, "ListEntitiesForPolicy", map[string]string{"PolicyName": pol, "PolicyType": "Custom"})
	if u := listed(ents, "Users.User", "UserName"); !slices.Equal(u, []string{user}) {
		t.Errorf("ListEntitiesForPolicy users = %v", u)
	}
	mustFail(t, c, "DeletePolicy", map[string]string{"PolicyName": pol}, 409, "DeleteConflict.Policy.User")
	var custom []string
	lp := mustOK(t, c, "ListPolicies", map[string]string{"PolicyType": "Custom", "MaxItems": "1000"})
	for _, it := range dig(lp, "Policies.Policy").([]any) {
		if str(dig(it, "PolicyName")) == pol {
			custom = append(custom, str(dig(it, "Tags.Tag.0.TagValue")))
		}
	}
	if !slices.Equal(custom, []string{"edge"}) {
		t.Errorf("ListPolicies shows %s with tags %v", pol, custom)
	}

	// Roles, with a trust policy; tags through TagResources.
	trust := `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::` +
		str(mustOK(t, c, "GetAccountAlias", nil)["AccountAlias"]) + `:root"]}}],"Version":"1"}`
	mustFail(t, c, "CreateRole", map[string]string{"RoleName": roleName, "AssumeRolePolicyDocument": `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}`},
		400, "MalformedPolicyDocument")
	mustFail(t, c, "CreateRole", map[string]string{"RoleName": roleName, "AssumeRolePolicyDocument": trust, "MaxSessionDuration": "60"}, 400, "InvalidParameter")
	cr := mustOK(t, c, "CreateRole", map[string]string{"RoleName": roleName, "AssumeRolePolicyDocument": trust, "MaxSessionDuration": "7200"})
	if arn := str(dig(cr, "Role.Arn")); !strings.HasSuffix(arn, ":role/"+roleName) || str(dig(cr, "Role.MaxSessionDuration")) != "7200" {
		t.Errorf("CreateRole answered %v", cr)
	}
	mustOK(t, c, "UpdateRole", map[string]string{"RoleName": roleName, "NewDescription": "deploys", "NewMaxSessionDuration": "3600"})
	checkFields(t, "GetRole", mustOK(t, c, "GetRole", map[string]string{"RoleName": roleName}),
		map[string]string{"Role.Description": "deploys", "Role.MaxSessionDuration": "3600", "Role.AssumeRolePolicyDocument": trust})
	mustOK(t, c, "AttachPolicyToRole", map[string]string{"PolicyName": pol, "PolicyType": "Custom", "RoleName": roleName})
	mustFail(t, c, "DeleteRole", map[string]string{"RoleName": roleName}, 409, "DeleteConflict.Role.Policy")
	mustOK(t, c, "TagResources", map[string]string{"ResourceType": "role", "ResourceNames": jsonText(t, []string{roleName}),
		"Tag": jsonText(t, []map[string]string{{"Key": "env", "Value": "prod"}})})
	tags := mustOK(t, c, "ListTagResources", map[string]string{"ResourceType": "role", "ResourceNames": jsonText(t, []string{roleName})})
	if k := listed(tags, "TagResources", "TagKey"); !slices.Equal(k, []string{"env"}) {
		t.Errorf("ListTagResources = %v", tags)
	}
	mustOK(t, c, "UntagResources", map[string]string{"ResourceType": "role", "ResourceNames": jsonText(t, []string{roleName}),
		"TagKeys": jsonText(t, []string{"env"})})
	if k := listed(mustOK(t, c, "ListTagResources", map[string]string{"ResourceType": "role", "ResourceNames": jsonText(t, []string{roleName})}),
		"TagResources", "TagKey"); len(k) != 0 {
		t.Errorf("tags after UntagResources = %v", k)
	}
	mustFail(t, c, "ListTagResources", map[string]string{"ResourceType": "role", "ResourceNames": jsonText(t, []string{prefix + "-none"})}, 404, "EntityNotExist.Role")

	// Take everything apart again, in the order RAM requires.
	mustOK(t, c, "DetachPolicyFromRole", map[string]string{"PolicyName": pol, "PolicyType": "Custom", "RoleName": roleName})
	mustOK(t, c, "DeleteRole", map[string]string{"RoleName": roleName})
	mustFail(t, c, "GetRole", map[string]string{"RoleName": roleName}, 404, "EntityNotExist.Role")
	mustOK(t, c, "DetachPolicyFromUser", map[string]string{"PolicyName": pol, "PolicyType": "Custom", "UserName": user})
	mustFail(t, c, "DetachPolicyFromUser", map[string]string{"PolicyName": pol, "PolicyType": "Custom", "UserName": user}, 404, "EntityNotExist.User.Policy")
	mustOK(t, c, "DetachPolicyFromGroup", map[string]string{"PolicyName": "AliyunESAReadOnlyAccess", "PolicyType": "System", "GroupName": group})
	mustFail(t, c, "DeletePolicy", map[string]string{"PolicyName": pol}, 409, "DeleteConflict.Policy.Version")
	mustOK(t, c, "DeletePolicy", map[string]string{"PolicyName": pol, "CascadingDelete": "true"})
	mustOK(t, c, "RemoveUserFromGroup", map[string]string{"GroupName": group, "UserName": user})
	mustOK(t, c, "UpdateGroup", map[string]string{"GroupName": group, "NewGroupName": group + "-old"})
	mustOK(t, c, "DeleteGroup", map[string]string{"GroupName": group + "-old"})
	for _, id := range listed(mustOK(t, c, "ListAccessKeys", map[string]string{"UserName": user}), "AccessKeys.AccessKey", "AccessKeyId") {
		mustOK(t, c, "DeleteAccessKey", map[string]string{"UserName": user, "UserAccessKeyId": id})
	}
	mustFail(t, c, "DeleteAccessKey", map[string]string{"UserName": user, "UserAccessKeyId": keyID}, 404, "EntityNotExist.User.AccessKey")
	for _, u := range []string{user, user2} {
		mustOK(t, c, "DeleteUser", map[string]string{"UserName": u})
	}
	mustFail(t, c, "DeleteUser", map[string]string{"UserName": user}, 404, "EntityNotExist.User")
}
