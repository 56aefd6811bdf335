package clienttest

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	sdkerrors "github.com/aliyun/alibaba-cloud-sdk-go/sdk/errors"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/esacert/esacert/internal/accesskey"
)

// tfOldSDK sends RAM requests the way the Terraform provider's old-SDK
// paths do (alicloud_ram_user's create, read and delete): alibaba-cloud-sdk-go,
// POST, every parameter in the query, the RPC HMAC-SHA1 signature.
type tfOldSDK struct {
	client *sdk.Client
	addr   string
}

func newTFOldSDK(t *testing.T, addr string, key accesskey.Key) tfOldSDK {
	c, err := sdk.NewClientWithAccessKey("cn-hangzhou", key.ID, key.Secret)
	if err != nil {
		t.Fatal(err)
	}
	return tfOldSDK{c, addr}
}

// do returns the answer's body, or the error's HTTP status and Code.
func (c tfOldSDK) do(t *testing.T, action string, params map[string]string) (map[string]any, *apiError) {
	t.Helper()
	req := requests.NewCommonRequest()
	req.Method, req.Scheme, req.Domain, req.Version, req.ApiName = "POST", "http", c.addr, "2015-05-01", action
	for k, v := range params {
		req.QueryParams[k] = v
	}
	resp, err := c.client.ProcessCommonRequest(req)
	if err != nil {
		var se *sdkerrors.ServerError
		if !errors.As(err, &se) {
			t.Fatalf("%s: %T %v", action, err, err)
		}
		return nil, &apiError{Status: se.HttpStatus(), Code: se.ErrorCode(), Message: se.Message()}
	}
	return decode(t, resp.GetHttpContentBytes()), nil
}

// describeRAMUser is the provider's DescribeRamUser: ListUsers 100 at a
// time until the id (or name) shows up, then GetUser. ok false is NotFound
// (the resource leaves the state).
func describeRAMUser(t *testing.T, old tfOldSDK, id string) (map[string]any, bool) {
	t.Helper()
	name := ""
	for marker, pages := "", 0; pages < 100; pages++ {
		p := map[string]string{"MaxItems": "100"}
		if marker != "" {
			p["Marker"] = marker
		}
		list, err := old.do(t, "ListUsers", p)
		if err != nil {
			t.Fatalf("ListUsers: %v", err)
		}
		items, _ := dig(list, "Users.User").([]any)
		for _, u := range items {
			if str(dig(u, "UserId")) == id || str(dig(u, "UserName")) == id {
				name = str(dig(u, "UserName"))
			}
		}
		if name != "" || dig(list, "IsTruncated") != true {
			break
		}
		marker = str(list["Marker"])
	}
	if name == "" {
		return nil, false
	}
	got, err := old.do(t, "GetUser", map[string]string{"UserName": name})
	if err != nil {
		if err.Code == "EntityNotExist.User" {
			return nil, false
		}
		t.Fatalf("GetUser: %v", err)
	}
	return got, true
}

