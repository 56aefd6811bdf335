package node

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/edge"
)

// listenHTTP3 binds the edge's HTTP/3 (QUIC) socket: on --http3-addr, or
// on the HTTPS listener's address (the same port, over UDP) when it is
// "", or none when it is "off". The port bound is the one Alt-Svc
// advertises.
func (n *Node) listenHTTP3(cfg config.Config, e *edge.Edge) error {
	addr := cfg.HTTP3Addr
	switch addr {
	case "off":
		return nil
	case "":
		addr = n.httpsLn.Addr().String()
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("listen for the edge's http/3 on udp %s: %w", addr, err)
	}
	n.h3Conn = pc
	_, e.HTTP3Port, _ = net.SplitHostPort(pc.LocalAddr().String())
	return nil
}

// serveHTTP3 serves the edge's HTTPS handler over QUIC on the socket
// listenHTTP3 bound, if any, until Shutdown.
func (n *Node) serveHTTP3(e *edge.Edge) {
	if n.h3Conn == nil {
		// Http3=on is then a setting this node cannot act on: its hosts
		// are served over TCP, and no Alt-Svc advertises h3 (edge.altSvc).
		n.log.Info("esacert edge serves no HTTP/3 (--http3-addr off): hosts with Http3 on are served over TCP only, and not advertised over Alt-Svc")
		return
	}
	n.h3 = e.HTTP3Server(n.rate.Handler(e.HTTPSHandler()), n.log.With("component", "http3"))
	srv, pc := n.h3, n.h3Conn
	go func() {
		err := e.ServeHTTP3(srv, pc)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		n.done <- err
	}()
	n.log.Info("esacert edge listening", "protocol", "http3", "addr", "udp "+pc.LocalAddr().String())
}

// stopHTTP3 lets the HTTP/3 requests in flight finish until ctx ends,
// then closes the socket.
func (n *Node) stopHTTP3(ctx context.Context) {
	if n.h3 != nil {
		if err := n.h3.Shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			n.log.Debug("http/3 shutdown", "error", err)
		}
	}
	if n.h3Conn != nil {
		n.h3Conn.Close()
	}
}

// HTTP3Addr is the edge's HTTP/3 (UDP) address; "" without one.
func (n *Node) HTTP3Addr() string {
	if n.h3Conn == nil {
		return ""
	}
	return n.h3Conn.LocalAddr().String()
}
