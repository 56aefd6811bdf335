package edge

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitesetting"
)

// TestIPv6Off: a site with IPv6 off is not served to clients on IPv6 (the
// handshake fails as for an unknown name, plain HTTP is 404), and is to
// clients on IPv4; other sites are served on both. The client-IP header
// carries the IPv6 address.
func TestIPv6Off(t *testing.T) {
	if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		t.Skipf("this machine has no IPv6 loopback (%v): IPv6 off cannot be tested", err)
	} else {
		ln.Close()
	}
	f := newFixture(t)
	o := newTestOrigin(t, "www.paused.test")
	offCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.off.test")
	onCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.on.test")
	pausedCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "www.paused.test")
	off := siteState(1, "off.test", site.SiteActive, offCert)
	off.Routes = []Route{{Name: "www.off.test", Origin: o.httpAddr}}
	off.Settings.IPv6Off = true
	on := siteState(2, "on.test", site.SiteActive, onCert)
	on.Routes = []Route{{Name: "www.on.test", Origin: o.httpAddr}}
	on.Settings.RealClientIPHeader = "Ali-Real-Client-IP"
	pausedOff := siteState(3, "paused.test", site.SiteActive, pausedCert)
	pausedOff.Routes = []Route{{Name: "www.paused.test", Origin: o.httpAddr}}
	pausedOff.Settings = sitesetting.Settings{Paused: true, IPv6Off: true}
	src := newMemSource()
	src.put(off)
	src.put(on)
	src.put(pausedOff)
	e, addr4 := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, originTLSPort: o.tlsPort})
	addr6 := listenTLS(t, e, "tcp6", "[::1]:0")
	plain4 := httptest.NewServer(e.HTTPHandler())
	t.Cleanup(plain4.Close)
	ln6, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	plain6 := &http.Server{Handler: e.HTTPHandler(), ReadHeaderTimeout: 5 * time.Second}
	go plain6.Serve(ln6)
	t.Cleanup(func() { plain6.Close() })

	tests := []struct {
		name    string
		addr    string
		plain   string
		host    string
		served  bool
		fromEdg bool
	}{
		{"fail/off_over_ipv6", addr6, ln6.Addr().String(), "www.off.test", false, true},
		{"ok/off_over_ipv4", addr4, strings.TrimPrefix(plain4.URL, "http://"), "www.off.test", true, true},
		{"ok/on_over_ipv6", addr6, ln6.Addr().String(), "www.on.test", true, true},
		{"fail/paused_and_off_over_ipv6", addr6, ln6.Addr().String(), "www.paused.test", false, false},
		{"ok/paused_and_off_over_ipv4", addr4, strings.TrimPrefix(plain4.URL, "http://"), "www.paused.test", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chain, err := handshake(t, tt.addr, tt.host, nil)
			switch {
			case !tt.served && (err == nil || !strings.Contains(err.Error(), "unrecognized name")):
				t.Errorf("handshake: %v, want unrecognized_name", err)
			case tt.served && err != nil:
				t.Errorf("handshake: %v", err)
			case tt.served && (chain[0].Issuer.CommonName == "Edge Intermediate") != tt.fromEdg:
				t.Errorf("served %s (issuer %s)", chain[0].Subject, chain[0].Issuer)
			}
			resp, _ := get(t, edgeClient(tt.plain, nil), "http://"+tt.host+"/")
			if want := map[bool]int{true: 200, false: 404}[tt.served]; resp.StatusCode != want {
				t.Errorf("plain HTTP: %d, want %d", resp.StatusCode, want)
			}
		})
	}
	t.Run("ok/client_ip_header_over_ipv6", func(t *testing.T) {
		c := edgeClient(addr6, &tls.Config{InsecureSkipVerify: true})
		get(t, c, "https://www.on.test/", "Ali-Real-Client-IP", "192.0.2.1")
		if got := o.seen().Header.Values("Ali-Real-Client-IP"); len(got) != 1 || got[0] != "::1" {
			t.Errorf("origin saw Ali-Real-Client-IP %q, want [::1]", got)
		}
	})
}

// TestRealClientIPHeader: the header carries the client's address on
// requests proxied over HTTPS and HTTP, replacing what the client sent
// under any spelling; a site without it adds none, and passes none on.
func TestRealClientIPHeader(t *testing.T) {
	f := newFixture(t)
	o := newTestOrigin(t, "www.example.com")
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Routes = []Route{{Name: "www.example.com", Origin: o.httpAddr}}
	st.Settings.RealClientIPHeader = "ali-real-client-ip"
	src := newMemSource()
	src.put(st)
	e, addr := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour})
	plain := httptest.NewServer(e.HTTPHandler())
	t.Cleanup(plain.Close)
	https := edgeClient(addr, &tls.Config{InsecureSkipVerify: true})
	for _, tt := range []struct {
		name   string
		client *http.Client
		url    string
		sent   []string
	}{
		{"ok/https", https, "https://www.example.com/", []string{"Ali-Real-Client-IP", "203.0.113.9"}},
		{"ok/http", edgeClient(strings.TrimPrefix(plain.URL, "http://"), nil), "http://www.example.com/", []string{"ALI-REAL-CLIENT-IP", "203.0.113.9"}},
		{"ok/none_sent", https, "https://www.example.com/", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			get(t, tt.client, tt.url, tt.sent...)
			if got := o.seen().Header.Values("Ali-Real-Client-Ip"); len(got) != 1 || got[0] != "127.0.0.1" {
				t.Errorf("origin saw %q, want [127.0.0.1]", got)
			}
		})
	}
	st.Settings.RealClientIPHeader = ""
	src.put(st)
	e.Refresh(context.Background())
	get(t, https, "https://www.example.com/", "Ali-Real-Client-IP", "203.0.113.9")
	if got := o.seen().Header.Values("Ali-Real-Client-Ip"); len(got) != 1 || got[0] != "203.0.113.9" {
		t.Errorf("without the setting the origin saw %q, want the client's header untouched", got)
	}
}

// TestOverIPv6 tells IPv6 connections from IPv4 ones, IPv4-mapped included.
func TestOverIPv6(t *testing.T) {
	tests := []struct {
		name   string
		remote string
		want   bool
	}{
		{"ok/ipv4", "127.0.0.1:1", false},
		{"ok/ipv4_mapped", "[::ffff:127.0.0.1]:1", false},
		{"ok/ipv6", "[::1]:1", true},
		{"ok/ipv6_zone", "[fe80::1%lo]:1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := net.ResolveTCPAddr("tcp", tt.remote)
			if err != nil {
				t.Fatal(err)
			}
			if tt.name == "ok/ipv4_mapped" {
				a.IP = a.IP.To16() // as a dual-stack socket reports it
			}
			if got := overIPv6(addrConn{remote: a}); got != tt.want {
				t.Errorf("overIPv6(%s) = %v, want %v", a, got, tt.want)
			}
			if got := requestOverIPv6(&http.Request{RemoteAddr: tt.remote}); got != tt.want {
				t.Errorf("requestOverIPv6(%s) = %v, want %v", tt.remote, got, tt.want)
			}
		})
	}
	if overIPv6(nil) {
		t.Error("a nil connection is IPv6")
	}
}

// addrConn is a connection that has only addresses.
type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }
func (c addrConn) LocalAddr() net.Addr  { return c.remote }
