package node

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/bodyrate"
	"github.com/esacert/esacert/internal/pkitest"
)

// originResult is what the test origin saw of one request's body (or, on
// /stream, of its answer), and the request's ?tag=.
type originResult struct {
	n   int64
	err error
	tag string
}

// bodyNode starts a node whose request bodies are held to rate, with the
// site body.com: a certificate for *.body.com and www.body.com proxied to
// a loopback origin that reads each body and reports it on the channel.
// The origin answers the body's length, after waiting ?wait= (a duration)
// when given; on /stream it answers bytes without end, until a write fails,
// and reports how many it wrote and the failure. A report carries the
// request's ?tag=.
func bodyNode(t *testing.T, rate bodyrate.Rate) (*Node, <-chan originResult) {
	t.Helper()
	seen := make(chan originResult, 16)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			chunk := make([]byte, 32<<10)
			var n int64
			for {
				m, err := w.Write(chunk)
				n += int64(m)
				if err != nil {
					seen <- originResult{n, err, r.URL.Query().Get("tag")}
					return
				}
			}
		}
		n, err := io.Copy(io.Discard, r.Body)
		seen <- originResult{n, err, r.URL.Query().Get("tag")}
		if d, err := time.ParseDuration(r.URL.Query().Get("wait")); err == nil {
			time.Sleep(d)
		}
		fmt.Fprint(w, n)
	}))
	t.Cleanup(origin.Close)
	cfg := testConfig(t)
	cfg.PrivateOrigins = "127.0.0.0/8" // the test's origin is on loopback
	n, err := start(t.Context(), cfg, quiet, rate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop(t, n) })
	now := time.Now()
	ca := pkitest.NewCA(t, "Body Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"*.body.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "body.com"})["SiteId"])
	call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	call(t, n, "2024-09-10", "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "www.body.com", "Type": "A/AAAA",
		"Proxied": "true", "BizName": "web", "Ttl": "1", "Data": `{"Value":"` + strings.TrimPrefix(origin.URL, "http://") + `"}`})
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr()+"/", nil)
		req.Host = "www.body.com"
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				<-seen
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the edge did not proxy www.body.com within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return n, seen
}

