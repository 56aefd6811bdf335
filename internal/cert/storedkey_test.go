package cert_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/fips140"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
)

// leafWith mints a leaf for www.example.com with a key of type kt in format
// kf.
func leafWith(t testing.TB, kt pkitest.KeyType, kf pkitest.KeyFormat) *pkitest.Leaf {
	t.Helper()
	ca := pkitest.NewCA(t, "Stored Key Root", time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	return ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}, KeyType: kt, KeyFormat: kf})
}

// checkSigns fails t unless key signs what the leaf's public key verifies.
func checkSigns(t *testing.T, key crypto.Signer, leaf *x509.Certificate) {
	t.Helper()
	msg := []byte("handshake transcript")
	digest := sha256.Sum256(msg)
	var err error
	switch pub := leaf.PublicKey.(type) {
	case *ecdsa.PublicKey:
		var sig []byte
		if sig, err = key.Sign(rand.Reader, digest[:], crypto.SHA256); err == nil && !ecdsa.VerifyASN1(pub, digest[:], sig) {
			err = errors.New("the signature does not verify")
		}
	case *rsa.PublicKey:
		var sig []byte
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}
		if sig, err = key.Sign(rand.Reader, digest[:], opts); err == nil {
			err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, opts)
		}
	case ed25519.PublicKey:
		var sig []byte
		if sig, err = key.Sign(rand.Reader, msg, crypto.Hash(0)); err == nil && !ed25519.Verify(pub, msg, sig) {
			err = errors.New("the signature does not verify")
		}
	}
	if err != nil {
		t.Fatalf("signing with the key built: %v", err)
	}
}

// TestParseStoredKeyFor: the key built for a leaf is the key parsed in
// full (same public key and private scalar), whatever its type and format,
// with and without the public key beside an ECDSA scalar, and it signs
// what the leaf verifies.
func TestParseStoredKeyFor(t *testing.T) {
	for _, tt := range []struct {
		kt pkitest.KeyType
		kf pkitest.KeyFormat
	}{
		{"ecdsa-p256", "pkcs8"}, {"ecdsa-p256", "sec1"}, {"ecdsa-p384", "pkcs8"}, {"ecdsa-p384", "sec1"},
		{"ecdsa-p521", "pkcs8"}, {"rsa-2048", "pkcs8"}, {"rsa-2048", "pkcs1"}, {"ed25519", "pkcs8"},
	} {
		t.Run(string(tt.kt)+"/"+string(tt.kf), func(t *testing.T) {
			l := leafWith(t, tt.kt, tt.kf)
			texts := map[string]string{"as written": l.KeyPEM}
			if k, ok := l.Key.(*ecdsa.PrivateKey); ok {
				texts["without its public key"] = sec1WithoutPublicKey(t, k)
			}
			for what, text := range texts {
				key, err := cert.ParseStoredKeyFor([]byte(text), l.Cert.Raw)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if k, ok := key.(interface{ Equal(crypto.PrivateKey) bool }); !ok || !k.Equal(l.Key) {
					t.Fatalf("%s: built %T, not the key parsed in full", what, key)
				}
				checkSigns(t, key, l.Cert)
			}
		})
	}
}

// sec1WithoutPublicKey encodes k as SEC1 without the optional public key.
func sec1WithoutPublicKey(t *testing.T, k *ecdsa.PrivateKey) string {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	var full struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
		PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
	}
	if _, err := asn1.Unmarshal(der, &full); err != nil {
		t.Fatal(err)
	}
	short := struct {
		Version    int
		PrivateKey []byte
		Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	}{full.Version, full.PrivateKey, full.Curve}
	if der, err = asn1.Marshal(short); err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}))
}

// TestParseStoredKeyForMismatch: a key that is not the leaf's is refused
// with ErrKeyMismatch, whether it would be built from the leaf's public key
// (an ECDSA key holding its own) or parsed in full; a leaf that cannot be
// read is ErrBadCertificate.
func TestParseStoredKeyForMismatch(t *testing.T) {
	for _, tt := range []struct {
		name      string
		leaf, key pkitest.KeyType
		kf        pkitest.KeyFormat
	}{
		{"ecdsa_p256_pkcs8", "ecdsa-p256", "ecdsa-p256", "pkcs8"},
		{"ecdsa_p256_sec1", "ecdsa-p256", "ecdsa-p256", "sec1"},
		{"ecdsa_other_curve", "ecdsa-p384", "ecdsa-p256", "pkcs8"},
		{"rsa", "rsa-2048", "rsa-3072", "pkcs1"},
		{"ed25519", "ed25519", "ed25519", "pkcs8"},
		{"ed25519_leaf_ecdsa_key", "ed25519", "ecdsa-p256", "pkcs8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := leafWith(t, tt.leaf, "")
			_, text := pkitest.Key(t, tt.key, tt.kf)
			if key, err := cert.ParseStoredKeyFor([]byte(text), l.Cert.Raw); !errors.Is(err, certcheck.ErrKeyMismatch) {
				t.Fatalf("got %T, %v; want ErrKeyMismatch", key, err)
			}
		})
	}
	l := leafWith(t, "ecdsa-p256", "")
	if _, err := cert.ParseStoredKeyFor([]byte(l.KeyPEM), l.Cert.Raw[:len(l.Cert.Raw)-1]); !errors.Is(err, certcheck.ErrBadCertificate) {
		t.Fatalf("a truncated leaf: %v; want ErrBadCertificate", err)
	}
}

