package certcheck_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/google/go-cmp/cmp"
)

// mintLeaf signs a leaf for pub under ca with the given DNS names and IP
// addresses, valid around now, and returns its PEM. pub need not have a
// private key: only the certificate is minted.
func mintLeaf(t *testing.T, ca *pkitest.CA, pub crypto.PublicKey, names []string, ips []net.IP) string {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4242),
		Subject:      pkix.Name{CommonName: "limits"},
		DNSNames:     names,
		IPAddresses:  ips,
		NotBefore:    now.Add(-day),
		NotAfter:     now.Add(90 * day),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// mintCA signs an intermediate CA certificate whose RSA public key has bits
// bits (a random modulus: the certificate is never used to sign) under ca.
func mintCA(t *testing.T, ca *pkitest.CA, bits int) string {
	t.Helper()
	b := make([]byte, (bits+7)/8)
	rand.Read(b)
	n := new(big.Int).SetBytes(b)
	n.SetBit(n, bits-1, 1) // exactly bits long
	n.SetBit(n, 0, 1)      // odd, as a modulus is
	for i := bits; i < n.BitLen(); i++ {
		n.SetBit(n, i, 0)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(4343),
		Subject:               pkix.Name{CommonName: fmt.Sprintf("RSA-%d Intermediate", bits)},
		NotBefore:             now.Add(-day),
		NotAfter:              now.Add(90 * day),
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &rsa.PublicKey{N: n, E: 65537}, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// rsa4096 is generated once: it takes a second or more.
var rsa4096 = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 4096) })

func keyPEM(t *testing.T, key crypto.Signer) string {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

func hostNames(n int, format string) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = fmt.Sprintf(format, i)
	}
	return names
}

// TestLimits: what is just inside each limit of limits.go is accepted, what
// is just beyond it is refused with ErrCertTooLarge or ErrKeyTooLarge, and
// the error text names the limit (it reaches the client).
func TestLimits(t *testing.T) {
	root := pkitest.NewCA(t, "Limits Root", now.Add(-365*day), now.Add(365*day))
	ecKey, ecKeyPEM := pkitest.Key(t, "ecdsa-p256", "pkcs8")
	ecLeaf := func(names []string, ips []net.IP) func(t *testing.T) input {
		return func(t *testing.T) input { return input{mintLeaf(t, root, ecKey.Public(), names, ips), ecKeyPEM} }
	}
	tests := []struct {
		name     string
		in       func(t *testing.T) input
		wantErr  error
		wantText string // in the error text
	}{
		{
			name: "ok/rsa-4096",
			in: func(t *testing.T) input {
				k, err := rsa4096()
				if err != nil {
					t.Fatal(err)
				}
				return input{mintLeaf(t, root, k.Public(), []string{"www.example.com"}, nil), keyPEM(t, k)}
			},
		},
		{
			name: "fail/rsa-8192",
			in: func(t *testing.T) input {
				k, err := certcheck.ParseStoredKey(readTestdata(t, "rsa-8192.pem"))
				if err != nil {
					t.Fatal(err)
				}
				return input{mintLeaf(t, root, k.Public(), []string{"www.example.com"}, nil), readTestdata(t, "rsa-8192.pem")}
			},
			wantErr:  certcheck.ErrKeyTooLarge,
			wantText: "RSA key of 8192 bits, at most 4096",
		},
		{name: "ok/100-names", in: ecLeaf(hostNames(100, "h%d.example.com"), nil)},
		{
			name: "ok/duplicates-count-once",
			in:   ecLeaf(append(hostNames(100, "h%d.example.com"), hostNames(50, "H%d.Example.COM.")...), nil),
		},
		{name: "fail/101-names", in: ecLeaf(hostNames(101, "h%d.example.com"), nil), wantErr: certcheck.ErrCertTooLarge,
			wantText: "101 subject alternative names, at most 100"},
		{
			name:     "fail/ip-addresses-count",
			in:       ecLeaf(hostNames(99, "h%d.example.com"), []net.IP{net.IPv4(192, 0, 2, 1), net.IPv4(192, 0, 2, 2)}),
			wantErr:  certcheck.ErrCertTooLarge,
			wantText: "at most 100",
		},
		{
			// The incident: 10,000 names, 326 kB, which OpenSSL clients
			// could not take in a handshake.
			name:     "fail/10000-names",
			in:       ecLeaf(hostNames(10000, "host-%d.example.com"), nil),
			wantErr:  certcheck.ErrCertTooLarge,
			wantText: "at most 65536 (64 KiB)",
		},
		{
			// As many short names as fit in the text: refused by their
			// count, after work linear in the text.
			name: "fail/names-filling-the-text",
			in: func(t *testing.T) input {
				names := hostNames(8000, "%x")
				for len(mintLeaf(t, root, ecKey.Public(), names, nil)) > certcheck.MaxCertificateText {
					names = names[:len(names)*9/10]
				}
				return input{mintLeaf(t, root, ecKey.Public(), names, nil), ecKeyPEM}
			},
			wantErr:  certcheck.ErrCertTooLarge,
			wantText: "at most 100",
		},
		{
			name: "ok/text-at-the-limit",
			in: func(t *testing.T) input {
				leaf := mintLeaf(t, root, ecKey.Public(), []string{"www.example.com"}, nil)
				return input{leaf + strings.Repeat(" ", certcheck.MaxCertificateText-len(leaf)), ecKeyPEM}
			},
		},
		{
			name: "fail/text-over-the-limit",
			in: func(t *testing.T) input {
				leaf := mintLeaf(t, root, ecKey.Public(), []string{"www.example.com"}, nil)
				return input{leaf + strings.Repeat(" ", certcheck.MaxCertificateText-len(leaf)+1), ecKeyPEM}
			},
			wantErr:  certcheck.ErrCertTooLarge,
			wantText: "65537 bytes, at most 65536",
		},
		{
			name: "fail/chain-rsa-over-8192",
			in: func(t *testing.T) input {
				return input{mintLeaf(t, root, ecKey.Public(), []string{"www.example.com"}, nil) + mintCA(t, root, 8200), ecKeyPEM}
			},
			wantErr:  certcheck.ErrCertTooLarge,
			wantText: "certificate 2 has an RSA key of 8200 bits, at most 8192",
		},
		{
			name: "fail/key-text-over-the-limit",
			in: func(t *testing.T) input {
				return input{mintLeaf(t, root, ecKey.Public(), []string{"www.example.com"}, nil), ecKeyPEM + strings.Repeat("\n", certcheck.MaxKeyText)}
			},
			wantErr:  certcheck.ErrKeyTooLarge,
			wantText: "at most 16384 (16 KiB)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in(t)
			got, err := certcheck.Check(in.cert, in.key, now)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Check: %v", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || got != nil {
				t.Fatalf("Check = %v, %v; want error %v", got, err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not say %q", err, tt.wantText)
			}
		})
	}
}

