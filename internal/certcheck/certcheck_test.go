package certcheck_test

import (
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/certcheck"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/google/go-cmp/cmp"
)

// now is the fixed clock of every test; certificates are minted around it.
var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const day = 24 * time.Hour

// pki is a root with two intermediates under it, all valid around now.
type pki struct {
	root, inter1, inter2 *pkitest.CA
}

func newPKI(t *testing.T) pki {
	t.Helper()
	root := pkitest.NewCA(t, "Test Root", now.Add(-365*day), now.Add(3650*day))
	inter1 := root.Intermediate(t, "Test Intermediate 1", now.Add(-365*day), now.Add(1825*day))
	inter2 := inter1.Intermediate(t, "Test Intermediate 2", now.Add(-365*day), now.Add(1825*day))
	return pki{root: root, inter1: inter1, inter2: inter2}
}

// leafOpts are the options of a leaf valid at now.
func leafOpts(kt pkitest.KeyType, kf pkitest.KeyFormat) pkitest.LeafOptions {
	return pkitest.LeafOptions{
		CommonName: "www.example.com",
		DNSNames:   []string{"www.example.com", "example.com"},
		NotBefore:  now.Add(-day),
		NotAfter:   now.Add(90 * day),
		KeyType:    kt,
		KeyFormat:  kf,
	}
}

func subjects(certs []*x509.Certificate) []string {
	var cns []string
	for _, c := range certs {
		cns = append(cns, c.Subject.CommonName)
	}
	return cns
}

// pemBlock returns the PEM text of the i-th block (from 0) of text.
func pemBlock(t *testing.T, text string, i int) string {
	t.Helper()
	parts := strings.SplitAfter(text, "-----END CERTIFICATE-----\n")
	if i >= len(parts) || parts[i] == "" {
		t.Fatalf("no PEM block %d", i)
	}
	return parts[i]
}

// ecParams is the EC PARAMETERS block that openssl ecparam -genkey writes
// for P-256.
const ecParams = "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"

