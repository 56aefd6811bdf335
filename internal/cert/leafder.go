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
	return found && asksStatusRequest(v)
}

// LeafCovers reports whether the certificate der is valid for host as
// x509.Certificate.VerifyHostname decides it: host (in brackets or not) an
// IP address among its IP SANs; else, for a valid host name, a DNS SAN
// equal to it or a wildcard "*.rest" for a name of one label more, both
// valid patterns, compared without regard to ASCII case and a trailing dot
// of host; else (a host or a SAN that is no valid name, such as a bare
// "*") a DNS SAN equal to host but for ASCII case. The common name is not
// looked at (nor is it by Go).
func LeafCovers(der []byte, host string) bool {
	v, found, _ := leafExtension(der, oidExtSAN)
	var names cryptobyte.String
	if !found || !v.ReadASN1(&names, cbasn1.SEQUENCE) {
		return false
	}
	candidateIP := host
	if len(host) >= 3 && host[0] == '[' && host[len(host)-1] == ']' {
		candidateIP = host[1 : len(host)-1]
	}
	var ip netip.Addr
	isIP := false
	if mayBeIP(candidateIP) { // (netip.ParseAddr allocates its error)
		var err error
		ip, err = netip.ParseAddr(candidateIP)
		isIP = err == nil && ip.Zone() == "" // as net.ParseIP, which takes no zone
	}
	validHost := !isIP && validHostname(strings.TrimSuffix(host, "."), false)
	for !names.Empty() {
		var name cryptobyte.String
		var tag cbasn1.Tag
		if !names.ReadAnyASN1(&name, &tag) {
			return false
		}
		switch {
		case isIP && tag == tagIPAddress:
			if a, ok := netip.AddrFromSlice(name); ok && a.Unmap() == ip.Unmap() {
				return true
			}
		case !isIP && tag == tagDNSName:
			if validHost && validHostname([]byte(name), true) {
				if matchHostname(name, strings.TrimSuffix(host, ".")) {
					return true
				}
			} else if matchExactly(name, host) {
				return true
			}
		}
	}
	return false
}

// mayBeIP reports whether s may be an IP address: an IPv6 one has a
// colon, an IPv4 one only digits and dots.
func mayBeIP(s string) bool {
	if strings.IndexByte(s, ':') >= 0 {
		return true
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != '.' && (c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// matchHostname reports whether pattern (a DNS SAN) matches host, both
// valid (validHostname), as crypto/x509 matches them: label by label,
// without regard to ASCII case, a "*" first label of pattern matching any
// one label.
func matchHostname(pattern []byte, host string) bool {
	for first := true; ; first = false {
		p, prest, pmore := cutDot(pattern)
		h, hrest, hmore := cutDot(host)
		if pmore != hmore || len(p) == 0 || h == "" || !(first && len(p) == 1 && p[0] == '*') && !equalFoldASCII(p, h) {
			return false
		}
		if !pmore {
			return true
		}
		pattern, host = prest, hrest
	}
}

// matchExactly is crypto/x509's match of a host or a pattern that is not a
// valid one: equal but for ASCII case, neither empty nor ".".
func matchExactly(pattern []byte, host string) bool {
	if len(pattern) == 0 || len(pattern) == 1 && pattern[0] == '.' || host == "" || host == "." {
		return false
	}
	return equalFoldASCII(pattern, host)
}

// cutDot is strings.Cut(s, ".") for a string or bytes.
func cutDot[S string | []byte](s S) (before, after S, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return s, s[len(s):], false
}

// equalFoldASCII reports whether a and b are equal but for the case of
// ASCII letters (strings.EqualFold folds Unicode too: "\u212a" is "k").
func equalFoldASCII(a []byte, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// validHostname is crypto/x509's test of a host name without its trailing
// dot (isPattern false) or of a SAN pattern (a whole "*" first label
// allowed): labels not empty, of ASCII letters, digits, '_' and '-' (not
// first), and not a bare "*".
func validHostname[S string | []byte](host S, isPattern bool) bool {
	if len(host) == 0 || len(host) == 1 && host[0] == '*' {
		return false
	}
	for i, more := 0, true; more; i++ {
		var part S
		part, host, more = cutDot(host)
		if len(part) == 0 {
			return false
		}
		if isPattern && i == 0 && len(part) == 1 && part[0] == '*' {
			continue
		}
		for j := 0; j < len(part); j++ {
			switch c := part[j]; {
			case 'a' <= c && c <= 'z', '0' <= c && c <= '9', 'A' <= c && c <= 'Z', c == '_', c == '-' && j != 0:
			default:
				return false
			}
		}
	}
	return true
}
