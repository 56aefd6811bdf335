package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/esacert/esacert/internal/origin"
)

// A paused site (UpdateSitePause) is one ESA steps out of the way of: its
// DNS answers the origin, so visitors reach the origin itself, with no
// acceleration, no security and no TLS termination by ESA. esacert does not
// answer DNS, so its edge steps out of the traffic instead: a TLS
// connection whose ClientHello names a host of a paused site is not
// terminated but passed through, as raw bytes, to the origin of the host's
// proxied record on port 443, where the origin's own certificate answers.
// Plain HTTP for such a host is proxied as it came (see HTTPHandler).
//
// The ClientHello is read and parsed once, by crypto/tls, as for every
// connection: the edge decides in configFor, the TLS server's
// GetConfigForClient. To send the origin the bytes the client sent, the
// HTTPS listener (Edge.Listener) keeps the bytes read of a connection until
// its hello is parsed, in a helloConn; it does so only while some site is
// paused (Index.paused), and hands connections on untouched otherwise.
// Passing through, configFor copies bytes both ways until the connection
// ends, then fails the handshake; the helloConn swallows the alert that
// crypto/tls then sends, and the TLS server closes the connection. An
// origin that leads back to the edge, and the number of pass-throughs at
// once, are bounded as passguard.go says.

// Bounds of the passthrough; an Edge's zero fields mean these.
const (
	// helloTimeout bounds the wait for a whole ClientHello on a
	// helloConn (the TLS server's handshake timeout too, when it is less).
	helloTimeout = 10 * time.Second
	// maxHello bounds the bytes a helloConn keeps. A connection whose
	// ClientHello is larger is served by the TLS server, as every host
	// that is not passed through is (a paused host's then fails as an
	// unknown one's).
	maxHello = 16 << 10
	// passIdle closes a passed-through connection on which no byte has
	// moved either way for that long (as the HTTP servers' IdleTimeout).
	passIdle = 2 * time.Minute
)

// errPassed fails the handshake of a connection passed through to its
// origin, once the passthrough has ended.
var errPassed = errors.New("edge: the connection was passed through to the origin of a paused site")

// Listener wraps the HTTPS listener ln (a TCP listener, before TLS), so
// that the connections for the hosts of paused sites can be passed through
// to their origins. Serve what it accepts with TLSConfig and HTTPSHandler,
// as from ln itself. Call it after Start.
func (e *Edge) Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, e: e}
}

type listener struct {
	net.Listener
	e *Edge
}

// Accept returns the next connection: as accepted while no site is paused,
// else in a helloConn. A connection from the local address of one of the
// edge's own pass-throughs (a loop, see passguard.go) is closed at once, and
// the next one is returned.
func (l *listener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return c, err
		}
		if l.e.passes.own(c.RemoteAddr()) {
			l.e.log().Debug("passthrough loop refused", "remote", c.RemoteAddr().String(), "by", byAddress)
			c.Close()
			continue
		}
		if l.e.index.Load().paused == 0 {
			return c, nil
		}
		timeout := l.e.helloTimeout
		if timeout <= 0 {
			timeout = helloTimeout
		}
		return newHelloConn(c, time.Now().Add(timeout)), nil
	}
}

// newHelloConn returns c in a helloConn, its reads until the hello is
// parsed due by helloBy.
func newHelloConn(c net.Conn, helloBy time.Time) *helloConn {
	c.SetReadDeadline(helloBy)
	// Room for most ClientHellos (Go's and browsers' are 0.5 to 2 kB).
	return &helloConn{Conn: c, helloBy: helloBy, read: make([]byte, 0, 2048)}
}

