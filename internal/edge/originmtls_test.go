package edge

import (
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/origincert"
	"github.com/esacert/esacert/internal/origintest"
	"github.com/esacert/esacert/internal/site"
)

// originClientOf mints an origin client certificate of scope named cn, as the store
// hands it to the edge: its key sealed for its id.
func originClientOf(t *testing.T, pki *origintest.PKI, f *fixture, id string, scope origincert.Scope, cn string, created time.Time, hostnames ...string) origincert.Client {
	t.Helper()
	leaf := pki.ClientLeaf(t, cn)
	sealed, err := f.sealer.Seal([]byte(leaf.KeyPEM), origincert.ClientAAD(id))
	if err != nil {
		t.Fatal(err)
	}
	return origincert.Client{ID: id, Scope: scope, ChainPEM: leaf.ChainPEM, SealedKey: sealed, Hostnames: hostnames, Created: created}
}

// TestOriginTrustAndClientCertificates proxies to real TLS origins on
// loopback whose certificate a private CA signed, one of them requiring a
// client certificate, while the site's origin CAs and origin client
// certificates come and go: verification fails until the CA is the site's
// and again once it is deleted, a wrong SNI fails, no verification
// connects; the origin that requires a client certificate refuses the edge
// without OriginMtls, and with OriginMtls but no certificate for the host,
// and is served the hostname-level certificate naming the host, else the
// site-level one. Each change applies to the next request. A second edge
// started from the snapshot alone presents the same certificates.
func TestOriginTrustAndClientCertificates(t *testing.T) {
	f := newFixture(t)
	edgeCert, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com")
	pki := origintest.NewPKI(t)
	plainPort, mtlsPort := pki.Start(t, "backend.internal", false), pki.Start(t, "backend.internal", true)

	rule := func(id int64, host, port, sni, verify, mtls string) httpsconf.HTTPSConfig {
		return httpsconf.OriginRule{ConfigID: id, SiteID: 1, ConfigType: httpsconf.ConfigRule, Rule: `(http.host eq "` + host + `")`,
			OriginScheme: "https", OriginHttpsPort: port, OriginSni: sni, OriginVerify: verify, OriginMtls: mtls}.Config()
	}
	configs := []httpsconf.HTTPSConfig{
		rule(1, "verify.example.com", plainPort, "backend.internal", "on", ""),
		rule(2, "wrongsni.example.com", plainPort, "other.internal", "on", ""),
		rule(3, "noverify.example.com", plainPort, "other.internal", "off", ""),
		rule(4, "nomtls.example.com", mtlsPort, "backend.internal", "on", "off"),
		rule(5, "mtls.example.com", mtlsPort, "backend.internal", "on", "on"),
		rule(6, "other.example.com", mtlsPort, "backend.internal", "on", "on"),
	}
	st := siteState(1, "example.com", site.SiteActive, edgeCert)
	st.Policy = sitePolicy(sitePolicies(configs), 1)
	for _, h := range []string{"verify", "wrongsni", "noverify", "nomtls", "mtls", "other"} {
		st.Routes = append(st.Routes, Route{Name: h + ".example.com", Origin: "127.0.0.1:1"}) // the rules name the ports
	}
	src := newMemSource()
	src.put(st)
	e, addr := startEdge(t, src, f.sealer)
	update := func(change func(st *SiteState)) {
		t.Helper()
		change(&st)
		src.put(st)
		e.Refresh(t.Context())
	}
	get := origintest.Visitor(t, addr)
	expect := func(step, host string, code int, body string) {
		t.Helper()
		gotCode, gotBody := get("https://" + host + "/")
		if gotCode != code || (body != "" && gotBody != body) {
			t.Errorf("%s: %s answered %d %q, want %d %q", step, host, gotCode, gotBody, code, body)
		}
	}

	expect("no origin CA", "verify.example.com", http.StatusBadGateway, "")
	expect("no origin CA", "noverify.example.com", 200, "no client certificate")
	expect("no origin CA", "wrongsni.example.com", http.StatusBadGateway, "")

	ca := origincert.CA{ID: "ca1", SiteID: 1, CertPEM: pki.ServerCA.CertPEM}
	update(func(st *SiteState) { st.OriginCAs = []origincert.CA{ca} })
	expect("origin CA uploaded", "verify.example.com", 200, "no client certificate")
	expect("origin CA uploaded", "wrongsni.example.com", http.StatusBadGateway, "")
	expect("origin CA uploaded", "nomtls.example.com", http.StatusBadGateway, "")
	expect("OriginMtls without a certificate", "mtls.example.com", http.StatusBadGateway, "")

	hostLevel := originClientOf(t, pki, f, "occ-host", origincert.ScopeHostname, "edge-hostname", now, "mtls.example.com")
	update(func(st *SiteState) { st.OriginClients = []origincert.Client{hostLevel} })
	expect("hostname-level certificate", "mtls.example.com", 200, "client edge-hostname")
	expect("hostname-level certificate for another host", "other.example.com", http.StatusBadGateway, "")
	expect("hostname-level certificate, OriginMtls off", "nomtls.example.com", http.StatusBadGateway, "")

	siteLevel := originClientOf(t, pki, f, "occ-site", origincert.ScopeSite, "edge-site", now.Add(time.Minute))
	update(func(st *SiteState) { st.OriginClients = []origincert.Client{siteLevel, hostLevel} })
	expect("site-level certificate", "other.example.com", 200, "client edge-site")
	expect("site-level certificate beside a hostname-level one", "mtls.example.com", 200, "client edge-hostname")

	// A second edge from the snapshot alone (its store unreadable).
	snap := filepath.Join(t.TempDir(), "edge.snapshot")
	if err := saveSnapshot(snap, e.Index(), now); err != nil {
		t.Fatal(err)
	}
	down := newMemSource()
	down.fail = true
	e2, addr2 := serveEdge(t, &Edge{Source: down, Sealer: f.sealer, Poll: time.Hour, Snapshot: snap})
	if !e2.Index().snapshot {
		t.Fatal("the second edge did not start from the snapshot")
	}
	get2 := origintest.Visitor(t, addr2)
	for host, want := range map[string]string{"mtls.example.com": "client edge-hostname", "other.example.com": "client edge-site",
		"verify.example.com": "no client certificate"} {
		if code, body := get2("https://" + host + "/"); code != 200 || body != want {
			t.Errorf("from the snapshot: %s answered %d %q, want 200 %q", host, code, body, want)
		}
	}

	update(func(st *SiteState) { st.OriginClients = []origincert.Client{siteLevel} })
	expect("hostname-level certificate deleted", "mtls.example.com", 200, "client edge-site")
	update(func(st *SiteState) { st.OriginClients = nil })
	expect("both deleted", "mtls.example.com", http.StatusBadGateway, "")
	expect("both deleted", "other.example.com", http.StatusBadGateway, "")
	update(func(st *SiteState) { st.OriginCAs = nil })
	expect("origin CA deleted", "verify.example.com", http.StatusBadGateway, "")
	expect("origin CA deleted", "noverify.example.com", 200, "no client certificate")
}

