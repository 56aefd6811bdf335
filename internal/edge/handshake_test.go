package edge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
	"golang.org/x/net/http2"
)

// handshakes counts what a HandshakeObserver is told, by outcome; over
// QUIC, by "quic/" and the outcome.
type handshakes struct {
	mu   sync.Mutex
	seen map[string]int
}

func (h *handshakes) Handshake(transport, outcome string, took time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]int{}
	}
	if transport == TransportQUIC {
		outcome = "quic/" + outcome
	}
	h.seen[outcome]++
}

// wait returns the count of outcome once it reaches n (the edge tells the
// observer as its side of the handshake ends, which may be after the
// client's), or what it is after ten seconds.
func (h *handshakes) wait(outcome string, n int) int {
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		got := h.seen[outcome]
		h.mu.Unlock()
		if got >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestHandshakeOutcomes: every handshake on the TLS listener is told with
// its outcome: a certificate served; a name no site serves; a client that
// does not trust the certificate (its alert); plain HTTP (answered 400, as
// net/http does); a client that goes away; a paused site's connection
// passed through. Only the served connection reaches the HTTP server, over
// HTTP/2 when the client asks for it.
func TestHandshakeOutcomes(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "www.paused.test")
	leaf, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.outcome.test")
	paused := pausedSite(2, o.httpAddr)
	src := newMemSource()
	src.put(siteState(1, "outcome.test", site.SiteActive, leaf))
	src.put(paused)
	obs := &handshakes{}
	_, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Handshakes: obs, originTLSPort: o.tlsPort})
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)

	t.Run("served", func(t *testing.T) {
		c := edgeClient(addr, &tls.Config{RootCAs: pool})
		c.Transport.(*http.Transport).ForceAttemptHTTP2 = true
		resp, _ := get(t, c, "https://www.outcome.test/")
		if resp.ProtoMajor != 2 {
			t.Errorf("answered over %s, want HTTP/2", resp.Proto)
		}
		h2 := &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
			DialTLS: func(network, _ string, cfg *tls.Config) (net.Conn, error) { return tls.Dial(network, addr, cfg) }}}
		if resp, _ := get(t, h2, "https://www.outcome.test/"); resp.ProtoMajor != 2 {
			t.Errorf("an HTTP/2 client was answered over %s", resp.Proto)
		}
		if got := obs.wait(HandshakeServed, 2); got != 2 {
			t.Errorf("served %d, want 2", got)
		}
	})
	t.Run("unknown_name", func(t *testing.T) {
		for _, name := range []string{"www.nosuch.test", ""} {
			if _, err := handshake(t, addr, name, nil); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
				t.Errorf("%q: %v, want unrecognized name", name, err)
			}
		}
		if got := obs.wait(HandshakeUnknownName, 2); got != 2 {
			t.Errorf("unknown_name %d, want 2", got)
		}
	})
	t.Run("alert", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.outcome.test"}) // the system's roots: not the test CA
		if err == nil {
			conn.Close()
			t.Fatal("a client that does not trust the certificate completed its handshake")
		}
		if got := obs.wait(HandshakeAlert, 1); got != 1 {
			t.Errorf("alert %d, want 1", got)
		}
	})
	t.Run("protocol", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: www.outcome.test\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		status, _ := bufio.NewReader(conn).ReadString('\n')
		if !strings.HasPrefix(status, "HTTP/1.0 400") {
			t.Errorf("plain HTTP to the HTTPS listener answered %q", status)
		}
		if got := obs.wait(HandshakeProtocol, 1); got != 1 {
			t.Errorf("protocol %d, want 1", got)
		}
	})
	t.Run("closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conn.Write([]byte{22, 3, 1}) // the start of a record, then nothing
		conn.Close()
		if got := obs.wait(HandshakeClosed, 1); got != 1 {
			t.Errorf("closed %d, want 1", got)
		}
	})
	t.Run("passthrough", func(t *testing.T) {
		c := edgeClient(addr, &tls.Config{RootCAs: o.pool})
		resp, body := get(t, c, "https://www.paused.test/")
		if resp.StatusCode != 200 || !strings.HasPrefix(body, "origin") {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		c.CloseIdleConnections() // the outcome is told when the passed-through connection ends
		if got := obs.wait(HandshakePassthrough, 1); got != 1 {
			t.Errorf("passthrough %d, want 1", got)
		}
	})
	time.Sleep(200 * time.Millisecond) // a handshake told twice would be told by now
	obs.mu.Lock()
	defer obs.mu.Unlock()
	want := map[string]int{HandshakeServed: 2, HandshakeUnknownName: 2, HandshakeAlert: 1, HandshakeProtocol: 1,
		HandshakeClosed: 1, HandshakePassthrough: 1}
	for outcome, n := range want {
		if obs.seen[outcome] != n {
			t.Errorf("%s told %d times, want %d (each handshake once)", outcome, obs.seen[outcome], n)
		}
	}
	for outcome := range obs.seen {
		found := false
		for _, o := range HandshakeOutcomes {
			found = found || o == outcome
		}
		if !found {
			t.Errorf("outcome %q is not one of HandshakeOutcomes", outcome)
		}
	}
}

