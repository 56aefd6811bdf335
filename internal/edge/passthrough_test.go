package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// testOrigin is an origin on a loopback address of its own: HTTPS with a
// certificate of its own on port 443 (on another port when 443 cannot be
// bound: then an edge must be told tlsPort), and plain HTTP on another
// port. It answers what it saw, and keeps the last request.
type testOrigin struct {
	ip, tlsPort, httpAddr string
	leaf                  *x509.Certificate
	pool                  *x509.CertPool

	mu   sync.Mutex
	last *http.Request
}

// bigBody is the body of /big, to see that a large answer passes through whole.
var bigBody = bytes.Repeat([]byte("0123456789abcdef"), 1<<16)

func newTestOrigin(t *testing.T, name string) *testOrigin {
	t.Helper()
	o := &testOrigin{}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		o.last = r.Clone(context.Background())
		o.mu.Unlock()
		if r.URL.Path == "/big" {
			w.Write(bigBody)
			return
		}
		sni := "-"
		if r.TLS != nil {
			sni = r.TLS.ServerName
		}
		fmt.Fprintf(w, "origin sni=%s host=%s", sni, r.Host)
	})
	var tlsLn net.Listener
	for range 10 {
		ip := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(250), rand.IntN(256), 1+rand.IntN(250))
		if ln, err := net.Listen("tcp", ip+":443"); err == nil {
			tlsLn, o.ip, o.tlsPort = ln, ip, "443"
			break
		}
	}
	if tlsLn == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("port 443 cannot be bound: the origin's HTTPS listens on %s", ln.Addr())
		tlsLn, o.ip = ln, "127.0.0.1"
		_, o.tlsPort, _ = net.SplitHostPort(ln.Addr().String())
	}
	crt := selfSigned(t, name)
	o.leaf, _ = x509.ParseCertificate(crt.Certificate[0])
	o.pool = x509.NewCertPool()
	o.pool.AddCert(o.leaf)
	secure := httptest.NewUnstartedServer(handler)
	secure.Listener.Close()
	secure.Listener = tlsLn
	secure.TLS = &tls.Config{Certificates: []tls.Certificate{crt}}
	secure.StartTLS()
	t.Cleanup(secure.Close)
	plainLn, err := net.Listen("tcp", o.ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	plain := httptest.NewUnstartedServer(handler)
	plain.Listener.Close()
	plain.Listener = plainLn
	plain.Start()
	t.Cleanup(plain.Close)
	o.httpAddr = plainLn.Addr().String()
	return o
}

func (o *testOrigin) seen() *http.Request {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.last
}

