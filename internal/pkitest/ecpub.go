package pkitest

import (
	"encoding/asn1"
	"encoding/pem"
	"testing"
)

// ecPrivateKey is an ECPrivateKey (RFC 5915).
type ecPrivateKey struct {
	Version    int
	PrivateKey []byte
	Curve      asn1.ObjectIdentifier `asn1:"optional,explicit,tag:0"`
	PublicKey  asn1.BitString        `asn1:"optional,explicit,tag:1"`
}

// privateKeyInfo is a PKCS#8 PrivateKeyInfo (RFC 5208) without attributes.
type privateKeyInfo struct {
	Version    int
	Algorithm  asn1.RawValue
	PrivateKey []byte
}

// WithECPublicKey returns the EC private key keyPEM (PKCS#8 "PRIVATE KEY"
// or SEC1 "EC PRIVATE KEY", as Key writes them) with pub written as the
// public key beside its private scalar, or with no public key there when
// pub is nil. pub is an encoded point (0x04 || X || Y, or compressed) and
// need not be the scalar's: it makes the keys Go's parser accepts although
// they lie, since it ignores that field.
func WithECPublicKey(t testing.TB, keyPEM string, pub []byte) string {
	t.Helper()
	blk, _ := pem.Decode([]byte(keyPEM))
	if blk == nil {
		t.Fatal("pkitest: WithECPublicKey: no PEM block")
	}
	rewrite := func(der []byte) []byte {
		var ec ecPrivateKey
		if rest, err := asn1.Unmarshal(der, &ec); err != nil || len(rest) != 0 {
			t.Fatalf("pkitest: WithECPublicKey: not an EC private key: %v", err)
		}
		ec.PublicKey = asn1.BitString{Bytes: pub, BitLength: 8 * len(pub)}
		out, err := asn1.Marshal(ec)
		if err != nil {
			t.Fatalf("pkitest: WithECPublicKey: %v", err)
		}
		return out
	}
	var der []byte
	switch blk.Type {
	case "EC PRIVATE KEY":
		der = rewrite(blk.Bytes)
	case "PRIVATE KEY":
		var p8 privateKeyInfo
		if rest, err := asn1.Unmarshal(blk.Bytes, &p8); err != nil || len(rest) != 0 {
			t.Fatalf("pkitest: WithECPublicKey: not a PKCS#8 key: %v", err)
		}
		p8.PrivateKey = rewrite(p8.PrivateKey)
		var err error
		if der, err = asn1.Marshal(p8); err != nil {
			t.Fatalf("pkitest: WithECPublicKey: %v", err)
		}
	default:
		t.Fatalf("pkitest: WithECPublicKey: a %q block is not an EC private key", blk.Type)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: blk.Type, Bytes: der}))
}
