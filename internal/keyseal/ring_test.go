package keyseal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRing(t *testing.T) {
	oldKey, _ := Generate()
	newKey, _ := Generate()
	other, _ := Generate()
	old, _ := New(oldKey)
	ring, err := NewRing([][]byte{newKey, oldKey, newKey})
	if err != nil {
		t.Fatal(err)
	}
	if ids := ring.IDs(); len(ids) != 2 || ids[0] != KeyIDOf(newKey) || ids[1] != old.KeyID() {
		t.Fatalf("IDs = %v, want the new key then the old one, once each", ids)
	}
	if ring.KeyID() != KeyIDOf(newKey) {
		t.Fatal("the newest key is not current")
	}
	plain, aad := []byte("key material"), []byte("row-7")

	// A value the old key sealed opens through the ring.
	byOld, _ := old.Seal(plain, aad)
	if got, err := ring.Open(byOld, aad); err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open(sealed by the old key) = %q, %v", got, err)
	}
	// The ring seals with its current key, and switches with Use.
	sealed, _ := ring.Seal(plain, aad)
	if SealedBy(sealed) != KeyIDOf(newKey) {
		t.Fatal("the ring did not seal with its current key")
	}
	if err := ring.Use(old.KeyID()); err != nil {
		t.Fatal(err)
	}
	if sealed, _ := ring.Seal(plain, aad); SealedBy(sealed) != old.KeyID() || ring.KeyID() != old.KeyID() {
		t.Fatal("Use did not switch the sealing key")
	}
	if err := ring.Use(KeyIDOf(other)); !errors.Is(err, ErrNotInRing) {
		t.Fatalf("Use(a key not held) = %v", err)
	}
	// A value sealed by a key the ring lacks says which key it needs.
	o, _ := New(other)
	byOther, _ := o.Seal(plain, aad)
	if _, err := ring.Open(byOther, aad); !errors.Is(err, ErrWrongKey) || !strings.Contains(err.Error(), o.KeyID()) {
		t.Fatalf("Open(sealed by a key not held) = %v", err)
	}
	if _, err := ring.Open(byOld, []byte("row-8")); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open(moved to another row) = %v", err)
	}
	// Replace keeps the current key when the new set holds it, else the first.
	if err := ring.Replace([][]byte{other, oldKey}); err != nil {
		t.Fatal(err)
	}
	if ring.KeyID() != old.KeyID() || !ring.Has(KeyIDOf(other)) || ring.Has(KeyIDOf(newKey)) {
		t.Fatalf("after Replace: current %s, ids %v", ring.KeyID(), ring.IDs())
	}
	if err := ring.Replace([][]byte{newKey}); err != nil || ring.KeyID() != KeyIDOf(newKey) {
		t.Fatalf("Replace without the current key: %v, current %s", err, ring.KeyID())
	}
	if _, err := NewRing(nil); err == nil {
		t.Fatal("an empty ring was made")
	}
}

// TestRingConcurrentUse: sealing and opening while the ring is switched and
// replaced never fails (run with -race).
func TestRingConcurrentUse(t *testing.T) {
	a, _ := Generate()
	b, _ := Generate()
	ring, _ := NewRing([][]byte{a, b})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 500 {
				s, err := ring.Seal([]byte("x"), []byte("r"))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := ring.Open(s, []byte("r")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 200 {
		if i%2 == 0 {
			ring.Use(KeyIDOf(a))
		} else {
			ring.Replace([][]byte{b, a})
		}
	}
	wg.Wait()
}

func TestRingFile(t *testing.T) {
	k1, _ := Generate()
	k2, _ := Generate()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := ReplaceRingFile(path, [][]byte{k1, k2}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ring file mode = %v, %v", fi.Mode().Perm(), err)
	}
	keys, err := LoadRing(path)
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], k1) || !bytes.Equal(keys[1], k2) {
		t.Fatalf("LoadRing = %d keys, %v", len(keys), err)
	}
	// A single-key file, as written before key rings, is a ring of one.
	single := filepath.Join(t.TempDir(), "single.key")
	if err := WriteFile(single, k1); err != nil {
		t.Fatal(err)
	}
	if keys, err := LoadRing(single); err != nil || len(keys) != 1 || !bytes.Equal(keys[0], k1) {
		t.Fatalf("LoadRing(single key) = %d, %v", len(keys), err)
	}
	// The environment form: commas, hex or base64.
	hexKey := strings.Repeat("ab", 32)
	if keys, err := ParseRing(hexKey + ", " + Encode(k2)); err != nil || len(keys) != 2 {
		t.Fatalf("ParseRing(comma-separated) = %d, %v", len(keys), err)
	}
	for _, bad := range []string{"", "# only a comment\n", "not a key", hexKey + "\nshort"} {
		if _, err := ParseRing(bad); err == nil {
			t.Errorf("ParseRing(%q) was accepted", bad)
		}
	}
	if _, err := ParseRing(hexKey + "\nshort"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("a bad line is not named: %v", err)
	}
}
