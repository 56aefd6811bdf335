package edge

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

// writeCounting is a listener whose connections note each write, so that
// a test can see how the server's bytes were handed to the kernel.
type writeCounting struct {
	net.Listener
	conns chan *countedConn
}

func (l *writeCounting) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	cc := &countedConn{Conn: c, closed: make(chan struct{})}
	l.conns <- cc
	return cc, nil
}

type countedConn struct {
	net.Conn
	mu     sync.Mutex
	writes []int // the length of each write, in order
	once   sync.Once
	closed chan struct{}
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, len(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *countedConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// count is how many writes the connection has had.
func (c *countedConn) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.writes)
}

// TestLastFlight: the answer to a request that closes its connection
// (Connection: close; HTTP/1.0; HEAD too) goes out with the TLS
// close_notify in one write; the visitor reads it whole and then a clean
// end. An answer larger than net/http's buffers (most of it written before
// the handler returns) arrives whole too. Not held: an answer on a
// connection that stays open (read while the connection is still open),
// one to a request with a body (answer and alert in writes of their own),
// and the bytes of a hijacked connection (read while it is still open).
func TestLastFlight(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, c))
	e := &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour}
	serveEdge(t, e)
	big := strings.Repeat("0123456789abcdef", 3*maxLastFlight/16)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			io.WriteString(w, big)
		case "/hijack": // the new protocol goes on after the handler returned
			echoUpgrade(t, w)
		default:
			io.Copy(io.Discard, r.Body)
			io.WriteString(w, "hello\n")
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	counted := &writeCounting{Listener: ln, conns: make(chan *countedConn, 8)}
	serveHTTPSOn(t, e, counted, &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second})

	// dial makes a TLS 1.3 or 1.2 connection and returns it, the server's
	// side, and how many writes the server made in the handshake.
	dial := func(t *testing.T, version uint16) (*tls.Conn, *countedConn, int) {
		t.Helper()
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true,
			NextProtos: []string{"http/1.1"}, MaxVersion: version, SessionTicketsDisabled: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		server := <-counted.conns
		return conn, server, server.count()
	}
	// closed waits for the server to close its side.
	closed := func(t *testing.T, server *countedConn) {
		t.Helper()
		select {
		case <-server.closed:
		case <-time.After(5 * time.Second):
			t.Fatal("the server did not close the connection")
		}
	}

	for _, v := range []struct {
		name    string
		version uint16
	}{{"TLS1.3", tls.VersionTLS13}, {"TLS1.2", tls.VersionTLS12}} {
		t.Run(v.name, func(t *testing.T) {
			for _, req := range []struct {
				name, request, head, tail string
				writes                    int // the server's, after the handshake
			}{
				{"close", "GET / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n", "\r\n\r\nhello\n", 1},
				{"close_http1.0", "GET / HTTP/1.0\r\nHost: www.example.com\r\n\r\n", "HTTP/1.0 200 OK\r\n", "hello\n", 1},
				{"close_head", "HEAD / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n", "HTTP/1.1 200 OK\r\n", "\r\n\r\n", 1},
				// Not held: the answer and the alert in writes of their own.
				{"close_with_body", "POST / HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\nContent-Length: 4\r\n\r\nbody", "HTTP/1.1 200 OK\r\n", "hello\n", 2},
			} {
				t.Run(req.name, func(t *testing.T) {
					conn, server, hs := dial(t, v.version)
					io.WriteString(conn, req.request)
					all, err := io.ReadAll(conn) // to the close_notify: io.EOF, not an unexpected one
					if err != nil || !bytes.HasPrefix(all, []byte(req.head)) || !bytes.HasSuffix(all, []byte(req.tail)) {
						t.Fatalf("answer %q, %v", all, err)
					}
					closed(t, server)
					if n := server.count() - hs; n != req.writes {
						t.Errorf("the answer and the close_notify took %d writes, want %d", n, req.writes)
					}
				})
			}
			t.Run("close_big", func(t *testing.T) {
				conn, server, _ := dial(t, v.version)
				io.WriteString(conn, "GET /big HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatal(err)
				}
				body, err := io.ReadAll(resp.Body)
				if err != nil || string(body) != big {
					t.Fatalf("body of %d bytes (want %d), %v", len(body), len(big), err)
				}
				closed(t, server)
			})
			t.Run("keep_alive", func(t *testing.T) {
				conn, server, _ := dial(t, v.version)
				br := bufio.NewReader(conn)
				for i := range 2 { // the second request on the same connection, after the first's answer
					io.WriteString(conn, "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
					resp, err := http.ReadResponse(br, nil)
					if err != nil {
						t.Fatalf("request %d: %v", i+1, err)
					}
					if body, _ := io.ReadAll(resp.Body); string(body) != "hello\n" {
						t.Fatalf("request %d: body %q", i+1, body)
					}
				}
				select {
				case <-server.closed:
					t.Fatal("the server closed a connection that stays open")
				default:
				}
			})
			t.Run("hijacked", func(t *testing.T) {
				conn, server, _ := dial(t, v.version)
				io.WriteString(conn, "GET /hijack HTTP/1.1\r\nHost: www.example.com\r\nConnection: close\r\n\r\n")
				br := bufio.NewReader(conn)
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusSwitchingProtocols {
					t.Fatalf("answered %d", resp.StatusCode)
				}
				io.WriteString(conn, "ping\n")
				if line, err := br.ReadString('\n'); line != "ping\n" {
					t.Fatalf("echo %q, %v (the hijacked connection's bytes held until the close?)", line, err)
				}
				conn.Close()
				closed(t, server)
			})
		})
	}
}