// TestParseStoredKeyForLyingKey: a key stored before upload checked the
// public key beside an ECDSA scalar may carry one that is not the
// scalar's. One that carries the leaf's public key beside another scalar
// is refused (it would sign what the leaf does not verify), every time;
// one that carries another public key beside the leaf's scalar serves,
// as its scalar's key.
func TestParseStoredKeyForLyingKey(t *testing.T) {
	for _, kt := range []pkitest.KeyType{"ecdsa-p256", "ecdsa-p384"} {
		for _, kf := range []pkitest.KeyFormat{"pkcs8", "sec1"} {
			t.Run(string(kt)+"/"+string(kf), func(t *testing.T) {
				l := leafWith(t, kt, kf)
				other, otherPEM := pkitest.Key(t, kt, kf)
				leafPub, err := l.Key.Public().(*ecdsa.PublicKey).Bytes()
				if err != nil {
					t.Fatal(err)
				}
				lying := pkitest.WithECPublicKey(t, otherPEM, leafPub)
				for range 2 { // a refusal is not remembered as a pass
					if key, err := cert.ParseStoredKeyFor([]byte(lying), l.Cert.Raw); !errors.Is(err, certcheck.ErrKeyMismatch) {
						t.Fatalf("another scalar beside the leaf's public key: %T, %v; want ErrKeyMismatch", key, err)
					}
				}
				otherPub, err := other.Public().(*ecdsa.PublicKey).Bytes()
				if err != nil {
					t.Fatal(err)
				}
				key, err := cert.ParseStoredKeyFor([]byte(pkitest.WithECPublicKey(t, l.KeyPEM, otherPub)), l.Cert.Raw)
				if err != nil {
					t.Fatalf("the leaf's scalar beside another public key: %v", err)
				}
				checkSigns(t, key, l.Cert)
			})
		}
	}
}

// TestParseStoredKeyForFIPS: with FIPS 140-3 mode on (GODEBUG=fips140=on,
// in a child process), ECDSA keys are parsed in full, as crypto/ecdsa
// checks them then, and still serve.
func TestParseStoredKeyForFIPS(t *testing.T) {
	if os.Getenv("CERT_FIPS_CHILD") == "1" {
		if !fips140.Enabled() {
			t.Fatal("FIPS 140-3 mode is not on in the child")
		}
		l := leafWith(t, "ecdsa-p256", "")
		key, err := cert.ParseStoredKeyFor([]byte(l.KeyPEM), l.Cert.Raw)
		if err != nil {
			t.Fatal(err)
		}
		checkSigns(t, key, l.Cert)
		_, other := pkitest.Key(t, "ecdsa-p256", "")
		if _, err := cert.ParseStoredKeyFor([]byte(other), l.Cert.Raw); !errors.Is(err, certcheck.ErrKeyMismatch) {
			t.Fatalf("another key: %v; want ErrKeyMismatch", err)
		}
		if n := storedKeyAllocs(t); n <= 8 {
			t.Fatalf("%v allocations: the key was not parsed in full", n)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestParseStoredKeyForFIPS$", "-test.v")
	cmd.Env = append(os.Environ(), "CERT_FIPS_CHILD=1", "GODEBUG=fips140=on")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestParseStoredKeyForFIPS") {
		t.Fatalf("the child with FIPS 140-3 mode on: %v\n%s", err, out)
	}
}

// storedKeyAllocs counts the allocations of ParseStoredKeyFor on an ECDSA
// P-256 key in PKCS#8 (as Go writes it, with its public key): a handful
// when the key is built from the leaf's public key, dozens when it is
// parsed in full.
func storedKeyAllocs(t *testing.T) float64 {
	l := leafWith(t, "ecdsa-p256", "pkcs8")
	text := []byte(l.KeyPEM)
	return testing.AllocsPerRun(20, func() {
		if _, err := cert.ParseStoredKeyFor(text, l.Cert.Raw); err != nil {
			t.Fatal(err)
		}
	})
}

// TestParseStoredKeyForShortcut: an ECDSA key that holds the leaf's public
// key is built from it, not parsed in full.
func TestParseStoredKeyForShortcut(t *testing.T) {
	if fips140.Enabled() {
		t.Skip("FIPS 140-3 mode parses every key in full")
	}
	if n := storedKeyAllocs(t); n > 8 {
		t.Fatalf("%v allocations: the key was parsed in full", n)
	}
}
