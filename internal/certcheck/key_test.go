package certcheck_test

import (
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/google/go-cmp/cmp"
)

func TestParsePrivateKey(t *testing.T) {
	tests := []struct {
		name     string
		kt       pkitest.KeyType
		kf       pkitest.KeyFormat
		wrap     func(keyPEM string) string // nil: the PEM as minted
		wantType string
		wantErr  error
	}{
		{name: "ok/ecdsa-p256-pkcs8", kt: "ecdsa-p256", kf: "pkcs8", wantType: "*ecdsa.PrivateKey"},
		{name: "ok/ecdsa-p256-sec1", kt: "ecdsa-p256", kf: "sec1", wantType: "*ecdsa.PrivateKey"},
		{name: "ok/ecdsa-p384-sec1", kt: "ecdsa-p384", kf: "sec1", wantType: "*ecdsa.PrivateKey"},
		{name: "ok/ecdsa-p521-pkcs8", kt: "ecdsa-p521", kf: "pkcs8", wantType: "*ecdsa.PrivateKey"},
		{name: "ok/rsa-2048-pkcs1", kt: "rsa-2048", kf: "pkcs1", wantType: "*rsa.PrivateKey"},
		{name: "ok/rsa-3072-pkcs8", kt: "rsa-3072", kf: "pkcs8", wantType: "*rsa.PrivateKey"},
		{name: "ok/ed25519-pkcs8", kt: "ed25519", kf: "pkcs8", wantType: "ed25519.PrivateKey"},
		{name: "ok/ec-parameters-first", kt: "ecdsa-p256", kf: "sec1", wrap: func(k string) string { return ecParams + k }, wantType: "*ecdsa.PrivateKey"},
		{name: "ok/ec-parameters-after", kt: "ecdsa-p256", kf: "sec1", wrap: func(k string) string { return k + ecParams }, wantType: "*ecdsa.PrivateKey"},
		{name: "ok/crlf-indented", kt: "rsa-2048", kf: "pkcs1", wrap: func(k string) string { return "key:\r\n\r\n    " + strings.ReplaceAll(k, "\n", "\r\n    ") }, wantType: "*rsa.PrivateKey"},
		{name: "ok/lone-cr", kt: "ed25519", wrap: func(k string) string { return strings.ReplaceAll(k, "\n", "\r") }, wantType: "ed25519.PrivateKey"},
		{name: "ok/unused-header", kt: "ecdsa-p256", wrap: func(k string) string { return strings.Replace(k, "-----\n", "-----\nComment: from the vault\n\n", 1) }, wantType: "*ecdsa.PrivateKey"},

		{name: "fail/weak-rsa-1024-pkcs1", kt: "rsa-1024", kf: "pkcs1", wantErr: certcheck.ErrWeakKey},
		{name: "fail/weak-rsa-1024-pkcs8", kt: "rsa-1024", kf: "pkcs8", wantErr: certcheck.ErrWeakKey},
		{name: "fail/two-copies", kt: "ecdsa-p256", wrap: func(k string) string { return k + k }, wantErr: certcheck.ErrBadKey},
		{name: "fail/pkcs8-under-pkcs1-label", kt: "rsa-2048", kf: "pkcs8", wrap: relabel("PRIVATE KEY", "RSA PRIVATE KEY"), wantErr: certcheck.ErrBadKey},
		{name: "fail/sec1-under-pkcs8-label", kt: "ecdsa-p256", kf: "sec1", wrap: relabel("EC PRIVATE KEY", "PRIVATE KEY"), wantErr: certcheck.ErrBadKey},
		{name: "fail/encrypted-label", kt: "ecdsa-p256", wrap: relabel("PRIVATE KEY", "ENCRYPTED PRIVATE KEY"), wantErr: certcheck.ErrEncryptedKey},
		{
			name: "fail/legacy-encrypted-header",
			kt:   "rsa-2048",
			kf:   "pkcs1",
			wrap: func(k string) string {
				return strings.Replace(k, "-----\n", "-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\n", 1)
			},
			wantErr: certcheck.ErrEncryptedKey,
		},
		{name: "fail/truncated", kt: "ecdsa-p256", wrap: func(k string) string { return k[:len(k)/2] }, wantErr: certcheck.ErrBadKey},
		{name: "fail/missing-end-label", kt: "ecdsa-p256", wrap: func(k string) string { return strings.Replace(k, "-----END PRIVATE KEY-----", "-----END-----", 1) }, wantErr: certcheck.ErrBadKey},
		{name: "fail/public-key-only", kt: "ecdsa-p256", wrap: func(string) string { return "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }, wantErr: certcheck.ErrBadKey},
		{name: "fail/ec-parameters-only", wrap: func(string) string { return ecParams }, wantErr: certcheck.ErrNoKey},
		{name: "fail/nothing", wrap: func(string) string { return "" }, wantErr: certcheck.ErrNoKey},
		{name: "fail/block-too-large", wrap: func(string) string { return pemText("PRIVATE KEY", make([]byte, 8<<10+1)) }, wantErr: certcheck.ErrKeyTooLarge},
		{name: "fail/text-too-large", kt: "ecdsa-p256", wrap: func(k string) string { return strings.Repeat(" ", 16<<10) + k }, wantErr: certcheck.ErrKeyTooLarge},
		{name: "ok/text-at-the-limit", kt: "ecdsa-p256", wrap: func(k string) string { return strings.Repeat(" ", 16<<10-len(k)) + k }, wantType: "*ecdsa.PrivateKey"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, keyPEM := pkitest.Key(t, tt.kt, tt.kf)
			text := keyPEM
			if tt.wrap != nil {
				text = tt.wrap(keyPEM)
			}
			key, err := certcheck.ParsePrivateKey(text)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || key != nil {
					t.Fatalf("ParsePrivateKey = %T, %v; want error %v", key, err, tt.wantErr)
				}
				assertNoKeyMaterial(t, err, keyPEM)
				return
			}
			if err != nil {
				t.Fatalf("ParsePrivateKey: %v", err)
			}
			if got := fmt.Sprintf("%T", key); got != tt.wantType {
				t.Errorf("key type = %s, want %s", got, tt.wantType)
			}
		})
	}
}

