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
// answer DNS, so its edge steps out of the traffic instead: the HTTPS
// listener reads the ClientHello of each connection, and one that names a
// host of a paused site is not terminated but passed through, as raw bytes,
// to the origin of the host's proxied record on port 443, where the
// origin's own certificate answers. Plain HTTP for such a host is proxied
// as it came (see HTTPHandler).
//
// The listener reads ClientHellos only while some site is paused
// (Index.paused); otherwise it hands each connection on as accepted.

// Bounds of the passthrough; an Edge's zero fields mean these.
const (
	// helloTimeout bounds the wait for a whole ClientHello.
	helloTimeout = 10 * time.Second
	// maxHello bounds the bytes read in search of one. A larger
	// ClientHello is handed to the TLS server, which serves it as it
	// serves every host that is not passed through.
	maxHello = 16 << 10
	// passIdle closes a passed-through connection on which no byte has
	// moved either way for that long (as the HTTP servers' IdleTimeout).
	passIdle = 2 * time.Minute
)

// Listener wraps the HTTPS listener ln (a TCP listener, before TLS) for
// paused sites: a connection whose ClientHello names a host of a paused
// site that has a proxied record is passed through to the origin (see
// above) and never returned; every other connection is returned by Accept,
// to be served with TLSConfig and HTTPSHandler, with the bytes read of it
// handed back first. While no site is paused, connections are returned as
// accepted, unread. Call it after Start. Closing the listener closes ln and
// the connections being passed through.
func (e *Edge) Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, e: e, out: make(chan accepted), done: make(chan struct{}),
		passing: map[net.Conn]struct{}{}}
}

type listener struct {
	net.Listener
	e     *Edge
	start sync.Once
	out   chan accepted
	done  chan struct{}
	shut  sync.Once

	mu      sync.Mutex
	passing map[net.Conn]struct{} // the connections being passed through; nil once closed
}

type accepted struct {
	c   net.Conn
	err error
}

// Accept returns the next connection the TLS server is to serve.
func (l *listener) Accept() (net.Conn, error) {
	l.start.Do(func() { go l.run() })
	select {
	case a := <-l.out:
		return a.c, a.err
	case <-l.done:
		return nil, net.ErrClosed
	}
}

// Close closes the listener and the connections being passed through.
func (l *listener) Close() error {
	err := l.Listener.Close()
	l.shut.Do(func() {
		close(l.done)
		l.mu.Lock()
		for c := range l.passing {
			c.Close()
		}
		l.passing = nil
		l.mu.Unlock()
	})
	return err
}

// run accepts connections: each is handed on at once while no site is
// paused, else read (in a goroutine of its own, so that a slow client
// holds up no other) and passed through or handed on.
func (l *listener) run() {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			select {
			case l.out <- accepted{err: err}: // the server decides: it backs off, or stops
			case <-l.done:
				return
			}
			continue
		}
		if l.e.index.Load().paused == 0 {
			l.deliver(c)
			continue
		}
		go l.classify(c)
	}
}

// deliver hands c to Accept, or closes it when the listener is closed.
func (l *listener) deliver(c net.Conn) {
	select {
	case l.out <- accepted{c: c}:
	case <-l.done:
		c.Close()
	}
}

// classify reads c's ClientHello and passes c through when it names a host
// of a paused site, else hands it on with the bytes read.
func (l *listener) classify(c net.Conn) {
	e := l.e
	timeout := e.helloTimeout
	if timeout <= 0 {
		timeout = helloTimeout
	}
	c.SetReadDeadline(time.Now().Add(timeout))
	read, hello, err := peekHello(c, maxHello)
	if err != nil && !errors.Is(err, errHelloTooLarge) {
		c.Close() // the client went away or took too long: the TLS server would wait no better
		return
	}
	c.SetReadDeadline(time.Time{})
	if hello != nil {
		if rt := e.passRoute(hello, c); rt != nil {
			l.pass(c, read, rt, normalize(hello.ServerName))
			return
		}
	}
	l.deliver(&peekedConn{Conn: c, read: read})
}