// TestServeHTTPSShutdown: a server's Shutdown closes the connections in
// their handshakes at once (net/http's own would wait until they are 5
// seconds old), each told once as closed, and the server's own ConnState
// still runs beside the edge's.
func TestServeHTTPSShutdown(t *testing.T) {
	e, _ := reuseEdge(t)
	events := handshakeEvents(make(chan handshakeEvent, 16))
	e.Handshakes = events
	var mu sync.Mutex
	states := map[http.ConnState]int{}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, s http.ConnState) {
			mu.Lock()
			states[s]++
			mu.Unlock()
		}}
	addr, _ := listenHTTPS(t, e, srv)
	var conns []net.Conn
	for _, first := range [][]byte{nil, {22, 3, 1}} { // nothing sent yet; the start of a hello
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.Write(first)
		conns = append(conns, conn)
	}
	time.Sleep(100 * time.Millisecond) // accepted
	shutdownAtOnce(t, srv, "two connections in their handshakes")
	for i, conn := range conns {
		if closed, err := closedByPeer(conn); !closed {
			t.Errorf("connection %d in its handshake was not closed: %v", i, err)
		}
	}
	for range conns {
		if ev := events.next(t); ev.outcome != HandshakeClosed {
			t.Errorf("a handshake cut by Shutdown told as %q, want %q", ev.outcome, HandshakeClosed)
		}
	}
	select {
	case ev := <-events:
		t.Errorf("one more handshake told: %v", ev)
	case <-time.After(200 * time.Millisecond):
	}
	mu.Lock()
	defer mu.Unlock()
	if states[http.StateNew] != 2 || states[http.StateClosed] != 2 {
		t.Errorf("the server's own ConnState saw %v, want 2 new and 2 closed", states)
	}
}

// TestHandshakeEndedAfterClose: a handshake that succeeds once its
// listener is closed (the server shuts down) fails instead: its connection
// is closed and it is told as closed, not served (over HTTP/2 it would
// have missed the shutdown's GOAWAY and stayed open).
func TestHandshakeEndedAfterClose(t *testing.T) {
	e, _ := reuseEdge(t)
	events := handshakeEvents(make(chan handshakeEvent, 4))
	e.Handshakes = events
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := e.tlsListener(ln)
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := tl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	hc := c.(*tls.Conn).NetConn().(*hsConn)
	tl.Close()
	if hc.handshaking(time.Time{}) { // as net/http lifts its deadline after a handshake
		t.Fatal("a lifted deadline was ignored")
	}
	if ev := events.next(t); ev.outcome != HandshakeClosed {
		t.Errorf("told %q, want %q", ev.outcome, HandshakeClosed)
	}
	if closed, err := closedByPeer(client); !closed {
		t.Errorf("the connection was not closed: %v", err)
	}
}

