package httpsconf

import (
	"crypto/tls"
	"strings"

	"github.com/esacert/esacert/internal/domain"
)

// CipherSuiteNames returns the IANA names of the cipher suites esacert's
// edge uses for a cipher suite group, in crypto/tls's order: for all every
// suite crypto/tls implements without known security issues
// (tls.CipherSuites, TLS 1.0–1.3), for strict the AEAD ones among them
// (TLS 1.2 and 1.3), and for custom the suites a client may choose from
// (the same as all). ok is false for an unknown group.
func CipherSuiteNames(group string) (names []string, ok bool) {
	suites, ok := groupSuites(group)
	for _, cs := range suites {
		names = append(names, cs.Name)
	}
	return names, ok
}

func groupSuites(group string) ([]*tls.CipherSuite, bool) {
	switch group {
	case CiphersAll, CiphersCustom:
		return tls.CipherSuites(), true
	case CiphersStrict:
		var out []*tls.CipherSuite
		for _, cs := range tls.CipherSuites() {
			if !strings.Contains(cs.Name, "_CBC_") {
				out = append(out, cs)
			}
		}
		return out, true
	}
	return nil, false
}

// CipherSuiteIDs returns the suites b's group stands for, for
// tls.Config.CipherSuites, which governs TLS 1.0–1.2 only (TLS 1.3 suites
// are not configurable and are left out): every suite of group all when
// the group is all or unset, the strict ones for strict, and those
// Ciphersuite names for custom. The result is never nil, so that a custom
// list of TLS 1.3 suites only really leaves TLS 1.2 without suites.
func (b HTTPSBasic) CipherSuiteIDs() []uint16 {
	group := b.CiphersuiteGroup
	if group == "" {
		group = CiphersAll
	}
	ids := []uint16{}
	if group == CiphersCustom {
		byName := map[string]*tls.CipherSuite{}
		for _, cs := range tls.CipherSuites() {
			byName[cs.Name] = cs
		}
		for _, name := range splitSuites(b.Ciphersuite) {
			if cs, ok := byName[name]; ok && !tls13Only(cs) {
				ids = append(ids, cs.ID)
			}
		}
		return ids
	}
	suites, _ := groupSuites(group)
	for _, cs := range suites {
		if !tls13Only(cs) {
			ids = append(ids, cs.ID)
		}
	}
	return ids
}

// tls13Names are the names of the TLS 1.3 suites, which crypto/tls
// always offers together.
func tls13Names() []string {
	var names []string
	for _, cs := range tls.CipherSuites() {
		if tls13Only(cs) {
			names = append(names, cs.Name)
		}
	}
	return names
}

func tls13Only(cs *tls.CipherSuite) bool {
	return len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13
}

// splitSuites splits a Ciphersuite value at its commas, trimming spaces.
func splitSuites(v string) []string {
	var out []string
	for _, n := range strings.Split(v, ",") {
		out = append(out, strings.TrimSpace(n))
	}
	return out
}

// Ciphers returns the suite names of a cipher suite group, for ListCiphers.
func (s *Service) Ciphers(group string) ([]string, error) {
	if group == "" {
		return nil, domain.Missing("CiphersGroup")
	}
	names, ok := CipherSuiteNames(group)
	if !ok {
		return nil, domain.Invalid("CiphersGroup", "must be all, strict or custom")
	}
	return names, nil
}
