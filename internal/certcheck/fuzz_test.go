package certcheck_test

import (
	"crypto/rsa"
	"errors"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
)

// addSeeds adds every file of testdata/ (hostile inputs only) and, so that
// the fuzzer starts from the success paths too, a chain and keys minted now.
// Minted inputs are never written to disk.
func addSeeds(f *testing.F) {
	for _, name := range testdataFiles(f) {
		f.Add(readTestdata(f, name))
	}
	root := pkitest.NewCA(f, "Root", now.Add(-day), now.Add(day))
	leaf := root.Intermediate(f, "Intermediate", now.Add(-day), now.Add(day)).Leaf(f, pkitest.LeafOptions{DNSNames: []string{"example.com"}})
	f.Add(leaf.ChainPEM + root.CertPEM)
	f.Add(leaf.KeyPEM)
	for _, k := range []struct {
		kt pkitest.KeyType
		kf pkitest.KeyFormat
	}{{"ecdsa-p384", "sec1"}, {"rsa-2048", "pkcs1"}, {"ed25519", "pkcs8"}} {
		_, keyPEM := pkitest.Key(f, k.kt, k.kf)
		f.Add(ecParams + strings.ReplaceAll(keyPEM, "\n", "\r\n"))
	}
}

func FuzzParseCertificates(f *testing.F) {
	addSeeds(f)
	sentinels := []error{certcheck.ErrNoCertificate, certcheck.ErrBadCertificate, certcheck.ErrUnexpectedBlock,
		certcheck.ErrStrayData, certcheck.ErrCertTooLarge}
	f.Fuzz(func(t *testing.T, text string) {
		certs, err := certcheck.ParseCertificates(text)
		if err != nil {
			if certs != nil {
				t.Errorf("ParseCertificates returned certificates with error %v", err)
			}
			checkError(t, err, sentinels)
			return
		}
		if len(certs) == 0 || len(certs) > certcheck.MaxCertificates || len(text) > certcheck.MaxCertificateText {
			t.Fatalf("ParseCertificates succeeded with %d certificates from %d bytes", len(certs), len(text))
		}
		for i, c := range certs {
			if c == nil {
				t.Fatalf("certificate %d is nil", i)
			}
			// The names are normalized once, here: what is stored and
			// shown is what the index matches.
			seen := map[string]bool{}
			for _, n := range c.DNSNames {
				if n != strings.ToLower(n) || seen[n] {
					t.Fatalf("certificate %d: DNS name %q is not lowercased and unique", i, n)
				}
				seen[n] = true
			}
			certcheck.Names(c)
			certcheck.Describe(c)
			certcheck.CheckNames(c)
		}
	})
}

func FuzzParsePrivateKey(f *testing.F) {
	addSeeds(f)
	sentinels := []error{certcheck.ErrNoKey, certcheck.ErrBadKey, certcheck.ErrEncryptedKey, certcheck.ErrWeakKey,
		certcheck.ErrUnsupportedKey, certcheck.ErrKeyTooLarge}
	f.Fuzz(func(t *testing.T, text string) {
		key, err := certcheck.ParsePrivateKey(text)
		if err != nil {
			if key != nil {
				t.Errorf("ParsePrivateKey returned a key with error %v", err)
			}
			checkError(t, err, sentinels)
			return
		}
		if key == nil || key.Public() == nil {
			t.Fatal("ParsePrivateKey succeeded with no key")
		}
		if len(text) > certcheck.MaxKeyText {
			t.Fatalf("ParsePrivateKey accepted %d bytes of text", len(text))
		}
		if k, ok := key.(*rsa.PrivateKey); ok && (k.N.BitLen() < certcheck.MinRSABits || k.N.BitLen() > certcheck.MaxRSABits) {
			t.Fatalf("ParsePrivateKey accepted an RSA key of %d bits", k.N.BitLen())
		}
	})
}

// checkError fails unless err wraps exactly one of sentinels and its text
// starts with the package name.
func checkError(t *testing.T, err error, sentinels []error) {
	t.Helper()
	n := 0
	for _, s := range sentinels {
		if errors.Is(err, s) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("error %q wraps %d of the expected sentinels, want 1", err, n)
	}
	if !strings.HasPrefix(err.Error(), "certcheck: ") {
		t.Errorf("error %q does not start with \"certcheck: \"", err)
	}
}
