package cert

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"sync"
)

// maxKeyVerdicts bounds keyVerdicts: at 16 bytes a verdict (about 40 in the
// map), 1<<16 of them take under 3 MB. When full it is emptied, and each
// key earns its verdict again on its next build, once.
const maxKeyVerdicts = 1 << 16

// keyVerdicts remembers the ECDSA keys whose public key, as stored beside
// their private scalar, was found to be the scalar's, so that
// leafECDSAKey computes it (a scalar multiplication, tens of µs) once per
// key and process, not on every cache miss. A verdict is a keyed hash of
// the key's DER under a secret of the process, so the set holds nothing
// that tells a key, and no pointer for the garbage collector to follow.
var keyVerdicts struct {
	mu     sync.Mutex
	secret [32]byte
	set    map[[16]byte]struct{}
}

func init() {
	rand.Read(keyVerdicts.secret[:])
	keyVerdicts.set = make(map[[16]byte]struct{})
}

// keyVerdict is the verdict of the key whose DER is der.
func keyVerdict(der []byte) (v [16]byte) {
	var buf [512]byte // the DER of a P-521 PKCS#8 key is under 250 bytes
	in := buf[:0]
	if len(keyVerdicts.secret)+len(der) > len(buf) {
		in = make([]byte, 0, len(keyVerdicts.secret)+len(der))
	}
	in = append(append(in, keyVerdicts.secret[:]...), der...)
	sum := sha256.Sum256(in)
	clear(in)
	copy(v[:], sum[:])
	return v
}

// scalarHoldsPublic reports whether pub, an uncompressed point of curve c,
// is the public key of the private scalar d (big-endian, at most the
// curve's size), computing it only for a key (der) not seen to pass before.
func scalarHoldsPublic(der []byte, c ecdh.Curve, size int, d, pub []byte) bool {
	v := keyVerdict(der)
	keyVerdicts.mu.Lock()
	_, ok := keyVerdicts.set[v]
	keyVerdicts.mu.Unlock()
	if ok {
		return true
	}
	if !isPublicOf(c, size, d, pub) {
		return false
	}
	keyVerdicts.mu.Lock()
	if len(keyVerdicts.set) >= maxKeyVerdicts {
		clear(keyVerdicts.set)
	}
	keyVerdicts.set[v] = struct{}{}
	keyVerdicts.mu.Unlock()
	return true
}

// isPublicOf reports whether pub, an uncompressed point of curve c, is the
// public key of the private scalar d (big-endian, at most the curve's size
// in bytes): one scalar multiplication.
func isPublicOf(c ecdh.Curve, size int, d, pub []byte) bool {
	var buf [66]byte // P-521's scalar size
	scalar := buf[:size]
	copy(scalar[size-len(d):], d)
	defer clear(scalar)
	k, err := c.NewPrivateKey(scalar)
	return err == nil && subtle.ConstantTimeCompare(k.PublicKey().Bytes(), pub) == 1
}
