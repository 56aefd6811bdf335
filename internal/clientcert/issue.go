package clientcert

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
)

// issuerValidity is how long a site's client CA is valid: longer than
// any certificate it signs (MaxValidityDays).
const issuerValidity = 20 * 365 * 24 * time.Hour

// maxCSR bounds the CSR's PEM text.
const maxCSR = 64 << 10

// serial draws a positive 127-bit serial number from r (crypto/rand for nil).
func serial(r io.Reader) *big.Int {
	var b [16]byte
	domain.Random(r, b[:])
	b[0] &= 0x7f
	n := new(big.Int).SetBytes(b[:])
	if n.Sign() == 0 {
		n.SetInt64(1)
	}
	return n
}

// newIssuer makes a site's client CA: an ECDSA P-256 key and a self-signed
// certificate valid from an hour before now (clocks differ) for
// issuerValidity. It returns the certificate's PEM and DER and the key as
// PKCS #8 PEM.
func newIssuer(siteName string, now time.Time, r io.Reader) (certPEM string, der []byte, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(r),
		Subject:               pkix.Name{CommonName: "esacert client CA for " + siteName, Organization: []string{"esacert"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(issuerValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return "", nil, nil, err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", nil, nil, err
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), der,
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil
}

// request is what a client certificate is issued for.
type request struct {
	pub     crypto.PublicKey
	subject pkix.Name
	dns     []string
	emails  []string
}

// parseCSR reads a PEM certificate request and verifies its signature; its
// key must be RSA (2048 to 4096 bits), ECDSA (P-256, P-384, P-521) or
// Ed25519.
func parseCSR(text string) (request, error) {
	if len(text) > maxCSR {
		return request{}, domain.Invalid("CSR", fmt.Sprintf("is at most %d KiB", maxCSR>>10))
	}
	blk, rest := pem.Decode([]byte(strings.TrimSpace(text)))
	if blk == nil || (blk.Type != "CERTIFICATE REQUEST" && blk.Type != "NEW CERTIFICATE REQUEST") {
		return request{}, domain.Invalid("CSR", "must be one PEM CERTIFICATE REQUEST")
	}
	if len(strings.TrimSpace(string(rest))) > 0 {
		return request{}, domain.Invalid("CSR", "must be one PEM CERTIFICATE REQUEST, nothing more")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return request{}, domain.Invalid("CSR", "not a certificate request that parses")
	}
	if err := csr.CheckSignature(); err != nil {
		return request{}, domain.Invalid("CSR", "its signature does not verify")
	}
	switch k := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < 2048 || n > 4096 {
			return request{}, domain.Invalid("CSR", fmt.Sprintf("an RSA key has 2048 to 4096 bits, not %d", n))
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
		default:
			return request{}, domain.Invalid("CSR", "an ECDSA key is on P-256, P-384 or P-521")
		}
	case ed25519.PublicKey:
	default:
		return request{}, domain.Invalid("CSR", "the key is not RSA, ECDSA or Ed25519")
	}
	return request{pub: csr.PublicKey, subject: csr.Subject, dns: csr.DNSNames, emails: csr.EmailAddresses}, nil
}

// generateKey makes a key of pkeyType (RSA: 2048 bits, ECDSA: P-256) and
// returns it with its PKCS #8 PEM.
func generateKey(pkeyType string) (crypto.Signer, string, error) {
	var key crypto.Signer
	var err error
	switch strings.ToUpper(pkeyType) {
	case "", "RSA":
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ECDSA", "EC", "ECC":
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, "", domain.Invalid("PkeyType", "must be RSA or ECDSA")
	}
	if err != nil {
		return nil, "", err
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, "", err
	}
	return key, string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})), nil
}

// sign issues a client certificate for req, valid from now for days days,
// signed by the CA ca with key.
func sign(req request, ca *x509.Certificate, key crypto.Signer, now time.Time, days int, r io.Reader) ([]byte, error) {
	usage := x509.KeyUsageDigitalSignature
	if _, ok := req.pub.(*rsa.PublicKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(r),
		Subject:               req.subject,
		DNSNames:              req.dns,
		EmailAddresses:        req.emails,
		NotBefore:             now,
		NotAfter:              now.Add(time.Duration(days) * 24 * time.Hour),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, req.pub, key)
}
