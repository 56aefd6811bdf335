package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/esacert/esacert/internal/redact"
)

// Outcomes of a TLS handshake on the edge's HTTPS listener (ServeHTTPS)
// or of a QUIC handshake on its HTTP/3 listener (ServeHTTP3), as a
// HandshakeObserver is told them.
const (
	// HandshakeServed: a certificate was served and the handshake completed.
	HandshakeServed = "served"
	// HandshakeUnknownName: no certificate serves the name the client asked
	// for (or it asked for none); the client got unrecognized_name.
	HandshakeUnknownName = "unknown_name"
	// HandshakeAlert: the client ended the handshake with an alert, such as
	// one saying that it does not trust the certificate served.
	HandshakeAlert = "alert"
	// HandshakeClosed: the client went away, or was too slow, before the
	// handshake ended.
	HandshakeClosed = "closed"
	// HandshakeProtocol: anything else: not TLS at all (plain HTTP to the
	// HTTPS port), TLS that the host's settings refuse (its versions or
	// cipher suites), a client certificate missing or refused on a host
	// that asks for one (see clientauth.go), or a malformed message.
	HandshakeProtocol = "protocol"
	// HandshakePassthrough: a paused site's connection, passed through to
	// its origin undecrypted (see passthrough.go). Never over QUIC.
	HandshakePassthrough = "passthrough"
)

// Transports a handshake is told with.
const (
	// TransportTCP: TLS over TCP, on the HTTPS listener (ServeHTTPS).
	TransportTCP = "tcp"
	// TransportQUIC: TLS inside QUIC, on the HTTP/3 listener (ServeHTTP3).
	TransportQUIC = "quic"
)

// HandshakeOutcomes lists every outcome a HandshakeObserver is told.
var HandshakeOutcomes = []string{HandshakeServed, HandshakeUnknownName, HandshakeAlert, HandshakeClosed,
	HandshakeProtocol, HandshakePassthrough}

// HandshakeObserver is told of every TLS handshake of ServeHTTPS and of
// every QUIC handshake of ServeHTTP3 (for the metrics). Handshake must
// return quickly and be safe for concurrent use.
type HandshakeObserver interface {
	// Handshake reports one handshake's transport (TransportTCP or
	// TransportQUIC), its outcome (one of HandshakeOutcomes) and the time
	// from the connection's accept (over QUIC, its first packet) to the
	// handshake's end; for a connection passed through, to the end of the
	// connection.
	Handshake(transport, outcome string, took time.Duration)
}

// defaultHandshakeTimeout bounds a handshake when the Edge's
// HandshakeTimeout is 0 (as the HTTP servers' ReadHeaderTimeout did when
// they did the handshakes).
const defaultHandshakeTimeout = 10 * time.Second

// ServeHTTPS serves srv on the HTTPS listener ln (a TCP listener, before
// TLS) until srv is closed or shut down, and returns what srv.Serve
// returns. Its connections come through Listener, so that paused sites'
// are passed through. Each is a TLS connection whose handshake is done by
// net/http's goroutine for the connection, first thing, as for any TLS
// server of net/http's: no other goroutine stands between the accept and
// the connection's own, so a connection costs one goroutine and no
// hand-over. The handshake is bounded by HandshakeTimeout from the
// connection's accept, and Handshakes is told its outcome (see
// hsConn.handshakeEnded). ServeHTTPS chains its own ConnState in front of
// srv's and ProbeLongRequests's hooks (keepalive.go), gives srv a clone of
// TLSConfig when it has none (so that it speaks HTTP/2 where the handshake
// chose it), and a ReadHeaderTimeout of HandshakeTimeout when it has no
// timeout at all (see hsConn.handshaking). Call it after Start, once per
// srv.
func (e *Edge) ServeHTTPS(srv *http.Server, ln net.Listener) error {
	if srv.TLSConfig == nil {
		srv.TLSConfig = e.TLSConfig().Clone()
	}
	if srv.ReadHeaderTimeout <= 0 && srv.ReadTimeout <= 0 && srv.WriteTimeout <= 0 {
		srv.ReadHeaderTimeout = e.handshakeTimeout()
	}
	h := srv.Handler
	if h == nil {
		h = http.DefaultServeMux
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// As net/http read it, before a handler changes r.
		closing := r.Close && r.ProtoMajor == 1 && r.Body == http.NoBody
		h.ServeHTTP(w, r)
		if closing {
			// The connection, from ProbeLongRequests's record of it
			// (chained in next): no context value of its own a connection.
			p, _ := r.Context().Value(probeKey{}).(*connProbe)
			holdLast(p) // lastflight.go
		}
	})
	ProbeLongRequests(srv) // keepalive.go
	own := srv.ConnState
	srv.ConnState = func(c net.Conn, state http.ConnState) {
		connState(c, state)
		if own != nil {
			own(c, state)
		}
	}
	return srv.Serve(e.tlsListener(ln))
}

