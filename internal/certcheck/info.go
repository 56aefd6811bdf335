package certcheck

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"slices"
	"time"
)

// Info is what the API shows of a certificate.
type Info struct {
	CommonName          string   // the subject's, as written
	SANs                []string // DNS names of the SAN extension, lowercased without a trailing dot, in order, each once; nil when none
	Issuer              string   // issuer Organization[0], else issuer CommonName
	IssuerCN            string
	Serial              string // lowercase hex of the serial number, no separators
	FingerprintSHA256   string // lowercase hex SHA-256 of the leaf DER
	PubAlg              string // "RSA", "ECDSA" or "Ed25519"
	SigAlg              string // x509.SignatureAlgorithm.String(), e.g. "ECDSA-SHA256", "SHA256-RSA"
	KeyBits             int    // RSA modulus bits or EC curve bits (256/384/521); 256 for Ed25519
	NotBefore, NotAfter time.Time
}

// Describe returns the Info of leaf; the zero Info for a nil leaf. For a
// public key of another type PubAlg is x509's name for it and KeyBits is 0.
func Describe(leaf *x509.Certificate) Info {
	if leaf == nil {
		return Info{}
	}
	sum := sha256.Sum256(leaf.Raw)
	info := Info{
		CommonName:        leaf.Subject.CommonName,
		Issuer:            leaf.Issuer.CommonName,
		IssuerCN:          leaf.Issuer.CommonName,
		FingerprintSHA256: hex.EncodeToString(sum[:]),
		PubAlg:            leaf.PublicKeyAlgorithm.String(),
		SigAlg:            leaf.SignatureAlgorithm.String(),
		NotBefore:         leaf.NotBefore,
		NotAfter:          leaf.NotAfter,
	}
	if len(leaf.DNSNames) > 0 {
		info.SANs = slices.Clone(normalizeNames(leaf.DNSNames))
	}
	if o := leaf.Issuer.Organization; len(o) > 0 && o[0] != "" {
		info.Issuer = o[0]
	}
	if leaf.SerialNumber != nil {
		info.Serial = leaf.SerialNumber.Text(16)
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		info.PubAlg, info.KeyBits = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		info.PubAlg, info.KeyBits = "ECDSA", k.Curve.Params().BitSize
	case ed25519.PublicKey:
		info.PubAlg, info.KeyBits = "Ed25519", 256
	}
	return info
}