// TestTerraformRAMUserLifecycle replays alicloud_ram_user (research §8.1):
// create and read with the old SDK, update with tea-rpc (NewUserName equal
// to the name, a cleared field sent empty), force delete (keys, policies,
// groups, login profile and MFA device, each answered as the provider
// tolerates), and the refresh that finds it gone.
func TestTerraformRAMUserLifecycle(t *testing.T) {
	addr, key := startNode(t)
	old, tf := newTFOldSDK(t, addr, key), tfClient{addr, key}
	created, err := old.do(t, "CreateUser", map[string]string{"RegionId": "cn-hangzhou", "UserName": "tf-user",
		"DisplayName": "TF user", "MobilePhone": "86-18600008888", "Email": "tf@example.com", "Comments": "made by terraform"})
	if err != nil {
		t.Fatal(err)
	}
	id := str(dig(created, "User.UserId")) // d.SetId(UserId)
	read := func(want map[string]string) {
		t.Helper()
		got, ok := describeRAMUser(t, old, id)
		if !ok {
			t.Fatal("read: the user is gone")
		}
		checkFields(t, "read", got, want)
	}
	read(map[string]string{"User.UserId": id, "User.UserName": "tf-user", "User.DisplayName": "TF user",
		"User.MobilePhone": "86-18600008888", "User.Email": "tf@example.com", "User.Comments": "made by terraform"})

	// Update: email cleared, comments changed, the name sent unchanged.
	up := tf.do(t, "POST", "UpdateUser", map[string]string{"UserName": "tf-user", "NewUserName": "tf-user",
		"NewDisplayName": "TF user", "NewMobilePhone": "86-18600008888", "NewEmail": "", "NewComments": "changed"})
	if up.status != 200 {
		t.Fatalf("update: %d %v", up.status, up.body)
	}
	read(map[string]string{"User.Email": "", "User.Comments": "changed", "User.UserName": "tf-user"})
	// A rename keeps the id, which the resource is known by.
	if up := tf.do(t, "POST", "UpdateUser", map[string]string{"UserName": "tf-user", "NewUserName": "tf-user2"}); up.status != 200 {
		t.Fatalf("rename: %d %v", up.status, up.body)
	}
	read(map[string]string{"User.UserName": "tf-user2", "User.UserId": id})

	// What force = true deletes: give the user a key, a policy and a group.
	for _, call := range []struct {
		action string
		p      map[string]string
	}{
		{"CreateAccessKey", map[string]string{"UserName": "tf-user2"}},
		{"AttachPolicyToUser", map[string]string{"UserName": "tf-user2", "PolicyName": "AliyunESAReadOnlyAccess", "PolicyType": "System"}},
		{"CreateGroup", map[string]string{"GroupName": "tf-group"}},
		{"AddUserToGroup", map[string]string{"UserName": "tf-user2", "GroupName": "tf-group"}},
	} {
		if _, err := old.do(t, call.action, call.p); err != nil {
			t.Fatalf("%s: %v", call.action, err)
		}
	}
	// Without force the provider only deletes, and the conflict tells the user to set force.
	if _, err := old.do(t, "DeleteUser", map[string]string{"UserName": "tf-user2"}); err == nil || !strings.HasPrefix(err.Code, "DeleteConflict.User.") {
		t.Fatalf("plain delete = %v, want a DeleteConflict.User.* code", err)
	}
	got, _ := describeRAMUser(t, old, id)
	name := str(dig(got, "User.UserName"))
	keys, _ := old.do(t, "ListAccessKeys", map[string]string{"UserName": name})
	for _, k := range listed(keys, "AccessKeys.AccessKey", "AccessKeyId") {
		if _, err := old.do(t, "DeleteAccessKey", map[string]string{"UserAccessKeyId": k, "UserName": name}); err != nil {
			t.Fatalf("DeleteAccessKey: %v", err)
		}
	}
	pols, _ := old.do(t, "ListPoliciesForUser", map[string]string{"UserName": name})
	items, _ := dig(pols, "Policies.Policy").([]any)
	for _, p := range items {
		if _, err := old.do(t, "DetachPolicyFromUser", map[string]string{"PolicyName": str(dig(p, "PolicyName")),
			"PolicyType": str(dig(p, "PolicyType")), "UserName": name}); err != nil {
			t.Fatalf("DetachPolicyFromUser: %v", err)
		}
	}
	groups, _ := old.do(t, "ListGroupsForUser", map[string]string{"UserName": name})
	for _, g := range listed(groups, "Groups.Group", "GroupName") {
		if _, err := old.do(t, "RemoveUserFromGroup", map[string]string{"UserName": name, "GroupName": g}); err != nil {
			t.Fatalf("RemoveUserFromGroup: %v", err)
		}
	}
	// The provider tolerates exactly these codes (IsExpectedErrors).
	if _, err := old.do(t, "DeleteLoginProfile", map[string]string{"UserName": name}); err == nil || err.Code != "EntityNotExist.User.LoginProfile" {
		t.Fatalf("DeleteLoginProfile = %v, want EntityNotExist.User.LoginProfile", err)
	}
	if _, err := old.do(t, "UnbindMFADevice", map[string]string{"UserName": name}); err == nil || err.Code != "EntityNotExist.User.MFADevice" {
		t.Fatalf("UnbindMFADevice = %v, want EntityNotExist.User.MFADevice", err)
	}
	if _, err := old.do(t, "DeleteUser", map[string]string{"UserName": name}); err != nil {
		t.Fatalf("DeleteUser: %v", err)
	}
	if _, ok := describeRAMUser(t, old, id); ok { // WaitForRamUser(id, Deleted), and every later refresh
		t.Fatal("the user is still listed after its delete")
	}
}

