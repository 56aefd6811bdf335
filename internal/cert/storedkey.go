package cert

import (
	"bytes"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/fips140"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/esacert/esacert/internal/certcheck"
)

// ParseStoredKeyFor parses a private key esacert stored itself (as
// certcheck.ParseStoredKey does) for the certificate whose leaf is the DER
// leaf, and checks that it is that certificate's key:
// certcheck.ErrKeyMismatch when it is not, certcheck.ErrBadCertificate when
// the leaf's public key cannot be read.
//
// An ECDSA key is built without computing its public key from its private
// scalar (a scalar multiplication, most of what parsing it costs) when its
// text is one plain PEM block, PKCS#8 or SEC1, that holds its public key
// beside the scalar (as Go, OpenSSL and the ACME clients write it) and that
// public key is the leaf's, byte for byte: the key is then the leaf's
// public point and the scalar. That is sound for the keys esacert stores
// now: upload checked that the public key computed from the scalar is
// the leaf's (certcheck.Chain) and that the public key stored beside the
// scalar, when there is one, is the scalar's (certcheck.ParsePrivateKey);
// keyseal authenticates the sealed text, bound to the certificate's id.
// A key stored by an earlier version may carry beside its scalar a public
// key that is not the scalar's (Go's parser ignores that field), and a
// chain changed behind esacert's back could bring that public key; so the
// shortcut also checks that the stored public key is the scalar's, once
// per key and process (scalarHoldsPublic: a scalar multiplication the
// first time, then a hash and a look-up in a small set without pointers,
// so a cache miss stays cheap). A key sealed by SealKey with the mark that
// this was checked when it was sealed (OpenKeyFor) is not checked again,
// so that even the first handshake of each of a million names does not pay
// for it. A key that fails it is parsed in full and
// refused unless its scalar's public key is the leaf's. Any other key, and
// every key when FIPS 140-3 mode is on, is parsed in full and its public
// key compared with the leaf's.
func ParseStoredKeyFor(pemText, leaf []byte) (crypto.Signer, error) {
	return parseStoredKeyFor(pemText, leaf, false)
}

// parseStoredKeyFor is ParseStoredKeyFor; checked says that the key was
// sealed with the mark that its stored public key is its scalar's (see
// SealKey), which leafECDSAKey then need not check again.
func parseStoredKeyFor(pemText, leaf []byte, checked bool) (crypto.Signer, error) {
	spki, _, ok := tbsParts(leaf)
	if !ok {
		return nil, fmt.Errorf("%w: the leaf certificate cannot be read", certcheck.ErrBadCertificate)
	}
	if k := leafECDSAKey(pemText, spki, checked); k != nil {
		return k, nil
	}
	key, err := certcheck.ParseStoredKey(string(pemText))
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(spki)
	if err != nil {
		return nil, fmt.Errorf("%w: the leaf certificate's public key cannot be read", certcheck.ErrBadCertificate)
	}
	if k, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !k.Equal(pub) {
		return nil, fmt.Errorf("%w: it is not the key of the leaf certificate", certcheck.ErrKeyMismatch)
	}
	return key, nil
}

