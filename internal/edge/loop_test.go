package edge

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// forwarder is a TCP forwarder that stands in for a NAT or a port mapping
// in front of the edge (a listener on :8443 reached as 443): it accepts on
// a loopback address of its own and connects each connection on to the
// edge, from an address of its own, so the edge cannot tell the connection
// is its own. It forwards at most limit connections (a loop the edge does
// not stop ends there, so that the test fails rather than hangs) and
// counts every one it accepts: the hops.
type forwarder struct {
	ln    net.Listener
	limit int32
	hops  atomic.Int32

	mu    sync.Mutex
	conns []net.Conn
}

// newForwarder listens on a loopback address of its own; start it with
// forward once the edge's address is known.
func newForwarder(t *testing.T, limit int32) *forwarder {
	t.Helper()
	fw := &forwarder{limit: limit}
	for range 10 {
		ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(250))
		if ln, err := net.Listen("tcp", ip+":0"); err == nil {
			fw.ln = ln
			break
		}
	}
	if fw.ln == nil {
		t.Fatal("no loopback address to listen on")
	}
	t.Cleanup(func() {
		fw.ln.Close()
		fw.mu.Lock()
		defer fw.mu.Unlock()
		for _, c := range fw.conns {
			c.Close()
		}
	})
	return fw
}

// addr is the forwarder's address, and ip and port its parts.
func (fw *forwarder) addr() string { return fw.ln.Addr().String() }
func (fw *forwarder) ip() string   { h, _, _ := net.SplitHostPort(fw.addr()); return h }
func (fw *forwarder) port() string { _, p, _ := net.SplitHostPort(fw.addr()); return p }

// forward forwards every connection it accepts to to.
func (fw *forwarder) forward(to string) {
	go func() {
		for {
			in, err := fw.ln.Accept()
			if err != nil {
				return
			}
			if fw.hops.Add(1) > fw.limit {
				in.Close()
				continue
			}
			out, err := net.Dial("tcp", to)
			if err != nil {
				in.Close()
				continue
			}
			fw.mu.Lock()
			fw.conns = append(fw.conns, in, out)
			fw.mu.Unlock()
			go halfCopy(out, in)
			go halfCopy(in, out)
		}
	}()
}

// halfCopy copies src to dst, then half-closes dst (or closes both when it
// cannot).
func halfCopy(dst, src net.Conn) {
	if _, err := io.Copy(dst, src); err == nil {
		if cw, ok := dst.(interface{ CloseWrite() error }); ok && cw.CloseWrite() == nil {
			return
		}
	}
	dst.Close()
	src.Close()
}

// debugLog returns a logger that writes every level to b.
func debugLog(b *logBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestPassthroughLoopStops: a paused site whose origin is the edge itself,
// reached through a NAT the edge cannot see through (the forwarder), makes
// one hop: the edge passes the client's connection to the origin once, and
// refuses the same ClientHello coming back, so the client's handshake fails
// and nothing loops.
func TestPassthroughLoopStops(t *testing.T) {
	f := newFixture(t)
	fw := newForwarder(t, 5)
	paused := pausedSite(1, fw.ip()+":80")
	var logs logBuffer
	_, addr := serveEdge(t, &Edge{Source: src1(paused), Sealer: f.sealer, Poll: time.Hour, Log: debugLog(&logs),
		originTLSPort: fw.port()})
	fw.forward(addr)

	_, err := tls.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: "www.paused.test", InsecureSkipVerify: true})
	if err == nil {
		t.Fatal("the handshake succeeded: the edge answered itself")
	}
	if n := fw.hops.Load(); n != 1 {
		t.Errorf("%d hops through the NAT, want 1 (the loop was not stopped at the first)", n)
	}
	if !strings.Contains(logs.String(), "passthrough loop refused") {
		t.Errorf("the refusal was not logged:\n%s", logs.String())
	}
}

// TestPassthroughLoopByAddress: a paused site whose origin is the edge's
// own listener (as through a port mapping that keeps the source address:
// the origin policy sees another port) is refused as a loop when the
// edge's own pass-through connection arrives, by its address.
func TestPassthroughLoopByAddress(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	paused := pausedSite(1, "127.0.0.1:80")
	var logs logBuffer
	// The site's cap bounds the loop should the guard fail.
	e, _ := serveEdge(t, &Edge{Source: src1(paused), Sealer: f.sealer, Poll: time.Hour, Log: debugLog(&logs),
		originTLSPort: port, MaxSitePassthroughs: 3})
	addr := serveTLS(t, e, ln)

	_, err = tls.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: "www.paused.test", InsecureSkipVerify: true})
	if err == nil {
		t.Fatal("the handshake succeeded: the edge answered itself")
	}
	got := logs.String()
	if n := strings.Count(got, "passthrough loop refused"); n != 1 || !strings.Contains(got, "by=address") {
		t.Errorf("want one refusal by address, got:\n%s", got)
	}
	if strings.Contains(got, "too many") {
		t.Errorf("the loop ran into the cap, the guard did not stop it:\n%s", got)
	}
}

