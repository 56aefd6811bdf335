package clienttest

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

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/pkitest"
)

func init() {
	for action, method := range map[string]string{"CreateOriginRule": "POST", "GetOriginRule": "GET",
		"ListOriginRules": "GET", "UpdateOriginRule": "POST", "DeleteOriginRule": "POST"} {
		sdkMethods[action] = method
	}
}

// TestEdgeHonoursOriginRules: an origin rule made through the API turns a
// host's origin traffic into HTTPS within a second, through the change
// feed, and updating it to verify the origin's private certificate
// against the system roots stops the traffic (502) within a second.
func TestEdgeHonoursOriginRules(t *testing.T) {
	origin := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			io.WriteString(w, "plain")
			return
		}
		io.WriteString(w, "tls "+r.TLS.ServerName)
	}))
	defer origin.Close()
	_, port, _ := net.SplitHostPort(origin.Listener.Addr().String())
	n := startNodeOn(t, "", accesskey.Key{})
	c := teaKind(false).make(t, n.addr, n.key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Origin Rules Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"*.origin-e2e.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "origin-e2e.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	// The record names the origin's address with port 1: only the rule's
	// OriginHttpsPort reaches it.
	mustOK(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "app.origin-e2e.com", "Type": "A/AAAA",
		"Proxied": "true", "BizName": "web", "Ttl": "1", "Data": `{"Value":"127.0.0.1:1"}`})
	configID := str(mustOK(t, c, "CreateOriginRule", map[string]string{"SiteId": siteID, "RuleName": "tls",
		"Rule": `(http.host eq "app.origin-e2e.com")`, "RuleEnable": "on", "OriginScheme": "https", "OriginHttpsPort": port,
		"OriginSni": "backend.origin-e2e.net", "OriginVerify": "off"})["ConfigId"])

	edgeAddr := n.node.HTTPSAddr()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, edgeAddr)
		},
	}}
	get := func() (int, string) {
		resp, err := client.Get("https://app.origin-e2e.com/")
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var body string
	if took, ok := within(time.Second, func() bool {
		var code int
		code, body = get()
		return code == 200
	}); !ok {
		t.Fatalf("the edge did not reach the HTTPS origin within 1s (%v): %q", took, body)
	}
	if body != "tls backend.origin-e2e.net" {
		t.Errorf("origin answered %q, want TLS with the rule's SNI", body)
	}
	mustOK(t, c, "UpdateOriginRule", map[string]string{"SiteId": siteID, "ConfigId": configID, "OriginVerify": "on"})
	if took, ok := within(time.Second, func() bool { code, _ := get(); return code == http.StatusBadGateway }); !ok {
		t.Errorf("verification on: the edge still reaches an origin with an untrusted certificate after %v", took)
	}
	if !strings.Contains(str(mustOK(t, c, "GetOriginRule", map[string]string{"SiteId": siteID, "ConfigId": configID})["OriginVerify"]), "on") {
		t.Error("GetOriginRule does not answer OriginVerify=on")
	}
}
