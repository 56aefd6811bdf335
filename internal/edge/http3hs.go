package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// The QUIC handshakes of the HTTP/3 listener are told to Handshakes as the
// TLS listener's are (TransportQUIC, the same outcomes but passthrough).
// quic-go does a connection's handshake inside the connection, so it is
// followed from outside: the transport's ConnContext, called at a
// connection's first packet, starts its clock and hangs a quicHandshake on
// the connection's context; GetConfigForClient and GetCertificate mark on
// it a host that is not served (unknown_name); the listener hands the
// connection to the HTTP/3 server before its handshake ends (0.5-RTT), and
// a goroutine waits for the handshake's end (served) or the connection's
// (the context's cause says which other outcome). Whichever comes first is
// told, once.

// quicHandshake is the record of one QUIC connection's handshake.
type quicHandshake struct {
	start  time.Time
	noCert atomic.Bool // no certificate or no HTTP/3 for the name asked for
	told   atomic.Bool // its outcome was told
}

type quicHandshakeKey struct{}

// quicHandshakeOf returns the record on a QUIC connection's context, if any.
func quicHandshakeOf(ctx context.Context) *quicHandshake {
	if ctx == nil {
		return nil
	}
	h, _ := ctx.Value(quicHandshakeKey{}).(*quicHandshake)
	return h
}

// quicNoCertificate notes, for a QUIC handshake, that no certificate
// serves hello.
func quicNoCertificate(hello *tls.ClientHelloInfo) {
	if h := quicHandshakeOf(hello.Context()); h != nil {
		h.noCert.Store(true)
	}
}

// refuseHTTP3 is the error that fails a QUIC handshake for a host not
// served over HTTP/3 here, noted as unknown_name.
func refuseHTTP3(hello *tls.ClientHelloInfo) error {
	quicNoCertificate(hello)
	return errNoHTTP3
}

// tell tells o its outcome unless it was told already.
func (h *quicHandshake) tell(o HandshakeObserver, outcome string) {
	if h.told.CompareAndSwap(false, true) {
		o.Handshake(TransportQUIC, outcome, time.Since(h.start))
	}
}

// outcome classifies why a QUIC connection ended before its handshake
// did (see HandshakeOutcomes).
func (h *quicHandshake) outcome(cause error) string {
	var (
		te *quic.TransportError
		ae *quic.ApplicationError
		it *quic.IdleTimeoutError
		ht *quic.HandshakeTimeoutError
	)
	switch {
	case h.noCert.Load():
		return HandshakeUnknownName
	case errors.As(cause, &te) && te.Remote && te.ErrorCode.IsCryptoError(): // a TLS alert from the client
		return HandshakeAlert
	case errors.As(cause, &te) && te.Remote && te.ErrorCode == quic.NoError,
		errors.As(cause, &ae) && ae.Remote,
		errors.As(cause, &it), errors.As(cause, &ht),
		errors.Is(cause, quic.ErrServerClosed), errors.Is(cause, quic.ErrTransportClosed),
		errors.Is(cause, context.Canceled):
		// (not net.ErrClosed: every quic-go connection error says it is)
		return HandshakeClosed
	}
	return HandshakeProtocol
}

// quicConnContext starts following a new QUIC connection's handshake
// (quic.Transport's ConnContext).
func (e *Edge) quicConnContext(ctx context.Context, _ *quic.ClientInfo) (context.Context, error) {
	o := e.Handshakes
	if o == nil {
		return ctx, nil
	}
	h := &quicHandshake{start: time.Now()}
	ctx = context.WithValue(ctx, quicHandshakeKey{}, h)
	// The context ends with the connection, or with its failed handshake.
	context.AfterFunc(ctx, func() {
		if !h.told.Load() {
			h.tell(o, h.outcome(context.Cause(ctx)))
		}
	})
	return ctx, nil
}

// h3Listener is the QUIC listener of ServeHTTP3: it hands each connection
// on as soon as it can serve (before its handshake ends) and waits in a
// goroutine for the end of its handshake.
type h3Listener struct {
	*quic.EarlyListener
	o HandshakeObserver
}

func (l h3Listener) Accept(ctx context.Context) (*quic.Conn, error) {
	c, err := l.EarlyListener.Accept(ctx)
	if err != nil || l.o == nil {
		return c, err
	}
	if h := quicHandshakeOf(c.Context()); h != nil {
		go func() {
			select {
			case <-c.HandshakeComplete():
				h.tell(l.o, HandshakeServed)
			case <-c.Context().Done(): // told by quicConnContext's AfterFunc
			}
		}()
	}
	return c, nil
}

// ServeHTTP3 serves srv (from HTTP3Server) over QUIC on pc until srv is
// shut down or closed, telling Handshakes of each QUIC handshake. The
// connections accepted live on until srv's Shutdown or Close, and every
// connection until pc is closed (by the caller, after srv's Shutdown).
func (e *Edge) ServeHTTP3(srv *http3.Server, pc net.PacketConn) error {
	tr := &quic.Transport{Conn: pc, ConnContext: e.quicConnContext}
	ln, err := tr.ListenEarly(http3.ConfigureTLSConfig(srv.TLSConfig), srv.QUICConfig)
	if err != nil {
		return err
	}
	defer ln.Close()
	err = srv.ServeListener(h3Listener{EarlyListener: ln, o: e.Handshakes})
	if errors.Is(err, http.ErrServerClosed) {
		return http.ErrServerClosed
	}
	return err
}
