package edge

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/site"
)

// TestSNISettings: HttpsNoSniDeny, HttpsSniVerify and HttpsSniWhitelist,
// from HTTPS application configurations (a global one and rules), over real
// TLS handshakes, with and without SNI.
func TestSNISettings(t *testing.T) {
	f := newFixture(t)
	c, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.com", "example.com")
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "origin for "+r.Host)
	}))
	defer origin.Close()
	originAddr := strings.TrimPrefix(origin.URL, "http://")

	app := func(id int64, rule string, a httpsconf.HTTPSApplication) httpsconf.HTTPSConfig {
		a.ConfigID, a.SiteID, a.ConfigType = id, 1, httpsconf.ConfigGlobal
		if id >= 100 {
			a.SiteID = 2
		}
		if rule != "" {
			a.ConfigType, a.Rule, a.RuleEnable, a.Sequence = httpsconf.ConfigRule, `(http.host eq "`+rule+`")`, "on", int(id)
		}
		return a.Config()
	}
	configs := []httpsconf.HTTPSConfig{
		// Only the listed names may be asked for, site-wide.
		app(1, "", httpsconf.HTTPSApplication{HttpsSniVerify: "on", HttpsSniWhitelist: "WWW.example.com. *.list.example.com"}),
		// This host lets any SNI in (its own name, here).
		app(2, "open.example.com", httpsconf.HTTPSApplication{HttpsSniVerify: "off"}),
		// This host refuses clients without SNI.
		app(3, "deny.example.com", httpsconf.HTTPSApplication{HttpsSniVerify: "off", HttpsNoSniDeny: "on"}),
		// Another site: verification on with an empty list adds nothing.
		// (A rule that leaves the list out keeps the global one's.)
		app(100, "", httpsconf.HTTPSApplication{HttpsSniVerify: "on"}),
	}
	st := siteState(1, "example.com", site.SiteActive, c)
	st.Policy = sitePolicy(sitePolicies(configs), 1)
	for _, h := range []string{"www", "open", "deny", "other"} {
		st.Routes = append(st.Routes, Route{Name: h + ".example.com", Origin: originAddr})
	}
	c2, _ := f.certificate("ecdsa-p256", now.Add(60*24*time.Hour), "*.example.org")
	st2 := siteState(2, "example.org", site.SiteActive, c2)
	st2.Policy = sitePolicy(sitePolicies(configs), 2)
	src := newMemSource()
	src.put(st)
	src.put(st2)
	_, addr := startEdge(t, src, f.sealer) // no NoSNIHost

	for name, ok := range map[string]bool{
		"www.example.com":   true,  // listed
		"other.example.com": false, // covered by the certificate, not listed
		"open.example.com":  true,  // its rule turns verification off
		"deny.example.com":  true,  // HttpsNoSniDeny is about clients without SNI only
		"any.example.org":   true,  // on, with an empty list
		"example.com":       false,
	} {
		_, err := handshake(t, addr, name, nil)
		if ok && err != nil {
			t.Errorf("SNI %s refused: %v", name, err)
		}
		if !ok && (err == nil || !strings.Contains(err.Error(), "unrecognized name")) {
			t.Errorf("SNI %s: error %v, want unrecognized_name", name, err)
		}
	}

	// Without SNI (a client dialling the edge's address) and no NoSNIHost:
	// no host, so refused whatever the settings say.
	if _, err := handshake(t, addr, "", nil); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Errorf("no SNI without a NoSNIHost: %v, want unrecognized_name", err)
	}

	// With a NoSNIHost, the client is answered as that host, with its
	// certificate, and its requests must be for that host.
	e2, addr2 := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, NoSNIHost: "WWW.Example.com"})
	chain, err := handshake(t, addr2, "", nil)
	if err != nil {
		t.Fatalf("no SNI with NoSNIHost www.example.com: %v", err)
	}
	if err := chain[0].VerifyHostname("www.example.com"); err != nil {
		t.Errorf("no SNI: served a certificate for %v", chain[0].DNSNames)
	}
	noSNI := &http.Client{Transport: &http.Transport{
		DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			d := &tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // no ServerName: no SNI
			return d.DialContext(ctx, network, addr2)
		},
	}}
	for host, want := range map[string]int{"www.example.com": 200, "open.example.com": 421} {
		resp, err := noSNI.Get("https://" + host + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("no SNI, Host %s: %d %q, want %d", host, resp.StatusCode, body, want)
		}
	}
	noSNI.CloseIdleConnections()

	// A NoSNIHost whose HttpsNoSniDeny is on refuses them.
	_, addr3 := serveEdge(t, &Edge{Source: src, Sealer: f.sealer, Poll: time.Hour, NoSNIHost: "deny.example.com"})
	if _, err := handshake(t, addr3, "", nil); err == nil || !strings.Contains(err.Error(), "unrecognized name") {
		t.Errorf("no SNI, NoSNIHost with HttpsNoSniDeny on: %v, want unrecognized_name", err)
	}

	// Turned on for www.example.com later: its clients without SNI are
	// refused from then on, and a request on a connection made before is
	// answered 421.
	conn, err := tls.Dial("tcp", addr2, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	configs = append(configs, app(5, "www.example.com", httpsconf.HTTPSApplication{HttpsNoSniDeny: "on"}))
	st.Policy = sitePolicy(sitePolicies(configs), 1)
	src.put(st)
	e2.Refresh(context.Background())
	if _, err := handshake(t, addr2, "", nil); err == nil {
		t.Error("no SNI still served after HttpsNoSniDeny was turned on for the NoSNIHost")
	}
	if _, err := handshake(t, addr2, "www.example.com", nil); err != nil {
		t.Errorf("with SNI, refused after HttpsNoSniDeny: %v", err)
	}
	io.WriteString(conn, "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("request on a no-SNI connection after HttpsNoSniDeny: %d, want 421", resp.StatusCode)
	}
}