func relabel(from, to string) func(string) string {
	return func(k string) string {
		return strings.ReplaceAll(k, " "+from+"-----", " "+to+"-----")
	}
}

func pemText(label string, der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}))
}

// assertNoKeyMaterial fails when the text of err holds any 8 consecutive
// characters of the base64 body of keyPEM.
func assertNoKeyMaterial(t *testing.T, err error, keyPEM string) {
	t.Helper()
	b, _ := pem.Decode([]byte(keyPEM))
	if b == nil {
		return
	}
	body := base64.StdEncoding.EncodeToString(b.Bytes)
	msg := err.Error()
	for i := 0; i+8 <= len(body); i++ {
		if strings.Contains(msg, body[i:i+8]) {
			t.Errorf("error text %q holds key material", msg)
			return
		}
	}
}

// TestErrorsHoldNoKeyMaterial feeds keys to the certificate parser and broken
// or refused keys to the key parser, and checks the texts of the errors.
func TestErrorsHoldNoKeyMaterial(t *testing.T) {
	root := pkitest.NewCA(t, "Root", now.Add(-day), now.Add(day))
	leaf := root.Leaf(t, pkitest.LeafOptions{KeyType: "rsa-2048", KeyFormat: "pkcs1"})
	_, weakPEM := pkitest.Key(t, "rsa-1024", "pkcs1")
	_, otherPEM := pkitest.Key(t, "", "")
	for _, keyPEM := range []string{leaf.KeyPEM, weakPEM, otherPEM} {
		for _, text := range []string{
			keyPEM,
			leaf.CertPEM + keyPEM,
			keyPEM + keyPEM,
			strings.Replace(keyPEM, "PRIVATE KEY-----\n", "PRIVATE KEY-----\n!", 1),
			keyPEM[:len(keyPEM)-40],
		} {
			if _, err := certcheck.ParseCertificates(text); err != nil {
				assertNoKeyMaterial(t, err, keyPEM)
			}
			if _, err := certcheck.ParsePrivateKey(text); err != nil {
				assertNoKeyMaterial(t, err, keyPEM)
			}
			if _, err := certcheck.Check(leaf.CertPEM, text, now); err != nil {
				assertNoKeyMaterial(t, err, keyPEM)
			}
		}
	}
}

func TestKeyMatches(t *testing.T) {
	root := pkitest.NewCA(t, "Root", now.Add(-day), now.Add(day))
	tests := []struct {
		name string
		kt   pkitest.KeyType
	}{
		{name: "ok/ecdsa", kt: "ecdsa-p384"},
		{name: "ok/rsa", kt: "rsa-2048"},
		{name: "ok/ed25519", kt: "ed25519"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := root.Leaf(t, pkitest.LeafOptions{KeyType: tt.kt})
			other, _ := pkitest.Key(t, "ed25519", "")
			got := []bool{
				certcheck.KeyMatches(leaf.Cert, leaf.Key),
				certcheck.KeyMatches(leaf.Cert, other),
				certcheck.KeyMatches(root.Cert, leaf.Key),
				certcheck.KeyMatches(nil, leaf.Key),
				certcheck.KeyMatches(leaf.Cert, nil),
			}
			if diff := cmp.Diff([]bool{true, false, false, false, false}, got); diff != "" {
				t.Errorf("KeyMatches (-want +got):\n%s", diff)
			}
		})
	}
	// The parsed key matches too, whatever its format.
	for _, kf := range []pkitest.KeyFormat{"pkcs1", "pkcs8"} {
		leaf := root.Leaf(t, pkitest.LeafOptions{KeyType: "rsa-2048", KeyFormat: kf})
		key, err := certcheck.ParsePrivateKey(leaf.KeyPEM)
		if err != nil || !certcheck.KeyMatches(leaf.Cert, key) {
			t.Errorf("%s: parsed key does not match its certificate (%v)", kf, err)
		}
	}
}

