package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/esacert/esacert/internal/domain"
	"github.com/esacert/esacert/internal/identity"
	"github.com/esacert/esacert/internal/redact"
)

// Keyring finds the secret of an access key. Implementations are safe for
// concurrent use.
type Keyring interface {
	// Secret returns the secret of access key id; ok is false when there is no such key.
	Secret(ctx context.Context, id string) (secret string, ok bool, err error)
}

// echoable reports whether an RPC string to sign built from params may be
// sent back in an error: only when no parameter can carry a secret, by its
// name, by a secret-bearing field in a JSON value (AuthConf's SecretKey,
// even empty, or an AuthConf inside BatchCreateRecords' RecordList), or by
// PEM key material in its value (see redact.CarriesSecret).
func echoable(params url.Values) bool {
	for name, values := range params {
		for _, v := range values {
			if redact.CarriesSecret(name, v) {
				return false
			}
		}
	}
	return true
}

// authenticate checks the request's signature, time stamp and nonce, and
// returns the access key id it was signed with.
func (s *Server) authenticate(ctx context.Context, req *request) (string, error) {
	auth := req.r.Header.Get("Authorization")
	var (
		keyID, nonce string
		stamp        time.Time
		err          error
	)
	switch {
	case strings.HasPrefix(auth, "ACS3-"):
		keyID, stamp, nonce, err = s.verifyACS3(ctx, req, auth)
	case auth != "":
		return "", withDetail(errIncompleteSig, "The Authorization header uses a scheme that is not supported; use ACS3-HMAC-SHA256.")
	case req.params.has("Signature"):
		keyID, stamp, nonce, err = s.verifyRPC(ctx, req)
	default:
		return "", errNoSignature
	}
	if err != nil {
		return keyID, err
	}
	now := s.now()
	if d := now.Sub(stamp); d > s.window() || d < -s.window() {
		return keyID, withDetail(errTimestampExpired, "The request time %s is more than %v away from the server time %s.",
			stamp.Format(time.RFC3339), s.window(), now.Format(time.RFC3339))
	}
	// The key is a hash, so that any nonce a client sends fits any cache. The
	// entry outlives the last moment the time stamp is accepted.
	sum := sha256.Sum256([]byte(keyID + "\x00" + nonce))
	fresh, err := s.nonces().Use(ctx, hex.EncodeToString(sum[:]), now, stamp.Add(s.window()+time.Second))
	if err != nil {
		return keyID, fmt.Errorf("record signature nonce: %w", err)
	}
	if !fresh {
		return keyID, errNonceUsed
	}
	return keyID, nil
}

// acs3Required are the headers an ACS3 signature must cover.
var acs3Required = []string{"host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce", "x-acs-version"}

func (s *Server) verifyACS3(ctx context.Context, req *request, header string) (keyID string, stamp time.Time, nonce string, err error) {
	a, ok := parseAuthorization(header)
	if !ok {
		return "", stamp, "", withDetail(errIncompleteSig, "The Authorization header is not of the form ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=….")
	}
	signed := make(map[string]bool, len(a.SignedHeaders))
	for _, h := range a.SignedHeaders {
		if h != strings.ToLower(h) || signed[h] {
			return a.Credential, stamp, "", withDetail(errIncompleteSig, "SignedHeaders must list lower-case header names once each.")
		}
		signed[h] = true
	}
	for _, h := range acs3Required {
		if !signed[h] {
			return a.Credential, stamp, "", withDetail(errIncompleteSig, "The header %s must be signed.", h)
		}
	}
	for name := range req.r.Header {
		if n := strings.ToLower(name); strings.HasPrefix(n, "x-acs-") && !signed[n] {
			return a.Credential, stamp, "", withDetail(errIncompleteSig, "The header %s must be signed.", n)
		}
	}
	for h := range signed {
		if h != "host" && len(req.r.Header.Values(h)) == 0 {
			return a.Credential, stamp, "", withDetail(errIncompleteSig, "The signed header %s is missing.", h)
		}
	}
	stamp, err = time.Parse(time.RFC3339, req.r.Header.Get("x-acs-date"))
	if err != nil {
		return a.Credential, stamp, "", domain.Invalid("x-acs-date", "must be a UTC time such as 2026-01-02T15:04:05Z")
	}
	nonce = req.r.Header.Get("x-acs-signature-nonce")
	if nonce == "" {
		return a.Credential, stamp, "", domain.Missing("x-acs-signature-nonce")
	}
	secret, err := s.secret(ctx, req, a.Credential)
	if err != nil {
		return a.Credential, stamp, "", err
	}
	sum := sha256.Sum256(req.body)
	payload := hex.EncodeToString(sum[:])
	if claimed := strings.ToLower(strings.TrimSpace(req.r.Header.Get("x-acs-content-sha256"))); claimed != payload {
		return a.Credential, stamp, "", &sigError{detail: "The x-acs-content-sha256 header does not match the SHA-256 of the request body."}
	}
	cr := acs3Request{
		Method:        req.r.Method,
		Path:          req.r.URL.Path,
		Query:         req.query,
		Header:        req.r.Header,
		Host:          req.r.Host,
		SignedHeaders: a.SignedHeaders,
		PayloadHash:   payload,
	}
	sts := cr.stringToSign()
	want, _ := hex.DecodeString(acs3Signature(secret, sts))
	got, err := hex.DecodeString(strings.ToLower(a.Signature))
	if err != nil || !hmac.Equal(want, got) {
		return a.Credential, stamp, "", &sigError{stringToSign: sts}
	}
	req.verified = true
	return a.Credential, stamp, nonce, nil
}

