package apiclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Credentials sign requests: an access key, and the security token of STS
// credentials ("" for a long-lived key). AccessKeySecret is secret: it
// never appears in an error or a request.
type Credentials struct {
	AccessKeyID     string
	AccessKeySecret string
	SecurityToken   string
}

// Client calls one node. Its fields are set before the first call; after
// that it is safe for concurrent use.
type Client struct {
	// Endpoint is the API's base URL, such as http://127.0.0.1:8787 or
	// https://esacert.example.net:8787; required.
	Endpoint string
	// Credentials sign every request; required.
	Credentials Credentials
	// HTTP sends the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// UserAgent is sent as User-Agent; "" means "esacert-apiclient".
	UserAgent string
	// Now returns the time a request is signed at; nil means time.Now.
	Now func() time.Time
}

// maxAnswer bounds the answer read from a node: ESA's largest answers (a
// page of 500 certificates) are well under it.
const maxAnswer = 64 << 20

// Call sends action of API version with params and returns the answer's
// JSON body as the node sent it (field order kept, numbers exact). An
// answer with an error status is an *Error carrying its Code and Message;
// any other failure (the node unreachable, an answer that is not JSON) is
// returned as it is.
func (c *Client) Call(ctx context.Context, version, action string, params url.Values) (json.RawMessage, error) {
	if action == "" || version == "" {
		return nil, errors.New("apiclient: the action and its version are required")
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("apiclient: endpoint %q is not an http:// or https:// URL", c.Endpoint)
	}
	u.Path, u.RawQuery = "/", ""
	body := []byte(params.Encode())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ua := c.UserAgent
	if ua == "" {
		ua = "esacert-apiclient"
	}
	req.Header.Set("User-Agent", ua)
	req.Header.Set("Accept", "application/json")
	if err := c.sign(req, version, action, body); err != nil {
		return nil, err
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("apiclient: read the answer to %s: %w", action, err)
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("apiclient: the answer to %s is larger than %d bytes", action, maxAnswer)
	}
	if resp.StatusCode >= 300 {
		return nil, newError(resp.StatusCode, data)
	}
	if !json.Valid(data) {
		return nil, fmt.Errorf("apiclient: the answer to %s (HTTP %d) is not JSON: %q", action, resp.StatusCode, clip(data))
	}
	return data, nil
}

// sign adds the ACS3 headers and the Authorization header to req, whose
// body is body.
func (c *Client) sign(req *http.Request, version, action string, body []byte) error {
	cr := c.Credentials
	if cr.AccessKeyID == "" || cr.AccessKeySecret == "" {
		return errors.New("apiclient: no access key to sign with")
	}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	var nonce [16]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("x-acs-action", action)
	req.Header.Set("x-acs-version", version)
	req.Header.Set("x-acs-date", now().UTC().Format("2006-01-02T15:04:05Z"))
	req.Header.Set("x-acs-signature-nonce", hex.EncodeToString(nonce[:]))
	req.Header.Set("x-acs-content-sha256", hex.EncodeToString(sum[:]))
	if cr.SecurityToken != "" {
		req.Header.Set("x-acs-security-token", cr.SecurityToken)
	}
	signed, sig := signature(cr.AccessKeySecret, req.Method, req.URL, req.Host, req.Header, hex.EncodeToString(sum[:]))
	req.Header.Set("Authorization", algorithm+" Credential="+cr.AccessKeyID+",SignedHeaders="+strings.Join(signed, ";")+",Signature="+sig)
	return nil
}

// clip shortens an answer quoted in an error.
func clip(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
