package accesskey

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
)

// Key is an access key. Secret is secret: never log or return it.
type Key struct {
	ID     string
	Secret string
}

// String shows the id only, so that a Key printed by mistake leaks nothing.
func (k Key) String() string { return k.ID }

// Ring is a fixed set of access keys. It is safe for concurrent use.
type Ring struct {
	keys map[string]string
}

// NewRing returns a Ring holding keys.
func NewRing(keys ...Key) *Ring {
	r := &Ring{keys: make(map[string]string, len(keys))}
	for _, k := range keys {
		r.keys[k.ID] = k.Secret
	}
	return r
}

// Secret returns the secret of access key id; ok is false when the ring has no such key.
func (r *Ring) Secret(_ context.Context, id string) (string, bool, error) {
	s, ok := r.keys[id]
	return s, ok, nil
}

// File keys: the root access key file holds two lines in the form a shell
// can source, so that `set -a; . DATA/root-access-key` exports them.
const (
	idVar     = "ESACERT_ACCESS_KEY_ID"
	secretVar = "ESACERT_ACCESS_KEY_SECRET"
)

// Generate returns a new random key: an id shaped like Alibaba Cloud's
// (LTAI and 20 characters) and a 30-character secret, drawn from rnd (nil
// means crypto/rand).
func Generate(rnd io.Reader) (Key, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	id, err := randomString(rnd, 20)
	if err != nil {
		return Key{}, err
	}
	secret, err := randomString(rnd, 30)
	if err != nil {
		return Key{}, err
	}
	return Key{ID: "LTAI" + id, Secret: secret}, nil
}

func randomString(rnd io.Reader, n int) (string, error) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	out := make([]byte, 0, n)
	var b [1]byte
	for len(out) < n {
		if _, err := io.ReadFull(rnd, b[:]); err != nil {
			return "", fmt.Errorf("accesskey: random: %w", err)
		}
		if int(b[0]) < 256-256%len(alphabet) { // no modulo bias
			out = append(out, alphabet[int(b[0])%len(alphabet)])
		}
	}
	return string(out), nil
}

// LoadOrCreate reads the key in the file at path, or, when there is no such
// file, generates a key and writes it there with mode 0600. created reports
// which happened.
func LoadOrCreate(path string, rnd io.Reader) (k Key, created bool, err error) {
	k, err = Load(path)
	if err == nil {
		return k, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return Key{}, false, err
	}
	if k, err = Generate(rnd); err != nil {
		return Key{}, false, err
	}
	data := fmt.Sprintf("%s=%s\n%s=%s\n", idVar, k.ID, secretVar, k.Secret)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		// Another process created it first: use theirs.
		k, err = Load(path)
		return k, false, err
	}
	if err != nil {
		return Key{}, false, fmt.Errorf("accesskey: create %s: %w", path, err)
	}
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		os.Remove(path)
		return Key{}, false, fmt.Errorf("accesskey: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return Key{}, false, fmt.Errorf("accesskey: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return Key{}, false, fmt.Errorf("accesskey: write %s: %w", path, err)
	}
	return k, true, nil
}

// Load reads a key file written by LoadOrCreate.
func Load(path string) (Key, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Key{}, fmt.Errorf("accesskey: read %s: %w", path, err)
	}
	var k Key
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		switch strings.TrimPrefix(name, "export ") {
		case idVar:
			k.ID = value
		case secretVar:
			k.Secret = value
		}
	}
	if k.ID == "" || k.Secret == "" {
		return Key{}, fmt.Errorf("accesskey: %s does not hold %s and %s", path, idVar, secretVar)
	}
	return k, nil
}
