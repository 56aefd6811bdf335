package clienttest

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/pkitest"
)

// served returns the SHA-256 of the leaf the edge serves for name, or "".
func served(addr, name string) string {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: name, InsecureSkipVerify: true})
	if err != nil {
		return ""
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].Raw)
	return hex.EncodeToString(sum[:])
}

// within polls until cond holds, for at most d; it reports how long it took.
func within(d time.Duration, cond func() bool) (time.Duration, bool) {
	start := time.Now()
	for {
		if cond() {
			return time.Since(start), true
		}
		if time.Since(start) > d {
			return time.Since(start), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEdgeServesWhatTheAPISets: a certificate set through a real client is
// served by the node's edge within a second; a replacement too; a deleted
// one stops being served; a deleted site takes its names with it.
func TestEdgeServesWhatTheAPISets(t *testing.T) {
	n := startNodeOn(t, "", accesskey.Key{})
	c := teaKind(false).make(t, n.addr, n.key, false)
	edgeAddr := n.node.HTTPSAddr()
	now := time.Now()
	ca := pkitest.NewCA(t, "Edge E2E Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	v1 := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.edge-e2e.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	v2 := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.edge-e2e.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})

	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "edge-e2e.com"})["SiteId"])
	if served(edgeAddr, "www.edge-e2e.com") != "" {
		t.Fatal("a certificate is served before any was set")
	}
	id := str(mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": v1.ChainPEM, "PrivateKey": v1.KeyPEM})["Id"])
	if took, ok := within(time.Second, func() bool { return served(edgeAddr, "www.edge-e2e.com") == fingerprint(v1.Cert.Raw) }); !ok {
		t.Fatalf("the new certificate was not served within 1s (%v)", took)
	}
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Id": id,
		"Certificate": v2.ChainPEM, "PrivateKey": v2.KeyPEM})
	if took, ok := within(time.Second, func() bool { return served(edgeAddr, "www.edge-e2e.com") == fingerprint(v2.Cert.Raw) }); !ok {
		t.Fatalf("the replaced certificate was not served within 1s (%v)", took)
	}
	if path, err := exec.LookPath("curl"); err == nil {
		// What a user runs: curl --resolve against the edge.
		host, port, _ := net.SplitHostPort(edgeAddr)
		out, _ := exec.Command(path, "-sv", "-k", "--max-time", "5", "--resolve", "www.edge-e2e.com:"+port+":"+host,
			"https://www.edge-e2e.com:"+port+"/").CombinedOutput()
		if !strings.Contains(string(out), "subject:") || !strings.Contains(string(out), "www.edge-e2e.com") {
			t.Errorf("curl --resolve did not see the certificate:\n%s", out)
		}
	}
	mustOK(t, c, "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": id})
	if took, ok := within(time.Second, func() bool { return served(edgeAddr, "www.edge-e2e.com") == "" }); !ok {
		t.Fatalf("the deleted certificate was still served after 1s (%v)", took)
	}
	id = str(mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": v1.ChainPEM, "PrivateKey": v1.KeyPEM})["Id"])
	within(time.Second, func() bool { return served(edgeAddr, "www.edge-e2e.com") != "" })
	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": siteID})
	if took, ok := within(time.Second, func() bool { return served(edgeAddr, "www.edge-e2e.com") == "" }); !ok {
		t.Fatalf("a deleted site's certificate was still served after 1s (%v)", took)
	}
}

// TestEdgeProxiesToTheOrigin: a proxied record set through a real client
// makes the edge answer for its name over HTTPS with the uploaded
// certificate, and forward to the origin with the X-Forwarded headers.
func TestEdgeProxiesToTheOrigin(t *testing.T) {
	var got struct {
		sync.Mutex
		host, proto, fwdHost, fwdFor string
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Lock()
		got.host, got.proto, got.fwdHost, got.fwdFor = r.Host, r.Header.Get("X-Forwarded-Proto"),
			r.Header.Get("X-Forwarded-Host"), r.Header.Get("X-Forwarded-For")
		got.Unlock()
		io.WriteString(w, "origin says hi")
	}))
	defer origin.Close()
	n := startNodeOn(t, "", accesskey.Key{})
	c := teaKind(false).make(t, n.addr, n.key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Proxy E2E Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"app.proxy-e2e.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "proxy-e2e.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	mustOK(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "app.proxy-e2e.com", "Type": "A/AAAA",
		"Proxied": "true", "BizName": "web", "Ttl": "1",
		"Data": `{"Value":"` + strings.TrimPrefix(origin.URL, "http://") + `"}`})

	edgeAddr := n.node.HTTPSAddr()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true},
		ForceAttemptHTTP2: true,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, edgeAddr)
		},
	}}
	var body, proto string
	if took, ok := within(time.Second, func() bool {
		resp, err := client.Get("https://app.proxy-e2e.com/hello")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body, proto = string(b), resp.Proto
		return resp.StatusCode == 200
	}); !ok {
		t.Fatalf("the edge did not proxy within 1s (%v): %q", took, body)
	}
	if body != "origin says hi" {
		t.Fatalf("body %q", body)
	}
	if proto != "HTTP/2.0" {
		t.Errorf("the edge answered over %s, want HTTP/2 (ALPN h2)", proto)
	}
	got.Lock()
	defer got.Unlock()
	if got.host != "app.proxy-e2e.com" || got.proto != "https" || got.fwdHost != "app.proxy-e2e.com" || got.fwdFor != "127.0.0.1" {
		t.Errorf("origin saw Host %q, X-Forwarded-Proto %q, -Host %q, -For %q", got.host, got.proto, got.fwdHost, got.fwdFor)
	}
}

