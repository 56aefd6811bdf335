package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/user"
	"github.com/google/go-cmp/cmp"
)

const (
	docV1 = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:Get*","Resource":"*"}]}`
	docV2 = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:*","Resource":"*"}]}`
)

func testPolicies(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	p := rampolicy.Policy{Name: "read-esa", Type: rampolicy.TypeCustom, Description: "reads", DefaultVersion: "v1",
		Created: now, Updated: now, Tags: []domain.Tag{{Key: "team", Value: "edge"}}}
	v1 := rampolicy.Version{ID: "v1", Default: true, Document: docV1, Created: now}
	if err := s.CreatePolicy(ctx, p, v1, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePolicy(ctx, p, v1, 0); !errors.Is(err, rampolicy.ErrPolicyExists) {
		t.Errorf("CreatePolicy twice = %v, want ErrPolicyExists", err)
	}
	if err := s.CreatePolicy(ctx, rampolicy.Policy{Name: "second", Created: now, Updated: now}, v1, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePolicy(ctx, rampolicy.Policy{Name: "third", Created: now, Updated: now}, v1, 2); !errors.Is(err, rampolicy.ErrPolicyLimit) {
		t.Errorf("CreatePolicy over the limit = %v, want ErrPolicyLimit", err)
	}
	gotP, gotV, err := s.Policy(ctx, "read-esa")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(p, gotP); diff != "" {
		t.Errorf("Policy (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(v1, gotV); diff != "" {
		t.Errorf("default version (-want +got):\n%s", diff)
	}
	if _, _, err := s.Policy(ctx, "nope"); !errors.Is(err, rampolicy.ErrPolicyNotFound) {
		t.Errorf("Policy(nope) = %v, want ErrPolicyNotFound", err)
	}
	if list, err := s.ListPolicies(ctx, domain.Marker{Limit: 1}); err != nil || len(list) != 2 || list[0].Name != "read-esa" || len(list[0].Tags) != 1 {
		t.Errorf("ListPolicies = %+v, %v", list, err)
	}
	if err := s.SetDescription(ctx, "read-esa", "reads ESA", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := s.Policy(ctx, "read-esa"); got.Description != "reads ESA" || !got.Updated.Equal(now.Add(time.Hour)) {
		t.Errorf("after SetDescription: %+v", got)
	}

	// Versions: numbered on, at most max, rotated on request, the default
	// neither deleted nor rotated away.
	moved := ramRev(t, s)
	v2, err := s.CreateVersion(ctx, "read-esa", rampolicy.Version{Document: docV2, Created: now}, false, false, 3)
	if err != nil || v2.ID != "v2" || v2.Default {
		t.Fatalf("CreateVersion = %+v, %v; want v2, not the default", v2, err)
	}
	if moved() {
		t.Error("a version that is not the default moved the RAM revision")
	}
	if v3, err := s.CreateVersion(ctx, "read-esa", rampolicy.Version{Document: docV1, Created: now}, true, false, 3); err != nil || v3.ID != "v3" || !v3.Default {
		t.Fatalf("CreateVersion default = %+v, %v", v3, err)
	}
	if !moved() {
		t.Error("a new default version did not move the RAM revision")
	}
	if _, err := s.CreateVersion(ctx, "read-esa", rampolicy.Version{Document: docV1, Created: now}, false, false, 3); !errors.Is(err, rampolicy.ErrVersionLimit) {
		t.Errorf("fourth version = %v, want ErrVersionLimit", err)
	}
	if v4, err := s.CreateVersion(ctx, "read-esa", rampolicy.Version{Document: docV2, Created: now}, false, true, 3); err != nil || v4.ID != "v4" {
		t.Fatalf("rotated CreateVersion = %+v, %v", v4, err)
	}
	versions, err := s.Versions(ctx, "read-esa")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, v := range versions {
		ids = append(ids, v.ID)
		if v.Default != (v.ID == "v3") {
			t.Errorf("version %s Default = %v", v.ID, v.Default)
		}
	}
	if diff := cmp.Diff([]string{"v4", "v3", "v2"}, ids); diff != "" {
		t.Errorf("versions after rotation (-want +got):\n%s", diff)
	}
	if err := s.DeleteVersion(ctx, "read-esa", "v3"); !errors.Is(err, rampolicy.ErrDefaultVersion) {
		t.Errorf("DeleteVersion(default) = %v, want ErrDefaultVersion", err)
	}
	if err := s.DeleteVersion(ctx, "read-esa", "v1"); !errors.Is(err, rampolicy.ErrVersionNotFound) {
		t.Errorf("DeleteVersion(rotated away) = %v, want ErrVersionNotFound", err)
	}
	if err := s.SetDefaultVersion(ctx, "read-esa", "v9", now); !errors.Is(err, rampolicy.ErrVersionNotFound) {
		t.Errorf("SetDefaultVersion(v9) = %v, want ErrVersionNotFound", err)
	}
	if err := s.SetDefaultVersion(ctx, "read-esa", "v2", now); err != nil {
		t.Fatal(err)
	}
	if _, v, _ := s.Policy(ctx, "read-esa"); v.ID != "v2" || v.Document != docV2 {
		t.Errorf("default after SetDefaultVersion = %+v", v)
	}
	if v, err := s.Version(ctx, "read-esa", "v4"); err != nil || v.Default || v.Document != docV2 {
		t.Errorf("Version(v4) = %+v, %v", v, err)
	}

	// Attachments.
	if err := s.CreateUser(ctx, newUser("4000000000000001", "ann"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, group.Group{ID: "g-a", Name: "admins", Created: now, Updated: now}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRole(ctx, role.Role{ID: "5000000000000001", Name: "deployer", TrustDocument: "{}", MaxSessionDuration: 3600,
		Created: now, Updated: now}, 0); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ kind, name string }{{"user", "ann"}, {"group", "admins"}, {"role", "deployer"}} {
		if err := s.Attach(ctx, rampolicy.TypeCustom, "read-esa", a.kind, a.name, 2, now); err != nil {
			t.Fatalf("Attach to %s: %v", a.kind, err)
		}
	}
	if !moved() {
		t.Error("attaching did not move the RAM revision")
	}
	for _, tt := range []struct {
		name, typ, policy, kind, principal string
		want                               error
	}{
		{"fail/user_attached", "Custom", "read-esa", "user", "ann", rampolicy.ErrUserAttached},
		{"fail/group_attached", "Custom", "read-esa", "group", "admins", rampolicy.ErrGroupAttached},
		{"fail/role_attached", "Custom", "read-esa", "role", "deployer", rampolicy.ErrRoleAttached},
		{"fail/no_policy", "Custom", "nope", "user", "ann", rampolicy.ErrPolicyNotFound},
		{"fail/no_user", "Custom", "read-esa", "user", "nobody", user.ErrUserNotFound},
		{"fail/no_group", "Custom", "read-esa", "group", "nobody", group.ErrGroupNotFound},
		{"fail/no_role", "Custom", "read-esa", "role", "nobody", role.ErrRoleNotFound},
	} {
		if err := s.Attach(ctx, tt.typ, tt.policy, tt.kind, tt.principal, 2, now); !errors.Is(err, tt.want) {
			t.Errorf("%s: Attach = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := s.Attach(ctx, rampolicy.TypeCustom, "second", "user", "ann", 1, now); !errors.Is(err, rampolicy.ErrAttachLimit) {
		t.Errorf("Attach over the limit = %v, want ErrAttachLimit", err)
	}
	if err := s.Attach(ctx, rampolicy.TypeSystem, "AliyunESAFullAccess", "user", "ann", 1, now); err != nil {
		t.Fatal(err)
	}
	if n, err := s.AttachmentCount(ctx, rampolicy.TypeCustom, "read-esa"); err != nil || n != 3 {
		t.Errorf("AttachmentCount = %d, %v; want 3", n, err)
	}
	attached, err := s.PoliciesOf(ctx, "user", "ann")
	want := []rampolicy.Attached{
		{Name: "AliyunESAFullAccess", Type: rampolicy.TypeSystem, Attached: now},
		{Name: "read-esa", Type: rampolicy.TypeCustom, Description: "reads ESA", DefaultVersion: "v2", Attached: now},
	}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, attached); diff != "" {
		t.Errorf("PoliciesOf (-want +got):\n%s", diff)
	}
	if _, err := s.PoliciesOf(ctx, "role", "nobody"); !errors.Is(err, role.ErrRoleNotFound) {
		t.Errorf("PoliciesOf(nobody) = %v, want ErrRoleNotFound", err)
	}
	entities, err := s.Entities(ctx, rampolicy.TypeCustom, "read-esa")
	if err != nil || len(entities) != 3 || entities[0].Kind != "user" || entities[0].DisplayName != "ann display" ||
		entities[1].Name != "admins" || entities[2].ID != "5000000000000001" {
		t.Errorf("Entities = %+v, %v", entities, err)
	}

	// A policy in use cannot be deleted, nor one with other versions
	// unless the delete cascades.
	for _, tt := range []struct{ kind, name string }{{"user", "ann"}, {"group", "admins"}, {"role", "deployer"}} {
		want := map[string]error{"user": rampolicy.ErrAttachedToUser, "group": rampolicy.ErrAttachedToGroup, "role": rampolicy.ErrAttachedToRole}[tt.kind]
		if err := s.DeletePolicy(ctx, "read-esa", true); !errors.Is(err, want) {
			t.Errorf("DeletePolicy attached to a %s = %v, want %v", tt.kind, err, want)
		}
		if err := s.Detach(ctx, rampolicy.TypeCustom, "read-esa", tt.kind, tt.name); err != nil {
			t.Fatal(err)
		}
		notAttached := map[string]error{"user": rampolicy.ErrUserNotAttached, "group": rampolicy.ErrGroupNotAttached, "role": rampolicy.ErrRoleNotAttached}[tt.kind]
		if err := s.Detach(ctx, rampolicy.TypeCustom, "read-esa", tt.kind, tt.name); !errors.Is(err, notAttached) {
			t.Errorf("second Detach from a %s = %v, want %v", tt.kind, err, notAttached)
		}
	}
	if err := s.DeletePolicy(ctx, "read-esa", false); !errors.Is(err, rampolicy.ErrHasVersions) {
		t.Errorf("DeletePolicy with versions = %v, want ErrHasVersions", err)
	}
	if err := s.DeletePolicy(ctx, "read-esa", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Versions(ctx, "read-esa"); !errors.Is(err, rampolicy.ErrPolicyNotFound) {
		t.Errorf("Versions after delete = %v, want ErrPolicyNotFound", err)
	}
	if tags, err := s.Tags(ctx, rampolicy.TagKind, []string{"read-esa"}); err != nil || len(tags) != 0 {
		t.Errorf("tags after delete = %v, %v; want none", tags, err)
	}
}

func testTags(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	if err := s.CreatePolicy(ctx, rampolicy.Policy{Name: "tagged", Created: now, Updated: now},
		rampolicy.Version{Document: docV1, Created: now}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRole(ctx, role.Role{ID: "5100000000000001", Name: "tagged", TrustDocument: "{}", MaxSessionDuration: 3600,
		Created: now, Updated: now, Tags: []domain.Tag{{Key: "a", Value: "1"}}}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.TagResources(ctx, rampolicy.TagKind, []string{"tagged"}, []domain.Tag{{Key: "b", Value: "2"}, {Key: "a", Value: "1"}}, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.TagResources(ctx, rampolicy.TagKind, []string{"tagged"}, []domain.Tag{{Key: "a", Value: "one"}}, 3); err != nil {
		t.Fatal(err)
	}
	if err := s.TagResources(ctx, rampolicy.TagKind, []string{"tagged"}, []domain.Tag{{Key: "c", Value: "3"}, {Key: "d"}}, 3); !errors.Is(err, domain.ErrTagLimit) {
		t.Errorf("TagResources over the limit = %v, want ErrTagLimit", err)
	}
	got, err := s.Tags(ctx, rampolicy.TagKind, []string{"tagged", "untagged"})
	want := map[string][]domain.Tag{"tagged": {{Key: "a", Value: "one"}, {Key: "b", Value: "2"}}}
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("policy tags (-want +got):\n%s", diff)
	}
	if got, err := s.Tags(ctx, role.TagKind, []string{"tagged"}); err != nil || len(got["tagged"]) != 1 {
		t.Errorf("role tags = %v, %v; want the one it was created with (kinds are apart)", got, err)
	}
	if err := s.UntagResources(ctx, rampolicy.TagKind, []string{"tagged"}, []string{"a", "zz"}, false); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Tags(ctx, rampolicy.TagKind, []string{"tagged"}); len(got["tagged"]) != 1 || got["tagged"][0].Key != "b" {
		t.Errorf("after untag a: %v", got)
	}
	if err := s.UntagResources(ctx, role.TagKind, []string{"tagged"}, nil, true); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Tags(ctx, role.TagKind, []string{"tagged"}); len(got) != 0 {
		t.Errorf("after untag all: %v", got)
	}

	// Several resources change together or not at all.
	if err := s.CreatePolicy(ctx, rampolicy.Policy{Name: "full", Created: now, Updated: now},
		rampolicy.Version{Document: docV1, Created: now}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.TagResources(ctx, rampolicy.TagKind, []string{"full"}, []domain.Tag{{Key: "x"}, {Key: "y"}}, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.TagResources(ctx, rampolicy.TagKind, []string{"tagged", "full"}, []domain.Tag{{Key: "new"}}, 2); !errors.Is(err, domain.ErrTagLimit) {
		t.Errorf("TagResources(tagged, full) with full at the limit = %v, want ErrTagLimit", err)
	}
	if err := s.TagResources(ctx, rampolicy.TagKind, []string{"tagged", "nope"}, []domain.Tag{{Key: "new"}}, 2); !errors.Is(err, rampolicy.ErrPolicyNotFound) {
		t.Errorf("TagResources(tagged, nope) = %v, want ErrPolicyNotFound", err)
	}
	if err := s.UntagResources(ctx, rampolicy.TagKind, []string{"tagged", "nope"}, nil, true); !errors.Is(err, rampolicy.ErrPolicyNotFound) {
		t.Errorf("UntagResources(tagged, nope) = %v, want ErrPolicyNotFound", err)
	}
	want = map[string][]domain.Tag{"tagged": {{Key: "b", Value: "2"}}, "full": {{Key: "x"}, {Key: "y"}}}
	if got, _ := s.Tags(ctx, rampolicy.TagKind, []string{"tagged", "full"}); !cmp.Equal(want, got) {
		t.Errorf("after failed taggings of two policies: %v, want %v", got, want)
	}
	if err := s.TagResources(ctx, rampolicy.TagKind, []string{"full", "tagged", "full"}, []domain.Tag{{Key: "x", Value: "1"}}, 2); err != nil {
		t.Errorf("TagResources(full, tagged, full) overwriting x = %v", err)
	}
	if err := s.UntagResources(ctx, rampolicy.TagKind, []string{"tagged", "full"}, []string{"x"}, false); err != nil {
		t.Fatal(err)
	}
	want = map[string][]domain.Tag{"tagged": {{Key: "b", Value: "2"}}, "full": {{Key: "y"}}}
	if got, _ := s.Tags(ctx, rampolicy.TagKind, []string{"tagged", "full"}); !cmp.Equal(want, got) {
		t.Errorf("after tagging and untagging x on two policies: %v, want %v", got, want)
	}
	if err := s.TagResources(ctx, role.TagKind, []string{"nope"}, []domain.Tag{{Key: "a"}}, 3); !errors.Is(err, role.ErrRoleNotFound) {
		t.Errorf("tag a missing role = %v, want ErrRoleNotFound", err)
	}
	if err := s.UntagResources(ctx, rampolicy.TagKind, []string{"nope"}, nil, true); !errors.Is(err, rampolicy.ErrPolicyNotFound) {
		t.Errorf("untag a missing policy = %v, want ErrPolicyNotFound", err)
	}
}

// testGrants: a user's grants are its own policies and its groups', each
// custom one with its default version's document; a role's are its own.
func testGrants(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	if err := s.CreateUser(ctx, newUser("7000000000000001", "gina"), 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, group.Group{ID: "g-gr", Name: "readers", Created: now, Updated: now}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateRole(ctx, role.Role{ID: "7100000000000001", Name: "runner", TrustDocument: "{}", MaxSessionDuration: 3600,
		Created: now, Updated: now}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.CreatePolicy(ctx, rampolicy.Policy{Name: "own", Created: now, Updated: now}, rampolicy.Version{Document: docV1, Created: now}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateVersion(ctx, "own", rampolicy.Version{Document: docV2, Created: now}, true, false, 5); err != nil {
		t.Fatal(err)
	}
	for _, a := range []struct{ typ, policy, kind, principal string }{
		{"Custom", "own", "user", "gina"},
		{"System", "AliyunESAReadOnlyAccess", "group", "readers"},
		{"System", "AliyunSTSAssumeRoleAccess", "role", "runner"},
	} {
		if err := s.Attach(ctx, a.typ, a.policy, a.kind, a.principal, 0, now); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddMember(ctx, "readers", "gina", 5, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.Grants(ctx, "user", "7000000000000001")
	if err != nil {
		t.Fatal(err)
	}
	want := []identity.Grant{{PolicyType: "Custom", PolicyName: "own", Document: docV2},
		{PolicyType: "System", PolicyName: "AliyunESAReadOnlyAccess"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user grants (-want +got):\n%s", diff)
	}
	got, err = s.Grants(ctx, "role", "7100000000000001")
	if err != nil || len(got) != 1 || got[0].PolicyName != "AliyunSTSAssumeRoleAccess" {
		t.Errorf("role grants = %+v, %v", got, err)
	}
	if got, err := s.Grants(ctx, "user", "nobody"); err != nil || len(got) != 0 {
		t.Errorf("grants of nobody = %+v, %v", got, err)
	}
}
