package edge

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesslog"
	"github.com/esacert/esacert/internal/site"
)

// TestAccessLog: the edge writes a JSON line for each request it answers,
// over HTTPS (HTTP/2 here) and plain HTTP, with the origin's status when
// one answered; the query string is left out; a failed handshake is no
// request and writes nothing.
func TestAccessLog(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "created")
	}))
	defer origin.Close()
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "www.example.com", Origin: strings.TrimPrefix(origin.URL, "http://")},
		{Name: "down.example.com", Origin: "127.0.0.1:1"}}
	src := newMemSource()
	src.put(st)
	l, path := openLog(t)
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, AccessLog: l})

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	for _, u := range []string{"https://www.example.com/p/q?token=secret-value", "https://down.example.com/"} {
		resp, err := client.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if _, err := handshake(t, addr, "nobody.test", nil); err == nil {
		t.Fatal("handshake for an unknown name succeeded")
	}
	plain := httptest.NewServer(e.HTTPHandler())
	defer plain.Close()
	req, _ := http.NewRequest("HEAD", plain.URL+"/plain", nil)
	req.Host = "www.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got, data := logLines(t, l, path, 3)
	if strings.Contains(string(data), "secret") || strings.Contains(string(data), "token") {
		t.Errorf("the access log holds the query string:\n%s", data)
	}
	if len(got) != 3 {
		t.Fatalf("%d lines, want 3 (the failed handshake has none):\n%s", len(got), data)
	}
	byPath := map[string]map[string]any{}
	for _, m := range got {
		byPath[m["path"].(string)] = m
		if _, err := time.Parse(time.RFC3339Nano, m["time"].(string)); err != nil {
			t.Errorf("time %v: %v", m["time"], err)
		}
		if d, ok := m["duration_ms"].(float64); !ok || d < 0 {
			t.Errorf("duration_ms %v", m["duration_ms"])
		}
		if m["client_ip"] != "127.0.0.1" {
			t.Errorf("client_ip %v", m["client_ip"])
		}
	}
	for path, want := range map[string]map[string]any{
		"/p/q": {"scheme": "https", "sni": "www.example.com", "host": "www.example.com", "method": "GET", "proto": "HTTP/2.0",
			"tls_version": "TLS 1.3", "alpn": "h2", "resumed": false, "status": 201.0, "bytes": 7.0, "origin_status": 201.0},
		"/": {"scheme": "https", "sni": "down.example.com", "host": "down.example.com", "status": 502.0, "origin_status": nil},
		"/plain": {"scheme": "http", "host": "www.example.com", "method": "HEAD", "proto": "HTTP/1.1", "status": 201.0,
			"bytes": 0.0, "origin_status": 201.0, "sni": nil, "tls_version": nil, "alpn": nil, "resumed": false},
	} {
		m := byPath[path]
		if m == nil {
			t.Errorf("no line for %s:\n%s", path, data)
			continue
		}
		for k, v := range want {
			if m[k] != v {
				t.Errorf("%s: %s = %#v, want %#v", path, k, m[k], v)
			}
		}
	}
}

// TestAccessLogSampled: with a sample of 0 the edge logs nothing.
func TestAccessLogSampled(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, c))
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := accesslog.Open(path, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, AccessLog: l})
	plain := httptest.NewServer(e.HTTPHandler())
	defer plain.Close()
	for range 20 {
		resp, err := http.Get(plain.URL + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	l.Close()
	if data, _ := os.ReadFile(path); len(data) != 0 || l.Written() != 0 {
		t.Errorf("sample 0 logged %d lines:\n%s", l.Written(), data)
	}
}

// echoUpgrade answers a request as a server switching to the protocol
// "echo": 101 Switching Protocols on the hijacked connection, then, once
// the handler has returned, each line the client sends, sent back, until it
// closes.
func echoUpgrade(t *testing.T, w http.ResponseWriter) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		t.Error(err)
		return
	}
	io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	go func() {
		defer conn.Close()
		for {
			line, err := brw.ReadString('\n')
			if err != nil {
				return
			}
			io.WriteString(conn, line)
		}
	}()
}

