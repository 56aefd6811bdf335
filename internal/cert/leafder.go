package cert

import (
	"bytes"
	"net/netip"
	"strings"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Reading a stored leaf certificate's DER without parsing it whole: the
// edge serves a certificate from its DER and needs only a few of its
// facts (its public key, whether it is Must-Staple, whether it covers a
// name), which x509.ParseCertificate would get at the cost of dozens of
// objects. These functions do not allocate; a leaf they cannot read is
// reported as such (ok false), never guessed at.

// Contents (without tag and length) of the object identifiers read here.
var (
	oidExtSAN        = []byte{0x55, 0x1d, 0x11}                               // 2.5.29.17
	oidExtTLSFeature = []byte{0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x01, 0x18} // 1.3.6.1.5.5.7.1.24 (RFC 7633)
	oidKeyEC         = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01}       // 1.2.840.10045.2.1
	oidCurveP256     = []byte{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07} // 1.2.840.10045.3.1.7
	oidCurveP384     = []byte{0x2b, 0x81, 0x04, 0x00, 0x22}                   // 1.3.132.0.34
	oidCurveP521     = []byte{0x2b, 0x81, 0x04, 0x00, 0x23}                   // 1.3.132.0.35
	tagVersion       = cbasn1.Tag(0).Constructed().ContextSpecific()          // [0] EXPLICIT version
	tagIssuerUID     = cbasn1.Tag(1).ContextSpecific()                        // [1] IMPLICIT issuerUniqueID
	tagSubjectUID    = cbasn1.Tag(2).ContextSpecific()                        // [2] IMPLICIT subjectUniqueID
	tagExtensions    = cbasn1.Tag(3).Constructed().ContextSpecific()          // [3] EXPLICIT extensions
	tagDNSName       = cbasn1.Tag(2).ContextSpecific()                        // GeneralName dNSName
	tagIPAddress     = cbasn1.Tag(7).ContextSpecific()                        // GeneralName iPAddress
)

// tbsParts returns a certificate's SubjectPublicKeyInfo (whole, with its
// tag) and the contents of its extensions SEQUENCE (empty when it has
// none).
func tbsParts(der []byte) (spki, exts cryptobyte.String, ok bool) {
	in := cryptobyte.String(der)
	var c, tbs cryptobyte.String
	if !in.ReadASN1(&c, cbasn1.SEQUENCE) || !in.Empty() || !c.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return nil, nil, false
	}
	if !tbs.SkipOptionalASN1(tagVersion) || !tbs.SkipASN1(cbasn1.INTEGER) || !tbs.SkipASN1(cbasn1.SEQUENCE) || // serial, signature
		!tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.SkipASN1(cbasn1.SEQUENCE) || // issuer, validity, subject
		!tbs.ReadASN1Element(&spki, cbasn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(tagIssuerUID) || !tbs.SkipOptionalASN1(tagSubjectUID) {
		return nil, nil, false
	}
	var wrap cryptobyte.String
	var present bool
	if !tbs.ReadOptionalASN1(&wrap, &present, tagExtensions) {
		return nil, nil, false
	}
	if present && (!wrap.ReadASN1(&exts, cbasn1.SEQUENCE) || !wrap.Empty()) {
		return nil, nil, false
	}
	return spki, exts, true
}

// leafExtension returns the value of the leaf's extension oid (the contents
// of its OCTET STRING), found false when the leaf has none.
func leafExtension(der, oid []byte) (value cryptobyte.String, found, ok bool) {
	_, exts, ok := tbsParts(der)
	if !ok {
		return nil, false, false
	}
	for !exts.Empty() {
		var ext, id cryptobyte.String
		if !exts.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1(&id, cbasn1.OBJECT_IDENTIFIER) ||
			!ext.SkipOptionalASN1(cbasn1.BOOLEAN) || !ext.ReadASN1(&value, cbasn1.OCTET_STRING) {
			return nil, false, false
		}
		if bytes.Equal(id, oid) {
			return value, true, true
		}
	}
	return nil, false, true
}

// LeafMustStaple reports whether the certificate der asks for
// status_request (Must-Staple, RFC 7633), as MustStaple does for a parsed
// one.
func LeafMustStaple(der []byte) bool {
	v, found, _ := leafExtension(der, oidExtTLSFeature)
	if !found {
		return false
	}
	var features cryptobyte.String
	if !v.ReadASN1(&features, cbasn1.SEQUENCE) {
		return false
	}
	for !features.Empty() {
		var f int64
		if !features.ReadASN1Integer(&f) {
			return false
		}
		if f == 5 {
			return true
		}
	}
	return false
}

// LeafCovers reports whether the certificate der is valid for host as
// x509.Certificate.VerifyHostname decides it: host an IP address among its
// IP SANs, else a DNS SAN equal to it, or a wildcard "*.rest" for a name
// of one label more, compared without regard to ASCII case and a trailing
// dot of host. The common name is not looked at (nor is it by Go).
func LeafCovers(der []byte, host string) bool {
	v, found, _ := leafExtension(der, oidExtSAN)
	var names cryptobyte.String
	if !found || !v.ReadASN1(&names, cbasn1.SEQUENCE) {
		return false
	}
	ip, ipErr := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	host = strings.TrimSuffix(host, ".")
	for !names.Empty() {
		var name cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&name, &tag) {
			return false
		}
		switch {
		case ipErr == nil && tag == tagIPAddress:
			if a, ok := netip.AddrFromSlice(name); ok && a.Unmap() == ip.Unmap() {
				return true
			}
		case ipErr != nil && tag == tagDNSName:
			if matchHostname(string(name), host) {
				return true
			}
		}
	}
	return false
}

// matchHostname reports whether pattern (a DNS SAN) matches host, as
// crypto/x509 matches them: label by label, without regard to ASCII case,
// a "*" first label of pattern matching any one label.
func matchHostname(pattern, host string) bool {
	for first := true; ; first = false {
		p, prest, pmore := strings.Cut(pattern, ".")
		h, hrest, hmore := strings.Cut(host, ".")
		if pmore != hmore || p == "" || h == "" || !(first && p == "*") && !strings.EqualFold(p, h) {
			return false
		}
		if !pmore {
			return true
		}
		pattern, host = prest, hrest
	}
}