// TestLastFlightHeldOnClose: what is held when the connection closes
// before crypto/tls ends its writes is sent, not lost.
func TestLastFlightHeldOnClose(t *testing.T) {
	client, server := net.Pipe()
	hc := &hsConn{Conn: server}
	hc.ended.Store(true)
	hc.hold()
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(client); got <- b }()
	if n, err := hc.Write([]byte("held")); n != 4 || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	if err := hc.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		t.Fatal(err)
	}
	select {
	case b := <-got:
		if string(b) != "held" {
			t.Fatalf("the peer read %q, want %q", b, "held")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing read")
	}
}

// TestLastFlightOverflow: a last flight that grows past maxLastFlight is
// sent at once, what was held first, and nothing more is held.
func TestLastFlightOverflow(t *testing.T) {
	client, server := net.Pipe()
	defer client.Close()
	hc := &hsConn{Conn: server}
	hc.ended.Store(true)
	hc.hold()
	first := bytes.Repeat([]byte("a"), maxLastFlight-10)
	second := bytes.Repeat([]byte("b"), 20)
	if n, err := hc.Write(first); n != len(first) || err != nil {
		t.Fatalf("Write: %d, %v", n, err)
	}
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, len(first)+len(second))
		_, err := io.ReadFull(client, b)
		if err != nil {
			t.Error(err)
		}
		got <- b
	}()
	if n, err := hc.Write(second); n != len(second) || err != nil { // net.Pipe: returns once read
		t.Fatalf("Write: %d, %v", n, err)
	}
	if b := <-got; !bytes.Equal(b, append(first, second...)) {
		t.Fatal("the peer read the flight out of order or in part")
	}
	if hc.holding.Load() {
		t.Error("still holding after the flight was sent")
	}
}

// flightConn records the write deadline in force at each write.
type flightConn struct {
	net.Conn // nil: only the methods below are called
	wd       time.Time
	writes   []time.Time
	data     []byte
}

func (c *flightConn) SetWriteDeadline(t time.Time) error { c.wd = t; return nil }
func (c *flightConn) SetDeadline(t time.Time) error      { c.wd = t; return nil }
func (c *flightConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, c.wd)
	c.data = append(c.data, p...)
	return len(p), nil
}

// TestLastFlightDeadline: a held flight is written under the write
// deadline its first bytes were handed over with (the body rate's bound of
// an answer's writes, here a minute), not crypto/tls's 5 s for its alert,
// and without one when they had none; the deadline set last is then in
// force again.
func TestLastFlightDeadline(t *testing.T) {
	for _, tc := range []struct {
		name   string
		answer time.Duration // the answer's write deadline from now; 0: none
		least  time.Duration // the least the held write may have from now; 0: none
	}{
		{"answer_bound", time.Minute, 55 * time.Second},
		{"alert_bound", time.Second, 4 * time.Second}, // an answer's bound shorter than the alert's: the alert's
		{"none", 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := &flightConn{}
			hc := &hsConn{Conn: fc}
			hc.ended.Store(true)
			if tc.answer > 0 {
				hc.SetWriteDeadline(time.Now().Add(tc.answer))
			}
			hc.hold()
			hc.Write([]byte("answer"))
			hc.SetWriteDeadline(time.Time{})                 // net/http, after the answer
			hc.SetWriteDeadline(time.Now().Add(time.Second)) // crypto/tls before its alert (5 s there)
			hc.Write([]byte("alert"))
			if len(fc.writes) != 0 {
				t.Fatalf("%d writes before crypto/tls ended its writes", len(fc.writes))
			}
			end := time.Now()
			hc.SetWriteDeadline(end) // crypto/tls after its alert
			if len(fc.writes) != 1 || string(fc.data) != "answeralert" {
				t.Fatalf("writes %d, data %q; want one write of the flight", len(fc.writes), fc.data)
			}
			switch got := fc.writes[0]; {
			case tc.least == 0 && !got.IsZero():
				t.Errorf("written with a deadline %v from now, want none", time.Until(got))
			case tc.least > 0 && got.Sub(end) < tc.least:
				t.Errorf("written with a deadline %v from now, want at least %v", got.Sub(end), tc.least)
			}
			if !fc.wd.Equal(end) {
				t.Errorf("the deadline in force after is %v, want the one set last", fc.wd)
			}
		})
	}
}