// slowPost opens a connection to addr (TLS with SNI when sni is set) and
// sends a POST for host declaring a body of 100 kB, then trickles the body
// a byte every 100 ms. It returns the answer's status and headers, its
// body, and how long the answer took; status 0 when no answer came within
// 30 s. It leaves the connection's reader for the caller to watch.
func slowPost(t *testing.T, addr, sni, host string) (*http.Response, string, time.Duration, *bufio.Reader) {
	t.Helper()
	var conn net.Conn
	var err error
	if sni != "" {
		conn, err = tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
	} else {
		conn, err = net.Dial("tcp", addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	start := time.Now()
	conn.SetDeadline(start.Add(30 * time.Second))
	fmt.Fprintf(conn, "POST / HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\nx", host)
	go func() {
		for {
			time.Sleep(100 * time.Millisecond)
			if _, err := conn.Write([]byte{'x'}); err != nil {
				return
			}
		}
	}()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer after %v: %v", time.Since(start), err)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body), time.Since(start), br
}

// TestSlowBodiesAreCut: a body trickled a byte every 100 ms is cut once the
// grace is used up, on the edge's HTTP and HTTPS listeners (408, and the
// origin's request ends, releasing its connection) and on the API (408
// InvalidParameter, saying the body arrived too slowly). A 5 MB upload
// that takes longer than the grace passes through the edge, over HTTP/1.1
// and HTTP/2.
func TestSlowBodiesAreCut(t *testing.T) {
	const grace = 2 * time.Second
	n, seen := bodyNode(t, bodyrate.Rate{Grace: grace, PerSecond: 1024})
	for _, tt := range []struct {
		name, addr, sni, host string
	}{
		{"edge-http", n.HTTPAddr(), "", "www.body.com"},
		{"edge-https", n.HTTPSAddr(), "www.body.com", "www.body.com"},
		{"api", n.APIAddr(), "", "api.test"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, took, _ := slowPost(t, tt.addr, tt.sni, tt.host)
			if resp.StatusCode != http.StatusRequestTimeout {
				t.Fatalf("answer %d %q, want 408", resp.StatusCode, body)
			}
			if took < grace || took > grace+15*time.Second {
				t.Errorf("the body was cut after %v; want the grace (%v) and a little", took, grace)
			}
			if tt.name == "api" {
				var e struct{ Code, Message string }
				json.Unmarshal([]byte(body), &e)
				if e.Code != "InvalidParameter" || !strings.Contains(e.Message, "arrived too slowly") {
					t.Errorf("API answer %s", body)
				}
				return
			}
			select {
			case r := <-seen:
				if r.err == nil {
					t.Errorf("the origin read a whole body of %d bytes", r.n)
				}
			case <-time.After(10 * time.Second):
				t.Error("the origin's request did not end within 10s of the cut")
			}
		})
	}

	for _, tt := range []struct {
		name, url string
		h2        bool
	}{
		{"upload/http", "http://www.body.com/", false},
		{"upload/https-h2", "https://www.body.com/", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for len(seen) > 0 { // what an earlier case left
				<-seen
			}
			addr := n.HTTPAddr()
			if strings.HasPrefix(tt.url, "https") {
				addr = n.HTTPSAddr()
			}
			client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
				TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
				ForceAttemptHTTP2: tt.h2,
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				},
			}}
			const size = 5 << 20
			pr, pw := io.Pipe()
			go func() { // 5 MB in 40 chunks over about 3 s: longer than the grace
				chunk := make([]byte, size/40)
				for range 40 {
					if _, err := pw.Write(chunk); err != nil {
						return
					}
					time.Sleep(75 * time.Millisecond)
				}
				pw.Close()
			}()
			req, _ := http.NewRequest("POST", tt.url, pr)
			req.ContentLength = size
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != strconv.Itoa(size) {
				t.Fatalf("upload answered %d %q", resp.StatusCode, body)
			}
			if tt.h2 && resp.ProtoMajor != 2 {
				t.Errorf("the upload went over %s, want HTTP/2", resp.Proto)
			}
			if took := time.Since(start); took < grace {
				t.Errorf("the upload took %v, less than the grace: the test proves nothing", took)
			}
			if r := <-seen; r.err != nil || r.n != size {
				t.Errorf("the origin read %d bytes, error %v", r.n, r.err)
			}
		})
	}
}

// TestEarlyAnswersDoNotWaitForTheBody: the edge's answers given without
// reading the body (404 for a host it does not serve, 421 for a Host that
// is not the connection's SNI) come at once to a client still trickling
// its declared body, and the connection is then closed rather than held
// until the grace (here a minute) runs out.
func TestEarlyAnswersDoNotWaitForTheBody(t *testing.T) {
	n, _ := bodyNode(t, bodyrate.Rate{Grace: time.Minute})
	for _, tt := range []struct {
		name, addr, sni, host string
		want                  int
	}{
		{"unknown-host", n.HTTPAddr(), "", "nobody.test", http.StatusNotFound},
		{"misdirected", n.HTTPSAddr(), "www.body.com", "other.body.com", http.StatusMisdirectedRequest},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body, took, br := slowPost(t, tt.addr, tt.sni, tt.host)
			if resp.StatusCode != tt.want || !resp.Close {
				t.Fatalf("answer %d (Connection %q) %q, want %d and close", resp.StatusCode, resp.Header.Get("Connection"), body, tt.want)
			}
			if took > 10*time.Second {
				t.Errorf("the answer took %v", took)
			}
			start := time.Now()
			if _, err := br.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the connection was held open after the answer: %v", err)
			}
			if took := time.Since(start); took > 10*time.Second {
				t.Errorf("the connection was closed %v after the answer", took)
			}
		})
	}
}
