package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/bodyrate"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// edgeClient is a client of the edge's listener at addr, over HTTP/2 when
// h2 is set (for https URLs), without a timeout of its own.
func edgeClient(addr string, h2 bool) *http.Client {
	return &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: h2,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
}

// edgeCases are the edge's listeners: plain HTTP/1.1 and HTTP/2 over TLS.
func edgeCases(n *Node) []struct {
	name, addr, url string
	h2              bool
} {
	return []struct {
		name, addr, url string
		h2              bool
	}{
		{"http", n.HTTPAddr(), "http://www.body.com", false},
		{"https-h2", n.HTTPSAddr(), "https://www.body.com", true},
	}
}

// errStillReading is readAll's error for an answer that did not end.
var errStillReading = errors.New("the answer did not end")

// readAll reads r to its end and returns the error that ended it, or
// errStillReading after within (the caller closes r).
func readAll(r io.Reader, within time.Duration) error {
	done := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, r)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		return errStillReading
	}
}

// drain empties what the origin reported for earlier requests.
func drain(seen <-chan originResult) {
	for len(seen) > 0 {
		<-seen
	}
}

// TestLongUploadGetsItsAnswer: an upload through the edge that keeps the
// rate but lasts more than twice the answers' idle bound gets its answer,
// over HTTP/1.1 and HTTP/2: the edge's servers have no total deadline
// (a WriteTimeout as long as the bound would lose the answer: EOF over
// HTTP/1.1, the stream reset over HTTP/2).
func TestLongUploadGetsItsAnswer(t *testing.T) {
	const bound = 2 * time.Second
	n, seen := bodyNode(t, bodyrate.Rate{Grace: bound, PerSecond: 1024, WriteIdle: bound})
	for _, tt := range edgeCases(n) {
		t.Run(tt.name, func(t *testing.T) {
			drain(seen)
			const piece, size = 20 << 10, 50 * 20 << 10
			pr, pw := io.Pipe()
			go func() { // 1000 KiB in 50 pieces over 5 s: 200 KiB/s
				for i := range 50 {
					if i > 0 {
						time.Sleep(100 * time.Millisecond)
					}
					if _, err := pw.Write(make([]byte, piece)); err != nil {
						return
					}
				}
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", tt.url+"/", pr)
			req.ContentLength = size
			start := time.Now()
			resp, err := edgeClient(tt.addr, tt.h2).Do(req)
			if err != nil {
				t.Fatalf("no answer after %v: %v", time.Since(start), err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != strconv.Itoa(size) {
				t.Fatalf("upload answered %d %q, error %v", resp.StatusCode, body, err)
			}
			if tt.h2 && resp.ProtoMajor != 2 {
				t.Errorf("the upload went over %s, want HTTP/2", resp.Proto)
			}
			if took := time.Since(start); took < 2*bound {
				t.Errorf("the upload took %v, less than twice the bound: the test proves nothing", took)
			}
		})
	}
}

// TestSlowReaderIsCutAtTheEdge: a client that takes nothing of a long
// answer through the edge is cut once a write has waited the idle bound,
// over HTTP/1.1 and HTTP/2: the origin's answer ends (the edge lets go of
// the origin's connection) and the client's answer ends in an error.
func TestSlowReaderIsCutAtTheEdge(t *testing.T) {
	const bound = 2 * time.Second
	n, seen := bodyNode(t, bodyrate.Rate{Grace: bound, PerSecond: 1024, WriteIdle: bound})
	for _, tt := range edgeCases(n) {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			resp, err := edgeClient(tt.addr, tt.h2).Get(tt.url + "/stream?tag=" + tt.name)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || tt.h2 && resp.ProtoMajor != 2 {
				t.Fatalf("answer %s %d", resp.Proto, resp.StatusCode)
			}
			// The client reads nothing meanwhile.
			timeout := time.After(bound + 20*time.Second)
			for cut := false; !cut; {
				select {
				case r := <-seen:
					if r.tag != tt.name { // an earlier request's
						continue
					}
					if r.err == nil {
						t.Fatalf("the origin's answer ended without an error after %d bytes", r.n)
					}
					if took := time.Since(start); took < bound {
						t.Errorf("the answer was cut after %v, before the bound (%v)", took, bound)
					}
					cut = true
				case <-timeout:
					t.Fatalf("a client that read nothing for %v was not cut", bound+20*time.Second)
				}
			}
			if err := readAll(resp.Body, 20*time.Second); err == nil || err == errStillReading {
				t.Errorf("the cut answer, read by the client: %v; want an error", err)
			}
		})
	}
}

// TestStalledHTTP2ConnectionIsCut: an HTTP/2 client that opens its flow
// control windows wide, asks for a long answer and then reads nothing from
// the connection stalls the connection's own writes, not the stream's (the
// frames wait for TCP, and so would the stream's reset): the edge closes
// the connection once its writes have waited the idle bound, and lets go
// of the origin's.
func TestStalledHTTP2ConnectionIsCut(t *testing.T) {
	const bound = 2 * time.Second
	n, seen := bodyNode(t, bodyrate.Rate{Grace: bound, PerSecond: 1024, WriteIdle: bound})
	conn, err := tls.Dial("tcp", n.HTTPSAddr(), &tls.Config{ServerName: "www.body.com", InsecureSkipVerify: true, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if p := conn.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Fatalf("the edge chose %q, want h2", p)
	}
	io.WriteString(conn, http2.ClientPreface)
	fr := http2.NewFramer(conn, conn)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1<<31 - 1})
	fr.WriteWindowUpdate(0, 1<<31-1-65535)
	var block bytes.Buffer
	enc := hpack.NewEncoder(&block)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "https"}, {":authority", "www.body.com"}, {":path", "/stream?tag=stall"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	start := time.Now()
	if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block.Bytes(), EndStream: true, EndHeaders: true}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(bound + 20*time.Second)
	for { // the client reads nothing meanwhile
		select {
		case r := <-seen:
			if r.tag != "stall" {
				continue
			}
			if r.err == nil {
				t.Fatalf("the origin's answer ended without an error after %d bytes", r.n)
			}
			if took := time.Since(start); took < bound {
				t.Errorf("the connection was cut after %v, before the bound (%v)", took, bound)
			}
			return
		case <-timeout:
			t.Fatalf("a connection that took nothing for %v was not cut", bound+20*time.Second)
		}
	}
}

