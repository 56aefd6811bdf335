package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/esacert/esacert/internal/notify"
	"github.com/esacert/esacert/internal/webhook"
	"github.com/google/go-cmp/cmp"
)

// now is the fixed clock of the signatures.
var now = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

// notice is what every format is checked with.
var notice = notify.Notice{
	ID: "0123456789abcdef0123456789abcdef", Event: notify.EventFailed, Time: now,
	Title:         "esacert: Free certificate www.example.com could not be renewed",
	Text:          "Free certificate www.example.com of site example.com could not be renewed: CAA forbids <lets_encrypt> & co.",
	CertificateID: "c0ffee", CertificateName: "www.example.com", CertificateType: "free", SiteID: 1234567890123,
	SiteName: "example.com", NotAfter: now.Add(20 * 24 * time.Hour), ApplyCode: 7, ApplyMessage: "CAA forbids",
	Attempts: 2, CA: "lets_encrypt", NextAttempt: now.Add(2 * time.Minute), Episode: "1",
}

// mdText is the notice's text as DingTalk's and WeCom's markdown carries
// it: what could form a link is escaped.
const mdText = `Free certificate www.example.com of site example.com could not be renewed: CAA forbids \<lets_encrypt\> & co.`

// receiver is a TLS endpoint standing in for a webhook: it records each
// request and answers with answer(n), n counting from 1.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	got    []*http.Request
	bodies [][]byte
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter)) *receiver {
	t.Helper()
	r := &receiver{}
	r.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, req)
		r.bodies = append(r.bodies, body)
		n := len(r.got)
		r.mu.Unlock()
		answer(n, w)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) last(t *testing.T) (*http.Request, map[string]any) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.got) == 0 {
		t.Fatal("the receiver got nothing")
	}
	var body map[string]any
	if err := json.Unmarshal(r.bodies[len(r.bodies)-1], &body); err != nil {
		t.Fatalf("the body is not JSON: %v", err)
	}
	return r.got[len(r.got)-1], body
}

func answerJSON(v string) func(int, http.ResponseWriter) {
	return func(_ int, w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, v)
	}
}

