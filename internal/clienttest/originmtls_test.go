package clienttest

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/origintest"
	"github.com/esacert/esacert/internal/pkitest"
)

func init() {
	for action, method := range map[string]string{
		"UploadOriginCaCertificate": "POST", "GetOriginCaCertificate": "GET", "ListOriginCaCertificates": "GET",
		"DeleteOriginCaCertificate": "GET", "UploadOriginClientCertificate": "POST", "GetOriginClientCertificate": "GET",
		"ListOriginClientCertificates": "GET", "DeleteOriginClientCertificate": "GET",
		"SetOriginClientCertificateHostnames": "POST", "GetOriginClientCertificateHostnames": "GET",
		"UploadSiteOriginClientCertificate": "POST", "GetSiteOriginClientCertificate": "GET",
		"ListSiteOriginClientCertificates": "GET", "DeleteSiteOriginClientCertificate": "GET"} {
		sdkMethods[action] = method
	}
}

// TestEdgeOriginTLSThroughTheAPI drives a running node with the Go SDK:
// an HTTPS origin with a private CA is refused with OriginVerify=on until
// UploadOriginCaCertificate, then reached, and refused again once the CA is
// deleted; a wrong OriginSni fails, OriginVerify=off connects. An origin
// that requires a client certificate refuses the edge without OriginMtls,
// and is served the origin client certificate whose hostnames name the host
// with OriginMtls=on, or the site origin client certificate; deleting them
// makes it refuse the edge again. Each change reaches the edge within a
// second, through the change feed.
func TestEdgeOriginTLSThroughTheAPI(t *testing.T) {
	pki := origintest.NewPKI(t)
	plainPort, mtlsPort := pki.Start(t, "backend.origin-mtls.internal", false), pki.Start(t, "backend.origin-mtls.internal", true)
	n := startNodeOn(t, "", accesskey.Key{})
	c := teaKind(false).make(t, n.addr, n.key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Origin mTLS Edge Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	edgeLeaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"*.origin-mtls.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "origin-mtls.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": edgeLeaf.ChainPEM, "PrivateKey": edgeLeaf.KeyPEM})
	type hostRule struct{ host, port, sni, verify, mtls string }
	for _, r := range []hostRule{
		{"verify", plainPort, "backend.origin-mtls.internal", "on", "off"},
		{"wrongsni", plainPort, "elsewhere.origin-mtls.internal", "on", "off"},
		{"noverify", plainPort, "elsewhere.origin-mtls.internal", "off", "off"},
		{"nomtls", mtlsPort, "backend.origin-mtls.internal", "on", "off"},
		{"mtls", mtlsPort, "backend.origin-mtls.internal", "on", "on"},
		{"sitewide", mtlsPort, "backend.origin-mtls.internal", "on", "on"},
	} {
		host := r.host + ".origin-mtls.com"
		mustOK(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": host, "Type": "A/AAAA",
			"Proxied": "true", "BizName": "web", "Ttl": "1", "Data": `{"Value":"127.0.0.1:1"}`})
		mustOK(t, c, "CreateOriginRule", map[string]string{"SiteId": siteID, "RuleName": r.host, "Rule": `(http.host eq "` + host + `")`,
			"RuleEnable": "on", "OriginScheme": "https", "OriginHttpsPort": r.port, "OriginSni": r.sni, "OriginVerify": r.verify,
			"OriginMtls": r.mtls})
	}
	get := origintest.Visitor(t, n.node.HTTPSAddr())
	// becomes waits until host answers code (and body, when given).
	becomes := func(step, host string, code int, body string) {
		t.Helper()
		var gotCode int
		var gotBody string
		if took, ok := within(time.Second, func() bool {
			gotCode, gotBody = get("https://" + host + ".origin-mtls.com/")
			return gotCode == code && (body == "" || gotBody == body)
		}); !ok {
			t.Fatalf("%s: %s answered %d %q after %v, want %d %q", step, host, gotCode, gotBody, took, code, body)
		}
	}
	becomes("verify off", "noverify", 200, "no client certificate")
	becomes("no origin CA yet", "verify", http.StatusBadGateway, "")

	caID := str(mustOK(t, c, "UploadOriginCaCertificate", map[string]string{"SiteId": siteID, "Name": "origin-root",
		"Certificate": pki.ServerCA.CertPEM})["Id"])
	becomes("origin CA uploaded", "verify", 200, "no client certificate")
	becomes("origin CA uploaded, wrong SNI", "wrongsni", http.StatusBadGateway, "")
	becomes("origin requires a client certificate, OriginMtls off", "nomtls", http.StatusBadGateway, "")
	becomes("OriginMtls on, no certificate yet", "mtls", http.StatusBadGateway, "")

	hostLeaf := pki.ClientLeaf(t, "edge-hostname")
	hostID := str(mustOK(t, c, "UploadOriginClientCertificate", map[string]string{"SiteId": siteID, "Name": "edge-hostname",
		"Certificate": hostLeaf.ChainPEM, "PrivateKey": hostLeaf.KeyPEM})["Id"])
	mustOK(t, c, "SetOriginClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": hostID,
		"Hostnames": `["mtls.origin-mtls.com"]`})
	becomes("hostname-level certificate", "mtls", 200, "client edge-hostname")
	becomes("hostname-level certificate, OriginMtls off", "nomtls", http.StatusBadGateway, "")
	becomes("hostname-level certificate for another host", "sitewide", http.StatusBadGateway, "")

	siteLeaf := pki.ClientLeaf(t, "edge-site")
	siteCertID := str(mustOK(t, c, "UploadSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Name": "edge-site",
		"Certificate": siteLeaf.ChainPEM, "PrivateKey": siteLeaf.KeyPEM})["Id"])
	becomes("site-level certificate", "sitewide", 200, "client edge-site")
	becomes("site-level certificate beside the hostname-level one", "mtls", 200, "client edge-hostname")

	mustOK(t, c, "DeleteOriginClientCertificate", map[string]string{"SiteId": siteID, "Id": hostID})
	becomes("hostname-level certificate deleted", "mtls", 200, "client edge-site")
	mustOK(t, c, "DeleteSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Id": siteCertID})
	becomes("site-level certificate deleted", "mtls", http.StatusBadGateway, "")
	becomes("site-level certificate deleted", "sitewide", http.StatusBadGateway, "")

	mustOK(t, c, "DeleteOriginCaCertificate", map[string]string{"SiteId": siteID, "Id": caID})
	becomes("origin CA deleted", "verify", http.StatusBadGateway, "")
	becomes("origin CA deleted, verify off", "noverify", 200, "no client certificate")
}