// TestTerraformRAMAccessKeyLifecycle replays alicloud_ram_access_key
// (research §8.2): create, set the status, read through ListAccessKeys
// (UserName sent, and sent empty by a key that names no user: the caller's
// own keys), and delete, a second delete counting as done (404).
func TestTerraformRAMAccessKeyLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	if got := tf.do(t, "POST", "CreateUser", map[string]string{"UserName": "tf-key-user"}); got.status != 200 {
		t.Fatalf("CreateUser: %d %v", got.status, got.body)
	}
	created := tf.do(t, "POST", "CreateAccessKey", map[string]string{"UserName": "tf-key-user"})
	id, secret := str(dig(created.body, "AccessKey.AccessKeyId")), str(dig(created.body, "AccessKey.AccessKeySecret"))
	if created.status != 200 || id == "" || secret == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	// secret_file: the whole AccessKey object is written out as it came.
	if b, _ := json.Marshal(created.body["AccessKey"]); !strings.Contains(string(b), `"CreateDate"`) {
		t.Errorf("AccessKey lacks CreateDate: %s", b)
	}
	read := func(status string) {
		t.Helper()
		got := tf.do(t, "POST", "ListAccessKeys", map[string]string{"UserName": "tf-key-user"})
		items, _ := dig(got.body, "AccessKeys.AccessKey").([]any)
		for _, k := range items {
			if str(dig(k, "AccessKeyId")) == id {
				if s := str(dig(k, "Status")); s != status {
					t.Errorf("read: status %s, want %s", s, status)
				}
				if str(dig(k, "CreateDate")) == "" {
					t.Error("read: no CreateDate")
				}
				noSecrets(t, "ListAccessKeys", got.body, secret)
				return
			}
		}
		t.Fatalf("read: the key is not listed: %d %v", got.status, got.body)
	}
	for _, status := range []string{"Inactive", "Active"} {
		if got := tf.do(t, "POST", "UpdateAccessKey", map[string]string{"UserAccessKeyId": id, "Status": status, "UserName": "tf-key-user"}); got.status != 200 {
			t.Fatalf("update to %s: %d %v", status, got.status, got.body)
		}
		read(status)
	}
	// A key resource without user_name reads with UserName empty: the
	// root key has no RAM user, which is said plainly.
	if got := tf.do(t, "POST", "ListAccessKeys", map[string]string{"UserName": ""}); got.status != 400 || got.body["Code"] != "MissingParameter" {
		t.Errorf("root ListAccessKeys = %d %v, want 400 MissingParameter", got.status, got.body)
	}
	for i, want := range []int{200, 404} {
		got := tf.do(t, "POST", "DeleteAccessKey", map[string]string{"UserAccessKeyId": id, "UserName": "tf-key-user"})
		if got.status != want {
			t.Fatalf("delete #%d: %d %v, want %d", i+1, got.status, got.body, want)
		}
	}
	if got := tf.do(t, "POST", "ListAccessKeys", map[string]string{"UserName": "tf-key-user"}); len(listed(got.body, "AccessKeys.AccessKey", "AccessKeyId")) != 0 {
		t.Errorf("keys after delete: %v", got.body)
	}
}

