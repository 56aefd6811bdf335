package console_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/pkitest"
)

// TestBrowser drives the console in a real browser (Debian's Chromium,
// headless, through chromedriver): the sign-in, every page, the upload
// form with a certificate the API refuses (its validation message shown)
// and then a good one chosen as files, and the sign-out; a screenshot of
// each step goes to a temporary directory (logged with -v). It skips when
// Chromium is absent, and fails instead when ESACERT_REQUIRE_BROWSER=1.
func TestBrowser(t *testing.T) {
	needBrowser(t)
	f := startNode(t)
	f.seed(t)
	f.waitFreeFailed(t)
	d := startDriver(t)
	// Screenshots go to a temporary directory, or to
	// ESACERT_CONSOLE_SCREENSHOTS to keep them (a CI artefact, a review).
	shots := t.TempDir()
	if dir := os.Getenv("ESACERT_CONSOLE_SCREENSHOTS"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		shots = dir
	}
	shot := func(name string) {
		t.Helper()
		p := d.screenshot(shots, name)
		info, err := os.Stat(p)
		if err != nil || info.Size() == 0 {
			t.Fatalf("screenshot %s: %v, %d bytes", name, err, info.Size())
		}
	}
	// Every page must be the console's own and not an error page.
	expect := func(what string, want ...string) string {
		t.Helper()
		src := d.source()
		if strings.Contains(src, `class="problem"`) && !strings.Contains(what, "refused") {
			t.Fatalf("%s shows a problem:\n%s", what, src)
		}
		for _, w := range want {
			if !strings.Contains(src, w) {
				t.Fatalf("%s lacks %q:\n%s", what, w, src)
			}
		}
		f.noSecrets(t, what, src)
		return src
	}

	d.open(f.console + "/sites")
	if !strings.Contains(d.url(), "/signin") {
		t.Fatalf("a signed-out browser is at %s, not the sign-in page", d.url())
	}
	expect("the sign-in page", "Access key id")
	shot("01-signin")
	d.typeInto("#akid", f.rootID)
	d.typeInto("#secret", f.rootKey)
	d.click("form.signin button[type=submit]")
	if !d.waitURL("/sites") || !strings.HasSuffix(d.url(), "/sites") || !strings.HasPrefix(d.title(), "Sites") {
		t.Fatalf("after the sign-in the browser is at %s (%s):\n%s", d.url(), d.title(), d.source())
	}
	expect("the sites page", "example.com", "example.org", ":root")
	shot("02-sites")

	site := f.console + "/sites/" + f.siteID
	for _, p := range []struct{ name, url, title string }{
		{"03-site", site, "example.com"},
		{"04-records", site + "/records", "example.com: records"},
		{"05-https", site + "/https", "example.com: HTTPS"},
		{"06-certificate", site + "/certificates/" + f.certID, "www-main"},
		{"07-free-failed", site + "/certificates/" + f.freeID, "free.example.com"},
		{"08-certificates", f.console + "/certificates", "Certificates"},
	} {
		d.open(p.url)
		if !strings.HasPrefix(d.title(), p.title) {
			t.Fatalf("%s: title %q, want %q…", p.url, d.title(), p.title)
		}
		expect(p.name)
		shot(p.name)
	}
	d.open(site)
	expect("the site page", "<svg", "Certificate expiry timeline", "ApplyCode 5", "What to fix")

	// The upload form: a certificate the API refuses, as files.
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	leaf := f.ca.Leaf(t, pkitest.LeafOptions{DNSNames: []string{"shop.example.com"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(45 * 24 * time.Hour)})
	d.open(site + "/upload")
	expect("the upload form", "Upload a certificate")
	d.typeInto("#name", "shop")
	d.typeInto("#certificate_file", write("shop.pem", leaf.ChainPEM))
	d.typeInto("#private_key_file", write("wrong.key", f.keyPEM)) // another certificate's key
	shot("09-upload-form")
	d.click("form.upload button[type=submit]")
	if !d.waitSource("upload-error") {
		t.Fatalf("after a refused upload the browser is at %s:\n%s", d.url(), d.source())
	}
	src := expect("the refused upload", "upload-error", "CertificateNotMatchPrivateKey", "give it again")
	if strings.Contains(src, "PRIVATE KEY") {
		t.Fatal("the refused form shows the private key")
	}
	shot("10-upload-refused")

	// The same form, now with the certificate's own key.
	d.typeInto("#certificate_file", write("shop2.pem", leaf.ChainPEM))
	d.typeInto("#private_key_file", write("shop.key", leaf.KeyPEM))
	d.click("form.upload button[type=submit]")
	if !d.waitURL("/certificates/") {
		t.Fatalf("after a good upload the browser is at %s:\n%s", d.url(), d.source())
	}
	expect("the uploaded certificate", "The certificate was uploaded", "shop.example.com")
	shot("11-uploaded")

	d.click("form.signout button[type=submit]")
	if !d.waitURL("/signin") {
		t.Fatalf("after the sign-out the browser is at %s", d.url())
	}
	expect("the signed-out page", "You are signed out")
	shot("12-signed-out")
	d.open(f.console + "/certificates")
	if !strings.Contains(d.url(), "/signin") {
		t.Fatalf("after the sign-out /certificates is at %s", d.url())
	}
	entries, _ := os.ReadDir(shots)
	t.Logf("%d screenshots in %s", len(entries), shots)
}
