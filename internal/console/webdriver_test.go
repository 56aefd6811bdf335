package console_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/freeport"
)

// A W3C WebDriver client, just what the browser test needs, spoken to
// Debian's chromedriver over HTTP. (chromedriver comes from the same
// Debian release as chromium, so the two always match; the protocol is a
// W3C standard; and the module needs no new dependency for it.)

// Where Debian installs the browser and its driver.
const (
	chromiumPath     = "/usr/bin/chromium"
	chromedriverPath = "/usr/bin/chromedriver"
)

// webElement is the key of an element reference in WebDriver answers.
const webElement = "element-6066-11e4-a52e-4f735466cecf"

// driver is one chromedriver process and one browser session in it.
type driver struct {
	t       *testing.T
	base    string // chromedriver's URL
	session string
	client  *http.Client
}

// needBrowser skips the test when Chromium or chromedriver is missing,
// unless ESACERT_REQUIRE_BROWSER=1 makes that a failure (as CI does).
func needBrowser(t *testing.T) {
	t.Helper()
	var missing []string
	for _, p := range []string{chromiumPath, chromedriverPath} {
		if _, err := os.Stat(p); err != nil {
			missing = append(missing, p)
		}
	}
	if len(missing) == 0 {
		return
	}
	msg := fmt.Sprintf("the browser test needs Chromium and its driver (%s missing): apt-get install -y chromium chromium-driver",
		strings.Join(missing, ", "))
	if os.Getenv("ESACERT_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (ESACERT_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg + "; set ESACERT_REQUIRE_BROWSER=1 to fail instead of skipping")
}

// freePort returns a TCP port nothing listens on at the moment.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := freeport.Listen() // below the ephemeral ports: chromedriver binds it next
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startDriver starts chromedriver and a headless Chromium session; both
// end with the test.
func startDriver(t *testing.T) *driver {
	t.Helper()
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, chromedriverPath, fmt.Sprintf("--port=%d", port), "--allowed-ips=127.0.0.1")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start chromedriver: %v", err)
	}
	d := &driver{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port), client: &http.Client{Timeout: 60 * time.Second}}
	t.Cleanup(func() {
		if d.session != "" {
			d.send("DELETE", "/session/"+d.session, nil)
		}
		cancel()
		cmd.Wait()
		if t.Failed() {
			t.Logf("chromedriver's output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		var status struct{ Ready bool }
		if err := d.send("GET", "/status", nil, &status); err == nil && status.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("chromedriver did not become ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	args := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions", "--user-data-dir=" + t.TempDir()}
	var created struct{ SessionId string }
	err := d.send("POST", "/session", map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome", "goog:chromeOptions": map[string]any{"binary": chromiumPath, "args": args}}}}, &created)
	if err != nil || created.SessionId == "" {
		t.Fatalf("start a browser session: %v\n%s", err, logs.String())
	}
	d.session = created.SessionId
	return d
}

// send sends one WebDriver command and decodes its answer's value into out.
func (d *driver) send(method, path string, in any, out ...any) error {
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, d.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := d.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var answer struct {
		Value json.RawMessage
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, answer.Value)
	}
	if len(out) > 0 {
		return json.Unmarshal(answer.Value, out[0])
	}
	return nil
}

// cmd sends a command of the session; a failure ends the test.
func (d *driver) cmd(method, path string, in any, out ...any) {
	d.t.Helper()
	if err := d.send(method, "/session/"+d.session+path, in, out...); err != nil {
		d.t.Fatal(err)
	}
}

// open navigates to url and waits for the page to load.
func (d *driver) open(url string) { d.t.Helper(); d.cmd("POST", "/url", map[string]string{"url": url}) }

// find returns the element the CSS selector finds.
func (d *driver) find(css string) string {
	d.t.Helper()
	var el map[string]string
	d.cmd("POST", "/element", map[string]string{"using": "css selector", "value": css}, &el)
	return el[webElement]
}

// typeInto sends text to the element (a file input takes a path).
func (d *driver) typeInto(css, text string) {
	d.t.Helper()
	d.cmd("POST", "/element/"+d.find(css)+"/value", map[string]string{"text": text})
}

// click clicks the element.
func (d *driver) click(css string) {
	d.t.Helper()
	d.cmd("POST", "/element/"+d.find(css)+"/click", map[string]string{})
}

// waitURL waits until the page's address contains part (a click that
// submits a form may answer before the next page has loaded), up to 20
// seconds, and reports whether it did.
func (d *driver) waitURL(part string) bool {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.url(), part) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	var state string
	for time.Now().Before(deadline) {
		d.cmd("POST", "/execute/sync", map[string]any{"script": "return document.readyState", "args": []any{}}, &state)
		if state == "complete" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// waitSource waits until the page holds text, up to 20 seconds, and
// reports whether it did.
func (d *driver) waitSource(text string) bool {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(d.source(), text) {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}

// source is the page's HTML as the browser has it.
func (d *driver) source() string {
	d.t.Helper()
	var s string
	d.cmd("GET", "/source", nil, &s)
	return s
}

// url is the page's address.
func (d *driver) url() string {
	d.t.Helper()
	var s string
	d.cmd("GET", "/url", nil, &s)
	return s
}

// title is the page's title.
func (d *driver) title() string {
	d.t.Helper()
	var s string
	d.cmd("GET", "/title", nil, &s)
	return s
}

// screenshot saves the window as a PNG in dir and returns its path; an
// empty or malformed picture ends the test.
func (d *driver) screenshot(dir, name string) string {
	d.t.Helper()
	var b64 string
	d.cmd("GET", "/screenshot", nil, &b64)
	png, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		d.t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) == 0 || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) {
		d.t.Fatalf("screenshot %s is not a PNG (%d bytes)", name, len(png))
	}
	path := dir + "/" + name + ".png"
	if err := os.WriteFile(path, png, 0o644); err != nil {
		d.t.Fatal(err)
	}
	return path
}