// TestTerraformRAMPolicyLifecycle replays alicloud_ram_policy (research
// §8.3): create with tags, read (GetPolicy as Custom, the document as
// stored, then ListTagResources), change the document (a new default
// version; the sixth fails without a rotate strategy and passes with one),
// the description and the tags, and force delete.
func TestTerraformRAMPolicyLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	doc := func(action string) string {
		return `{"Statement":[{"Action":"` + action + `","Effect":"Allow","Resource":"*"}],"Version":"1"}`
	}
	created := tf.do(t, "POST", "CreatePolicy", map[string]string{"PolicyName": "tf-policy", "PolicyDocument": doc("esa:Get*"),
		"Description": "made by terraform", "Tag": `[{"Key":"team","Value":"edge"}]`})
	if created.status != 200 || str(dig(created.body, "Policy.PolicyName")) != "tf-policy" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	read := func(document, description string, tags map[string]string) {
		t.Helper()
		got := tf.do(t, "POST", "GetPolicy", map[string]string{"PolicyName": "tf-policy", "PolicyType": "Custom"})
		if got.status != 200 {
			t.Fatalf("read: %d %v", got.status, got.body)
		}
		if _, ok := dig(got.body, "DefaultPolicyVersion.PolicyDocument").(string); !ok {
			t.Fatalf("read: DefaultPolicyVersion.PolicyDocument is not a string (the provider panics): %v", got.body)
		}
		checkFields(t, "read", got.body, map[string]string{"DefaultPolicyVersion.PolicyDocument": document,
			"Policy.Description": description, "Policy.PolicyType": "Custom", "Policy.AttachmentCount": "0"})
		for _, f := range []string{"Policy.CreateDate", "Policy.DefaultVersion", "DefaultPolicyVersion.VersionId"} {
			if str(dig(got.body, f)) == "" {
				t.Errorf("read: %s is empty", f)
			}
		}
		tagged := tf.do(t, "POST", "ListTagResources", map[string]string{"ResourceType": "policy", "ResourceNames": `["tf-policy"]`})
		if tagged.status != 200 {
			t.Fatalf("read tags: %d %v", tagged.status, tagged.body)
		}
		gotTags := map[string]string{}
		items, _ := tagged.body["TagResources"].([]any)
		for _, it := range items {
			gotTags[str(dig(it, "TagKey"))] = str(dig(it, "TagValue"))
		}
		if len(gotTags) != len(tags) {
			t.Errorf("read tags = %v, want %v", gotTags, tags)
		}
		for k, v := range tags {
			if gotTags[k] != v {
				t.Errorf("read tags = %v, want %v", gotTags, tags)
			}
		}
	}
	read(doc("esa:Get*"), "made by terraform", map[string]string{"team": "edge"})

	// Document changes: versions v2…v5, then the sixth needs a rotation.
	for i, a := range []string{"esa:List*", "esa:Describe*", "esa:Check*", "esa:SetCertificate"} {
		got := tf.do(t, "POST", "CreatePolicyVersion", map[string]string{"PolicyName": "tf-policy", "PolicyDocument": doc(a), "SetAsDefault": "true"})
		if got.status != 200 || str(dig(got.body, "PolicyVersion.VersionId")) != "v"+itoa(i+2) {
			t.Fatalf("version %d: %d %v", i+2, got.status, got.body)
		}
	}
	if got := tf.do(t, "POST", "CreatePolicyVersion", map[string]string{"PolicyName": "tf-policy", "PolicyDocument": doc("esa:*"),
		"SetAsDefault": "true"}); got.status != 409 || got.body["Code"] != "LimitExceeded.Policy.Version" {
		t.Fatalf("sixth version = %d %v, want 409 LimitExceeded.Policy.Version", got.status, got.body)
	}
	if got := tf.do(t, "POST", "CreatePolicyVersion", map[string]string{"PolicyName": "tf-policy", "PolicyDocument": doc("esa:*"),
		"SetAsDefault": "true", "RotateStrategy": "DeleteOldestNonDefaultVersionWhenLimitExceeded"}); got.status != 200 {
		t.Fatalf("rotated sixth version: %d %v", got.status, got.body)
	}
	if got := tf.do(t, "POST", "UpdatePolicyDescription", map[string]string{"PolicyName": "tf-policy", "NewDescription": "changed"}); got.status != 200 {
		t.Fatalf("description: %d %v", got.status, got.body)
	}
	if got := tf.do(t, "POST", "UntagResources", map[string]string{"ResourceNames": `["tf-policy"]`, "ResourceType": "policy",
		"TagKey.1": "team", "TagKeys": `["team"]`}); got.status != 200 {
		t.Fatalf("untag: %d %v", got.status, got.body)
	}
	if got := tf.do(t, "POST", "TagResources", map[string]string{"ResourceNames": `["tf-policy"]`, "ResourceType": "policy",
		"Tag": `[{"Key":"owner","Value":"ops"}]`}); got.status != 200 {
		t.Fatalf("tag: %d %v", got.status, got.body)
	}
	read(doc("esa:*"), "changed", map[string]string{"owner": "ops"})

	// Force delete: detach from every entity, delete the versions that are
	// not the default, then delete with CascadingDelete.
	if got := tf.do(t, "POST", "CreateUser", map[string]string{"UserName": "tf-policy-user"}); got.status != 200 {
		t.Fatal(got.body)
	}
	if got := tf.do(t, "POST", "AttachPolicyToUser", map[string]string{"PolicyName": "tf-policy", "PolicyType": "Custom", "UserName": "tf-policy-user"}); got.status != 200 {
		t.Fatal(got.body)
	}
	ents := tf.do(t, "POST", "ListEntitiesForPolicy", map[string]string{"PolicyName": "tf-policy", "PolicyType": "Custom"})
	for _, path := range []string{"Users.User", "Groups.Group", "Roles.Role"} {
		if _, ok := dig(ents.body, path).([]any); !ok {
			t.Fatalf("ListEntitiesForPolicy lacks %s (jsonpath fails): %v", path, ents.body)
		}
	}
	for _, u := range listed(ents.body, "Users.User", "UserName") {
		if got := tf.do(t, "POST", "DetachPolicyFromUser", map[string]string{"PolicyName": "tf-policy", "PolicyType": "Custom", "UserName": u}); got.status != 200 {
			t.Fatal(got.body)
		}
	}
	versions := tf.do(t, "POST", "ListPolicyVersions", map[string]string{"PolicyName": "tf-policy", "PolicyType": "Custom"})
	items, _ := dig(versions.body, "PolicyVersions.PolicyVersion").([]any)
	for _, v := range items {
		if dig(v, "IsDefaultVersion") != true {
			if got := tf.do(t, "POST", "DeletePolicyVersion", map[string]string{"PolicyName": "tf-policy", "VersionId": str(dig(v, "VersionId"))}); got.status != 200 {
				t.Fatal(got.body)
			}
		}
	}
	if got := tf.do(t, "POST", "DeletePolicy", map[string]string{"PolicyName": "tf-policy", "CascadingDelete": "true"}); got.status != 200 {
		t.Fatalf("delete: %d %v", got.status, got.body)
	}
	for _, action := range []string{"GetPolicy", "DeletePolicy"} {
		got := tf.do(t, "POST", action, map[string]string{"PolicyName": "tf-policy", "PolicyType": "Custom", "CascadingDelete": "true"})
		if got.status != 404 || got.body["Code"] != "EntityNotExist.Policy" {
			t.Errorf("%s after delete: %d %v, want 404 EntityNotExist.Policy", action, got.status, got.body)
		}
	}
}

