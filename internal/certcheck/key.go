package certcheck

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/subtle"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"strings"
)

// maxKeyDER bounds the decoded key before it reaches a parser, so that no
// huge number is ever validated (parsing an RSA-8192 key, which takes under
// 5 KiB in PKCS#8, costs a few milliseconds). It is larger than an RSA-4096
// key needs so that an RSA-8192 key is refused by its size in bits, which
// says more.
const maxKeyDER = 8 << 10

// PEM labels of the private key formats.
const (
	labelPKCS1     = "RSA PRIVATE KEY"
	labelPKCS8     = "PRIVATE KEY"
	labelSEC1      = "EC PRIVATE KEY"
	labelEncrypted = "ENCRYPTED PRIVATE KEY"
	labelDSA       = "DSA PRIVATE KEY"
	labelECParams  = "EC PARAMETERS"
)

// ParsePrivateKey parses the one unencrypted private key in pemText: PKCS#1
// ("RSA PRIVATE KEY"), PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY"),
// each read as its label says. The key is RSA of MinRSABits to MaxRSABits
// (2048 to 4096) bits, ECDSA on P-256, P-384 or P-521, or Ed25519; the
// result is a *rsa.PrivateKey, a *ecdsa.PrivateKey or an
// ed25519.PrivateKey, never nil when err is nil.
//
// An "EC PARAMETERS" block (as openssl ecparam -genkey writes) is skipped.
// It returns ErrKeyTooLarge for a text longer than MaxKeyText, a key block
// over 8 KiB or an RSA key over MaxRSABits; ErrNoKey when there is no key
// block; ErrEncryptedKey for an encrypted key; ErrWeakKey for RSA below
// MinRSABits; ErrUnsupportedKey for other key types and curves; and
// ErrBadKey for anything else: an unparseable key, more than one key, a
// block that is not a private key, text that looks like PEM but is not, or
// an EC key (PKCS#8 or SEC1) whose text holds a public key beside its
// private scalar that is not the scalar's (Go's parser ignores that field;
// the edge builds keys from it).
// Error texts never hold key material.
func ParsePrivateKey(pemText string) (crypto.Signer, error) {
	if len(pemText) > MaxKeyText {
		return nil, fmt.Errorf("%w: the private key text is %d bytes, at most %d (%d KiB) are accepted",
			ErrKeyTooLarge, len(pemText), MaxKeyText, MaxKeyText>>10)
	}
	return parseKey(pemText, MaxRSABits, true)
}

// ParseStoredKey parses a private key that esacert stored itself, which an
// earlier ParsePrivateKey accepted: the same rules, but no bound on the
// text's length and RSA keys up to 8192 bits, the bounds before the current
// ones, so that certificates stored then keep being served. Never use it for
// input from a request.
func ParseStoredKey(pemText string) (crypto.Signer, error) {
	return parseKey(pemText, storedKeyRSABits, false)
}

// parseKey is ParsePrivateKey with RSA keys up to maxRSABits and no bound on
// the text's length. With checkEmbedded, an EC key whose text holds a public
// key beside its private scalar that is not the scalar's is refused
// (ErrBadKey): Go's parser ignores that field, but it must not lie. A key
// esacert stored before this check existed is not refused for it (the key
// parsed is built from the scalar, so it is right); see
// cert.ParseStoredKeyFor for how the edge deals with such a key.
func parseKey(pemText string, maxRSABits int, checkEmbedded bool) (crypto.Signer, error) {
	blocks, err := scanPEM(pemText)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
	}
	var keys []block
	for _, b := range blocks {
		switch {
		case b.Type == labelECParams:
			continue
		case strings.HasSuffix(b.Type, labelPKCS8):
			keys = append(keys, b)
		default:
			return nil, fmt.Errorf("%w: unexpected %s block in private key text", ErrBadKey, quoteLabel(b.Type))
		}
	}
	switch len(keys) {
	case 0:
		return nil, ErrNoKey
	case 1:
	default:
		return nil, fmt.Errorf("%w: %d private keys, want one", ErrBadKey, len(keys))
	}
	b := keys[0]
	defer clear(b.Bytes) // the key's DER: the parsed key holds what it needs
	if b.Type == labelEncrypted || strings.Contains(strings.ToUpper(b.Headers["Proc-Type"]), "ENCRYPTED") || b.Headers["DEK-Info"] != "" {
		return nil, ErrEncryptedKey
	}
	if len(b.Bytes) > maxKeyDER {
		return nil, fmt.Errorf("%w: the %s block holds %d bytes, at most %d are accepted", ErrKeyTooLarge, quoteLabel(b.Type), len(b.Bytes), maxKeyDER)
	}
	var key any
	switch b.Type {
	case labelPKCS1:
		key, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case labelPKCS8:
		key, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil && unsupportedPKCS8(b.Bytes) {
			return nil, fmt.Errorf("%w: PKCS#8 key of an unsupported algorithm or curve", ErrUnsupportedKey)
		}
	case labelSEC1:
		key, err = x509.ParseECPrivateKey(b.Bytes)
		if err != nil && unsupportedSEC1(b.Bytes) {
			return nil, fmt.Errorf("%w: EC key on an unsupported curve", ErrUnsupportedKey)
		}
	case labelDSA:
		return nil, fmt.Errorf("%w: DSA", ErrUnsupportedKey)
	default:
		return nil, fmt.Errorf("%w: unknown key format %s", ErrBadKey, quoteLabel(b.Type))
	}
	if err != nil {
		// The x509 error is left out on purpose: it is not needed to act on
		// the failure, and this way no parser can leak key bytes into a log.
		return nil, fmt.Errorf("%w: %s block does not hold a valid key", ErrBadKey, quoteLabel(b.Type))
	}
	if k, ok := key.(*ecdsa.PrivateKey); ok && checkEmbedded && !embeddedPublicKeyMatches(b.Type, b.Bytes, k) {
		return nil, fmt.Errorf("%w: the public key written in the %s block is not the public key of its private key",
			ErrBadKey, quoteLabel(b.Type))
	}
	return checkKey(key, maxRSABits)
}