// helloConn is a connection that keeps the bytes read of it until its
// ClientHello is parsed (up to maxHello), and keeps its reads within the
// hello's deadline until then. Until then it is used by one goroutine, the
// handshake's, except for Close.
type helloConn struct {
	net.Conn
	read      []byte    // the bytes read so far, until the hello is parsed
	over      bool      // more than maxHello bytes were read: not kept
	parsed    bool      // the hello is parsed: nothing more is kept
	helloBy   time.Time // the hello's deadline
	deadline  time.Time // the read deadline the TLS server asked for
	passedOut atomic.Bool
}

func (c *helloConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.parsed && !c.over && n > 0 {
		if len(c.read)+n > maxHello {
			c.over, c.read = true, nil
		} else {
			c.read = append(c.read, p[:n]...)
		}
	}
	return n, err
}

// Write writes p, unless the connection was passed through: then the alert
// crypto/tls sends as the handshake fails goes nowhere.
func (c *helloConn) Write(p []byte) (int, error) {
	if c.passedOut.Load() {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *helloConn) SetDeadline(t time.Time) error {
	if c.parsed {
		return c.Conn.SetDeadline(t)
	}
	c.Conn.SetWriteDeadline(t)
	return c.SetReadDeadline(t)
}

// SetReadDeadline sets the read deadline; until the hello is parsed, no
// later than the hello's.
func (c *helloConn) SetReadDeadline(t time.Time) error {
	if !c.parsed {
		c.deadline = t
		if t.IsZero() || t.After(c.helloBy) {
			t = c.helloBy
		}
	}
	return c.Conn.SetReadDeadline(t)
}

// helloParsed marks the hello parsed: the connection reads as it was told
// to from now on, and keeps nothing more.
func (c *helloConn) helloParsed() {
	c.parsed = true
	c.Conn.SetReadDeadline(c.deadline)
}

// passThrough passes the connection of hello through to the origin of its
// host when the host is a paused site's (see passRoute) and the hello is
// not a CA's TLS-ALPN-01 validation (the edge answers those itself), and
// reports whether it did: then the connection has ended, and the handshake
// must fail. A connection that is the edge's own pass-through come back (a
// loop, see passguard.go) is closed at once, and reported as passed. Beyond
// the caps of pass-throughs at once, it is not passed: the handshake fails
// as for an unknown host. configFor calls it first for every hello.
func (e *Edge) passThrough(hello *tls.ClientHelloInfo, host string) bool {
	hc, ok := helloOf(hello.Conn)
	if !ok {
		return false // accepted while no site was paused
	}
	hc.helloParsed()
	var rt *route
	if host != "" && !e.acmeTLS(hello) {
		rt = e.passRoute(hello, host)
	}
	if rt == nil || hc.over {
		hc.read = nil
		return false
	}
	read := hc.read
	hc.read = nil
	release, refused := e.passes.admit(hc.RemoteAddr(), helloRandom(read), rt.site.id, e.maxPasses(), e.maxSitePasses())
	switch refused {
	case "":
	case byAddress, byHello:
		e.log().Debug("passthrough loop refused", "host", host, "remote", hc.RemoteAddr().String(), "by", refused)
		hc.passedOut.Store(true)
		hc.Conn.Close()
		return true
	default:
		limit := e.maxPasses()
		if refused == capSite {
			limit = e.maxSitePasses()
		}
		if log, count := e.passes.full(); log {
			e.log().Warn("passthrough refused: too many at once", "host", host, "site", rt.site.id, "cap", refused,
				"limit", limit, "refused", count)
		}
		return false
	}
	defer release()
	hc.passedOut.Store(true)
	ctx, cancel := listenerContext(hello)
	defer cancel()
	e.pass(ctx, hc.Conn, read, rt, host)
	return true
}

// listenerContext is the handshake's context, canceled too when the
// listener the connection came from is closed (Close closes the
// connections in their handshakes, a pass-through's among them, but a
// pass-through's dial to its origin does not use the connection).
func listenerContext(hello *tls.ClientHelloInfo) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(hello.Context())
	hs, ok := hello.Conn.(*hsConn)
	if !ok || hs.l == nil {
		return ctx, cancel
	}
	go func() { // a pass-through is rare and long: a goroutine is no cost to it
		select {
		case <-hs.l.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// passRoute returns the route to pass a connection for host through to:
// that of host when its site is paused and takes the client (see
// siteConf.terminates: not an IPv6 client when IPv6 is off). Otherwise it
// returns nil, and the TLS server serves the connection (for a paused
// host, as an unknown one).
func (e *Edge) passRoute(hello *tls.ClientHelloInfo, host string) *route {
	rt := e.index.Load().routeFor(host)
	if rt == nil || !rt.site.settings.Paused || rt.site.settings.IPv6Off && overIPv6(hello.Conn) {
		return nil
	}
	return rt
}

// pass connects to the origin of rt on port 443 through the origin policy
// (within ctx, the handshake's), sends it the bytes read of c, then copies
// bytes both ways until both sides are done, an error, or passIdle without
// a byte either way. It closes c.
func (e *Edge) pass(ctx context.Context, c net.Conn, read []byte, rt *route, host string) {
	defer c.Close()
	originHost, _, err := net.SplitHostPort(rt.origin)
	if err != nil {
		originHost = rt.origin
	}
	port := e.originTLSPort
	if port == "" {
		port = "443"
	}
	up, err := e.origins().DialContext(ctx, "tcp", net.JoinHostPort(originHost, port))
	if err != nil {
		if errors.Is(err, origin.ErrRefused) {
			e.log().Warn("origin not allowed", "host", host, "passthrough", true, "reason", err)
		} else {
			e.log().Warn("origin failed", "host", host, "passthrough", true, "error", err)
		}
		// A fatal internal_error alert, so that the client says why.
		c.SetWriteDeadline(time.Now().Add(time.Second))
		c.Write([]byte{21, 3, 3, 0, 2, 2, 80})
		return
	}
	// Kept until the connection is closed: should it come back to this
	// edge, it is refused (see passguard.go).
	release := e.passes.dialed(up.LocalAddr())
	defer release()
	defer up.Close()
	idle := e.passIdle
	if idle <= 0 {
		idle = passIdle
	}
	up.SetWriteDeadline(time.Now().Add(idle))
	if _, err := up.Write(read); err != nil {
		return
	}
	splice(c, up, idle)
}

// copyBufs holds the buffers of the pass-throughs' copies, two a
// connection.
var copyBufs = sync.Pool{New: func() any { return new([32 << 10]byte) }}

// splice copies a to b and b to a. When one side ends its sending, the
// other is told (a half close) and the copy the other way goes on. The
// connections are idle when no byte has moved either way for idle; then,
// or on an error, both are closed.
func splice(a, b net.Conn, idle time.Duration) {
	var last atomic.Int64 // when a byte last moved, in Unix nanoseconds
	last.Store(time.Now().UnixNano())
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyIdle(b, a, idle, &last)
	}()
	copyIdle(a, b, idle, &last)
	<-done
}

// copyIdle copies src to dst until src ends, then half-closes dst. On an
// error, or when nothing moved either way for idle, it closes both, which
// ends the copy the other way too.
func copyIdle(dst, src net.Conn, idle time.Duration, last *atomic.Int64) {
	bp := copyBufs.Get().(*[32 << 10]byte)
	defer copyBufs.Put(bp)
	buf := bp[:]
	for {
		src.SetReadDeadline(time.Unix(0, last.Load()).Add(idle))
		n, err := src.Read(buf)
		if n > 0 {
			now := time.Now()
			last.Store(now.UnixNano())
			dst.SetWriteDeadline(now.Add(idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if errors.Is(err, io.EOF) {
			if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
				return
			}
			break
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && time.Since(time.Unix(0, last.Load())) < idle {
				continue // the other way moved meanwhile: not idle
			}
			break
		}
	}
	src.Close()
	dst.Close()
}
