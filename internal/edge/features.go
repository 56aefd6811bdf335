package edge

import (
	"net"
	"net/http"
	"net/netip"

	"github.com/esacert/esacert/internal/sitesetting"
)

// A site's feature settings (sitesetting.Settings) change what the edge
// does for it:
//   - Paused: the edge steps out of the site's traffic. HTTPS connections
//     are passed through to the origin undecrypted (passthrough.go); plain
//     HTTP is proxied as it came, without the edge's HTTPS features (no
//     redirect to HTTPS, no HSTS, no header added but CDN-Loop; the
//     forwarding headers a client sends are still taken out, see
//     proxy.serveDirect). A host of a paused site without a proxied record
//     is answered as an unknown host. A paused site whose origin leads back
//     to the edge stops after one hop (passguard.go).
//   - IPv6Off: a client that reached the edge over IPv6 (not an
//     IPv4-mapped address) is answered as for an unknown host: the TLS
//     handshake fails with unrecognized_name, plain HTTP is answered 404.
//     This holds for a paused site too: the edge takes the site's IPv6
//     clients in no way.
//   - RealClientIPHeader: requests proxied to the origin carry the client's
//     IP address in that header, in place of any value the client sent;
//     never when it names a header the proxy manages (clientIPHeader).

// pausedCount is 1 for a paused site, else 0.
func pausedCount(e *siteEntry) int {
	if e.conf.settings.Paused {
		return 1
	}
	return 0
}

// terminates reports whether the edge terminates TLS for the site on
// conn: not when it is paused, nor on IPv6 when IPv6 is off.
func (s *siteConf) terminates(conn net.Conn) bool {
	return !s.settings.Paused && !(s.settings.IPv6Off && overIPv6(conn))
}

// refuses reports whether the site's settings turn r away as if no site
// served its host: IPv6 off and r came over IPv6.
func (s *siteConf) refuses(r *http.Request) bool {
	return s.settings.IPv6Off && requestOverIPv6(r)
}

// overIPv6 reports whether conn is an IPv6 connection: its remote address
// (else its local one) is a TCP address that is IPv6, not IPv4-mapped.
// Connections of other kinds (or nil) are not.
func overIPv6(conn net.Conn) bool {
	if conn == nil {
		return false
	}
	a, ok := conn.RemoteAddr().(*net.TCPAddr)
	if !ok || a == nil {
		if a, ok = conn.LocalAddr().(*net.TCPAddr); !ok || a == nil {
			return false
		}
	}
	return len(a.IP) == net.IPv6len && a.IP.To4() == nil
}

// requestOverIPv6 reports whether r came over IPv6, from its RemoteAddr.
func requestOverIPv6(r *http.Request) bool {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	return err == nil && ap.Addr().Is6() && !ap.Addr().Is4In6()
}

// setClientIP sets the site's client-IP header on a request to the origin
// to the address of the client that made in. A name that is not a valid
// header name is left out: the origin would never be reached with it. So
// is one the proxy manages itself (see clientIPHeader).
func setClientIP(out http.Header, in *http.Request, s *siteConf) {
	name := s.clientIPHeader()
	if !clientIPHeader(name) {
		return
	}
	ip, _, err := net.SplitHostPort(in.RemoteAddr)
	if err != nil {
		out.Del(name) // never forward the client's own
		return
	}
	out.Set(name, ip)
}

// clientIPHeader reports whether the edge may set name as a site's
// client-IP header: a valid header name, and none of those the proxy
// manages itself (CDN-Loop, Via, Host, X-Forwarded-*, hop-by-hop…; see
// sitesetting.ReservedHeader). The API refuses those names, but a name read
// from the database or a snapshot is not checked again: set, CDN-Loop
// would put loop detection out of action.
func clientIPHeader(name string) bool {
	return validHeaderName(name) && !sitesetting.ReservedHeader(name)
}

// validHeaderName reports whether name is an HTTP token (RFC 9110 §5.1).
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '!' || c == '#' || c == '$' || c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' ||
			c == '-' || c == '.' || c == '^' || c == '_' || c == '`' || c == '|' || c == '~':
		default:
			return false
		}
	}
	return true
}
