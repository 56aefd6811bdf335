package api

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/cert"
	"github.com/esacert/esacert/internal/httpsconf"
	"github.com/esacert/esacert/internal/record"
	"github.com/esacert/esacert/internal/site"
	"github.com/esacert/esacert/internal/store/sqlstore"
)

// clock is a settable time source for the server under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// testEnv is an API server on a real SQLite file behind a real listener.
type testEnv struct {
	srv   *Server
	url   string
	clock *clock
	logs  *bytes.Buffer
	logMu *sync.Mutex // held while logs is written
	key   accesskey.Key
}

func newTestEnv(t *testing.T, now time.Time, keys ...accesskey.Key) *testEnv {
	t.Helper()
	store, err := sqlstore.Open(t.Context(), "sqlite:"+filepath.Join(t.TempDir(), "esacert.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	clk := &clock{t: now}
	sites := &site.Service{Store: store, Now: clk.Now}
	records := &record.Service{Store: store, Sites: store, Now: clk.Now}
	https := &httpsconf.Service{Store: store, Sites: store}
	svc := &cert.Service{Sites: store, Now: clk.Now}
	if err := sites.EnsureDefaultInstance(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		keys = []accesskey.Key{{ID: "testAKID", Secret: "testSecret"}}
	}
	logs := &bytes.Buffer{}
	mu := &sync.Mutex{}
	s := &Server{
		Sites:   sites,
		Records: records,
		HTTPS:   https,
		Certs:   svc,
		Keys:    accesskey.NewRing(keys...),
		Now:     clk.Now,
		Log:     slog.New(slog.NewJSONHandler(lockedWriter{mu, logs}, nil)),
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	return &testEnv{srv: s, url: hs.URL, clock: clk, logs: logs, logMu: mu, key: keys[0]}
}

// logLines returns the log's lines once it holds at least n. The server
// writes a request's line after its answer, so this waits for it, up to
// ten seconds.
func (e *testEnv) logLines(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		e.logMu.Lock()
		text := strings.TrimSpace(e.logs.String())
		e.logMu.Unlock()
		var lines []string
		if text != "" {
			lines = strings.Split(text, "\n")
		}
		if len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("the log has %d lines, want %d:\n%s", len(lines), n, text)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// answer is a decoded API response.
type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (a answer) code() string { s, _ := a.body["Code"].(string); return s }

func readAnswer(t *testing.T, resp *http.Response) answer {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		t.Fatalf("response is not a JSON object: %v: %q", err, raw)
	}
	return a
}

var requestIDPattern = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-4[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)

// checkEnvelope asserts what every answer has.
func checkEnvelope(t *testing.T, a answer) {
	t.Helper()
	if id, _ := a.body["RequestId"].(string); !requestIDPattern.MatchString(id) {
		t.Errorf("RequestId %q is not an upper-case UUID", id)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json;charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if a.status >= 500 {
		t.Errorf("status %d: a 5xx is never an answer", a.status)
	}
	if a.status >= 400 {
		for _, k := range []string{"Code", "Message", "Recommend", "HostId"} {
			if s, _ := a.body[k].(string); s == "" {
				t.Errorf("error body lacks %s: %s", k, a.raw)
			}
		}
	} else if _, ok := a.body["Code"]; ok {
		t.Errorf("success body has a Code: %s", a.raw)
	}
}

// signer signs requests the way the official clients do.
type signer struct {
	key, secret string
	now         time.Time
	nonce       int
	version     string // "" means ESAVersion
	token       string // an STS security token, sent when set
}

func (s *signer) apiVersion() string {
	if s.version != "" {
		return s.version
	}
	return ESAVersion
}

func (s *signer) nextNonce() string {
	s.nonce++
	return fmt.Sprintf("%032x", s.nonce+int(s.now.UnixNano()%1e9))
}

// acs3 builds an ACS3-signed request; edit, if not nil, changes it after signing.
func (s *signer) acs3(t testing.TB, base, method, action string, query, form url.Values, edit func(*http.Request)) *http.Request {
	t.Helper()
	var body []byte
	if form != nil {
		body = []byte(form.Encode())
	}
	u := base + "/"
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(body)
	req.Header.Set("x-acs-action", action)
	req.Header.Set("x-acs-version", s.apiVersion())
	req.Header.Set("x-acs-date", s.now.UTC().Format(time.RFC3339))
	req.Header.Set("x-acs-signature-nonce", s.nextNonce())
	req.Header.Set("x-acs-content-sha256", hex.EncodeToString(sum[:]))
	signed := []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}
	if s.token != "" {
		req.Header.Set("x-acs-security-token", s.token)
		signed = append(signed, "x-acs-security-token")
		slices.Sort(signed)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		signed = append([]string{"content-type"}, signed...)
	}
	cr := acs3Request{Method: method, Path: "/", Query: query, Header: req.Header, Host: req.URL.Host,
		SignedHeaders: signed, PayloadHash: hex.EncodeToString(sum[:])}
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s,SignedHeaders=%s,Signature=%s",
		acs3Algorithm, s.key, strings.Join(signed, ";"), acs3Signature(s.secret, cr.stringToSign())))
	if edit != nil {
		edit(req)
	}
	return req
}

// rpc builds an RPC-signed request with the common parameters in the query.
func (s *signer) rpc(t testing.TB, base, method, action string, query, form url.Values) *http.Request {
	t.Helper()
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("Action", action)
	q.Set("Version", s.apiVersion())
	q.Set("Format", "json")
	if s.token != "" {
		q.Set("SecurityToken", s.token)
	}
	q.Set("AccessKeyId", s.key)
	q.Set("SignatureMethod", "HMAC-SHA1")
	q.Set("SignatureVersion", "1.0")
	q.Set("SignatureNonce", s.nextNonce())
	q.Set("Timestamp", s.now.UTC().Format(time.RFC3339))
	all := mergeParams(q, form)
	q.Set("Signature", rpcSignature(s.secret, rpcStringToSign(method, all)))
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+"/?"+q.Encode(), body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return req
}

func do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	a := readAnswer(t, resp)
	checkEnvelope(t, a)
	return a
}