// edgeClient is an HTTP client that reaches every host at addr, with cfg
// for TLS, and follows no redirect.
func edgeClient(addr string, cfg *tls.Config) *http.Client {
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{
		TLSClientConfig: cfg,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// get does a GET of url with the given headers, and returns the answer and
// its body.
func get(t *testing.T, c *http.Client, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp, string(body)
}

// TestPausedSite: the edge steps out of a paused site's traffic. Over
// HTTPS the connection reaches the origin undecrypted (the origin's own
// certificate answers, verified by the client); plain HTTP is proxied as
// it came, without the forced redirect, HSTS or any header of the edge's
// but CDN-Loop.
// Hosts of sites that are not paused are served as before, and the pause
// follows the store both ways.
func TestPausedSite(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "www.paused.test")
	pausedCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.paused.test", "paused.test")
	liveCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.live.test")
	paused := siteState(1, "paused.test", site.SiteActive, pausedCert)
	paused.Routes = []Route{{Name: "www.paused.test", Origin: o.httpAddr, OriginHost: "origin.internal"}}
	force := DefaultHostPolicy()
	force.Force, force.ForceCode, force.HSTS = true, 301, "max-age=600"
	paused.Policy.Default = force
	paused.Settings = sitesetting.Settings{Paused: true, RealClientIPHeader: "Ali-Real-Client-IP"}
	live := siteState(2, "live.test", site.SiteActive, liveCert)
	live.Routes = []Route{{Name: "www.live.test", Origin: o.httpAddr}}
	src := newMemSource()
	src.put(paused)
	src.put(live)
	challenge := selfSigned(t, "www.paused.test")
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, originTLSPort: o.tlsPort,
		ACMETLSProtocol: "acme-tls/1", ACMETLS: func(host string) (*tls.Certificate, bool) {
			return &challenge, host == "www.paused.test"
		}})
	plain := httptest.NewServer(e.HTTPHandler())
	t.Cleanup(plain.Close)
	fromEdge := func(chain []*x509.Certificate) bool {
		return len(chain) > 0 && chain[0].Issuer.CommonName == "Edge Intermediate"
	}

	t.Run("ok/https_reaches_the_origin_undecrypted", func(t *testing.T) {
		c := edgeClient(addr, &tls.Config{RootCAs: o.pool}) // verified: only the origin's certificate passes
		resp, body := get(t, c, "https://www.paused.test/x")
		if resp.StatusCode != 200 || body != "origin sni=www.paused.test host=www.paused.test" {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
		if !resp.TLS.PeerCertificates[0].Equal(o.leaf) {
			t.Errorf("served %s, want the origin's certificate", resp.TLS.PeerCertificates[0].Subject)
		}
		if resp.Header.Get("Strict-Transport-Security") != "" {
			t.Error("the edge's HSTS reached a paused site's answer")
		}
		if got := o.seen().Header.Get("Ali-Real-Client-IP"); got != "" {
			t.Errorf("the origin saw a client-IP header %q on a connection the edge did not decrypt", got)
		}
		resp, body = get(t, c, "https://www.paused.test/big")
		if resp.StatusCode != 200 || body != string(bigBody) {
			t.Errorf("a large answer: %d, %d bytes, want %d", resp.StatusCode, len(body), len(bigBody))
		}
	})
	t.Run("ok/other_sites_are_still_terminated", func(t *testing.T) {
		chain, err := handshake(t, addr, "www.live.test", nil)
		if err != nil || !fromEdge(chain) {
			t.Fatalf("www.live.test: %v", err)
		}
	})
	t.Run("ok/acme_tls_alpn_stays_at_the_edge", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.paused.test", InsecureSkipVerify: true,
			NextProtos: []string{"acme-tls/1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if got := conn.ConnectionState().PeerCertificates[0].Raw; !bytes.Equal(got, challenge.Certificate[0]) {
			t.Error("a TLS-ALPN-01 validation was not answered by the edge's challenge certificate")
		}
	})
	t.Run("fail/paused_host_without_record_is_unknown", func(t *testing.T) {
		_, err := handshake(t, addr, "bare.paused.test", nil)
		if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
			t.Errorf("handshake: %v, want unrecognized_name", err)
		}
		resp, _ := get(t, http.DefaultClient, plain.URL+"/", "Host", "bare.paused.test")
		if resp.StatusCode != 404 {
			t.Errorf("plain HTTP: %d, want 404", resp.StatusCode)
		}
	})
	t.Run("ok/plain_http_as_it_came", func(t *testing.T) {
		req, _ := http.NewRequest("GET", plain.URL+"/a?b=c", nil)
		req.Host = "www.paused.test"
		req.Header.Set("X-Forwarded-For", "192.0.2.7")
		req.Header.Set("Ali-Real-Client-IP", "192.0.2.8")
		req.Header.Set("X-Custom", "kept")
		resp, err := edgeClient(strings.TrimPrefix(plain.URL, "http://"), nil).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "origin sni=- host=www.paused.test" {
			t.Fatalf("got %d %q (Location %q), want the origin's answer, not the forced redirect", resp.StatusCode, body,
				resp.Header.Get("Location"))
		}
		seen := o.seen()
		if seen.URL.RequestURI() != "/a?b=c" || seen.Header.Get("X-Custom") != "kept" {
			t.Errorf("origin saw %s %v", seen.URL.RequestURI(), seen.Header)
		}
		for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host", "Ali-Real-Client-Ip"} {
			if v := seen.Header.Values(h); len(v) > 0 {
				t.Errorf("origin saw %s: %q", h, v)
			}
		}
		// The loop token only, so that an origin that is the edge again
		// (behind a NAT) is answered 508.
		if v := seen.Header.Values("Cdn-Loop"); len(v) != 1 || v[0] != loopToken {
			t.Errorf("origin saw CDN-Loop %q, want [%s]", v, loopToken)
		}
	})
	t.Run("ok/pause_follows_the_store", func(t *testing.T) {
		// A connection made while the site is served by the edge...
		unpaused := paused
		unpaused.Settings.Paused = false
		src.put(unpaused)
		e.Refresh(context.Background())
		if e.Index().paused != 0 {
			t.Fatalf("%d paused sites after the pause ended", e.Index().paused)
		}
		c := edgeClient(addr, &tls.Config{InsecureSkipVerify: true})
		resp, body := get(t, c, "https://www.paused.test/")
		if !fromEdge(resp.TLS.PeerCertificates) || body != "origin sni=- host=origin.internal" ||
			resp.Header.Get("Strict-Transport-Security") != "max-age=600" {
			t.Fatalf("unpaused: %q, HSTS %q", body, resp.Header.Get("Strict-Transport-Security"))
		}
		if got := o.seen().Header.Get("Ali-Real-Client-IP"); got != "127.0.0.1" {
			t.Errorf("unpaused: the origin saw Ali-Real-Client-IP %q", got)
		}
		// ... is sent away when it is paused: the next one is passed through.
		src.put(paused)
		e.Refresh(context.Background())
		resp, _ = get(t, c, "https://www.paused.test/")
		if resp.StatusCode != http.StatusMisdirectedRequest || !resp.Close {
			t.Errorf("a request on an older connection: %d (close %v), want 421 and the connection closed", resp.StatusCode, resp.Close)
		}
		resp, body = get(t, c, "https://www.paused.test/")
		if !resp.TLS.PeerCertificates[0].Equal(o.leaf) || body != "origin sni=www.paused.test host=www.paused.test" {
			t.Errorf("paused again: %q from %s", body, resp.TLS.PeerCertificates[0].Subject)
		}
	})
	t.Run("ok/non_tls_bytes_answered_as_before", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET / HTTP/1.1\r\nHost: www.paused.test\r\n\r\n")
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		got, _ := io.ReadAll(conn)
		if !strings.Contains(string(got), "Client sent an HTTP request to an HTTPS server") {
			t.Errorf("plain HTTP on the HTTPS port: %q", got)
		}
	})
}

