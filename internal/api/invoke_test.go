package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/esacert/esacert/internal/accesskey"
	"github.com/esacert/esacert/internal/audit"
)

// TestSignIn: the root key and a RAM user's key sign in with their
// secrets; a wrong secret, an unknown key, a disabled key and STS
// credentials do not; none is an error (only a failure to read is).
func TestSignIn(t *testing.T) {
	e := newAuthzEnv(t)
	r := httptest.NewRequest("POST", "/signin", nil)
	tests := []struct {
		name, key, secret string
		wantOK            bool
		wantARN           string
	}{
		{"ok/root", "testAKID", "testSecret", true, "acs:ram::" + testAccount + ":root"},
		{"ok/ram_user", e.ci.key, e.ci.secret, true, "acs:ram::" + testAccount + ":user/ci"},
		{"fail/wrong_secret", e.ci.key, e.ci.secret + "x", false, ""},
		{"fail/root_wrong_secret", "testAKID", "testSecretx", false, ""},
		{"fail/unknown_key", "LTAInothere", "whatever", false, ""},
		{"fail/empty", "", "", false, ""},
		{"fail/sts", "STS.abcdef", "whatever", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arn, ok, err := e.s.SignIn(r, tt.key, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			if ok != tt.wantOK || arn != tt.wantARN {
				t.Fatalf("SignIn = %q, %v; want %q, %v", arn, ok, tt.wantARN, tt.wantOK)
			}
		})
	}
	if err := e.s.AccessKeys.SetStatus(t.Context(), "ci", e.ci.key, accesskey.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if err := e.ids.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := e.s.SignIn(r, e.ci.key, e.ci.secret); ok || err != nil {
		t.Fatalf("a disabled key signed in: %v, %v", ok, err)
	}
}

// TestInvoke: an action invoked as a signed-in key answers what a signed
// request answers, authorized by the key's policies (a denial is the same
// Forbidden.RAM), and a key disabled after the sign-in stops at once.
func TestInvoke(t *testing.T) {
	e := newAuthzEnv(t)
	r := httptest.NewRequest("GET", "/sites", nil)
	r.RemoteAddr = "127.0.0.1:5000"
	decode := func(body []byte) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Fatalf("answer is not JSON: %s", body)
		}
		if m["RequestId"] == "" || m["RequestId"] == nil {
			t.Fatalf("answer without RequestId: %s", body)
		}
		return m
	}
	status, body := e.s.Invoke(r, "testAKID", ESAVersion, "ListSites", nil)
	if m := decode(body); status != 200 || m["TotalCount"] != float64(1) {
		t.Fatalf("root ListSites: %d %s", status, body)
	}

	e.grant(t, `{"Version":"1","Statement":[{"Effect":"Allow","Action":"esa:GetSite","Resource":"acs:esa:*:`+testAccount+`:site/`+e.siteID+`"}]}`)
	status, body = e.s.Invoke(r, e.ci.key, ESAVersion, "GetSite", url.Values{"SiteId": {e.siteID}})
	if status != 200 {
		t.Fatalf("allowed GetSite: %d %s", status, body)
	}
	status, body = e.s.Invoke(r, e.ci.key, ESAVersion, "ListSites", nil)
	if m := decode(body); status != http.StatusForbidden || m["Code"] != "Forbidden.RAM" ||
		!strings.Contains(m["Message"].(string), "esa:ListSites") {
		t.Fatalf("denied ListSites: %d %s", status, body)
	}
	// The same validation messages as a signed request.
	status, body = e.s.Invoke(r, "testAKID", ESAVersion, "SetCertificate", url.Values{"SiteId": {e.siteID}, "Type": {"upload"},
		"Certificate": {"not a certificate"}, "PrivateKey": {"not a key"}})
	sig := e.root
	signed := do(t, sig.rpc(t, e.url, "POST", "SetCertificate", nil, url.Values{"SiteId": {e.siteID}, "Type": {"upload"},
		"Certificate": {"not a certificate"}, "PrivateKey": {"not a key"}}))
	if m := decode(body); status != signed.status || m["Code"] != signed.body["Code"] || m["Message"] != signed.body["Message"] {
		t.Fatalf("invoked SetCertificate answered %d %s; signed %d %v", status, body, signed.status, signed.body)
	}

	if err := e.s.AccessKeys.SetStatus(t.Context(), "ci", e.ci.key, accesskey.StatusInactive); err != nil {
		t.Fatal(err)
	}
	if err := e.ids.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	status, body = e.s.Invoke(r, e.ci.key, ESAVersion, "GetSite", url.Values{"SiteId": {e.siteID}})
	if m := decode(body); m["Code"] != "InvalidAccessKeyId.Inactive" {
		t.Fatalf("a disabled key invoked GetSite: %d %s", status, body)
	}
	status, body = e.s.Invoke(r, "STS.abc", ESAVersion, "ListSites", nil)
	if m := decode(body); m["Code"] != "InvalidAccessKeyId.NotFound" {
		t.Fatalf("STS credentials invoked ListSites: %d %s", status, body)
	}
	status, body = e.s.Invoke(r, "testAKID", ESAVersion, "NoSuchAction", nil)
	if m := decode(body); status != 400 && status != 404 || m["Code"] == nil {
		t.Fatalf("unknown action: %d %s", status, body)
	}
}