// leafECDSAKey returns the ECDSA key of pemText built from its private
// scalar and the public key of the leaf's SubjectPublicKeyInfo spki, when
// pemText is the one kind ParseStoredKeyFor builds so and holds the leaf's
// public key; else nil. checked says that the key was sealed with the
// mark that its stored public key was found to be its scalar's then
// (SealKey), so that it need not be computed again.
func leafECDSAKey(pemText []byte, spki cryptobyte.String, checked bool) *ecdsa.PrivateKey {
	if fips140.Enabled() { // let crypto/ecdsa check the key as it parses it
		return nil
	}
	ek, ok := readECKey(pemText)
	if !ok {
		return nil
	}
	defer clear(ek.der)
	// SubjectPublicKeyInfo{AlgorithmIdentifier{id-ecPublicKey, namedCurve}, BIT STRING}
	var info, alg, oid, leafCurve, leafPub cryptobyte.String
	if !spki.ReadASN1(&info, cbasn1.SEQUENCE) || !info.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !bytes.Equal(oid, oidKeyEC) ||
		!alg.ReadASN1(&leafCurve, cbasn1.OBJECT_IDENTIFIER) || !alg.Empty() || !bytes.Equal(leafCurve, ek.curveOID) ||
		!readBitString(&info, &leafPub) || !info.Empty() || !bytes.Equal(ek.pub, leafPub) {
		return nil
	}
	p := ek.curve.Params()
	k := newECDSAKey(ek.size)
	k.X.SetBytes(ek.pub[1 : 1+ek.size])
	k.Y.SetBytes(ek.pub[1+ek.size:])
	k.D.SetBytes(ek.d)
	if k.D.Sign() <= 0 || k.D.Cmp(p.N) >= 0 || k.X.Cmp(p.P) >= 0 || k.Y.Cmp(p.P) >= 0 {
		return nil
	}
	if !checked && !scalarHoldsPublic(ek.der, ek.dh, ek.size, ek.d, ek.pub) { // a key stored before upload checked it may lie
		return nil
	}
	k.Curve = ek.curve
	return k
}

// ecKey is what readECKey reads of an EC private key's text: its DER (to
// be wiped once used), its curve, its private scalar and the public key
// stored beside it, an uncompressed point.
type ecKey struct {
	der      []byte
	curveOID cryptobyte.String
	curve    elliptic.Curve
	dh       ecdh.Curve
	size     int // the curve's scalar and coordinate size, in bytes
	d, pub   cryptobyte.String
}

// readECKey reads pemText when it is one plain PEM block, PKCS#8 or SEC1,
// of an ECDSA key on P-256, P-384 or P-521 that holds its public key,
// uncompressed, beside a scalar of the curve's size at most; else it
// reports false (and wipes what it decoded).
func readECKey(pemText []byte) (ecKey, bool) {
	blk, rest := pem.Decode(pemText)
	if blk == nil {
		return ecKey{}, false
	}
	if len(blk.Headers) != 0 || len(bytes.TrimSpace(rest)) != 0 {
		clear(blk.Bytes) // a key's DER, maybe
		return ecKey{}, false
	}
	ek := ecKey{der: blk.Bytes}
	if !ek.read(blk.Type) {
		clear(blk.Bytes)
		return ecKey{}, false
	}
	return ek, true
}

// read fills ek from its der, a block of the PEM type typ.
func (ek *ecKey) read(typ string) bool {
	in := cryptobyte.String(ek.der)
	var curve, sec1 cryptobyte.String
	switch typ {
	case "PRIVATE KEY": // PrivateKeyInfo{version 0, AlgorithmIdentifier{id-ecPublicKey, namedCurve}, OCTET STRING{ECPrivateKey}}
		var p8, alg, oid cryptobyte.String
		var v int64
		if !in.ReadASN1(&p8, cbasn1.SEQUENCE) || !in.Empty() || !p8.ReadASN1Integer(&v) || v != 0 ||
			!p8.ReadASN1(&alg, cbasn1.SEQUENCE) || !alg.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !bytes.Equal(oid, oidKeyEC) ||
			!alg.ReadASN1(&curve, cbasn1.OBJECT_IDENTIFIER) || !alg.Empty() ||
			!p8.ReadASN1(&sec1, cbasn1.OCTET_STRING) || !p8.Empty() {
			return false
		}
	case "EC PRIVATE KEY":
		sec1 = in
	default:
		return false
	}
	// ECPrivateKey{version 1, privateKey OCTET STRING, [0] namedCurve OPTIONAL, [1] publicKey BIT STRING OPTIONAL}
	var ec, params, pubWrap cryptobyte.String
	var v int64
	var hasParams, hasPub bool
	if !sec1.ReadASN1(&ec, cbasn1.SEQUENCE) || !sec1.Empty() || !ec.ReadASN1Integer(&v) || v != 1 ||
		!ec.ReadASN1(&ek.d, cbasn1.OCTET_STRING) ||
		!ec.ReadOptionalASN1(&params, &hasParams, cbasn1.Tag(0).Constructed().ContextSpecific()) ||
		!ec.ReadOptionalASN1(&pubWrap, &hasPub, cbasn1.Tag(1).Constructed().ContextSpecific()) || !ec.Empty() ||
		!hasPub || !readBitString(&pubWrap, &ek.pub) || !pubWrap.Empty() {
		return false
	}
	if hasParams {
		var oid cryptobyte.String
		if !params.ReadASN1(&oid, cbasn1.OBJECT_IDENTIFIER) || !params.Empty() || curve != nil && !bytes.Equal(oid, curve) {
			return false
		}
		curve = oid
	}
	switch {
	case bytes.Equal(curve, oidCurveP256):
		ek.curve, ek.dh = elliptic.P256(), ecdh.P256()
	case bytes.Equal(curve, oidCurveP384):
		ek.curve, ek.dh = elliptic.P384(), ecdh.P384()
	case bytes.Equal(curve, oidCurveP521):
		ek.curve, ek.dh = elliptic.P521(), ecdh.P521()
	default:
		return false
	}
	ek.curveOID = curve
	ek.size = (ek.curve.Params().BitSize + 7) / 8
	// an uncompressed point; a scalar of the curve's size
	return len(ek.pub) == 1+2*ek.size && ek.pub[0] == 4 && len(ek.d) <= ek.size
}

