package edge

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// TCP keep-alive probes. Go turns them on for every connection a TCP
// listener accepts (three setsockopt calls and the one that enables them,
// each a system call, on every connection). The edge's connections need
// them only when they last: every phase of a short one has its own bound
// (the TLS handshake HandshakeTimeout, a request's headers the server's
// ReadHeaderTimeout, an idle connection its IdleTimeout, a body that stops
// moving the rate's idle bounds, a passed-through connection passIdle), as
// with nginx, whose listeners do not ask for probes either. A node listens
// with Listen, which leaves them off.
//
// What has no bound of its own is a request the origin takes its time over
// (a long poll, an event stream that pauses, a stream of gRPC messages) and
// a connection handed over to a protocol switch (a WebSocket proxied to its
// origin: net/http's state Hijacked): a visitor that vanishes meanwhile
// (powered off, its NAT entry dropped) sends nothing more, and would hold
// its connection and its origin's until the origin ends. So a connection
// gets probes once one of its requests has run for probeAfter, and a
// hijacked one at once (ProbeLongRequests), with Go's default timings: the
// first after 15 seconds idle, then every 15 seconds, closed after 9
// unanswered.

// Listen listens on the TCP address addr as the edge's listeners do: its
// connections accepted without keep-alive probes (see ProbeLongRequests).
func Listen(ctx context.Context, addr string) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(ctx, "tcp", addr)
}

// probeAfter is how long a request runs before its connection gets
// keep-alive probes (a time.Duration; tests shorten it).
var probeAfter atomic.Int64

func init() { probeAfter.Store(int64(15 * time.Second)) }

// connProbe is one connection's part in ProbeLongRequests.
type connProbe struct {
	conn net.Conn
	on   atomic.Bool // probes were turned on
}

// start turns the connection's probes on, once.
func (p *connProbe) start() {
	if p.on.CompareAndSwap(false, true) {
		probe(p.conn)
	}
}

// probe turns TCP keep-alive probes on for the TCP connection under c,
// with Go's default timings; a failure leaves it as it was.
func probe(c net.Conn) {
	if tc := tcpOf(c); tc != nil {
		tc.SetKeepAliveConfig(net.KeepAliveConfig{Enable: true})
	}
}

type probeKey struct{}

// ProbeLongRequests makes srv, which serves connections from a listener
// made with Listen, turn TCP keep-alive probes on for a connection
// once one of its requests has run for 15 seconds, and for a hijacked one
// at once. It chains itself in front of srv's
// ConnContext, Handler and ConnState; call it once, before srv serves.
// ServeHTTPS calls it; a node calls it for the edge's HTTP server.
func ProbeLongRequests(srv *http.Server) {
	ownCtx := srv.ConnContext
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if ownCtx != nil {
			ctx = ownCtx(ctx, c)
		}
		return context.WithValue(ctx, probeKey{}, &connProbe{conn: c})
	}
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, _ := r.Context().Value(probeKey{}).(*connProbe)
		if p == nil || p.on.Load() {
			h.ServeHTTP(w, r)
			return
		}
		t := time.AfterFunc(time.Duration(probeAfter.Load()), p.start)
		defer t.Stop()
		h.ServeHTTP(w, r)
	})
	ownState := srv.ConnState
	srv.ConnState = func(c net.Conn, state http.ConnState) {
		if state == http.StateHijacked {
			probe(c)
		}
		if ownState != nil {
			ownState(c, state)
		}
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