// TestOriginClientSelection: the hostname-level certificate naming a host
// exactly comes first, then one naming it by a wildcard one label up, then
// the site-level one; among several, the newest. A certificate without a
// chain or key is left out.
func TestOriginClientSelection(t *testing.T) {
	chain := "-----BEGIN CERTIFICATE-----\nAQID\n-----END CERTIFICATE-----\n"
	c := func(id string, scope origincert.Scope, created int, hostnames ...string) origincert.Client {
		return origincert.Client{ID: id, Scope: scope, ChainPEM: chain, SealedKey: []byte{1}, Hostnames: hostnames,
			Created: now.Add(time.Duration(created) * time.Minute)}
	}
	so := newSiteOrigin(nil, []origincert.Client{
		c("old-exact", origincert.ScopeHostname, 0, "www.example.com"),
		c("new-exact", origincert.ScopeHostname, 1, "www.example.com", "API.example.com"),
		c("wild", origincert.ScopeHostname, 2, "*.example.com"),
		c("site-old", origincert.ScopeSite, 0),
		c("site-new", origincert.ScopeSite, 3),
		{ID: "no-key", Scope: origincert.ScopeHostname, ChainPEM: chain, Hostnames: []string{"nokey.example.com"}, Created: now.Add(time.Hour)},
	})
	for host, want := range map[string]string{"www.example.com": "new-exact", "api.example.com": "new-exact",
		"img.example.com": "wild", "nokey.example.com": "wild", "a.b.example.com": "site-new", "example.com": "site-new"} {
		if got := so.clientFor(host); got == nil || got.id != want {
			t.Errorf("clientFor(%s) = %v, want %s", host, got, want)
		}
	}
	if so.caKey != "" {
		t.Errorf("caKey %q without CAs, want none", so.caKey)
	}
	if newSiteOrigin(nil, nil) != nil {
		t.Error("a site without origin certificates carries a siteOrigin")
	}
	a := newSiteOrigin([]origincert.CA{{ID: "1", CertPEM: "A"}, {ID: "2", CertPEM: "B"}}, nil)
	b := newSiteOrigin([]origincert.CA{{ID: "3", CertPEM: "B"}, {ID: "4", CertPEM: "A"}}, nil)
	other := newSiteOrigin([]origincert.CA{{ID: "1", CertPEM: "A"}}, nil)
	if a.caKey == "" || a.caKey != b.caKey || a.caKey == other.caKey {
		t.Errorf("CA keys %q %q %q: want the same set to give the same key, another set another", a.caKey, b.caKey, other.caKey)
	}
}

// TestOriginClientKeyErrors: an origin client certificate's key opens only
// with the master key and the id it was sealed for; otherwise the edge has
// no certificate to present and the handshake with the origin fails (it is
// not sent without one).
func TestOriginClientKeyErrors(t *testing.T) {
	f := newFixture(t)
	pki := origintest.NewPKI(t)
	c := originClientOf(t, pki, f, "occ-1", origincert.ScopeSite, "edge", now)
	o := &originTransport{sealer: f.sealer}
	if _, err := o.clientCert(&originClient{id: "occ-1", chain: pemBlocks(c.ChainPEM), sealed: c.SealedKey}); err != nil {
		t.Fatalf("opening a good key: %v", err)
	}
	other := newFixture(t) // another master key
	o2 := &originTransport{sealer: other.sealer}
	if _, err := o2.clientCert(&originClient{id: "occ-1", chain: pemBlocks(c.ChainPEM), sealed: c.SealedKey}); err == nil {
		t.Error("a key sealed under another master key opened")
	}
	if _, err := o.clientCert(&originClient{id: "occ-2", chain: pemBlocks(c.ChainPEM), sealed: c.SealedKey}); err == nil {
		t.Error("a key opened for another certificate's id")
	}
	none := &originTransport{}
	if _, err := none.clientCert(&originClient{id: "occ-1", chain: pemBlocks(c.ChainPEM), sealed: c.SealedKey}); err == nil {
		t.Error("a key opened without a sealer")
	}
}
