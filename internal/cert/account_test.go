package cert_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/keyseal"
)

// TestACMEAccountKeysSealed: ACME account keys are stored sealed, and a
// master key rotation reseals them.
func TestACMEAccountKeysSealed(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	// A free certificate still applying holds no key yet; it must not stop
	// the rotation.
	if _, err := svc.Sites.(cert.FreeStore).CreateFree(ctx, []cert.Certificate{{ID: "0123456789abcdef0123456789abcdef",
		SiteID: site.ID, Name: "www." + site.Name, Type: cert.TypeFree, Created: time.Now(), Updated: time.Now(),
		Free: cert.FreeState{Status: cert.StatusApplying, CA: "pebble", Next: time.Now()}}}, 0); err != nil {
		t.Fatal(err)
	}
	store := svc.Sites.(interface {
		cert.AccountStore
		cert.ResealStore
	})
	const dir = "https://ca.example/directory"
	keyPEM := []byte("-----BEGIN EC PRIVATE KEY-----\nnot-a-real-key\n-----END EC PRIVATE KEY-----\n")
	keys := cert.AccountKeys{Store: store, Sealer: svc.Sealer}
	if err := keys.Save(ctx, dir, keyPEM); err != nil {
		t.Fatal(err)
	}
	if sealed, _, _ := store.ACMEAccount(ctx, dir); bytes.Contains(sealed, []byte("not-a-real-key")) {
		t.Fatal("the account key is stored in the clear")
	}
	k, _ := keyseal.Generate()
	next, _ := keyseal.New(k)
	if n, err := cert.Reseal(ctx, store, svc.Sealer, next, nil); err != nil || n != 1 {
		t.Fatalf("Reseal = %d, %v; want 1 key", n, err)
	}
	if _, _, err := keys.Load(ctx, dir); err == nil {
		t.Error("the old master key still opens the account key")
	}
	got, ok, err := cert.AccountKeys{Store: store, Sealer: next}.Load(ctx, dir)
	if err != nil || !ok || !bytes.Equal(got, keyPEM) {
		t.Errorf("Load after rotation = %q, %v, %v", got, ok, err)
	}
}
