package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/user"
	"github.com/google/go-cmp/cmp"
)

func testGroups(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	ops := group.Group{ID: "g-ops", Name: "ops", Comments: "operators", Created: now, Updated: now}
	dev := group.Group{ID: "g-dev", Name: "dev", Created: now, Updated: now}
	for _, g := range []group.Group{ops, dev} {
		if err := s.CreateGroup(ctx, g, 2); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		name string
		g    group.Group
		max  int
		want error
	}{
		{"fail/name_taken", group.Group{ID: "g-x", Name: "ops"}, 0, group.ErrGroupExists},
		{"fail/id_taken", group.Group{ID: "g-ops", Name: "x"}, 0, domain.ErrExists},
		{"fail/limit", group.Group{ID: "g-x", Name: "x"}, 2, group.ErrGroupLimit},
	} {
		if err := s.CreateGroup(ctx, tt.g, tt.max); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateGroup = %v, want %v", tt.name, err, tt.want)
		}
	}
	if got, err := s.Group(ctx, "ops"); err != nil || !cmp.Equal(ops, got) {
		t.Errorf("Group = %+v, %v; want %+v", got, err, ops)
	}
	if list, err := s.ListGroups(ctx, domain.Marker{Limit: 1}); err != nil || len(list) != 2 || list[0].Name != "dev" {
		t.Errorf("ListGroups = %+v, %v; want dev first and one more", list, err)
	}
	renamed := ops
	renamed.Name, renamed.Updated = "operators", now.Add(time.Minute)
	if err := s.UpdateGroup(ctx, "ops", renamed); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateGroup(ctx, "operators", func() group.Group { g := renamed; g.Name = "dev"; return g }()); !errors.Is(err, group.ErrGroupExists) {
		t.Errorf("rename onto dev = %v, want ErrGroupExists", err)
	}
	for _, u := range []string{"zed", "amy"} {
		if err := s.CreateUser(ctx, newUser("30000000000000"+map[string]string{"zed": "01", "amy": "02"}[u], u), 0); err != nil {
			t.Fatal(err)
		}
	}
	moved := ramRev(t, s)
	for _, u := range []string{"zed", "amy"} {
		if err := s.AddMember(ctx, "operators", u, 1, now); err != nil {
			t.Fatal(err)
		}
	}
	if !moved() {
		t.Error("joining a group did not move the RAM revision")
	}
	for _, tt := range []struct {
		name, group, user string
		want              error
	}{
		{"fail/member", "operators", "amy", group.ErrMember},
		{"fail/limit", "dev", "amy", group.ErrMembershipLimit},
		{"fail/no_group", "nope", "amy", group.ErrGroupNotFound},
		{"fail/no_user", "dev", "nobody", user.ErrUserNotFound},
	} {
		if err := s.AddMember(ctx, tt.group, tt.user, 1, now); !errors.Is(err, tt.want) {
			t.Errorf("%s: AddMember = %v, want %v", tt.name, err, tt.want)
		}
	}
	members, err := s.Members(ctx, "operators", domain.Marker{Limit: 1})
	if err != nil || len(members) != 2 || members[0].UserName != "amy" || members[0].DisplayName != "amy display" {
		t.Errorf("Members = %+v, %v; want amy first and one more", members, err)
	}
	if members, err := s.Members(ctx, "operators", domain.Marker{After: "amy", Limit: 1}); err != nil || len(members) != 1 || members[0].UserName != "zed" {
		t.Errorf("Members after amy = %+v, %v; want zed", members, err)
	}
	if _, err := s.Members(ctx, "nope", domain.Marker{Limit: 1}); !errors.Is(err, group.ErrGroupNotFound) {
		t.Errorf("Members(nope) = %v, want ErrGroupNotFound", err)
	}
	mine, err := s.GroupsOfUser(ctx, "amy")
	if err != nil || len(mine) != 1 || mine[0].Name != "operators" || mine[0].Comments != "operators" || !mine[0].Joined.Equal(now) {
		t.Errorf("GroupsOfUser = %+v, %v", mine, err)
	}
	if err := s.DeleteGroup(ctx, "operators"); !errors.Is(err, group.ErrHasMembers) {
		t.Errorf("DeleteGroup with members = %v, want ErrHasMembers", err)
	}
	for _, u := range []string{"zed", "amy"} {
		if err := s.RemoveMember(ctx, "operators", u); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RemoveMember(ctx, "operators", "amy"); !errors.Is(err, group.ErrNotMember) {
		t.Errorf("second RemoveMember = %v, want ErrNotMember", err)
	}
	if err := s.Attach(ctx, rampolicy.TypeSystem, "AliyunESAReadOnlyAccess", rampolicy.KindGroup, "operators", 0, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "operators"); !errors.Is(err, group.ErrHasPolicy) {
		t.Errorf("DeleteGroup with a policy = %v, want ErrHasPolicy", err)
	}
	if err := s.Detach(ctx, rampolicy.TypeSystem, "AliyunESAReadOnlyAccess", rampolicy.KindGroup, "operators"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup(ctx, "operators"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Group(ctx, "operators"); !errors.Is(err, group.ErrGroupNotFound) {
		t.Errorf("Group after delete = %v, want ErrGroupNotFound", err)
	}
}
