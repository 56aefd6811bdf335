package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/account"
	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/group"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/session"
	"github.com/esacert/esacert/internal/user"
	"github.com/google/go-cmp/cmp"
)

// ramStore is what the access-control tests need: a Store that keeps the
// account, users, their keys, groups, policies and roles, and the RAM
// revision the nodes' caches follow.
type ramStore interface {
	Store
	account.Store
	user.Store
	accesskey.Store
	group.Store
	group.MemberStore
	rampolicy.Store
	rampolicy.VersionStore
	rampolicy.AttachmentStore
	rampolicy.TagStore
	role.Store
	identity.Store
	session.KeyStore
}

func asRAM(t *testing.T, st Store) ramStore {
	t.Helper()
	s, ok := st.(ramStore)
	if !ok {
		t.Fatalf("%T does not store RAM identities", st)
	}
	return s
}

func newUser(id, name string) user.User {
	return user.User{ID: id, Name: name, DisplayName: name + " display", Email: name + "@example.com",
		MobilePhone: "86-18600008888", Comments: "c", Created: now, Updated: now}
}

// ramRev returns a function that reports whether the RAM revision moved
// since it was last called.
func ramRev(t *testing.T, s ramStore) func() bool {
	t.Helper()
	last, err := s.RAMRevision(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return func() bool {
		t.Helper()
		rev, err := s.RAMRevision(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		moved := rev > last
		last = rev
		return moved
	}
}

func testAccount(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	got, err := s.ClaimAccountID(ctx, "1234567890123456")
	if err != nil || got != "1234567890123456" {
		t.Fatalf("first ClaimAccountID = %q, %v", got, err)
	}
	if got, err := s.ClaimAccountID(ctx, "9999999999999999"); err != nil || got != "1234567890123456" {
		t.Fatalf("second ClaimAccountID = %q, %v; want the first id kept", got, err)
	}
	if a, err := s.AccountAlias(ctx); err != nil || a != "" {
		t.Fatalf("AccountAlias = %q, %v; want none", a, err)
	}
	for _, a := range []string{"first-alias", "second-alias"} {
		if err := s.SetAccountAlias(ctx, a); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AccountAlias(ctx); err != nil || got != a {
			t.Fatalf("AccountAlias = %q, %v; want %q", got, err, a)
		}
	}
}

func testUsers(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	moved := ramRev(t, s)
	alice, bob, carol := newUser("1000000000000001", "alice"), newUser("1000000000000002", "bob"), newUser("1000000000000003", "carol")
	for _, u := range []user.User{bob, alice, carol} {
		if err := s.CreateUser(ctx, u, 3); err != nil {
			t.Fatalf("CreateUser(%s): %v", u.Name, err)
		}
	}
	if !moved() {
		t.Error("creating users did not move the RAM revision")
	}
	for _, tt := range []struct {
		name string
		u    user.User
		max  int
		want error
	}{
		{"fail/name_taken", newUser("1000000000000009", "alice"), 0, user.ErrUserExists},
		{"fail/id_taken", newUser("1000000000000001", "dave"), 0, domain.ErrExists},
		{"fail/limit", newUser("1000000000000009", "dave"), 3, user.ErrUserLimit},
	} {
		if err := s.CreateUser(ctx, tt.u, tt.max); !errors.Is(err, tt.want) {
			t.Errorf("%s: CreateUser = %v, want %v", tt.name, err, tt.want)
		}
	}
	got, err := s.User(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(alice, got); diff != "" {
		t.Errorf("User (-want +got):\n%s", diff)
	}
	if _, err := s.User(ctx, "nobody"); !errors.Is(err, user.ErrUserNotFound) {
		t.Errorf("User(nobody) = %v, want ErrUserNotFound", err)
	}
	page, err := s.ListUsers(ctx, domain.Marker{Limit: 2})
	if err != nil || len(page) != 3 || page[0].Name != "alice" || page[1].Name != "bob" {
		t.Fatalf("ListUsers first page = %v, %v; want alice, bob and one more", userNames(page), err)
	}
	page, err = s.ListUsers(ctx, domain.Marker{After: "bob", Limit: 2})
	if err != nil || len(page) != 1 || page[0].Name != "carol" {
		t.Fatalf("ListUsers after bob = %v, %v; want carol", userNames(page), err)
	}
	renamed := alice
	renamed.Name, renamed.Email, renamed.Updated = "alice2", "", now.Add(time.Hour)
	if err := s.UpdateUser(ctx, "alice", renamed); err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(ctx, "alice2"); err != nil || got.ID != alice.ID || got.Email != "" || !got.Updated.Equal(now.Add(time.Hour)) {
		t.Errorf("User after rename = %+v, %v", got, err)
	}
	if err := s.UpdateUser(ctx, "alice2", func() user.User { u := renamed; u.Name = "bob"; return u }()); !errors.Is(err, user.ErrUserExists) {
		t.Errorf("rename onto bob = %v, want ErrUserExists", err)
	}
	if err := s.UpdateUser(ctx, "nobody", renamed); !errors.Is(err, user.ErrUserNotFound) {
		t.Errorf("UpdateUser(nobody) = %v, want ErrUserNotFound", err)
	}

	// A user with a key, a group or a policy cannot be deleted.
	if err := s.CreateAccessKey(ctx, "bob", accesskey.AccessKey{ID: "LTAIbob1", Status: accesskey.StatusActive, SealedSecret: []byte{1}, Created: now}, 2); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, user.ErrHasAccessKey) {
		t.Errorf("DeleteUser with a key = %v, want ErrHasAccessKey", err)
	}
	if err := s.DeleteAccessKey(ctx, "bob", "LTAIbob1"); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateGroup(ctx, group.Group{ID: "g-1", Name: "ops", Created: now, Updated: now}, 0); err != nil {
		t.Fatal(err)
	}
	if err := s.AddMember(ctx, "ops", "bob", 5, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, user.ErrInGroup) {
		t.Errorf("DeleteUser in a group = %v, want ErrInGroup", err)
	}
	if err := s.RemoveMember(ctx, "ops", "bob"); err != nil {
		t.Fatal(err)
	}
	if err := s.Attach(ctx, rampolicy.TypeSystem, "AdministratorAccess", rampolicy.KindUser, "bob", 0, now); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, user.ErrHasPolicy) {
		t.Errorf("DeleteUser with a policy = %v, want ErrHasPolicy", err)
	}
	if err := s.Detach(ctx, rampolicy.TypeSystem, "AdministratorAccess", rampolicy.KindUser, "bob"); err != nil {
		t.Fatal(err)
	}
	moved()
	if err := s.DeleteUser(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if !moved() {
		t.Error("deleting a user did not move the RAM revision")
	}
	if err := s.DeleteUser(ctx, "bob"); !errors.Is(err, user.ErrUserNotFound) {
		t.Errorf("second DeleteUser = %v, want ErrUserNotFound", err)
	}
}

func userNames(list []user.User) []string {
	var out []string
	for _, u := range list {
		out = append(out, u.Name)
	}
	return out
}

func testAccessKeys(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	if err := s.CreateUser(ctx, newUser("2000000000000001", "ci"), 0); err != nil {
		t.Fatal(err)
	}
	moved := ramRev(t, s)
	key := func(id string, at time.Time) accesskey.AccessKey {
		return accesskey.AccessKey{ID: id, Status: accesskey.StatusActive, SealedSecret: []byte("sealed-" + id), Created: at}
	}
	if err := s.CreateAccessKey(ctx, "nobody", key("LTAIx", now), 2); !errors.Is(err, user.ErrUserNotFound) {
		t.Errorf("CreateAccessKey for nobody = %v, want ErrUserNotFound", err)
	}
	for i, id := range []string{"LTAIkey2", "LTAIkey1"} {
		if err := s.CreateAccessKey(ctx, "ci", key(id, now.Add(time.Duration(i)*time.Second)), 2); err != nil {
			t.Fatal(err)
		}
	}
	if !moved() {
		t.Error("creating keys did not move the RAM revision")
	}
	if err := s.CreateAccessKey(ctx, "ci", key("LTAIkey3", now), 2); !errors.Is(err, accesskey.ErrKeyLimit) {
		t.Errorf("third key = %v, want ErrKeyLimit", err)
	}
	list, err := s.AccessKeys(ctx, "ci")
	if err != nil || len(list) != 2 || list[0].ID != "LTAIkey2" || list[1].ID != "LTAIkey1" {
		t.Fatalf("AccessKeys = %+v, %v; want key2 then key1", list, err)
	}
	if _, err := s.AccessKeys(ctx, "nobody"); !errors.Is(err, user.ErrUserNotFound) {
		t.Errorf("AccessKeys(nobody) = %v, want ErrUserNotFound", err)
	}
	got, err := s.AccessKey(ctx, "LTAIkey1")
	want := key("LTAIkey1", now.Add(time.Second))
	want.UserID, want.UserName = "2000000000000001", "ci"
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("AccessKey (-want +got):\n%s", diff)
	}
	if err := s.SetAccessKeyStatus(ctx, "ci", "LTAIkey1", accesskey.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if !moved() {
		t.Error("disabling a key did not move the RAM revision")
	}
	if got, _ := s.AccessKey(ctx, "LTAIkey1"); got.Status != accesskey.StatusInactive {
		t.Errorf("status after disable = %s", got.Status)
	}
	if err := s.CreateUser(ctx, newUser("2000000000000002", "other"), 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name      string
		user, key string
		want      error
	}{
		{"fail/other_users_key", "other", "LTAIkey1", accesskey.ErrKeyNotFound},
		{"fail/no_user", "nobody", "LTAIkey1", user.ErrUserNotFound},
		{"fail/no_key", "ci", "LTAInope", accesskey.ErrKeyNotFound},
	} {
		if err := s.SetAccessKeyStatus(ctx, tt.user, tt.key, accesskey.StatusActive); !errors.Is(err, tt.want) {
			t.Errorf("%s: SetAccessKeyStatus = %v, want %v", tt.name, err, tt.want)
		}
		if err := s.DeleteAccessKey(ctx, tt.user, tt.key); !errors.Is(err, tt.want) {
			t.Errorf("%s: DeleteAccessKey = %v, want %v", tt.name, err, tt.want)
		}
	}
	if err := s.DeleteAccessKey(ctx, "ci", "LTAIkey1"); err != nil {
		t.Fatal(err)
	}
	if !moved() {
		t.Error("deleting a key did not move the RAM revision")
	}
	if _, err := s.AccessKey(ctx, "LTAIkey1"); !errors.Is(err, accesskey.ErrKeyNotFound) {
		t.Errorf("AccessKey after delete = %v, want ErrKeyNotFound", err)
	}
}

// testAccessKeyLimitRace: of many keys created at once for one user,
// exactly MaxPerUser are stored.
func testAccessKeyLimitRace(t *testing.T, st Store) {
	s, ctx := asRAM(t, st), t.Context()
	if err := s.CreateUser(ctx, newUser("2100000000000001", "racer"), 0); err != nil {
		t.Fatal(err)
	}
	n := race(t, 8, accesskey.ErrKeyLimit, func(i int) error {
		return s.CreateAccessKey(ctx, "racer", accesskey.AccessKey{ID: "LTAIrace" + string(rune('a'+i)), Status: accesskey.StatusActive,
			SealedSecret: []byte{1}, Created: now}, accesskey.MaxPerUser)
	})
	if n != accesskey.MaxPerUser {
		t.Errorf("%d keys created at once, want %d", n, accesskey.MaxPerUser)
	}
}