// embeddedPublicKeyMatches reports whether the ECPrivateKey (RFC 5915) in
// der, a PKCS#8 or SEC1 block as label says that x509 parsed into k, holds
// either no public key or k's own public key, uncompressed or compressed.
func embeddedPublicKeyMatches(label string, der []byte, k *ecdsa.PrivateKey) bool {
	if label == labelPKCS8 {
		var p8 pkcs8
		if _, err := asn1.Unmarshal(der, &p8); err != nil {
			return false
		}
		der = p8.PrivateKey
	}
	var ec sec1
	if _, err := asn1.Unmarshal(der, &ec); err != nil {
		return false
	}
	embedded := ec.PublicKey
	if embedded.BitLength == 0 && len(embedded.Bytes) == 0 {
		return true // no public key beside the scalar: nothing can lie
	}
	own, err := k.PublicKey.Bytes() // 0x04 || X || Y
	if err != nil || embedded.BitLength != 8*len(embedded.Bytes) {
		return false
	}
	pub := embedded.Bytes
	switch {
	case len(pub) == len(own):
		return subtle.ConstantTimeCompare(pub, own) == 1
	case len(pub) == 1+(len(own)-1)/2 && (pub[0] == 2 || pub[0] == 3): // compressed: 0x02 or 0x03 (Y odd) || X
		size := (len(own) - 1) / 2
		return pub[0] == 2+own[len(own)-1]&1 && subtle.ConstantTimeCompare(pub[1:], own[1:1+size]) == 1
	}
	return false
}

// checkKey applies the key policy to a parsed private key.
func checkKey(key any, maxRSABits int) (crypto.Signer, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		bits := k.N.BitLen()
		if bits < MinRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits, want at least %d", ErrWeakKey, bits, MinRSABits)
		}
		if bits > maxRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits, at most %d bits are accepted: a larger key makes every handshake far dearer",
				ErrKeyTooLarge, bits, maxRSABits)
		}
		return k, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return k, nil
		}
		return nil, fmt.Errorf("%w: ECDSA curve %s", ErrUnsupportedKey, k.Curve.Params().Name)
	case ed25519.PrivateKey:
		return k, nil
	default:
		return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, key)
	}
}

// KeyMatches reports whether c holds the public key of key. It is false when
// either is nil.
func KeyMatches(c *x509.Certificate, key crypto.Signer) bool {
	if c == nil || key == nil {
		return false
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	return ok && pub.Equal(c.PublicKey)
}

// Object identifiers used to tell an unsupported key from a broken one.
var (
	oidRSA     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidEC      = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidEd25519 = asn1.ObjectIdentifier{1, 3, 101, 112}
	oidP256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}
	oidP384    = asn1.ObjectIdentifier{1, 3, 132, 0, 34}
	oidP521    = asn1.ObjectIdentifier{1, 3, 132, 0, 35}
)

// pkcs8 is the part of a PKCS#8 PrivateKeyInfo (RFC 5208) needed to read the
// key's algorithm.
type pkcs8 struct {
	Version    int
	Algorithm  pkix.AlgorithmIdentifier
	PrivateKey []byte
}

// sec1 is an ECPrivateKey (RFC 5915).
type sec1 struct {
	Version    int
	PrivateKey []byte
	Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// unsupportedPKCS8 reports whether der, which x509 could not parse, is a
// well-formed PKCS#8 envelope around a key of an algorithm or curve that is
// not supported (as opposed to a broken key of a supported one).
func unsupportedPKCS8(der []byte) bool {
	var k pkcs8
	if _, err := asn1.Unmarshal(der, &k); err != nil {
		return false
	}
	alg := k.Algorithm.Algorithm
	switch {
	case alg.Equal(oidRSA), alg.Equal(oidEd25519):
		return false
	case alg.Equal(oidEC):
		var curve asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(k.Algorithm.Parameters.FullBytes, &curve); err != nil {
			return false
		}
		return !supportedCurve(curve)
	}
	return len(alg) > 0
}

// unsupportedSEC1 reports whether der, which x509 could not parse, is a
// well-formed SEC1 key that names an unsupported curve.
func unsupportedSEC1(der []byte) bool {
	var k sec1
	if _, err := asn1.Unmarshal(der, &k); err != nil {
		return false
	}
	return len(k.Curve) > 0 && !supportedCurve(k.Curve)
}

func supportedCurve(oid asn1.ObjectIdentifier) bool {
	return oid.Equal(oidP256) || oid.Equal(oidP384) || oid.Equal(oidP521)
}
