package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	openapi "github.com/alibabacloud-go/darabonba-openapi/v2/client"
	openapiutil "github.com/alibabacloud-go/darabonba-openapi/v2/utils"
	"github.com/alibabacloud-go/tea/dara"
	"github.com/alibabacloud-go/tea/tea"

	"github.com/esacert/esacert/internal/config"
	"github.com/esacert/esacert/internal/node"
	"github.com/esacert/esacert/internal/pkitest"
)

// The tests in this package that need a whole node (the real API behind
// the console, a real SQLite file, real HTTP) share this harness.

const (
	esaVersion = "2024-09-10"
	ramVersion = "2015-05-01"
)

// fixture is a running node with its console, and what was made on it.
type fixture struct {
	n       *node.Node
	console string // the console's base URL
	rootID  string
	rootKey string
	siteID  string // example.com
	site2ID string // example.org
	// A RAM user allowed nothing, and one allowed to read example.com and
	// its certificates but not to change them.
	nobodyID, nobodySecret string
	readerID, readerSecret string
	ca                     *pkitest.CA
	keyPEM                 string // the private key of the uploaded certificate
	certID                 string // the uploaded certificate on example.com
	freeID                 string // a free certificate on example.com whose issuance fails
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startNode starts a node with the api and renewer roles, its console on
// a free port, and an ACME CA that cannot be reached (so a free
// certificate fails with an ApplyCode).
func startNode(t *testing.T) *fixture {
	t.Helper()
	cfg := config.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.DB = "sqlite:" + filepath.Join(cfg.DataDir, "esacert.db")
	cfg.APIAddr, cfg.ConsoleAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Roles = "api,renewer"
	cfg.ACMECAs = "unreachable=https://127.0.0.1:1/directory"
	cfg.RetryBase = "1h"
	cfg.PlanLimits = map[string]config.PlanLimit{"basic": {Sites: 0, CustomCerts: 0, FreeCerts: 0}}
	n, err := node.Start(t.Context(), cfg, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	k := n.RootKey()
	return &fixture{n: n, console: "http://" + n.ConsoleAddr(), rootID: k.ID, rootKey: k.Secret}
}

// call sends a request signed with key to the node's API (the
// darabonba client, as SDKs do) and returns the answer's body, or the
// client's error.
func (f *fixture) callAs(keyID, secret, version, action string, params map[string]string) (map[string]any, error) {
	c, err := openapi.NewClient(&openapiutil.Config{AccessKeyId: tea.String(keyID), AccessKeySecret: tea.String(secret),
		Endpoint: tea.String(f.n.APIAddr()), Protocol: tea.String("http")})
	if err != nil {
		return nil, err
	}
	q := map[string]*string{}
	for k, v := range params {
		q[k] = tea.String(v)
	}
	res, err := c.CallApi(&openapiutil.Params{Action: tea.String(action), Version: tea.String(version), Protocol: tea.String("HTTP"),
		Pathname: tea.String("/"), Method: tea.String("POST"), AuthType: tea.String("AK"), Style: tea.String("RPC"),
		ReqBodyType: tea.String("formData"), BodyType: tea.String("json")}, &openapiutil.OpenApiRequest{Body: q}, &dara.RuntimeOptions{})
	if err != nil {
		return nil, err
	}
	raw, _ := json.Marshal(res["body"])
	var m map[string]any
	json.Unmarshal(raw, &m)
	return m, nil
}

// call is callAs with the root key; a failure ends the test.
func (f *fixture) call(t *testing.T, version, action string, params map[string]string) map[string]any {
	t.Helper()
	m, err := f.callAs(f.rootID, f.rootKey, version, action, params)
	if err != nil {
		t.Fatalf("%s: %v", action, err)
	}
	return m
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprintf("%.0f", x)
	case json.Number:
		return x.String()
	}
	return fmt.Sprint(v)
}

// seed makes two sites with certificates (one expiring in 20 days), a
// free certificate that fails, records (one with an origin secret), an
// HTTPS setting, and two RAM users.
func (f *fixture) seed(t *testing.T) {
	t.Helper()
	now := time.Now()
	f.siteID = str(f.call(t, esaVersion, "CreateSite", map[string]string{"SiteName": "example.com"})["SiteId"])
	f.site2ID = str(f.call(t, esaVersion, "CreateSite", map[string]string{"SiteName": "example.org"})["SiteId"])
	f.ca = pkitest.NewCA(t, "Console Test CA", now.Add(-24*time.Hour), now.Add(3*365*24*time.Hour))
	leaf := f.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com", "example.com"},
		NotBefore: now.Add(-60 * 24 * time.Hour), NotAfter: now.Add(300 * 24 * time.Hour)})
	f.keyPEM = leaf.KeyPEM
	f.certID = str(f.call(t, esaVersion, "SetCertificate", map[string]string{"SiteId": f.siteID, "Type": "upload", "Name": "www-main",
		"Certificate": leaf.ChainPEM, "PrivateKey": leaf.KeyPEM})["Id"])
	soon := f.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"api.example.com"},
		NotBefore: now.Add(-70 * 24 * time.Hour), NotAfter: now.Add(20 * 24 * time.Hour)})
	f.call(t, esaVersion, "SetCertificate", map[string]string{"SiteId": f.siteID, "Type": "upload", "Name": "api-soon",
		"Certificate": soon.ChainPEM, "PrivateKey": soon.KeyPEM})
	org := f.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"example.org"},
		NotBefore: now.Add(-10 * 24 * time.Hour), NotAfter: now.Add(80 * 24 * time.Hour)})
	f.call(t, esaVersion, "SetCertificate", map[string]string{"SiteId": f.site2ID, "Type": "upload", "Name": "org",
		"Certificate": org.ChainPEM, "PrivateKey": org.KeyPEM})
	applied := f.call(t, esaVersion, "ApplyCertificate", map[string]string{"SiteId": f.siteID, "Domains": "free.example.com", "Type": "unreachable"})
	if list, _ := applied["Result"].([]any); len(list) == 1 {
		f.freeID = str(list[0].(map[string]any)["Id"])
	} else {
		t.Fatalf("ApplyCertificate: %v", applied)
	}
	f.call(t, esaVersion, "CreateRecord", map[string]string{"SiteId": f.siteID, "RecordName": "www.example.com", "Type": "A/AAAA",
		"Ttl": "600", "Data": `{"Value":"203.0.113.10"}`, "Comment": "front door"})
	f.call(t, esaVersion, "CreateRecord", map[string]string{"SiteId": f.siteID, "RecordName": "static.example.com", "Type": "CNAME",
		"Proxied": "true", "BizName": "image_video", "SourceType": "OSS", "Data": `{"Value":"bucket.oss-cn-hangzhou.aliyuncs.com"}`,
		"AuthConf": `{"AuthType":"private_cross_account","AccessKey":"LTAI5tOriginAccessKey","SecretKey":"OriginSecretKey-0123456789abcdef"}`})
	f.call(t, esaVersion, "CreateHttpsApplicationConfiguration", map[string]string{"SiteId": f.siteID, "HttpsForce": "on",
		"HttpsForceCode": "301", "Hsts": "on", "HstsMaxAge": "31536000"})

	f.nobodyID, f.nobodySecret = f.user(t, "nobody", "")
	f.readerID, f.readerSecret = f.user(t, "reader", `{"Version":"1","Statement":[{"Effect":"Allow","Action":["esa:GetSite","esa:ListCertificates","esa:GetCertificate"],`+
		`"Resource":"acs:esa:*:*:site/`+f.siteID+`"}]}`)
}