// TestParseStoredKey: keys stored under the earlier bounds (RSA up to 8192
// bits, any text length) still open; the other rules hold.
func TestParseStoredKey(t *testing.T) {
	if _, err := certcheck.ParseStoredKey(readTestdata(t, "rsa-8192.pem")); err != nil {
		t.Errorf("ParseStoredKey(RSA-8192) = %v", err)
	}
	_, ec := pkitest.Key(t, "ecdsa-p256", "")
	if _, err := certcheck.ParseStoredKey(strings.Repeat("\n", certcheck.MaxKeyText) + ec); err != nil {
		t.Errorf("ParseStoredKey(long text) = %v", err)
	}
	if _, err := certcheck.ParseStoredKey(readTestdata(t, "rsa-1024.pem")); !errors.Is(err, certcheck.ErrWeakKey) {
		t.Errorf("ParseStoredKey(RSA-1024) = %v, want ErrWeakKey", err)
	}
}

// TestNamesNormalizedAtParse: a name written with capitals or a trailing dot
// is normalized once, by ParseCertificates, so that the chain's DNSNames,
// Names, Describe's SANs (what is stored and shown) and CheckNames agree.
func TestNamesNormalizedAtParse(t *testing.T) {
	root := pkitest.NewCA(t, "Dot Root", now.Add(-365*day), now.Add(365*day))
	leaf := root.Leaf(t, pkitest.LeafOptions{CommonName: "WWW.Example.COM.",
		DNSNames: []string{"WWW.Example.COM.", "www.example.com", "*.Example.com.", "example.com"}})
	certs, err := certcheck.ParseCertificates(leaf.ChainPEM)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"www.example.com", "*.example.com", "example.com"}
	if diff := cmp.Diff(want, certs[0].DNSNames); diff != "" {
		t.Errorf("DNSNames (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, certcheck.Names(certs[0])); diff != "" {
		t.Errorf("Names (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want, certcheck.Describe(certs[0]).SANs); diff != "" {
		t.Errorf("Describe SANs (-want +got):\n%s", diff)
	}
	if err := certcheck.CheckNames(certs[0]); err != nil {
		t.Errorf("CheckNames: %v", err)
	}
	parsed, err := certcheck.Check(leaf.ChainPEM, leaf.KeyPEM, now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, parsed.Info.SANs); diff != "" {
		t.Errorf("Check's Info.SANs (-want +got):\n%s", diff)
	}
}
