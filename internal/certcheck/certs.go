package certcheck

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"time"
)

const labelCertificate = "CERTIFICATE"

// ParseCertificates parses every CERTIFICATE block of pemText, in order. On
// success the slice is non-empty and holds no nil, and the DNSNames of each
// certificate are normalized: lowercased, without one trailing dot, and
// without duplicates, in their order (see Names).
//
// It returns ErrCertTooLarge for a text longer than MaxCertificateText, more
// than MaxCertificates blocks, or a certificate whose RSA key is over
// MaxChainRSABits; ErrNoCertificate when the text holds no PEM block;
// ErrUnexpectedBlock for any other block (a private key, TRUSTED
// CERTIFICATE, …); and ErrBadCertificate for a block x509 cannot parse or
// for text that looks like PEM but is not. The first failing block decides
// the error. Text outside the blocks is allowed, except what looks like
// encoded data (ErrStrayData).
func ParseCertificates(pemText string) ([]*x509.Certificate, error) {
	if len(pemText) > MaxCertificateText {
		return nil, fmt.Errorf("%w: the certificate text is %d bytes, at most %d (%d KiB) are accepted",
			ErrCertTooLarge, len(pemText), MaxCertificateText, MaxCertificateText>>10)
	}
	blocks, err := scanPEM(pemText)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	if len(blocks) == 0 {
		return nil, ErrNoCertificate
	}
	if len(blocks) > MaxCertificates {
		return nil, fmt.Errorf("%w: the certificate text holds %d PEM blocks, at most %d certificates are accepted",
			ErrCertTooLarge, len(blocks), MaxCertificates)
	}
	certs := make([]*x509.Certificate, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != labelCertificate {
			return nil, fmt.Errorf("%w: block %d is %s", ErrUnexpectedBlock, i+1, quoteLabel(b.Type))
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: block %d: %v", ErrBadCertificate, i+1, err)
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() > MaxChainRSABits {
			return nil, fmt.Errorf("%w: certificate %d has an RSA key of %d bits, at most %d are accepted",
				ErrCertTooLarge, i+1, k.N.BitLen(), MaxChainRSABits)
		}
		c.DNSNames = normalizeNames(c.DNSNames)
		certs = append(certs, c)
	}
	if err := checkStray(pemText); err != nil {
		return nil, err
	}
	return certs, nil
}

// Chain orders certs as a chain for key, leaf first.
//
// The leaf is the first certificate whose public key is key's (else
// ErrKeyMismatch). From it, Chain follows issuer links: the next certificate
// is one not yet used whose RawSubject equals the current one's RawIssuer and
// whose key verifies the current one's signature (the first such in the
// order given). It stops at a self-issued certificate (a root) or when no
// certificate qualifies. Intermediates given out of order are thus put in
// order, and a root at the end is kept.
//
// Every certificate must be used: one left over (unrelated, or a duplicate of
// another) is ErrBadChain; more than MaxCertificates is ErrCertTooLarge.
// Chain returns ErrNoCertificate for an empty certs and ErrKeyMismatch for a
// nil key. It checks no validity period and no trust anchor.
func Chain(certs []*x509.Certificate, key crypto.Signer) ([]*x509.Certificate, error) {
	if len(certs) == 0 {
		return nil, ErrNoCertificate
	}
	leaf := -1
	for i, c := range certs {
		if KeyMatches(c, key) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return nil, ErrKeyMismatch
	}
	if len(certs) > MaxCertificates {
		return nil, fmt.Errorf("%w: %d certificates, at most %d are accepted", ErrCertTooLarge, len(certs), MaxCertificates)
	}
	used := make([]bool, len(certs))
	used[leaf] = true
	chain := []*x509.Certificate{certs[leaf]}
	for cur := certs[leaf]; !bytes.Equal(cur.RawSubject, cur.RawIssuer); {
		next := -1
		for i, c := range certs {
			if used[i] || c == nil || !bytes.Equal(c.RawSubject, cur.RawIssuer) || contains(chain, c) {
				continue
			}
			if cur.CheckSignatureFrom(c) == nil {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		cur = certs[next]
		chain = append(chain, cur)
	}
	for i, u := range used {
		if u {
			continue
		}
		cn := ""
		if certs[i] != nil {
			cn = certs[i].Subject.CommonName
		}
		return nil, fmt.Errorf("%w: certificate %d (CN %q) does not issue the chain built so far (%d certificates)", ErrBadChain, i+1, cn, len(chain))
	}
	return chain, nil
}

// contains reports whether chain holds a certificate with the same DER as c.
func contains(chain []*x509.Certificate, c *x509.Certificate) bool {
	for _, d := range chain {
		if bytes.Equal(d.Raw, c.Raw) {
			return true
		}
	}
	return false
}

// CheckValidity reports ErrNotYetValid when now is before leaf.NotBefore and
// ErrExpired when now is after leaf.NotAfter; both bounds are inclusive, as
// in RFC 5280. It returns ErrNoCertificate for a nil leaf.
func CheckValidity(leaf *x509.Certificate, now time.Time) error {
	switch {
	case leaf == nil:
		return ErrNoCertificate
	case now.Before(leaf.NotBefore):
		return fmt.Errorf("%w: valid from %s, now %s", ErrNotYetValid, stamp(leaf.NotBefore), stamp(now))
	case now.After(leaf.NotAfter):
		return fmt.Errorf("%w: valid until %s, now %s", ErrExpired, stamp(leaf.NotAfter), stamp(now))
	}
	return nil
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// Parsed is the result of Check.
type Parsed struct {
	Leaf  *x509.Certificate
	Chain []*x509.Certificate // leaf first, then each issuer in order
	Key   crypto.Signer
	Info  Info
}

// Check parses certPEM and keyPEM, builds the chain and checks the leaf's
// validity at now. The errors come in this order: certificate parse errors
// (ParseCertificates), key parse errors (ParsePrivateKey), ErrKeyMismatch,
// ErrBadChain (Chain), ErrBadName or ErrCertTooLarge (CheckNames), then
// ErrNotYetValid or ErrExpired (CheckValidity). Every limit of limits.go
// applies.
// It does not check the names against a site: see MatchesSite.
func Check(certPEM, keyPEM string, now time.Time) (*Parsed, error) {
	certs, err := ParseCertificates(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := ParsePrivateKey(keyPEM)
	if err != nil {
		return nil, err
	}
	chain, err := Chain(certs, key)
	if err != nil {
		return nil, err
	}
	if err := CheckNames(chain[0]); err != nil {
		return nil, err
	}
	if err := CheckValidity(chain[0], now); err != nil {
		return nil, err
	}
	return &Parsed{Leaf: chain[0], Chain: chain, Key: key, Info: Describe(chain[0])}, nil
}

// ParseValid reads an uploaded PEM of one or more certificates with
// ParseCertificates' checks and limits, and checks that the first is valid
// at now (CheckValidity): what a CA certificate upload is checked with.
func ParseValid(text string, now time.Time) ([]*x509.Certificate, error) {
	certs, err := ParseCertificates(text)
	if err != nil {
		return nil, err
	}
	if err := CheckValidity(certs[0], now); err != nil {
		return nil, err
	}
	return certs, nil
}
