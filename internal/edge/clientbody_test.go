package edge

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/site"
)

// logBuffer collects log lines from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// rawPost sends head (a request's start line and headers, then the blank
// line) and body to addr over plain TCP, then trickles one more byte of
// body every gap when gap is set, and returns the answer (status 0 when
// none came within 20 s) and how long it took.
func rawPost(t *testing.T, addr, head, body string, gap time.Duration) (int, time.Duration) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.SetDeadline(start.Add(20 * time.Second))
	io.WriteString(conn, head+body)
	if gap > 0 {
		go func() {
			for {
				time.Sleep(gap)
				if _, err := conn.Write([]byte{'x'}); err != nil {
					return
				}
			}
		}()
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Logf("no answer: %v", err)
		return 0, time.Since(start)
	}
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// TestClientBodyFaults: through the proxy, a body the client botched is the
// client's fault (400 malformed, 408 too slow, logged as the client's and
// never as the origin's, and the origin's connection is let go), while an
// origin that is down or slow still answers 502 or 504, logged as the
// origin's failure.
func TestClientBodyFaults(t *testing.T) {
	const grace = 500 * time.Millisecond
	originErr := make(chan error, 8)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/slow" {
			time.Sleep(3 * time.Second)
		}
		select {
		case originErr <- err:
		default:
		}
		io.WriteString(w, "ok")
	}))
	defer origin.Close()
	originAddr := strings.TrimPrefix(origin.URL, "http://")
	st := siteState(1, "example.com", site.SiteActive)
	st.Routes = []Route{{Name: "www.example.com", Origin: originAddr}, {Name: "down.example.com", Origin: "127.0.0.1:1"}}
	e, _ := startEdge(t, src1(st), newFixture(t).sealer)
	var logs logBuffer
	e.proxy = newProxy(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), time.Second, loopbackOrigins)
	plain := httptest.NewServer(bodyrate.Rate{Grace: grace, PerSecond: 1024}.Handler(e.HTTPHandler()))
	defer plain.Close()
	addr := plain.Listener.Addr().String()
	post := func(host, path, headers string) string {
		return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", path, host, headers)
	}

	for _, tt := range []struct {
		name     string
		head     string
		body     string
		gap      time.Duration
		want     int
		log      string // what the log must say
		released bool   // the origin saw its request end in an error
	}{
		{name: "client/malformed-chunks", head: post("www.example.com", "/", "Transfer-Encoding: chunked\r\n"),
			body: "5\r\nhello\r\nzz\r\n", want: 400, log: "client request body failed", released: true},
		{name: "client/cut-short", head: post("www.example.com", "/", "Content-Length: 10\r\nConnection: close\r\n"),
			body: "hello", want: 400, log: "client request body failed", released: true},
		{name: "client/too-slow", head: post("www.example.com", "/", "Content-Length: 100000\r\n"),
			body: "x", gap: 100 * time.Millisecond, want: 408, log: "client request body failed", released: true},
		{name: "origin/down", head: post("down.example.com", "/", "Content-Length: 5\r\n"),
			body: "hello", want: 502, log: "origin failed"},
		{name: "origin/slow", head: post("www.example.com", "/slow", "Content-Length: 5\r\n"),
			body: "hello", want: 504, log: "origin failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(logs.String())
			if tt.name == "client/cut-short" {
				// The client stops after half its body and closes its
				// side; it still reads the answer.
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(20 * time.Second))
				io.WriteString(conn, tt.head+tt.body)
				conn.(*net.TCPConn).CloseWrite()
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					t.Fatalf("no answer: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != tt.want {
					t.Errorf("answer %d, want %d", resp.StatusCode, tt.want)
				}
			} else if got, took := rawPost(t, addr, tt.head, tt.body, tt.gap); got != tt.want {
				t.Errorf("answer %d after %v, want %d", got, took, tt.want)
			}
			logged := logs.String()[before:]
			if !strings.Contains(logged, tt.log) {
				t.Errorf("the log does not say %q:\n%s", tt.log, logged)
			}
			if tt.want < 500 && strings.Contains(logged, "origin failed") {
				t.Errorf("a client's fault was logged as the origin's:\n%s", logged)
			}
			if tt.want < 500 && !strings.Contains(logged, "level=DEBUG") {
				t.Errorf("a client's fault was logged above debug:\n%s", logged)
			}
			if tt.released {
				select {
				case err := <-originErr:
					if err == nil {
						t.Error("the origin read a whole body")
					}
				case <-time.After(10 * time.Second):
					t.Error("the origin's request was not ended within 10s")
				}
			}
			for len(originErr) > 0 {
				<-originErr
			}
		})
	}
}