// handshakeTimeout is HandshakeTimeout, or its default.
func (e *Edge) handshakeTimeout() time.Duration {
	if e.HandshakeTimeout > 0 {
		return e.HandshakeTimeout
	}
	return defaultHandshakeTimeout
}

// tlsListener returns ln's connections (through Listener) as TLS
// connections whose handshakes are yet to be done, each over an hsConn.
func (e *Edge) tlsListener(ln net.Listener) *tlsListener {
	return &tlsListener{inner: e.Listener(ln), e: e, done: make(chan struct{}), handshaking: map[*hsConn]struct{}{}}
}

type tlsListener struct {
	inner net.Listener
	e     *Edge
	done  chan struct{} // closed by Close
	once  sync.Once
	// handshaking holds the connections whose handshakes have not ended,
	// for Close to close; nil once closed. (A set under a mutex: two
	// uncontended locks a connection. net/http's Shutdown would close a
	// connection in its handshake only once it is 5 seconds old, and one
	// whose handshake ends after it began, over HTTP/2, not before its idle
	// timeout, as it missed the shutdown's GOAWAY.)
	mu          sync.Mutex
	handshaking map[*hsConn]struct{}
}

func (l *tlsListener) Addr() net.Addr { return l.inner.Addr() }

// Close stops accepting and closes the connections in their handshakes
// (pass-throughs included, whose dials end too: passthrough.go). A
// handshake that ends after Close fails, and its connection is closed (see
// handshakeEnded). The HTTP server's Close and Shutdown close its
// listener.
func (l *tlsListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		close(l.done)
		l.mu.Lock()
		handshaking := l.handshaking
		l.handshaking = nil
		l.mu.Unlock()
		for c := range handshaking {
			c.Conn.Close()
		}
		err = l.inner.Close()
	})
	return err
}

// track adds c to the connections in their handshakes, or takes it out;
// it reports false when the listener is closed.
func (l *tlsListener) track(c *hsConn, add bool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.handshaking == nil {
		return false
	}
	if add {
		l.handshaking[c] = struct{}{}
	} else {
		delete(l.handshaking, c)
	}
	return true
}

// temporary is what net's errors that pass by themselves (such as too
// many open files) say.
type temporary interface{ Temporary() bool }

// Accept returns the next connection, a TLS connection whose handshake its
// caller does (net/http does it first thing), due HandshakeTimeout from
// now.
func (l *tlsListener) Accept() (net.Conn, error) {
	c, err := l.inner.Accept()
	if err != nil {
		// net/http retries these, and logs them to its ErrorLog (which
		// the node's HTTPS server writes at debug): they are the
		// operator's to see.
		if te, ok := err.(temporary); ok && te.Temporary() {
			l.e.log().Warn("edge: accept failed; retrying", "error", err)
		}
		return nil, err
	}
	start := time.Now()
	c.SetDeadline(start.Add(l.e.handshakeTimeout()))
	hc := &hsConn{Conn: c, l: l, start: start, keepHello: l.e.Tickets != nil} // resume.go reads the hello's ticket
	if !l.track(hc, true) {
		c.Close()
		return nil, net.ErrClosed
	}
	return tls.Server(hc, l.e.base), nil
}