func (s *Server) verifyRPC(ctx context.Context, req *request) (keyID string, stamp time.Time, nonce string, err error) {
	p := &req.params
	keyID = p.str("AccessKeyId")
	if keyID == "" {
		return "", stamp, "", domain.Missing("AccessKeyId")
	}
	if m := p.str("SignatureMethod"); m != "HMAC-SHA1" {
		return keyID, stamp, "", withDetail(errIncompleteSig, "SignatureMethod must be HMAC-SHA1.")
	}
	if v := p.str("SignatureVersion"); v != "1.0" {
		return keyID, stamp, "", withDetail(errIncompleteSig, "SignatureVersion must be 1.0.")
	}
	ts, err := p.required("Timestamp")
	if err != nil {
		return keyID, stamp, "", err
	}
	stamp, err = time.Parse(time.RFC3339, ts)
	if err != nil {
		return keyID, stamp, "", domain.Invalid("Timestamp", "must be a UTC time such as 2026-01-02T15:04:05Z")
	}
	if nonce, err = p.required("SignatureNonce"); err != nil {
		return keyID, stamp, "", err
	}
	secret, err := s.secret(ctx, req, keyID)
	if err != nil {
		return keyID, stamp, "", err
	}
	signedParams := make(url.Values, len(p.v))
	for k, v := range p.v {
		if k != "Signature" && len(v) > 0 {
			signedParams[k] = v[:1]
		}
	}
	sts := rpcStringToSign(req.r.Method, signedParams)
	want, _ := base64.StdEncoding.DecodeString(rpcSignature(secret, sts))
	got, err := base64.StdEncoding.DecodeString(p.str("Signature"))
	if err != nil || !hmac.Equal(want, got) {
		se := &sigError{}
		if echoable(signedParams) {
			se.stringToSign = sts
		}
		return keyID, stamp, "", se
	}
	req.verified = true
	return keyID, stamp, nonce, nil
}

// Identities finds who signs with an access key that is not the root
// key: a RAM user (through its key) or a role session (through STS
// credentials and their token). Implementations are safe for concurrent use.
type Identities interface {
	// Identify returns the identity, with the secret its signatures are
	// checked with; identity.ErrKeyNotFound or identity.ErrKeyInactive
	// when the key signs nothing.
	Identify(ctx context.Context, keyID, token string) (*identity.Identity, error)
}

// secret looks up the secret of keyID (the root key's, else through
// Identities), and notes in req that the key exists and who signs with it.
func (s *Server) secret(ctx context.Context, req *request, keyID string) (string, error) {
	secret, ok, err := s.Keys.Secret(ctx, keyID)
	if err != nil {
		return "", fmt.Errorf("look up access key: %w", err)
	}
	if ok {
		req.keyKnown = true
		req.caller = &identity.Identity{Kind: identity.Root, Account: s.AccountID, KeyID: keyID}
		return secret, nil
	}
	if s.Identities == nil {
		return "", errUnknownKey
	}
	id, err := s.Identities.Identify(ctx, keyID, req.securityToken())
	switch {
	case errors.Is(err, identity.ErrKeyNotFound):
		return "", errUnknownKey
	case errors.Is(err, identity.ErrKeyInactive):
		req.keyKnown = true
		return "", err
	case err != nil:
		return "", fmt.Errorf("look up access key: %w", err)
	}
	req.keyKnown, req.caller = true, id
	return id.Secret, nil
}

// securityToken is the STS token sent with the request: the signed
// x-acs-security-token header (ACS3) or the SecurityToken parameter.
func (req *request) securityToken() string {
	if t := req.r.Header.Get("x-acs-security-token"); t != "" {
		return t
	}
	return req.params.str("SecurityToken")
}
