package keyseal

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealOpen(t *testing.T) {
	k1, _ := Generate()
	k2, _ := Generate()
	s1, err := New(k1)
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := New(k2)
	plain := []byte("-----BEGIN PRIVATE KEY-----\nsecret\n-----END PRIVATE KEY-----\n")
	sealed, err := s1.Seal(plain, []byte("row-1"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) || bytes.Contains(sealed, []byte("PRIVATE")) {
		t.Fatal("sealed value shows the plaintext")
	}
	if SealedBy(sealed) != s1.KeyID() {
		t.Errorf("SealedBy = %q, want %q", SealedBy(sealed), s1.KeyID())
	}
	got, err := s1.Open(sealed, []byte("row-1"))
	if err != nil || !bytes.Equal(got, plain) {
		t.Fatalf("Open = %q, %v", got, err)
	}
	tampered := append([]byte(nil), sealed...)
	tampered[len(tampered)-1] ^= 1
	tests := []struct {
		name   string
		s      *Sealer
		sealed []byte
		aad    string
		want   error
	}{
		{"fail/other_row", s1, sealed, "row-2", ErrCorrupt},
		{"fail/tampered", s1, tampered, "row-1", ErrCorrupt},
		{"fail/other_master_key", s2, sealed, "row-1", ErrWrongKey},
		{"fail/short", s1, sealed[:10], "row-1", ErrCorrupt},
		{"fail/not_sealed", s1, plain, "row-1", ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.s.Open(tt.sealed, []byte(tt.aad)); !errors.Is(err, tt.want) {
				t.Errorf("Open = %v, want %v", err, tt.want)
			}
		})
	}
	again, _ := s1.Seal(plain, []byte("row-1"))
	if bytes.Equal(again, sealed) {
		t.Error("two seals of one value are equal: the nonce is not random")
	}
}

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	k, created, err := LoadOrCreate(path)
	if err != nil || !created || len(k) != KeySize {
		t.Fatalf("LoadOrCreate = %d bytes, %v, %v", len(k), created, err)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreate(path)
	if err != nil || created || !bytes.Equal(k, k2) {
		t.Fatalf("second LoadOrCreate = %v, %v", created, err)
	}
	hexForm := filepath.Join(t.TempDir(), "hex.key")
	os.WriteFile(hexForm, []byte(strings.Repeat("ab", KeySize)+"\n"), 0o600)
	if k, err := Load(hexForm); err != nil || k[0] != 0xab {
		t.Errorf("hex key: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.key")
	os.WriteFile(bad, []byte("short"), 0o600)
	if _, err := Load(bad); err == nil {
		t.Error("a short key was accepted")
	}
}
