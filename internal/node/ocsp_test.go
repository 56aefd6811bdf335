package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	xocsp "golang.org/x/crypto/ocsp"

	"github.com/esacert/esacert/internal/config"
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

// ocspPKI is an intermediate CA whose leaves name a local OCSP responder
// that answers for them.
type ocspPKI struct {
	inter     *pkitest.CA
	responder *ocsptest.Responder
}

func newOCSPPKI(t *testing.T, name string) ocspPKI {
	now := time.Now()
	root := pkitest.NewCA(t, name+" Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	inter := root.Intermediate(t, name+" Intermediate", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	return ocspPKI{inter: inter, responder: ocsptest.New(t, inter.Cert, inter.Key)}
}

// leaf mints a certificate for names that names the responder.
func (p ocspPKI) leaf(t *testing.T, names ...string) *pkitest.Leaf {
	now := time.Now()
	return p.inter.Leaf(t, pkitest.LeafOptions{DNSNames: names, OCSPServer: []string{p.responder.URL},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
}

// ocspConfig is testConfig with the OCSP fetcher polling every 100 ms and
// the loopback responder allowed (as an origin there would be).
func ocspConfig(t *testing.T) config.Config {
	cfg := testConfig(t)
	ocspSettings(&cfg)
	return cfg
}

func ocspSettings(cfg *config.Config) {
	cfg.OCSPPoll = "100ms"
	cfg.PrivateOrigins = "127.0.0.0/8"
}

// TestOCSPSharedByTheFleet: a node with the renewer role fetches a
// certificate's response; an edge-only node on the same database (SQLite
// or PostgreSQL), which never asks a responder, staples the same response
// once OcspStapling is on, through the API of the first.
func TestOCSPSharedByTheFleet(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			pki := newOCSPPKI(t, "OCSP Fleet")
			leaf := pki.leaf(t, "www.fleet-stapled.com")
			a, b := startTwoNodesWith(t, db, "fe", ocspSettings)
			defer stop(t, a)
			defer b.Shutdown(context.Background())
			siteID := jsonNumber(call(t, a, "2024-09-10", "CreateSite", map[string]string{"SiteName": "fleet-stapled.com"})["SiteId"])
			call(t, a, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
				"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})
			call(t, a, "2024-09-10", "CreateHttpsBasicConfiguration", map[string]string{"SiteId": siteID, "OcspStapling": "on"})
			staples := map[*Node][]byte{}
			for _, n := range []*Node{a, b} {
				waitFor(t, "a staple", func() bool { _, staples[n] = staple(n.HTTPSAddr(), "www.fleet-stapled.com"); return staples[n] != nil })
			}
			if r, err := xocsp.ParseResponseForCert(staples[b], leaf.Cert, pki.inter.Cert); err != nil || r.Status != xocsp.Good {
				t.Fatalf("the edge-only node's staple: %v", err)
			}
			if !bytes.Equal(staples[a], staples[b]) {
				t.Error("the two nodes staple different responses")
			}
			if got := pki.responder.Requests.Load(); got != 1 {
				t.Errorf("the responder was asked %d times, want once (by the renewer)", got)
			}
		})
	}
}

// TestOCSPStaplingAcrossRestart: a node fetches the OCSP response of an
// uploaded certificate from the responder its leaf names (a local one) and
// staples it for a host once OcspStapling is on, through the API; after a
// restart with the responder down, the response kept in the database is
// stapled again without asking the responder.
func TestOCSPStaplingAcrossRestart(t *testing.T) {
	pki := newOCSPPKI(t, "OCSP Node")
	inter, responder := pki.inter, pki.responder
	leaf := pki.leaf(t, "www.stapled.com")
	cfg := ocspConfig(t)
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

// TestOCSPStateInGetCertificate: GetCertificate's Result.Ocsp (an esacert
// extension) shows a certificate's OCSP state and what it does to serving:
// a Must-Staple certificate whose responder is down has no response, says
// why (the fetch's error) and is not served; once the responder answers it
// (for the replacement leaf) is good, with no problem, and served stapled.
// A certificate without a responder says so.
func TestOCSPStateInGetCertificate(t *testing.T) {
	now := time.Now()
	root := pkitest.NewCA(t, "OCSP State Root", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	inter := root.Intermediate(t, "OCSP State Intermediate", now.Add(-time.Hour), now.Add(365*24*time.Hour))
	responder := ocsptest.New(t, inter.Cert, inter.Key)
	responder.SetDown(true)
	must := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.must-staple.com"}, OCSPServer: []string{responder.URL}, MustStaple: true,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	plain := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"api.must-staple.com"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	cfg := testConfig(t)
	cfg.OCSPPoll = "100ms"
	cfg.PrivateOrigins = "127.0.0.0/8"
	n, err := Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer stop(t, n)
	siteID := jsonNumber(call(t, n, "2024-09-10", "CreateSite", map[string]string{"SiteName": "must-staple.com"})["SiteId"])
	mustID := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": must.ChainPEM, "PrivateKey": must.KeyPEM})["Id"].(string)
	plainID := call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Type": "upload",
		"Certificate": plain.ChainPEM, "PrivateKey": plain.KeyPEM})["Id"].(string)
	ocspOf := func(id string) map[string]any {
		res := call(t, n, "2024-09-10", "GetCertificate", map[string]string{"SiteId": siteID, "Id": id})
		o, _ := res["Result"].(map[string]any)["Ocsp"].(map[string]any)
		return o
	}
	var o map[string]any
	waitFor(t, "a failed fetch shown", func() bool { o = ocspOf(mustID); return o != nil && o["FetchError"] != nil })
	if o["Status"] != "pending" || o["MustStaple"] != true || !strings.HasPrefix(o["Problem"].(string), "no OCSP response yet: ") ||
		jsonNumber(o["FetchFailures"]) == "0" || o["NextFetchTime"] == nil {
		t.Errorf("Ocsp with the responder down = %v", o)
	}
	if l, _ := staple(n.HTTPSAddr(), "www.must-staple.com"); l != nil {
		t.Error("a Must-Staple certificate without a response was served")
	}
	waitFor(t, "no responder shown", func() bool { o = ocspOf(plainID); return o != nil && o["Status"] == "none" })
	if o["MustStaple"] != false || o["Problem"] != "the certificate names no OCSP responder" {
		t.Errorf("Ocsp of a certificate without a responder = %v", o)
	}

	// The responder back, and the certificate replaced (a new leaf is
	// fetched at once; the failed one would be tried again in a minute).
	responder.SetDown(false)
	must2 := inter.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.must-staple.com"}, OCSPServer: []string{responder.URL}, MustStaple: true,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(60 * 24 * time.Hour)})
	call(t, n, "2024-09-10", "SetCertificate", map[string]string{"SiteId": siteID, "Id": mustID, "Type": "upload",
		"Certificate": must2.ChainPEM, "PrivateKey": must2.KeyPEM})
	waitFor(t, "a good response shown", func() bool { o = ocspOf(mustID); return o != nil && o["Status"] == "good" })
	if o["Problem"] != nil || o["FetchError"] != nil || o["ThisUpdate"] == nil || o["NextUpdate"] == nil || o["FetchTime"] == nil {
		t.Errorf("Ocsp once good = %v", o)
	}
	waitFor(t, "the Must-Staple certificate served stapled", func() bool {
		l, s := staple(n.HTTPSAddr(), "www.must-staple.com")
		return l != nil && s != nil
	})
}