// runSiteOriginClientScenario uploads, reads, lists and deletes a site
// origin client certificate with one client, and checks that the
// hostname-level family does not see it.
func runSiteOriginClientScenario(t *testing.T, c caller, prefix string) {
	now := time.Now()
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": prefix + "-site-origin.com"})["SiteId"])
	ca := pkitest.NewCA(t, "Site Origin Client Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{CommonName: "edge." + prefix, DNSNames: []string{"edge." + prefix + ".test"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30*24*time.Hour + time.Hour), ClientAuth: true})
	up := mustOK(t, c, "UploadSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Name": "edge-site",
		"Certificate": leaf.CertPEM, "PrivateKey": leaf.KeyPEM})
	id := str(up["Id"])
	if id == "" || str(up["CommonName"]) != "edge."+prefix || str(up["Status"]) != "OK" || str(up["ValidityDays"]) != "30" {
		t.Fatalf("UploadSiteOriginClientCertificate answered %v", up)
	}
	got := mustOK(t, c, "GetSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Id": id})
	if str(got["Certificate"]) != leaf.CertPEM || str(dig(got, "Result.Id")) != id || str(dig(got, "Result.Name")) != "edge-site" ||
		str(dig(got, "Result.Type")) != "upload" || str(got["SiteId"]) != siteID {
		t.Errorf("GetSiteOriginClientCertificate answered %v", got)
	}
	for k, v := range got {
		if s, ok := v.(string); ok && strings.Contains(s, "PRIVATE KEY") {
			t.Errorf("GetSiteOriginClientCertificate answers the private key in %s", k)
		}
	}
	list := mustOK(t, c, "ListSiteOriginClientCertificates", map[string]string{"SiteId": siteID})
	if str(list["TotalCount"]) != "1" || str(dig(list, "Result.0.Id")) != id {
		t.Errorf("ListSiteOriginClientCertificates answered %v", list)
	}
	if l := mustOK(t, c, "ListOriginClientCertificates", map[string]string{"SiteId": siteID}); str(l["TotalCount"]) != "0" {
		t.Errorf("the hostname-level list holds the site-level certificate: %v", l)
	}
	mustFail(t, c, "GetOriginClientCertificate", map[string]string{"SiteId": siteID, "Id": id}, 404, "Certificate.NotFound")
	mustFail(t, c, "UploadSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Certificate": leaf.CertPEM},
		400, "PrivateKey.MissingParameter")
	mustOK(t, c, "DeleteSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Id": id})
	mustFail(t, c, "GetSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Id": id}, 404, "Certificate.NotFound")
	mustFail(t, c, "DeleteSiteOriginClientCertificate", map[string]string{"SiteId": siteID, "Id": id}, 404, "Certificate.NotFound")
}

