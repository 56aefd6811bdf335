package node

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// originClasses are proxied record values in each range refused by default,
// with the range the refusal must name.
var originClasses = []struct {
	name, typ, value, why string
}{
	{"loopback", "A/AAAA", "127.0.0.1:8787", "127.0.0.0/8 (loopback)"},
	{"loopback_v6", "A/AAAA", "192.0.2.1,[::1]:8787", "::1/128 (loopback)"},
	{"unspecified", "A/AAAA", "0.0.0.0:8787", "0.0.0.0/32 (unspecified)"},
	{"unspecified_v6", "A/AAAA", "192.0.2.1,::", "::/128 (unspecified)"},
	{"metadata", "A/AAAA", "169.254.169.254", "169.254.0.0/16 (link-local"},
	{"link_local_v6", "A/AAAA", "192.0.2.1,fe80::1", "fe80::/10 (link-local)"},
	{"private_10", "A/AAAA", "10.0.0.1", "10.0.0.0/8 (private)"},
	{"private_172", "A/AAAA", "172.16.0.1", "172.16.0.0/12 (private)"},
	{"private_192", "A/AAAA", "192.168.0.1", "192.168.0.0/16 (private)"},
	{"unique_local", "A/AAAA", "192.0.2.1,fd00::1", "fc00::/7 (unique local (private))"},
	{"cgnat", "A/AAAA", "100.64.0.1", "100.64.0.0/10 (shared (carrier-grade NAT))"},
	{"multicast", "A/AAAA", "224.0.0.1", "224.0.0.0/4 (multicast)"},
	{"multicast_v6", "A/AAAA", "192.0.2.1,ff02::1", "ff00::/8 (multicast)"},
	{"broadcast", "A/AAAA", "255.255.255.255", "255.255.255.255/32 (broadcast)"},
	{"mapped_loopback", "A/AAAA", "192.0.2.1,::ffff:127.0.0.1", "127.0.0.0/8 (loopback)"},
	{"mapped_metadata", "A/AAAA", "192.0.2.1,::ffff:169.254.169.254", "169.254.0.0/16 (link-local"},
	{"cname_localhost", "CNAME", "localhost:8787", "origin localhost (127.0.0.1) is in 127.0.0.0/8 (loopback)"},
	{"cname_under_localhost", "CNAME", "admin.localhost", "origin admin.localhost (127.0.0.1) is in 127.0.0.0/8"},
}

// allowEveryClass allows each range of originClasses.
const allowEveryClass = "127.0.0.0/8,::1/128,0.0.0.0/32,::/128,169.254.0.0/16,fe80::/10,10.0.0.0/8,172.16.0.0/12," +
	"192.168.0.0/16,fc00::/7,100.64.0.0/10,224.0.0.0/4,ff00::/8,255.255.255.255/32"

// TestOriginPolicyThroughTheAPI: by default, a proxied record whose origin
// is in a range that is not public is refused by CreateRecord, UpdateRecord
// and BatchCreateRecords with InvalidParameter naming Data, the range and
// the setting; an unproxied one is DNS data and accepted. Restarted with
// the ranges in --private-origins, the node accepts them all.
func TestOriginPolicyThroughTheAPI(t *testing.T) {
	cfg := testConfig(t)
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	site := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "origins.com"})["SiteId"])
	create := func(n *Node, name, typ, value, proxied string) error {
		return callErr(t, n, "2024-09-10", "CreateRecord", map[string]string{"SiteId": site, "RecordName": name + ".origins.com",
			"Type": typ, "Proxied": proxied, "BizName": "web", "Data": `{"Value":"` + value + `"}`})
	}
	for _, tt := range originClasses {
		t.Run("fail/"+tt.name, func(t *testing.T) {
			err := create(n, strings.ReplaceAll(tt.name, "_", "-"), tt.typ, tt.value, "true")
			msg := "The specified parameter Data is invalid: Value: origin "
			if err == nil || !strings.Contains(err.Error(), "Code: InvalidParameter\n") || !strings.Contains(err.Error(), msg) ||
				!strings.Contains(err.Error(), tt.why) || !strings.Contains(err.Error(), "--private-origins (ESACERT_PRIVATE_ORIGINS)") {
				t.Errorf("CreateRecord %s: %v, want InvalidParameter naming Data, %s and the setting", tt.value, err, tt.why)
			}
		})
	}
	if err := create(n, "dns-only", "A/AAAA", "10.0.0.1,127.0.0.1", "false"); err != nil {
		t.Fatalf("an unproxied record with private addresses: %v", err)
	}
	public := call(t, n, "2024-09-10", "CreateRecord", map[string]string{"SiteId": site, "RecordName": "public.origins.com",
		"Type": "A/AAAA", "Proxied": "true", "BizName": "web", "Data": `{"Value":"192.0.2.10"}`})
	err = callErr(t, n, "2024-09-10", "UpdateRecord", map[string]string{"RecordId": jsonNumber(public["RecordId"]),
		"Data": `{"Value":"169.254.169.254:80"}`})
	if err == nil || !strings.Contains(err.Error(), "Code: InvalidParameter\n") || !strings.Contains(err.Error(), "169.254.0.0/16") {
		t.Errorf("UpdateRecord to the metadata address: %v", err)
	}
	batch := call(t, n, "2024-09-10", "BatchCreateRecords", map[string]string{"SiteId": site, "RecordList": `[
		{"RecordName": "b1.origins.com", "Type": "A/AAAA", "Proxied": true, "BizName": "web", "Data": {"Value": "192.168.1.1"}},
		{"RecordName": "b2.origins.com", "Type": "A/AAAA", "Proxied": true, "BizName": "web", "Data": {"Value": "192.0.2.20"}}]`})
	list := batch["RecordResultList"].(map[string]any)
	failed := list["Failed"].([]any)
	if len(failed) != 1 || !strings.Contains(failed[0].(map[string]any)["Description"].(string), "The specified parameter Data is invalid: Value: origin 192.168.1.1 is in 192.168.0.0/16") ||
		len(list["Success"].([]any)) != 1 {
		t.Errorf("BatchCreateRecords: %v", list)
	}
	stop(t, n)

	cfg.PrivateOrigins = allowEveryClass
	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	for _, tt := range originClasses {
		t.Run("ok/"+tt.name, func(t *testing.T) {
			if err := create(n, strings.ReplaceAll(tt.name, "_", "-"), tt.typ, tt.value, "true"); err != nil {
				t.Errorf("CreateRecord %s with %s allowed: %v", tt.value, allowEveryClass, err)
			}
		})
	}
}