func sender(t *testing.T, r *receiver, typ, url, secret string) *webhook.Sender {
	t.Helper()
	s, err := webhook.New(typ, url, secret, webhook.Options{Client: r.Client(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestGeneric: the generic webhook posts the notice as JSON, with the event,
// the notice id, the timestamp and, with a secret, the HMAC-SHA256 of
// "timestamp.body" in its headers; a receiver checks the signature.
func TestGeneric(t *testing.T) {
	const secret = "whsec-generic-0001"
	r := newReceiver(t, func(int, http.ResponseWriter) {})
	if err := sender(t, r, "webhook", r.URL+"/hooks/esacert", secret).Send(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	req, body := r.last(t)
	if req.Method != http.MethodPost || req.URL.Path != "/hooks/esacert" || req.Header.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Errorf("got %s %s (%s)", req.Method, req.URL.Path, req.Header.Get("Content-Type"))
	}
	ts := req.Header.Get("X-Esacert-Timestamp")
	if ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("timestamp %q, want %d", ts, now.Unix())
	}
	if req.Header.Get("X-Esacert-Event") != notify.EventFailed || req.Header.Get("X-Esacert-Notice") != notice.ID {
		t.Errorf("event %q, notice %q", req.Header.Get("X-Esacert-Event"), req.Header.Get("X-Esacert-Notice"))
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(r.bodies[0])
	if got, want := req.Header.Get("X-Esacert-Signature"), "sha256="+hex.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("signature %q, want %q", got, want)
	}
	want := map[string]any{
		"id": notice.ID, "event": "certificate.failed", "time": "2026-11-28T12:00:00Z", "title": notice.Title, "text": notice.Text,
		"certificate_id": "c0ffee", "certificate_name": "www.example.com", "certificate_type": "free",
		"site_id": float64(1234567890123), "site_name": "example.com", "not_after": "2026-12-18T12:00:00Z",
		"apply_code": float64(7), "apply_message": "CAA forbids", "attempts": float64(2), "ca": "lets_encrypt",
		"next_attempt": "2026-11-28T12:02:00Z",
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}

	// Without a secret: no signature header.
	if err := sender(t, r, "webhook", r.URL, "").Send(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	if req, _ := r.last(t); req.Header.Get("X-Esacert-Signature") != "" {
		t.Errorf("an unsigned webhook sent a signature")
	}
}

// TestDingTalk: a markdown message; with a secret, timestamp (ms) and sign
// in the query, sign being base64(HMAC-SHA256(secret, timestamp+"\n"+secret)).
func TestDingTalk(t *testing.T) {
	const secret = "SECdingtalk0001"
	r := newReceiver(t, answerJSON(`{"errcode":0,"errmsg":"ok"}`))
	if err := sender(t, r, "dingtalk", r.URL+"/robot/send?access_token=tok-dt", secret).Send(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	req, body := r.last(t)
	q := req.URL.Query()
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "\n" + secret))
	if q.Get("access_token") != "tok-dt" || q.Get("timestamp") != ts || q.Get("sign") != base64.StdEncoding.EncodeToString(m.Sum(nil)) {
		t.Errorf("query %v, want access_token, timestamp %s and the sign", q, ts)
	}
	want := map[string]any{"msgtype": "markdown", "markdown": map[string]any{
		"title": notice.Title, "text": "#### " + notice.Title + "\n\n" + mdText}}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("body (-want +got):\n%s", diff)
	}

	// Without a secret (a keyword robot): no timestamp, no sign.
	if err := sender(t, r, "dingtalk", r.URL+"/robot/send?access_token=tok-dt", "").Send(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	if req, _ := r.last(t); req.URL.Query().Has("sign") || req.URL.Query().Has("timestamp") {
		t.Errorf("an unsigned robot got %v", req.URL.Query())
	}
}

// TestLark: a text message with timestamp (s) and sign in the body, sign
// being base64(HMAC-SHA256 keyed with timestamp+"\n"+secret, of nothing).
func TestLark(t *testing.T) {
	const secret = "larksecret0001"
	r := newReceiver(t, answerJSON(`{"code":0,"data":{},"msg":"success"}`))
	for _, typ := range []string{"lark", "feishu"} {
		if err := sender(t, r, typ, r.URL+"/open-apis/bot/v2/hook/hook-id", secret).Send(t.Context(), notice); err != nil {
			t.Fatal(err)
		}
		_, body := r.last(t)
		ts := strconv.FormatInt(now.Unix(), 10)
		m := hmac.New(sha256.New, []byte(ts+"\n"+secret))
		want := map[string]any{"msg_type": "text", "content": map[string]any{"text": notice.Title + "\n" + notice.Text},
			"timestamp": ts, "sign": base64.StdEncoding.EncodeToString(m.Sum(nil))}
		if diff := cmp.Diff(want, body); diff != "" {
			t.Errorf("%s body (-want +got):\n%s", typ, diff)
		}
	}
	if err := sender(t, r, "lark", r.URL+"/open-apis/bot/v2/hook/hook-id", "").Send(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	if _, body := r.last(t); body["sign"] != nil || body["timestamp"] != nil {
		t.Errorf("an unsigned robot got %v", body)
	}
}

// TestWeComAndSlack: WeCom gets a markdown message, Slack a text with its
// three special characters escaped. Neither takes a secret.
func TestWeComAndSlack(t *testing.T) {
	wecom := newReceiver(t, answerJSON(`{"errcode":0,"errmsg":"ok"}`))
	if err := sender(t, wecom, "wecom", wecom.URL+"/cgi-bin/webhook/send?key=wk", "").Send(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	req, body := wecom.last(t)
	if req.URL.Query().Get("key") != "wk" {
		t.Errorf("WeCom query %v", req.URL.Query())
	}
	want := map[string]any{"msgtype": "markdown", "markdown": map[string]any{"content": "**" + notice.Title + "**\n" + mdText}}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("WeCom body (-want +got):\n%s", diff)
	}

	slack := newReceiver(t, func(_ int, w http.ResponseWriter) { io.WriteString(w, "ok") })
	if err := sender(t, slack, "slack", slack.URL+"/services/T0/B0/x", "").Send(t.Context(), notice); err != nil {
		t.Fatal(err)
	}
	_, body = slack.last(t)
	want = map[string]any{"text": "*" + notice.Title + "*\n" +
		"Free certificate www.example.com of site example.com could not be renewed: CAA forbids &lt;lets_encrypt&gt; &amp; co."}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("Slack body (-want +got):\n%s", diff)
	}
	for _, typ := range []string{"wecom", "slack"} {
		if _, err := webhook.New(typ, slack.URL, "s", webhook.Options{}); err == nil {
			t.Errorf("%s took a secret", typ)
		}
	}
}

// TestRefusals: a receiver's refusal is an error that says what it
// answered and never quotes the URL (its token) or the secret.
func TestRefusals(t *testing.T) {
	const token, secret = "tok-secret-4711", "sec-secret-4712"
	tests := []struct {
		name, typ, answer string
		status            int
		want              string
	}{
		{"fail/dingtalk_sign", "dingtalk", `{"errcode":310000,"errmsg":"sign not match, more: [tok-secret-4711]"}`, 200, "errcode 310000: sign not match"},
		{"fail/wecom_key", "wecom", `{"errcode":93000,"errmsg":"invalid webhook url"}`, 200, "errcode 93000"},
		{"fail/lark_sign", "lark", `{"code":19021,"data":{},"msg":"sign match fail or timestamp is not within one hour from current time"}`, 200, "code 19021"},
		{"fail/lark_old", "lark", `{"StatusCode":9499,"StatusMessage":"Bad Request"}`, 200, "StatusCode 9499"},
		{"fail/lark_not_json", "lark", `<html>gateway</html>`, 200, "not {\"code\""},
		{"fail/slack_gone", "slack", `no_service`, 404, "404 Not Found: no_service"},
		{"fail/webhook_500", "webhook", `boom at /hook/tok-secret-4711`, 500, "500 Internal Server Error: boom at"},
		{"fail/webhook_redirect", "webhook", ``, 302, "302 Found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newReceiver(t, func(_ int, w http.ResponseWriter) {
				if tt.status == 302 {
					w.Header().Set("Location", "/elsewhere")
				}
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.answer)
			})
			sec := secret
			if tt.typ == "wecom" || tt.typ == "slack" {
				sec = ""
			}
			url := r.URL + "/hook/" + token + "?access_token=" + token
			s, err := webhook.New(tt.typ, url, sec, webhook.Options{Client: noRedirects(r.Client()), Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(t.Context(), notice)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Send = %v, want an error with %q", err, tt.want)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), secret) {
				t.Errorf("the error quotes a secret: %v", err)
			}
		})
	}
}

