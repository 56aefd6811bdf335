package edge

import (
	"crypto/tls"
	"slices"
	"strconv"
)

// extSupportedVersions is the supported_versions extension's number.
const extSupportedVersions = 43

// TLS versions with a gap. A host's Tls10…Tls13 switches are each on or
// off, so the versions on need not be a range (TLS 1.0 and 1.2 on, 1.1
// off), but crypto/tls takes a MinVersion and a MaxVersion and negotiates
// the highest version in between that the client has. So a host keeps the
// range from its lowest version on to its highest, and the versions off
// inside it (HostPolicy.VersionsOff); for each hello, versionConfig lowers
// the MaxVersion when the version crypto/tls would pick is off: to the
// highest version on that the client has, as a server that can leave a gap
// would negotiate. A client that has none of the versions on is refused
// as crypto/tls refuses a client without a version it has (a
// protocol_version alert).

// versionBit is v's bit in HostPolicy.VersionsOff.
func versionBit(v uint16) uint8 { return 1 << (v - tls.VersionTLS10) }

// versionOn reports whether hp allows TLS version v.
func (hp *HostPolicy) versionOn(v uint16) bool {
	return v >= hp.MinVersion && v <= hp.MaxVersion && hp.VersionsOff&versionBit(v) == 0
}

// versionConfig returns c, the configuration of hp (its key k in
// e.configs), for hello: c itself, unless the version crypto/tls would
// negotiate is off, then a copy whose MaxVersion is the highest version on
// that hello has (or, with none, the lowest on, which hello then lacks).
func (e *Edge) versionConfig(c *tls.Config, k string, hp *HostPolicy, hello *tls.ClientHelloInfo) *tls.Config {
	if hp.VersionsOff == 0 {
		return c
	}
	var picked, best uint16 // what crypto/tls would pick; the best version on
	// A hello without supported_versions offers its legacy version and
	// those below it, TLS 1.2 at most (crypto/tls reads it so), though
	// ClientHelloInfo lists TLS 1.3 for a legacy version of 1.3.
	legacy := !slices.Contains(hello.Extensions, extSupportedVersions)
	for _, v := range hello.SupportedVersions {
		if v < hp.MinVersion || v > hp.MaxVersion || legacy && v > tls.VersionTLS12 {
			continue
		}
		picked = max(picked, v)
		if hp.versionOn(v) {
			best = max(best, v)
		}
	}
	if picked == best {
		return c
	}
	if best == 0 {
		best = hp.MinVersion // the client has none of the versions on
	}
	vk := k + "|max:" + strconv.Itoa(int(best))
	if v, ok := e.configs.Load(vk); ok {
		return v.(*tls.Config)
	}
	v := c.Clone()
	v.MaxVersion = best
	lowered := *hp
	lowered.MaxVersion = best
	if !h2Possible(&lowered) { // HTTP/2 needs TLS 1.2 and, below 1.3, an ECDHE AEAD suite (RFC 7540 §9.2)
		v.NextProtos = []string{"http/1.1"}
	}
	actual, _ := e.configs.LoadOrStore(vk, v)
	return actual.(*tls.Config)
}