func TestCheck(t *testing.T) {
	p := newPKI(t)
	ecLeaf := p.inter2.Leaf(t, leafOpts("", ""))
	fullChain := []string{"www.example.com", "Test Intermediate 2", "Test Intermediate 1"}
	other := pkitest.NewCA(t, "Other Root", now.Add(-day), now.Add(365*day))
	_, otherKeyPEM := pkitest.Key(t, "", "")

	tests := []struct {
		name      string
		in        func(t *testing.T) input
		wantChain []string
		wantErr   error
	}{
		{name: "ok/ecdsa-p256-pkcs8", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, ecLeaf.KeyPEM} }, wantChain: fullChain},
		{name: "ok/ecdsa-p256-sec1", in: leafInput(p.inter2, "ecdsa-p256", "sec1"), wantChain: fullChain},
		{name: "ok/ecdsa-p384-pkcs8", in: leafInput(p.inter2, "ecdsa-p384", "pkcs8"), wantChain: fullChain},
		{name: "ok/ecdsa-p384-sec1", in: leafInput(p.inter2, "ecdsa-p384", "sec1"), wantChain: fullChain},
		{name: "ok/ecdsa-p521-sec1", in: leafInput(p.inter2, "ecdsa-p521", "sec1"), wantChain: fullChain},
		{name: "ok/rsa-2048-pkcs1", in: leafInput(p.inter2, "rsa-2048", "pkcs1"), wantChain: fullChain},
		{name: "ok/rsa-2048-pkcs8", in: leafInput(p.inter2, "rsa-2048", "pkcs8"), wantChain: fullChain},
		{name: "ok/rsa-3072-pkcs1", in: leafInput(p.inter2, "rsa-3072", "pkcs1"), wantChain: fullChain},
		{name: "ok/ed25519", in: leafInput(p.inter2, "ed25519", ""), wantChain: fullChain},
		{
			name: "ok/leaf-alone-under-root",
			in: func(t *testing.T) input {
				l := p.root.Leaf(t, leafOpts("", ""))
				return input{l.ChainPEM, l.KeyPEM}
			},
			wantChain: []string{"www.example.com"},
		},
		{
			name: "ok/root-included",
			in: func(t *testing.T) input {
				return input{ecLeaf.ChainPEM + p.root.CertPEM, ecLeaf.KeyPEM}
			},
			wantChain: append(fullChain, "Test Root"),
		},
		{
			name: "ok/out-of-order",
			in: func(t *testing.T) input {
				// root, leaf, intermediate 1, intermediate 2
				text := p.root.CertPEM + pemBlock(t, ecLeaf.ChainPEM, 0) + pemBlock(t, ecLeaf.ChainPEM, 2) + pemBlock(t, ecLeaf.ChainPEM, 1)
				return input{text, ecLeaf.KeyPEM}
			},
			wantChain: append(fullChain, "Test Root"),
		},
		{
			name: "ok/crlf-blank-lines-text-around",
			in: func(t *testing.T) input {
				cert := "Your certificate:\r\n\r\n" + strings.ReplaceAll(pemBlock(t, ecLeaf.ChainPEM, 0), "\n", "\r\n") +
					"\r\n\r\nIntermediate certificates:\r\n   " + strings.ReplaceAll(pemBlock(t, ecLeaf.ChainPEM, 1), "\n", "\r\n\r\n") +
					"and the last one\n\t" + strings.ReplaceAll(pemBlock(t, ecLeaf.ChainPEM, 2), "\n", "\n  ") + "\n\n-- \nsent from my phone\n"
				key := "\n\n  Key (keep it secret):\r\n" + strings.ReplaceAll(ecLeaf.KeyPEM, "\n", "\r\n") + "   \r\n"
				return input{cert, key}
			},
			wantChain: fullChain,
		},
		{
			name: "ok/flattened-onto-one-line",
			in: func(t *testing.T) input {
				return input{strings.ReplaceAll(ecLeaf.ChainPEM, "\n", " "), strings.ReplaceAll(ecLeaf.KeyPEM, "\n", "\u00a0")}
			},
			wantChain: fullChain,
		},
		{
			name: "ok/ec-parameters-before-key",
			in: func(t *testing.T) input {
				l := p.inter2.Leaf(t, leafOpts("ecdsa-p256", "sec1"))
				return input{l.ChainPEM, ecParams + l.KeyPEM}
			},
			wantChain: fullChain,
		},

		{name: "fail/certificate-empty", in: func(t *testing.T) input { return input{"", ecLeaf.KeyPEM} }, wantErr: certcheck.ErrNoCertificate},
		{name: "fail/certificate-text-only", in: func(t *testing.T) input { return input{"my certificate", ecLeaf.KeyPEM} }, wantErr: certcheck.ErrNoCertificate},
		{
			name: "fail/certificate-not-der",
			in: func(t *testing.T) input {
				return input{"-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n", ecLeaf.KeyPEM}
			},
			wantErr: certcheck.ErrBadCertificate,
		},
		{
			name: "fail/certificate-second-block-broken",
			in: func(t *testing.T) input {
				return input{ecLeaf.CertPEM + "-----BEGIN CERTIFICATE-----\nMIIB\n", ecLeaf.KeyPEM}
			},
			wantErr: certcheck.ErrBadCertificate,
		},
		{
			name:    "fail/key-in-certificate-field",
			in:      func(t *testing.T) input { return input{ecLeaf.ChainPEM + ecLeaf.KeyPEM, ecLeaf.KeyPEM} },
			wantErr: certcheck.ErrUnexpectedBlock,
		},
		{
			name: "fail/trusted-certificate",
			in: func(t *testing.T) input {
				return input{strings.ReplaceAll(ecLeaf.CertPEM, "CERTIFICATE", "TRUSTED CERTIFICATE"), ecLeaf.KeyPEM}
			},
			wantErr: certcheck.ErrUnexpectedBlock,
		},
		{name: "fail/key-empty", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, " \r\n"} }, wantErr: certcheck.ErrNoKey},
		{
			name: "fail/key-garbage",
			in: func(t *testing.T) input {
				return input{ecLeaf.ChainPEM, "-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END PRIVATE KEY-----\n"}
			},
			wantErr: certcheck.ErrBadKey,
		},
		{name: "fail/two-keys", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, ecLeaf.KeyPEM + otherKeyPEM} }, wantErr: certcheck.ErrBadKey},
		{name: "fail/certificate-in-key-field", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, ecLeaf.CertPEM + ecLeaf.KeyPEM} }, wantErr: certcheck.ErrBadKey},
		{name: "fail/encrypted-pkcs8", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, readTestdata(t, "encrypted-pkcs8.pem")} }, wantErr: certcheck.ErrEncryptedKey},
		{name: "fail/encrypted-legacy", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, readTestdata(t, "encrypted-legacy-rsa.pem")} }, wantErr: certcheck.ErrEncryptedKey},
		{name: "fail/weak-rsa-1024", in: leafInput(p.inter2, "rsa-1024", "pkcs1"), wantErr: certcheck.ErrWeakKey},
		{name: "fail/unsupported-p224", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, readTestdata(t, "p224-sec1.pem")} }, wantErr: certcheck.ErrUnsupportedKey},
		{name: "fail/key-mismatch", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM, otherKeyPEM} }, wantErr: certcheck.ErrKeyMismatch},
		{
			name: "fail/key-of-intermediate-only",
			in: func(t *testing.T) input {
				return input{pemBlock(t, ecLeaf.ChainPEM, 1), ecLeaf.KeyPEM}
			},
			wantErr: certcheck.ErrKeyMismatch,
		},
		{name: "fail/unrelated-certificate", in: func(t *testing.T) input { return input{ecLeaf.ChainPEM + other.CertPEM, ecLeaf.KeyPEM} }, wantErr: certcheck.ErrBadChain},
		{
			name: "fail/missing-link",
			in: func(t *testing.T) input {
				// leaf and intermediate 1 without intermediate 2 between them
				return input{pemBlock(t, ecLeaf.ChainPEM, 0) + pemBlock(t, ecLeaf.ChainPEM, 2), ecLeaf.KeyPEM}
			},
			wantErr: certcheck.ErrBadChain,
		},
		{name: "fail/duplicate-leaf", in: func(t *testing.T) input { return input{ecLeaf.CertPEM + ecLeaf.ChainPEM, ecLeaf.KeyPEM} }, wantErr: certcheck.ErrBadChain},
		{
			name: "fail/duplicate-intermediate",
			in: func(t *testing.T) input {
				return input{ecLeaf.ChainPEM + pemBlock(t, ecLeaf.ChainPEM, 1), ecLeaf.KeyPEM}
			},
			wantErr: certcheck.ErrBadChain,
		},
		{
			name: "fail/duplicate-root",
			in: func(t *testing.T) input {
				return input{ecLeaf.ChainPEM + p.root.CertPEM + p.root.CertPEM, ecLeaf.KeyPEM}
			},
			wantErr: certcheck.ErrBadChain,
		},
		{
			name:      "ok/ten-certificates",
			in:        longChain(p.root, 9),
			wantChain: append([]string{"www.example.com"}, longChainNames(9)...),
		},
		{
			name:    "fail/eleven-certificates",
			in:      longChain(p.root, 10),
			wantErr: certcheck.ErrCertTooLarge,
		},
		{
			name: "fail/expired",
			in: func(t *testing.T) input {
				o := leafOpts("", "")
				o.NotBefore, o.NotAfter = now.Add(-90*day), now.Add(-time.Second)
				l := p.inter2.Leaf(t, o)
				return input{l.ChainPEM, l.KeyPEM}
			},
			wantErr: certcheck.ErrExpired,
		},
		{
			name: "fail/not-yet-valid",
			in: func(t *testing.T) input {
				o := leafOpts("", "")
				o.NotBefore, o.NotAfter = now.Add(time.Second), now.Add(90*day)
				l := p.inter2.Leaf(t, o)
				return input{l.ChainPEM, l.KeyPEM}
			},
			wantErr: certcheck.ErrNotYetValid,
		},

		// The order of errors.
		{name: "fail/bad-certificate-before-bad-key", in: func(t *testing.T) input { return input{"text", "text"} }, wantErr: certcheck.ErrNoCertificate},
		{
			name: "fail/bad-key-before-mismatch",
			in: func(t *testing.T) input {
				return input{ecLeaf.ChainPEM, readTestdata(t, "rsa-1024.pem")}
			},
			wantErr: certcheck.ErrWeakKey,
		},
		{
			name:    "fail/mismatch-before-bad-chain",
			in:      func(t *testing.T) input { return input{ecLeaf.ChainPEM + other.CertPEM, otherKeyPEM} },
			wantErr: certcheck.ErrKeyMismatch,
		},
		{
			name: "fail/bad-chain-before-expired",
			in: func(t *testing.T) input {
				o := leafOpts("", "")
				o.NotBefore, o.NotAfter = now.Add(-90*day), now.Add(-day)
				l := p.inter2.Leaf(t, o)
				return input{l.ChainPEM + other.CertPEM, l.KeyPEM}
			},
			wantErr: certcheck.ErrBadChain,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in(t)
			got, err := certcheck.Check(in.cert, in.key, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || got != nil {
					t.Fatalf("Check = %v, %v; want error %v", got, err, tt.wantErr)
				}
				if !strings.HasPrefix(err.Error(), "certcheck: ") {
					t.Errorf("error %q does not start with the package name", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if diff := cmp.Diff(tt.wantChain, subjects(got.Chain)); diff != "" {
				t.Errorf("chain subjects (-want +got):\n%s", diff)
			}
			if got.Leaf != got.Chain[0] {
				t.Errorf("Leaf is not Chain[0]")
			}
			if !certcheck.KeyMatches(got.Leaf, got.Key) {
				t.Errorf("Key does not match Leaf")
			}
			if diff := cmp.Diff(certcheck.Describe(got.Leaf), got.Info); diff != "" {
				t.Errorf("Info (-want +got):\n%s", diff)
			}
		})
	}
}

