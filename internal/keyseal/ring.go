package keyseal

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
)

// ErrNotInRing is returned by Ring.Use for a key id the ring does not hold.
var ErrNotInRing = errors.New("keyseal: the master key is not in this node's key ring")

// Ring is the master keys a node holds: the one it seals with (current) and
// others it still opens values with, such as the previous key during and
// after a rotation. Open picks the key by the id carried in the sealed
// value. A Ring is safe for concurrent use; Use and Replace change it for
// every later call without disturbing calls in flight.
type Ring struct {
	state atomic.Pointer[ringState]
}

type ringState struct {
	keys    []*Sealer // in the order given: newest first
	current *Sealer
}

// NewRing returns a ring of the given 32-byte keys, newest first; the first
// one is current until Use says otherwise. Duplicate keys are kept once.
func NewRing(keys [][]byte) (*Ring, error) {
	st, err := newRingState(keys)
	if err != nil {
		return nil, err
	}
	r := &Ring{}
	r.state.Store(st)
	return r, nil
}

func newRingState(keys [][]byte) (*ringState, error) {
	if len(keys) == 0 {
		return nil, errors.New("keyseal: a key ring needs at least one master key")
	}
	st := &ringState{}
	for _, k := range keys {
		s, err := New(k)
		if err != nil {
			return nil, err
		}
		if st.find(s.id) == nil {
			st.keys = append(st.keys, s)
		}
	}
	st.current = st.keys[0]
	return st, nil
}

func (st *ringState) find(id [8]byte) *Sealer {
	for _, s := range st.keys {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (st *ringState) findHex(id string) *Sealer {
	var b [8]byte
	if n, err := hex.Decode(b[:], []byte(id)); err != nil || n != 8 {
		return nil
	}
	return st.find(b)
}

// KeyID is the id of the key the ring seals with.
func (r *Ring) KeyID() string { return r.state.Load().current.KeyID() }

// IDs returns the ids of every key in the ring, newest first.
func (r *Ring) IDs() []string {
	st := r.state.Load()
	ids := make([]string, len(st.keys))
	for i, s := range st.keys {
		ids[i] = s.KeyID()
	}
	return ids
}

// Has reports whether the ring holds the key with that id.
func (r *Ring) Has(id string) bool { return r.state.Load().findHex(id) != nil }

// Seal seals plain with the current key (see Sealer.Seal).
func (r *Ring) Seal(plain, aad []byte) ([]byte, error) {
	return r.state.Load().current.Seal(plain, aad)
}

// Open opens a value sealed by any key of the ring. It returns ErrWrongKey,
// naming the key, when the ring does not hold the key that sealed it, and
// ErrCorrupt as Sealer.Open does.
func (r *Ring) Open(sealed, aad []byte) ([]byte, error) {
	st := r.state.Load()
	if len(sealed) < 9 || sealed[0] != version {
		return nil, ErrCorrupt
	}
	s := st.find([8]byte(sealed[1:9]))
	if s == nil {
		return nil, fmt.Errorf("%w (master key %s is not in this node's key ring)", ErrWrongKey, SealedBy(sealed))
	}
	return s.Open(sealed, aad)
}

// Use makes the key with that id the one the ring seals with. It returns
// ErrNotInRing when the ring does not hold it.
func (r *Ring) Use(id string) error {
	for {
		old := r.state.Load()
		s := old.findHex(id)
		if s == nil {
			return fmt.Errorf("%w: %s", ErrNotInRing, id)
		}
		if s == old.current {
			return nil
		}
		next := &ringState{keys: old.keys, current: s}
		if r.state.CompareAndSwap(old, next) {
			return nil
		}
	}
}

// Replace sets the ring's keys (newest first), as a reloaded key file
// says. The current key stays current when the new set holds it, else the
// first key becomes current.
func (r *Ring) Replace(keys [][]byte) error {
	st, err := newRingState(keys)
	if err != nil {
		return err
	}
	for {
		old := r.state.Load()
		if s := st.find(old.current.id); s != nil {
			st.current = s
		}
		if r.state.CompareAndSwap(old, st) {
			return nil
		}
	}
}

// ParseRing reads master keys written one per line (base64 or 64 hex
// digits), newest first; blank lines and lines starting with # are skipped,
// and commas separate keys too (for a key ring held in one environment
// variable). A file of one key, as esacert wrote before key rings, is a
// ring of one.
func ParseRing(text string) ([][]byte, error) {
	var keys [][]byte
	sc := bufio.NewScanner(strings.NewReader(text))
	line := 0
	for sc.Scan() {
		line++
		t := strings.TrimSpace(sc.Text())
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		for _, part := range strings.Split(t, ",") {
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			k, err := Parse(part)
			if err != nil {
				return nil, fmt.Errorf("%w (line %d)", err, line)
			}
			keys = append(keys, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("keyseal: no master key found")
	}
	return keys, nil
}

// LoadRing reads a key ring file (see ParseRing).
func LoadRing(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyseal: %w", err)
	}
	keys, err := ParseRing(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return keys, nil
}

// EncodeRing renders keys as a key ring file, newest first, with a comment
// saying so.
func EncodeRing(keys [][]byte) string {
	var b strings.Builder
	if len(keys) > 1 {
		b.WriteString("# esacert master keys, newest first; the database says which one seals\n")
	}
	for _, k := range keys {
		b.WriteString(Encode(k))
	}
	return b.String()
}

// ReplaceRingFile writes keys to path atomically (a synced temporary file
// renamed over it, mode 0600), so a node reading the file sees the old or
// the new ring, never half of one. A path that is a symbolic link is
// replaced where it points, so the link stays.
func ReplaceRingFile(path string, keys [][]byte) error {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("keyseal: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return fmt.Errorf("keyseal: write %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if _, err := f.WriteString(EncodeRing(keys)); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keyseal: write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("keyseal: %w", err)
	}
	return SyncDir(dir)
}

// KeyIDOf returns the id of a 32-byte master key ("" for a key of another size).
func KeyIDOf(key []byte) string {
	s, err := New(key)
	if err != nil {
		return ""
	}
	return s.KeyID()
}

// Contains reports whether keys holds the key with that id.
func Contains(keys [][]byte, id string) bool {
	return slices.ContainsFunc(keys, func(k []byte) bool { return KeyIDOf(k) == id })
}