// TestServeHTTPSClose: closing the server ends ServeHTTPS and the
// connections still in their handshakes, and leaves no goroutine behind.
func TestServeHTTPSClose(t *testing.T) {
	e, _ := reuseEdge(t)
	before := runtime.NumGoroutine()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second}
	addr, served := listenHTTPS(t, e, srv)
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.Write([]byte{22, 3, 1}) // in its handshake: the start of a record
	time.Sleep(50 * time.Millisecond)
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-served:
		if err != http.ErrServerClosed {
			t.Errorf("ServeHTTPS returned %v, want http.ErrServerClosed", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ServeHTTPS did not return after Close")
	}
	if closed, err := closedByPeer(conn); !closed {
		t.Errorf("the connection in its handshake was not closed: %v", err)
	}
	if !waitFor(func() bool { return runtime.NumGoroutine() <= before }) {
		t.Errorf("%d goroutines after Close, %d before", runtime.NumGoroutine(), before)
	}
}

// TestHsConnHello: with tickets on, an hsConn keeps what is read of it
// until GetConfigForClient takes it, and nothing of a "hello" longer than
// maxHello; once taken, nothing more.
func TestHsConnHello(t *testing.T) {
	for _, tt := range []struct {
		name  string
		reads []int // the sizes of the reads before the hello is taken
		want  int   // the bytes kept
	}{
		{"ok/one_read", []int{517}, 517},
		{"ok/split", []int{5, 1500, 300}, 1805},
		{"ok/past_the_first_buffer", []int{2000, 2000, 2000}, 6000},
		{"fail/too_long", []int{maxHello, 1}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			total := 0
			for _, n := range tt.reads {
				total += n
			}
			data := make([]byte, total+100)
			for i := range data {
				data[i] = byte(i)
			}
			hc := &hsConn{Conn: &readerConn{Reader: bytes.NewReader(data)}, keepHello: true}
			for _, n := range tt.reads {
				if _, err := io.ReadFull(hc, make([]byte, n)); err != nil {
					t.Fatal(err)
				}
			}
			got := hc.keptHello()
			if len(got) != tt.want || !bytes.Equal(got, data[:len(got)]) {
				t.Fatalf("kept %d bytes (as read: %v), want %d", len(got), bytes.Equal(got, data[:len(got)]), tt.want)
			}
			if _, err := io.ReadFull(hc, make([]byte, 100)); err != nil {
				t.Fatal(err)
			}
			if got := hc.keptHello(); len(got) != tt.want {
				t.Errorf("kept %d bytes after the hello was taken, want %d", len(got), tt.want)
			}
			hc.dropHello()
			if got := hc.keptHello(); got != nil {
				t.Errorf("kept %d bytes after dropHello", len(got))
			}
		})
	}
}

// handshakeEvents is a HandshakeObserver that passes on each outcome
// and its time.
type handshakeEvents chan handshakeEvent

type handshakeEvent struct {
	outcome string
	took    time.Duration
}

func (h handshakeEvents) Handshake(_, outcome string, took time.Duration) {
	h <- handshakeEvent{outcome, took}
}

// next returns the next handshake told, or fails the test after ten
// seconds.
func (h handshakeEvents) next(t *testing.T) handshakeEvent {
	t.Helper()
	select {
	case ev := <-h:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no handshake was told in ten seconds")
		return handshakeEvent{}
	}
}