// storedPublicKeyChecked reports whether pemText is a key leafECDSAKey
// would build from the public key stored beside its scalar, and that key is
// the scalar's own (one scalar multiplication). It is false for every other
// text, whose stored public key (compressed, or in a block with headers or
// text after it) was never compared: the mark must say only what was
// checked, so that a later leafECDSAKey that reads more keys never trusts
// one that was marked without being checked. known says that it was
// checked already (the key was sealed with the mark): the multiplication
// is then spared, not the reading.
func storedPublicKeyChecked(pemText []byte, known bool) bool {
	ek, ok := readECKey(pemText)
	if !ok {
		return false
	}
	defer clear(ek.der)
	return known || isPublicOf(ek.dh, ek.size, ek.d, ek.pub)
}

// readBitString reads a BIT STRING of whole bytes into out.
func readBitString(in, out *cryptobyte.String) bool {
	var b cryptobyte.String
	if !in.ReadASN1(&b, cbasn1.BIT_STRING) || len(b) < 1 || b[0] != 0 {
		return false
	}
	*out = b[1:]
	return true
}

// ecdsaKey is an ECDSA key with its three numbers in one allocation: a
// cache entry holds one object for its key instead of seven.
type ecdsaKey struct {
	k       ecdsa.PrivateKey // first: what crypto/ecdsa keys its own cache of the key on is the allocation's start
	x, y, d big.Int
}

// ecdsaKeyOf holds an ecdsaKey and room for its numbers' words.
type ecdsaKeyOf[W any] struct {
	ecdsaKey
	words W
}

// newECDSAKey returns an ECDSA key whose X, Y and D are zero and have room
// for numbers of size bytes without allocating again (on 64-bit systems).
func newECDSAKey(size int) *ecdsa.PrivateKey {
	var k *ecdsaKey
	var w []big.Word
	switch n := (size + 7) / 8; {
	case n <= 4: // P-256
		kw := new(ecdsaKeyOf[[12]big.Word])
		k, w = &kw.ecdsaKey, kw.words[:]
	case n <= 6: // P-384
		kw := new(ecdsaKeyOf[[18]big.Word])
		k, w = &kw.ecdsaKey, kw.words[:]
	default: // P-521
		kw := new(ecdsaKeyOf[[27]big.Word])
		k, w = &kw.ecdsaKey, kw.words[:]
	}
	n := len(w) / 3
	k.x.SetBits(w[0:0:n])
	k.y.SetBits(w[n : n : 2*n])
	k.d.SetBits(w[2*n : 2*n : 3*n])
	k.k.X, k.k.Y, k.k.D = &k.x, &k.y, &k.d
	return &k.k
}
