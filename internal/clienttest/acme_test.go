package clienttest

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/acme/acmetest"
	"github.com/esacert/esacert/internal/config"
)

// TestFreeCertificates applies for free certificates through a real client
// and a real ACME CA (Pebble) that validates HTTP-01 against this node's own
// edge: Applying, then OK and served; a name that does not resolve to the
// edge fails with an ApplyMessage that says so; with the CA down the
// application fails, then succeeds on a retry once it is back.
func TestFreeCertificates(t *testing.T) {
	httpPort := acmetest.FreePort(t)
	var down atomic.Bool
	dir, roots := acmetest.Pebble(t, httpPort, &down)
	n := startNodeWith(t, func(cfg *config.Config) {
		cfg.HTTPAddr = net.JoinHostPort("127.0.0.1", itoa(httpPort))
		cfg.ACMECAs = "pebble=" + dir
		cfg.ACMECARoots = roots
		cfg.RenewPoll, cfg.RetryBase = "200ms", "300ms"
	})
	c := teaKind(false).make(t, n.addr, n.key, false)
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "free-e2e.com"})["SiteId"])

	applied := mustOK(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "www.free-e2e.com", "Type": "pebble"})
	id := str(dig(applied, "Result.0.Id"))
	if str(applied["TotalCount"]) != "1" || str(dig(applied, "Result.0.Status")) != "Applying" || id == "" {
		t.Fatalf("ApplyCertificate answered %v", applied)
	}
	var got map[string]any
	if took, ok := within(20*time.Second, func() bool {
		got = mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": id})
		return str(dig(got, "Result.Status")) == "OK"
	}); !ok {
		t.Fatalf("not issued after %v: %v", took, got)
	}
	checkFields(t, "GetCertificate (free)", got, map[string]string{"Result.Type": "free", "Result.SAN": "www.free-e2e.com",
		"Result.Name": "www.free-e2e.com"})
	if !strings.Contains(str(got["Certificate"]), "BEGIN CERTIFICATE") {
		t.Error("the issued certificate is not shown")
	}
	if _, ok := within(2*time.Second, func() bool { return served(n.node.HTTPSAddr(), "www.free-e2e.com") != "" }); !ok {
		t.Error("the edge does not serve the issued certificate")
	}
	mustFail(t, c, "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload", "Id": id,
		"Certificate": "x", "PrivateKey": "y"}, 400, "UpdateFreeCertificate.NotSupport")
	mustFail(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "www.other.org", "Type": "pebble"}, 400, "CertificateDomainNotMatchSite")
	mustFail(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "a.free-e2e.com", "Type": "nosuchca"}, 400, "InvalidParameter")
	mustFail(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "*.free-e2e.com", "Type": "pebble"}, 400, "InvalidParameter")
	quota := mustOK(t, c, "GetCertificateQuota", map[string]string{"SiteId": siteID, "Type": "free"})
	checkFields(t, "GetCertificateQuota free", quota, map[string]string{"Quota": "10", "QuotaUsage": "1"})

	// A name that resolves elsewhere: validation fails, and says why.
	bad := str(dig(mustOK(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "elsewhere.free-e2e.com", "Type": "pebble"}), "Result.0.Id"))
	if _, ok := within(20*time.Second, func() bool {
		got = mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": bad})
		return str(dig(got, "Result.Status")) == "ApplyFailed"
	}); !ok {
		t.Fatalf("a name that does not resolve to the edge did not fail: %v", got)
	}
	if msg := str(dig(got, "Result.ApplyMessage")); !strings.Contains(msg, "resolves to this edge") || str(dig(got, "Result.ApplyCode")) == "" {
		t.Errorf("ApplyMessage %q does not say what to do", msg)
	}

	// The CA is down: the application fails, then succeeds once it is back.
	down.Store(true)
	later := str(dig(mustOK(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "later.free-e2e.com", "Type": "pebble"}), "Result.0.Id"))
	if _, ok := within(10*time.Second, func() bool {
		got = mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": later})
		return str(dig(got, "Result.Status")) == "ApplyFailed"
	}); !ok {
		t.Fatalf("with the CA down the application did not fail: %v", got)
	}
	if !strings.Contains(str(dig(got, "Result.ApplyMessage")), "cannot be reached") {
		t.Errorf("ApplyMessage %q", str(dig(got, "Result.ApplyMessage")))
	}
	down.Store(false)
	if _, ok := within(30*time.Second, func() bool {
		got = mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": later})
		return str(dig(got, "Result.Status")) == "OK"
	}); !ok {
		t.Fatalf("no success on retry after the CA came back: %v", got)
	}
	mustOK(t, c, "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": later})
}

func itoa(i int) string { return strconv.Itoa(i) }