// longChain returns a leaf under n intermediates stacked on root, with the
// leaf and the intermediates in the certificate text.
func longChain(root *pkitest.CA, n int) func(t *testing.T) input {
	return func(t *testing.T) input {
		ca := root
		for i := 1; i <= n; i++ {
			ca = ca.Intermediate(t, fmt.Sprintf("Intermediate %d", i), now.Add(-day), now.Add(day))
		}
		l := ca.Leaf(t, leafOpts("", ""))
		return input{l.ChainPEM, l.KeyPEM}
	}
}

// longChainNames names the intermediates of longChain, nearest the leaf
// first (Intermediate 1 is signed by the root).
func longChainNames(n int) []string {
	var names []string
	for i := n; i > 0; i-- {
		names = append(names, fmt.Sprintf("Intermediate %d", i))
	}
	return names
}

// input is what a user pastes into the Certificate and PrivateKey fields.
type input struct{ cert, key string }

// leafInput mints a leaf valid at now with the given key under ca and
// returns its chain and key.
func leafInput(ca *pkitest.CA, kt pkitest.KeyType, kf pkitest.KeyFormat) func(t *testing.T) input {
	return func(t *testing.T) input {
		l := ca.Leaf(t, leafOpts(kt, kf))
		return input{l.ChainPEM, l.KeyPEM}
	}
}

