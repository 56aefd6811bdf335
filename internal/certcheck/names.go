package certcheck

import (
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
)

// Names returns the host names leaf is for: its DNS SANs, lowercased, with
// one trailing dot stripped, in order, without empty names and duplicates.
// When leaf has no DNS SAN at all, it returns the CommonName (normalized the
// same way) if that looks like a host name (letters, digits, '-' and '_' in
// dot-separated labels, optionally "*." in front, not an IP address). IP
// SANs are ignored. It returns nil when there is no name, or for a nil leaf.
func Names(leaf *x509.Certificate) []string {
	if leaf == nil {
		return nil
	}
	if len(leaf.DNSNames) == 0 {
		if cn := hostCommonName(leaf); cn != "" {
			return []string{cn}
		}
		return nil
	}
	var names []string
	for _, n := range normalizeNames(leaf.DNSNames) {
		if n != "" {
			names = append(names, n)
		}
	}
	return names
}

// CheckNames returns ErrBadName when a DNS name of leaf's SAN extension,
// lowercased and without one trailing dot, is not a host name (see Names),
// and ErrCertTooLarge when the extension holds more than MaxNames names
// (DNS names, IP addresses, e-mail addresses and URIs; duplicate DNS names
// count once).
func CheckNames(leaf *x509.Certificate) error {
	if leaf == nil {
		return ErrNoCertificate
	}
	dns := normalizeNames(leaf.DNSNames)
	if n := len(dns) + len(leaf.IPAddresses) + len(leaf.EmailAddresses) + len(leaf.URIs); n > MaxNames {
		return fmt.Errorf("%w: the leaf has %d subject alternative names, at most %d are accepted", ErrCertTooLarge, n, MaxNames)
	}
	for _, n := range dns {
		if !isHostname(n) {
			return fmt.Errorf("%w: %q", ErrBadName, n)
		}
	}
	return nil
}

func normalizeName(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".")
}

// normalizeNames returns names normalized (normalizeName), in their order,
// each once, in time linear in their total length. It returns names itself
// when that is already so.
func normalizeNames(names []string) []string {
	seen := make(map[string]bool, len(names))
	var out []string // nil while names needs no change
	for i, n := range names {
		norm := normalizeName(n)
		if out == nil && (norm != n || seen[norm]) {
			out = append(make([]string, 0, len(names)), names[:i]...)
		}
		if seen[norm] {
			continue
		}
		seen[norm] = true
		if out != nil {
			out = append(out, norm)
		}
	}
	if out == nil {
		return names
	}
	return out
}

// hostCommonName returns leaf's CommonName, normalized, when it is a host
// name; else "".
func hostCommonName(leaf *x509.Certificate) string {
	if cn := normalizeName(leaf.Subject.CommonName); isHostname(cn) {
		return cn
	}
	return ""
}

// isHostname reports whether name (already normalized) has the shape of a
// host name, allowing a "*" as the whole leftmost label.
func isHostname(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return false
	}
	labels := strings.Split(name, ".")
	for i, l := range labels {
		if i == 0 && l == "*" && len(labels) > 1 {
			continue
		}
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for j := 0; j < len(l); j++ {
			c := l[j]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	// A dotted name whose last label is all digits is an address, not a host.
	last := labels[len(labels)-1]
	return len(labels) == 1 || strings.Trim(last, "0123456789") != ""
}

// UnderSite reports whether the host name name is site or a name under it.
// A wildcard "*.rest" counts when rest is site or under it, so "*.example.com"
// is under site "example.com" but "*.com" is not; any other "*" ("*" alone,
// "a*.example.com", "*.*.example.com") never counts. The comparison ignores
// case and one trailing dot on each side. Names or sites with empty labels
// never match.
func UnderSite(name, site string) bool {
	name = normalizeName(name)
	site = normalizeName(site)
	if rest, ok := strings.CutPrefix(name, "*."); ok {
		name = rest
	}
	if !plainName(name) || !plainName(site) {
		return false
	}
	return name == site || strings.HasSuffix(name, "."+site)
}

// plainName reports whether name is non-empty, has no empty label and no "*".
func plainName(name string) bool {
	return name != "" && !strings.Contains(name, "*") &&
		!strings.HasPrefix(name, ".") && !strings.HasSuffix(name, ".") && !strings.Contains(name, "..")
}

// MatchesSite reports whether any of names is UnderSite site.
func MatchesSite(names []string, site string) bool {
	for _, n := range names {
		if UnderSite(n, site) {
			return true
		}
	}
	return false
}
