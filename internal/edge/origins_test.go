package edge

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/origin"
	"github.com/esacert/esacert/internal/site"
)

// zone is a resolver that answers from a map, as a DNS server would.
type zone map[string]string

func (z zone) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	a, ok := z[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return []netip.Addr{netip.MustParseAddr(a)}, nil
}

// syncBuffer is a log destination safe for the proxy's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestOriginPolicyWhenConnecting: the edge checks the addresses an origin
// resolves to when it connects. A CNAME whose target resolves to loopback,
// and an A record's loopback address (written before the policy, or while
// allowed), are answered 502 with a page that says the origin is not
// allowed, logged with the reason, and never connected to; allowed, the
// same CNAME is proxied. (Only loopback is used: a test must send nothing
// elsewhere, even when the code under test is wrong.)
func TestOriginPolicyWhenConnecting(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	var hits atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "internal service")
	}))
	defer backend.Close()
	_, port, _ := net.SplitHostPort(backend.Listener.Addr().String())
	dns := zone{"origin.test": "127.0.0.1"}
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{
		{Name: "cname.example.com", Origin: net.JoinHostPort("origin.test", port), OriginHost: "origin.test"},
		{Name: "a.example.com", Origin: net.JoinHostPort("127.0.0.1", port)},
	}
	e, addr := serveEdge(t, &Edge{Source: src1(st), Sealer: f.sealer, Poll: time.Hour, Origins: &origin.Dialer{Resolver: dns}})
	var logs syncBuffer
	e.proxy = newProxy(slog.New(slog.NewTextHandler(&logs, nil)), 0, e.Origins)

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	get := func(host string) (int, string) {
		t.Helper()
		resp, err := client.Get("https://" + host + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, host := range []string{"cname.example.com", "a.example.com"} {
		status, body := get(host)
		if status != http.StatusBadGateway || !strings.Contains(body, "not allowed") || strings.Contains(body, "could not be reached") {
			t.Errorf("%s: %d %q, want 502 saying the origin is not allowed", host, status, body)
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback service behind the CNAME was reached %d times", n)
	}
	for _, want := range []string{"origin not allowed", "origin origin.test (127.0.0.1:" + port + ") is in 127.0.0.0/8 (loopback)",
		"origin 127.0.0.1:" + port + " is in 127.0.0.0/8"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %q:\n%s", want, logs.String())
		}
	}

	// The operator allows loopback: the same CNAME is proxied.
	e.proxy = newProxy(e.log(), 0, &origin.Dialer{Resolver: dns, Policy: origin.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	if status, body := get("cname.example.com"); status != 200 || body != "internal service" {
		t.Errorf("allowed origin: %d %q", status, body)
	}
}