var testNow = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func TestEnvelopeErrors(t *testing.T) {
	env := newTestEnv(t, testNow)
	good := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	siteQuery := url.Values{"SiteId": {"1234567890123"}}
	tests := []struct {
		name       string
		req        func() *http.Request
		wantStatus int
		wantCode   string
		wantInMsg  string
	}{
		{"fail/unknown_action_acs3", func() *http.Request {
			return good.acs3(t, env.url, "POST", "NoSuchAction", nil, nil, nil)
		}, 404, "InvalidAction.NotFound", ""},
		{"fail/unknown_action_rpc", func() *http.Request {
			return good.rpc(t, env.url, "GET", "NoSuchAction", nil, nil)
		}, 404, "InvalidAction.NotFound", ""},
		{"fail/unknown_access_key", func() *http.Request {
			s := &signer{key: "LTAInobody", secret: "x", now: testNow}
			return s.acs3(t, env.url, "GET", "GetSite", siteQuery, nil, nil)
		}, 404, "InvalidAccessKeyId.NotFound", ""},
		{"fail/unknown_access_key_rpc", func() *http.Request {
			s := &signer{key: "LTAInobody", secret: "x", now: testNow}
			return s.rpc(t, env.url, "GET", "GetSite", siteQuery, nil)
		}, 404, "InvalidAccessKeyId.NotFound", ""},
		{"fail/wrong_secret_acs3", func() *http.Request {
			s := &signer{key: "testAKID", secret: "wrong", now: testNow}
			return s.acs3(t, env.url, "GET", "GetSite", siteQuery, nil, nil)
		}, 400, "SignatureDoesNotMatch", "server string to sign is:ACS3-HMAC-SHA256\n"},
		{"fail/wrong_secret_rpc", func() *http.Request {
			s := &signer{key: "testAKID", secret: "wrong", now: testNow}
			return s.rpc(t, env.url, "GET", "GetSite", siteQuery, nil)
		}, 400, "SignatureDoesNotMatch", "server string to sign is:GET&%2F&AccessKeyId%3DtestAKID"},
		{"fail/tampered_query_acs3", func() *http.Request {
			return good.acs3(t, env.url, "GET", "GetSite", siteQuery, nil, func(r *http.Request) {
				r.URL.RawQuery = "SiteId=1234567890124"
			})
		}, 400, "SignatureDoesNotMatch", ""},
		{"fail/tampered_body_acs3", func() *http.Request {
			return good.acs3(t, env.url, "POST", "CreateSite", nil, url.Values{"SiteName": {"a.com"}}, func(r *http.Request) {
				r.Body = io.NopCloser(strings.NewReader("SiteName=b.com"))
			})
		}, 400, "SignatureDoesNotMatch", "x-acs-content-sha256"},
		{"fail/tampered_body_rpc", func() *http.Request {
			r := good.rpc(t, env.url, "POST", "CreateSite", nil, url.Values{"SiteName": {"a.com"}})
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader("SiteName=b.com")), 14
			return r
		}, 400, "SignatureDoesNotMatch", ""},
		{"fail/repeated_parameter", func() *http.Request {
			r := good.rpc(t, env.url, "GET", "GetSite", siteQuery, nil)
			r.URL.RawQuery += "&SiteId=2"
			return r
		}, 400, "InvalidParameter", "more than once"},
		{"fail/not_utf8", func() *http.Request {
			return good.rpc(t, env.url, "GET", "ListSites", url.Values{"ResourceGroupId": {"\xff"}}, nil)
		}, 400, "InvalidParameter", "ResourceGroupId"},
		{"fail/nul", func() *http.Request {
			return good.rpc(t, env.url, "GET", "ListSites", url.Values{"SiteName": {"a\x00b"}}, nil)
		}, 400, "InvalidParameter", "SiteName"},
		{"fail/rpc_action_only_in_unsigned_header", func() *http.Request {
			// Validly signed, but without Action: the unsigned header must not supply it.
			q := url.Values{"Version": {ESAVersion}, "Format": {"json"}, "AccessKeyId": {"testAKID"},
				"SignatureMethod": {"HMAC-SHA1"}, "SignatureVersion": {"1.0"}, "SignatureNonce": {"no-action-nonce"},
				"Timestamp": {testNow.Format(time.RFC3339)}}
			q.Set("Signature", rpcSignature("testSecret", rpcStringToSign("GET", q)))
			r, _ := http.NewRequest("GET", env.url+"/?"+q.Encode(), nil)
			r.Header.Set("x-acs-action", "ListSites")
			return r
		}, 400, "MissingParameter", "Action"},
		{"fail/host_not_signed", func() *http.Request {
			return good.acs3(t, env.url, "GET", "ListSites", nil, nil, func(r *http.Request) {
				a, _ := parseAuthorization(r.Header.Get("Authorization"))
				r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+a.Credential+
					",SignedHeaders=x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature="+a.Signature)
			})
		}, 400, "IncompleteSignature", "host"},
		{"fail/signed_header_absent", func() *http.Request {
			return good.acs3(t, env.url, "GET", "ListSites", nil, nil, func(r *http.Request) {
				a, _ := parseAuthorization(r.Header.Get("Authorization"))
				r.Header.Set("Authorization", "ACS3-HMAC-SHA256 Credential="+a.Credential+
					",SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version;x-acs-extra,Signature="+a.Signature)
			})
		}, 400, "IncompleteSignature", "x-acs-extra"},
		{"fail/expired_timestamp_acs3", func() *http.Request {
			s := &signer{key: "testAKID", secret: "testSecret", now: testNow.Add(-16 * time.Minute)}
			return s.acs3(t, env.url, "GET", "GetSite", siteQuery, nil, nil)
		}, 400, "InvalidTimeStamp.Expired", ""},
		{"fail/future_timestamp_rpc", func() *http.Request {
			s := &signer{key: "testAKID", secret: "testSecret", now: testNow.Add(16 * time.Minute)}
			return s.rpc(t, env.url, "GET", "GetSite", siteQuery, nil)
		}, 400, "InvalidTimeStamp.Expired", ""},
		{"fail/no_signature", func() *http.Request {
			r, _ := http.NewRequest("GET", env.url+"/?Action=ListSites&Version=2024-09-10", nil)
			return r
		}, 400, "MissingParameter", ""},
		{"fail/no_timestamp_rpc", func() *http.Request {
			r := good.rpc(t, env.url, "GET", "ListSites", nil, nil)
			q := r.URL.Query()
			q.Del("Timestamp")
			r.URL.RawQuery = q.Encode()
			return r
		}, 400, "MissingParameter", "Timestamp"},
		{"fail/other_signature_method", func() *http.Request {
			r := good.rpc(t, env.url, "GET", "ListSites", nil, nil)
			q := r.URL.Query()
			q.Set("SignatureMethod", "HMAC-SHA256")
			r.URL.RawQuery = q.Encode()
			return r
		}, 400, "IncompleteSignature", "HMAC-SHA1"},
		{"fail/malformed_authorization", func() *http.Request {
			return good.acs3(t, env.url, "GET", "ListSites", nil, nil, func(r *http.Request) {
				r.Header.Set("Authorization", "ACS3-HMAC-SHA256 nonsense")
			})
		}, 400, "IncompleteSignature", ""},
		{"fail/unsigned_acs_header", func() *http.Request {
			return good.acs3(t, env.url, "GET", "ListSites", nil, nil, func(r *http.Request) {
				r.Header.Set("x-acs-security-token", "sneaked-in")
			})
		}, 400, "IncompleteSignature", "x-acs-security-token"},
		{"fail/unknown_version", func() *http.Request {
			return good.acs3(t, env.url, "GET", "ListSites", nil, nil, nil)
		}, 400, "InvalidVersion", ""},
		{"fail/missing_site_id", func() *http.Request {
			return good.acs3(t, env.url, "GET", "GetSite", nil, nil, nil)
		}, 400, "MissingParameter", "SiteId"},
		{"fail/site_id_not_a_number", func() *http.Request {
			return good.rpc(t, env.url, "GET", "GetSite", url.Values{"SiteId": {"abc"}}, nil)
		}, 400, "InvalidParameter", "SiteId"},
		{"fail/site_not_found", func() *http.Request {
			return good.rpc(t, env.url, "GET", "GetSite", siteQuery, nil)
		}, 404, "SiteNotFound", ""},
		{"fail/put", func() *http.Request {
			r, _ := http.NewRequest("PUT", env.url+"/", nil)
			return r
		}, 403, "UnsupportedHTTPMethod", ""},
		{"fail/json_body", func() *http.Request {
			r := good.rpc(t, env.url, "POST", "ListSites", nil, nil)
			r.Body, r.ContentLength = io.NopCloser(strings.NewReader(`{"a":1}`)), 7
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 400, "InvalidParameter", "x-www-form-urlencoded"},
		{"fail/bad_percent_encoding", func() *http.Request {
			r, _ := http.NewRequest("GET", env.url+"/?Action=ListSites&SiteName=%zz", nil)
			return r
		}, 400, "InvalidParameter", ""},
		{"fail/other_path", func() *http.Request {
			r := good.rpc(t, env.url, "GET", "ListSites", nil, nil)
			r.URL.Path = "/admin"
			return r
		}, 404, "InvalidAction.NotFound", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req()
			if tt.name == "fail/unknown_version" {
				req.Header.Set("x-acs-version", "2099-01-01")
				// re-sign with the changed version
				req = (&signer{key: "testAKID", secret: "testSecret", now: testNow, nonce: 9000}).acs3(t, env.url, "GET", "ListSites", nil, nil, nil)
				req.Header.Set("x-acs-version", "2099-01-01")
				resign(t, req, "testSecret")
			}
			a := do(t, req)
			if a.status != tt.wantStatus || a.code() != tt.wantCode {
				t.Fatalf("got %d %s, want %d %s: %s", a.status, a.code(), tt.wantStatus, tt.wantCode, a.raw)
			}
			if msg, _ := a.body["Message"].(string); !strings.Contains(msg, tt.wantInMsg) {
				t.Errorf("Message %q does not contain %q", msg, tt.wantInMsg)
			}
			if strings.Contains(a.raw, "BEGIN PRIVATE KEY") || strings.Contains(a.raw, "testSecret") {
				t.Errorf("the answer echoes secret material: %s", a.raw)
			}
			if a.body["HostId"] != strings.TrimPrefix(env.url, "http://") {
				t.Errorf("HostId = %v, want the Host of the request", a.body["HostId"])
			}
		})
	}
}