// user creates a RAM user with an access key and, when doc is set, a
// policy of its own; it returns the key.
func (f *fixture) user(t *testing.T, name, doc string) (string, string) {
	t.Helper()
	f.call(t, ramVersion, "CreateUser", map[string]string{"UserName": name})
	k := f.call(t, ramVersion, "CreateAccessKey", map[string]string{"UserName": name})["AccessKey"].(map[string]any)
	if doc != "" {
		f.call(t, ramVersion, "CreatePolicy", map[string]string{"PolicyName": name + "-policy", "PolicyDocument": doc})
		f.call(t, ramVersion, "AttachPolicyToUser", map[string]string{"PolicyType": "Custom", "PolicyName": name + "-policy", "UserName": name})
	}
	return str(k["AccessKeyId"]), str(k["AccessKeySecret"])
}

// waitFreeFailed waits until the free certificate's issuance failed (the
// renewer tries it at once; the CA cannot be reached).
func (f *fixture) waitFreeFailed(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		got := f.call(t, esaVersion, "GetCertificate", map[string]string{"SiteId": f.siteID, "Id": f.freeID})
		if r, _ := got["Result"].(map[string]any); r != nil && str(r["Status"]) == "ApplyFailed" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the free certificate did not fail: %v", got)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// browser is an HTTP client with its own cookies, as one browser is.
type browser struct {
	f *fixture
	c *http.Client
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar, Timeout: 30 * time.Second}}
}

type page struct {
	status int
	body   string
	url    string
}

func (b *browser) get(t *testing.T, path string) page {
	t.Helper()
	res, err := b.c.Get(b.f.console + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, string(body), res.Request.URL.Path}
}

func (b *browser) post(t *testing.T, path string, form url.Values) page {
	t.Helper()
	req, _ := http.NewRequest("POST", b.f.console+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.f.console)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, string(body), res.Request.URL.Path}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func csrf(t *testing.T, body string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in:\n%s", body)
	}
	return m[1]
}

// signIn signs the browser in with a key and returns the page it lands on.
func (b *browser) signIn(t *testing.T, keyID, secret string) page {
	t.Helper()
	form := b.get(t, "/signin")
	return b.post(t, "/signin", url.Values{"csrf": {csrf(t, form.body)}, "access_key_id": {keyID},
		"access_key_secret": {secret}, "next": {"/sites"}})
}