// hsConnOf returns the hsConn under a TLS connection of ServeHTTPS's, or
// nil.
func hsConnOf(c net.Conn) *hsConn {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	hc, _ := tc.NetConn().(*hsConn)
	return hc
}

// maxLoggedError bounds what is logged of a failed handshake's error,
// which may quote what the client sent (its list of application
// protocols, of any length).
const maxLoggedError = 512

// connState is the ConnState that ServeHTTPS chains in. When a connection
// leaves the state new and its handshake's end was not reported yet (see
// hsConn.handshaking), it reports it: a connection now active or idle had
// its handshake succeed; a closed one (or hijacked) has the handshake's
// result kept by its TLS connection. net/http calls it on the
// connection's goroutine, past the handshake.
func connState(c net.Conn, state http.ConnState) {
	if state == http.StateNew {
		return
	}
	hc := hsConnOf(c)
	if hc == nil {
		return
	}
	if state == http.StateHijacked {
		hc.hijacked() // lastflight.go
	}
	if hc.ended.Load() {
		return
	}
	var err error
	if state == http.StateClosed || state == http.StateHijacked {
		err = c.(*tls.Conn).Handshake() // the handshake has ended: its result, kept
	}
	hc.handshakeEnded(err)
}

// handshakeEnded reports the end of the handshake, once: Handshakes is told
// its outcome and time, a failure is logged, and a success lifts the
// handshake's deadline. A handshake that succeeds after its listener was
// closed (the server shuts down) fails instead: its connection is closed.
func (c *hsConn) handshakeEnded(err error) {
	if !c.ended.CompareAndSwap(false, true) {
		return
	}
	if !c.l.track(c, false) && err == nil {
		c.Conn.Close()
		err = net.ErrClosed
	}
	c.dropHello() // if the handshake ended before GetConfigForClient
	e := c.l.e
	outcome := c.outcome(err)
	if e.Handshakes != nil {
		e.Handshakes.Handshake(TransportTCP, outcome, time.Since(c.start))
	}
	if err != nil {
		if log := e.log(); log.Enabled(context.Background(), slog.LevelDebug) { // a client's doing
			log.Debug("edge: TLS handshake failed", "remote", c.RemoteAddr().String(), "outcome", outcome,
				"error", redact.Clean(err.Error(), maxLoggedError))
		}
		return
	}
	c.Conn.SetDeadline(time.Time{})
}

// SetDeadline, SetReadDeadline and SetWriteDeadline keep the handshake's
// own deadline while it runs (see handshaking).
func (c *hsConn) SetDeadline(t time.Time) error {
	if c.handshaking(t) {
		return nil
	}
	if c.holding.Load() && endsWrites(t) {
		c.sendLast() // lastflight.go
	}
	c.writeDeadline.Store(unixNano(t))
	return c.Conn.SetDeadline(t)
}

func (c *hsConn) SetReadDeadline(t time.Time) error {
	if c.handshaking(t) {
		return nil
	}
	return c.Conn.SetReadDeadline(t)
}

func (c *hsConn) SetWriteDeadline(t time.Time) error {
	if c.handshaking(t) {
		return nil
	}
	if c.holding.Load() && endsWrites(t) {
		c.sendLast() // lastflight.go
	}
	c.writeDeadline.Store(unixNano(t))
	return c.Conn.SetWriteDeadline(t)
}

// Write writes p, or holds it as part of the connection's last flight
// (lastflight.go).
func (c *hsConn) Write(p []byte) (int, error) {
	if c.holding.Load() {
		return c.holdWrite(p)
	}
	return c.Conn.Write(p)
}

// Close sends what is held of the last flight, if anything still is, and
// closes the connection.
func (c *hsConn) Close() error {
	if c.holding.Load() {
		c.sendLast()
	}
	return c.Conn.Close()
}

