package console_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// secrets are what no page may ever show: the access key secrets, the
// private key, a record's origin secret.
func (f *fixture) secrets() []string {
	out := []string{f.rootKey, f.nobodySecret, f.readerSecret, "OriginSecretKey-0123456789abcdef", "PRIVATE KEY"}
	for _, line := range strings.Split(f.keyPEM, "\n") {
		if len(line) > 20 && !strings.HasPrefix(line, "-----") {
			out = append(out, line)
		}
	}
	return out
}

func (f *fixture) noSecrets(t *testing.T, what, body string) {
	t.Helper()
	for _, s := range f.secrets() {
		if s != "" && strings.Contains(body, s) {
			t.Errorf("%s shows a secret (%.12s…)", what, s)
		}
	}
}

// TestPages: signed in with the root key, every page loads and shows what
// the API answers; no page shows a secret.
func TestPages(t *testing.T) {
	f := startNode(t)
	f.seed(t)
	f.waitFreeFailed(t)
	b := f.browser()
	if p := b.signIn(t, f.rootID, f.rootKey+"x"); p.status != http.StatusUnauthorized {
		t.Fatalf("a wrong secret signed in: %d", p.status)
	}
	landed := b.signIn(t, f.rootID, f.rootKey)
	if landed.status != 200 || landed.url != "/sites" {
		t.Fatalf("sign-in landed on %s %d", landed.url, landed.status)
	}
	site := "/sites/" + f.siteID
	tests := []struct {
		path string
		want []string
	}{
		{"/sites", []string{"example.com", "example.org", "acs:ram::", ":root"}},
		{site, []string{"example.com", "www-main", "api-soon", "<svg", "Certificate expiry timeline", "ApplyCode 5",
			"cannot be reached", "What to fix", "expiring"}},
		{site + "/records", []string{"www.example.com", "203.0.113.10", "front door", "static.example.com"}},
		{site + "/https", []string{"HttpsForce", "301", "HstsMaxAge", "31536000"}},
		{site + "/certificates/" + f.certID, []string{"www-main", "www.example.com", "Replace this certificate", "BEGIN CERTIFICATE"}},
		{site + "/certificates/" + f.freeID, []string{"free.example.com", "ApplyCode 5", "What to fix", "ApplyFailed"}},
		{site + "/upload", []string{"Upload a certificate", `type="file"`, `enctype="multipart/form-data"`}},
		{site + "/upload?replace=" + f.certID, []string{"Replace www-main", f.certID}},
		{"/certificates", []string{"example.org", "api-soon", "<svg", "ApplyCode 5", "www-main"}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			p := b.get(t, tt.path)
			if p.status != 200 {
				t.Fatalf("%d\n%s", p.status, p.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(p.body, w) {
					t.Errorf("the page lacks %q", w)
				}
			}
			f.noSecrets(t, tt.path, p.body)
			if strings.Contains(p.body, "LTAI5tOriginAccessKey") || strings.Contains(p.body, "AuthConf") {
				t.Errorf("%s shows a record's origin credentials", tt.path)
			}
		})
	}
	if p := b.get(t, "/sites/999999"); p.status != http.StatusBadRequest && p.status != http.StatusNotFound {
		t.Errorf("an unknown site: %d", p.status)
	}
}

// multipartForm builds an upload form; files maps a file field to its text.
func multipartForm(t *testing.T, fields, files map[string]string) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for k, v := range files {
		fw, err := w.CreateFormFile(k, k+".pem")
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(fw, v)
	}
	w.Close()
	return w.FormDataContentType(), buf.Bytes()
}

