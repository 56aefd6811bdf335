package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/esacert/esacert/internal/notify"
)

// Signature is the generic webhook's signature of body sent at timestamp
// (Unix seconds, as sent in X-Esacert-Timestamp): the lowercase hex
// HMAC-SHA256, keyed with secret, of timestamp, ".", and the body. It is
// sent as X-Esacert-Signature: sha256=<signature>.
func Signature(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// DingTalkSign is the sign of a DingTalk robot's signed-secret mode for
// timestamp (Unix milliseconds): base64 of the HMAC-SHA256, keyed with
// secret, of timestamp, a newline and secret. It goes into the URL's query
// (URL-encoded) beside timestamp.
func DingTalkSign(secret, timestamp string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp + "\n" + secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// LarkSign is the sign of a Lark (Feishu) robot's signature check for
// timestamp (Unix seconds): base64 of the HMAC-SHA256 keyed with timestamp,
// a newline and secret, of nothing. It goes into the JSON body beside
// timestamp.
func LarkSign(secret, timestamp string) string {
	m := hmac.New(sha256.New, []byte(timestamp+"\n"+secret))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// body encodes n for the Sender's type, and adds to target what the type
// puts in the URL (DingTalk's signature).
func (s *Sender) body(n notify.Notice, now time.Time, target *url.URL) ([]byte, error) {
	switch s.typ {
	case TypeDingTalk:
		// A markdown message: {"msgtype":"markdown","markdown":{"title","text"}}.
		if s.secret != "" {
			ts := strconv.FormatInt(now.UnixMilli(), 10)
			q := target.Query()
			q.Set("timestamp", ts)
			q.Set("sign", DingTalkSign(s.secret, ts))
			target.RawQuery = q.Encode()
		}
		return json.Marshal(map[string]any{"msgtype": "markdown",
			"markdown": map[string]string{"title": n.Title, "text": "#### " + mdEscape(n.Title) + "\n\n" + mdEscape(n.Text)}})
	case TypeLark:
		// A text message: {"msg_type":"text","content":{"text"}}, with
		// "timestamp" and "sign" when the robot checks signatures.
		m := map[string]any{"msg_type": "text", "content": map[string]string{"text": n.Title + "\n" + n.Text}}
		if s.secret != "" {
			ts := strconv.FormatInt(now.Unix(), 10)
			m["timestamp"], m["sign"] = ts, LarkSign(s.secret, ts)
		}
		return json.Marshal(m)
	case TypeWeCom:
		// A markdown message: {"msgtype":"markdown","markdown":{"content"}}.
		return json.Marshal(map[string]any{"msgtype": "markdown",
			"markdown": map[string]string{"content": "**" + mdEscape(n.Title) + "**\n" + mdEscape(n.Text)}})
	case TypeSlack:
		// {"text"}: Slack's mrkdwn, where &, < and > must be escaped.
		esc := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")
		return json.Marshal(map[string]string{"text": "*" + esc.Replace(n.Title) + "*\n" + esc.Replace(n.Text)})
	}
	return json.Marshal(n)
}

// mdEscape escapes markdown in text a user chose (certificate and site
// names, ApplyMessage), so that a name such as "[renew](https://x)" shows as
// text in DingTalk and WeCom, not as a link the operators might follow.
var mdEscape = strings.NewReplacer(`\`, `\\`, "[", `\[`, "]", `\]`, "(", `\(`, ")", `\)`, "<", `\<`, ">", `\>`).Replace

// check reads a chat robot's answer: DingTalk and WeCom answer
// {"errcode":0,"errmsg":"ok"}, Lark {"code":0,"msg":"success"} (older
// robots {"StatusCode":0}); a code other than 0 is a refusal (a wrong
// signature, a missing keyword, a rate limit). The generic webhook and
// Slack answer with their status alone.
func (s *Sender) check(answer []byte) error {
	var a struct {
		ErrCode    *int   `json:"errcode"`
		ErrMsg     string `json:"errmsg"`
		Code       *int   `json:"code"`
		Msg        string `json:"msg"`
		StatusCode *int   `json:"StatusCode"`
	}
	switch s.typ {
	case TypeDingTalk, TypeWeCom:
		if err := json.Unmarshal(answer, &a); err != nil || a.ErrCode == nil {
			return fmt.Errorf("the answer is not {\"errcode\":…}: %s", s.snippet(answer))
		}
		if *a.ErrCode != 0 {
			return fmt.Errorf("errcode %d: %s", *a.ErrCode, clean(s.scrub(a.ErrMsg)))
		}
	case TypeLark:
		if err := json.Unmarshal(answer, &a); err != nil || (a.Code == nil && a.StatusCode == nil) {
			return fmt.Errorf("the answer is not {\"code\":…}: %s", s.snippet(answer))
		}
		if a.Code != nil && *a.Code != 0 {
			return fmt.Errorf("code %d: %s", *a.Code, clean(s.scrub(a.Msg)))
		}
		if a.StatusCode != nil && *a.StatusCode != 0 {
			return fmt.Errorf("StatusCode %d", *a.StatusCode)
		}
	}
	return nil
}

// clean makes a receiver's message one line of at most 200 bytes, cut on
// a character's boundary.
func clean(msg string) string {
	msg = strings.Join(strings.Fields(msg), " ")
	if n := 200; len(msg) > n {
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		msg = msg[:n] + "…"
	}
	return msg
}
