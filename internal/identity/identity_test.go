package identity_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/policy"
	"github.com/esacert/esacert/internal/rampolicy"
	"github.com/esacert/esacert/internal/sitetest"
	"github.com/esacert/esacert/internal/user"
)

type env struct {
	users    *user.Service
	keys     *accesskey.Service
	policies *rampolicy.Service
	ids      *identity.Resolver
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := sitetest.New(t)
	return &env{
		users:    &user.Service{Store: e.Store},
		keys:     &accesskey.Service{Store: e.Store, Sealer: e.Sealer},
		policies: &rampolicy.Service{Store: e.Store, VersionStore: e.Store, AttachmentStore: e.Store, TagStore: e.Store},
		ids:      &identity.Resolver{Store: e.Store, Sealer: e.Sealer, Account: "1234"},
	}
}

func req(action, resource string) policy.Request {
	return policy.Request{Action: action, Resource: resource}
}

// TestIdentify: a user's key is known with its secret, and the user's
// policies (its own and its groups') decide for it; the root key never
// asks a policy.
func TestIdentify(t *testing.T) {
	e, ctx := newEnv(t), t.Context()
	if _, err := e.users.CreateUser(ctx, user.CreateInput{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	k, secret, err := e.keys.Create(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.policies.Attach(ctx, "System", "AliyunESAReadOnlyAccess", "user", "ci"); err != nil {
		t.Fatal(err)
	}
	id, err := e.ids.Identify(ctx, k.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	if id.Kind != identity.User || id.Secret != secret || id.UserName != "ci" || id.ARN() != "acs:ram::1234:user/ci" {
		t.Errorf("identity = %+v", id)
	}
	for _, tt := range []struct {
		action string
		want   policy.Decision
	}{{"esa:ListSites", policy.Allowed}, {"esa:SetCertificate", policy.ImplicitDeny}} {
		if got, _ := id.Evaluate(req(tt.action, "*")); got != tt.want {
			t.Errorf("Evaluate(%s) = %v, want %v", tt.action, got, tt.want)
		}
	}
	if _, err := e.ids.Identify(ctx, "LTAInope", ""); !errors.Is(err, identity.ErrKeyNotFound) {
		t.Errorf("unknown key: %v, want ErrKeyNotFound", err)
	}
	root := &identity.Identity{Kind: identity.Root}
	if got, _ := root.Evaluate(req("ram:DeleteUser", "*")); got != policy.Allowed {
		t.Errorf("root: %v", got)
	}
}

// TestFollowWithoutNotifications: with no wake-up at all (a notification
// lost), the poll alone puts a disabled key in force.
func TestFollowWithoutNotifications(t *testing.T) {
	e, ctx := newEnv(t), t.Context()
	if _, err := e.users.CreateUser(ctx, user.CreateInput{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	k, _, err := e.keys.Create(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { e.ids.Follow(fctx, nil, 50*time.Millisecond, nil); close(done) }()
	defer func() { cancel(); <-done }()
	if _, err := e.ids.Identify(ctx, k.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.keys.SetStatus(ctx, "ci", k.ID, accesskey.StatusInactive); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second) // generous: the machine is shared
	for {
		_, err := e.ids.Identify(ctx, k.ID, "")
		if errors.Is(err, identity.ErrKeyInactive) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the disabled key still identifies after 5 s (poll 50 ms): %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIdentifyConcurrently: identities are read, cached and cleared from
// many goroutines at once (run under -race).
func TestIdentifyConcurrently(t *testing.T) {
	e, ctx := newEnv(t), t.Context()
	if _, err := e.users.CreateUser(ctx, user.CreateInput{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	k, _, err := e.keys.Create(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				id, err := e.ids.Identify(ctx, k.ID, "")
				if err == nil {
					id.Evaluate(req("esa:ListSites", "*"))
				} else if !errors.Is(err, identity.ErrKeyInactive) {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 20 {
		status := accesskey.StatusActive
		if i%2 == 0 {
			status = accesskey.StatusInactive
		}
		if err := e.keys.SetStatus(ctx, "ci", k.ID, status); err != nil {
			t.Fatal(err)
		}
		if err := e.ids.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		<-done
	}
}
