package console

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/acme"
)

// fakeAPI signs in one key and answers ListSites; it counts the calls.
type fakeAPI struct {
	mu      sync.Mutex
	calls   []string
	signins int
}

const (
	fakeKey    = "LTAIfakekeyid"
	fakeSecret = "fake-secret-value-0123456789"
)

func (f *fakeAPI) SignIn(r *http.Request, keyID, secret string) (string, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signins++
	if keyID == fakeKey && secret == fakeSecret {
		return "acs:ram::1:root", true, nil
	}
	return "", false, nil
}

func (f *fakeAPI) Invoke(r *http.Request, keyID, version, action string, params url.Values) (int, []byte) {
	f.mu.Lock()
	f.calls = append(f.calls, action)
	f.mu.Unlock()
	switch action {
	case "ListSites":
		return 200, []byte(`{"RequestId":"R1","TotalCount":1,"Sites":[{"SiteId":7,"SiteName":"example.com","Status":"active"}]}`)
	case "GetSite":
		return 200, []byte(`{"RequestId":"R2","SiteModel":{"SiteId":7,"SiteName":"example.com","Status":"active"}}`)
	}
	return 400, []byte(`{"RequestId":"R3","Code":"InvalidParameter","Message":"no"}`)
}

func (f *fakeAPI) signinCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.signins
}

func (f *fakeAPI) called(action string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == action {
			n++
		}
	}
	return n
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type env struct {
	api    *fakeAPI
	con    *Console
	srv    *httptest.Server
	client *http.Client
	clock  *clock
}

func newEnv(t *testing.T, tlsOn bool) *env {
	t.Helper()
	e := &env{api: &fakeAPI{}, clock: &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}}
	e.con = &Console{API: e.api, Now: e.clock.Now}
	if tlsOn {
		e.srv = httptest.NewTLSServer(e.con)
		e.client = e.srv.Client()
	} else {
		e.srv = httptest.NewServer(e.con)
		e.client = &http.Client{}
	}
	t.Cleanup(e.srv.Close)
	jar, _ := cookiejar.New(nil)
	e.client.Jar = jar
	e.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return e
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (e *env) do(t *testing.T, method, path string, form url.Values, edit func(*http.Request)) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if edit != nil {
		edit(req)
	}
	res, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, string(b), res.Header}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token is the CSRF token of a page's first form.
func token(t *testing.T, page string) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF token in the page:\n%s", page)
	}
	return m[1]
}

// signIn signs in with key and secret and returns the sign-in's answer.
func (e *env) signIn(t *testing.T, key, secret string) resp {
	t.Helper()
	form := e.do(t, "GET", "/signin", nil, nil)
	return e.do(t, "POST", "/signin", url.Values{"csrf": {token(t, form.body)}, "access_key_id": {key},
		"access_key_secret": {secret}, "next": {"/sites"}}, nil)
}

func TestSignInAndOut(t *testing.T) {
	e := newEnv(t, false)
	if r := e.do(t, "GET", "/sites", nil, nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/signin?next=%2Fsites") {
		t.Fatalf("signed-out /sites: %d %s", r.status, r.header.Get("Location"))
	}
	r := e.signIn(t, fakeKey, "wrong")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "wrong") || strings.Contains(r.body, "wrong\"") {
		t.Fatalf("wrong secret: %d\n%s", r.status, r.body)
	}
	if e.con.Sessions() != 0 {
		t.Fatal("a failed sign-in made a session")
	}
	r = e.signIn(t, fakeKey, fakeSecret)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/sites" {
		t.Fatalf("sign-in: %d %s", r.status, r.header.Get("Location"))
	}
	var sessionSet string
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, sessionCookie+"=") {
			sessionSet = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/"} {
		if !strings.Contains(sessionSet, want) {
			t.Errorf("session cookie %q lacks %s", sessionSet, want)
		}
	}
	if strings.Contains(sessionSet, "Secure") {
		t.Errorf("session cookie over plain HTTP is Secure (the browser would drop it): %q", sessionSet)
	}
	page := e.do(t, "GET", "/sites", nil, nil)
	if page.status != 200 || !strings.Contains(page.body, "example.com") || !strings.Contains(page.body, "acs:ram::1:root") {
		t.Fatalf("/sites: %d\n%s", page.status, page.body)
	}
	for h, want := range map[string]string{"Content-Security-Policy": "default-src 'none'", "X-Frame-Options": "DENY",
		"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"} {
		if !strings.Contains(page.header.Get(h), want) {
			t.Errorf("%s = %q, want %q", h, page.header.Get(h), want)
		}
	}
	if strings.Contains(page.body, fakeSecret) {
		t.Error("the page shows the secret")
	}
	out := e.do(t, "POST", "/signout", url.Values{"csrf": {token(t, page.body)}}, nil)
	if out.status != http.StatusSeeOther || e.con.Sessions() != 0 {
		t.Fatalf("sign-out: %d, %d sessions", out.status, e.con.Sessions())
	}
	if r := e.do(t, "GET", "/sites", nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("/sites after sign-out: %d", r.status)
	}
}

