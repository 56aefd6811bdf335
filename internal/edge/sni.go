package edge

import (
	"crypto/tls"
	"net"
	"strings"

	"github.com/esacert/esacert/internal/httpsconf"
)

// The SNI settings of an HTTPS application configuration (HttpsNoSniDeny,
// HttpsSniVerify, HttpsSniWhitelist), as the edge applies them. They are
// per host, from the rules that match the host, like every HTTPS setting:
//
//   - A client that sends no SNI names no host, so no site's settings can
//     apply to it by name. Unless the edge has a NoSNIHost, such a
//     handshake is refused (unrecognized_name), whatever the settings say.
//     With a NoSNIHost, the handshake is answered as if it had named that
//     host (its certificate, TLS settings and client certificates), unless
//     that host's HttpsNoSniDeny is on: then it is refused.
//   - HttpsSniVerify on with a HttpsSniWhitelist: a handshake may name only
//     a server name listed (exactly, or under a "*." entry one label deep);
//     any other is refused (unrecognized_name) even where a certificate
//     covers it. On with an empty list adds nothing: the edge checks every
//     SNI against the certificates it serves anyway. Off, the list is kept
//     and not applied.
//
// Whatever these say, a request whose Host is not the host its connection
// was made for is answered 421 (see HTTPSHandler).

// allowsSNI reports whether hp's SNI whitelist lets a handshake name host.
func (hp *HostPolicy) allowsSNI(host string) bool {
	if len(hp.SNIAllow) == 0 {
		return true
	}
	for _, n := range hp.SNIAllow {
		if n == host {
			return true
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			if i := strings.IndexByte(host, '.'); i > 0 && host[i+1:] == rest {
				return true
			}
		}
	}
	return false
}

// sniWhitelist reads HttpsSniWhitelist: server names separated by spaces
// (commas are taken as spaces too), normalized as SNIs are.
func sniWhitelist(v string) []string {
	var out []string
	for _, f := range httpsconf.ServerNames(v) {
		if n := normalize(f); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// answers reports whether the site answers a handshake for host on conn:
// HTTPS on for the host, the SNI allowed by the host's whitelist, and TLS
// terminated on conn (see terminates).
func (s *siteConf) answers(host string, conn net.Conn) bool {
	hp := s.policy().For(host)
	return hp.HTTPS && hp.allowsSNI(host) && s.terminates(conn)
}

// noSNIHost returns the host that answers a client sending no SNI:
// NoSNIHost, unless its settings deny handshakes without SNI; "" for none.
func (e *Edge) noSNIHost() string {
	host := normalize(e.NoSNIHost)
	if host == "" {
		return ""
	}
	if site := e.index.Load().siteOf(host); site != nil && site.policy().For(host).NoSNIDeny {
		return ""
	}
	return host
}

// helloHost returns the host a handshake is for: its SNI, normalized, or
// without one the noSNIHost ("" when none answers).
func (e *Edge) helloHost(hello *tls.ClientHelloInfo) string {
	if host := normalize(hello.ServerName); host != "" {
		return host
	}
	return e.noSNIHost()
}

// connHost returns the host a TLS connection was made for, as helloHost
// says now: a connection without SNI made before its host's HttpsNoSniDeny
// was turned on no longer has a host.
func (e *Edge) connHost(cs *tls.ConnectionState) string {
	if host := normalize(cs.ServerName); host != "" {
		return host
	}
	return e.noSNIHost()
}
