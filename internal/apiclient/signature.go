package apiclient

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// algorithm is the signature scheme: Alibaba Cloud's V3 signature.
const algorithm = "ACS3-HMAC-SHA256"

// signature returns the headers it signs (lower case, sorted: host,
// content-type and every x-acs- header) and the hex HMAC-SHA256 under
// secret of the string to sign:
//
//	ACS3-HMAC-SHA256
//	hex(SHA-256(canonical request))
//
// where the canonical request is the method, the path, the query (Call
// sends none: the parameters are in the body),
// one "name:value" line per signed header, an empty line, the signed
// header names joined with ";", and the body's hex SHA-256, joined by new
// lines.
func signature(secret, method string, u *url.URL, host string, h http.Header, payloadHash string) (signed []string, sig string) {
	values := map[string]string{"host": host}
	for name, vs := range h {
		n := strings.ToLower(name)
		if n != "content-type" && !strings.HasPrefix(n, "x-acs-") {
			continue
		}
		trimmed := make([]string, len(vs))
		for i, v := range vs {
			trimmed[i] = strings.TrimSpace(v)
		}
		sort.Strings(trimmed)
		values[n] = strings.Join(trimmed, ",")
	}
	for n := range values {
		signed = append(signed, n)
	}
	sort.Strings(signed)
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	var b strings.Builder
	b.WriteString(method + "\n" + path + "\n" + u.RawQuery + "\n") // Call sends no query
	for _, n := range signed {
		b.WriteString(n + ":" + values[n] + "\n")
	}
	b.WriteString("\n" + strings.Join(signed, ";") + "\n" + payloadHash)
	digest := sha256.Sum256([]byte(b.String()))
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(algorithm + "\n" + hex.EncodeToString(digest[:])))
	return signed, hex.EncodeToString(m.Sum(nil))
}
