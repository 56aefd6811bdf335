package certcheck

import "errors"

// The sentinel errors. Returned errors wrap exactly one of them (match with
// errors.Is); the comment names the public Code it maps to.
var (
	// ErrNoCertificate: the certificate text holds no PEM block at all
	// (InvalidSSLPub).
	ErrNoCertificate = errors.New("certcheck: no certificate")
	// ErrBadCertificate: a CERTIFICATE block that x509 cannot parse, or text
	// that looks like PEM but is not (InvalidSSLPub).
	ErrBadCertificate = errors.New("certcheck: malformed certificate")
	// ErrUnexpectedBlock: a block other than CERTIFICATE (a private key,
	// TRUSTED CERTIFICATE, EC PARAMETERS, …) in the certificate text
	// (InvalidSSLPub). A key pasted into the certificate field is refused
	// rather than skipped, since the certificate text is shown back later.
	ErrUnexpectedBlock = errors.New("certcheck: unexpected PEM block in certificate text")
	// ErrBadChain: a certificate that is not part of the leaf's chain, or a
	// duplicate (InvalidSSLPub).
	ErrBadChain = errors.New("certcheck: certificate is not part of the leaf's chain")
	// ErrBadName: a DNS name of the leaf's SAN extension that is not a host
	// name (a comma, a space, a wildcard not in the whole leftmost label, …)
	// (InvalidSSLPub). Such names would confuse every later match.
	ErrBadName = errors.New("certcheck: certificate names something that is not a host name")
	// ErrStrayData: the certificate text holds, outside its PEM blocks, what
	// looks like encoded data (an unarmoured key, say) (InvalidSSLPub). The
	// text is shown back as sent, so it may carry nothing secret.
	ErrStrayData = errors.New("certcheck: unexpected encoded data beside the PEM blocks")
	// ErrCertTooLarge: the certificate text is over one of the limits in
	// limits.go: longer than MaxCertificateText, more than MaxCertificates
	// certificates, a leaf with more than MaxNames names, or a certificate
	// with an RSA key over MaxChainRSABits (InvalidSSLPub). The error text
	// names the limit.
	ErrCertTooLarge = errors.New("certcheck: certificate is over a limit")
	// ErrNoKey: the key text holds no private key block (InvalidSSLPri).
	ErrNoKey = errors.New("certcheck: no private key")
	// ErrBadKey: an unparseable key, several keys, a block that is not a key,
	// text that looks like PEM but is not, or an EC key holding, beside its
	// private scalar, a public key that is not the scalar's (InvalidSSLPri).
	ErrBadKey = errors.New("certcheck: malformed private key")
	// ErrEncryptedKey: an ENCRYPTED PRIVATE KEY block or a legacy
	// "Proc-Type: 4,ENCRYPTED" one (InvalidSSLPri).
	ErrEncryptedKey = errors.New("certcheck: private key is encrypted")
	// ErrWeakKey: an RSA key below 2048 bits (InvalidSSLPri).
	ErrWeakKey = errors.New("certcheck: private key is too weak")
	// ErrUnsupportedKey: a key type or curve other than RSA, ECDSA
	// P-256/P-384/P-521 and Ed25519, such as DSA, X25519, Ed448, P-224 or
	// secp256k1 (InvalidSSLPri).
	ErrUnsupportedKey = errors.New("certcheck: unsupported private key type")
	// ErrKeyTooLarge: the private key text is longer than MaxKeyText, its
	// key block over 8 KiB, or the key an RSA key over MaxRSABits bits
	// (InvalidSSLPri). The error text names the limit.
	ErrKeyTooLarge = errors.New("certcheck: private key is over a limit")
	// ErrKeyMismatch: no certificate holds the private key's public key
	// (CertificateNotMatchPrivateKey).
	ErrKeyMismatch = errors.New("certcheck: private key does not match certificate")
	// ErrExpired: the leaf's NotAfter is before now (Certificate.StatusError).
	ErrExpired = errors.New("certcheck: certificate has expired")
	// ErrNotYetValid: the leaf's NotBefore is after now
	// (Certificate.StatusError).
	ErrNotYetValid = errors.New("certcheck: certificate is not yet valid")
)