// TestKeepAliveAcrossTheBound: two requests on one connection to the edge,
// the second sent after more than the idle bound and answered by the
// origin after more than the bound again, both succeed, over HTTP/1.1 and
// HTTP/2: no deadline is left from the first answer, and none counts the
// time before the second answer's first write.
func TestKeepAliveAcrossTheBound(t *testing.T) {
	const bound = 2 * time.Second
	n, seen := bodyNode(t, bodyrate.Rate{Grace: bound, PerSecond: 1024, WriteIdle: bound})
	wait := (bound + time.Second).String()
	t.Run("http", func(t *testing.T) {
		drain(seen)
		conn, err := net.Dial("tcp", n.HTTPAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(30 * time.Second))
		br := bufio.NewReader(conn)
		for i, path := range []string{"/", "/?wait=" + wait} {
			if i > 0 {
				time.Sleep(bound + time.Second)
			}
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: www.body.com\r\n\r\n", path)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("request %d on the connection: %v", i, err)
			}
			b, err := io.ReadAll(resp.Body)
			if err != nil || resp.StatusCode != 200 || string(b) != "0" {
				t.Fatalf("request %d: %d %q, error %v", i, resp.StatusCode, b, err)
			}
		}
	})
	t.Run("https-h2", func(t *testing.T) {
		drain(seen)
		c := edgeClient(n.HTTPSAddr(), true)
		for i, path := range []string{"/", "/?wait=" + wait} {
			if i > 0 {
				time.Sleep(bound + time.Second)
			}
			reused := false
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
			})
			req, _ := http.NewRequestWithContext(ctx, "GET", "https://www.body.com"+path, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("request %d: %v", i, err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(b) != "0" || resp.ProtoMajor != 2 {
				t.Fatalf("request %d: %s %d %q, error %v", i, resp.Proto, resp.StatusCode, b, err)
			}
			if i > 0 && !reused {
				t.Error("the second request did not reuse the connection: the test proves nothing")
			}
		}
	})
}

// TestSilentHandshakeIsCut: without a WriteTimeout the edge's TLS
// handshake is still bounded (by ReadHeaderTimeout, 10 s): a client that
// connects to the HTTPS listener and says nothing is closed.
func TestSilentHandshakeIsCut(t *testing.T) {
	t.Parallel()
	n, _ := bodyNode(t, bodyrate.Rate{})
	conn, err := net.Dial("tcp", n.HTTPSAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	conn.SetReadDeadline(start.Add(40 * time.Second))
	_, err = conn.Read(make([]byte, 1))
	if err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a silent client was held %v: %v", time.Since(start), err)
	}
}
