package certcheck_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/esacert/esacert/internal/certcheck"
)

// testdataFiles returns the names of the hostile inputs in testdata/, which
// seed the fuzz tests as well.
func testdataFiles(tb testing.TB) []string {
	tb.Helper()
	entries, err := os.ReadDir("testdata")
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() {
			names = append(names, e.Name())
		}
	}
	return names
}

func readTestdata(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// TestTestdata pins what each checked-in hostile input does in the
// certificate field and in the private key field. Every file in testdata/
// must be listed.
func TestTestdata(t *testing.T) {
	var (
		noCert     = certcheck.ErrNoCertificate
		badCert    = certcheck.ErrBadCertificate
		unexpected = certcheck.ErrUnexpectedBlock
		noKey      = certcheck.ErrNoKey
		badKey     = certcheck.ErrBadKey
	)
	tests := []struct {
		file    string
		certErr error
		keyErr  error // nil: a usable key
	}{
		{"begin-no-closing-dashes.pem", badCert, badKey},
		{"begin-without-end.pem", badCert, badKey},
		{"binary.der", noCert, noKey},
		{"crlf-text-around-invalid-block.pem", badCert, badKey},
		{"dsa-legacy-label.pem", unexpected, certcheck.ErrUnsupportedKey},
		{"dsa-pkcs8.pem", unexpected, certcheck.ErrUnsupportedKey},
		{"ec-parameters-only.pem", unexpected, noKey},
		{"ed448.pem", unexpected, certcheck.ErrUnsupportedKey},
		{"empty-body.pem", badCert, badKey},
		{"encrypted-legacy-rsa.pem", unexpected, certcheck.ErrEncryptedKey},
		{"encrypted-pkcs8.pem", unexpected, certcheck.ErrEncryptedKey},
		{"end-before-begin.pem", badCert, badKey},
		{"header-after-body.pem", badCert, badKey},
		{"key-in-certificate-field.pem", unexpected, nil},
		{"nested-begin.pem", badCert, badKey},
		{"openssh-key.pem", unexpected, badKey},
		{"p224-sec1.pem", unexpected, certcheck.ErrUnsupportedKey},
		{"pkcs1-under-pkcs8-label.pem", unexpected, badKey},
		{"public-key.pem", unexpected, badKey},
		{"rsa-1024.pem", unexpected, certcheck.ErrWeakKey},
		{"rsa-8192.pem", unexpected, certcheck.ErrKeyTooLarge},
		{"secp256k1-pkcs8.pem", unexpected, certcheck.ErrUnsupportedKey},
		{"secp256k1-sec1.pem", unexpected, certcheck.ErrUnsupportedKey},
		{"swapped-labels.pem", badCert, badKey},
		{"text-only.txt", noCert, noKey},
		{"truncated-base64.pem", badCert, badKey},
		{"truncated-der.pem", badCert, badKey},
		{"trusted-certificate.pem", unexpected, badKey},
		{"two-keys.pem", unexpected, badKey},
		{"whitespace-only.txt", noCert, noKey},
		{"x25519.pem", unexpected, certcheck.ErrUnsupportedKey},
	}
	var listed []string
	for _, tt := range tests {
		listed = append(listed, tt.file)
		t.Run("fail/"+tt.file, func(t *testing.T) {
			text := readTestdata(t, tt.file)
			certs, err := certcheck.ParseCertificates(text)
			if !errors.Is(err, tt.certErr) || certs != nil {
				t.Errorf("ParseCertificates = %d certificates, %v; want %v", len(certs), err, tt.certErr)
			}
			key, err := certcheck.ParsePrivateKey(text)
			if !errors.Is(err, tt.keyErr) || (err == nil) != (key != nil) {
				t.Errorf("ParsePrivateKey = %T, %v; want %v", key, err, tt.keyErr)
			}
		})
	}
	for _, f := range testdataFiles(t) {
		if !slices.Contains(listed, f) {
			t.Errorf("testdata/%s is not listed in TestTestdata", f)
		}
	}
}
