package node

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/esacert/esacert/internal/ocsp/ocsptest"

	"github.com/esacert/esacert/internal/pkitest"
)

// staple returns the leaf the edge at addr presents for serverName and
// the OCSP response stapled to it (nil for none); the leaf is nil when the
// handshake fails.
func staple(addr, serverName string) (*x509.Certificate, []byte) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: serverName, InsecureSkipVerify: true})
	if err != nil {
		return nil, nil
	}
	defer conn.Close()
	cs := conn.ConnectionState()
	return cs.PeerCertificates[0], cs.OCSPResponse
}

// TestOCSPStaplingAcrossRestart: a node fetches the OCSP response of an
// uploaded certificate from the responder its leaf names (a local one) and
// staples it for a host once OcspStapling is on, through the API; after a
// restart with the responder down, the response kept in the database is
// stapled again without asking the responder.
func TestOCSPStaplingAcrossRestart(t *testing.T) {
	now := time.Now()
	root := pkitest.NewCA(t, "OCSP Node Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	inter := root.Intermediate(t, "OCSP Node Intermediate", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	responder := ocsptest.New(t, inter.Cert, inter.Key)
	leaf := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.stapled.com"}, OCSPServer: []string{responder.URL},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	cfg := testConfig(t)
	cfg.OCSPPoll = "100ms"
	cfg.PrivateOrigins = "127.0.0.0/8" // the responder is on loopback: allowed as origins would be
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "stapled.com"})["SiteId"])
	call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	// Fetched in the background whatever the setting; served without a
	// staple while OcspStapling is off.
	waitFor(t, "the responder asked", func() bool { return responder.Requests.Load() > 0 })
	waitFor(t, "the certificate served", func() bool { l, _ := staple(n.HTTPSAddr(), "www.stapled.com"); return l != nil })
	if _, s := staple(n.HTTPSAddr(), "www.stapled.com"); s != nil {
		t.Error("stapled with OcspStapling off")
	}
	call(t, n, "2024-09-10", "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "OcspStapling": "on"})
	var first []byte
	waitFor(t, "a staple", func() bool { _, first = staple(n.HTTPSAddr(), "www.stapled.com"); return first != nil })
	if r, err := xocsp.ParseResponseForCert(first, leaf.Cert, inter.Cert); err != nil || r.Status != xocsp.Good {
		t.Fatalf("stapled response: %v", err)
	}
	stop(t, n)

	responder.SetDown(true)
	asked := responder.Requests.Load()
	n, err = Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	waitFor(t, "the kept staple after a restart", func() bool {
		_, s := staple(n.HTTPSAddr(), "www.stapled.com")
		return bytes.Equal(s, first)
	})
	if responder.Requests.Load() != asked {
		t.Error("the restarted node asked the responder before its response's half-life")
	}
}

// waitFor polls cond until it holds, failing the test after 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOCSPResponderUnderOriginPolicy: a responder's address comes from a
// certificate a user uploaded, so the fetcher reaches it under the origin
// policy: one on loopback is not asked unless the operator allows the range,
// and the refusal is what the certificate's OCSP state records.
func TestOCSPResponderUnderOriginPolicy(t *testing.T) {
	now := time.Now()
	root := pkitest.NewCA(t, "OCSP Policy Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	inter := root.Intermediate(t, "OCSP Policy Intermediate", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	responder := ocsptest.New(t, inter.Cert, inter.Key)
	leaf := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.internal-responder.com"}, OCSPServer: []string{responder.URL},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	cfg := testConfig(t)
	cfg.OCSPPoll = "100ms"
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "internal-responder.com"})["SiteId"])
	call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
	var recorded string
	waitFor(t, "the fetch recorded as refused", func() bool {
		list, _, err := n.db.Load().OCSPResponses(t.Context(), 0)
		if err != nil || len(list) == 0 {
			return false
		}
		recorded = list[0].Error
		return recorded != ""
	})
	if !strings.Contains(recorded, "--private-origins") {
		t.Errorf("recorded error %q, want the origin policy's refusal", recorded)
	}
	if got := responder.Requests.Load(); got != 0 {
		t.Errorf("a responder on loopback was asked %d times without --private-origins", got)
	}
}