// TestAccessLogUpgrade: a request switched to another protocol (101, as a
// WebSocket is) still works through the access log's recorder, and is
// logged with 101.
func TestAccessLogUpgrade(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { echoUpgrade(t, w) }))
	defer origin.Close()
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "www.example.com", Origin: strings.TrimPrefix(origin.URL, "http://")}}
	src := newMemSource()
	src.put(st)
	l, path := openLog(t)
	e, _ := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, AccessLog: l})
	plain := httptest.NewServer(e.HTTPHandler())
	defer plain.Close()
	conn, err := net.Dial("tcp", strings.TrimPrefix(plain.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /ws HTTP/1.1\r\nHost: www.example.com\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade answered %d", resp.StatusCode)
	}
	io.WriteString(conn, "ping\n")
	if echo, _ := br.ReadString('\n'); echo != "ping\n" {
		t.Errorf("echo %q", echo)
	}
	conn.Close()
	for deadline := time.Now().Add(10 * time.Second); l.Written() < 1; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no line for the switched request")
		}
	}
	l.Close()
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), `"path":"/ws"`) || !strings.Contains(string(data), `"status":101`) {
		t.Errorf("line for the switched request: %s", data)
	}
}

// TestAccessLogResumed: a resumed connection's line says so, with its TLS
// version: a visitor's first connection (a full handshake) and its second
// (resumed with the ticket of the first), over TLS 1.3 and TLS 1.2.
func TestAccessLogResumed(t *testing.T) {
	l, path := openLog(t)
	w := newResumeWorldWith(t, func(e *Edge) { e.AccessLog = l })
	versions := []uint16{tls.VersionTLS13, tls.VersionTLS12}
	for _, v := range versions {
		cfg := &tls.Config{MinVersion: v, MaxVersion: v, ClientSessionCache: tls.NewLRUClientSessionCache(1)}
		for i, want := range []bool{false, true} {
			if got, _, err := visit(t, w.addr, "www.example.com", cfg); err != nil || got != want {
				t.Fatalf("%s visit %d: resumed %v, %v; want %v", tls.VersionName(v), i+1, got, err, want)
			}
		}
	}
	lines, _ := logLines(t, l, path, 4)
	var got []string
	for _, m := range lines {
		got = append(got, fmt.Sprintf("%v %v %v", m["tls_version"], m["resumed"], m["sni"]))
	}
	want := []string{"TLS 1.3 false www.example.com", "TLS 1.3 true www.example.com",
		"TLS 1.2 false www.example.com", "TLS 1.2 true www.example.com"}
	if !slices.Equal(got, want) {
		t.Errorf("lines (TLS version, resumed, SNI):\n%q\nwant\n%q", got, want)
	}
}

// TestAccessLogHTTP3: a request over HTTP/3 gets its line like one over
// TCP: its protocol, TLS 1.3, the SNI and the origin's status.
func TestAccessLogHTTP3(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "over quic")
	}))
	defer origin.Close()
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "www.example.com", Origin: strings.TrimPrefix(origin.URL, "http://")}}
	h3 := DefaultHostPolicy()
	h3.HTTP3 = true
	st.Policy.Hosts = map[string]HostPolicy{"www.example.com": h3}
	src := newMemSource()
	src.put(st)
	l, path := openLog(t)
	_, _, udp := h3Edge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, AccessLog: l})
	roots := x509.NewCertPool()
	roots.AddCert(f.ca.Cert)
	roots.AddCert(f.inter.Cert)
	if resp, body, err := h3Get(t, udp, "www.example.com", roots); err != nil || resp.StatusCode != 200 || body != "over quic" {
		t.Fatalf("over HTTP/3: %v %v %q", err, resp, body)
	}
	lines, _ := logLines(t, l, path, 1)
	m := lines[0]
	for k, v := range map[string]any{"scheme": "https", "proto": "HTTP/3.0", "tls_version": "TLS 1.3", "alpn": "h3",
		"sni": "www.example.com", "host": "www.example.com", "status": 200.0, "origin_status": 200.0, "resumed": false} {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
}

// logLines waits until l has written n lines (by its goroutine, after each
// answer is sent), closes it and returns the lines of its file at path,
// parsed, and the file.
func logLines(t *testing.T, l *accesslog.Log, path string, n int) ([]map[string]any, []byte) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); l.Written() < uint64(n); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines written, want %d", l.Written(), n)
		}
	}
	l.Close()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines, data
}

// openLog opens an access log that writes every line, in a file of the
// test's, closed at its end.
func openLog(t *testing.T) (*accesslog.Log, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "access.log")
	l, err := accesslog.Open(path, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, path
}