// memAudit keeps events in memory.
type memAudit struct{ events []*audit.Event }

func (m *memAudit) RecordEvent(_ context.Context, ev *audit.Event) error {
	m.events = append(m.events, ev)
	return nil
}
func (m *memAudit) Events(context.Context, audit.Filter) ([]*audit.Event, string, error) {
	return nil, "", nil
}

// TestSignInAudited: sign-ins are audited (the key id, never the secret),
// and so are invoked changes, with the signed-in principal.
func TestSignInAudited(t *testing.T) {
	e := newAuthzEnv(t)
	m := &memAudit{}
	e.s.Audit = m
	r := httptest.NewRequest("POST", "/signin", nil)
	e.s.SignIn(r, "testAKID", "testSecret")
	e.s.SignIn(r, e.ci.key, "wrong-secret-value")
	e.s.Invoke(r, "testAKID", ESAVersion, "DeleteSite", url.Values{"SiteId": {"999999"}})
	if len(m.events) != 3 {
		t.Fatalf("%d events, want 3", len(m.events))
	}
	for i, want := range []struct{ name, principal, code string }{
		{ConsoleSignin, audit.PrincipalRoot, ""},
		{ConsoleSignin, audit.PrincipalUnknown, "SignInFailed"},
		{"DeleteSite", audit.PrincipalRoot, "*"}, // the site does not exist
	} {
		ev := m.events[i]
		if ev.Name != want.name || ev.Principal.Type != want.principal || !(ev.ErrorCode == want.code || want.code == "*" && ev.ErrorCode != "") {
			t.Errorf("event %d: %s %s %q, want %s %s %q", i, ev.Name, ev.Principal.Type, ev.ErrorCode, want.name, want.principal, want.code)
		}
		raw, _ := ev.Marshal()
		if strings.Contains(string(raw), "testSecret") || strings.Contains(string(raw), "wrong-secret-value") {
			t.Errorf("event %d holds a secret: %s", i, raw)
		}
	}
}

// TestSignInLog: a sign-in writes one line with the key id and the
// outcome, never the secret, right or wrong.
func TestSignInLog(t *testing.T) {
	e := newAuthzEnv(t)
	var buf bytes.Buffer
	e.s.Log = slog.New(slog.NewJSONHandler(&buf, nil))
	r := httptest.NewRequest("POST", "/signin", nil)
	e.s.SignIn(r, e.ci.key, e.ci.secret)
	e.s.SignIn(r, e.ci.key, "a-wrong-secret-0123456789")
	e.s.SignIn(r, "LTAIunknownKeyButLongEnough", e.ci.secret)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d log lines, want 3:\n%s", len(lines), buf.String())
	}
	for i, want := range []string{`"code":"OK"`, `"code":"SignInFailed"`, `"code":"SignInFailed"`} {
		if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], ConsoleSignin) {
			t.Errorf("line %d: %s, want %s", i, lines[i], want)
		}
	}
	if !strings.Contains(lines[0], e.ci.key) || strings.Contains(lines[2], "LTAIunknownKeyButLongEnough") {
		t.Errorf("key ids: a known one in full, an unknown one cut:\n%s", buf.String())
	}
	for _, secret := range []string{e.ci.secret, "a-wrong-secret-0123456789"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log holds a secret:\n%s", buf.String())
		}
	}
}
