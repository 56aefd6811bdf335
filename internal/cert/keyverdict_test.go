package cert

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"
)

// TestScalarHoldsPublic: a pair of scalar and public key is remembered only
// once it passed, the set is emptied when full, and a lying pair never
// passes.
func TestScalarHoldsPublic(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := k.PublicKey.Bytes()
	d, _ := k.Bytes()
	otherPub, _ := other.PublicKey.Bytes()
	der := []byte("the DER of a key")
	lyingDER := []byte("the DER of a lying key")
	remembered := func(der []byte) bool {
		keyVerdicts.mu.Lock()
		defer keyVerdicts.mu.Unlock()
		_, ok := keyVerdicts.set[keyVerdict(der)]
		return ok
	}
	for range 2 {
		if scalarHoldsPublic(lyingDER, ecdh.P256(), 32, d, otherPub) || remembered(lyingDER) {
			t.Fatal("a scalar beside another key's public key passed")
		}
	}
	if !scalarHoldsPublic(der, ecdh.P256(), 32, d, pub) || !remembered(der) {
		t.Fatal("a key's own scalar and public key did not pass, or were not remembered")
	}
	keyVerdicts.mu.Lock()
	for i := len(keyVerdicts.set); i < maxKeyVerdicts; i++ {
		keyVerdicts.set[[16]byte{0: byte(i), 1: byte(i >> 8), 2: byte(i >> 16), 15: 1}] = struct{}{}
	}
	keyVerdicts.mu.Unlock()
	if !scalarHoldsPublic([]byte("a third key"), ecdh.P256(), 32, d, pub) {
		t.Fatal("a key's own scalar and public key did not pass")
	}
	keyVerdicts.mu.Lock()
	n := len(keyVerdicts.set)
	keyVerdicts.mu.Unlock()
	if n != 1 || remembered(der) {
		t.Fatalf("the full set holds %d verdicts after one more; want it emptied, then 1", n)
	}
}
