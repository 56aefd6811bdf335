package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// logEntry decodes one JSON log line.
func logEntry(t *testing.T, line string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatalf("log line is not JSON: %v: %.300q", err, line)
	}
	return m
}

// TestLogLine: a request's one line names its real action, version, site id
// and access key id once it is signed, and never a secret.
func TestLogLine(t *testing.T) {
	env := newTestEnv(t, testNow)
	s := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	do(t, s.rpc(t, env.url, "POST", "CreateSite", nil, url.Values{"SiteName": {"log.com"}, "PrivateKey": {"-----BEGIN PRIVATE KEY-----secretbits"}}))
	do(t, s.rpc(t, env.url, "GET", "GetSite", url.Values{"SiteId": {"42"}}, nil))
	do(t, s.acs3(t, env.url, "GET", "GetSite", url.Values{"SiteId": {"43"}}, nil, nil))
	lines := env.logLines(t, 3)
	if len(lines) != 3 {
		t.Fatalf("want one log line per request, got %d:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, siteID := range map[int]string{1: "42", 2: "43"} {
		got := logEntry(t, lines[i])
		for k, want := range map[string]any{"action": "GetSite", "version": ESAVersion, "access_key_id": "testAKID",
			"site_id": siteID, "code": "SiteNotFound", "status": float64(404), "method": "GET"} {
			if got[k] != want {
				t.Errorf("line %d: log %s = %v, want %v", i+1, k, got[k], want)
			}
		}
		for _, k := range []string{"request_id", "latency_ms"} {
			if _, ok := got[k]; !ok {
				t.Errorf("line %d lacks %s", i+1, k)
			}
		}
	}
	all := strings.Join(lines, "\n")
	if strings.Contains(all, "secretbits") || strings.Contains(all, "testSecret") {
		t.Errorf("a secret reached the log:\n%s", all)
	}
}

// TestLogLineUnverified: before its signature is verified, a request's line
// shows what the server recognises (a known action and version, a numeric
// site id, an access key id that names a key) as sent, and only a marker or
// the first characters of anything else.
func TestLogLineUnverified(t *testing.T) {
	env := newTestEnv(t, testNow)
	wrong := &signer{key: "testAKID", secret: "wrong", now: testNow}
	nobody := &signer{key: "LTAInobody0123456789", secret: "x", now: testNow}
	unsigned := func(q url.Values) *http.Request {
		r, _ := http.NewRequest("GET", env.url+"/?"+q.Encode(), nil)
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		want map[string]any
	}{
		{"unsigned_known", unsigned(url.Values{"Action": {"GetSite"}, "Version": {ESAVersion}, "SiteId": {"42"}}),
			map[string]any{"action": "GetSite", "version": ESAVersion, "site_id": "42", "code": "MissingParameter"}},
		{"unsigned_unknown", unsigned(url.Values{"Action": {"Exfiltrate"}, "Version": {"1999-01-01"}, "SiteId": {"my-site"}}),
			map[string]any{"action": "[unrecognised: 10 bytes]", "version": "[unrecognised: 10 bytes]",
				"site_id": "[unrecognised: 7 bytes]"}},
		{"wrong_secret_known_key", wrong.rpc(t, env.url, "GET", "GetSite", url.Values{"SiteId": {"42"}}, nil),
			map[string]any{"action": "GetSite", "version": ESAVersion, "site_id": "42", "access_key_id": "testAKID",
				"code": "SignatureDoesNotMatch"}},
		{"wrong_secret_acs3", wrong.acs3(t, env.url, "GET", "GetSite", url.Values{"SiteId": {"42"}}, nil, nil),
			map[string]any{"action": "GetSite", "access_key_id": "testAKID", "code": "SignatureDoesNotMatch"}},
		{"unknown_key", nobody.rpc(t, env.url, "GET", "GetSite", nil, nil),
			map[string]any{"action": "GetSite", "access_key_id": "LTAInobo…[20 bytes]", "code": "InvalidAccessKeyId.NotFound"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, tt.req)
			got := logEntry(t, env.logLines(t, i+1)[i])
			for k, want := range tt.want {
				if got[k] != want {
					t.Errorf("log %s = %v, want %v", k, got[k], want)
				}
			}
		})
	}
}

