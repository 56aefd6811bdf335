package edge

import (
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/site"
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

// TestCloseEndsPassthroughDial: closing the TLS listener ends a
// pass-through that is still connecting to its origin (the handshake's
// context is canceled), as it did when the handshakes ran under the
// listener's context, rather than letting it dial on for the dial's
// timeout after the listener is gone.
func TestCloseEndsPassthroughDial(t *testing.T) {
	f := newFixture(t)
	pausedCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.paused.test")
	paused := siteState(1, "paused.test", site.SiteActive, pausedCert)
	paused.Routes = []Route{{Name: "www.paused.test", Origin: "origin.blocked.test"}}
	paused.Settings.Paused = true
	src := newMemSource()
	src.put(paused)
	res := blockingResolver{began: make(chan struct{}, 1), ended: make(chan struct{})}
	e := &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour,
		Origins: &origin.Dialer{Policy: loopbackOrigins.Policy, Resolver: res, Timeout: time.Minute}}
	serveEdge(t, e) // started; its own listener is not used
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := e.TLSListener(ln)
	defer tl.Close()
	go func() {
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "www.paused.test", InsecureSkipVerify: true})
		if err == nil {
			conn.Close()
		}
	}()
	select {
	case <-res.began:
	case <-time.After(20 * time.Second):
		t.Fatal("the pass-through never looked up its origin")
	}
	tl.Close()
	select {
	case <-res.ended:
	case <-time.After(20 * time.Second): // far below the dial's timeout (a minute)
		t.Fatal("closing the listener left the pass-through connecting to its origin")
	}
}