func (b *browser) postMultipart(t *testing.T, path string, fields, files map[string]string) page {
	t.Helper()
	ct, body := multipartForm(t, fields, files)
	req, _ := http.NewRequest("POST", b.f.console+path, bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	res, err := b.c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return page{res.StatusCode, string(out), res.Request.URL.Path}
}

// TestUpload: a certificate the API refuses shows the API's Code and
// Message (the same a signed SetCertificate answers) and never the key it
// was sent with; a good one (files) is stored and shown; a replacement
// keeps the Id and serves the new certificate.
func TestUpload(t *testing.T) {
	f := startNode(t)
	f.seed(t)
	b := f.browser()
	b.signIn(t, f.rootID, f.rootKey)
	site := "/sites/" + f.siteID
	form := b.get(t, site+"/upload")
	tok := csrf(t, form.body)

	now := time.Now()
	other := f.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"shop.example.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(90 * 24 * time.Hour)})
	mismatched := map[string]string{"SiteId": f.siteID, "Type": "upload", "Certificate": other.ChainPEM, "PrivateKey": f.keyPEM}
	_, apiErr := f.callAs(f.rootID, f.rootKey, esaVersion, "SetCertificate", mismatched)
	if apiErr == nil || !strings.Contains(apiErr.Error(), "CertificateNotMatchPrivateKey") {
		t.Fatalf("the API accepted a key of another certificate: %v", apiErr)
	}
	p := b.postMultipart(t, site+"/upload", map[string]string{"csrf": tok, "certificate": other.ChainPEM, "private_key": f.keyPEM}, nil)
	if p.status != http.StatusBadRequest || !strings.Contains(p.body, "CertificateNotMatchPrivateKey") {
		t.Fatalf("a mismatched key: %d\n%s", p.status, p.body)
	}
	// The API's message, word for word (html-escaped the way the template does).
	msg := apiMessage(apiErr.Error())
	if msg == "" || !strings.Contains(p.body, htmlEscape(msg)) {
		t.Errorf("the page does not show the API's message %q", msg)
	}
	if !strings.Contains(p.body, "give it again") {
		t.Errorf("the page does not ask for the key again")
	}
	f.noSecrets(t, "the refused upload", p.body)

	garbage := b.postMultipart(t, site+"/upload", map[string]string{"csrf": tok, "certificate": "hello", "private_key": "world"}, nil)
	if garbage.status != http.StatusBadRequest || !strings.Contains(garbage.body, "InvalidSSLPub") && !strings.Contains(garbage.body, "Certificate.") {
		t.Fatalf("a certificate that is not PEM: %d\n%s", garbage.status, garbage.body)
	}

	// Files win over text.
	good := b.postMultipart(t, site+"/upload", map[string]string{"csrf": tok, "name": "shop", "certificate": "ignored"},
		map[string]string{"certificate_file": other.ChainPEM, "private_key_file": other.KeyPEM})
	if good.status != 200 || !strings.Contains(good.url, "/certificates/") || !strings.Contains(good.body, "The certificate was uploaded") ||
		!strings.Contains(good.body, "shop.example.com") {
		t.Fatalf("a good upload: %d %s\n%s", good.status, good.url, good.body)
	}
	f.noSecrets(t, "the uploaded certificate", good.body)

	// Replace www-main with a later certificate: same Id.
	later := f.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"www.example.com", "example.com"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(700 * 24 * time.Hour)})
	replaced := b.postMultipart(t, site+"/upload", map[string]string{"csrf": tok, "replace": f.certID, "name": "www-main",
		"certificate": later.ChainPEM, "private_key": later.KeyPEM}, nil)
	if replaced.status != 200 || replaced.url != site+"/certificates/"+f.certID || !strings.Contains(replaced.body, "replaced") {
		t.Fatalf("replace: %d %s\n%s", replaced.status, replaced.url, replaced.body)
	}
	got := f.call(t, esaVersion, "GetCertificate", map[string]string{"SiteId": f.siteID, "Id": f.certID})
	if na := str(got["Result"].(map[string]any)["NotAfter"]); na != later.Cert.NotAfter.UTC().Format("2006-01-02 15:04:05") {
		t.Errorf("after the replacement NotAfter = %s, want %s", na, later.Cert.NotAfter.UTC())
	}
}

