package apiclient_test

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/api"
	"github.com/esacert/esacert/internal/apiclient"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/pkitest"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/sitetest"
)

var rootKey = accesskey.Key{ID: "LTAIapiclienttest0001", Secret: "apiclient-test-secret-0123456789"}

// server is a real API server (the envelope that verifies signatures, and
// the site and certificate services on SQLite) holding example.com, with a
// clock at sitetest.T0.
func server(t *testing.T) (*sitetest.Env, *api.Server) {
	t.Helper()
	env := sitetest.New(t)
	now := env.Clock.Now
	s := &api.Server{
		Sites: &site.Service{Store: env.Store, Now: now},
		Certs: &cert.Service{Sites: env.Store, Certs: env.Store, Repo: env.Store, Sealer: env.Sealer, Now: now},
		Keys:  accesskey.NewRing(rootKey),
		Now:   now,
		Log:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return env, s
}

func client(endpoint string, now func() time.Time) *apiclient.Client {
	return &apiclient.Client{Endpoint: endpoint, Now: now,
		Credentials: apiclient.Credentials{AccessKeyID: rootKey.ID, AccessKeySecret: rootKey.Secret}}
}

// TestCallRoundTrip: a certificate (a long body of PEM, with +, / and =)
// goes up in a signed form body and comes back byte for byte, and the
// answer keeps the node's field order and exact numbers.
func TestCallRoundTrip(t *testing.T) {
	env, s := server(t)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	c := client(hs.URL, env.Clock.Now)

	ca := pkitest.NewCA(t, "Test CA", sitetest.T0.Add(-time.Hour), sitetest.T0.Add(90*24*time.Hour))
	leaf := ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com"}})
	site := strconv.FormatInt(env.Site.ID, 10)
	out, err := c.Call(t.Context(), api.ESAVersion, "SetCertificate", url.Values{"SiteId": {site}, "Type": {"upload"},
		"Name": {"www & co = ok+1 ü"}, "Certificate": {leaf.ChainPEM}, "PrivateKey": {leaf.KeyPEM}})
	if err != nil {
		t.Fatalf("SetCertificate: %v", err)
	}
	var set struct{ Id string }
	if err := json.Unmarshal(out, &set); err != nil || set.Id == "" {
		t.Fatalf("SetCertificate answered %s", out)
	}
	out, err = c.Call(t.Context(), api.ESAVersion, "GetCertificate", url.Values{"SiteId": {site}, "Id": {set.Id}})
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	var got struct {
		SiteId      int64
		Certificate string
		Result      struct{ Name string }
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if got.Certificate != leaf.ChainPEM || got.Result.Name != "www & co = ok+1 ü" || got.SiteId != env.Site.ID {
		t.Errorf("GetCertificate answered %s", out)
	}
	if !strings.Contains(string(out), `"SiteId":`+site) {
		t.Errorf("the answer's SiteId is not the exact number %s: %s", site, out)
	}
}

// TestCallErrors: error answers are *Error with the node's Code, Message
// and status; a wrong secret and a clock far off are refused by the
// server's verifier, which shows that what is signed is what it checks.
func TestCallErrors(t *testing.T) {
	env, s := server(t)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	tests := []struct {
		name    string
		client  *apiclient.Client
		action  string
		params  url.Values
		code    string
		status  int
		message string
	}{
		{"fail/not_found", client(hs.URL, env.Clock.Now), "GetSite", url.Values{"SiteId": {"1"}}, "SiteNotFound", 404, ""},
		{"fail/bad_parameter", client(hs.URL, env.Clock.Now), "ListSites", url.Values{"PageSize": {"x"}}, "InvalidParameter", 400, "PageSize"},
		{"fail/unknown_action", client(hs.URL, env.Clock.Now), "Frobnicate", nil, "InvalidAction.NotFound", 404, ""},
		{"fail/wrong_secret", &apiclient.Client{Endpoint: hs.URL, Now: env.Clock.Now,
			Credentials: apiclient.Credentials{AccessKeyID: rootKey.ID, AccessKeySecret: "not-the-secret"}},
			"ListSites", nil, "SignatureDoesNotMatch", 400, ""},
		{"fail/unknown_key", &apiclient.Client{Endpoint: hs.URL, Now: env.Clock.Now,
			Credentials: apiclient.Credentials{AccessKeyID: "LTAInobody", AccessKeySecret: rootKey.Secret}},
			"ListSites", nil, "InvalidAccessKeyId.NotFound", 404, ""},
		{"fail/clock_behind", client(hs.URL, func() time.Time { return sitetest.T0.Add(-20 * time.Minute) }),
			"ListSites", nil, "InvalidTimeStamp.Expired", 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Call(t.Context(), api.ESAVersion, tt.action, tt.params)
			var e *apiclient.Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want an *Error", err)
			}
			if e.Code != tt.code || e.HTTPStatus != tt.status || e.RequestID == "" || !strings.Contains(e.Message, tt.message) {
				t.Errorf("got %d %s %q (RequestId %q), want %d %s mentioning %q", e.HTTPStatus, e.Code, e.Message, e.RequestID, tt.status, tt.code, tt.message)
			}
			if strings.Contains(string(e.Body), rootKey.Secret) || strings.Contains(err.Error(), rootKey.Secret) {
				t.Errorf("the error shows the secret")
			}
		})
	}
}

// TestCallOverTLS: the client verifies the node's certificate with the
// roots it is given, and fails without them.
func TestCallOverTLS(t *testing.T) {
	env, s := server(t)
	hs := httptest.NewTLSServer(s)
	t.Cleanup(hs.Close)
	roots := x509.NewCertPool()
	roots.AddCert(hs.Certificate())
	c := client(hs.URL, env.Clock.Now)
	c.HTTP = &http.Client{Transport: &http.Transport{TLSClientConfig: hs.Client().Transport.(*http.Transport).TLSClientConfig.Clone()}}
	c.HTTP.Transport.(*http.Transport).TLSClientConfig.RootCAs = roots
	if _, err := c.Call(t.Context(), api.ESAVersion, "ListSites", nil); err != nil {
		t.Fatalf("ListSites over TLS: %v", err)
	}
	plain := client(hs.URL, env.Clock.Now)
	_, err := plain.Call(t.Context(), api.ESAVersion, "ListSites", nil)
	var e *apiclient.Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("an untrusted certificate gave %v, want a TLS error", err)
	}
}

// TestCallFailures: what is not an answer from a node is not an *Error.
func TestCallFailures(t *testing.T) {
	notJSON := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>hello</html>") }))
	t.Cleanup(notJSON.Close)
	proxyError := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad gateway", http.StatusBadGateway)
	}))
	t.Cleanup(proxyError.Close)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	tests := []struct {
		name, endpoint, want string
		apiError             bool
	}{
		{"fail/not_json", notJSON.URL, "not JSON", false},
		{"fail/status_without_body", proxyError.URL, "HTTP 502", true},
		{"fail/unreachable", closed.URL, "refused", false},
		{"fail/bad_endpoint", "127.0.0.1:8787", "not an http", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := client(tt.endpoint, nil).Call(t.Context(), api.ESAVersion, "ListSites", nil)
			var e *apiclient.Error
			if err == nil || !strings.Contains(err.Error(), tt.want) || errors.As(err, &e) != tt.apiError {
				t.Errorf("got %v, want an error mentioning %q (an *Error: %v)", err, tt.want, tt.apiError)
			}
		})
	}
}