// TestFreeCertificateTerraformAndQuota replays alicloud_esa_certificate with
// created_type = "free" (RpcGet ApplyCertificate, ID "<SiteId>:<Result[0].Id>",
// reads keeping domains equal to SAN, delete, NotFound) and fills the free
// quota.
func TestFreeCertificateTerraformAndQuota(t *testing.T) {
	httpPort := acmetest.FreePort(t)
	var down atomic.Bool
	dir, roots := acmetest.Pebble(t, httpPort, &down)
	n := startNodeWith(t, func(cfg *config.Config) {
		cfg.HTTPAddr = net.JoinHostPort("127.0.0.1", itoa(httpPort))
		cfg.ACMECAs = "lets_encrypt=" + dir // what Terraform's type = "lets_encrypt" asks for
		cfg.ACMECARoots = roots
		cfg.RenewPoll, cfg.RetryBase = "200ms", "300ms"
		cfg.PlanLimits = map[string]config.PlanLimit{"basic": {Sites: 1, CustomCerts: 5, FreeCerts: 2}}
	})
	tf := tfClient{n.addr, n.key}
	site := tf.do(t, "POST", "CreateSite", map[string]string{"SiteName": "tf-free.com"})
	siteID := str(site.body["SiteId"])
	applied := tf.do(t, "GET", "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "www.tf-free.com", "Type": "lets_encrypt"})
	if applied.status != 200 {
		t.Fatalf("ApplyCertificate: %d %v", applied.status, applied.body)
	}
	resourceID := siteID + ":" + str(dig(applied.body, "Result.0.Id"))
	parts := strings.SplitN(resourceID, ":", 2)
	var got tfAnswer
	if _, ok := within(20*time.Second, func() bool {
		got = tf.do(t, "GET", "GetCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1]})
		return str(dig(got.body, "Result.Status")) == "OK"
	}); !ok {
		t.Fatalf("not issued: %v", got.body)
	}
	if str(dig(got.body, "Result.SAN")) != "www.tf-free.com" || str(dig(got.body, "Result.Type")) != "free" ||
		str(dig(got.body, "Result.Id")) != parts[1] {
		t.Errorf("read-back would show a diff: %v", got.body["Result"])
	}
	// The free quota (2 here): one more fills it, the next is refused.
	c := teaKind(false).make(t, n.addr, n.key, false)
	mustOK(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "two.tf-free.com", "Type": "lets_encrypt"})
	mustFail(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "three.tf-free.com", "Type": "lets_encrypt"}, 400, "FreeCertQuotaCheckFailed")
	q := mustOK(t, c, "GetCertificateQuota", map[string]string{"SiteId": siteID, "Type": "free"})
	checkFields(t, "quota", q, map[string]string{"Quota": "2", "QuotaUsage": "2"})
	// Applying again for a domain that has one gives the same record.
	again := mustOK(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": "www.tf-free.com", "Type": "lets_encrypt"})
	if str(dig(again, "Result.0.Id")) != parts[1] {
		t.Errorf("a second application for the same domain made another record: %v", again)
	}
	del := tf.do(t, "GET", "DeleteCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1]})
	if del.status != 200 {
		t.Fatalf("delete: %d %v", del.status, del.body)
	}
	gone := tf.do(t, "GET", "GetCertificate", map[string]string{"SiteId": parts[0], "Id": parts[1]})
	if gone.status != 404 {
		t.Errorf("read after delete: %d, want 404", gone.status)
	}
}

// TestFreeCertificateTLSALPN issues through TLS-ALPN-01 alone
// (--acme-challenges tls-alpn-01): Pebble validates on the edge's HTTPS
// port, with nothing listening on its HTTP-01 port, and the edge then
// serves the issued certificate.
func TestFreeCertificateTLSALPN(t *testing.T) {
	httpsPort := acmetest.FreePort(t)
	pebble := acmetest.Start(t, acmetest.Options{HTTPPort: acmetest.FreePort(t), TLSPort: httpsPort})
	dir, roots := pebble.Directory, pebble.Roots
	n := startNodeWith(t, func(cfg *config.Config) {
		cfg.HTTPSAddr = net.JoinHostPort("127.0.0.1", itoa(httpsPort))
		cfg.ACMECAs = "pebble=" + dir
		cfg.ACMECARoots = roots
		cfg.ACMEChallenges = "tls-alpn-01"
		cfg.RenewPoll, cfg.RetryBase = "200ms", "300ms"
	})
	c := teaKind(false).make(t, n.addr, n.key, false)
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "alpn-e2e.com"})["SiteId"])
	_, got := applyFree(t, c, siteID, "www.alpn-e2e.com")
	if str(dig(got, "Result.Status")) != "OK" {
		t.Fatalf("not issued over TLS-ALPN-01: %v", dig(got, "Result"))
	}
	if _, ok := within(2*time.Second, func() bool { return served(n.node.HTTPSAddr(), "www.alpn-e2e.com") != "" }); !ok {
		t.Error("the edge does not serve the issued certificate")
	}
}

