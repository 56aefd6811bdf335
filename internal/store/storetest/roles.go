package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/role"
	"github.com/google/go-cmp/cmp"
)

const trustDoc = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"acs:ram::1:root"}}]}`

func testRoles(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	deployer := role.Role{ID: "6000000000000001", Name: "deployer", Description: "deploys", TrustDocument: trustDoc,
		MaxSessionDuration: 7200, Created: now, Updated: now, Tags: []domain.Tag{{Key: "env", Value: "prod"}}}
	reader := role.Role{ID: "6000000000000002", Name: "auditor", TrustDocument: trustDoc, MaxSessionDuration: 3600, Created: now, Updated: now}
	moved := ramRev(t, s)
	for _, r := range []role.Role{deployer, reader} {
		if err := s.CreateRole(ctx, r, 2); err != nil {
			t.Fatal(err)
		}
	}
	if !moved() {
		t.Error("creating roles did not move the RAM revision")
	}
	for _, tt := range []struct {
		name string
		r    role.Role
		max  int
		want error
	}{
		{"fail/name_taken", role.Role{ID: "6000000000000009", Name: "deployer"}, 0, role.ErrRoleExists},
		{"fail/id_taken", role.Role{ID: "6000000000000001", Name: "x"}, 0, domain.ErrExists},
		{"fail/limit", role.Role{ID: "6000000000000009", Name: "x"}, 2, role.ErrRoleLimit},
	} {
		if err := s.CreateRole(ctx, tt.r, tt.max); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateRole = %v, want %v", tt.name, err, tt.want)
		}
	}
	for _, get := range []func() (role.Role, error){
		func() (role.Role, error) { return s.Role(ctx, "deployer") },
		func() (role.Role, error) { return s.RoleByID(ctx, "6000000000000001") },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(deployer, got); diff != "" {
			t.Errorf("Role (-want +got):\n%s", diff)
		}
	}
	if _, err := s.RoleByID(ctx, "nope"); !errors.Is(err, role.ErrRoleNotFound) {
		t.Errorf("RoleByID(nope) = %v, want ErrRoleNotFound", err)
	}
	if list, err := s.ListRoles(ctx, domain.Marker{Limit: 1}); err != nil || len(list) != 2 || list[0].Name != "auditor" || list[1].Tags[0].Value != "prod" {
		t.Errorf("ListRoles = %+v, %v", list, err)
	}
	changed := deployer
	changed.Description, changed.MaxSessionDuration, changed.Updated = "", 43200, now.Add(time.Hour)
	if err := s.UpdateRole(ctx, changed); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Role(ctx, "deployer"); got.Description != "" || got.MaxSessionDuration != 43200 {
		t.Errorf("after UpdateRole: %+v", got)
	}
	if err := s.UpdateRole(ctx, role.Role{Name: "nope"}); !errors.Is(err, role.ErrRoleNotFound) {
		t.Errorf("UpdateRole(nope) = %v, want ErrRoleNotFound", err)
	}
	if err := s.Attach(ctx, rampolicy.TypeSystem, "AliyunESAFullAccess", rampolicy.KindRole, "deployer", 0, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRole(ctx, "deployer"); !errors.Is(err, role.ErrHasPolicy) {
		t.Errorf("DeleteRole with a policy = %v, want ErrHasPolicy", err)
	}
	if err := s.Detach(ctx, rampolicy.TypeSystem, "AliyunESAFullAccess", rampolicy.KindRole, "deployer"); err != nil {
		t.Fatal(err)
	}
	moved()
	if err := s.DeleteRole(ctx, "deployer"); err != nil {
		t.Fatal(err)
	}
	if !moved() {
		t.Error("deleting a role did not move the RAM revision")
	}
	if _, err := s.Role(ctx, "deployer"); !errors.Is(err, role.ErrRoleNotFound) {
		t.Errorf("Role after delete = %v, want ErrRoleNotFound", err)
	}
	if tags, _ := s.Tags(ctx, role.TagKind, []string{"deployer"}); len(tags) != 0 {
		t.Errorf("tags outlived the role: %v", tags)
	}
}

// testSTSKey: the first server key claimed is the one every later claim
// (another node's) gets back.
func testSTSKey(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	id, sealed, err := s.ClaimSTSKey(ctx, "k1", []byte("first"))
	if err != nil || id != "k1" || string(sealed) != "first" {
		t.Fatalf("first ClaimSTSKey = %q, %q, %v", id, sealed, err)
	}
	id, sealed, err = s.ClaimSTSKey(ctx, "k1", []byte("second"))
	if err != nil || id != "k1" || string(sealed) != "first" {
		t.Fatalf("second ClaimSTSKey = %q, %q, %v; want the first key kept", id, sealed, err)
	}
}