// TestParsePrivateKeyEmbeddedPublicKey: an EC key whose text holds, beside
// its private scalar, a public key that is not the scalar's is refused,
// although Go's parser ignores that field; one with no public key there or
// its own (uncompressed or compressed) is accepted. ParseStoredKey, for
// keys stored before the check, still opens a lying key as its scalar's.
func TestParsePrivateKeyEmbeddedPublicKey(t *testing.T) {
	for _, kt := range []pkitest.KeyType{"ecdsa-p256", "ecdsa-p384"} {
		for _, kf := range []pkitest.KeyFormat{"pkcs8", "sec1"} {
			t.Run(string(kt)+"-"+string(kf), func(t *testing.T) {
				key, keyPEM := pkitest.Key(t, kt, kf)
				other, _ := pkitest.Key(t, kt, kf)
				own := ecPoint(t, key)
				compressed := append([]byte{2 + own[len(own)-1]&1}, own[1:1+(len(own)-1)/2]...)
				lying := pkitest.WithECPublicKey(t, keyPEM, ecPoint(t, other))
				tests := []struct {
					name    string
					text    string
					wantErr error
				}{
					{name: "ok/own-as-minted", text: keyPEM},
					{name: "ok/own-rewritten", text: pkitest.WithECPublicKey(t, keyPEM, own)},
					{name: "ok/own-compressed", text: pkitest.WithECPublicKey(t, keyPEM, compressed)},
					{name: "ok/none", text: pkitest.WithECPublicKey(t, keyPEM, nil)},
					{name: "fail/another-keys", text: lying, wantErr: certcheck.ErrBadKey},
					{name: "fail/another-keys-compressed", text: pkitest.WithECPublicKey(t, keyPEM, append([]byte{3 - compressed[0]&1}, compressed[1:]...)), wantErr: certcheck.ErrBadKey},
					{name: "fail/own-truncated", text: pkitest.WithECPublicKey(t, keyPEM, own[:len(own)-1]), wantErr: certcheck.ErrBadKey},
					{name: "fail/not-a-point", text: pkitest.WithECPublicKey(t, keyPEM, []byte{4}), wantErr: certcheck.ErrBadKey},
				}
				for _, tt := range tests {
					got, err := certcheck.ParsePrivateKey(tt.text)
					if tt.wantErr != nil {
						if !errors.Is(err, tt.wantErr) || got != nil {
							t.Errorf("%s: ParsePrivateKey = %T, %v; want error %v", tt.name, got, err, tt.wantErr)
						} else {
							assertNoKeyMaterial(t, err, tt.text)
						}
						continue
					}
					if err != nil {
						t.Errorf("%s: ParsePrivateKey: %v", tt.name, err)
					} else if !key.Public().(*ecdsa.PublicKey).Equal(got.Public()) {
						t.Errorf("%s: ParsePrivateKey gave another key", tt.name)
					}
				}
				stored, err := certcheck.ParseStoredKey(lying)
				if err != nil || !key.Public().(*ecdsa.PublicKey).Equal(stored.Public()) {
					t.Errorf("ParseStoredKey(a lying key) = %v; want the key of its scalar", err)
				}
			})
		}
	}
	// Through Check: a key that carries the leaf's public key beside another
	// scalar is refused as a bad key, not served.
	root := pkitest.NewCA(t, "Root", now.Add(-day), now.Add(day))
	leaf := root.Leaf(t, pkitest.LeafOptions{KeyType: "ecdsa-p256", KeyFormat: "pkcs8"})
	_, otherPEM := pkitest.Key(t, "ecdsa-p256", "pkcs8")
	if _, err := certcheck.Check(leaf.CertPEM, pkitest.WithECPublicKey(t, otherPEM, ecPoint(t, leaf.Key)), now); !errors.Is(err, certcheck.ErrBadKey) {
		t.Errorf("Check(a key carrying the leaf's public key) = %v; want %v", err, certcheck.ErrBadKey)
	}
}

// ecPoint is the uncompressed public point of the ECDSA key k.
func ecPoint(t *testing.T, k crypto.Signer) []byte {
	t.Helper()
	b, err := k.Public().(*ecdsa.PublicKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
