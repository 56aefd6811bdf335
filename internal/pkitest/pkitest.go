package pkitest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// CA is a certificate authority that can sign intermediates and leaves. Its
// fields must not be modified.
type CA struct {
	Cert    *x509.Certificate
	Key     crypto.Signer
	CertPEM string

	// path is Cert and the certificates above it up to but excluding the
	// root, nearest first; empty for a root.
	path []*x509.Certificate
}

// NewCA returns a self-signed root CA named name (its CommonName) with an
// ECDSA P-256 key, valid from notBefore to notAfter.
func NewCA(t testing.TB, name string, notBefore, notAfter time.Time) *CA {
	t.Helper()
	key := newKey(t, "ecdsa-p256")
	tmpl := caTemplate(t, name, key, notBefore, notAfter)
	cert := create(t, tmpl, tmpl, key.Public(), key)
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(cert)}
}

// Intermediate returns an intermediate CA named name with an ECDSA P-256 key,
// signed by ca and valid from notBefore to notAfter.
func (ca *CA) Intermediate(t testing.TB, name string, notBefore, notAfter time.Time) *CA {
	t.Helper()
	key := newKey(t, "ecdsa-p256")
	tmpl := caTemplate(t, name, key, notBefore, notAfter)
	cert := create(t, tmpl, ca.Cert, key.Public(), ca.Key)
	path := append([]*x509.Certificate{cert}, ca.path...)
	return &CA{Cert: cert, Key: key, CertPEM: encodeCert(cert), path: path}
}

func caTemplate(t testing.TB, name string, key crypto.Signer, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	return &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		SubjectKeyId:          keyID(t, key.Public()),
	}
}

// KeyType names a key algorithm and size: "ecdsa-p256" (the default, when
// empty), "ecdsa-p384", "ecdsa-p521", "rsa-2048", "rsa-3072", "rsa-1024" or
// "ed25519".
type KeyType string

// KeyFormat names a private key encoding: "pkcs8" (the default, when empty,
// "PRIVATE KEY"), "pkcs1" (RSA only, "RSA PRIVATE KEY") or "sec1" (ECDSA
// only, "EC PRIVATE KEY").
type KeyFormat string

// LeafOptions describes a leaf certificate. The zero value is a leaf with no
// names, valid as long as its CA, with an ECDSA P-256 key in PKCS#8.
type LeafOptions struct {
	CommonName          string
	DNSNames            []string
	NotBefore, NotAfter time.Time // zero means the issuing CA's
	KeyType             KeyType
	KeyFormat           KeyFormat
	// ClientAuth adds the ClientAuth extended key usage to ServerAuth: a
	// certificate a TLS server that verifies client certificates accepts.
	ClientAuth bool
	// OCSPServer is the leaf's OCSP responder URLs (Authority Information
	// Access); MustStaple adds the TLS Feature extension asking for
	// status_request (RFC 7633).
	OCSPServer []string
	MustStaple bool
}

// Leaf is a minted end-entity certificate and its key.
type Leaf struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertPEM  string // the leaf alone
	KeyPEM   string
	ChainPEM string // leaf, then the issuing CA's intermediates up to but excluding the root
}

// Leaf returns a TLS server certificate signed by ca: ServerAuth extended key
// usage (and ClientAuth when opts ask for it), DigitalSignature key usage (plus KeyEncipherment for RSA), a random
// 128-bit serial number and a SubjectKeyId.
func (ca *CA) Leaf(t testing.TB, opts LeafOptions) *Leaf {
	t.Helper()
	key, keyPEM := Key(t, opts.KeyType, opts.KeyFormat)
	usage := x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(t),
		Subject:               pkix.Name{CommonName: opts.CommonName},
		DNSNames:              opts.DNSNames,
		NotBefore:             opts.NotBefore,
		NotAfter:              opts.NotAfter,
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		SubjectKeyId:          keyID(t, key.Public()),
	}
	if opts.ClientAuth {
		tmpl.ExtKeyUsage = append(tmpl.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	tmpl.OCSPServer = opts.OCSPServer
	if opts.MustStaple {
		// SEQUENCE { INTEGER 5 }: the status_request feature.
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{
			Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}})
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = ca.Cert.NotBefore
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = ca.Cert.NotAfter
	}
	cert := create(t, tmpl, ca.Cert, key.Public(), ca.Key)
	var chain strings.Builder
	chain.WriteString(encodeCert(cert))
	for _, c := range ca.path {
		chain.WriteString(encodeCert(c))
	}
	return &Leaf{Cert: cert, Key: key, CertPEM: encodeCert(cert), KeyPEM: keyPEM, ChainPEM: chain.String()}
}

