package api

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// The two signature schemes Alibaba Cloud clients use (esa-api.md §3): ACS3
// (the Authorization header, HMAC-SHA256 over a canonical request) and the
// RPC scheme (a Signature parameter, HMAC-SHA1 over the sorted parameters).
// The functions here only compute; verify.go decides.

const acs3Algorithm = "ACS3-HMAC-SHA256"

// emptySHA256 is the hex SHA-256 of an empty body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// popEscape percent-encodes s the way Alibaba Cloud's signers do: RFC 3986,
// unreserved characters kept, space as %20, upper-case hex.
func popEscape(s string) string {
	e := url.QueryEscape(s)
	if !strings.ContainsAny(e, "+*%") {
		return e
	}
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

// canonicalQuery sorts q by name, then value, and joins name=value pairs with
// &, each part popEscaped; an empty value gives "name=".
func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(popEscape(k))
			b.WriteByte('=')
			b.WriteString(popEscape(v))
		}
	}
	return b.String()
}

// acs3Request is what an ACS3 signature covers.
type acs3Request struct {
	Method        string
	Path          string      // "" means "/"
	Query         url.Values  // decoded query parameters
	Header        http.Header // the request's headers
	Host          string      // the Host the request named
	SignedHeaders []string    // lower-case names, as the Authorization header lists them
	PayloadHash   string      // hex SHA-256 of the body, as x-acs-content-sha256 says
}

// canonicalRequest builds the ACS3 canonical request.
func (r *acs3Request) canonicalRequest() string {
	path := r.Path
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.Query))
	b.WriteByte('\n')
	for _, name := range r.SignedHeaders {
		b.WriteString(name)
		b.WriteByte(':')
		b.WriteString(r.headerValue(name))
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(r.SignedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(r.PayloadHash)
	return b.String()
}

// headerValue is the canonical value of a signed header: every value
// trimmed, sorted and joined with commas. Host comes from the request line.
func (r *acs3Request) headerValue(name string) string {
	if name == "host" {
		return strings.TrimSpace(r.Host)
	}
	vs := r.Header.Values(name)
	if len(vs) == 1 {
		return strings.TrimSpace(vs[0])
	}
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = strings.TrimSpace(v)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// stringToSign is "ACS3-HMAC-SHA256\n" and the hex SHA-256 of the canonical request.
func (r *acs3Request) stringToSign() string {
	sum := sha256.Sum256([]byte(r.canonicalRequest()))
	return acs3Algorithm + "\n" + hex.EncodeToString(sum[:])
}

// acs3Signature returns the hex HMAC-SHA256 of stringToSign under secret.
func acs3Signature(secret, stringToSign string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stringToSign))
	return hex.EncodeToString(m.Sum(nil))
}

// rpcStringToSign builds the RPC string to sign from every parameter but
// Signature: METHOD&%2F&popEscape(canonical query).
func rpcStringToSign(method string, params url.Values) string {
	return method + "&%2F&" + popEscape(canonicalQuery(params))
}

// rpcSignature returns the base64 HMAC-SHA1 of stringToSign under secret+"&".
func rpcSignature(secret, stringToSign string) string {
	m := hmac.New(sha1.New, []byte(secret+"&"))
	m.Write([]byte(stringToSign))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// authorization is a parsed ACS3 Authorization header.
type authorization struct {
	Credential    string
	SignedHeaders []string
	Signature     string
}

// parseAuthorization parses "ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…".
func parseAuthorization(h string) (authorization, bool) {
	rest, ok := strings.CutPrefix(h, acs3Algorithm+" ")
	if !ok {
		return authorization{}, false
	}
	var a authorization
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return authorization{}, false
		}
		switch k {
		case "Credential":
			a.Credential = v
		case "SignedHeaders":
			if v != "" {
				a.SignedHeaders = strings.Split(v, ";")
			}
		case "Signature":
			a.Signature = v
		}
	}
	if a.Credential == "" || a.Signature == "" || len(a.SignedHeaders) == 0 {
		return authorization{}, false
	}
	return a, true
}