// TestEdgeHonoursHTTPSSettings: settings made through the API change what
// the edge does: TLS versions and HTTPS on/off per site and per host, forced
// HTTPS with its code, and HSTS.
func TestEdgeHonoursHTTPSSettings(t *testing.T) {
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer origin.Close()
	n := startNodeOn(t, "", accesskey.Key{})
	c := teaKind(false).make(t, n.addr, n.key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Settings Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"*.settings-e2e.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "settings-e2e.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	for _, name := range []string{"www", "off", "app"} {
		mustOK(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": name + ".settings-e2e.com", "Type": "A/AAAA",
			"Proxied": "true", "BizName": "web", "Ttl": "1", "Data": `{"Value":"` + strings.TrimPrefix(origin.URL, "http://") + `"}`})
	}
	// Site-wide: TLS 1.3 only. One host: HTTPS off. Another: forced HTTPS (307) and HSTS.
	mustOK(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "Tls10": "off", "Tls11": "off", "Tls12": "off", "Tls13": "on"})
	mustOK(t, c, "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "RuleName": "no-https",
		"Rule": `(http.host eq "off.settings-e2e.com")`, "RuleEnable": "on", "Https": "off"})
	mustOK(t, c, "CreateHttpsApplicationConfiguration", map[string]string{"SiteId": siteID, "RuleName": "force",
		"Rule": `(http.host eq "app.settings-e2e.com")`, "RuleEnable": "on", "HttpsForce": "on", "HttpsForceCode": "307",
		"Hsts": "on", "HstsMaxAge": "600", "HstsIncludeSubdomains": "on"})

	edgeAddr := n.node.HTTPSAddr()
	dial := func(host string, maxVer uint16) error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", edgeAddr,
			&tls.Config{ServerName: host, InsecureSkipVerify: true, MaxVersion: maxVer})
		if err == nil {
			conn.Close()
		}
		return err
	}
	// Wait for the edge to serve the site with its settings: a TLS 1.3
	// client gets through (so the certificate is loaded; before that a TLS
	// 1.2 client fails too, for another reason) and a TLS 1.2 one does not.
	if took, ok := within(2*time.Second, func() bool {
		return dial("www.settings-e2e.com", 0) == nil && dial("www.settings-e2e.com", tls.VersionTLS12) != nil
	}); !ok {
		t.Fatalf("after %v: a TLS 1.3 client is refused (%v) or a TLS 1.2 client gets through a TLS 1.3-only site (%v)",
			took, dial("www.settings-e2e.com", 0), dial("www.settings-e2e.com", tls.VersionTLS12))
	}
	if _, ok := within(time.Second, func() bool { return dial("off.settings-e2e.com", 0) != nil }); !ok {
		t.Error("a host with HTTPS off still gets a certificate")
	}
	plain := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var resp *http.Response
	forced := func() bool {
		req, _ := http.NewRequest("GET", "http://"+n.node.HTTPAddr()+"/x?y=1", nil)
		req.Host = "app.settings-e2e.com"
		r, err := plain.Do(req)
		if err != nil {
			return false
		}
		r.Body.Close()
		resp = r
		return r.StatusCode == 307
	}
	if took, ok := within(time.Second, forced); !ok {
		t.Fatalf("forced HTTPS not in effect after %v: %d", took, resp.StatusCode)
	}
	if !strings.HasPrefix(resp.Header.Get("Location"), "https://app.settings-e2e.com") {
		t.Errorf("forced HTTPS redirects to %q", resp.Header.Get("Location"))
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, edgeAddr)
		},
	}}
	resp, err := client.Get("https://app.settings-e2e.com/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Strict-Transport-Security"); got != "max-age=600; includeSubDomains" {
		t.Errorf("HSTS = %q", got)
	}
}