// passRoute returns the route to pass a connection through to: that of the
// host hello names when the host's site is paused and serves the client
// (see siteConf.refuses), and the hello is not a CA validating TLS-ALPN-01,
// which the edge answers itself. Otherwise it returns nil, and the TLS
// server serves the connection (for a paused host, as an unknown one).
func (e *Edge) passRoute(hello *tls.ClientHelloInfo, c net.Conn) *route {
	host := normalize(hello.ServerName)
	if host == "" {
		return nil
	}
	if e.ACMETLS != nil && len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == e.ACMETLSProtocol {
		return nil
	}
	rt := e.index.Load().routeFor(host)
	if rt == nil || !rt.site.settings.Paused || rt.site.settings.IPv6Off && overIPv6(c) {
		return nil
	}
	return rt
}

// pass connects to the origin of rt on port 443 through the origin policy,
// sends it the bytes read of c, then copies bytes both ways until both
// sides are done, an error, or passIdle without a byte either way.
func (l *listener) pass(c net.Conn, read []byte, rt *route, host string) {
	defer c.Close()
	if !l.track(c) {
		return
	}
	defer l.untrack(c)
	e := l.e
	originHost, _, err := net.SplitHostPort(rt.origin)
	if err != nil {
		originHost = rt.origin
	}
	port := e.originTLSPort
	if port == "" {
		port = "443"
	}
	up, err := e.origins().DialContext(context.Background(), "tcp", net.JoinHostPort(originHost, port))
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
	defer up.Close()
	if !l.track(up) {
		return
	}
	defer l.untrack(up)
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

// track adds c to the connections being passed through; false means the
// listener is closed.
func (l *listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.passing == nil {
		return false
	}
	l.passing[c] = struct{}{}
	return true
}

func (l *listener) untrack(c net.Conn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.passing != nil {
		delete(l.passing, c)
	}
}

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
	buf := make([]byte, 32<<10)
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

// peekedConn is a connection handed on with the bytes already read of it,
// which its first reads return.
type peekedConn struct {
	net.Conn
	read []byte
}

func (c *peekedConn) Read(p []byte) (int, error) {
	if len(c.read) > 0 {
		n := copy(p, c.read)
		c.read = c.read[n:]
		if len(c.read) == 0 {
			c.read = nil
		}
		return n, nil
	}
	return c.Conn.Read(p)
}

// errHelloTooLarge is peekHello's answer to a ClientHello of more than its
// limit.
var errHelloTooLarge = errors.New("edge: the ClientHello is larger than the passthrough reads")

// errHelloRead stops the handshake that peekHello uses to read a hello.
var errHelloRead = errors.New("edge: ClientHello read")

// helloReader is the connection that peekHello hands to crypto/tls: reads
// come from the client's connection, up to a limit, and are kept; writes
// (an alert) go nowhere.
type helloReader struct {
	net.Conn
	read  []byte
	limit int
	err   error // the first error reading the client's connection
	hello *tls.ClientHelloInfo
}

func (r *helloReader) Read(p []byte) (int, error) {
	room := r.limit - len(r.read)
	if room <= 0 {
		r.err = errHelloTooLarge
		return 0, r.err
	}
	if len(p) > room {
		p = p[:room]
	}
	n, err := r.Conn.Read(p)
	r.read = append(r.read, p[:n]...)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
}

func (r *helloReader) Write(p []byte) (int, error)      { return len(p), nil }
func (r *helloReader) Close() error                     { return nil }
func (r *helloReader) SetDeadline(time.Time) error      { return nil }
func (r *helloReader) SetReadDeadline(time.Time) error  { return nil }
func (r *helloReader) SetWriteDeadline(time.Time) error { return nil }

// helloConfig has crypto/tls parse a ClientHello and stop there, so that
// the edge parses no TLS of its own.
var helloConfig = &tls.Config{GetConfigForClient: func(h *tls.ClientHelloInfo) (*tls.Config, error) {
	h.Conn.(*helloReader).hello = h
	return nil, errHelloRead
}}

// peekHello reads c's ClientHello, up to limit bytes, and returns the bytes
// it read and the hello (nil when they are not one crypto/tls accepts). The
// error is that of reading c, or errHelloTooLarge; it is nil when the bytes
// read are not a ClientHello (the TLS server will say so to the client).
func peekHello(c net.Conn, limit int) ([]byte, *tls.ClientHelloInfo, error) {
	r := &helloReader{Conn: c, limit: limit, read: make([]byte, 0, 2048)}
	tls.Server(r, helloConfig).Handshake()
	if r.hello != nil {
		return r.read, r.hello, nil
	}
	return r.read, nil, r.err
}
