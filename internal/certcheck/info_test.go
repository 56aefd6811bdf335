package certcheck_test

import (
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"testing"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/google/go-cmp/cmp"
)

func TestDescribe(t *testing.T) {
	root := pkitest.NewCA(t, "Test Root", now.Add(-365*day), now.Add(365*day))
	inter := root.Intermediate(t, "Test Issuing CA", now.Add(-365*day), now.Add(365*day))
	fingerprint := func(c *x509.Certificate) string {
		sum := sha256.Sum256(c.Raw)
		return hex.EncodeToString(sum[:])
	}
	tests := []struct {
		name string
		kt   pkitest.KeyType
		want certcheck.Info // Serial and FingerprintSHA256 are filled in from the leaf
	}{
		{name: "ok/ecdsa-p256", kt: "ecdsa-p256", want: certcheck.Info{PubAlg: "ECDSA", SigAlg: "ECDSA-SHA256", KeyBits: 256}},
		{name: "ok/ecdsa-p384", kt: "ecdsa-p384", want: certcheck.Info{PubAlg: "ECDSA", SigAlg: "ECDSA-SHA256", KeyBits: 384}},
		{name: "ok/ecdsa-p521", kt: "ecdsa-p521", want: certcheck.Info{PubAlg: "ECDSA", SigAlg: "ECDSA-SHA256", KeyBits: 521}},
		{name: "ok/rsa-2048", kt: "rsa-2048", want: certcheck.Info{PubAlg: "RSA", SigAlg: "ECDSA-SHA256", KeyBits: 2048}},
		{name: "ok/rsa-3072", kt: "rsa-3072", want: certcheck.Info{PubAlg: "RSA", SigAlg: "ECDSA-SHA256", KeyBits: 3072}},
		{name: "ok/ed25519", kt: "ed25519", want: certcheck.Info{PubAlg: "Ed25519", SigAlg: "ECDSA-SHA256", KeyBits: 256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			leaf := inter.Leaf(t, pkitest.LeafOptions{
				CommonName: "www.example.com",
				DNSNames:   []string{"WWW.example.com", "example.com.", "www.example.com"},
				NotBefore:  now.Add(-day),
				NotAfter:   now.Add(90 * day),
				KeyType:    tt.kt,
			})
			want := tt.want
			want.CommonName = "www.example.com"
			want.SANs = []string{"www.example.com", "example.com"} // each once
			want.Issuer, want.IssuerCN = "Test Issuing CA", "Test Issuing CA"
			want.Serial = leaf.Cert.SerialNumber.Text(16)
			want.FingerprintSHA256 = fingerprint(leaf.Cert)
			want.NotBefore, want.NotAfter = now.Add(-day), now.Add(90*day)
			if diff := cmp.Diff(want, certcheck.Describe(leaf.Cert)); diff != "" {
				t.Errorf("Describe (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDescribeIssuerOrganization(t *testing.T) {
	c := selfSigned(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "R3", Organization: []string{"Let's Encrypt"}},
	})
	want := certcheck.Info{
		CommonName:        "R3",
		Issuer:            "Let's Encrypt",
		IssuerCN:          "R3",
		Serial:            "1f2e3d4c5b6a",
		FingerprintSHA256: hex.EncodeToString(func() []byte { s := sha256.Sum256(c.Raw); return s[:] }()),
		PubAlg:            "ECDSA",
		SigAlg:            "ECDSA-SHA256",
		KeyBits:           256,
		NotBefore:         now.Add(-day),
		NotAfter:          now.Add(day),
	}
	if diff := cmp.Diff(want, certcheck.Describe(c)); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(certcheck.Info{}, certcheck.Describe(nil)); diff != "" {
		t.Errorf("Describe(nil) (-want +got):\n%s", diff)
	}
}
