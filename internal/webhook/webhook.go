// Package webhook posts notices (internal/notify) to incoming webhooks: a
// generic JSON webhook signed with HMAC-SHA256, and the group robots of
// DingTalk, Lark (Feishu), WeCom and Slack in their documented message
// formats, with the signed-secret modes of DingTalk and Lark
// (formats.go). A Sender is one configured destination; it implements
// notify.Sender.
//
// A webhook's URL and secret are credentials (a Slack or WeCom URL alone
// lets anyone post): errors never quote them, only the channel's type, the
// receiver's HTTP status and a short part of its answer.
package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/notify"
)

// Types of destination.
const (
	TypeWebhook  = "webhook"
	TypeDingTalk = "dingtalk"
	TypeLark     = "lark" // also called Feishu
	TypeWeCom    = "wecom"
	TypeSlack    = "slack"
)

// Types lists the types New accepts; "feishu" is accepted too, as TypeLark.
var Types = []string{TypeWebhook, TypeDingTalk, TypeLark, TypeWeCom, TypeSlack}

// Headers of the generic webhook.
const (
	HeaderEvent     = "X-Esacert-Event"
	HeaderNotice    = "X-Esacert-Notice"
	HeaderTimestamp = "X-Esacert-Timestamp"
	HeaderSignature = "X-Esacert-Signature"
)

// Sender posts notices to one webhook. It is safe for concurrent use.
type Sender struct {
	typ    string
	url    *url.URL
	secret string
	client *http.Client
	now    func() time.Time
}

// Options are a Sender's optional parts.
type Options struct {
	// Client posts the requests; nil means a client with a 15-second
	// timeout that does not follow redirects. A redirect is a failure:
	// a POST redirected would be sent again as a GET, or with its body
	// to a place the operator did not name.
	Client *http.Client
	// Now is the clock of the signatures' timestamps; nil means time.Now.
	Now func() time.Time
}

// New returns the Sender for a webhook of type typ (one of Types, or
// "feishu") at rawURL (http or https), signing with secret when it is set.
// Slack's and WeCom's robots have no signing: a secret for them is an
// error. Errors never quote rawURL or secret.
func New(typ, rawURL, secret string, opt Options) (*Sender, error) {
	if typ == "feishu" {
		typ = TypeLark
	}
	switch typ {
	case TypeWebhook, TypeDingTalk, TypeLark:
	case TypeWeCom, TypeSlack:
		if secret != "" {
			return nil, fmt.Errorf("webhook: a %s robot has no signing secret; leave the secret out", typ)
		}
	default:
		return nil, fmt.Errorf("webhook: %q is not a type of webhook (%s, or feishu)", typ, strings.Join(Types, ", "))
	}
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.Fragment != "" {
		return nil, fmt.Errorf("webhook: the %s URL is not an http:// or https:// URL without user info or fragment", typ)
	}
	c := opt.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	return &Sender{typ: typ, url: u, secret: secret, client: c, now: opt.Now}, nil
}

var _ notify.Sender = (*Sender)(nil)

// Send posts n in the Sender's format and checks the answer: a 2xx status
// and, for the chat robots, a JSON answer whose code is 0.
func (s *Sender) Send(ctx context.Context, n notify.Notice) error {
	now := time.Now()
	if s.now != nil {
		now = s.now()
	}
	req, err := s.request(ctx, n, now)
	if err != nil {
		return err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL
		}
		return fmt.Errorf("webhook: post to the %s channel: %s", s.typ, s.scrub(err.Error()))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook: the %s channel answered %s: %s", s.typ, resp.Status, s.snippet(answer))
	}
	if err := s.check(answer); err != nil {
		return fmt.Errorf("webhook: the %s channel refused the notice: %s", s.typ, s.scrub(err.Error()))
	}
	return nil
}

// request builds the POST of n at now.
func (s *Sender) request(ctx context.Context, n notify.Notice, now time.Time) (*http.Request, error) {
	target := *s.url
	body, err := s.body(n, now, &target)
	if err != nil {
		return nil, fmt.Errorf("webhook: encode the %s message: %w", s.typ, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("webhook: build the %s request", s.typ)
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "esacert")
	if s.typ == TypeWebhook {
		ts := fmt.Sprint(now.Unix())
		req.Header.Set(HeaderEvent, n.Event)
		req.Header.Set(HeaderNotice, n.ID)
		req.Header.Set(HeaderTimestamp, ts)
		if s.secret != "" {
			req.Header.Set(HeaderSignature, "sha256="+Signature(s.secret, ts, body))
		}
	}
	return req, nil
}

// snippet is a short, single-line part of a receiver's answer, scrubbed.
func (s *Sender) snippet(answer []byte) string {
	t := clean(s.scrub(string(answer))) // scrubbed whole, then cut: a cut token would escape the scrub
	if t == "" {
		t = "(no body)"
	}
	return t
}

// scrub takes the URL's secret parts (the URL, its path and query, and
// each path segment or query value long enough to be a token) and the
// signing secret out of t, in case a library or a receiver quotes them.
func (s *Sender) scrub(t string) string {
	secrets := []string{s.url.String(), s.url.RawQuery, s.url.EscapedPath(), s.url.Path, s.secret}
	secrets = append(secrets, strings.Split(s.url.Path, "/")...)
	for _, vs := range s.url.Query() {
		secrets = append(secrets, vs...)
	}
	for _, secret := range secrets {
		if len(secret) >= 8 || (secret == s.secret && secret != "") {
			t = strings.ReplaceAll(t, secret, "[redacted]")
		}
	}
	return t
}