// TestLogLineBounded: whatever a request sends as its action, version, site
// id, x-acs-action or access key id (here 1 MB of PEM text, control
// characters or plain filler), signed or not, its log line stays small,
// printable and free of PEM text.
func TestLogLineBounded(t *testing.T) {
	env := newTestEnv(t, testNow)
	good := &signer{key: "testAKID", secret: "testSecret", now: testNow}
	wrong := &signer{key: "testAKID", secret: "wrong", now: testNow}
	const size = 1<<20 - 16<<10 // fits the body limit and the header limit
	fill := func(head string) string { return head + strings.Repeat("x.", (size-len(head))/2) }
	values := map[string]string{ // valid UTF-8 without NUL, so that the envelope reads them
		"pem":   fill("-----BEGIN PRIVATE KEY-----\n\x1b[31m\r\n"),
		"plain": fill("\x1b[2J\r\n\u202e\u0085"),
	}
	headers := map[string]string{ // what an HTTP header may hold
		"pem":   fill("-----BEGIN PRIVATE KEY-----\t\xff"),
		"plain": fill("\t\u202e\xfe\xff"),
	}
	form := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	post := func(v url.Values) *http.Request {
		r, _ := http.NewRequest("POST", env.url+"/", strings.NewReader(v.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return r
	}
	type tcase struct {
		name     string
		req      func(*testing.T) *http.Request // built when run: each holds a megabyte
		verified bool                           // the filler may show, cut to a bound
	}
	var tests []tcase
	for kind, big := range values {
		tests = append(tests,
			tcase{"unsigned_action/" + kind, func(t *testing.T) *http.Request { return post(form("Action", big, "Version", ESAVersion)) }, false},
			tcase{"unsigned_version/" + kind, func(t *testing.T) *http.Request { return post(form("Action", "GetSite", "Version", big)) }, false},
			tcase{"unsigned_site_id/" + kind, func(t *testing.T) *http.Request {
				return post(form("Action", "GetSite", "Version", ESAVersion, "SiteId", big))
			}, false},
			tcase{"unsigned_access_key_id/" + kind, func(t *testing.T) *http.Request {
				return post(form("Action", "GetSite", "Version", ESAVersion,
					"AccessKeyId", big, "Signature", "x", "SignatureMethod", "HMAC-SHA1", "SignatureVersion", "1.0"))
			}, false},
			tcase{"wrong_secret_action/" + kind, func(t *testing.T) *http.Request {
				return wrong.rpc(t, env.url, "POST", "GetSite", nil, form("Action", big))
			}, false},
			tcase{"wrong_secret_version/" + kind, func(t *testing.T) *http.Request {
				return wrong.rpc(t, env.url, "POST", "GetSite", nil, form("Version", big))
			}, false},
			tcase{"wrong_secret_site_id/" + kind, func(t *testing.T) *http.Request {
				return wrong.rpc(t, env.url, "POST", "GetSite", nil, form("SiteId", big))
			}, false},
			tcase{"signed_version/" + kind, func(t *testing.T) *http.Request {
				return good.rpc(t, env.url, "POST", "GetSite", nil, form("Version", big))
			}, true},
			tcase{"signed_action/" + kind, func(t *testing.T) *http.Request {
				return good.rpc(t, env.url, "POST", "GetSite", nil, form("Action", big))
			}, true},
			tcase{"signed_site_id/" + kind, func(t *testing.T) *http.Request {
				return good.rpc(t, env.url, "POST", "GetSite", nil, form("SiteId", big))
			}, true},
		)
	}
	for kind, big := range headers {
		tests = append(tests,
			tcase{"unsigned_x_acs_action/" + kind, func(t *testing.T) *http.Request {
				r := post(form("Version", ESAVersion))
				r.Header.Set("Authorization", "ACS3-HMAC-SHA256 nonsense")
				r.Header.Set("x-acs-action", big)
				return r
			}, false},
			tcase{"wrong_secret_x_acs_action/" + kind, func(t *testing.T) *http.Request {
				return wrong.acs3(t, env.url, "GET", "GetSite", nil, nil, func(r *http.Request) {
					r.Header.Set("x-acs-action", big)
				})
			}, false},
			tcase{"wrong_secret_x_acs_version/" + kind, func(t *testing.T) *http.Request {
				return wrong.acs3(t, env.url, "GET", "GetSite", nil, nil, func(r *http.Request) {
					r.Header.Set("x-acs-version", big)
				})
			}, false},
			tcase{"acs3_credential/" + kind, func(t *testing.T) *http.Request {
				return good.acs3(t, env.url, "GET", "GetSite", nil, nil, func(r *http.Request) {
					r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "testAKID", big, 1))
				})
			}, false},
			tcase{"signed_x_acs_action/" + kind, func(t *testing.T) *http.Request { return good.acs3(t, env.url, "GET", big, nil, nil, nil) }, true},
		)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			do(t, tt.req(t))
			lines := env.logLines(t, i+1)
			line := lines[i]
			if len(line) >= 2<<10 {
				t.Fatalf("the log line is %d bytes: %.300s…", len(line), line)
			}
			for _, bad := range []string{"PRIVATE KEY", "-----BEGIN", "BEGIN"} {
				if strings.Contains(line, bad) {
					t.Errorf("the log line holds %q: %s", bad, line)
				}
			}
			if !tt.verified && strings.Contains(line, "x.x.x.x.") {
				t.Errorf("the log line shows what an unverified request chose: %s", line)
			}
			for k, v := range logEntry(t, line) {
				s, _ := v.(string)
				for _, r := range s {
					if !unicode.IsPrint(r) {
						t.Errorf("log %s holds %U: %q", k, r, s)
					}
				}
			}
		})
	}
	if lines := env.logLines(t, len(tests)); len(lines) != len(tests) {
		t.Errorf("%d requests wrote %d log lines", len(tests), len(lines))
	}
}
