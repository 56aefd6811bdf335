package cert_test

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
)

// rsa8192PEM is the RSA-8192 key of certcheck's hostile inputs: generating
// one takes seconds.
func rsa8192PEM(t *testing.T) (crypto.Signer, string) {
	t.Helper()
	b, err := os.ReadFile("../certcheck/testdata/rsa-8192.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := certcheck.ParseStoredKey(string(b))
	if err != nil {
		t.Fatal(err)
	}
	return key, string(b)
}

// leafFor mints a leaf for pub under ca, valid around t0.
func leafFor(t *testing.T, ca *pkitest.CA, pub crypto.PublicKey, names []string) string {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: t0.Add(-time.Hour), NotAfter: t0.Add(60 * 24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// TestLimitsOnEveryPath: a costly certificate (101 names, an RSA-8192 key)
// is refused wherever certificates come in: SetCertificate's upload, the
// repository's upload, and SetCertificate's cas of a repository certificate
// stored before the limits existed.
func TestLimitsOnEveryPath(t *testing.T) {
	svc, _, site := newService(t)
	ctx := t.Context()
	ca := pkitest.NewCA(t, "Limits Root", t0.Add(-time.Hour), t0.Add(365*24*time.Hour))
	ecKey, ecKeyPEM := pkitest.Key(t, "ecdsa-p256", "")
	var names []string
	for i := range 101 {
		names = append(names, fmt.Sprintf("h%d.example.com", i))
	}
	bigKey, bigKeyPEM := rsa8192PEM(t)
	inputs := []struct {
		name            string
		certPEM, keyPEM string
		want            error
		wantText        string
	}{
		{"101-names", leafFor(t, ca, ecKey.Public(), names), ecKeyPEM, certcheck.ErrCertTooLarge, "at most 100"},
		{"rsa-8192", leafFor(t, ca, bigKey.Public(), []string{"www.example.com"}), bigKeyPEM, certcheck.ErrKeyTooLarge, "at most 4096"},
	}
	for i, in := range inputs {
		check := func(t *testing.T, err error) {
			t.Helper()
			if !errors.Is(err, in.want) || !strings.Contains(err.Error(), in.wantText) {
				t.Fatalf("err = %v, want %v saying %q", err, in.want, in.wantText)
			}
		}
		t.Run("fail/upload/"+in.name, func(t *testing.T) {
			_, err := svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeUpload, CertPEM: in.certPEM, KeyPEM: in.keyPEM})
			check(t, err)
		})
		t.Run("fail/repository/"+in.name, func(t *testing.T) {
			_, err := svc.UploadRepoCert(ctx, cert.UploadInput{Name: "repo-" + in.name, CertPEM: in.certPEM, KeyPEM: in.keyPEM})
			check(t, err)
		})
		t.Run("fail/cas/"+in.name, func(t *testing.T) {
			// Stored as an earlier version stored it, unchecked by today's
			// limits; the key bound to its row as the service binds it.
			id := int64(20_000_000 + i)
			sealed, err := svc.Sealer.Seal([]byte(in.keyPEM), []byte(fmt.Sprintf("repository:%d", id)))
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.Repo.CreateRepoCert(ctx, cert.RepoCert{ID: id, Name: "old-" + in.name, Region: cert.DefaultRegion,
				CertPEM: in.certPEM, SealedKey: sealed, Created: t0}); err != nil {
				t.Fatal(err)
			}
			_, err = svc.SetCertificate(ctx, cert.SetInput{SiteID: site.ID, Type: cert.TypeCAS, CasID: id})
			check(t, err)
		})
	}
}

// TestOpenKeyOfAnEarlierUpload: a certificate stored before the RSA bound
// was lowered to 4096 bits keeps its key: the edge can still serve it.
func TestOpenKeyOfAnEarlierUpload(t *testing.T) {
	svc, _, _ := newService(t)
	key, keyPEM := rsa8192PEM(t)
	c := cert.Certificate{ID: strings.Repeat("ab", 16)}
	var err error
	if c.SealedKey, err = cert.SealKey(svc.Sealer, c.ID, []byte(keyPEM)); err != nil {
		t.Fatal(err)
	}
	got, err := cert.OpenKey(svc.Sealer, c)
	if err != nil {
		t.Fatalf("OpenKey: %v", err)
	}
	if !key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(got.Public()) {
		t.Fatal("OpenKey returned another key")
	}
}