// TestPassthroughBounds: the ClientHello is read within a deadline and up
// to a size; a larger one is served by the edge as before (a paused host's
// then fails as an unknown one); an origin the policy refuses, or a
// connection idle both ways, is closed.
func TestPassthroughBounds(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "www.paused.test")
	pausedCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.paused.test")
	liveCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.live.test")
	paused := pausedSite(1, o.httpAddr, pausedCert)
	src := newMemSource()
	src.put(paused)
	src.put(siteState(2, "live.test", site.SiteActive, liveCert))
	_, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, originTLSPort: o.tlsPort,
		helloTimeout: 200 * time.Millisecond, passIdle: 300 * time.Millisecond})

	// closed reads conn until the edge closes it; a client deadline far
	// beyond the edge's bounds keeps a failure from hanging the test.
	closed := func(t *testing.T, conn net.Conn) {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Error("the edge did not close the connection")
		}
	}
	t.Run("ok/silent_client_is_closed", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		closed(t, conn)
	})
	t.Run("ok/idle_passthrough_is_closed", func(t *testing.T) {
		conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "www.paused.test", RootCAs: o.pool})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		closed(t, conn)
	})
	many := make([]string, 100) // an ALPN list of 20 kB: a ClientHello over the 16 kB read
	for i := range many {
		many[i] = fmt.Sprintf("%03d-%s", i, strings.Repeat("p", 190))
	}
	many = append(many, "http/1.1")
	t.Run("ok/large_hello_served_by_the_edge", func(t *testing.T) {
		chain, err := handshake(t, addr, "www.live.test", &tls.Config{NextProtos: many})
		if err != nil || chain[0].Issuer.CommonName != "Edge Intermediate" {
			t.Fatalf("a 20 kB ClientHello: %v", err)
		}
	})
	t.Run("fail/large_hello_for_a_paused_host", func(t *testing.T) {
		_, err := handshake(t, addr, "www.paused.test", &tls.Config{NextProtos: many})
		if err == nil || !strings.Contains(err.Error(), "unrecognized name") {
			t.Errorf("handshake: %v, want unrecognized_name", err)
		}
	})
	t.Run("fail/origin_refused_by_the_policy", func(t *testing.T) {
		_, strict := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, originTLSPort: o.tlsPort,
			Origins: &origin.Dialer{}})
		_, err := handshake(t, strict, "www.paused.test", &tls.Config{RootCAs: o.pool})
		if err == nil || !strings.Contains(err.Error(), "internal error") {
			t.Errorf("handshake: %v, want an internal_error alert", err)
		}
	})
}

