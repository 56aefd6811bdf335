package cert_test

import (
	"crypto"
	"crypto/ecdsa"
	"testing"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
)

// FuzzParseStoredKeyFor: whatever the key text, ParseStoredKeyFor does not
// panic, a key it returns has the leaf's public key, and an ECDSA key it
// returns has the private scalar the full parser reads from the same text
// (the shortcut never reads another scalar than crypto/x509 does).
func FuzzParseStoredKeyFor(f *testing.F) {
	leaf := leafWith(f, "ecdsa-p256", "sec1")
	for _, kf := range []pkitest.KeyFormat{"sec1", "pkcs8"} {
		_, text := pkitest.Key(f, "ecdsa-p256", kf)
		f.Add([]byte(text))
	}
	f.Add([]byte(leaf.KeyPEM))
	f.Fuzz(func(t *testing.T, text []byte) {
		key, err := cert.ParseStoredKeyFor(append([]byte(nil), text...), leaf.Cert.Raw)
		if err != nil {
			return
		}
		if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(leaf.Cert.PublicKey) {
			t.Fatalf("a key that is not the leaf's: %T", key)
		}
		full, err := certcheck.ParseStoredKey(string(text))
		k, isEC := key.(*ecdsa.PrivateKey)
		if !isEC || err != nil {
			return
		}
		if fk, ok := full.(*ecdsa.PrivateKey); !ok || fk.D.Cmp(k.D) != 0 {
			t.Fatalf("the scalar built is not the one crypto/x509 reads")
		}
	})
}

// FuzzLeafDER: the readers of a leaf's DER do not panic on any input.
func FuzzLeafDER(f *testing.F) {
	leaf := leafWith(f, "ecdsa-p256", "sec1")
	f.Add(leaf.Cert.Raw)
	f.Fuzz(func(t *testing.T, der []byte) {
		cert.LeafMustStaple(der)
		cert.LeafCovers(der, "www.example.com")
		cert.ParseStoredKeyFor([]byte(leaf.KeyPEM), der)
	})
}