// TestHandshakeEnd: net/http's goroutine for a connection does its
// handshake, and the edge still knows when it ends. A handshake that
// succeeds is told at once, as served, before any request (here, none for
// a while), and its own deadline (HandshakeTimeout, shorter than the
// server's ReadHeaderTimeout) is lifted: a request sent after that
// deadline is answered. A handshake that stalls is cut at
// HandshakeTimeout, not at the server's longer timeout, and told as
// closed. A server with no timeout at all is given one (net/http lifts
// its handshake deadline only when it set one), and its handshakes are
// told at their end too.
func TestHandshakeEnd(t *testing.T) {
	f := newFixture(t)
	leaf, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.end.test")
	src := newMemSource()
	src.put(siteState(1, "end.test", site.SiteActive, leaf))
	events := handshakeEvents(make(chan handshakeEvent, 16))
	const timeout = 400 * time.Millisecond
	e, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, Handshakes: events, HandshakeTimeout: timeout})
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)

	for _, tt := range []struct {
		name string
		srv  *http.Server
	}{
		{"read_header_timeout", &http.Server{ReadHeaderTimeout: 10 * time.Second}},
		{"no_timeout", &http.Server{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			noTimeout := tt.srv.ReadHeaderTimeout == 0
			addr, _ := listenHTTPS(t, e, tt.srv)

			conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.end.test", RootCAs: pool, NextProtos: []string{"http/1.1"}})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if ev := events.next(t); ev.outcome != HandshakeServed || ev.took >= timeout {
				t.Fatalf("before any request, told %q after %s, want %q within %s", ev.outcome, ev.took, HandshakeServed, timeout)
			}
			if noTimeout {
				return // given the handshake's timeout, the connection waits no longer for a request
			}
			time.Sleep(2 * timeout)
			io.WriteString(conn, "GET / HTTP/1.1\r\nHost: www.end.test\r\nConnection: close\r\n\r\n")
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("a request sent past the handshake's deadline: %v", err)
			}
			resp.Body.Close()

			// The same over HTTP/2, whose writes come from other goroutines:
			// no deadline of the handshake is left on them.
			h2conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.end.test", RootCAs: pool, NextProtos: []string{"h2"}})
			if err != nil {
				t.Fatal(err)
			}
			defer h2conn.Close()
			if ev := events.next(t); ev.outcome != HandshakeServed || ev.took >= timeout {
				t.Fatalf("HTTP/2, before any request: told %q after %s", ev.outcome, ev.took)
			}
			cc, err := (&http2.Transport{}).NewClientConn(h2conn)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(2 * timeout)
			req, _ := http.NewRequest("GET", "https://www.end.test/", nil)
			h2resp, err := cc.RoundTrip(req)
			if err != nil {
				t.Fatalf("an HTTP/2 request sent past the handshake's deadline: %v", err)
			}
			io.Copy(io.Discard, h2resp.Body)
			h2resp.Body.Close()

			stalled, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer stalled.Close()
			stalled.Write([]byte{22, 3, 1}) // the start of a record, then nothing
			begun := time.Now()
			if closed, err := closedByPeer(stalled); !closed {
				t.Fatalf("a stalled handshake was not closed: %v", err)
			}
			if waited := time.Since(begun); waited > 5*timeout {
				t.Errorf("a stalled handshake was closed after %s, want about %s", waited, timeout)
			}
			if ev := events.next(t); ev.outcome != HandshakeClosed {
				t.Errorf("a stalled handshake told as %q, want %q", ev.outcome, HandshakeClosed)
			}
		})
	}
}

// reuseEdge starts an edge serving www.reuse.test, for the tests of its
// HTTPS serving, and returns it with the pool that trusts its certificate.
func reuseEdge(t *testing.T) (*Edge, *x509.CertPool) {
	t.Helper()
	f := newFixture(t)
	leaf, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.reuse.test")
	src := newMemSource()
	src.put(siteState(1, "reuse.test", site.SiteActive, leaf))
	e, _ := startEdge(t, src, f.sealer)
	pool := x509.NewCertPool()
	pool.AddCert(f.ca.Cert)
	return e, pool
}

// waitFor reports whether cond holds within ten seconds.
func waitFor(cond func() bool) bool {
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}