// TestListenerRefusesOwnPassthrough: a connection accepted from the local
// address of one of the edge's pass-through connections is closed at once,
// and Accept returns the next one.
func TestListenerRefusesOwnPassthrough(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	e, _ := serveEdge(t, &Edge{Source: newMemSource(), Sealer: f.sealer, Poll: time.Hour, Log: debugLog(&logs)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	wl := e.Listener(ln)
	own, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	release := e.passes.dialed(own.LocalAddr())
	defer release()
	other, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	got, err := wl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if got.RemoteAddr().String() != other.LocalAddr().String() {
		t.Errorf("accepted %s, want %s (the other connection)", got.RemoteAddr(), other.LocalAddr())
	}
	own.SetReadDeadline(time.Now().Add(20 * time.Second))
	if _, err := own.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) &&
		!strings.Contains(fmt.Sprint(err), "reset") {
		t.Errorf("the edge's own connection: read %v, want it closed", err)
	}
	if !strings.Contains(logs.String(), "passthrough loop refused") {
		t.Errorf("the refusal was not logged:\n%s", logs.String())
	}
}

// TestPlainLoopStops: plain HTTP for a site whose origin is the edge,
// reached through a NAT the edge cannot see through (the forwarder), makes
// one hop and is answered 508, paused (proxied as it came) or not, and
// whatever the site's client-IP header is named (CDN-Loop, stored before
// it was refused, must not overwrite the loop token).
func TestPlainLoopStops(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name     string
		settings sitesetting.Settings
	}{
		{"ok/paused", sitesetting.Settings{Paused: true}},
		{"ok/paused_header_cdn_loop", sitesetting.Settings{Paused: true, RealClientIPHeader: "CDN-Loop"}},
		{"ok/served", sitesetting.Settings{}},
		{"ok/served_header_cdn_loop", sitesetting.Settings{RealClientIPHeader: "cdn-loop"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fw := newForwarder(t, 5)
			st := siteState(1, "example.test", site.SiteActive)
			st.Routes = []Route{{Name: "www.example.test", Origin: fw.addr()}}
			st.Settings = tt.settings
			e, _ := serveEdge(t, &Edge{Source: src1(st), Sealer: f.sealer, Poll: time.Hour})
			plain := httptest.NewServer(e.HTTPHandler())
			t.Cleanup(plain.Close)
			fw.forward(plain.Listener.Addr().String())
			resp, _ := get(t, edgeClient(plain.Listener.Addr().String(), nil), "http://www.example.test/")
			if resp.StatusCode != http.StatusLoopDetected {
				t.Errorf("got %d, want 508", resp.StatusCode)
			}
			if n := fw.hops.Load(); n != 1 {
				t.Errorf("%d hops through the NAT, want 1", n)
			}
		})
	}
}