// TestFreeCertificateEAB runs against a CA that requires external account
// binding: without credentials the application fails and says what to
// give; with them (ESACERT_ACME_EAB) the certificate is issued.
func TestFreeCertificateEAB(t *testing.T) {
	httpPort := acmetest.FreePort(t)
	const kid, hmacKey = "esacert-test-kid", "zWNDZM6eQGHWpSRTPal5eIUYFTu7EajVIoguysqZ9wG44nMEtx3MUAsUDkMTQ12W"
	pebble := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort, EAB: map[string]string{kid: hmacKey}})
	dir, roots := pebble.Directory, pebble.Roots
	apply := func(eab, site string) map[string]any { // a site of its own: on PostgreSQL both nodes share the database
		t.Helper()
		n := startNodeWith(t, func(cfg *config.Config) {
			cfg.HTTPAddr = net.JoinHostPort("127.0.0.1", itoa(httpPort))
			cfg.ACMECAs, cfg.ACMECARoots, cfg.ACMEEAB = "pebble="+dir, roots, eab
			cfg.RenewPoll, cfg.RetryBase = "200ms", "1h"
		})
		defer n.node.Shutdown(context.Background())
		c := teaKind(false).make(t, n.addr, n.key, false)
		siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": site})["SiteId"])
		_, got := applyFree(t, c, siteID, "www."+site)
		return got
	}
	got := apply("", "eab-e2e.com")
	if str(dig(got, "Result.Status")) != "ApplyFailed" || !strings.Contains(str(dig(got, "Result.ApplyMessage")), "ESACERT_ACME_EAB") {
		t.Errorf("without EAB credentials: %v", dig(got, "Result"))
	}
	got = apply("pebble="+kid+":"+hmacKey, "eab2-e2e.com")
	if str(dig(got, "Result.Status")) != "OK" {
		t.Errorf("with EAB credentials: %v", dig(got, "Result"))
	}
	if strings.Contains(fmt.Sprint(got), hmacKey) {
		t.Error("the HMAC key shows in a response")
	}
}

// TestFreeCertificateDNS01 issues a wildcard over DNS-01 through lego's
// httpreq provider (--acme-dns-provider httpreq), whose endpoint publishes
// TXT records in the DNS that Pebble validates against; esacert checks
// propagation through that DNS (--acme-dns-resolvers). No HTTP-01 or
// TLS-ALPN-01 listener is reachable, so only DNS-01 can succeed. The
// edge then serves the wildcard for a name under the site.
func TestFreeCertificateDNS01(t *testing.T) {
	zone := &acmetest.Zone{}
	pebble := acmetest.Start(t, acmetest.Options{HTTPPort: acmetest.FreePort(t), Zone: zone})
	t.Setenv("HTTPREQ_ENDPOINT", zone.HTTPReq(t))
	t.Setenv("HTTPREQ_POLLING_INTERVAL", "1")
	t.Setenv("HTTPREQ_PROPAGATION_TIMEOUT", "20")
	n := startNodeWith(t, func(cfg *config.Config) {
		cfg.ACMECAs, cfg.ACMECARoots = "pebble="+pebble.Directory, pebble.Roots
		cfg.ACMEDNSProvider, cfg.ACMEDNSResolvers = "httpreq", pebble.DNS
		cfg.RenewPoll, cfg.RetryBase = "200ms", "1h"
	})
	c := teaKind(false).make(t, n.addr, n.key, false)
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "dns-e2e.com"})["SiteId"])
	_, got := applyFree(t, c, siteID, "*.dns-e2e.com")
	if str(dig(got, "Result.Status")) != "OK" {
		t.Fatalf("the wildcard was not issued: %v", dig(got, "Result"))
	}
	checkFields(t, "GetCertificate (wildcard)", got, map[string]string{"Result.SAN": "*.dns-e2e.com"})
	if _, ok := within(2*time.Second, func() bool { return served(n.node.HTTPSAddr(), "shop.dns-e2e.com") != "" }); !ok {
		t.Error("the edge does not serve the wildcard")
	}
	if v := zone.TXT("_acme-challenge.dns-e2e.com."); len(v) != 0 {
		t.Errorf("the TXT record was not cleaned up: %v", v)
	}
}

