package cert_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/pkitest"
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

// TestResealOriginClientCertificates: a master key rotation reseals the
// keys of origin client certificates of both scopes, which then open under
// the new key only, and puts their site on the edge's change feed so that
// edges load the resealed values.
func TestResealOriginClientCertificates(t *testing.T) {
	env := sitetest.New(t)
	ctx := t.Context()
	svc := &origincert.Service{Sites: env.Store, Store: env.Store, Clients: env.Store, Sealer: env.Sealer, Now: env.Clock.Now}
	ca := pkitest.NewCA(t, "Reseal Origin Client Root", sitetest.T0.Add(-time.Hour), sitetest.T0.Add(365*24*time.Hour))
	var ids []string
	for i, scope := range []origincert.Scope{origincert.ScopeHostname, origincert.ScopeSite} {
		leaf := ca.Leaf(t, pkitest.LeafOptions{CommonName: fmt.Sprintf("edge-%d", i), ClientAuth: true})
		c, err := svc.UploadClient(ctx, scope, env.Site.ID, "", leaf.CertPEM, leaf.KeyPEM)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, c.ID)
	}
	rev, err := env.Store.Revision(ctx)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := keyseal.Generate()
	next, _ := keyseal.New(raw)
	if n, err := cert.Reseal(ctx, env.Store, env.Sealer, next, nil); err != nil || n != 2 {
		t.Fatalf("Reseal = %d, %v; want the 2 origin client keys", n, err)
	}
	changes, _, _, err := env.Store.Changes(ctx, rev)
	if err != nil || len(changes) == 0 {
		t.Errorf("changes of the rotation = %v, %v; want the site's, for its edges", changes, err)
	}
	for _, c := range changes {
		if c.SiteID != env.Site.ID {
			t.Errorf("the rotation changed site %d; want only %d", c.SiteID, env.Site.ID)
		}
	}
	st, err := env.Store.LoadEdge(ctx, []int64{env.Site.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.OriginClients) != 2 {
		t.Fatalf("the edge loads %d origin client certificates, want 2", len(st.OriginClients))
	}
	for _, c := range st.OriginClients {
		if _, err := env.Sealer.Open(c.SealedKey, origincert.ClientAAD(c.ID)); err == nil {
			t.Errorf("%s (%s): the old master key still opens the key", c.ID, c.Scope)
		}
		if _, err := next.Open(c.SealedKey, origincert.ClientAAD(c.ID)); err != nil {
			t.Errorf("%s (%s): the new master key does not open the key: %v", c.ID, c.Scope, err)
		}
	}
}
