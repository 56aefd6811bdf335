package certcheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"

	"github.com/esacert/esacert/internal/pkitest"
)

// TestParsedKeyOutlivesItsDER: parseKey wipes the DER it decoded once the
// key is parsed, so no parsed key may keep a slice of it. Each kind and
// format is parsed, as uploaded and as stored, and must sign what its own
// public key verifies, and equal the key it was written from.
func TestParsedKeyOutlivesItsDER(t *testing.T) {
	for _, tt := range []struct {
		kt pkitest.KeyType
		kf pkitest.KeyFormat
	}{
		{"ecdsa-p256", "pkcs8"}, {"ecdsa-p256", "sec1"}, {"ecdsa-p384", "sec1"}, {"ecdsa-p521", "pkcs8"},
		{"rsa-2048", "pkcs1"}, {"rsa-2048", "pkcs8"}, {"ed25519", "pkcs8"},
	} {
		t.Run(string(tt.kt)+"/"+string(tt.kf), func(t *testing.T) {
			want, keyPEM := pkitest.Key(t, tt.kt, tt.kf)
			for how, parse := range map[string]func(string) (crypto.Signer, error){"upload": ParsePrivateKey, "stored": ParseStoredKey} {
				key, err := parse(keyPEM)
				if err != nil {
					t.Fatalf("%s: %v", how, err)
				}
				if !key.(interface{ Equal(crypto.PrivateKey) bool }).Equal(want) {
					t.Fatalf("%s: the parsed key is not the key written", how)
				}
				digest := sha256.Sum256([]byte("wiped"))
				var opts crypto.SignerOpts = crypto.SHA256
				msg := digest[:]
				if _, ok := key.(ed25519.PrivateKey); ok {
					opts, msg = crypto.Hash(0), []byte("wiped")
				}
				sig, err := key.Sign(rand.Reader, msg, opts)
				if err != nil {
					t.Fatalf("%s: sign: %v", how, err)
				}
				var ok bool
				switch pub := want.Public().(type) {
				case *ecdsa.PublicKey:
					ok = ecdsa.VerifyASN1(pub, msg, sig)
				case *rsa.PublicKey:
					ok = rsa.VerifyPKCS1v15(pub, crypto.SHA256, msg, sig) == nil
				case ed25519.PublicKey:
					ok = ed25519.Verify(pub, msg, sig)
				}
				if !ok {
					t.Fatalf("%s: the signature does not verify", how)
				}
			}
		})
	}
}
