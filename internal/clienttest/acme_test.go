package clienttest

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
	"github.com/miekg/dns"

	"github.com/esacert/esacert/internal/config"
)

// testDNS answers A queries, over UDP and TCP: 127.0.0.2 for names
// starting with "elsewhere." (nothing listens there), 127.0.0.1 for every
// other name, so Pebble's validation authority reaches the edge under test.
func testDNS(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, q *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(q)
		for _, qq := range q.Question {
			if qq.Qtype != dns.TypeA {
				continue
			}
			ip := net.ParseIP("127.0.0.1")
			if strings.HasPrefix(qq.Name, "elsewhere.") {
				ip = net.ParseIP("127.0.0.2")
			}
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: qq.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 1}, A: ip})
		}
		w.WriteMsg(m)
	})
	udp := &dns.Server{PacketConn: pc, Handler: handler}
	tcp := &dns.Server{Listener: ln, Handler: handler}
	go udp.ActivateAndServe()
	go tcp.ActivateAndServe()
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return ln.Addr().String()
}

// freePort returns a loopback port nothing listens on (yet).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// testPebble runs Pebble in this process, validating HTTP-01 on httpPort of
// whatever the test DNS answers. down, while true, makes the CA unreachable
// (its directory answers 503). It returns the directory URL and a file with
// the root to trust for Pebble's HTTPS.
func testPebble(t *testing.T, httpPort int, down *atomic.Bool) (string, string) {
	t.Helper()
	t.Setenv("PEBBLE_VA_NOSLEEP", "1")
	logger := log.New(io.Discard, "", 0)
	store := db.NewMemoryStore()
	authority := ca.New(logger, store, "", "ecdsa", 0, 1, map[string]ca.Profile{"default": {Description: "default"}})
	validator := va.New(logger, httpPort, freePort(t), false, testDNS(t), store)
	front := wfe.New(logger, store, validator, authority, []string{"pebble.letsencrypt.org"}, false, false, 1, 1)
	handler := front.Handler()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	roots := filepath.Join(t.TempDir(), "pebble-roots.pem")
	if err := os.WriteFile(roots, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv.URL + wfe.DirectoryPath, roots
}

// TestFreeCertificates applies for free certificates through a real client
// and a real ACME CA (Pebble) that validates HTTP-01 against this node's own
// edge: Applying, then OK and served; a name that does not resolve to the
// edge fails with an ApplyMessage that says so; with the CA down the
// application fails, then succeeds on a retry once it is back.
func TestFreeCertificates(t *testing.T) {
	httpPort := freePort(t)
	var down atomic.Bool
	dir, roots := testPebble(t, httpPort, &down)
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
