package clienttest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/store/storetest"
)

// mtlsVisitor is a visitor of the edge at addr presenting cert (none for
// nil), keeping its connections alive between requests.
func mtlsVisitor(addr string, cert *tls.Certificate) *http.Client {
	cfg := &tls.Config{InsecureSkipVerify: true}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	return &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg, MaxConnsPerHost: 1,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, addr)
		}}}
}

// visit GETs url with a forged verification header; it returns the status,
// or 0 when no answer came (the handshake was refused).
func visit(c *http.Client, url string) int {
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("X-Client-Cert-Verified", "SUCCESS")
	req.Header.Set("X-Client-Cert-Fingerprint-Sha256", "forged")
	resp, err := c.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestEdgeMutualTLS: client certificates issued by CreateClientCertificate
// and bound by SetClientCertificateHostnames are asked for and verified by
// the edge; revocation reaches new handshakes and open connections within a
// second, activation lets the certificate in again, and the uploaded client
// CA family works the same way.
func TestEdgeMutualTLS(t *testing.T) {
	var seen struct {
		sync.Mutex
		verified, fingerprint, subject string
	}
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Lock()
		seen.verified, seen.fingerprint = r.Header.Get("X-Client-Cert-Verified"), r.Header.Get("X-Client-Cert-Fingerprint-Sha256")
		seen.subject = r.Header.Get("X-Client-Cert-Subject")
		seen.Unlock()
		io.WriteString(w, "ok")
	}))
	defer origin.Close()
	n := startNodeOn(t, "", accesskey.Key{})
	c := teaKind(false).make(t, n.addr, n.key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "MTLS E2E Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"*.mtls-e2e.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "mtls-e2e.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	mustOK(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "*.mtls-e2e.com", "Type": "A/AAAA",
		"Proxied": "true", "BizName": "web", "Ttl": "1", "Data": `{"Value":"` + strings.TrimPrefix(origin.URL, "http://") + `"}`})
	edge := n.node.HTTPSAddr()
	app, up := "https://app.mtls-e2e.com/", "https://up.mtls-e2e.com/"
	if _, ok := within(2*time.Second, func() bool { return visit(mtlsVisitor(edge, nil), app) == 200 }); !ok {
		t.Fatal("the site is not served")
	}

	// A certificate with a key esacert generates, bound to app.
	created := mustOK(t, c, "CreateClientCertificate", map[string]string{"SiteId": siteID, "PkeyType": "ECDSA", "ValidityDays": "30"})
	certID, caID := str(created["Id"]), str(created["CACertificateId"])
	pair, err := tls.X509KeyPair([]byte(str(created["Certificate"])), []byte(str(created["PrivateKey"])))
	if err != nil {
		t.Fatalf("the created certificate and key: %v", err)
	}
	if got := mustOK(t, c, "GetClientCertificate", map[string]string{"SiteId": siteID, "Id": certID}); strings.Contains(str(got["Certificate"])+str(got), "PRIVATE KEY") {
		t.Error("GetClientCertificate answers the private key")
	}
	mustOK(t, c, "SetClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": caID, "Hostnames": `["app.mtls-e2e.com"]`})
	if took, ok := within(time.Second, func() bool { return visit(mtlsVisitor(edge, nil), app) == 0 }); !ok {
		t.Fatalf("a visitor without a certificate was still served %v after the hostnames were set", took)
	}
	other := pkitest.NewCA(t, "Not The Site's CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	otherLeaf := other.Leaf(t, pkitest.LeafOptions{CommonName: "stranger", ClientAuth: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	otherPair, _ := tls.X509KeyPair([]byte(otherLeaf.CertPEM), []byte(otherLeaf.KeyPEM))
	if s := visit(mtlsVisitor(edge, &otherPair), app); s != 0 {
		t.Errorf("a certificate of another CA: %d, want the handshake refused", s)
	}
	keep := mtlsVisitor(edge, &pair)
	if s := visit(keep, app); s != 200 {
		t.Fatalf("the issued certificate: %d, want 200", s)
	}
	seen.Lock()
	if seen.verified != "SUCCESS" || seen.fingerprint != str(created["FingerprintSha256"]) || !strings.Contains(seen.subject, "CN="+certID) {
		t.Errorf("origin saw verified %q, fingerprint %q (want %s), subject %q", seen.verified, seen.fingerprint, str(created["FingerprintSha256"]), seen.subject)
	}
	seen.Unlock()
	if s := visit(mtlsVisitor(edge, nil), "https://www.mtls-e2e.com/"); s != 200 {
		t.Errorf("a host without mutual TLS: %d", s)
	}
	seen.Lock()
	if seen.verified != "" || seen.fingerprint != "" {
		t.Errorf("a visitor's forged headers reached the origin: %q, %q", seen.verified, seen.fingerprint)
	}
	seen.Unlock()

	// Revocation: the open connection is answered 403 (its first answer
	// that is not 200 comes on it), a new one is refused.
	mustOK(t, c, "RevokeClientCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	var status int
	took, ok := within(time.Second, func() bool { status = visit(keep, app); return status != 200 })
	if !ok || status != 403 {
		t.Fatalf("after revocation, the open connection got %d after %v; want 403 within 1s", status, took)
	}
	if s := visit(mtlsVisitor(edge, &pair), app); s != 0 {
		t.Errorf("a revoked certificate, new connection: %d, want the handshake refused", s)
	}
	if got := mustOK(t, c, "GetClientCertificate", map[string]string{"SiteId": siteID, "Id": certID}); str(got["Status"]) != "revoked" {
		t.Errorf("status %q, want revoked", str(got["Status"]))
	}
	mustOK(t, c, "ActivateClientCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	if took, ok := within(time.Second, func() bool { return visit(mtlsVisitor(edge, &pair), app) == 200 }); !ok {
		t.Fatalf("the activated certificate was still refused after %v", took)
	}
	mustOK(t, c, "DeleteClientCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	if took, ok := within(time.Second, func() bool { return visit(mtlsVisitor(edge, &pair), app) == 0 }); !ok {
		t.Fatalf("the deleted certificate was still served after %v", took)
	}

	// An uploaded client CA, bound to up.
	ext := pkitest.NewCA(t, "Partner CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	extLeaf := ext.Leaf(t, pkitest.LeafOptions{CommonName: "partner-1", ClientAuth: true, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour)})
	extPair, _ := tls.X509KeyPair([]byte(extLeaf.CertPEM), []byte(extLeaf.KeyPEM))
	caUp := str(mustOK(t, c, "UploadClientCaCertificate", map[string]string{"SiteId": siteID, "Name": "partners", "Certificate": ext.CertPEM})["Id"])
	mustOK(t, c, "SetClientCaCertificateHostnames", map[string]string{"SiteId": siteID, "Id": caUp, "Hostnames": `["up.mtls-e2e.com"]`})
	if took, ok := within(time.Second, func() bool { return visit(mtlsVisitor(edge, nil), up) == 0 }); !ok {
		t.Fatalf("up still served without a certificate after %v", took)
	}
	if s := visit(mtlsVisitor(edge, &extPair), up); s != 200 {
		t.Errorf("a certificate of the uploaded CA: %d", s)
	}
	if s := visit(mtlsVisitor(edge, &otherPair), up); s != 0 {
		t.Errorf("a certificate of another CA on up: %d, want the handshake refused", s)
	}
	if s := visit(mtlsVisitor(edge, &extPair), app); s != 0 {
		t.Errorf("the uploaded CA's certificate on app (bound to the site's own CA only): %d, want refused", s)
	}
	mustOK(t, c, "DeleteClientCaCertificate", map[string]string{"SiteId": siteID, "Id": caUp})
	if took, ok := within(time.Second, func() bool { return visit(mtlsVisitor(edge, nil), up) == 200 }); !ok {
		t.Fatalf("up still asks for a certificate %v after its CA was deleted", took)
	}
}

// runMTLSScenario manages client CA certificates and client certificates
// through every action of the two families with one client.
func runMTLSScenario(t *testing.T, c caller, prefix string) {
	now := time.Now()
	siteName := prefix + "-mtls.com"
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": siteName})["SiteId"])
	ext := pkitest.NewCA(t, "Scenario Client CA", now.Add(-time.Hour), now.Add(365*24*time.Hour))

	up := mustOK(t, c, "UploadClientCaCertificate", map[string]string{"SiteId": siteID, "Name": "partners", "Certificate": ext.CertPEM})
	caID := str(up["Id"])
	if str(up["Status"]) != "OK" || str(up["CommonName"]) != "Scenario Client CA" || str(up["ValidityDays"]) == "" {
		t.Errorf("UploadClientCaCertificate answered %v", up)
	}
	mustFail(t, c, "UploadClientCaCertificate", map[string]string{"SiteId": siteID, "Name": "partners", "Certificate": ext.CertPEM}, 400, "Certificate.Duplicated")
	if got := mustOK(t, c, "GetClientCaCertificate", map[string]string{"SiteId": siteID, "Id": caID}); str(dig(got, "Result.Name")) != "partners" ||
		str(got["Certificate"]) != ext.CertPEM {
		t.Errorf("GetClientCaCertificate answered %v", got)
	}
	set := mustOK(t, c, "SetClientCaCertificateHostnames", map[string]string{"SiteId": siteID, "Id": caID,
		"Hostnames": `["api.` + siteName + `","*.` + siteName + `"]`})
	if hs, _ := set["Hostnames"].([]any); len(hs) != 2 {
		t.Errorf("SetClientCaCertificateHostnames answered %v", set)
	}
	if hs, _ := mustOK(t, c, "GetClientCaCertificateHostnames", map[string]string{"SiteId": siteID, "Id": caID})["Hostnames"].([]any); len(hs) != 2 || hs[0] != "api."+siteName {
		t.Errorf("GetClientCaCertificateHostnames: %v", hs)
	}
	mustFail(t, c, "SetClientCaCertificateHostnames", map[string]string{"SiteId": siteID, "Id": caID, "Hostnames": `["elsewhere.net"]`}, 400, "InvalidParameter")
	if got := mustOK(t, c, "ListClientCaCertificates", map[string]string{"SiteId": siteID}); str(got["TotalCount"]) != "1" {
		t.Errorf("ListClientCaCertificates answered %v", got)
	}
	mustOK(t, c, "DeleteClientCaCertificate", map[string]string{"SiteId": siteID, "Id": caID})
	mustFail(t, c, "GetClientCaCertificate", map[string]string{"SiteId": siteID, "Id": caID}, 404, "Certificate.NotFound")

	gen := mustOK(t, c, "CreateClientCertificate", map[string]string{"SiteId": siteID, "PkeyType": "ECDSA", "ValidityDays": "90"})
	certID, issuer := str(gen["Id"]), str(gen["CACertificateId"])
	if !strings.HasPrefix(str(gen["PrivateKey"]), "-----BEGIN PRIVATE KEY-----") || str(gen["Status"]) != "active" || str(gen["ValidityDays"]) != "90" {
		t.Errorf("CreateClientCertificate answered %v", gen)
	}
	key, _ := pkitest.Key(t, "ecdsa-p256", "")
	csr := csrPEM(t, key, "device-7."+siteName)
	fromCSR := mustOK(t, c, "CreateClientCertificate", map[string]string{"SiteId": siteID, "CSR": csr, "ValidityDays": "1"})
	if str(fromCSR["PrivateKey"]) != "" || str(fromCSR["CommonName"]) != "device-7."+siteName || str(fromCSR["CACertificateId"]) != issuer {
		t.Errorf("CreateClientCertificate from a CSR answered %v", fromCSR)
	}
	mustFail(t, c, "CreateClientCertificate", map[string]string{"SiteId": siteID, "ValidityDays": "4000"}, 400, "InvalidParameter")
	got := mustOK(t, c, "GetClientCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	if str(dig(got, "Result.Status")) != "active" || str(dig(got, "Result.CACertificateId")) != issuer || strings.Contains(fmtAny(got), "PRIVATE KEY") {
		t.Errorf("GetClientCertificate answered %v", got)
	}
	if got := mustOK(t, c, "ListClientCertificates", map[string]string{"SiteId": siteID}); str(got["TotalCount"]) != "2" {
		t.Errorf("ListClientCertificates answered %v", got)
	}
	mustOK(t, c, "RevokeClientCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	if got := mustOK(t, c, "GetClientCertificate", map[string]string{"SiteId": siteID, "Id": certID}); str(got["Status"]) != "revoked" {
		t.Errorf("after RevokeClientCertificate: %v", got["Status"])
	}
	mustOK(t, c, "ActivateClientCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	if got := mustOK(t, c, "SetClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": issuer,
		"Hostnames": `["app.` + siteName + `"]`}); str(got["Id"]) != issuer {
		t.Errorf("SetClientCertificateHostnames answered %v", got)
	}
	if hs, _ := mustOK(t, c, "GetClientCertificateHostnames", map[string]string{"SiteId": siteID, "Id": issuer})["Hostnames"].([]any); len(hs) != 1 || hs[0] != "app."+siteName {
		t.Errorf("GetClientCertificateHostnames: %v", hs)
	}
	mustOK(t, c, "DeleteClientCertificate", map[string]string{"SiteId": siteID, "Id": certID})
	mustFail(t, c, "RevokeClientCertificate", map[string]string{"SiteId": siteID, "Id": certID}, 404, "Certificate.NotFound")
	mustOK(t, c, "DeleteSite", map[string]string{"SiteId": siteID})
}

func fmtAny(v any) string { b, _ := json.Marshal(v); return string(b) }

// csrPEM is a PEM certificate request for cn signed by key.
func csrPEM(t *testing.T, key crypto.Signer, cn string) string {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
}

// TestClientsManageClientCertificates runs the mutual TLS scenario with
// the Go SDK's generic client (both signatures) and the official Node.js
// clients (the ESA SDK with both signatures, and pop-core).
func TestClientsManageClientCertificates(t *testing.T) {
	addr, key := startNode(t)
	for _, k := range []clientKind{teaKind(false), teaKind(true)} {
		t.Run(k.name, func(t *testing.T) {
			runMTLSScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
		})
	}
	t.Run("node", func(t *testing.T) {
		d := startDriver(t)
		for _, k := range nodeKinds(d) {
			t.Run(k.name, func(t *testing.T) {
				runMTLSScenario(t, k.make(t, addr, key, false), strings.ReplaceAll(k.name, "_", "-"))
			})
		}
	})
}

// TestFleetRevokesClientCertificates: two nodes on one PostgreSQL database;
// a certificate revoked through node A's API is refused by node B's edge,
// on a new connection and on an open one, within a second.
func TestFleetRevokesClientCertificates(t *testing.T) {
	dsn := storetest.PostgresDatabase(t)
	key := accesskey.Key{ID: "LTAIfleetkey000000000015", Secret: "fleet-secret-mtls-0123456789"}
	a := startNodeOn(t, dsn, key)
	b := startNodeOn(t, dsn, key)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer origin.Close()
	c := teaKind(false).make(t, a.addr, key, false)
	now := time.Now()
	ca := pkitest.NewCA(t, "Fleet MTLS Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"app.fleet-mtls.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "fleet-mtls.com"})["SiteId"])
	mustOK(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	mustOK(t, c, "CreateRecord", map[string]string{"SiteId": siteID, "RecordName": "app.fleet-mtls.com", "Type": "A/AAAA",
		"Proxied": "true", "BizName": "web", "Ttl": "1", "Data": `{"Value":"` + strings.TrimPrefix(origin.URL, "http://") + `"}`})
	created := mustOK(t, c, "CreateClientCertificate", map[string]string{"SiteId": siteID, "PkeyType": "ECDSA", "ValidityDays": "7"})
	pair, err := tls.X509KeyPair([]byte(str(created["Certificate"])), []byte(str(created["PrivateKey"])))
	if err != nil {
		t.Fatal(err)
	}
	mustOK(t, c, "SetClientCertificateHostnames", map[string]string{"SiteId": siteID, "Hostnames": `["app.fleet-mtls.com"]`})
	edgeB, app := b.node.HTTPSAddr(), "https://app.fleet-mtls.com/"
	// Node B serves the site and asks for the certificate: a visitor with it
	// is let in and one without is refused (a refusal alone would also be
	// what B answers before it has loaded the site at all).
	if took, ok := within(2*time.Second, func() bool {
		return visit(mtlsVisitor(edgeB, &pair), app) == 200 && visit(mtlsVisitor(edgeB, nil), app) == 0
	}); !ok {
		t.Fatalf("node B's edge does not serve the site asking for a certificate after %v", took)
	}
	keep := mtlsVisitor(edgeB, &pair) // its connection is made with the certificate
	if s := visit(keep, app); s != 200 {
		t.Fatalf("node B, the certificate: %d", s)
	}
	mustOK(t, c, "RevokeClientCertificate", map[string]string{"SiteId": siteID, "Id": str(created["Id"])})
	start := time.Now()
	var status int
	if took, ok := within(time.Second, func() bool { status = visit(keep, app); return status != 200 }); !ok || status != 403 {
		t.Fatalf("node B, open connection: %d after %v; want 403 within 1s", status, took)
	}
	if _, ok := within(time.Second-time.Since(start), func() bool { return visit(mtlsVisitor(edgeB, &pair), app) == 0 }); !ok {
		t.Errorf("node B, a new connection of a revoked certificate was still served %v after the revocation", time.Since(start))
	}
}
