package edge

import (
	"crypto/tls"
	"net"
	"net/http"
)

// TCP keep-alive probes. Go turns them on for every connection a TCP
// listener accepts (three setsockopt calls and the one that enables them,
// each a system call, on every connection). The edge needs none of that
// on its HTTP servers' connections: every phase of one has its own bound
// (the TLS handshake HandshakeTimeout, a request's headers the server's
// ReadHeaderTimeout, an idle connection its IdleTimeout, a body that stops
// moving the rate's idle bounds, a passed-through connection passIdle), as
// with nginx, whose listeners do not ask for probes either. A node listens
// with ListenConfig, which leaves them off.
//
// A connection handed over to a protocol switch (a WebSocket proxied to its
// origin: net/http's state Hijacked) has no bound left but the peers': an
// idle tunnel whose client vanished (powered off, its NAT entry dropped)
// would hold its origin connection until the origin closes it. So
// KeepTunnelAlive turns the probes on for such a connection (Go's defaults:
// the first after 15 seconds idle, then every 15 seconds, closed after 9
// unanswered).

// ListenConfig is the configuration the edge's TCP listeners are made
// with: no keep-alive probes (see KeepTunnelAlive).
var ListenConfig = net.ListenConfig{KeepAlive: -1}

// KeepTunnelAlive is an http.Server ConnState hook: it turns TCP keep-alive
// probes on for a connection when it is hijacked. ServeHTTPS chains it in;
// use it as the ConnState of the edge's other HTTP servers.
func KeepTunnelAlive(c net.Conn, state http.ConnState) {
	if state != http.StateHijacked {
		return
	}
	if tc := tcpOf(c); tc != nil {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true}) // Go's default timings; a failure leaves the tunnel as it was
	}
}

// tcpOf returns the TCP connection under c (through the edge's own
// wrappers and TLS), or nil when there is none.
func tcpOf(c net.Conn) *net.TCPConn {
	for range 8 { // a bound on the wrappers, which never nest that deep
		switch x := c.(type) {
		case *net.TCPConn:
			return x
		case *tls.Conn:
			c = x.NetConn()
		case *hsConn:
			c = x.Conn
		case *helloConn:
			c = x.Conn
		default:
			return nil
		}
	}
	return nil
}
