// Package keyseal seals private keys at rest: AES-256-GCM under a 32-byte
// master key, each sealed value bound to the row it belongs to through the
// additional data. The master key comes from the operator (a file or the
// environment) or is generated into the data directory on first start.
//
// A sealed value is: version byte 1, the 8-byte id of the master key that
// sealed it, a 12-byte nonce, and the GCM ciphertext with its tag. The key id
// lets a node that holds the wrong master key say so, instead of reporting
// corrupt data.
package keyseal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

const version = 1

// Errors of Open.
var (
	ErrWrongKey = errors.New("keyseal: value was sealed under another master key")
	ErrCorrupt  = errors.New("keyseal: sealed value is corrupt or was moved to another row")
)

// Sealer seals and opens values under one master key. It is safe for
// concurrent use.
type Sealer struct {
	aead cipher.AEAD
	id   [8]byte
}

// New returns a Sealer for a 32-byte master key.
func New(key []byte) (*Sealer, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("keyseal: a master key is %d bytes, not %d", KeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	s := &Sealer{aead: aead}
	sum := sha256.Sum256(append([]byte("esacert master key id\x00"), key...))
	copy(s.id[:], sum[:8])
	return s, nil
}

// KeyID is a short public identifier of the master key (hex), safe to log.
func (s *Sealer) KeyID() string { return hex.EncodeToString(s.id[:]) }

// Seal encrypts plain, bound to aad (the id of the row that will hold it).
func (s *Sealer) Seal(plain, aad []byte) ([]byte, error) {
	out := make([]byte, 1+8+12, 1+8+12+len(plain)+s.aead.Overhead())
	out[0] = version
	copy(out[1:9], s.id[:])
	if _, err := rand.Read(out[9:21]); err != nil {
		return nil, fmt.Errorf("keyseal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[9:21], plain, aad), nil
}

// Open decrypts a value Seal returned for the same aad. It returns
// ErrWrongKey when another master key sealed it, ErrCorrupt when it was
// altered or belongs to another row.
func (s *Sealer) Open(sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+8+12+s.aead.Overhead() || sealed[0] != version {
		return nil, ErrCorrupt
	}
	if !bytes.Equal(sealed[1:9], s.id[:]) {
		return nil, ErrWrongKey
	}
	plain, err := s.aead.Open(nil, sealed[9:21], sealed[21:], aad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return plain, nil
}

// SealedBy returns the key id (hex) that sealed a value, or "" when the
// value is not one Seal made.
func SealedBy(sealed []byte) string {
	if len(sealed) < 9 || sealed[0] != version {
		return ""
	}
	return hex.EncodeToString(sealed[1:9])
}

// Generate returns a new random master key.
func Generate() ([]byte, error) {
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	return k, nil
}

// Encode renders a master key as text (standard base64, one line).
func Encode(key []byte) string { return base64.StdEncoding.EncodeToString(key) + "\n" }

// Parse reads a master key written as base64 or as 64 hex digits.
func Parse(text string) ([]byte, error) {
	t := strings.TrimSpace(text)
	if len(t) == 2*KeySize {
		if k, err := hex.DecodeString(t); err == nil {
			return k, nil
		}
	}
	k, err := base64.StdEncoding.DecodeString(t)
	if err != nil || len(k) != KeySize {
		return nil, fmt.Errorf("keyseal: a master key is %d bytes in base64 or hex", KeySize)
	}
	return k, nil
}

// Load reads a master key file.
func Load(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	k, err := Parse(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// LoadOrCreate reads the master key file at path or, when there is none,
// generates a key and writes it there (mode 0600). created reports which.
func LoadOrCreate(path string) (key []byte, created bool, err error) {
	key, err = Load(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	if key, err = Generate(); err != nil {
		return nil, false, err
	}
	if err := WriteFile(path, key); errors.Is(err, fs.ErrExist) {
		key, err = Load(path) // another process made it first
		return key, false, err
	} else if err != nil {
		return nil, false, err
	}
	return key, true, nil
}

// WriteFile writes key to a new file at path with mode 0600 and syncs it; it
// fails with fs.ErrExist when the file exists.
func WriteFile(path string, key []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keyseal: create %s: %w", path, err)
	}
	if _, err := f.WriteString(Encode(key)); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("keyseal: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return fmt.Errorf("keyseal: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("keyseal: write %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir makes the directory's entries (a new or renamed key file) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("keyseal: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("keyseal: sync %s: %w", dir, err)
	}
	return nil
}