func TestTLSCookies(t *testing.T) {
	e := newEnv(t, true)
	r := e.signIn(t, fakeKey, fakeSecret)
	var sessionSet string
	for _, c := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(c, hostPrefix+sessionCookie+"=") {
			sessionSet = c
		}
	}
	for _, want := range []string{"HttpOnly", "SameSite=Strict", "Secure", "Path=/"} {
		if !strings.Contains(sessionSet, want) {
			t.Errorf("session cookie %q lacks %s", sessionSet, want)
		}
	}
	if page := e.do(t, "GET", "/sites", nil, nil); page.status != 200 || page.header.Get("Strict-Transport-Security") == "" {
		t.Fatalf("/sites over TLS: %d %v", page.status, page.header)
	}
}

// TestCSRF: a POST without the session's token, with another token, or
// from another origin is refused before any call reaches the API; a
// sign-in without its form's token is refused before the key is checked.
func TestCSRF(t *testing.T) {
	e := newEnv(t, false)
	// Sign-in: the token must match the cookie set with the form.
	r := e.do(t, "POST", "/signin", url.Values{"access_key_id": {fakeKey}, "access_key_secret": {fakeSecret}}, nil)
	if r.status != http.StatusForbidden || e.api.signinCount() != 0 {
		t.Fatalf("sign-in without a token: %d, %d sign-ins", r.status, e.api.signinCount())
	}
	e.signIn(t, fakeKey, fakeSecret)
	page := e.do(t, "GET", "/sites", nil, nil)
	tok := token(t, page.body)
	upload := url.Values{"name": {"x"}, "certificate": {"PEM"}, "private_key": {"KEY"}}
	tests := []struct {
		name string
		form url.Values
		edit func(*http.Request)
	}{
		{"fail/no_token", upload, nil},
		{"fail/other_token", withToken(upload, "AAAA"+tok[4:]), nil},
		{"fail/cross_origin", withToken(upload, tok), func(r *http.Request) { r.Header.Set("Origin", "https://evil.example") }},
		{"fail/cross_site_fetch", withToken(upload, tok), func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }},
		{"fail/same_site_other_origin", withToken(upload, tok), func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }},
		{"fail/null_origin", withToken(upload, tok), func(r *http.Request) { r.Header.Set("Origin", "null") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, "POST", "/sites/7/upload", tt.form, tt.edit)
			if r.status != http.StatusForbidden || !strings.Contains(r.body, "Form refused") {
				t.Fatalf("%d\n%s", r.status, r.body)
			}
			if n := e.api.called("SetCertificate") + e.api.called("GetSite"); n != 0 {
				t.Fatalf("the API was called %d times", n)
			}
		})
	}
	if r := e.do(t, "POST", "/signout", url.Values{}, nil); r.status != http.StatusForbidden || e.con.Sessions() != 1 {
		t.Fatalf("sign-out without a token: %d, %d sessions", r.status, e.con.Sessions())
	}
	// The right token, same origin: reaches the API.
	r = e.do(t, "POST", "/sites/7/upload", withToken(upload, tok), func(r *http.Request) { r.Header.Set("Origin", e.srv.URL) })
	if e.api.called("SetCertificate") != 1 {
		t.Fatalf("a valid form did not reach SetCertificate: %d\n%s", r.status, r.body)
	}
}

func withToken(v url.Values, tok string) url.Values {
	out := url.Values{"csrf": {tok}}
	for k, x := range v {
		out[k] = x
	}
	return out
}

