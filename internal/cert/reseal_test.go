package cert_test

import (
	"testing"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/role"
	"github.com/esacert/esacert/internal/session"
	"github.com/esacert/esacert/internal/sitetest"
	"github.com/esacert/esacert/internal/user"
)

// TestResealAccessKeySecrets: a master key rotation reseals RAM users'
// access key secrets, which open under the new key only.
func TestResealAccessKeySecrets(t *testing.T) {
	env := sitetest.New(t)
	ctx := t.Context()
	if _, err := (&user.Service{Store: env.Store}).CreateUser(ctx, user.CreateInput{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	keys := &accesskey.Service{Store: env.Store, Sealer: env.Sealer}
	k, secret, err := keys.Create(ctx, "ci")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := keyseal.Generate()
	next, _ := keyseal.New(raw)
	if n, err := cert.Reseal(ctx, env.Store, env.Sealer, next, nil); err != nil || n != 1 {
		t.Fatalf("Reseal = %d, %v; want 1 secret", n, err)
	}
	if _, _, err := keys.Open(ctx, k.ID); err == nil {
		t.Error("the old master key still opens the secret")
	}
	_, got, err := (&accesskey.Service{Store: env.Store, Sealer: next}).Open(ctx, k.ID)
	if err != nil || got != secret {
		t.Errorf("Open after rotation = %q, %v; want the secret", got, err)
	}
}

// TestResealSTSKey: a master key rotation reseals the STS server key;
// tokens issued before verify after, under the new master key.
func TestResealSTSKey(t *testing.T) {
	env := sitetest.New(t)
	ctx := t.Context()
	if _, err := (&role.Service{Store: env.Store, TagStore: env.Store}).CreateRole(ctx, role.CreateInput{Name: "r",
		TrustDocument: `{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":"*"}}]}`}); err != nil {
		t.Fatal(err)
	}
	sessions := &session.Service{Roles: env.Store, Keys: env.Store, Sealer: env.Sealer, Account: "1"}
	c, err := sessions.AssumeRole(ctx, session.Caller{Account: "1", ARNs: []string{"acs:ram::1:user/u"}},
		session.AssumeInput{RoleArn: "acs:ram::1:role/r", SessionName: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := keyseal.Generate()
	next, _ := keyseal.New(raw)
	if n, err := cert.Reseal(ctx, env.Store, env.Sealer, next, nil); err != nil || n != 1 {
		t.Fatalf("Reseal = %d, %v; want the server key", n, err)
	}
	after := &session.Service{Roles: env.Store, Keys: env.Store, Sealer: next, Account: "1"}
	if _, secret, err := after.Open(ctx, c.AccessKeyID, c.SecurityToken); err != nil || secret != c.AccessKeySecret {
		t.Errorf("Open after rotation = %q, %v", secret, err)
	}
}