// Key returns a private key of type kt and its PEM in format kf. RSA keys
// are cached per size (see the package doc); the others are fresh each call.
func Key(t testing.TB, kt KeyType, kf KeyFormat) (crypto.Signer, string) {
	t.Helper()
	key := newKey(t, kt)
	var (
		label string
		der   []byte
		err   error
	)
	switch kf {
	case "", "pkcs8":
		label = "PRIVATE KEY"
		der, err = x509.MarshalPKCS8PrivateKey(key)
	case "pkcs1":
		k, ok := key.(*rsa.PrivateKey)
		if !ok {
			t.Fatalf("pkitest: key format pkcs1 needs an RSA key, not %q", kt)
		}
		label = "RSA PRIVATE KEY"
		der = x509.MarshalPKCS1PrivateKey(k)
	case "sec1":
		k, ok := key.(*ecdsa.PrivateKey)
		if !ok {
			t.Fatalf("pkitest: key format sec1 needs an ECDSA key, not %q", kt)
		}
		label = "EC PRIVATE KEY"
		der, err = x509.MarshalECPrivateKey(k)
	default:
		t.Fatalf("pkitest: unknown key format %q", kf)
	}
	if err != nil {
		t.Fatalf("pkitest: encode %s key: %v", kt, err)
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: label, Bytes: der}))
}

// rsaKeys caches generated RSA keys: bits (int) → *rsa.PrivateKey.
var rsaKeys sync.Map

func newKey(t testing.TB, kt KeyType) crypto.Signer {
	t.Helper()
	var (
		key crypto.Signer
		err error
	)
	switch kt {
	case "", "ecdsa-p256":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ecdsa-p384":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "ecdsa-p521":
		key, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case "ed25519":
		_, key, err = ed25519.GenerateKey(rand.Reader)
	case "rsa-1024":
		return rsaKey(t, 1024)
	case "rsa-2048":
		return rsaKey(t, 2048)
	case "rsa-3072":
		return rsaKey(t, 3072)
	default:
		t.Fatalf("pkitest: unknown key type %q", kt)
	}
	if err != nil {
		t.Fatalf("pkitest: generate %s key: %v", kt, err)
	}
	return key
}

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	if k, ok := rsaKeys.Load(bits); ok {
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatalf("pkitest: generate RSA-%d key: %v", bits, err)
	}
	actual, _ := rsaKeys.LoadOrStore(bits, k)
	return actual.(*rsa.PrivateKey)
}

// serial returns a random positive 128-bit serial number.
func serial(t testing.TB) *big.Int {
	t.Helper()
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("pkitest: serial: %v", err)
	}
	n := new(big.Int).SetBytes(b)
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n
}

// keyID returns a SubjectKeyId: the first 160 bits of the SHA-256 of the
// DER public key (in the spirit of RFC 7093).
func keyID(t testing.TB, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("pkitest: marshal public key: %v", err)
	}
	sum := sha256.Sum256(der)
	return sum[:20]
}

func create(t testing.TB, tmpl, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) *x509.Certificate {
	t.Helper()
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatalf("pkitest: create certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("pkitest: parse certificate %q: %v", tmpl.Subject.CommonName, err)
	}
	return cert
}

func encodeCert(c *x509.Certificate) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))
}