// TestFragmentedHello: a ClientHello that arrives a byte at a time is
// passed through whole, and the origin answers the handshake.
func TestFragmentedHello(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "www.paused.test")
	paused := pausedSite(1, o.httpAddr)
	e, _ := serveEdge(t, &Edge{Source: src1(paused), Sealer: f.sealer, Poll: time.Hour, originTLSPort: o.tlsPort})
	client, server := net.Pipe()
	defer client.Close()
	go func() { // the edge's side, as its HTTPS listener hands the connection on
		tls.Server(newHelloConn(server, time.Now().Add(time.Minute)), e.TLSConfig()).Handshake()
		server.Close()
	}()
	conn := tls.Client(byteConn{client}, &tls.Config{ServerName: "www.paused.test", RootCAs: o.pool})
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	if err := conn.Handshake(); err != nil {
		t.Fatalf("handshake with the origin: %v", err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: www.paused.test\r\nConnection: close\r\n\r\n")
	got, _ := io.ReadAll(conn)
	if !strings.Contains(string(got), "origin sni=www.paused.test host=www.paused.test") {
		t.Errorf("origin answered %q", got)
	}
}

// TestHelloDeadline: until the hello is parsed, a helloConn reads within
// the hello's deadline, whatever the server asks; then as the server asked.
func TestHelloDeadline(t *testing.T) {
	helloBy := now.Add(time.Second)
	for _, tt := range []struct {
		name             string
		server           time.Time // what the TLS server asks for; zero for nothing
		before, afterFor time.Time
	}{
		{"ok/server_later", now.Add(time.Hour), helloBy, now.Add(time.Hour)},
		{"ok/server_sooner", now.Add(time.Millisecond), now.Add(time.Millisecond), now.Add(time.Millisecond)},
		{"ok/server_none", time.Time{}, helloBy, time.Time{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dc := &deadlineConn{}
			hc := &helloConn{Conn: dc, helloBy: helloBy}
			dc.SetReadDeadline(helloBy) // as Accept does
			if !tt.server.IsZero() {
				hc.SetDeadline(tt.server)
			}
			if !dc.read.Equal(tt.before) {
				t.Errorf("before the hello: read deadline %v, want %v", dc.read, tt.before)
			}
			hc.helloParsed()
			if !dc.read.Equal(tt.afterFor) {
				t.Errorf("after the hello: read deadline %v, want %v", dc.read, tt.afterFor)
			}
			hc.SetReadDeadline(now.Add(2 * time.Hour))
			if !dc.read.Equal(now.Add(2 * time.Hour)) {
				t.Errorf("later: read deadline %v, want the server's", dc.read)
			}
		})
	}
}

// deadlineConn is a connection that keeps the deadlines set on it.
type deadlineConn struct {
	net.Conn
	read, write time.Time
}

func (c *deadlineConn) SetReadDeadline(t time.Time) error  { c.read = t; return nil }
func (c *deadlineConn) SetWriteDeadline(t time.Time) error { c.write = t; return nil }
func (c *deadlineConn) SetDeadline(t time.Time) error      { c.read, c.write = t, t; return nil }

// byteConn writes a byte at a time.
type byteConn struct{ net.Conn }

func (c byteConn) Write(p []byte) (int, error) {
	for i := range p {
		if _, err := c.Conn.Write(p[i : i+1]); err != nil {
			return i, err
		}
	}
	return len(p), nil
}
