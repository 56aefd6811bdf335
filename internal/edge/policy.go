package edge

import (
	"crypto/tls"
	"fmt"
	"time"
)

// HostPolicy is how the edge treats one host of a site.
type HostPolicy struct {
	HTTPS      bool   // off: no certificate is served for the host
	HTTP2      bool   // offer h2 over ALPN
	MinVersion uint16 // tls.VersionTLS10 … tls.VersionTLS13
	MaxVersion uint16
	// VersionsOff are the versions between MinVersion and MaxVersion that
	// are off, bit n for TLS 1.n (a gap, which crypto/tls cannot leave:
	// versions.go keeps it per hello).
	VersionsOff  uint8
	CipherSuites []uint16 // TLS 1.2 and below; nil means Go's defaults
	Force        bool     // redirect plain HTTP to HTTPS
	ForceCode    int      // 301, 302, 307 or 308
	HSTS         string   // the Strict-Transport-Security value, or ""
	OCSP         bool     // staple the certificate's OCSP response (see staple.go)
	NoSNIDeny    bool     // HttpsNoSniDeny: refuse a handshake without SNI that this host would answer (sni.go)
	SNIAllow     []string // HttpsSniVerify on: the server names a handshake may name; nil: any (sni.go)
	HTTP3        bool     // Http3: serve the host over QUIC too (http3.go)
	AltSvc       AltSvc   // the Alt-Svc header of HTTPS answers (http3.go)
	Origin       OriginPolicy
}

// OriginPolicy is how the edge reaches the origin of one host (origin
// rules). The zero OriginPolicy is plain HTTP to the route's origin with
// the visitor's Host header.
type OriginPolicy struct {
	Scheme      string        // "" or http: plain HTTP; https; follow: the visitor's scheme
	HTTPPort    int           // the origin's port for plain HTTP; 0 keeps the record's
	HTTPSPort   int           // the origin's port for HTTPS; 0 means 443
	Host        string        // the Host header; "" keeps the route's
	SNI         string        // the server name of an HTTPS origin and the name verified; "" means the Host sent
	Verify      bool          // verify an HTTPS origin's certificate against the system roots and the site's origin CAs
	Mtls        bool          // present the site's origin client certificate to an HTTPS origin that asks for one
	ReadTimeout time.Duration // how long to wait for the origin's answer; 0 means the edge's default
}

// DefaultHostPolicy is the policy of a host no setting names: HTTPS and
// HTTP/2 on, TLS 1.1 to 1.3, no forced redirect, no HSTS.
func DefaultHostPolicy() HostPolicy {
	return HostPolicy{HTTPS: true, HTTP2: true, MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS13, ForceCode: 301}
}

// SitePolicy is a site's HTTPS settings resolved per host: Hosts holds the
// hosts that rules name, Default every other host.
type SitePolicy struct {
	Default HostPolicy
	Hosts   map[string]HostPolicy
}

// DefaultSitePolicy is the policy of a site without settings.
func DefaultSitePolicy() SitePolicy { return SitePolicy{Default: DefaultHostPolicy()} }

// defaultSitePolicy is held once for every site whose policy is the
// default (most sites, at a million of them 224 MB less).
var defaultSitePolicy = DefaultSitePolicy()

// sharedPolicy returns p to keep in a site's siteConf: the one shared
// default when p is it, else a copy of its own. A siteConf's policy is
// never changed.
func sharedPolicy(p SitePolicy) *SitePolicy {
	if len(p.Hosts) == 0 && sameHostPolicy(&p.Default, &defaultSitePolicy.Default) {
		return &defaultSitePolicy
	}
	return &p
}

// sameHostPolicy reports whether a and b are equal and have no lists (a
// field by field comparison: reflect.DeepEqual cost 1.7 µs a site).
// TestSameHostPolicy fails when HostPolicy gets a field this does not
// compare.
func sameHostPolicy(a, b *HostPolicy) bool {
	return a.CipherSuites == nil && b.CipherSuites == nil && a.SNIAllow == nil && b.SNIAllow == nil &&
		a.HTTPS == b.HTTPS && a.HTTP2 == b.HTTP2 && a.MinVersion == b.MinVersion && a.MaxVersion == b.MaxVersion &&
		a.VersionsOff == b.VersionsOff &&
		a.Force == b.Force && a.ForceCode == b.ForceCode && a.HSTS == b.HSTS && a.OCSP == b.OCSP &&
		a.NoSNIDeny == b.NoSNIDeny && a.HTTP3 == b.HTTP3 && a.AltSvc == b.AltSvc && a.Origin == b.Origin
}

// For returns the policy of host.
func (p *SitePolicy) For(host string) *HostPolicy {
	if hp, ok := p.Hosts[host]; ok {
		return &hp
	}
	return &p.Default
}

// key identifies the TLS settings of a policy, to share one tls.Config
// among the hosts that have the same.
func (hp *HostPolicy) key() string {
	return fmt.Sprint(hp.HTTP2, hp.MinVersion, hp.MaxVersion, hp.VersionsOff, hp.CipherSuites)
}
