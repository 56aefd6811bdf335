package accesskey

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "root-access-key")
	k1, created, err := LoadOrCreate(path, nil)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreate = %v, created %v", err, created)
	}
	if !strings.HasPrefix(k1.ID, "LTAI") || len(k1.ID) != 24 || len(k1.Secret) != 30 {
		t.Errorf("generated key has the wrong shape: id %q, secret of %d characters", k1.ID, len(k1.Secret))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreate(path, nil)
	if err != nil || created {
		t.Fatalf("second LoadOrCreate = %v, created %v", err, created)
	}
	if k1 != k2 {
		t.Errorf("second start read another key")
	}
	if got := k1.String(); strings.Contains(got, k1.Secret) {
		t.Errorf("Key.String() shows the secret")
	}
	r := NewRing(k1)
	if s, ok, _ := r.Secret(t.Context(), k1.ID); !ok || s != k1.Secret {
		t.Errorf("Ring.Secret(root) = %q, %v", s, ok)
	}
	if _, ok, _ := r.Secret(t.Context(), "nope"); ok {
		t.Errorf("Ring.Secret(unknown) found a key")
	}
}

func TestLoadRejectsIncompleteFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	os.WriteFile(path, []byte("ESACERT_ACCESS_KEY_ID=abc\n"), 0o600)
	if _, err := Load(path); err == nil {
		t.Fatal("Load accepted a file without a secret")
	}
}