// apiMessage is the Message of a darabonba client error's text
// ("code: 400, MESSAGE request id: …").
func apiMessage(text string) string {
	_, rest, ok := strings.Cut(text, ", ")
	if !ok {
		return ""
	}
	msg, _, _ := strings.Cut(rest, " request id:")
	return strings.TrimSpace(msg)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

// TestAuthorization: a RAM user signs in with its key; what its policies
// do not allow is refused with the API's own denial (Forbidden.RAM, the
// action and the resource), pages and forms alike, and nothing changes.
func TestAuthorization(t *testing.T) {
	f := startNode(t)
	f.seed(t)
	site := "/sites/" + f.siteID

	nobody := f.browser()
	if p := nobody.signIn(t, f.nobodyID, f.nobodySecret); p.status != 200 || !strings.Contains(p.body, "user/nobody") {
		t.Fatalf("a RAM user without policies cannot sign in: %d\n%s", p.status, p.body)
	}
	p := nobody.get(t, "/sites")
	if !strings.Contains(p.body, "Forbidden.RAM") || !strings.Contains(p.body, "esa:ListSites") || strings.Contains(p.body, "example.org") {
		t.Fatalf("/sites for a user allowed nothing: %d\n%s", p.status, p.body)
	}
	for _, path := range []string{site, site + "/records", site + "/certificates/" + f.certID, "/certificates"} {
		p := nobody.get(t, path)
		if p.status != http.StatusForbidden || !strings.Contains(p.body, "Forbidden.RAM") || strings.Contains(p.body, "www-main") {
			t.Errorf("%s for a user allowed nothing: %d\n%s", path, p.status, p.body)
		}
		f.noSecrets(t, path, p.body)
	}

	reader := f.browser()
	reader.signIn(t, f.readerID, f.readerSecret)
	if p := reader.get(t, site); p.status != 200 || !strings.Contains(p.body, "www-main") {
		t.Fatalf("the reader's site: %d\n%s", p.status, p.body)
	}
	if p := reader.get(t, "/sites/"+f.site2ID); p.status != http.StatusForbidden || !strings.Contains(p.body, "site/"+f.site2ID) {
		t.Errorf("another site for the reader: %d\n%s", p.status, p.body)
	}
	if p := reader.get(t, site+"/records"); p.status != http.StatusForbidden || !strings.Contains(p.body, "esa:ListRecords") {
		t.Errorf("records for the reader: %d\n%s", p.status, p.body)
	}
	before := f.call(t, esaVersion, "ListCertificates", map[string]string{"SiteId": f.siteID})["TotalCount"]
	form := reader.get(t, site+"/upload")
	now := time.Now()
	leaf := f.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"new.example.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(30 * 24 * time.Hour)})
	up := reader.postMultipart(t, site+"/upload", map[string]string{"csrf": csrf(t, form.body), "certificate": leaf.ChainPEM, "private_key": leaf.KeyPEM}, nil)
	if up.status != http.StatusForbidden || !strings.Contains(up.body, "Forbidden.RAM") || !strings.Contains(up.body, "esa:SetCertificate") {
		t.Fatalf("an upload the reader may not make: %d\n%s", up.status, up.body)
	}
	if after := f.call(t, esaVersion, "ListCertificates", map[string]string{"SiteId": f.siteID})["TotalCount"]; after != before {
		t.Fatalf("a denied upload changed the certificates: %v → %v", before, after)
	}

	// The reader's key is disabled: its next page ends the session.
	f.call(t, ramVersion, "UpdateAccessKey", map[string]string{"UserName": "reader", "UserAccessKeyId": f.readerID, "Status": "Inactive"})
	p = reader.get(t, site)
	if p.url != "/signin" || !strings.Contains(p.body, "no longer signs") {
		t.Fatalf("a disabled key's session: %s %d\n%s", p.url, p.status, p.body)
	}
	if p := reader.get(t, site); p.url != "/signin" {
		t.Fatalf("the ended session came back: %s", p.url)
	}
}

// TestSignInFormRefusesForeignPosts: a sign-in posted without the form's
// token is refused before the key is checked.
func TestSignInFormRefusesForeignPosts(t *testing.T) {
	f := startNode(t)
	b := f.browser()
	p := b.post(t, "/signin", url.Values{"access_key_id": {f.rootID}, "access_key_secret": {f.rootKey}})
	if p.status != http.StatusForbidden {
		t.Fatalf("a sign-in without the form's token: %d", p.status)
	}
	if p := b.get(t, "/sites"); p.url != "/signin" {
		t.Fatalf("it signed in: %s", p.url)
	}
}
