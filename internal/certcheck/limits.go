package certcheck

// The limits of what esacert accepts. Each keeps a certificate cheap to
// check, to store and to serve, and none refuses what browsers accept and
// public CAs issue. Input beyond them is refused with ErrCertTooLarge (the
// certificate text) or ErrKeyTooLarge (the private key text), whose error
// texts name the limit.
const (
	// MaxCertificateText bounds the certificate text, in bytes. A leaf of
	// 100 names of usual length with an RSA-4096 key is about 6 KiB of PEM,
	// so 64 KiB holds any real chain with room for text around it. OpenSSL
	// clients refuse by default a server's certificate list over 100 KiB,
	// which a larger text could reach (a 10,000-name leaf is 326 kB).
	MaxCertificateText = 64 << 10
	// MaxCertificates bounds the certificates in the text, leaf included.
	// Public CAs' chains hold two to four (five with a cross-signed root);
	// the bound also keeps Chain's signature checks (at worst quadratic in
	// the count) cheap.
	MaxCertificates = 10
	// MaxNames bounds the subject alternative names of the leaf (DNS names,
	// IP addresses, e-mail addresses and URIs together, counted after
	// duplicates are dropped): Let's Encrypt and Google Trust Services
	// issue at most 100, and ApplyCertificate takes at most 100 domains.
	// Every name is an entry of the edge's index and bytes in every
	// handshake.
	MaxNames = 100
	// MaxKeyText bounds the private key text, in bytes: an RSA-4096 key is
	// about 3.3 KiB of PEM.
	MaxKeyText = 16 << 10
	// MinRSABits and MaxRSABits bound an RSA private key (and so the
	// leaf's). Below 2048 bits is weak (ErrWeakKey); above 4096 costs the
	// edge far more CPU per handshake (an RSA-8192 signature takes over
	// 100 ms of CPU, an RSA-2048 one under 1 ms) for no security a browser
	// asks for.
	MinRSABits = 2048
	MaxRSABits = 4096
	// MaxChainRSABits bounds the RSA keys of the other certificates of the
	// chain: crypto/tls clients refuse larger keys, and it bounds what
	// Chain's signature checks cost.
	MaxChainRSABits = 8192
)

// storedKeyRSABits is the RSA bound of ParseStoredKey: the bound of
// ParsePrivateKey before it was lowered to MaxRSABits, so that keys stored
// then still open.
const storedKeyRSABits = 8192