// resign recomputes the ACS3 signature of req after its headers changed.
func resign(t *testing.T, req *http.Request, secret string) {
	t.Helper()
	a, _ := parseAuthorization(req.Header.Get("Authorization"))
	q, _ := url.ParseQuery(req.URL.RawQuery)
	cr := acs3Request{Method: req.Method, Path: "/", Query: q, Header: req.Header, Host: req.URL.Host,
		SignedHeaders: a.SignedHeaders, PayloadHash: req.Header.Get("x-acs-content-sha256")}
	req.Header.Set("Authorization", fmt.Sprintf("%s Credential=%s,SignedHeaders=%s,Signature=%s",
		acs3Algorithm, a.Credential, strings.Join(a.SignedHeaders, ";"), acs3Signature(secret, cr.stringToSign())))
}

func TestNonceReplay(t *testing.T) {
	env := newTestEnv(t, testNow)
	s := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	for _, scheme := range []string{"acs3", "rpc"} {
		t.Run(scheme, func(t *testing.T) {
			var req func() *http.Request
			if scheme == "acs3" {
				r := s.acs3(t, env.url, "GET", "ListSites", nil, nil, nil)
				req = func() *http.Request { c := r.Clone(t.Context()); return c }
			} else {
				r := s.rpc(t, env.url, "GET", "ListSites", nil, nil)
				req = func() *http.Request { return r.Clone(t.Context()) }
			}
			if a := do(t, req()); a.status != 200 {
				t.Fatalf("first request: %d %s", a.status, a.raw)
			}
			a := do(t, req())
			if a.status != 400 || a.code() != "SignatureNonceUsed" {
				t.Fatalf("replay: %d %s, want 400 SignatureNonceUsed", a.status, a.raw)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	env := newTestEnv(t, testNow)
	s := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	big := url.Values{"SiteName": {strings.Repeat("a", DefaultMaxBody)}}
	t.Run("content_length", func(t *testing.T) {
		a := do(t, s.rpc(t, env.url, "POST", "CreateSite", nil, big))
		if a.status != 400 || a.code() != "InvalidParameter" || !strings.Contains(a.raw, "1 MiB") {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
	t.Run("chunked", func(t *testing.T) {
		r := s.rpc(t, env.url, "POST", "CreateSite", nil, big)
		r.ContentLength = -1 // sent chunked
		r.Body = io.NopCloser(io.MultiReader(r.Body))
		a := do(t, r)
		if a.status != 400 || a.code() != "InvalidParameter" || !strings.Contains(a.raw, "1 MiB") {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
	t.Run("just_under_the_limit_is_read", func(t *testing.T) {
		form := url.Values{"SiteName": {"example.com"}, "Pad": {strings.Repeat("b", DefaultMaxBody-100)}}
		a := do(t, s.rpc(t, env.url, "POST", "CreateSite", nil, form))
		if a.status != 200 {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
}

func TestParameterMerging(t *testing.T) {
	env := newTestEnv(t, testNow)
	s := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	// SiteName in the query is overridden by the body.
	a := do(t, s.rpc(t, env.url, "POST", "CreateSite", url.Values{"SiteName": {"query.com"}},
		url.Values{"SiteName": {"body.com"}, "Coverage": {"global"}}))
	if a.status != 200 {
		t.Fatalf("CreateSite: %d %s", a.status, a.raw)
	}
	id := fmt.Sprint(int64(a.body["SiteId"].(float64)))
	// ACS3 with the id in the body of a GET-style action.
	g := do(t, s.acs3(t, env.url, "POST", "GetSite", nil, url.Values{"SiteId": {id}}, nil))
	model, _ := g.body["SiteModel"].(map[string]any)
	if g.status != 200 || model["SiteName"] != "body.com" || model["Coverage"] != "global" {
		t.Fatalf("GetSite: %d %s", g.status, g.raw)
	}
}

// TestCapturedRequests replays, byte for byte over TCP, requests that the
// real clients sent (esa-api.md §3.3 and §3.6, clients.md): each must pass
// the envelope (signature, time, nonce), and the same bytes sent again must
// be refused as a replay. A changed body must be refused.
func TestCapturedRequests(t *testing.T) {
	files, _ := filepath.Glob("testdata/captured/*.http")
	if len(files) == 0 {
		t.Fatal("no captured requests")
	}
	envelopeCodes := map[string]bool{"SignatureDoesNotMatch": true, "IncompleteSignature": true,
		"InvalidAccessKeyId.NotFound": true, "InvalidTimeStamp.Expired": true, "SignatureNonceUsed": true,
		"MissingParameter": true, "InvalidParameter": true, "InvalidVersion": true}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".http"), func(t *testing.T) {
			c := parseCapture(t, f)
			env := newTestEnv(t, c.when, c.key)
			addr := strings.TrimPrefix(env.url, "http://")
			first := sendRaw(t, addr, c.raw(c.body))
			if envelopeCodes[first.code()] {
				t.Fatalf("captured request refused by the envelope: %s", first.raw)
			}
			again := sendRaw(t, addr, c.raw(c.body))
			if again.code() != "SignatureNonceUsed" {
				t.Fatalf("replay answered %s, want SignatureNonceUsed", again.raw)
			}
			if c.body != "" {
				env2 := newTestEnv(t, c.when, c.key)
				tampered := strings.Replace(c.body, "SiteId=1234567890123", "SiteId=1234567890124", 1)
				a := sendRaw(t, strings.TrimPrefix(env2.url, "http://"), c.raw(tampered))
				if a.code() != "SignatureDoesNotMatch" {
					t.Fatalf("tampered body answered %s, want SignatureDoesNotMatch", a.raw)
				}
			}
		})
	}
}

type capture struct {
	key         accesskey.Key
	when        time.Time
	requestLine string
	headers     []string
	chunked     bool
	body        string
}

func parseCapture(t *testing.T, path string) capture {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c capture
	head, body, _ := strings.Cut(string(data), "\n\n")
	c.body = strings.TrimSuffix(body, "\n")
	for _, line := range strings.Split(head, "\n") {
		switch {
		case strings.HasPrefix(line, "# key "):
			f := strings.Fields(line)
			c.key = accesskey.Key{ID: f[2], Secret: f[3]}
		case strings.HasPrefix(line, "# time "):
			c.when, err = time.Parse(time.RFC3339, strings.TrimPrefix(line, "# time "))
			if err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(line, "#"):
		case c.requestLine == "":
			c.requestLine = line
		default:
			name, _, _ := strings.Cut(line, ":")
			switch strings.ToLower(name) {
			case "content-length", "connection":
			case "transfer-encoding":
				c.chunked = true
			default:
				c.headers = append(c.headers, line)
			}
		}
	}
	hasHost := false
	for _, h := range c.headers {
		hasHost = hasHost || strings.HasPrefix(strings.ToLower(h), "host:")
	}
	if !hasHost {
		c.headers = append(c.headers, "Host: 127.0.0.1")
	}
	return c
}

// raw renders the request with body, framed as the client framed it.
func (c capture) raw(body string) string {
	var b strings.Builder
	b.WriteString(c.requestLine + " HTTP/1.1\r\n")
	for _, h := range c.headers {
		b.WriteString(h + "\r\n")
	}
	b.WriteString("Connection: close\r\n")
	if c.chunked {
		b.WriteString("Transfer-Encoding: chunked\r\n\r\n")
		for len(body) > 0 { // in uneven chunks, as a stream would come
			n := min(len(body), 97)
			fmt.Fprintf(&b, "%x\r\n%s\r\n", n, body[:n])
			body = body[n:]
		}
		b.WriteString("0\r\n\r\n")
		return b.String()
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(body), body)
	return b.String()
}

func sendRaw(t *testing.T, addr, raw string) answer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	a := readAnswer(t, resp)
	checkEnvelope(t, a)
	return a
}

// TestUnreachableDatabaseAnswersServiceUnavailable: an error the node calls
// an unreachable database is answered ServiceUnavailable (503) with a retry
// hint, and logged; other unexpected errors stay InternalException (400).
func TestUnreachableDatabaseAnswersServiceUnavailable(t *testing.T) {
	down := errors.New("dial tcp: connection refused")
	s := &Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Unreachable: func(err error) bool { return errors.Is(err, down) }}
	for _, c := range []struct {
		err    error
		status int
		code   string
		retry  string
	}{
		{fmt.Errorf("list sites: %w", down), 503, "ServiceUnavailable", "1000"},
		{errors.New("something else"), 400, "InternalException", ""},
	} {
		w := httptest.NewRecorder()
		ev := &event{requestID: newRequestID()}
		s.writeError(w, httptest.NewRequest("POST", "/", nil), ev, c.err)
		var body errorBody
		json.Unmarshal(w.Body.Bytes(), &body)
		if w.Code != c.status || body.Code != c.code || w.Header().Get("x-acs-retry-after") != c.retry {
			t.Errorf("%v: %d %s retry-after %q; want %d %s %q", c.err, w.Code, body.Code, w.Header().Get("x-acs-retry-after"), c.status, c.code, c.retry)
		}
		if ev.internal == nil {
			t.Errorf("%v: not logged as an internal error", c.err)
		}
	}
}

// brokenAfter is a record store that fails every create after the first n
// (a database that breaks in the middle of a batch).
type brokenAfter struct {
	record.Store
	n int
}

func (b *brokenAfter) CreateRecord(ctx context.Context, r record.Record) error {
	if b.n == 0 {
		return errors.New("disk failure")
	}
	b.n--
	return b.Store.CreateRecord(ctx, r)
}

// TestBatchCreateRecordsBrokenOff: an internal error after some records of a
// batch were created answers 200 with those in Success and every other one
// in Failed, saying it was not created; the error is logged. When it breaks
// on the first record, the call fails as a whole.
func TestBatchCreateRecordsBrokenOff(t *testing.T) {
	env := newTestEnv(t, testNow)
	s := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	site := do(t, s.rpc(t, env.url, "POST", "CreateSite", nil, url.Values{"SiteName": {"broken-batch.com"}}))
	id := fmt.Sprintf("%.0f", site.body["SiteId"])
	list := `[{"RecordName":"a.broken-batch.com","Type":"TXT","Proxied":false,"Data":{"Value":"a"}},
		{"RecordName":"b.broken-batch.com","Type":"TXT","Proxied":false,"Data":{"Value":"b"}},
		{"RecordName":"c.broken-batch.com","Type":"TXT","Proxied":false,"Data":{"Value":"c"}}]`
	store := env.srv.Records.Store
	env.srv.Records.Store = &brokenAfter{Store: store, n: 1}
	a := do(t, s.rpc(t, env.url, "POST", "BatchCreateRecords", nil, url.Values{"SiteId": {id}, "RecordList": {list}}))
	res, _ := a.body["RecordResultList"].(map[string]any)
	succeeded, _ := res["Success"].([]any)
	failed, _ := res["Failed"].([]any)
	if a.status != 200 || len(succeeded) != 1 || len(failed) != 2 {
		t.Fatalf("a batch broken after one record: %d %v", a.status, a.body)
	}
	for _, f := range failed {
		if d := fmt.Sprint(f.(map[string]any)["Description"]); !strings.HasPrefix(d, "Not created") {
			t.Errorf("a record not created says %q", d)
		}
	}
	if !strings.Contains(env.logs.String(), "disk failure") {
		t.Error("the internal error was not logged")
	}
	env.srv.Records.Store = &brokenAfter{Store: store, n: 0}
	if a := do(t, s.rpc(t, env.url, "POST", "BatchCreateRecords", nil, url.Values{"SiteId": {id}, "RecordList": {list}})); a.code() != "InternalException" {
		t.Errorf("a batch broken on its first record: %d %v, want InternalException", a.status, a.body)
	}
}