// noRedirects is c, not following redirects (as the default client does).
func noRedirects(c *http.Client) *http.Client {
	c2 := *c
	c2.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c2
}

// TestUnreachable: a receiver that cannot be reached is an error naming
// neither the URL's token nor the secret.
func TestUnreachable(t *testing.T) {
	r := newReceiver(t, func(int, http.ResponseWriter) {})
	url := r.URL + "/services/T0/B0/tok-secret-4713"
	r.Close()
	s, err := webhook.New("slack", url, "", webhook.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	err = s.Send(t.Context(), notice)
	if err == nil || strings.Contains(err.Error(), "tok-secret-4713") {
		t.Errorf("Send = %v, want an error without the URL", err)
	}
}

// TestNewRefuses: bad types and URLs are refused without quoting the URL.
func TestNewRefuses(t *testing.T) {
	for _, tt := range []struct{ typ, url string }{
		{"teams", "https://example.com/x"}, {"slack", "ftp://hooks.slack.com/tok-secret-1"},
		{"webhook", "https://user:tok-secret-1@example.com/"}, {"webhook", "/relative/tok-secret-1"},
	} {
		_, err := webhook.New(tt.typ, tt.url, "", webhook.Options{})
		if err == nil || strings.Contains(err.Error(), "tok-secret-1") {
			t.Errorf("New(%s, …) = %v", tt.typ, err)
		}
	}
}
