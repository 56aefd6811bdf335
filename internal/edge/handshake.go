package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Outcomes of a TLS handshake on the edge's HTTPS listener (TLSListener)
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
	// TransportTCP: TLS over TCP, on the HTTPS listener (TLSListener).
	TransportTCP = "tcp"
	// TransportQUIC: TLS inside QUIC, on the HTTP/3 listener (ServeHTTP3).
	TransportQUIC = "quic"
)

// HandshakeOutcomes lists every outcome a HandshakeObserver is told.
var HandshakeOutcomes = []string{HandshakeServed, HandshakeUnknownName, HandshakeAlert, HandshakeClosed,
	HandshakeProtocol, HandshakePassthrough}

// HandshakeObserver is told of every TLS handshake on a TLSListener and of
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

// TLSListener wraps the HTTPS listener ln (a TCP listener, before TLS) into
// one whose connections are TLS connections with their handshakes done:
// each accepted connection (through Listener, so that paused sites' are
// passed through) is handshaken by a handshaker goroutine (one that stays
// for the next connection, see handshaker) within
// HandshakeTimeout, Handshakes is told the outcome, and only the
// connections whose handshakes succeed are returned by Accept. Serve it
// with http.Server.Serve, the server's TLSConfig a clone of TLSConfig (so
// that it speaks HTTP/2 where the handshake chose it). Closing it closes the
// connections still in their handshakes. Call it after Start.
func (e *Edge) TLSListener(ln net.Listener) net.Listener {
	l := &tlsListener{inner: e.Listener(ln), e: e, handshaking: map[net.Conn]struct{}{},
		ready: make(chan *tls.Conn), done: make(chan struct{}), failed: make(chan struct{}), work: make(chan net.Conn)}
	go l.accept()
	return l
}

type tlsListener struct {
	inner net.Listener
	e     *Edge
	// handshaking holds the connections in their handshakes (their
	// hsConns), for Close to close; nil once closed. (A set under a mutex,
	// not a context canceled by Close: a handshake under a context that
	// can be canceled registers with it twice, two more locks of the one
	// context all handshakes share and four allocations.)
	mu          sync.Mutex
	handshaking map[net.Conn]struct{}
	ready       chan *tls.Conn // connections whose handshakes succeeded
	done        chan struct{}  // closed by Close
	once        sync.Once
	failed      chan struct{} // closed when the inner listener failed for good; err says why
	err         error
	// work hands an accepted connection to an idle handshaker (unbuffered:
	// a send succeeds only when one waits); idle counts those waiting.
	work chan net.Conn
	idle atomic.Int32
}

// maxIdleHandshakers bounds the handshakers that wait for the next
// connection once theirs is done; a handshaker beyond it ends.
const maxIdleHandshakers = 128

func (l *tlsListener) Addr() net.Addr { return l.inner.Addr() }

// Close stops accepting and closes the connections in their handshakes.
func (l *tlsListener) Close() error {
	err := net.ErrClosed
	l.once.Do(func() {
		close(l.done)
		l.mu.Lock()
		handshaking := l.handshaking
		l.handshaking = nil
		l.mu.Unlock()
		for c := range handshaking {
			c.Close()
		}
		err = l.inner.Close()
	})
	return err
}

// Accept returns the next connection whose handshake succeeded.
func (l *tlsListener) Accept() (net.Conn, error) {
	select {
	case <-l.done:
		return nil, net.ErrClosed
	default:
	}
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-l.failed:
		return nil, l.err
	}
}

// temporary is what net's errors that pass by themselves (such as too
// many open files) say.
type temporary interface{ Temporary() bool }