// TestACMEAccountKept: the ACME account key is kept (sealed) in the
// database, so a restarted node issues under the same account instead of
// opening a new one each start (CAs limit new accounts per address).
func TestACMEAccountKept(t *testing.T) {
	httpPort := acmetest.FreePort(t)
	pebble := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort})
	data := t.TempDir()
	siteID := ""
	issue := func(domain string) {
		t.Helper()
		n := startNodeWith(t, func(cfg *config.Config) {
			cfg.DataDir, cfg.DB = data, "sqlite:"+filepath.Join(data, "esacert.db")
			cfg.HTTPAddr = net.JoinHostPort("127.0.0.1", itoa(httpPort))
			cfg.ACMECAs, cfg.ACMECARoots = "pebble="+pebble.Directory, pebble.Roots
			cfg.RenewPoll, cfg.RetryBase = "200ms", "1h"
		})
		defer n.node.Shutdown(context.Background())
		c := teaKind(false).make(t, n.addr, n.key, false)
		if siteID == "" {
			siteID = str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "kept-e2e.com"})["SiteId"])
		}
		_, got := applyFree(t, c, siteID, domain)
		if str(dig(got, "Result.Status")) != "OK" {
			t.Fatalf("%s not issued: %v", domain, dig(got, "Result"))
		}
	}
	issue("a.kept-e2e.com")
	issue("b.kept-e2e.com")
	if got := pebble.AccountsCreated(); got != 1 {
		t.Errorf("the CA saw %d new accounts over two starts, want 1", got)
	}
}

// TestFreeCertificateRSATwin (--free-cert-rsa-twin): beside the ECDSA
// certificate an RSA one is issued under the same Id; a modern client gets
// ECDSA and a client offering only RSA cipher suites (TLS 1.2) gets RSA.
// Deleting the certificate takes both off the edge.
func TestFreeCertificateRSATwin(t *testing.T) {
	httpPort := acmetest.FreePort(t)
	pebble := acmetest.Start(t, acmetest.Options{HTTPPort: httpPort})
	n := startNodeWith(t, func(cfg *config.Config) {
		cfg.HTTPAddr = net.JoinHostPort("127.0.0.1", itoa(httpPort))
		cfg.ACMECAs, cfg.ACMECARoots = "pebble="+pebble.Directory, pebble.Roots
		cfg.FreeCertRSATwin = true
		cfg.RenewPoll, cfg.RetryBase = "200ms", "1h"
	})
	c := teaKind(false).make(t, n.addr, n.key, false)
	siteID := str(mustOK(t, c, "CreateSite", map[string]string{"SiteName": "twin-e2e.com"})["SiteId"])
	id, got := applyFree(t, c, siteID, "www.twin-e2e.com")
	if str(dig(got, "Result.Status")) != "OK" {
		t.Fatalf("not issued: %v", dig(got, "Result"))
	}
	if alg := str(dig(got, "Result.PubAlg")); !strings.Contains(strings.ToUpper(alg), "EC") {
		t.Errorf("the certificate shown is %q, want the ECDSA one", alg)
	}
	modern := &tls.Config{ServerName: "www.twin-e2e.com", InsecureSkipVerify: true}
	old := &tls.Config{ServerName: "www.twin-e2e.com", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}}
	leafKey := func(cfg *tls.Config) string {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", n.node.HTTPSAddr(), cfg)
		if err != nil {
			return "handshake failed: " + err.Error()
		}
		defer conn.Close()
		return fmt.Sprintf("%T", conn.ConnectionState().PeerCertificates[0].PublicKey)
	}
	if _, ok := within(2*time.Second, func() bool { return leafKey(modern) == "*ecdsa.PublicKey" }); !ok {
		t.Errorf("a modern client got %s, want ECDSA", leafKey(modern))
	}
	if k := leafKey(old); k != "*rsa.PublicKey" {
		t.Errorf("an RSA-only client got %s, want RSA", k)
	}
	mustOK(t, c, "DeleteCertificate", map[string]string{"SiteId": siteID, "Id": id})
	if _, ok := within(2*time.Second, func() bool {
		return strings.HasPrefix(leafKey(old), "handshake failed") && strings.HasPrefix(leafKey(modern), "handshake failed")
	}); !ok {
		t.Errorf("after DeleteCertificate the edge still serves: %s / %s", leafKey(modern), leafKey(old))
	}
}

// applyFree applies for a free certificate for domain and waits until it
// is no longer Applying; it returns the Id and the last GetCertificate.
func applyFree(t *testing.T, c caller, siteID, domain string) (string, map[string]any) {
	t.Helper()
	id := str(dig(mustOK(t, c, "ApplyCertificate", map[string]string{"SiteId": siteID, "Domains": domain, "Type": "pebble"}), "Result.0.Id"))
	var got map[string]any
	if took, ok := within(30*time.Second, func() bool {
		got = mustOK(t, c, "GetCertificate", map[string]string{"SiteId": siteID, "Id": id})
		return str(dig(got, "Result.Status")) != "Applying"
	}); !ok {
		t.Fatalf("%s still applying after %v: %v", domain, took, got)
	}
	return id, got
}
