package pkitest_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func parsePEM(t *testing.T, text string) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	rest := []byte(text)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	return certs
}

func TestChainVerifies(t *testing.T) {
	year := 365 * 24 * time.Hour
	root := pkitest.NewCA(t, "Test Root", now.Add(-year), now.Add(10*year))
	inter1 := root.Intermediate(t, "Test Intermediate 1", now.Add(-year), now.Add(5*year))
	inter2 := inter1.Intermediate(t, "Test Intermediate 2", now.Add(-year), now.Add(5*year))
	leaf := inter2.Leaf(t, pkitest.LeafOptions{
		CommonName: "www.example.com",
		DNSNames:   []string{"www.example.com", "example.com"},
		NotBefore:  now.Add(-time.Hour),
		NotAfter:   now.Add(90 * 24 * time.Hour),
	})

	chain := parsePEM(t, leaf.ChainPEM)
	var got []string
	for _, c := range chain {
		got = append(got, c.Subject.CommonName)
	}
	want := []string{"www.example.com", "Test Intermediate 2", "Test Intermediate 1"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ChainPEM subjects (-want +got):\n%s", diff)
	}
	if certs := parsePEM(t, leaf.CertPEM); len(certs) != 1 || !certs[0].Equal(leaf.Cert) {
		t.Errorf("CertPEM does not hold the leaf alone")
	}
	if certs := parsePEM(t, root.CertPEM); len(certs) != 1 || !certs[0].Equal(root.Cert) {
		t.Errorf("CA.CertPEM does not hold the CA certificate")
	}

	roots := x509.NewCertPool()
	roots.AddCert(root.Cert)
	inters := x509.NewCertPool()
	for _, c := range chain[1:] {
		inters.AddCert(c)
	}
	opts := x509.VerifyOptions{
		DNSName:       "example.com",
		Roots:         roots,
		Intermediates: inters,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if _, err := leaf.Cert.Verify(opts); err != nil {
		t.Errorf("Verify at now: %v", err)
	}
	opts.CurrentTime = now.Add(100 * 24 * time.Hour)
	var invalid x509.CertificateInvalidError
	if _, err := leaf.Cert.Verify(opts); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("Verify after NotAfter = %v, want an Expired error", err)
	}
}

func TestLeafDefaults(t *testing.T) {
	root := pkitest.NewCA(t, "Root", now.Add(-time.Hour), now.Add(time.Hour))
	leaf := root.Leaf(t, pkitest.LeafOptions{})
	if !leaf.Cert.NotBefore.Equal(root.Cert.NotBefore) || !leaf.Cert.NotAfter.Equal(root.Cert.NotAfter) {
		t.Errorf("leaf validity %v–%v, want the CA's %v–%v", leaf.Cert.NotBefore, leaf.Cert.NotAfter, root.Cert.NotBefore, root.Cert.NotAfter)
	}
	if _, ok := leaf.Key.(*ecdsa.PrivateKey); !ok {
		t.Errorf("default key is %T, want *ecdsa.PrivateKey", leaf.Key)
	}
	if leaf.ChainPEM != leaf.CertPEM {
		t.Errorf("ChainPEM of a leaf under a root holds more than the leaf")
	}
	if leaf.Cert.SerialNumber.BitLen() < 64 || len(leaf.Cert.SubjectKeyId) == 0 {
		t.Errorf("leaf serial %x, SubjectKeyId %x: want random and set", leaf.Cert.SerialNumber, leaf.Cert.SubjectKeyId)
	}
	if got, want := leaf.Cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}; !cmp.Equal(want, got) {
		t.Errorf("ExtKeyUsage = %v, want %v", got, want)
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		name    string
		kt      pkitest.KeyType
		kf      pkitest.KeyFormat
		label   string
		keyBits int
	}{
		{name: "ok/default", label: "PRIVATE KEY", keyBits: 256},
		{name: "ok/ecdsa-p256-sec1", kt: "ecdsa-p256", kf: "sec1", label: "EC PRIVATE KEY", keyBits: 256},
		{name: "ok/ecdsa-p384", kt: "ecdsa-p384", label: "PRIVATE KEY", keyBits: 384},
		{name: "ok/ecdsa-p521-sec1", kt: "ecdsa-p521", kf: "sec1", label: "EC PRIVATE KEY", keyBits: 521},
		{name: "ok/rsa-1024-pkcs1", kt: "rsa-1024", kf: "pkcs1", label: "RSA PRIVATE KEY", keyBits: 1024},
		{name: "ok/rsa-2048-pkcs8", kt: "rsa-2048", kf: "pkcs8", label: "PRIVATE KEY", keyBits: 2048},
		{name: "ok/ed25519", kt: "ed25519", label: "PRIVATE KEY", keyBits: 256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, keyPEM := pkitest.Key(t, tt.kt, tt.kf)
			b, rest := pem.Decode([]byte(keyPEM))
			if b == nil || len(rest) != 0 {
				t.Fatalf("key PEM is not one block")
			}
			if b.Type != tt.label {
				t.Errorf("label = %q, want %q", b.Type, tt.label)
			}
			var parsed any
			var err error
			switch b.Type {
			case "PRIVATE KEY":
				parsed, err = x509.ParsePKCS8PrivateKey(b.Bytes)
			case "RSA PRIVATE KEY":
				parsed, err = x509.ParsePKCS1PrivateKey(b.Bytes)
			case "EC PRIVATE KEY":
				parsed, err = x509.ParseECPrivateKey(b.Bytes)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !parsed.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
				t.Errorf("PEM holds another key than the one returned")
			}
			var bits int
			switch k := key.(type) {
			case *rsa.PrivateKey:
				bits = k.N.BitLen()
			case *ecdsa.PrivateKey:
				bits = k.Curve.Params().BitSize
			case ed25519.PrivateKey:
				bits = 256
			}
			if bits != tt.keyBits {
				t.Errorf("key bits = %d, want %d", bits, tt.keyBits)
			}
		})
	}
}

func TestKeyCache(t *testing.T) {
	r1, _ := pkitest.Key(t, "rsa-1024", "")
	r2, _ := pkitest.Key(t, "rsa-1024", "pkcs1")
	if !r1.(*rsa.PrivateKey).Equal(r2) {
		t.Errorf("two RSA-1024 keys differ: the cache is not used")
	}
	e1, _ := pkitest.Key(t, "ecdsa-p256", "")
	e2, _ := pkitest.Key(t, "ecdsa-p256", "")
	if e1.(*ecdsa.PrivateKey).Equal(e2) {
		t.Errorf("two ECDSA keys are the same: they must be fresh")
	}
}
