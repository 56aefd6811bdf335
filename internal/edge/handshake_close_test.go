package edge

import (
	"crypto/tls"
	"net"
	"runtime"
	"testing"
)

// TestTLSListenerCloseEndsHandshakers: handshakers whose connections
// completed their handshakes but were never accepted (no Accept is called:
// they wait on the ready channel), and those idle, all end when the
// listener is closed, leaving no goroutine behind.
func TestTLSListenerCloseEndsHandshakers(t *testing.T) {
	e, pool := reuseEdge(t)
	before := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := e.TLSListener(ln).(*tlsListener)
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
