package bodyrate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"
)

// result is what a test handler saw of its request body.
type result struct {
	n   int
	err error
	at  time.Duration // since the handler started
}

// reader is a test handler: it reads the body (pausing after the first
// pause bytes for pauseFor, when set), reports what it saw on got, and
// answers 408 for a body too slow, 200 otherwise.
func reader(got chan<- result, pause int, pauseFor time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		var buf bytes.Buffer
		var err error
		if pause > 0 {
			_, err = io.CopyN(&buf, r.Body, int64(pause))
			time.Sleep(pauseFor)
		}
		if err == nil {
			_, err = io.Copy(&buf, r.Body)
		}
		got <- result{buf.Len(), err, time.Since(start)}
		if errors.Is(err, ErrTooSlow) {
			w.WriteHeader(http.StatusRequestTimeout)
			return
		}
		fmt.Fprint(w, buf.Len())
	})
}

// serve starts h held to rt on a loopback listener, over HTTP/1.1 or (TLS)
// HTTP/2, and returns a client for it.
func serve(t *testing.T, proto string, rt Rate, h http.Handler) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewUnstartedServer(rt.Handler(h))
	if proto == "h2" {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	c := srv.Client()
	c.Timeout = 30 * time.Second
	return srv, c
}

// send posts a body of size bytes that w writes, and returns the status.
func send(t *testing.T, srv *httptest.Server, c *http.Client, size int64, write func(w io.Writer)) int {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		write(pw)
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", srv.URL, pr)
	req.ContentLength = size
	resp, err := c.Do(req)
	pr.CloseWithError(errors.New("done"))
	if err != nil {
		return 0 // the server may cut the request before its answer is read
	}
	resp.Body.Close()
	return resp.StatusCode
}

// trickle writes one byte every gap until the reader stops taking them.
func trickle(gap time.Duration) func(io.Writer) {
	return func(w io.Writer) {
		for {
			if _, err := w.Write([]byte{'x'}); err != nil {
				return
			}
			time.Sleep(gap)
		}
	}
}

func wait(t *testing.T, got <-chan result) result {
	t.Helper()
	select {
	case r := <-got:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("the handler did not finish within 30s")
		return result{}
	}
}

// TestTrickleIsCut: a body sent a byte every 100 ms fails with ErrTooSlow
// once the grace is used up, not before, over HTTP/1.1 and HTTP/2.
func TestTrickleIsCut(t *testing.T) {
	const grace = 500 * time.Millisecond
	for _, proto := range []string{"http/1.1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			got := make(chan result, 1)
			srv, c := serve(t, proto, Rate{Grace: grace, PerSecond: 1024}, reader(got, 0, 0))
			go send(t, srv, c, 100_000, trickle(100*time.Millisecond))
			r := wait(t, got)
			if !errors.Is(r.err, ErrTooSlow) {
				t.Fatalf("reading a trickling body: %d bytes, error %v; want ErrTooSlow", r.n, r.err)
			}
			if r.at < grace || r.at > grace+10*time.Second {
				t.Errorf("the body was cut after %v; want the grace (%v) and a little", r.at, grace)
			}
		})
	}
}

// TestStallIsCut: a body that sends 50 KB at once and then stalls is cut
// about a grace after the stall, although at 1 KiB/s those bytes would pay
// for 50 s: credit is never kept beyond the grace.
func TestStallIsCut(t *testing.T) {
	const grace = 500 * time.Millisecond
	for _, proto := range []string{"http/1.1", "h2"} {
		t.Run(proto, func(t *testing.T) {
			got := make(chan result, 1)
			srv, c := serve(t, proto, Rate{Grace: grace, PerSecond: 1024}, reader(got, 0, 0))
			stop := make(chan struct{})
			defer close(stop)
			go send(t, srv, c, 100_000, func(w io.Writer) {
				w.Write(make([]byte, 50_000))
				<-stop
			})
			r := wait(t, got)
			if !errors.Is(r.err, ErrTooSlow) || r.n != 50_000 {
				t.Fatalf("a stalled body: %d bytes, error %v; want 50000 and ErrTooSlow", r.n, r.err)
			}
			if r.at > 20*time.Second {
				t.Errorf("the stall was cut after %v; want about the grace (%v)", r.at, grace)
			}
		})
	}
}

