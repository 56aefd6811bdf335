package bodyrate

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

var protos = []string{"http/1.1", "h2"}

// TestSlowReaderIsCut: a client that reads nothing of a long answer is cut
// when a write has waited the idle bound: the handler's write fails (it can
// let go of what it was serving), and the client's answer ends in an
// error, over HTTP/1.1 and HTTP/2.
func TestSlowReaderIsCut(t *testing.T) {
	const idle = time.Second
	for _, proto := range protos {
		t.Run(proto, func(t *testing.T) {
			cut := make(chan error, 1)
			srv, c := serve(t, proto, Rate{WriteIdle: idle}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				chunk := make([]byte, 32<<10)
				for {
					if _, err := w.Write(chunk); err != nil {
						cut <- err
						return
					}
				}
			}))
			c.Timeout = 0 // the client's own timeout would end the answer too
			start := time.Now()
			resp, err := c.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			select { // the client reads nothing meanwhile
			case err := <-cut:
				if took := time.Since(start); took < idle {
					t.Errorf("the answer was cut after %v, before the idle bound (%v): %v", took, idle, err)
				}
			case <-time.After(idle + 15*time.Second):
				t.Fatalf("a client that read nothing for %v was not cut", idle+15*time.Second)
			}
			done := make(chan error, 1)
			go func() {
				_, err := io.Copy(io.Discard, resp.Body)
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Error("the cut answer ended cleanly for the client")
				}
			case <-time.After(20 * time.Second):
				t.Error("the cut answer did not end for the client")
			}
		})
	}
}

// TestLongAnswerIsNotCut: the idle bound is of each write, not of the
// answer: after a body that took longer than the bound (while keeping the
// rate), a handler that waits longer than the bound before its answer,
// between two writes of it, and after its last write (net/http flushes the
// rest when it returns) is not cut, over HTTP/1.1 and HTTP/2 (where the
// deadline is a timer on the stream, which must not run between writes).
func TestLongAnswerIsNotCut(t *testing.T) {
	const idle = time.Second
	for _, proto := range protos {
		t.Run(proto, func(t *testing.T) {
			t.Parallel()
			srv, c := serve(t, proto, Rate{Grace: 2 * time.Second, PerSecond: 1024, WriteIdle: idle},
				http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					n, err := io.Copy(io.Discard, r.Body)
					if err != nil {
						w.WriteHeader(http.StatusRequestTimeout)
						return
					}
					time.Sleep(idle + 500*time.Millisecond)
					fmt.Fprintf(w, "%d,", n)
					http.NewResponseController(w).Flush()
					time.Sleep(idle + 500*time.Millisecond)
					fmt.Fprint(w, "done")
					time.Sleep(idle + 500*time.Millisecond)
				}))
			pr, pw := io.Pipe()
			go func() { // 10 KiB over 2.5 s: 4 KiB/s, longer than the bound
				for range 10 {
					if _, err := pw.Write(make([]byte, 1<<10)); err != nil {
						return
					}
					time.Sleep(250 * time.Millisecond)
				}
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", srv.URL, pr)
			req.ContentLength = 10 << 10
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != "10240,done" {
				t.Fatalf("answer %d %q, error %v; want 200 \"10240,done\"", resp.StatusCode, body, err)
			}
		})
	}
}

// TestKeepAliveAcrossTheBound: two requests on one connection, the second
// sent after more than the idle bound and answered after more than the
// bound again: a deadline left from the first answer does not cut the
// second, over HTTP/1.1 and HTTP/2.
func TestKeepAliveAcrossTheBound(t *testing.T) {
	const idle = time.Second
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/wait" {
			time.Sleep(idle + 500*time.Millisecond)
		}
		fmt.Fprint(w, r.URL.Path)
	})
	t.Run("http/1.1", func(t *testing.T) {
		t.Parallel()
		srv, _ := serve(t, "http/1.1", Rate{WriteIdle: idle}, h)
		conn, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		for i, path := range []string{"/", "/wait"} {
			if i > 0 {
				time.Sleep(idle + 500*time.Millisecond)
			}
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: example.test\r\n\r\n", path)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d on the connection: %v", i, err)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || string(b) != path {
				t.Fatalf("request %d: %d %q, error %v", i, resp.StatusCode, b, err)
			}
		}
	})
	t.Run("h2", func(t *testing.T) {
		t.Parallel()
		srv, c := serve(t, "h2", Rate{WriteIdle: idle}, h)
		for i, path := range []string{"/", "/wait"} {
			if i > 0 {
				time.Sleep(idle + 500*time.Millisecond)
			}
			reused := false
			req, _ := http.NewRequest("GET", srv.URL+path, nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
			}))
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(b) != path || resp.ProtoMajor != 2 {
				t.Fatalf("request %d: %s %d %q, error %v", i, resp.Proto, resp.StatusCode, b, err)
			}
			if i > 0 && !reused {
				t.Error("the second request did not reuse the connection: the test proves nothing")
			}
		}
	})
}

// echo is an upgraded connection's other end: it sends back every line.
func echo(rw io.ReadWriter, flush func() error) {
	br := bufio.NewReader(rw)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		io.WriteString(rw, line)
		if flush != nil {
			flush()
		}
	}
}

// upgrader is an origin that switches to the echo protocol: it reads the
// request's body, takes the connection, answers 101 and echoes lines.
var upgrader = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	brw.Flush()
	echo(brw, brw.Flush)
})

// TestUpgradeStaysOpen: a connection upgraded behind the wrapper (101
// Switching Protocols, the connection hijacked) stays open across more
// than the grace, the linger and the write idle bound of silence, and
// echoes on both sides of it: through httputil.ReverseProxy (which holds
// the handler until the tunnel ends), with a request body and without,
// and with a handler that hands the connection to another goroutine and
// returns while its declared body is unread (no linger may then be set on
// the connection it gave away; the grace is long there, as a linger is only
// set when it is sooner than the body's deadline).
func TestUpgradeStaysOpen(t *testing.T) {
	const grace, idle = 500 * time.Millisecond, 500 * time.Millisecond
	rt := Rate{Grace: grace, PerSecond: 1024, WriteIdle: idle}
	long := Rate{Grace: time.Minute, PerSecond: 1024, WriteIdle: idle}
	origin := httptest.NewServer(upgrader)
	t.Cleanup(origin.Close)
	u, _ := url.Parse(origin.URL)
	proxy := httputil.NewSingleHostReverseProxy(u)
	handoff := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
		brw.Flush()
		go func() {
			defer conn.Close()
			echo(brw, brw.Flush)
		}()
	})
	for _, tt := range []struct {
		name string
		rt   Rate
		h    http.Handler
		body string // the request's header lines and body after the Host
	}{
		{"proxy", rt, proxy, "\r\n"},
		{"proxy-with-body", rt, proxy, "Content-Length: 5\r\n\r\nhello"},
		{"handoff-with-unread-body", long, handoff, "Content-Length: 5\r\n\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.rt.Handler(tt.h))
			defer srv.Close()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n%s", tt.body)
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %v %v", resp, err)
			}
			for i, msg := range []string{"ping\n", "pong\n"} {
				if i > 0 {
					time.Sleep(grace + linger + idle + time.Second)
				}
				if _, err := io.WriteString(conn, msg); err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				got, err := br.ReadString('\n')
				if err != nil || got != msg {
					t.Fatalf("message %d: echoed %q, error %v", i, strings.TrimSpace(got), err)
				}
			}
		})
	}
}