// TestSiteOriginClientCertificatesWithClients runs the site origin client
// certificate scenario with the Go SDK (both signatures).
func TestSiteOriginClientCertificatesWithClients(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range []clientKind{teaKind(false), teaKind(true)} {
		t.Run(k.name, func(t *testing.T) {
			runSiteOriginClientScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// TestNodeClientsManageSiteOriginClientCertificates runs it with the
// official Node.js ESA SDK's typed methods (both signatures) and pop-core.
func TestNodeClientsManageSiteOriginClientCertificates(t *testing.T) {
	d := startDriver(t)
	addr, key := startNode(t)
	for _, k := range nodeKinds(d) {
		t.Run(k.name, func(t *testing.T) {
			runSiteOriginClientScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
}

// TestTerraformSiteOriginClientCertificate replays
// alicloud_esa_site_origin_client_certificate as the provider sends it:
// create with RpcPost UploadSiteOriginClientCertificate (SiteId,
// Certificate, PrivateKey and Name in the body), the Read after create
// (RpcGet GetSiteOriginClientCertificate, SiteId and Id in the query, from
// the resource id "<SiteId>:<Id>") with what it sets compared with the
// configuration (every argument is ForceNew: a difference would replace
// the resource), delete with RpcGet DeleteSiteOriginClientCertificate, and
// the refresh after it: 404, which the provider's NotFoundError takes for
// gone, as it does for a second delete.
func TestTerraformSiteOriginClientCertificate(t *testing.T) {
	addr, key := startNode(t)
	tf := tfClient{addr, key}
	now := time.Now()
	site := tf.do(t, "POST", "CreateSite", map[string]string{"SiteName": "tf-site-origin.com", "AccessType": "NS", "Coverage": "overseas"})
	siteID := str(site.body["SiteId"])
	ca := pkitest.NewCA(t, "TF Origin Client Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{CommonName: "edge.tf", DNSNames: []string{"edge.tf.test"}, ClientAuth: true})
	mainTF := map[string]string{"site_id": siteID, "certificate": leaf.ChainPEM, "site_origin_client_certificate_name": "tf-origin-client"}

	created := tf.do(t, "POST", "UploadSiteOriginClientCertificate", map[string]string{"SiteId": siteID,
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM, "Name": "tf-origin-client"})
	if created.status != 200 || str(created.body["Id"]) == "" {
		t.Fatalf("create: %d %v", created.status, created.body)
	}
	resourceID := siteID + ":" + str(created.body["Id"])
	parts := strings.SplitN(resourceID, ":", 2)

	got := tf.do(t, "GET", "GetSiteOriginClientCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1]})
	if got.status != 200 {
		t.Fatalf("read: %d %v", got.status, got.body)
	}
	state := map[string]string{
		"certificate":                         str(got.body["Certificate"]),
		"site_id":                             str(got.body["SiteId"]),
		"create_time":                         str(dig(got.body, "Result.CreateTime")),
		"site_origin_client_certificate_name": str(dig(got.body, "Result.Name")),
		"status":                              str(dig(got.body, "Result.Status")),
		"site_origin_client_certificate_id":   str(dig(got.body, "Result.Id")),
	}
	for attr, want := range mainTF {
		if state[attr] != want {
			t.Errorf("read: %s = %q, want %q (terraform plan would replace the resource)", attr, state[attr], want)
		}
	}
	if state["site_origin_client_certificate_id"] != parts[1] || state["status"] != "OK" || state["create_time"] == "" {
		t.Errorf("read: id %q, status %q, create_time %q; want %s, OK and a time", state["site_origin_client_certificate_id"],
			state["status"], state["create_time"], parts[1])
	}

	del := tf.do(t, "GET", "DeleteSiteOriginClientCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1]})
	if del.status != 200 {
		t.Fatalf("delete: %d %v", del.status, del.body)
	}
	for _, action := range []string{"GetSiteOriginClientCertificate", "DeleteSiteOriginClientCertificate"} {
		gone := tf.do(t, "GET", action, map[string]string{"SiteId": parts[0], "Id": parts[1]})
		if gone.status != 404 || gone.body["Code"] != "Certificate.NotFound" {
			t.Errorf("%s after delete: %d %v, want 404 Certificate.NotFound (the provider's NotFoundError)", action, gone.status, gone.body)
		}
	}
}