// TestLargeBodyTakesWhatItNeeds: 3 MB sent over more than twice the grace
// passes, and so does a body the handler stops reading for longer than the
// grace (the server's time is not the client's), over HTTP/1.1 and HTTP/2.
// The grace is long enough that a loaded machine's pauses do not cut these
// bodies.
func TestLargeBodyTakesWhatItNeeds(t *testing.T) {
	const grace = 1500 * time.Millisecond
	for _, proto := range []string{"http/1.1", "h2"} {
		t.Run(proto+"/steady", func(t *testing.T) {
			got := make(chan result, 1)
			srv, c := serve(t, proto, Rate{Grace: grace, PerSecond: 1024}, reader(got, 0, 0))
			start := time.Now()
			status := send(t, srv, c, 3<<20, func(w io.Writer) {
				chunk := make([]byte, 64<<10)
				for range 48 {
					w.Write(chunk)
					time.Sleep(75 * time.Millisecond)
				}
			})
			r := wait(t, got)
			if r.err != nil || r.n != 3<<20 || status != 200 {
				t.Fatalf("a steady 3 MB body: %d bytes, error %v, status %d", r.n, r.err, status)
			}
			if took := time.Since(start); took < 2*grace {
				t.Fatalf("the upload took %v, less than twice the grace: the test proves nothing", took)
			}
		})
		t.Run(proto+"/handler-pauses", func(t *testing.T) {
			got := make(chan result, 1)
			srv, c := serve(t, proto, Rate{Grace: grace, PerSecond: 1024}, reader(got, 1000, grace+time.Second))
			// The client keeps sending, faster than the rate, while the
			// handler does not read.
			status := send(t, srv, c, 1000+30<<10, func(w io.Writer) {
				w.Write(make([]byte, 1000))
				for range 30 {
					time.Sleep(100 * time.Millisecond)
					w.Write(make([]byte, 1<<10))
				}
			})
			r := wait(t, got)
			if r.err != nil || r.n != 1000+30<<10 || status != 200 {
				t.Fatalf("a body the handler paused on: %d bytes, error %v, status %d", r.n, r.err, status)
			}
		})
	}
}

// TestLimit: with a Limit, a body that keeps the rate is still cut when
// the Limit has passed.
func TestLimit(t *testing.T) {
	got := make(chan result, 1)
	srv, c := serve(t, "http/1.1", Rate{Grace: 5 * time.Second, PerSecond: 10, Limit: time.Second}, reader(got, 0, 0))
	go send(t, srv, c, 100_000, trickle(20*time.Millisecond)) // 50 B/s: five times the rate
	r := wait(t, got)
	if !errors.Is(r.err, ErrTooSlow) || r.at < time.Second || r.at > 15*time.Second {
		t.Fatalf("a body past the Limit: error %v after %v; want ErrTooSlow after 1s", r.err, r.at)
	}
}

// rawRequest opens a TCP connection to srv, sends a POST declaring a body
// of 100 kB and then trickles it, a byte every 200 ms, until the
// connection fails. It returns the connection and a reader of the answers.
func rawRequest(t *testing.T, srv *httptest.Server) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "POST /nowhere HTTP/1.1\r\nHost: example.test\r\nContent-Length: 100000\r\n\r\nx")
	go func() {
		for {
			time.Sleep(200 * time.Millisecond)
			if _, err := conn.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	return conn, bufio.NewReader(conn)
}

// TestEarlyAnswerClosesTheConnection: an HTTP/1.1 answer given without
// reading a slow body goes out at once with Connection: close, and the
// connection is closed soon after, not when the (long) grace runs out:
// net/http would otherwise read the rest of the body at the client's pace,
// before sending the answer or after. Both when the handler returns at
// once and when it flushes its answer and goes on.
func TestEarlyAnswerClosesTheConnection(t *testing.T) {
	const grace = time.Minute
	for _, tt := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"returns", func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "no such site", http.StatusNotFound)
		}},
		{"flushes", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			http.NewResponseController(w).Flush()
			time.Sleep(time.Second)
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(Rate{Grace: grace}.Handler(tt.handler))
			defer srv.Close()
			conn, br := rawRequest(t, srv)
			start := time.Now()
			conn.SetReadDeadline(start.Add(20 * time.Second))
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("the answer took %v", took)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != 404 || !resp.Close {
				t.Fatalf("answer %d, Connection %q; want 404 and close", resp.StatusCode, resp.Header.Get("Connection"))
			}
			if _, err := br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the connection was held open after the answer: %v", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Fatalf("the connection was closed only after %v", took)
			}
		})
	}
}

// TestReadBodyKeepsTheConnection: a body read to its end leaves the
// connection open for the next request.
func TestReadBodyKeepsTheConnection(t *testing.T) {
	got := make(chan result, 2)
	srv := httptest.NewServer(Rate{}.Handler(reader(got, 0, 0)))
	defer srv.Close()
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	br := bufio.NewReader(conn)
	for i := range 2 {
		fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: example.test\r\nContent-Length: 5\r\n\r\nhello")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "5" || resp.Close {
			t.Fatalf("request %d: %d %q close=%v", i, resp.StatusCode, b, resp.Close)
		}
	}
}