// edgeGet asks the node's plain-HTTP edge for path on host, until it
// answers other than 404 (the edge applies a new record within a moment)
// or 5 seconds pass.
func edgeGet(t *testing.T, n *Node, host, path string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for {
		req, _ := http.NewRequest("GET", "http://"+n.HTTPAddr()+path, nil)
		req.Host = host
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound || time.Now().After(deadline) {
			return resp.StatusCode, string(body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOriginDisallowedAfterARestart: a record written while its range was
// allowed is proxied; once the node restarts without the range, the edge
// refuses it when it connects (502, origin not allowed) and the origin
// sees nothing more.
func TestOriginDisallowedAfterARestart(t *testing.T) {
	var hits atomic.Int32
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		io.WriteString(w, "private service")
	}))
	defer backend.Close()
	cfg := testConfig(t)
	cfg.PrivateOrigins = "127.0.0.0/8"
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	site := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "restart.com"})["SiteId"])
	call(t, n, "2024-09-10", "CreateRecord", map[string]string{"SiteId": site, "RecordName": "www.restart.com", "Type": "A/AAAA",
		"Proxied": "true", "BizName": "web", "Data": `{"Value":"` + backend.Listener.Addr().String() + `"}`})
	if status, body := edgeGet(t, n, "www.restart.com", "/"); status != 200 || body != "private service" {
		t.Fatalf("allowed origin: %d %q", status, body)
	}
	stop(t, n)

	cfg.PrivateOrigins = ""
	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	before := hits.Load()
	if status, body := edgeGet(t, n, "www.restart.com", "/"); status != http.StatusBadGateway || !strings.Contains(body, "not allowed") {
		t.Errorf("origin no longer allowed: %d %q, want 502 saying it is not allowed", status, body)
	}
	if hits.Load() != before {
		t.Error("the origin was reached after its range was disallowed")
	}
}

// TestEdgeRefusesTheNodesOwnListeners: with all of loopback allowed, a
// record may name the node's API or edge address, but the edge never
// connects to them: /healthz of the API asked through a site's host name
// is answered 502 (origin not allowed), not by the API.
func TestEdgeRefusesTheNodesOwnListeners(t *testing.T) {
	cfg := testConfig(t)
	cfg.PrivateOrigins = "127.0.0.0/8"
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	site := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "own.com"})["SiteId"])
	for name, addr := range map[string]string{"api": n.APIAddr(), "http": n.HTTPAddr(), "https": n.HTTPSAddr()} {
		call(t, n, "2024-09-10", "CreateRecord", map[string]string{"SiteId": site, "RecordName": name + ".own.com", "Type": "A/AAAA",
			"Proxied": "true", "BizName": "web", "Data": `{"Value":"` + addr + `"}`})
	}
	if _, port, _ := net.SplitHostPort(n.APIAddr()); port == "" {
		t.Fatal("no API address")
	}
	for _, host := range []string{"api.own.com", "http.own.com", "https.own.com"} {
		status, body := edgeGet(t, n, host, "/healthz")
		if status != http.StatusBadGateway || !strings.Contains(body, "not allowed") || strings.Contains(body, "ok\n") {
			t.Errorf("%s/healthz: %d %q, want 502 saying the origin is not allowed", host, status, body)
		}
	}
}