func TestChain(t *testing.T) {
	p := newPKI(t)
	leaf := p.inter1.Leaf(t, leafOpts("", ""))
	inter1 := p.inter1.Cert
	tests := []struct {
		name    string
		certs   []*x509.Certificate
		key     bool // pass the leaf's key, else nil
		want    []string
		wantErr error
	}{
		{name: "ok/leaf-last", certs: []*x509.Certificate{p.root.Cert, inter1, leaf.Cert}, key: true, want: []string{"www.example.com", "Test Intermediate 1", "Test Root"}},
		{name: "fail/empty", key: true, wantErr: certcheck.ErrNoCertificate},
		{name: "fail/nil-key", certs: []*x509.Certificate{leaf.Cert}, wantErr: certcheck.ErrKeyMismatch},
		{name: "fail/nil-certificate", certs: []*x509.Certificate{leaf.Cert, nil}, key: true, wantErr: certcheck.ErrBadChain},
		{name: "fail/root-before-missing-intermediate", certs: []*x509.Certificate{leaf.Cert, p.root.Cert}, key: true, wantErr: certcheck.ErrBadChain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var key = leaf.Key
			if !tt.key {
				key = nil
			}
			got, err := certcheck.Chain(tt.certs, key)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Chain error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, subjects(got)); diff != "" {
				t.Errorf("chain (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckValidity(t *testing.T) {
	root := pkitest.NewCA(t, "Root", now.Add(-365*day), now.Add(365*day))
	leaf := root.Leaf(t, pkitest.LeafOptions{NotBefore: now.Add(-day), NotAfter: now.Add(day)}).Cert
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{name: "ok/inside", now: now},
		{name: "ok/at-not-before", now: leaf.NotBefore},
		{name: "ok/at-not-after", now: leaf.NotAfter},
		{name: "fail/before", now: leaf.NotBefore.Add(-time.Second), want: certcheck.ErrNotYetValid},
		{name: "fail/after", now: leaf.NotAfter.Add(time.Second), want: certcheck.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := certcheck.CheckValidity(leaf, tt.now); !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Errorf("CheckValidity = %v, want %v", err, tt.want)
			}
		})
	}
	if err := certcheck.CheckValidity(nil, now); !errors.Is(err, certcheck.ErrNoCertificate) {
		t.Errorf("CheckValidity(nil) = %v, want ErrNoCertificate", err)
	}
}

func TestErrorTexts(t *testing.T) {
	for _, err := range []error{
		certcheck.ErrNoCertificate, certcheck.ErrBadCertificate, certcheck.ErrUnexpectedBlock, certcheck.ErrBadChain,
		certcheck.ErrBadName, certcheck.ErrStrayData, certcheck.ErrCertTooLarge,
		certcheck.ErrNoKey, certcheck.ErrBadKey, certcheck.ErrEncryptedKey, certcheck.ErrWeakKey, certcheck.ErrUnsupportedKey,
		certcheck.ErrKeyTooLarge, certcheck.ErrKeyMismatch, certcheck.ErrExpired, certcheck.ErrNotYetValid,
	} {
		s := err.Error()
		rest, ok := strings.CutPrefix(s, "certcheck: ")
		if !ok || rest == "" || rest[:1] != strings.ToLower(rest[:1]) || strings.HasSuffix(s, ".") {
			t.Errorf("error text %q: want \"certcheck: \" then a lowercase word, no final punctuation", s)
		}
	}
}