// TestSessionExpiry: a session ends after its idle time, and after its
// maximum age however busy.
func TestSessionExpiry(t *testing.T) {
	e := newEnv(t, false)
	e.con.Idle, e.con.MaxAge = 10*time.Minute, time.Hour
	e.signIn(t, fakeKey, fakeSecret)
	e.clock.Add(9 * time.Minute)
	if r := e.do(t, "GET", "/sites", nil, nil); r.status != 200 {
		t.Fatalf("within the idle time: %d", r.status)
	}
	e.clock.Add(11 * time.Minute)
	r := e.do(t, "GET", "/sites", nil, nil)
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "m=expired") {
		t.Fatalf("after the idle time: %d %s", r.status, r.header.Get("Location"))
	}
	if e.con.Sessions() != 0 {
		t.Fatal("the expired session is still held")
	}
	e.signIn(t, fakeKey, fakeSecret)
	for i := 0; i < 7; i++ {
		e.clock.Add(9 * time.Minute)
		e.do(t, "GET", "/sites", nil, nil)
	}
	if r := e.do(t, "GET", "/sites", nil, nil); r.status != http.StatusSeeOther {
		t.Fatalf("past the maximum age: %d", r.status)
	}
}

func TestMaxSessions(t *testing.T) {
	e := newEnv(t, false)
	e.con.MaxSessions = 3
	for i := 0; i < 5; i++ {
		e.client.Jar, _ = cookiejar.New(nil)
		e.signIn(t, fakeKey, fakeSecret)
		e.clock.Add(time.Second)
	}
	if n := e.con.Sessions(); n != 3 {
		t.Fatalf("%d sessions held, want 3", n)
	}
	// The newest is kept.
	if r := e.do(t, "GET", "/sites", nil, nil); r.status != 200 {
		t.Fatalf("the newest session was dropped: %d", r.status)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/sites/1":              "/sites/1",
		"/certificates?x=1":     "/certificates?x=1",
		"":                      "/sites",
		"https://evil.example/": "/sites",
		"//evil.example/":       "/sites",
		"/\\evil.example":       "/sites",
		"/signin":               "/sites",
		"/x\r\nSet-Cookie: a=b": "/sites",
		"/\t/evil.example/x":    "/sites",
		"/\x7f/evil.example":    "/sites",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNotFoundAndStatic(t *testing.T) {
	e := newEnv(t, false)
	if r := e.do(t, "GET", "/nope", nil, nil); r.status != 404 {
		t.Fatalf("/nope: %d", r.status)
	}
	r := e.do(t, "GET", "/static/console.css", nil, nil)
	if r.status != 200 || !strings.Contains(r.header.Get("Content-Type"), "text/css") || len(r.body) < 100 {
		t.Fatalf("console.css: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

// TestUnavailable: an API that answers no JSON (the node has not reached
// its database) shows a 503 page, not a broken one.
func TestUnavailable(t *testing.T) {
	e := newEnv(t, false)
	e.signIn(t, fakeKey, fakeSecret)
	e.con.API = unavailableAPI{e.api}
	r := e.do(t, "GET", "/sites/7/records", nil, nil)
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "try again") {
		t.Fatalf("%d\n%s", r.status, r.body)
	}
}

type unavailableAPI struct{ *fakeAPI }

func (unavailableAPI) Invoke(*http.Request, string, string, string, url.Values) (int, []byte) {
	return http.StatusServiceUnavailable, nil
}

func TestTimeline(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	mk := func(name string, begins, expires time.Time) certView {
		v := certView{Id: name, Name: name, Type: "upload", NotBefore: begins.Format(certTime), NotAfter: expires.Format(certTime)}
		v.fill(1, "example.com", now)
		return v
	}
	certs := []certView{
		mk("late", now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)),
		mk("soon", now.AddDate(0, -3, 0), now.AddDate(0, 0, 10)),
		mk("gone", now.AddDate(0, -3, 0), now.AddDate(0, 0, -2)),
		{Id: "pending", Name: "pending", Type: "free", Status: "Applying"},
	}
	tl := newTimeline(certs, now)
	if len(tl.Rows) != 3 {
		t.Fatalf("%d rows, want 3 (the pending one has no bar)", len(tl.Rows))
	}
	var order []string
	for _, r := range tl.Rows {
		order = append(order, strings.TrimPrefix(r.Label, "example.com · ")+":"+r.Urgency)
		if r.X < float64(tl.PlotX) || r.X+r.W > float64(tl.PlotX+tlPlotWidth)+0.01 || r.W <= 0 {
			t.Errorf("row %s is outside the plot: x=%.1f w=%.1f", r.Label, r.X, r.W)
		}
	}
	if got := strings.Join(order, " "); got != "gone:expired soon:expiring late:ok" {
		t.Errorf("rows %s", got)
	}
	if tl.TodayX <= float64(tl.PlotX) || tl.WarnW <= 0 {
		t.Errorf("today at %.1f, warning band %.1f wide", tl.TodayX, tl.WarnW)
	}
	if !strings.Contains(tl.Summary, "1 expired, 1 expiring") {
		t.Errorf("summary %q", tl.Summary)
	}
	if len(tl.Ticks) < 12 {
		t.Errorf("%d month ticks over a year", len(tl.Ticks))
	}
}

// TestApplyHints: every ApplyCode the issuer answers has a heading and a
// fix on the console.
func TestApplyHints(t *testing.T) {
	for _, code := range []int{acme.CodeOther, acme.CodeValidation, acme.CodeCAA, acme.CodeRateLimited, acme.CodeUnreachable, acme.CodeAccount} {
		if h, ok := applyHints[code]; !ok || h.Heading == "" || h.Fix == "" {
			t.Errorf("ApplyCode %d has no hint", code)
		}
	}
	if len(applyHints) != 6 {
		t.Errorf("%d hints for 6 codes: a code the issuer no longer answers?", len(applyHints))
	}
}

// TestSigninLimit: past a burst of failed sign-ins from one address, the
// console refuses to check more keys for a while, the right one too; the
// budget comes back with time.
func TestSigninLimit(t *testing.T) {
	e := newEnv(t, false)
	for i := 0; i < signinBurst; i++ {
		if r := e.signIn(t, fakeKey, "wrong"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d", i, r.status)
		}
	}
	checked := e.api.signinCount()
	if r := e.signIn(t, fakeKey, fakeSecret); r.status != http.StatusTooManyRequests || e.api.signinCount() != checked {
		t.Fatalf("past the burst: %d, %d keys checked", r.status, e.api.signinCount()-checked)
	}
	e.clock.Add(signinEvery)
	if r := e.signIn(t, fakeKey, fakeSecret); r.status != http.StatusSeeOther {
		t.Fatalf("after a wait: %d", r.status)
	}
}

// TestSigninLimitAtOnce: of many sign-ins sent at once from one address, no
// more than the burst get their key checked; a success gives its token
// back; an IPv6 client is counted by its /64; a full table forgets
// addresses one by one, never the counts of all.
func TestSigninLimitAtOnce(t *testing.T) {
	var l signinLimit
	now := time.Now()
	var wg sync.WaitGroup
	var passed atomic.Int32
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.take("192.0.2.1", now) {
				passed.Add(1)
			}
		}()
	}
	wg.Wait()
	if passed.Load() != signinBurst {
		t.Fatalf("%d of 200 simultaneous sign-ins were checked, want %d", passed.Load(), signinBurst)
	}
	l.refund("192.0.2.1", now)
	if !l.take("192.0.2.1", now) || l.take("192.0.2.1", now) {
		t.Error("a refunded token is not exactly one more try")
	}

	a := sourceAddr(&http.Request{RemoteAddr: "[2001:db8::1]:5000"})
	b := sourceAddr(&http.Request{RemoteAddr: "[2001:db8::ffff:1]:6000"})
	if a != b || a != "2001:db8::/64" {
		t.Errorf("IPv6 clients of one /64 are counted apart: %q, %q", a, b)
	}

	for i := range maxLimitAddrs + 5 {
		l.take(fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), now)
	}
	if len(l.failed) > maxLimitAddrs {
		t.Errorf("the table holds %d addresses, over %d", len(l.failed), maxLimitAddrs)
	}
	if l.take("192.0.2.1", now) {
		t.Error("filling the table with other addresses wiped 192.0.2.1's count")
	}
}
