package edge

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
)

func TestExpiredExactLosesToValidWildcard(t *testing.T) {
	f := newFixture(t)
	old, _ := f.certificate("ecdsa-p256", now.Add(-time.Hour), "www.example.com")
	wild, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, old, wild))
	_, addr := startEdge(t, src, f.sealer)
	chain, err := handshake(t, addr, "www.example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if chain[0].DNSNames[0] != "*.example.com" {
		t.Errorf("served %v, want the valid wildcard", chain[0].DNSNames)
	}
}

func TestNoSessionResumption(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.example.com")
	src := newMemSource()
	src.put(siteState(1, "example.com", site.SiteActive, c))
	_, addr := startEdge(t, src, f.sealer)
	cfg := &tls.Config{ServerName: "www.example.com", InsecureSkipVerify: true, ClientSessionCache: tls.NewLRUClientSessionCache(8)}
	for i := 0; i < 2; i++ {
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		io.ReadAll(io.LimitReader(conn, 0))
		if conn.ConnectionState().DidResume {
			t.Fatal("a session was resumed: it would outlive the certificate's deletion")
		}
		conn.Close()
	}
}

func TestHostMustMatchSNIAndLoopsStop(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	st := siteState(1, "example.com", site.SiteActive, c)
	e, addr := startEdge(t, src1(st), f.sealer)
	loop := httptest.NewServer(e.HTTPHandler())
	defer loop.Close()
	st.Routes = []Route{{Name: "loop.example.com", Origin: strings.TrimPrefix(loop.URL, "http://")},
		{Name: "a.example.com", Origin: strings.TrimPrefix(loop.URL, "http://")}}
	old := DefaultHostPolicy()
	old.MaxVersion = tls.VersionTLS11
	st.Policy.Hosts = map[string]HostPolicy{"old.example.com": old}
	srcReplace(e, st)

	client := func(sni string) *http.Client {
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: sni},
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, network, addr)
			},
		}}
	}
	req, _ := http.NewRequest("GET", "https://a.example.com/", nil)
	req.Host = "b.example.com"
	resp, err := client("a.example.com").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("Host other than SNI: %d, want 421", resp.StatusCode)
	}
	resp, err = client("loop.example.com").Get("https://loop.example.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusLoopDetected {
		t.Errorf("origin pointing back at the edge: %d, want 508", resp.StatusCode)
	}
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: "old.example.com", InsecureSkipVerify: true,
		MinVersion: tls.VersionTLS10, NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
		t.Error("h2 offered on TLS 1.1, where HTTP/2 cannot work")
	}
	conn.Close()
}

func TestRedirectNamesTheHTTPSPort(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	st := siteState(1, "example.com", site.SiteActive, c)
	force := DefaultHostPolicy()
	force.Force = true
	st.Policy.Default = force
	e, _ := startEdge(t, src1(st), f.sealer)
	e.HTTPSPort = "8443"
	plain := httptest.NewServer(e.HTTPHandler())
	defer plain.Close()
	req, _ := http.NewRequest("GET", plain.URL+"/p?q=1", nil)
	req.Host = "www.example.com:8080"
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); got != "https://www.example.com:8443/p?q=1" {
		t.Errorf("redirect to %q", got)
	}
}

func src1(st SiteState) *memSource {
	m := newMemSource()
	m.put(st)
	return m
}

// srcReplace puts st into e's source and applies it.
func srcReplace(e *Edge, st SiteState) {
	e.Source.(*memSource).put(st)
	e.Refresh(context.Background())
}
