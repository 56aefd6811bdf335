package edge

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
)

// TestOriginRules proxies through real origins on loopback as a site's
// origin rules say: HTTPS to an origin (with the rule's port, Host and
// SNI), verification on against the system roots refusing the origin's
// private certificate, follow taking the visitor's scheme, another port
// for plain HTTP, and disabled rules ignored.
func TestOriginRules(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	type seenReq struct {
		tls       bool
		sni, host string
	}
	var (
		mu   sync.Mutex
		seen []seenReq
	)
	record := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s := seenReq{host: r.Host}
			if r.TLS != nil {
				s.tls, s.sni = true, r.TLS.ServerName
			}
			mu.Lock()
			seen = append(seen, s)
			mu.Unlock()
			io.WriteString(w, name)
		})
	}
	last := func() seenReq {
		mu.Lock()
		defer mu.Unlock()
		if len(seen) == 0 {
			return seenReq{}
		}
		return seen[len(seen)-1]
	}
	secure := httptest.NewTLSServer(record("tls origin")) // a certificate no system root trusts
	defer secure.Close()
	plain := httptest.NewServer(record("plain origin"))
	defer plain.Close()
	other := httptest.NewServer(record("other port"))
	defer other.Close()
	port := func(s *httptest.Server) string {
		_, p, _ := net.SplitHostPort(s.Listener.Addr().String())
		return p
	}
	originAddr := plain.Listener.Addr().String()

	rules := []httpsconf.OriginRule{
		{ConfigID: 1, SiteID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "off.example.com")`,
			OriginScheme: "https", OriginHttpsPort: port(secure), OriginHost: "origin.example.net", OriginSni: "sni.example.net", OriginVerify: "off"},
		{ConfigID: 2, SiteID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "on.example.com")`,
			OriginScheme: "https", OriginHttpsPort: port(secure), OriginSni: "example.com", OriginVerify: "on"},
		{ConfigID: 3, SiteID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "follow.example.com")`,
			OriginScheme: "follow", OriginHttpsPort: port(secure)},
		{ConfigID: 4, SiteID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "port.example.com")`,
			OriginHttpPort: port(other)},
		{ConfigID: 5, SiteID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "disabled.example.com")`,
			RuleEnable: "off", OriginScheme: "https", OriginHttpsPort: port(secure)},
	}
	var configs []httpsconf.HTTPSConfig
	for _, r := range rules {
		configs = append(configs, r.Config())
	}
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Policy = sitePolicy(sitePolicies(configs), 1)
	for _, h := range []string{"off", "on", "follow", "port", "disabled", "none"} {
		st.Routes = append(st.Routes, Route{Name: h + ".example.com", Origin: originAddr})
	}
	src := newMemSource()
	src.put(st)
	e, addr := startEdge(t, src, f.sealer)

	client := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		},
	}}
	get := func(url string) (int, string) {
		t.Helper()
		resp, err := client.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	if code, body := get("https://off.example.com/"); code != 200 || body != "tls origin" {
		t.Errorf("verify off: %d %q, want 200 from the TLS origin", code, body)
	}
	if s := last(); !s.tls || s.sni != "sni.example.net" || s.host != "origin.example.net" {
		t.Errorf("verify off: origin saw %+v, want TLS with SNI sni.example.net and Host origin.example.net", s)
	}
	mu.Lock()
	n := len(seen)
	mu.Unlock()
	if code, _ := get("https://on.example.com/"); code != http.StatusBadGateway {
		t.Errorf("verify on, private CA: %d, want 502", code)
	}
	mu.Lock()
	if len(seen) != n {
		t.Error("verify on: the origin with an untrusted certificate was sent the request")
	}
	mu.Unlock()
	if code, body := get("https://follow.example.com/"); code != 200 || body != "tls origin" {
		t.Errorf("follow over HTTPS: %d %q, want the TLS origin", code, body)
	}
	if s := last(); !s.tls || s.sni != "follow.example.com" || s.host != "follow.example.com" {
		t.Errorf("follow over HTTPS: origin saw %+v, want the visitor's host as SNI and Host", s)
	}
	if code, body := get("https://port.example.com/"); code != 200 || body != "other port" {
		t.Errorf("OriginHttpPort: %d %q, want the origin on port %s", code, body, port(other))
	}
	for _, h := range []string{"disabled", "none"} {
		if code, body := get("https://" + h + ".example.com/"); code != 200 || body != "plain origin" {
			t.Errorf("%s: %d %q, want plain HTTP to the record's origin", h, code, body)
		}
	}

	// Plain HTTP visitors: follow stays plain.
	plainEdge := httptest.NewServer(e.HTTPHandler())
	defer plainEdge.Close()
	req, _ := http.NewRequest("GET", plainEdge.URL+"/", nil)
	req.Host = "follow.example.com"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "plain origin" || last().tls {
		t.Errorf("follow over HTTP: %d %q, want plain HTTP to the record's origin", resp.StatusCode, b)
	}
}