// TestClientIPHeaderNeverAProxyHeader: a client-IP header named as one of
// the headers the proxy manages (stored before such names were refused, or
// written to the database by hand) is not set: the proxy's own value
// stays.
func TestClientIPHeaderNeverAProxyHeader(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "www.example.com")
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	for _, tt := range []struct {
		header, want string // want: what the origin sees in header
	}{
		{"X-Forwarded-Host", "www.example.com"},
		{"x-forwarded-proto", "https"},
		{"CDN-Loop", loopToken},
		{"Via", ""},
	} {
		t.Run("ok/"+tt.header, func(t *testing.T) {
			st := siteState(1, "example.com", site.SiteActive, c)
			st.Routes = []Route{{Name: "www.example.com", Origin: o.httpAddr}}
			st.Settings.RealClientIPHeader = tt.header
			_, addr := serveEdge(t, &Edge{Source: src1(st), Sealer: f.sealer, Poll: time.Hour})
			resp, _ := get(t, edgeClient(addr, &tls.Config{InsecureSkipVerify: true}), "https://www.example.com/")
			if resp.StatusCode != 200 {
				t.Fatalf("got %d", resp.StatusCode)
			}
			if got := o.seen().Header.Get(tt.header); got != tt.want {
				t.Errorf("origin saw %s: %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

// TestPassthroughCaps: beyond the site's cap, or the edge's, a paused
// host's handshake fails as an unknown host's would, and is logged; a slot
// is free again once its connection ends.
func TestPassthroughCaps(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "origin.test")
	src := newMemSource()
	for i, name := range []string{"a.test", "b.test", "c.test"} {
		st := siteState(int64(i+1), name, site.SiteActive)
		st.Routes = []Route{{Name: "www." + name, Origin: o.httpAddr}}
		st.Settings.Paused = true
		src.put(st)
	}
	var logs logBuffer
	_, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Log: debugLog(&logs),
		originTLSPort: o.tlsPort, MaxPassthroughs: 2, MaxSitePassthroughs: 1})
	open := func(t *testing.T, host string) (*tls.Conn, error) {
		t.Helper()
		return tls.DialWithDialer(&net.Dialer{Timeout: 20 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: host, InsecureSkipVerify: true})
	}
	unknown := func(t *testing.T, host string) {
		t.Helper()
		conn, err := open(t, host)
		if err == nil {
			conn.Close()
			t.Fatalf("%s: passed through beyond the cap", host)
		}
		if !strings.Contains(err.Error(), "unrecognized name") {
			t.Errorf("%s: %v, want unrecognized_name", host, err)
		}
	}
	a, err := open(t, "www.a.test")
	if err != nil {
		t.Fatal(err)
	}
	if !a.ConnectionState().PeerCertificates[0].Equal(o.leaf) {
		t.Fatal("www.a.test: not the origin's certificate")
	}
	t.Run("fail/site_cap", func(t *testing.T) { unknown(t, "www.a.test") })
	b, err := open(t, "www.b.test")
	if err != nil {
		t.Fatalf("www.b.test, another site: %v", err)
	}
	defer b.Close()
	t.Run("fail/edge_cap", func(t *testing.T) { unknown(t, "www.c.test") })
	if !strings.Contains(logs.String(), "too many") {
		t.Errorf("the refusals were not logged:\n%s", logs.String())
	}
	t.Run("ok/slot_freed", func(t *testing.T) {
		a.Close()
		// The slot is freed when the edge sees the connection end: try
		// until then (the bound only keeps a failure from hanging).
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			conn, err := open(t, "www.a.test")
			if err == nil {
				conn.Close()
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("www.a.test after its connection closed: %v", err)
			}
		}
	})
}

// eofConn is a connection that reads nothing but EOF and writes nowhere.
type eofConn struct{ net.Conn }

func (eofConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (eofConn) Write(p []byte) (int, error)      { return len(p), nil }
func (eofConn) Close() error                     { return nil }
func (eofConn) CloseWrite() error                { return nil }
func (eofConn) SetReadDeadline(time.Time) error  { return nil }
func (eofConn) SetWriteDeadline(time.Time) error { return nil }

// TestCopyBuffersPooled: a pass-through's copy takes its 32 KiB buffer from
// a pool, not a fresh allocation a connection. (The race detector drops a
// quarter of what is put in a pool, hence the bound.)
func TestCopyBuffersPooled(t *testing.T) {
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	allocs := testing.AllocsPerRun(100, func() {
		copyIdle(eofConn{}, eofConn{}, time.Minute, &last)
	})
	if allocs >= 0.5 {
		t.Errorf("%.2f allocations a copy, want the buffer from the pool", allocs)
	}
}

// TestHelloRandom finds the random of a ClientHello in the bytes a client
// sent: in one record, or over many small ones; and nothing in bytes that
// are not a ClientHello.
func TestHelloRandom(t *testing.T) {
	c1, c2 := net.Pipe()
	defer c2.Close()
	go func() {
		tls.Client(c1, &tls.Config{ServerName: "www.example.com"}).Handshake()
		c1.Close()
	}()
	hello := make([]byte, 5)
	if _, err := io.ReadFull(c2, hello); err != nil {
		t.Fatal(err)
	}
	hello = append(hello, make([]byte, int(hello[3])<<8|int(hello[4]))...)
	if _, err := io.ReadFull(c2, hello[5:]); err != nil {
		t.Fatal(err)
	}
	c2.Close()
	want := [32]byte(hello[5+6 : 5+38])
	// The same message in records of 7 bytes each.
	var fragmented []byte
	for msg := hello[5:]; len(msg) > 0; {
		n := min(7, len(msg))
		fragmented = append(fragmented, 22, hello[1], hello[2], 0, byte(n))
		fragmented = append(fragmented, msg[:n]...)
		msg = msg[n:]
	}
	serverHello := append([]byte{}, hello...)
	serverHello[5] = 2
	for _, tt := range []struct {
		name string
		read []byte
		want *[32]byte
	}{
		{"ok/one_record", hello, &want},
		{"ok/with_more_after_it", append(append([]byte{}, hello...), 20, 3, 3, 0, 1, 1), &want},
		{"ok/many_records", fragmented, &want},
		{"fail/cut_short", hello[:40], nil},
		{"fail/not_handshake", append([]byte{23}, hello[1:]...), nil},
		{"fail/not_client_hello", serverHello, nil},
		{"fail/plain_http", []byte("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n"), nil},
		{"fail/empty", nil, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := helloRandom(tt.read)
			if (got == nil) != (tt.want == nil) || got != nil && *got != *tt.want {
				t.Errorf("helloRandom = %x, want %x", got, tt.want)
			}
		})
	}
}
