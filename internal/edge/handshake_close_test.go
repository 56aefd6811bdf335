package edge

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// TestTLSListenerCloseEndsHandshakers: handshakers whose connections
// completed their handshakes but were never accepted (no Accept is called:
// they wait on the ready channel), and those idle, all end when the
// listener is closed, leaving no goroutine behind.
func TestTLSListenerCloseEndsHandshakers(t *testing.T) {
	f := newFixture(t)
	leaf, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.reuse.test")
	src := newMemSource()
	src.put(siteState(1, "reuse.test", site.SiteActive, leaf))
	e, _ := startEdge(t, src, f.sealer)
	before := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := e.TLSListener(ln).(*tlsListener)
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)
	var conns []net.Conn
	for range 5 { // never accepted: each handshaker waits on ready
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "www.reuse.test", RootCAs: pool})
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, conn)
	}
	tl.Close()
	for _, c := range conns {
		c.Close()
	}
	if !waitFor(func() bool { return runtime.NumGoroutine() <= before && tl.idle.Load() == 0 }) {
		t.Fatalf("%d goroutines after Close, %d before the listener; %d handshakers wait", runtime.NumGoroutine(), before, tl.idle.Load())
	}
}
