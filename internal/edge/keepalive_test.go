//go:build linux

package edge

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// acceptedConns is a listener that hands over each TCP connection it
// accepts, so that a test can look at the server's side of it.
type acceptedConns struct {
	net.Listener
	conns chan *net.TCPConn
}

func (l *acceptedConns) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		l.conns <- tc
	}
	return c, err
}

// keepAliveOn reads SO_KEEPALIVE of the server's side of a connection.
func keepAliveOn(t *testing.T, c *net.TCPConn) bool {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := raw.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_KEEPALIVE) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v != 0
}

// TestTunnelKeepAlive: the edge's listeners (Listen) accept
// connections without TCP keep-alive probes; a connection switched to
// another protocol (a WebSocket's 101, proxied to the origin) has them
// turned on at once, and one whose request runs long (the origin sends its
// headers, then nothing) once it has run for probeAfter; over HTTPS
// (ServeHTTPS), HTTP/2 included, and over plain HTTP (ProbeLongRequests,
// as a node sets it).
func TestTunnelKeepAlive(t *testing.T) {
	defer probeAfter.Store(probeAfter.Load())
	probeAfter.Store(int64(200 * time.Millisecond))
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	release := make(chan struct{})
	defer close(release)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" { // headers at once, then nothing until the test ends
			w.WriteHeader(http.StatusOK)
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		if r.Header.Get("Upgrade") == "" {
			io.WriteString(w, "plain\n")
			return
		}
		echoUpgrade(t, w)
	}))
	defer origin.Close()
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "www.example.com", Origin: strings.TrimPrefix(origin.URL, "http://")}}
	src := newMemSource()
	src.put(st)
	e, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour})

	listen := func() *acceptedConns {
		ln, err := Listen(context.Background(), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return &acceptedConns{Listener: ln, conns: make(chan *net.TCPConn, 4)}
	}
	httpsLn := listen()
	serveHTTPSOn(t, e, httpsLn, &http.Server{ReadHeaderTimeout: 5 * time.Second})
	httpLn := listen()
	plain := &http.Server{Handler: e.HTTPHandler(), ReadHeaderTimeout: 5 * time.Second, ErrorLog: quietErrorLog()}
	ProbeLongRequests(plain)
	go plain.Serve(httpLn)
	t.Cleanup(func() { plain.Close() })

	for _, tc := range []struct {
		name string
		ln   *acceptedConns
		dial func() (net.Conn, error)
	}{
		{"https", httpsLn, func() (net.Conn, error) {
			return tls.Dial("tcp", httpsLn.Addr().String(), &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		}},
		{"http", httpLn, func() (net.Conn, error) { return net.Dial("tcp", httpLn.Addr().String()) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// send sends request on a new connection and reads the
			// answer's head; it returns the server's side of the
			// connection, the client's, and a reader of the rest.
			send := func(request string) (*net.TCPConn, net.Conn, *http.Response, *bufio.Reader) {
				t.Helper()
				conn, err := tc.dial()
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				server := <-tc.ln.conns
				io.WriteString(conn, request)
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				return server, conn, resp, br
			}

			// A request answered as usual: no probes on its connection.
			server, _, resp, _ := send("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("plain request answered %d", resp.StatusCode)
			}
			if keepAliveOn(t, server) {
				t.Error("a connection of a plain request has TCP keep-alive probes on")
			}

			// The same kind of connection switched to another protocol: probes on.
			server2, conn2, resp2, br2 := send("GET /ws HTTP/1.1\r\nHost: www.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
			if resp2.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade answered %d", resp2.StatusCode)
			}
			io.WriteString(conn2, "ping\n")
			if got, _ := br2.ReadString('\n'); got != "ping\n" {
				t.Errorf("echo %q", got)
			}
			if !keepAliveOn(t, server2) {
				t.Error("a connection switched to another protocol has no TCP keep-alive probes")
			}

			// A request the origin takes its time over: probes on once it
			// has run for probeAfter, not before. Its body never ends: the
			// connection is closed when the test ends.
			server3, _, _, _ := send("GET /slow HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
			if keepAliveOn(t, server3) {
				t.Error("a request's connection has probes before the request ran long")
			}
			waitKeepAlive(t, server3, "a request that ran long")
		})
	}

	// Over HTTP/2, whose streams share the connection.
	t.Run("h2", func(t *testing.T) {
		tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true},
			DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&tls.Dialer{Config: &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true, NextProtos: []string{"h2"}}}).DialContext(ctx, network, httpsLn.Addr().String())
			}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr}).Get("https://www.example.com/slow")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("answered over %s, want HTTP/2", resp.Proto)
		}
		waitKeepAlive(t, <-httpsLn.conns, "an HTTP/2 stream that ran long")
	})
}

// waitKeepAlive fails the test unless the server's side of c has probes on
// within 5 seconds.
func waitKeepAlive(t *testing.T, c *net.TCPConn, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !keepAliveOn(t, c); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no TCP keep-alive probes on its connection", what)
		}
	}
}

// TestTCPOf: the TCP connection is found under the edge's wrappers and TLS,
// and nothing under a connection that has none.
func TestTCPOf(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			time.Sleep(time.Second)
		}
	}()
	c, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tcp := c.(*net.TCPConn)
	wrapped := tls.Server(&hsConn{Conn: &helloConn{Conn: tcp}}, &tls.Config{})
	if got := tcpOf(wrapped); got != tcp {
		t.Errorf("tcpOf(tls over hsConn over helloConn) = %v, want the TCP connection", got)
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := tcpOf(tls.Server(a, &tls.Config{})); got != nil {
		t.Errorf("tcpOf(tls over a pipe) = %v, want nil", got)
	}
}