// accept accepts connections and starts their handshakes until the inner
// listener fails for good; a failure that passes by itself is retried
// after a wait, 5ms doubling up to a second (as http.Server does).
func (l *tlsListener) accept() {
	var wait time.Duration
	for {
		c, err := l.inner.Accept()
		if err != nil {
			select {
			case <-l.done:
				return
			default:
			}
			if te, ok := err.(temporary); ok && te.Temporary() {
				wait = min(max(2*wait, 5*time.Millisecond), time.Second)
				l.e.log().Warn("edge: accept failed; retrying", "error", err, "retry_in", wait.String())
				select {
				case <-time.After(wait):
				case <-l.done:
					return
				}
				continue
			}
			l.err = err
			close(l.failed)
			return
		}
		wait = 0
		select {
		case l.work <- c:
		default:
			go l.handshaker(c)
		}
	}
}

// handshaker does the handshake of c, then those of the connections
// accept hands it, while it is among the first maxIdleHandshakers to wait.
// A goroutine that does handshakes one after the other keeps the stack its
// first handshake grew (crypto/tls's server and GetConfigForClient's
// checks run deep), where one started per connection starts small and has
// its stack copied as it grows, a handshake's CPU time in every twenty.
// (The collector still shrinks the stacks of those that wait long.)
func (l *tlsListener) handshaker(c net.Conn) {
	for {
		l.handshake(c)
		if l.idle.Add(1) > maxIdleHandshakers {
			l.idle.Add(-1)
			return
		}
		select {
		case c = <-l.work:
			l.idle.Add(-1)
		case <-l.done:
			l.idle.Add(-1)
			return
		}
	}
}

// handshake does the handshake of c, reports its outcome, and hands the
// connection on when it succeeded.
func (l *tlsListener) handshake(c net.Conn) {
	start := time.Now()
	hc := &hsConn{Conn: c, keepHello: l.e.Tickets != nil, closed: l.done} // resume.go reads the hello's ticket
	tc := tls.Server(hc, l.e.base)
	timeout := l.e.HandshakeTimeout
	if timeout <= 0 {
		timeout = defaultHandshakeTimeout
	}
	tc.SetDeadline(start.Add(timeout))
	var err error
	if l.track(hc, true) {
		err = tc.Handshake()
		l.track(hc, false)
	} else {
		hc.Close()
		err = net.ErrClosed
	}
	hc.dropHello() // if the handshake ended before GetConfigForClient
	outcome := hc.outcome(err)
	if l.e.Handshakes != nil {
		l.e.Handshakes.Handshake(TransportTCP, outcome, time.Since(start))
	}
	if err != nil {
		answerPlainHTTP(err)
		l.e.log().Debug("edge: TLS handshake failed", "remote", c.RemoteAddr().String(), "outcome", outcome, "error", err)
		tc.Close()
		return
	}
	tc.SetDeadline(time.Time{})
	select {
	case l.ready <- tc:
	case <-l.done:
		tc.Close()
	}
}

// track adds c to the connections in their handshakes, or takes it out;
// adding reports false when the listener is closed.
func (l *tlsListener) track(c net.Conn, add bool) bool {
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

// answerPlainHTTP answers a client that spoke plain HTTP to the HTTPS
// listener with 400 and a line saying so, as http.Server does.
func answerPlainHTTP(err error) {
	var re tls.RecordHeaderError
	if !errors.As(err, &re) || re.Conn == nil {
		return
	}
	switch string(re.RecordHeader[:]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO":
		io.WriteString(re.Conn, "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
	}
}

// hsConn is a connection in its handshake on a TLSListener. GetCertificate
// notes on it that it found no certificate, for the handshake's outcome.
// With tickets on, it keeps the bytes read of it, in a buffer of
// helloBuffers, until GetConfigForClient has looked into them (the
// ClientHello: resume.go reads the ticket it offers) and drops them. The
// handshake's goroutine alone uses it until the handshake ends.
type hsConn struct {
	net.Conn
	noCert    bool    // GetCertificate found no certificate for the hello
	keepHello bool    // keep what is read in hello, until dropHello
	hello     *[]byte // the bytes read so far, while keepHello; from helloBuffers
	// closed is closed with the listener: what the handshake does beyond
	// its connection (a pass-through's dial, passthrough.go) ends then.
	closed <-chan struct{}
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