// handshaking reports whether a deadline t, set now, is to be ignored: it
// is one set in the handshake, which keeps its own. net/http sets one
// before it starts a handshake (its server's least timeout), and lifts it
// (a zero deadline) right after the handshake succeeded, on the
// connection's goroutine. crypto/tls sets none in a handshake. So the
// first deadline lifted in the handshake is its end, and handshaking
// reports it, as served, at the very time it ends. (A server with no
// timeout sets no deadline; ServeHTTPS gives it one. Should net/http stop
// lifting its deadline so, the handshake would be reported by connState,
// at its first request, and its deadline lifted then, or at its first
// deadline lifted.) A handshake that fails is reported at its connection's
// close, by connState.
func (c *hsConn) handshaking(t time.Time) bool {
	if c.ended.Load() {
		return false
	}
	if !t.IsZero() {
		return true
	}
	c.handshakeEnded(nil)
	return false
}

// hsConn is a connection of ServeHTTPS, under its TLS connection: it
// reports the end of the handshake (handshakeEnded). GetCertificate notes
// on it that it found no certificate, for the handshake's outcome.
// With tickets on, it keeps the bytes read of it, in a buffer of
// helloBuffers, until GetConfigForClient has looked into them (the
// ClientHello: resume.go reads the ticket it offers) and drops them. The
// handshake's goroutine alone uses it until the handshake ends.
type hsConn struct {
	net.Conn
	l         *tlsListener
	start     time.Time   // its accept
	ended     atomic.Bool // its handshake's end was reported
	noCert    bool        // GetCertificate found no certificate for the hello
	keepHello bool        // keep what is read in hello, until dropHello
	hello     *[]byte     // the bytes read so far, while keepHello; from helloBuffers
	holding   atomic.Bool // its writes are held as its last flight (lastflight.go)
	last      lastFlight
	// writeDeadline is the write deadline last set past the handshake,
	// in Unix nanoseconds (0: none), for a last flight's write.
	writeDeadline atomic.Int64
}

// helloBuffers hold the ClientHellos that hsConns keep, for the time of
// their GetConfigForClient: a buffer is given back when its hello was
// looked into, or at the handshake's end.
var helloBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func (c *hsConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if c.keepHello && n > 0 {
		if c.hello == nil {
			c.hello = helloBuffers.Get().(*[]byte)
		}
		if len(*c.hello)+n > maxHello { // not a hello to look into
			c.dropHello()
		} else {
			*c.hello = append(*c.hello, p[:n]...)
		}
	}
	return n, err
}

// keptHello returns the bytes read so far, if they were kept, and keeps
// no more. They are valid until dropHello.
func (c *hsConn) keptHello() []byte {
	c.keepHello = false
	if c.hello == nil {
		return nil
	}
	return *c.hello
}

// dropHello gives the kept bytes back, and keeps no more.
func (c *hsConn) dropHello() {
	c.keepHello = false
	if c.hello != nil {
		*c.hello = (*c.hello)[:0]
		helloBuffers.Put(c.hello)
		c.hello = nil
	}
}

// noCertificate is what GetCertificate answers when no certificate serves
// hello: none, which fails the handshake with unrecognized_name.
func noCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hc, ok := hello.Conn.(*hsConn); ok {
		hc.noCert = true
	} else {
		quicNoCertificate(hello) // over QUIC (http3hs.go)
	}
	return nil, nil
}

// outcome classifies the handshake's error (see HandshakeOutcomes).
func (c *hsConn) outcome(err error) string {
	switch {
	case err == nil:
		return HandshakeServed
	case errors.Is(err, errPassed):
		return HandshakePassthrough
	case c.noCert:
		return HandshakeUnknownName
	case remoteAlert(err):
		return HandshakeAlert
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return HandshakeClosed
	}
	return HandshakeProtocol
}

// remoteAlert reports whether err is how crypto/tls reports an alert it
// received. (A function of its own, so that a handshake that succeeds does
// not allocate its error's target.)
func remoteAlert(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && oe.Op == "remote error"
}

// helloOf returns the helloConn under a handshake's connection, if any.
func helloOf(c net.Conn) (*helloConn, bool) {
	if hc, ok := c.(*hsConn); ok {
		c = hc.Conn
	}
	hc, ok := c.(*helloConn)
	return hc, ok
}
