package edge

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/origin"
)

// blockingResolver blocks every lookup until its context ends, and says
// when one has begun and when its context ended.
type blockingResolver struct{ began, ended chan struct{} }

func (r blockingResolver) LookupNetIP(ctx context.Context, _, _ string) ([]netip.Addr, error) {
	r.began <- struct{}{}
	<-ctx.Done()
	close(r.ended)
	return nil, ctx.Err()
}

// TestShutdownEndsPassthroughDial: shutting the HTTPS server down (which
// closes its listener) ends a pass-through that is still connecting to its
// origin (the handshake's context is canceled), as it did when the
// handshakes ran under the listener's context, rather than letting it dial
// on for the dial's timeout after the listener is gone.
func TestShutdownEndsPassthroughDial(t *testing.T) {
	f := newFixture(t)
	pausedCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.paused.test")
	paused := pausedSite(1, "origin.blocked.test", pausedCert)
	src := newMemSource()
	src.put(paused)
	res := blockingResolver{began: make(chan struct{}, 1), ended: make(chan struct{})}
	e := &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour,
		Origins: &origin.Dialer{Policy: loopbackOrigins.Policy, Resolver: res, Timeout: time.Minute}}
	serveEdge(t, e) // started; its own listener is not used
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	addr, _ := listenHTTPS(t, e, srv)
	go func() {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.paused.test", InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
		}
	}()
	select {
	case <-res.began:
	case <-time.After(20 * time.Second):
		t.Fatal("the pass-through never looked up its origin")
	}
	go srv.Shutdown(context.Background())
	select {
	case <-res.ended:
	case <-time.After(20 * time.Second): // far below the dial's timeout (a minute)
		t.Fatal("shutting the server down left the pass-through connecting to its origin")
	}
}

// TestShutdownEndsPassthrough: a connection passed through to its origin
// is still in its handshake for the HTTP server, which on its Shutdown
// would close it only after 5 seconds; it ends at once instead, with the
// listener, and Shutdown returns.
func TestShutdownEndsPassthrough(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "www.paused.test")
	paused := pausedSite(1, o.httpAddr)
	src := newMemSource()
	src.put(paused)
	e := &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, originTLSPort: o.tlsPort}
	serveEdge(t, e) // started; its own listener is not used
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	addr, _ := listenHTTPS(t, e, srv)
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.paused.test", RootCAs: o.pool})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if conn.ConnectionState().PeerCertificates[0].Subject.CommonName == "" && len(conn.ConnectionState().PeerCertificates[0].DNSNames) == 0 {
		t.Fatal("no certificate from the origin")
	}
	shutdownAtOnce(t, srv, "a pass-through open")
	if closed, err := closedByPeer(conn); !closed {
		t.Errorf("the pass-through is still open after Shutdown: %v", err)
	}
}