// TestTerraformRAMUserPolicyAttachmentLifecycle replays
// alicloud_ram_user_policy_attachment (research §8.4): attach, read
// through ListPoliciesForUser (exact name and type), detach, a second
// detach answering a code the provider counts as done, and the read of an
// attachment whose user is gone (404).
func TestTerraformRAMUserPolicyAttachmentLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	if got := tf.do(t, "POST", "CreateUser", map[string]string{"UserName": "tf-att-user"}); got.status != 200 {
		t.Fatal(got.body)
	}
	att := map[string]string{"PolicyName": "AliyunESAFullAccess", "PolicyType": "System", "UserName": "tf-att-user"}
	if got := tf.do(t, "POST", "AttachPolicyToUser", att); got.status != 200 {
		t.Fatalf("create: %d %v", got.status, got.body)
	}
	id := "user:" + att["PolicyName"] + ":" + att["PolicyType"] + ":" + att["UserName"]
	parts := strings.Split(id, ":")
	read := func() bool {
		t.Helper()
		got := tf.do(t, "POST", "ListPoliciesForUser", map[string]string{"UserName": parts[3]})
		if got.status == 404 && got.body["Code"] == "EntityNotExist.User" {
			return false
		}
		items, _ := dig(got.body, "Policies.Policy").([]any)
		for _, it := range items {
			if str(dig(it, "PolicyName")) == parts[1] && str(dig(it, "PolicyType")) == parts[2] {
				return true
			}
		}
		return false
	}
	if !read() {
		t.Fatal("read: the attachment is not listed")
	}
	for i, wantStatus := range []int{200, 404} {
		got := tf.do(t, "POST", "DetachPolicyFromUser", map[string]string{"PolicyType": parts[2], "PolicyName": parts[1], "UserName": parts[3]})
		if got.status != wantStatus || (wantStatus == 404 && got.body["Code"] != "EntityNotExist.User.Policy") {
			t.Fatalf("delete #%d: %d %v", i+1, got.status, got.body)
		}
	}
	if read() {
		t.Fatal("read after delete: still attached")
	}
	if got := tf.do(t, "POST", "DeleteUser", map[string]string{"UserName": "tf-att-user"}); got.status != 200 {
		t.Fatal(got.body)
	}
	if read() {
		t.Fatal("read after the user's delete: still attached")
	}
}

