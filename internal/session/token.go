package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// tokenPrefix starts every security token (as Alibaba Cloud's do).
const tokenPrefix = "CAIS"

// claims are what a token says about its session.
type claims struct {
	Key         string `json:"k"`           // the session's access key id
	ServerKey   string `json:"v"`           // the id of the server key that signed it
	RoleID      string `json:"r"`           // the role assumed, by id
	RoleName    string `json:"n"`           // its name when assumed
	SessionName string `json:"s"`           // RoleSessionName
	Expires     int64  `json:"e"`           // Unix seconds
	Issued      int64  `json:"i"`           // Unix seconds
	Policy      string `json:"p,omitempty"` // the session policy, narrowing the role's
	Caller      string `json:"c,omitempty"` // the ARN of who assumed the role
}

// mac authenticates a token's claims under the server key.
func mac(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("esacert sts token v1\x00"))
	h.Write(payload)
	return h.Sum(nil)
}

// encodeToken signs c with key.
func encodeToken(key []byte, c claims) (token string, sum []byte, err error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", nil, err
	}
	sum = mac(key, payload)
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(payload) + "." + base64.RawURLEncoding.EncodeToString(sum), sum, nil
}

// split decodes a token into its claims, payload and MAC, unchecked.
func split(token string) (c claims, payload, sum []byte, ok bool) {
	rest, found := strings.CutPrefix(token, tokenPrefix)
	if !found || len(token) > 16<<10 {
		return c, nil, nil, false
	}
	p, s, found := strings.Cut(rest, ".")
	if !found {
		return c, nil, nil, false
	}
	var err error
	if payload, err = base64.RawURLEncoding.DecodeString(p); err != nil {
		return c, nil, nil, false
	}
	if sum, err = base64.RawURLEncoding.DecodeString(s); err != nil || len(sum) != sha256.Size {
		return c, nil, nil, false
	}
	if json.Unmarshal(payload, &c) != nil {
		return c, nil, nil, false
	}
	return c, payload, sum, true
}

// decodeToken checks token under key and returns its claims and MAC:
// ErrTokenMalformed when it is not a token or its MAC does not match.
func decodeToken(key []byte, token string) (claims, []byte, error) {
	c, payload, sum, ok := split(token)
	if !ok || !hmac.Equal(sum, mac(key, payload)) {
		return claims{}, nil, ErrTokenMalformed
	}
	return c, sum, nil
}

// deriveSecret is the session's secret: derived from the server key, the
// session's key id and its token's MAC, so it is never stored and is
// bound to that one token.
func deriveSecret(key []byte, keyID string, sum []byte) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte("esacert sts secret v1\x00"))
	h.Write([]byte(keyID))
	h.Write([]byte{0})
	h.Write(sum)
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))[:40]
}

// expired reports whether the claims' session is over at now.
func (c claims) expired(now time.Time) bool { return !now.Before(time.Unix(c.Expires, 0)) }
