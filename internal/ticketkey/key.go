package ticketkey

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"time"
)

// Size is the length of a key's secret.
const Size = 32

// AAD binds a sealed key to its row.
func AAD(id int64) []byte { return []byte(fmt.Sprintf("ticket-key:%d", id)) }

// Key is one ticket key, ready to seal and open tickets. It is safe for
// concurrent use; its secret is never printed.
type Key struct {
	ID      int64
	Created time.Time
	aead    cipher.AEAD
}

// New prepares secret (Size bytes) as key id, made at created.
func New(id int64, created time.Time, secret []byte) (*Key, error) {
	if len(secret) != Size {
		return nil, fmt.Errorf("ticketkey: key %d has %d bytes, want %d", id, len(secret), Size)
	}
	block, err := aes.NewCipher(secret)
	if err != nil {
		return nil, fmt.Errorf("ticketkey: key %d: %w", id, err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("ticketkey: key %d: %w", id, err)
	}
	return &Key{ID: id, Created: created, aead: aead}, nil
}

// String names the key without its secret.
func (k *Key) String() string { return fmt.Sprintf("ticket key %d", k.ID) }

// A ticket is the key's id (8 bytes, big-endian), a random nonce and the
// session state sealed with AES-256-GCM, the id as additional data.
const header = 8

// Seal returns the ticket carrying plain.
func (k *Key) Seal(plain []byte) ([]byte, error) {
	ns := k.aead.NonceSize()
	out := make([]byte, header+ns, header+ns+len(plain)+k.aead.Overhead())
	binary.BigEndian.PutUint64(out, uint64(k.ID))
	if _, err := rand.Read(out[header : header+ns]); err != nil {
		return nil, fmt.Errorf("ticketkey: nonce: %w", err)
	}
	return k.aead.Seal(out, out[header:header+ns], plain, out[:header]), nil
}

// Set is the keys in use, newest first: Set[0] seals new tickets, every
// key opens them. The zero Set seals nothing and opens nothing.
type Set []*Key

// Current is the key that seals new tickets, or nil.
func (s Set) Current() *Key {
	if len(s) == 0 {
		return nil
	}
	return s[0]
}

// Open returns what ticket carries, and false when no key of s sealed it
// (an older key's, another fleet's, or a forged ticket).
func (s Set) Open(ticket []byte) ([]byte, bool) {
	if len(ticket) < header {
		return nil, false
	}
	id := int64(binary.BigEndian.Uint64(ticket))
	for _, k := range s {
		if k.ID != id {
			continue
		}
		ns := k.aead.NonceSize()
		if len(ticket) < header+ns+k.aead.Overhead() {
			return nil, false
		}
		plain, err := k.aead.Open(nil, ticket[header:header+ns], ticket[header+ns:], ticket[:header])
		if err != nil {
			return nil, false
		}
		return plain, true
	}
	return nil, false
}