// TestTerraformRAMRoleLifecycle replays alicloud_ram_role (research §8.5):
// create with a trust policy and tags, read (GetRole; Statement[0].Principal
// must be an object; ListTagResources), update description, session length
// and trust policy, and force delete.
func TestTerraformRAMRoleLifecycle(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	alias := tf.do(t, "POST", "GetAccountAlias", nil)
	account := str(alias.body["AccountAlias"])
	trust := `{"Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"RAM":["acs:ram::` + account + `:root"]}}],"Version":"1"}`
	created := tf.do(t, "POST", "CreateRole", map[string]string{"RoleName": "tf-role", "AssumeRolePolicyDocument": trust,
		"Description": "made by terraform", "MaxSessionDuration": "7200", "Tag": `[{"Key":"env","Value":"prod"}]`})
	if created.status != 200 || str(dig(created.body, "Role.RoleName")) != "tf-role" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	read := func(want map[string]string) {
		t.Helper()
		got := tf.do(t, "POST", "GetRole", map[string]string{"RoleName": "tf-role"})
		if got.status != 200 {
			t.Fatalf("read: %d %v", got.status, got.body)
		}
		checkFields(t, "read", got.body, want)
		var doc struct{ Statement []struct{ Principal any } }
		if err := json.Unmarshal([]byte(str(dig(got.body, "Role.AssumeRolePolicyDocument"))), &doc); err != nil || len(doc.Statement) == 0 {
			t.Fatalf("read: the trust policy does not parse: %v", err)
		}
		if _, ok := doc.Statement[0].Principal.(map[string]any); !ok {
			t.Fatalf("read: Statement[0].Principal is not an object (the provider panics)")
		}
		for _, f := range []string{"Role.Arn", "Role.RoleId", "Role.CreateDate"} {
			if str(dig(got.body, f)) == "" {
				t.Errorf("read: %s is empty", f)
			}
		}
		if tags := tf.do(t, "POST", "ListTagResources", map[string]string{"ResourceType": "role", "ResourceNames": `["tf-role"]`}); tags.status != 200 {
			t.Fatalf("read tags: %d %v", tags.status, tags.body)
		}
	}
	read(map[string]string{"Role.Description": "made by terraform", "Role.MaxSessionDuration": "7200",
		"Role.AssumeRolePolicyDocument": trust, "Role.Arn": "acs:ram::" + account + ":role/tf-role"})
	trust2 := strings.Replace(trust, `["acs:ram::`+account+`:root"]`, `["acs:ram::`+account+`:user/deployer"]`, 1)
	if got := tf.do(t, "POST", "UpdateRole", map[string]string{"RoleName": "tf-role", "NewDescription": "changed",
		"NewMaxSessionDuration": "43200", "NewAssumeRolePolicyDocument": trust2}); got.status != 200 {
		t.Fatalf("update: %d %v", got.status, got.body)
	}
	read(map[string]string{"Role.Description": "changed", "Role.MaxSessionDuration": "43200", "Role.AssumeRolePolicyDocument": trust2})
	if got := tf.do(t, "POST", "UpdateRole", map[string]string{"RoleName": "tf-role", "NewMaxSessionDuration": "43201"}); got.status != 400 {
		t.Errorf("update beyond 43200 s: %d %v, want 400", got.status, got.body)
	}
	if got := tf.do(t, "POST", "AttachPolicyToRole", map[string]string{"RoleName": "tf-role", "PolicyName": "AliyunESAFullAccess", "PolicyType": "System"}); got.status != 200 {
		t.Fatal(got.body)
	}
	// Force delete: detach every policy, then delete.
	pols := tf.do(t, "POST", "ListPoliciesForRole", map[string]string{"RoleName": "tf-role"})
	items, _ := dig(pols.body, "Policies.Policy").([]any)
	for _, p := range items {
		if got := tf.do(t, "POST", "DetachPolicyFromRole", map[string]string{"RoleName": "tf-role", "PolicyName": str(dig(p, "PolicyName")),
			"PolicyType": str(dig(p, "PolicyType"))}); got.status != 200 {
			t.Fatal(got.body)
		}
	}
	for i, want := range []int{200, 404} {
		if got := tf.do(t, "POST", "DeleteRole", map[string]string{"RoleName": "tf-role"}); got.status != want {
			t.Fatalf("delete #%d: %d %v, want %d", i+1, got.status, got.body, want)
		}
	}
	if got := tf.do(t, "POST", "GetRole", map[string]string{"RoleName": "tf-role"}); got.status != 404 || got.body["Code"] != "EntityNotExist.Role" {
		t.Errorf("read after delete: %d %v", got.status, got.body)
	}
}
