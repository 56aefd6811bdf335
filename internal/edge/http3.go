package edge

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"github.com/esacert/esacert/internal/httpsconf"
)

// HTTP/3: the edge answers the hosts whose Http3 setting is on over QUIC
// too, on a UDP port beside its HTTPS listener (HTTP3Port). A QUIC
// handshake gets the certificate a TLS handshake would get (GetCertificate:
// the same index, SNI rules and staples), TLS 1.3 only (QUIC has no
// other), and the host's client-certificate requirement. It is refused,
// as for an unknown host, when the host has HTTPS or Http3 off or TLS 1.3
// disabled, when its site is paused (a paused site's TLS is its origin's,
// and QUIC cannot be passed through), and when the site has IPv6 off and
// the packet came over IPv6. Requests then go through HTTPSHandler, as
// over TCP.
//
// Alt-Svc advertises h3 on the HTTPS (and HTTP/3) answers of a host (see
// altSvc): nothing is advertised with AltSvc off, even with Http3 on;
// a client that tries h3 on its own is still answered.

// AltSvc is a host's Alt-Svc settings (the HTTPS application
// configuration's AltSvc, AltSvcClear, AltSvcMa and AltSvcPersist).
type AltSvc struct {
	On      bool   // AltSvc: send the header
	Clear   bool   // AltSvcClear: send "clear", telling clients to forget the alternatives they know
	MaxAge  string // AltSvcMa: seconds a client may remember the alternative; "" means 86400
	Persist bool   // AltSvcPersist: the alternative survives a change of the client's network
}

// altSvcPolicy reads the Alt-Svc settings of effective HTTPS application
// settings.
func altSvcPolicy(a httpsconf.HTTPSApplication) AltSvc {
	return AltSvc{On: a.AltSvc == "on", Clear: a.AltSvcClear == "on", MaxAge: a.AltSvcMa, Persist: a.AltSvcPersist == "on"}
}

// errNoHTTP3 fails a QUIC handshake for a host that is not served over
// HTTP/3 here.
var errNoHTTP3 = errors.New("edge: this host is not served over HTTP/3")

// h3Possible reports whether a host's policy lets it be served over QUIC.
func h3Possible(hp *HostPolicy) bool {
	return hp.HTTPS && hp.HTTP3 && hp.MaxVersion >= tls.VersionTLS13
}

// altSvc returns the Alt-Svc header of an HTTPS answer for a host with
// policy hp, or "" for none: "clear" with AltSvcClear on; h3 on the edge's
// HTTP/3 port when AltSvc is on and the host is served over HTTP/3 (ma
// from AltSvcMa, persist=1 with AltSvcPersist on); nothing otherwise.
func (e *Edge) altSvc(hp *HostPolicy) string {
	a := hp.AltSvc
	switch {
	case !a.On:
		return ""
	case a.Clear:
		return "clear"
	case e.HTTP3Port == "" || !h3Possible(hp):
		return ""
	}
	ma := a.MaxAge
	if ma == "" {
		ma = "86400"
	}
	v := `h3=":` + e.HTTP3Port + `"; ma=` + ma
	if a.Persist {
		v += "; persist=1"
	}
	return v
}

// HTTP3TLSConfig is the TLS configuration of the HTTP/3 (QUIC) listener:
// each handshake gets its host's (quicConfigFor).
func (e *Edge) HTTP3TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, NextProtos: []string{http3.NextProtoH3},
		GetConfigForClient: e.quicConfigFor}
}

// quicConfigFor returns the TLS settings of a QUIC handshake for the host
// a client names, or an error that refuses it (see the top of this file).
func (e *Edge) quicConfigFor(hello *tls.ClientHelloInfo) (*tls.Config, error) {
	host := e.helloHost(hello) // the SNI, or the NoSNIHost (sni.go)
	if host == "" {
		return nil, refuseHTTP3(hello)
	}
	site := e.index.Load().siteOf(host)
	if site == nil || site.settings.Paused || site.settings.IPv6Off && udpOverIPv6(hello.Conn) {
		return nil, refuseHTTP3(hello)
	}
	hp := site.policy().For(host)
	if !h3Possible(hp) {
		return nil, refuseHTTP3(hello)
	}
	k := "h3"                      // no HostPolicy.key starts so
	ha := site.clientAuthFor(host) // mutual TLS (clientauth.go)
	if ha != nil {
		k += "|client-cas:" + ha.key
	}
	var c *tls.Config
	if v, ok := e.configs.Load(k); ok {
		c = v.(*tls.Config)
	} else {
		c = e.base.Clone()
		c.GetConfigForClient = nil
		c.MinVersion, c.MaxVersion, c.CipherSuites = tls.VersionTLS13, tls.VersionTLS13, nil
		c.NextProtos = []string{http3.NextProtoH3}
		if ha != nil {
			e.requireClientCert(c, ha)
		}
		v, _ := e.configs.LoadOrStore(k, c)
		c = v.(*tls.Config)
	}
	if e.Tickets != nil { // resumption, checked as over TCP (resume.go)
		return e.ticketed(c, hello, nil), nil
	}
	return c, nil
}

// udpOverIPv6 reports whether conn (the addresses of a QUIC connection)
// is over IPv6, not IPv4-mapped.
func udpOverIPv6(conn net.Conn) bool {
	if conn == nil {
		return false
	}
	a, ok := conn.RemoteAddr().(*net.UDPAddr)
	if !ok || a == nil {
		return false
	}
	return len(a.IP) == net.IPv6len && a.IP.To4() == nil
}

// HTTP3Server returns the server of the HTTP/3 listener: h (HTTPSHandler,
// wrapped as the node wraps it) over QUIC with HTTP3TLSConfig. Serve it
// on a UDP socket with Serve; 0-RTT stays off (a replayed request could
// act twice on an origin).
func (e *Edge) HTTP3Server(h http.Handler, log *slog.Logger) *http3.Server {
	timeout := e.HandshakeTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &http3.Server{
		Handler:        h,
		TLSConfig:      e.HTTP3TLSConfig(),
		QUICConfig:     &quic.Config{HandshakeIdleTimeout: timeout, MaxIdleTimeout: 2 * time.Minute, Allow0RTT: false},
		MaxHeaderBytes: 64 << 10,
		IdleTimeout:    2 * time.Minute,
		Logger:         log,
	}
}

// closeConn asks that the connection of r be closed after its answer:
// Connection: close over HTTP/1.1 and HTTP/2. Over HTTP/3 that header is
// forbidden (RFC 9114 §4.2: a client rejects the answer), so it is left
// out; the client's next request may come on the same QUIC connection and
// is checked again as this one was.
func closeConn(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor < 3 {
		w.Header().Set("Connection", "close")
	}
}