func TestSNIWhitelist(t *testing.T) {
	hp := HostPolicy{SNIAllow: sniWhitelist("a.example.com, *.b.example.com  C.EXAMPLE.COM.")}
	for host, want := range map[string]bool{
		"a.example.com":     true,
		"c.example.com":     true,
		"x.b.example.com":   true,
		"b.example.com":     false, // a wildcard is one label deep
		"x.y.b.example.com": false,
		"d.example.com":     false,
	} {
		if got := hp.allowsSNI(host); got != want {
			t.Errorf("allowsSNI(%s) = %v, want %v", host, got, want)
		}
	}
	if !(&HostPolicy{}).allowsSNI("anything.example") {
		t.Error("no whitelist refuses a name")
	}
}

// TestNoSNIClientCertificates: a client without SNI answered as a
// NoSNIHost that asks for client certificates is asked for one, as a
// client naming that host is: refused without, served with one of a bound
// CA, and the origin is told who it is.
func TestNoSNIClientCertificates(t *testing.T) {
	w := newMTLSWorld(t)
	issued, issuedPair := clientLeaf(t, w.issuer, "visitor-1")
	w.bind(ClientCA{ID: "issuer", Certs: [][]byte{w.issuer.Cert.Raw}, Hostnames: []string{"secure.example.com"},
		Issued: true, Active: []string{fp(issued.Cert.Raw)}})
	_, addr := serveEdge(t, &Edge{Source: w.src, Sealer: w.e.Sealer, Poll: time.Hour, NoSNIHost: "secure.example.com"})
	noSNI := func(cert *tls.Certificate) *http.Client {
		cfg := &tls.Config{InsecureSkipVerify: true} // no ServerName: no SNI
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		return &http.Client{Transport: &http.Transport{
			DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, addr)
			}}, Timeout: 5 * time.Second}
	}
	if _, _, err := w.get(noSNI(nil), "https://secure.example.com/"); err == nil {
		t.Error("no SNI, no client certificate: served, want a failed handshake")
	}
	status, seen, err := w.get(noSNI(&issuedPair), "https://secure.example.com/")
	if err != nil || status != 200 {
		t.Fatalf("no SNI, an issued certificate: %d, %v", status, err)
	}
	if got := seen.Get("X-Client-Cert-Subject"); got != "CN=visitor-1" {
		t.Errorf("origin saw X-Client-Cert-Subject %q", got)
	}
}
